"""Payment domain."""
