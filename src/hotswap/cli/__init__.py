"""The command line: the `hotswap` entry point, click commands (parse, call one function,
print; --json too) and output formatting. The only layer that imports hotswap modules lazily,
inside functions, for start-up speed. May import anything.
"""
