"""Invoice domain."""
