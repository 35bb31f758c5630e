"""Version 2 of the canonical API: only what changed from v1 lives here."""
