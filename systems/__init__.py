"""System-of-record dialects: one folder per vendor, each with client, mapping, adapter and sandbox."""
