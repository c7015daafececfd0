"""The team gateway (`hotswap gateway`): one shared router for a team, the same router app
and hot path as a session's, with the gateway's implementations behind the router's seams.

    settings.py  [gateway] settings: listen address, PostgreSQL and Redis URLs
    caller.py    who the current request is for (a user, a session, their mode)
    database.py  PostgreSQL: one reconnecting async connection, numbered migrations
    keys.py      users' keys (hsk_...): created, listed, revoked, looked up (seams'
                 ClientAuthenticator)
    modes.py     users' and sessions' modes in Redis (seams.ModeStore)
    ledger.py    finished exchanges -> PostgreSQL, batched off the hot path, spilled to
                 a local file while PostgreSQL is down (exchange.ExchangeSink)
    budget.py    each user's spend today, a Redis counter (--daily-usd)
    server.py    the middleware, POST /_hotswap/mode, and the process's lifecycle
    report.py    `hotswap gateway cost`

psycopg and redis (the `gateway` extra) are imported here only: the personal install
never loads this package. May import: hotswap.config, hotswap.router, hotswap.ledger's
pricing helpers, hotswap.errors, hotswap.redact.
"""
