"""Page bodies of the console, one module per page."""
