"""The chain verifier: walks the log in id order and names the first entry that does not hold."""

from __future__ import annotations

from dataclasses import dataclass

from exchange.audit.hashing import GENESIS_HASH, entry_hash
from exchange.audit.models import AuditEvent


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    broken_id: int | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"OK: {self.count} audit entries, chain intact"
        return f"BROKEN at entry #{self.broken_id}: {self.reason} ({self.count} entries checked)"


def verify_chain(batch_size: int = 2000) -> VerifyResult:
    expected_prev = GENESIS_HASH
    count = 0
    # iterator() streams rows: the log grows without bound and must not be loaded whole.
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        count += 1
        if event.prev_hash != expected_prev:
            return VerifyResult(
                False,
                count,
                event.pk,
                "its previous-hash does not match the entry before it "
                "(an entry was deleted, inserted or reordered)",
            )
        recomputed = entry_hash(
            prev_hash=event.prev_hash,
            created_at=event.created_at,
            actor_id=event.actor_id,
            actor_label=event.actor_label,
            organisation_id=event.organisation_id,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            changes=event.changes,
        )
        if recomputed != event.hash:
            return VerifyResult(False, count, event.pk, "its content does not match its hash")
        expected_prev = event.hash
    return VerifyResult(True, count)
