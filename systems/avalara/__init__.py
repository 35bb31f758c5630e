"""Avalara AvaTax (tax calculation): the REST v2 sandbox and its deterministic rate table."""
