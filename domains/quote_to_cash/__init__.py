"""Quote to cash as one tracked business transaction, free of engine, SQL and HTTP.

An accepted quote is validated (every check at once), becomes an ERP customer and
order, is invoiced by the legal entity's policy, waits for its payment and reports
back to the CRM. Each failure has one class (``taxonomy``); only dependency failures
retry, everything else stops in front of an owning team (``exceptions``).
"""
