"""Sessions: the registry of running `hotswap run` sessions, their mode files, the launcher,
the session router, and the switch commands (`ds`, `ant`, `backend`, `sessions`, `statusline`).
The switch commands use the stdlib only, so they start in tens of milliseconds.
May import: hotswap.config, hotswap.errors; the launcher and session router also hotswap.router.
"""
