"""Avalara AvaTax (tax calculation): REST v2 client, mapping and adapter."""
