"""Request and response rules: rewrite, quirks, thinking, and the response events. Pure
functions over plain values, each declaring what it reads (reads.py); no I/O, no caches.
May import: hotswap.config, hotswap.errors.
"""
