"""`hotswap dashboard`: every session, its backend and its spend on one live page.

    data.py       gathering: the session registry, the routers' status, the ledger (sync)
    live.py       the feed: polls what data.py gathers, pushes changes as server-sent events
    actions.py    what the page's buttons do: switch (as `hotswap use`), remove, live check
    security.py   loopback Host, the token and its cookie, Origin on every POST, headers
    app.py        the aiohttp application: routes, page, CSV, start and stop
    templates/    the page (Jinja2); static/: its script, styles and uPlot (MIT, vendored)

The dashboard runs no router: it reads what routers write and serve, and writes mode files
exactly as the switch commands do. Nothing here is imported unless the command runs.
"""
