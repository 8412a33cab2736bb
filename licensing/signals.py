"""Events other apps may listen to. Licensing never imports trading, so trading learns about
licence changes it must announce (webhooks, notifications) through these."""

from django.dispatch import Signal

# A licence was revoked, by a regulator or operator or as a dispute outcome. Sent inside the
# revoking transaction, so a receiver's writes commit or roll back with the revocation.
# kwargs: licence (Licence), reason (str).
licence_revoked = Signal()
