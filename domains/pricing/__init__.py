"""Pricing domain."""
