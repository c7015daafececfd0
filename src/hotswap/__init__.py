"""hotswap: swap the model behind a running Claude Code session.

Kept import-free on purpose: the switch commands import this package and must start
in tens of milliseconds.
"""

__version__ = "0.1.0"
