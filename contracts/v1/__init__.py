"""Version 1 of the canonical quote-to-cash resources."""
