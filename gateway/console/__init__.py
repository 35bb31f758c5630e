"""The operations console at /console (pages: gateway.console.pages)."""
