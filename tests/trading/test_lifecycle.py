"""Order transitions through the services: money, licences, audit, and every illegal step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from exchange.audit.models import AuditEvent
from exchange.ledger import services as ledger
from exchange.ledger.checks import check_ledger
from exchange.ledger.models import Transaction
from exchange.trading import services
from exchange.trading.models import Dispute, DownloadLink, Order
from licensing.models import Licence
from tests.factories import regulator
from tests.trading.factories import Market

pytestmark = pytest.mark.django_db


def balances(org: object) -> tuple[int, int]:
    return (ledger.available_account(org).balance, ledger.escrow_account(org).balance)


def actions(order: Order) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="trading.order", object_id=str(order.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_full_trade_moves_money_once_and_audits_every_step(market: Market) -> None:
    plan = market.plan(price_fen=100_00)
    buyer = market.buyer(funds_fen=250_00)
    order = market.order(buyer, plan)
    assert order.status == "created" and order.amount_fen == 100_00
    assert order.contract.price_fen == 100_00 and order.seller_id == market.seller.organisation_id

    order = services.sign_order(
        actor=buyer.user,
        organisation=buyer.organisation,
        order=order,
        signed_hash=order.contract.content_hash,
    )
    assert order.status == "signed"
    order = services.fund_order(actor=buyer.user, organisation=buyer.organisation, order=order)
    assert order.status == "funded" and order.licence is not None
    assert balances(buyer.organisation) == (150_00, 100_00)

    links = services.issue_download_links(
        actor=buyer.user, organisation=buyer.organisation, order=order
    ).links
    assert [link.file.name for link in links] == ["traffic-v1.csv"]
    assert DownloadLink.objects.filter(order=order, user=buyer.user).count() == 1
    order.refresh_from_db()
    assert order.status == "delivered"
    assert order.delivered_at and order.accept_by == order.delivered_at + timedelta(hours=72)
    link = links[0].link
    assert link.expires_at - link.issued_at <= timedelta(minutes=5)

    order = services.accept_order(actor=buyer.user, organisation=buyer.organisation, order=order)
    assert order.status == "settled" and order.outcome == "released"
    assert (order.seller_received_fen, order.fee_fen, order.buyer_refunded_fen) == (95_00, 5_00, 0)
    assert balances(buyer.organisation) == (150_00, 0)
    assert ledger.available_account(market.seller.organisation).balance == 95_00
    assert ledger.fee_account().balance == 5_00
    assert check_ledger().ok
    assert actions(order) == [
        "order.created",
        "order.signed",
        "order.funded",
        "order.delivered",
        "order.accepted",
        "order.settled",
    ]


@pytest.mark.parametrize(
    ("amount", "bps", "fee"), [(1999, 500, 99), (1, 500, 0), (10_000, 10_000, 10_000), (7, 0, 0)]
)
def test_fee_is_floored_and_never_above_the_amount(
    settings: object, amount: int, bps: int, fee: int
) -> None:
    settings.PLATFORM_FEE_BPS = bps
    assert services.platform_fee(amount) == fee


def test_free_order_gets_a_licence_and_moves_no_money(market: Market) -> None:
    plan = market.plan(kind="free")
    buyer = market.buyer(funds_fen=0)
    before = Transaction.objects.count()
    order = market.delivered(buyer, plan)
    assert order.licence is not None
    order = services.accept_order(actor=buyer.user, organisation=buyer.organisation, order=order)
    assert order.status == "settled"
    assert (order.seller_received_fen, order.fee_fen, order.buyer_refunded_fen) == (0, 0, 0)
    assert Transaction.objects.count() == before


def test_insufficient_funds_leave_the_order_signed(market: Market) -> None:
    plan = market.plan(price_fen=100_00)
    buyer = market.buyer(funds_fen=99_99)
    order = market.signed(buyer, plan)
    with pytest.raises(ledger.InsufficientFunds):
        services.fund_order(actor=buyer.user, organisation=buyer.organisation, order=order)
    order.refresh_from_db()
    assert order.status == "signed" and order.licence_id is None
    assert balances(buyer.organisation) == (99_99, 0)


def test_illegal_transitions_are_refused(market: Market) -> None:
    plan = market.plan()
    buyer = market.buyer()
    who = {"actor": buyer.user, "organisation": buyer.organisation}
    order = market.order(buyer, plan)
    with pytest.raises(services.IllegalTransition):
        services.fund_order(order=order, **who)  # not signed
    order = market.funded(buyer, plan)
    with pytest.raises(services.IllegalTransition):
        services.accept_order(order=order, **who)  # not delivered
    with pytest.raises(services.IllegalTransition):
        services.fund_order(order=order, **who)  # twice
    with pytest.raises(services.IllegalTransition):
        services.cancel_order(order=order, **who)  # after funding
    order = services.deliver_order(
        actor=market.seller.user, organisation=market.seller.organisation, order=order
    )
    services.accept_order(order=order, **who)
    for step in (services.accept_order, services.fund_order):
        with pytest.raises(services.IllegalTransition):
            step(order=order, **who)
    with pytest.raises(services.IllegalTransition):
        services.open_dispute(order=order, reason="late", **who)
    assert check_ledger().ok


def test_parties_are_checked(market: Market) -> None:
    plan = market.plan()
    buyer, other = market.buyer(), market.buyer()
    order = market.signed(buyer, plan)
    with pytest.raises(PermissionDenied):
        services.fund_order(actor=other.user, organisation=other.organisation, order=order)
    with pytest.raises(PermissionDenied):
        services.fund_order(
            actor=market.seller.user, organisation=market.seller.organisation, order=order
        )
    order = services.fund_order(actor=buyer.user, organisation=buyer.organisation, order=order)
    with pytest.raises(PermissionDenied):
        services.deliver_order(actor=buyer.user, organisation=buyer.organisation, order=order)


def test_cancel_before_funding(market: Market) -> None:
    plan = market.plan()
    buyer = market.buyer()
    order = market.signed(buyer, plan)
    order = services.cancel_order(
        actor=market.seller.user, organisation=market.seller.organisation, order=order, reason="x"
    )
    assert order.status == "cancelled"
    with pytest.raises(services.IllegalTransition):
        services.fund_order(actor=buyer.user, organisation=buyer.organisation, order=order)


def _disputed(market: Market, price: int = 100_00) -> tuple[Order, Dispute, object]:
    plan = market.plan(price_fen=price)
    buyer = market.buyer()
    order = market.delivered(buyer, plan)
    dispute = services.open_dispute(
        actor=buyer.user,
        organisation=buyer.organisation,
        order=order,
        reason="文件缺少字段",
        evidence=[{"text": "column amount missing"}, {"url": "https://example.test/e.png"}],
    )
    return order, dispute, buyer


def test_dispute_refund_returns_the_money_and_revokes_the_licence(market: Market) -> None:
    order, dispute, buyer = _disputed(market)
    assert Order.objects.get(pk=order.pk).status == "disputed"
    assert balances(buyer.organisation) == (900_00, 100_00)
    services.respond_to_dispute(
        actor=market.seller.user,
        organisation=market.seller.organisation,
        dispute=dispute,
        response="字段在第二个文件中",
    )
    with pytest.raises(PermissionDenied):
        services.resolve_dispute(actor=buyer.user, dispute=dispute, outcome="release")
    services.resolve_dispute(actor=regulator(), dispute=dispute, outcome="refund", note="ok")
    order.refresh_from_db()
    assert order.status == "settled" and order.outcome == "refunded"
    assert order.buyer_refunded_fen == 100_00
    assert balances(buyer.organisation) == (1_000_00, 0)
    assert Licence.objects.get(pk=order.licence_id).status == "revoked"
    with pytest.raises(PermissionDenied):
        services.issue_download_links(
            actor=buyer.user,
            organisation=buyer.organisation,
            order=order,
        )
    with pytest.raises(services.IllegalTransition):  # release after refund
        services.resolve_dispute(actor=regulator(), dispute=dispute, outcome="release")
    assert (
        AuditEvent.objects.filter(
            action__in=["dispute.opened", "dispute.responded", "dispute.resolved"]
        ).count()
        == 3
    )
    assert check_ledger().ok


def test_dispute_split_takes_the_fee_from_the_sellers_part(market: Market) -> None:
    order, dispute, _ = _disputed(market, price=100_00)
    with pytest.raises(ValidationError):
        services.resolve_dispute(
            actor=regulator(), dispute=dispute, outcome="split", to_seller_fen=50_00,
            to_buyer_fen=40_00,
        )  # fmt: skip
    services.resolve_dispute(
        actor=regulator(), dispute=dispute, outcome="split", to_seller_fen=60_01,
        to_buyer_fen=39_99,
    )  # fmt: skip
    order.refresh_from_db()
    fee = 60_01 * 500 // 10_000
    assert (order.seller_received_fen, order.buyer_refunded_fen, order.fee_fen) == (
        60_01 - fee,
        39_99,
        fee,
    )
    assert ledger.available_account(market.seller.organisation).balance == 60_01 - fee
    assert Licence.objects.get(pk=order.licence_id).status == "active"
    assert check_ledger().ok


def test_dispute_release_pays_the_seller(market: Market) -> None:
    order, dispute, _ = _disputed(market)
    services.resolve_dispute(actor=regulator(), dispute=dispute, outcome="release")
    order.refresh_from_db()
    assert order.outcome == "released" and order.seller_received_fen == 95_00


def test_dispute_after_the_window_is_refused(market: Market) -> None:
    plan = market.plan(window_hours=1)
    buyer = market.buyer()
    order = market.delivered(buyer, plan)
    Order.objects.filter(pk=order.pk).update(accept_by=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.IllegalTransition):
        services.open_dispute(
            actor=buyer.user, organisation=buyer.organisation, order=order, reason="late"
        )


def test_auto_accept_settles_due_orders_only(market: Market) -> None:
    plan = market.plan()
    buyer = market.buyer()
    due = market.delivered(buyer, plan)
    not_due = market.delivered(buyer, plan)
    Order.objects.filter(pk=due.pk).update(accept_by=timezone.now() - timedelta(minutes=1))
    assert services.auto_accept_due_orders() == 1
    assert services.auto_accept_due_orders() == 0
    due.refresh_from_db()
    not_due.refresh_from_db()
    assert due.status == "settled" and not_due.status == "delivered"
    assert AuditEvent.objects.filter(
        action="order.accepted", object_id=str(due.pk), changes__automatic=True
    ).exists()


def test_download_links_refused_before_funding_and_for_others(market: Market) -> None:
    plan = market.plan()
    buyer, other = market.buyer(), market.buyer()
    order = market.signed(buyer, plan)
    with pytest.raises(services.IllegalTransition):
        services.issue_download_links(
            actor=buyer.user, organisation=buyer.organisation, order=order
        )
    order = services.fund_order(actor=buyer.user, organisation=buyer.organisation, order=order)
    with pytest.raises(PermissionDenied):
        services.issue_download_links(
            actor=other.user, organisation=other.organisation, order=order
        )
    assert not DownloadLink.objects.exists()


def test_subscription_buyers_are_told_about_new_versions_once(market: Market) -> None:
    plan = market.plan(kind="subscription", price_fen=300_00)
    buyer = market.buyer()
    order = market.funded(buyer, plan)
    v2 = market.version(2, released=timezone.now())
    assert services.notify_version_released(v2) == 1
    assert services.notify_version_released(v2) == 0
    assert services.notify_recent_versions() == 0
    note = order.notifications.get()
    assert note.version == v2 and note.organisation_id == buyer.organisation_id
    links = services.issue_download_links(
        actor=buyer.user, organisation=buyer.organisation, order=order
    ).links
    assert {link.version.number for link in links} == {1, 2}


def test_the_version_released_signal_notifies_subscribers(market: Market) -> None:
    from listings.models import ListingVersion
    from listings.signals import version_released

    order = market.funded(market.buyer(), market.plan(kind="subscription"))
    v2 = market.version(2, released=timezone.now())
    version_released.send(sender=ListingVersion, version=v2, schema_diff=None)
    assert list(order.notifications.values_list("version__number", flat=True)) == [2]
