"""Configuration: loading (with the CLI, the only reader of the environment), the config
file's tables, backend presets, prices and process tuning. Settings as frozen data; no I/O
beyond reading the config file. May import: hotswap.errors, hotswap.reading.jsoncodec.
"""
