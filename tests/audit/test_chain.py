import json
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from exchange.audit.models import AuditEvent
from exchange.audit.services import AuditOutsideTransaction, record, record_atomic
from exchange.audit.verify import verify_chain
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def write_events(n: int) -> list[AuditEvent]:
    actor = UserFactory()
    return [
        record_atomic("test.event", ("thing", i), actor=actor, changes={"n": i, "名称": "数据"})
        for i in range(n)
    ]


def tamper(sql: str, params: list) -> None:
    """Change the table behind the triggers' back, as an attacker with superuser rights would."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def test_an_untouched_chain_verifies(capsys) -> None:
    # Migrations may have recorded events already (seeded reference data): count from there.
    before = AuditEvent.objects.count()
    write_events(5)
    call_command("audit_verify")
    assert f"OK: {before + 5} audit entries" in capsys.readouterr().out


def test_each_entry_carries_the_previous_hash() -> None:
    tail = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    events = write_events(3)
    assert events[0].prev_hash == (tail or "0" * 64)
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash


def test_a_flipped_byte_is_named() -> None:
    events = write_events(5)
    tamper(
        "UPDATE audit_auditevent SET changes = jsonb_set(changes, '{n}', '99') WHERE id = %s",
        [events[2].pk],
    )
    result = verify_chain()
    assert not result.ok and result.broken_id == events[2].pk
    assert "content does not match" in result.reason
    with pytest.raises(CommandError, match=f"BROKEN at entry #{events[2].pk}"):
        call_command("audit_verify")


def test_a_changed_actor_label_is_named() -> None:
    events = write_events(3)
    tamper("UPDATE audit_auditevent SET actor_label = 'someone else' WHERE id = %s", [events[0].pk])
    assert verify_chain().broken_id == events[0].pk


def test_a_deleted_row_is_named() -> None:
    events = write_events(5)
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
    result = verify_chain()
    assert not result.ok and result.broken_id == events[2].pk
    assert "deleted, inserted or reordered" in result.reason


def test_two_swapped_rows_are_named() -> None:
    events = write_events(5)
    a, b = events[1].pk, events[3].pk
    columns = [
        "created_at",
        "actor_id",
        "actor_label",
        "organisation_id",
        "action",
        "object_type",
        "object_id",
        "changes",
        "prev_hash",
        "hash",
    ]
    rows = {pk: list(AuditEvent.objects.filter(pk=pk).values_list(*columns).get()) for pk in (a, b)}
    # Swap every column but the id, so the two rows trade places in the chain. The hash is
    # unique, so park one row's hash first.
    assignments = ", ".join(f"{c} = %s" for c in columns)
    tamper("UPDATE audit_auditevent SET hash = 'parked' WHERE id = %s", [a])
    for target, source in ((b, a), (a, b)):
        values = [json.dumps(v) if isinstance(v, dict) else v for v in rows[source]]
        tamper(f"UPDATE audit_auditevent SET {assignments} WHERE id = %s", [*values, target])  # noqa: S608
    result = verify_chain()
    assert not result.ok and result.broken_id == a


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET action = 'rewritten'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
)
def test_postgresql_triggers_refuse_changes(sql: str) -> None:
    write_events(2)
    with connection.cursor() as cursor:
        # The test database lets Django's flush TRUNCATE; switch that off to see production's rule.
        cursor.execute("SET LOCAL exchange.audit_truncate_allowed = 'off'")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditEvent.objects.filter(action="test.event").count() == 2


def test_the_orm_cannot_delete_or_update_either() -> None:
    event = write_events(1)[0]
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()


def test_recording_outside_a_transaction_is_refused(django_db_blocker) -> None:
    with pytest.raises(AuditOutsideTransaction):
        # pytest-django wraps each test in a transaction; step outside it deliberately.
        with connection.cursor():
            pass
        connection.in_atomic_block, saved = False, connection.in_atomic_block
        try:
            record("x", ("thing", 1))
        finally:
            connection.in_atomic_block = saved


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_linear_chain() -> None:
    before = AuditEvent.objects.count()
    actor = UserFactory()
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for i in range(5):
                record_atomic("race", ("thing", f"{worker}-{i}"), actor=actor)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = verify_chain()
    assert result.ok and result.count == before + 60


def _advisory_locks_held() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def test_lock_chain_skips_only_while_the_lock_is_really_held() -> None:
    """lock_chain() skips the query when its on_commit marker says the lock is held, and record()
    takes the tail from the marker of its own last append: each marker must vanish exactly when
    PostgreSQL releases the lock or drops the row (rollback to a savepoint taken before them), or
    record() would append without the lock, or link to a vanished event, and fork the chain."""
    from exchange.audit.services import _holds_chain, lock_chain

    with transaction.atomic():
        base = _advisory_locks_held()
        with pytest.raises(RuntimeError), transaction.atomic():
            lock_chain()
            assert _holds_chain() and _advisory_locks_held() == base + 1
            raise RuntimeError("roll the savepoint back")
        # The savepoint took the lock and was rolled back: lock and marker are gone together.
        assert not _holds_chain() and _advisory_locks_held() == base
        first = record("test.event", ("thing", 1))  # takes it again
        assert _holds_chain() and _advisory_locks_held() == base + 1
        with pytest.raises(RuntimeError), transaction.atomic():
            record("test.event", ("thing", 2))
            raise RuntimeError("roll the savepoint back")
        # Taken before that savepoint: still held, and the marker says so.
        assert _holds_chain() and _advisory_locks_held() == base + 1
        # The rolled-back event is not the tail: the next one links to the last that survived.
        third = record("test.event", ("thing", 3))
        assert third.prev_hash == first.hash
        fourth = record("test.event", ("thing", 4))
        assert fourth.prev_hash == third.hash
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_the_lock_marker_ends_with_the_transaction() -> None:
    from exchange.audit.services import _holds_chain, lock_chain

    with transaction.atomic():
        lock_chain()
        assert _holds_chain()
    assert not _holds_chain() and _advisory_locks_held() == 0
    with pytest.raises(RuntimeError), transaction.atomic():
        lock_chain()
        raise RuntimeError("roll back")
    assert not _holds_chain() and _advisory_locks_held() == 0
