"""HTTP routes: thin controllers that decode contracts and call domain services."""
