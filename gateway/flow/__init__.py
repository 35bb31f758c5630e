"""The quote-to-cash transaction on DBOS Transact: the only package that imports dbos.

``engine`` launches DBOS (or only its client in ``q2c serve``), ``workflow`` binds
the domain's steps into one durable workflow, ``store`` keeps the transactions,
timeline, exceptions and events in the gateway's database, ``heartbeat`` finds dead
workers and recovers their transactions, ``routes`` are the HTTP API.
"""
