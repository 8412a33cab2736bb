"""Orders, escrow, delivery, acceptance, disputes, settlement, webhooks."""
