"""System-of-record dialects: one folder per vendor (client, mapping, adapter, sandbox)."""
