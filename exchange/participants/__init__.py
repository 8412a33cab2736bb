"""Organisations, memberships, roles and API keys."""
