"""The usage ledger: every finished exchange and its attempts, in SQLite, for `hotswap cost`,
`hotswap logs` and the status line's spend.

    schema.py    numbered, forward-only migrations (PRAGMA user_version)
    store.py     connecting: WAL, busy_timeout, a private file
    rows.py      an ExchangeRecord as the rows it becomes
    writer.py    one thread per router: a bounded queue, batched transactions
    spend.py     the router's in-memory totals of its session (for the status line)
    budgets.py   each budgeted backend's spend this period, shared through the ledger
    queries.py   cost aggregation and recent exchanges
    report.py    tables and JSON for people and scripts
    attach.py    a router's ledger: writer + spend, as one exchange observer
    usage.py     what `hotswap cost`, `hotswap logs` (cli/cost.py) and the route do
    route.py     GET /_hotswap/cost

Nothing here is imported by the switch commands or the status line.
"""
