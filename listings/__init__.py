"""Catalogue: listings, versions, uploads, search, DCAT export."""
