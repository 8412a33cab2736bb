"""Double-entry accounts and postings: the money."""
