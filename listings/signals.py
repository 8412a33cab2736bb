"""Events other apps may listen to. Sent only after the transaction that caused them commits."""

from django.dispatch import Signal

# A version was approved and is now part of the catalogue. kwargs: version (ListingVersion),
# schema_diff (dict, against the previous published version). Subscription holders should be told
# (licensing/trading own subscriptions and notifications, so they connect a receiver here).
version_released = Signal()
