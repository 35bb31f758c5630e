"""Customer domain."""
