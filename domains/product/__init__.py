"""Product domain."""
