"""Order domain."""
