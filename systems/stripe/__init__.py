"""Stripe: the invoicing and payments system of record."""
