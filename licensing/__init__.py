"""Licence templates (ODRL), offers, contracts, signatures, verification."""
