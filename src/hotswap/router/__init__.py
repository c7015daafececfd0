"""The router: the aiohttp app and its guards, the request orchestrator (proxy), attempts,
relay, the upstream client (the only place aiohttp's errors are mapped), inbound limits, the
live state, fallback plans and the exchange record.
May import: hotswap.config, hotswap.rules, hotswap.body, hotswap.wire, hotswap.errors.
"""
