"""Status codes as words inside translated refusals ("A funded order cannot be signed.").

English sentences use the stored code itself, so English messages read exactly as before; other
languages get the word their translators chose under the "status" context (kept apart from the
models' longer choice labels, which read badly mid-sentence).
"""

from __future__ import annotations

from django.utils.translation import pgettext, pgettext_lazy

# Every code that can appear in a refusal, listed so that makemessages extracts it (it does not
# know pgettext_noop; lazy strings cost nothing until read).
STATUS_CODES = (
    # orders
    pgettext_lazy("status", "created"),
    pgettext_lazy("status", "signed"),
    pgettext_lazy("status", "funded"),
    pgettext_lazy("status", "delivered"),
    pgettext_lazy("status", "accepted"),
    pgettext_lazy("status", "disputed"),
    pgettext_lazy("status", "resolved"),
    pgettext_lazy("status", "settled"),
    pgettext_lazy("status", "cancelled"),
    # disputes
    pgettext_lazy("status", "open"),
    pgettext_lazy("status", "responded"),
    # listings and versions
    pgettext_lazy("status", "draft"),
    pgettext_lazy("status", "listed"),
    pgettext_lazy("status", "suspended"),
    pgettext_lazy("status", "retired"),
    pgettext_lazy("status", "submitted"),
    pgettext_lazy("status", "approved"),
    pgettext_lazy("status", "rejected"),
    # the pipeline of a version
    pgettext_lazy("status", "pending"),
    pgettext_lazy("status", "running"),
    pgettext_lazy("status", "published"),
    pgettext_lazy("status", "failed"),
    # licences
    pgettext_lazy("status", "active"),
    pgettext_lazy("status", "expired"),
    pgettext_lazy("status", "revoked"),
    pgettext_lazy("status", "superseded"),
)


def status_word(code: str) -> str:
    """`code` in the active language; an unknown code is shown as it is."""
    return pgettext("status", code)
