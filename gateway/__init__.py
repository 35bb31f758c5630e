"""Composition root and HTTP edge of Q2C Gateway."""
