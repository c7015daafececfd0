"""`python -m hotswap ...` is the `hotswap` command."""

from hotswap.entry import main

main()
