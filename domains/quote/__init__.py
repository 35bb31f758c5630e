"""Quote domain."""
