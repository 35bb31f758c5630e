"""Tax domain: what the tax engine must answer."""
