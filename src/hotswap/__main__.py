"""`python -m hotswap ...` is the `hotswap` command."""

from hotswap.cli.entry import main

main()
