"""Operational scripts; a package so tests can import `scripts.seaweed`."""
