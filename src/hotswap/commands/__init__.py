"""The click commands beyond serve/run: one module per command, registered in cli.py.

Each parses its options, calls one function that returns plain data, and prints it as a
table or as JSON (`--json`). Heavy imports (aiohttp, the launcher) happen inside the
command that needs them.
"""
