"""Backends for the domain ports that keep shared state: memory and Redis."""
