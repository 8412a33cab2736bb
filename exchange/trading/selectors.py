"""Reads about trading, filtered by who asks. Lists follow the same rules as details: a buyer or
seller sees its own orders (and their disputes), regulators and operators see all; anything else
is absent from lists and answers 404."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from exchange.participants.models import Organisation, User
from exchange.participants.selectors import is_platform_staff
from exchange.trading.models import (
    Dispute,
    DownloadLink,
    Notification,
    Order,
    WebhookDelivery,
    WebhookEndpoint,
)
from listings.models import PricePlan
from listings.selectors import listing_visible_to


def orders_visible_to(
    user: User, organisation: Organisation | None, *, filters: dict[str, Any] | None = None
) -> QuerySet[Order]:
    orders = Order.objects.select_related("contract", "listing", "dispute")
    if not is_platform_staff(user):
        if organisation is None:
            return orders.none()
        orders = orders.filter(Q(buyer=organisation) | Q(seller=organisation))
    filters = filters or {}
    role = filters.get("role")
    if role == "buyer" and organisation is not None:
        orders = orders.filter(buyer=organisation)
    elif role == "seller" and organisation is not None:
        orders = orders.filter(seller=organisation)
    if filters.get("status"):
        orders = orders.filter(status=filters["status"])
    if filters.get("listing"):
        orders = orders.filter(listing_id=filters["listing"])
    return orders.order_by("-id")


def get_order(
    user: User, organisation: Organisation | None, order_id: int, *, id_only: bool = False
) -> Order:
    """One order the caller may see (the rule of orders_visible_to), or 404. id_only: only its id
    is read (the other fields load on access), for writes whose service re-reads the order under
    its lock.

    The caller's own orders are looked up first: for them the answer does not depend on platform
    staff status, so the query asking that is only needed when the order is not theirs."""
    orders = Order.objects.select_related("contract", "listing", "dispute").filter(pk=order_id)
    if id_only:
        orders = orders.select_related(None).only("pk")
    order = None
    if organisation is not None:
        order = orders.filter(Q(buyer=organisation) | Q(seller=organisation)).first()
    if order is None and is_platform_staff(user):
        order = orders.first()
    if order is None:
        raise Http404("No such order.")
    return order


def disputes_visible_to(user: User, organisation: Organisation | None) -> QuerySet[Dispute]:
    disputes = Dispute.objects.select_related("order")
    if is_platform_staff(user):
        return disputes
    if organisation is None:
        return disputes.none()
    return disputes.filter(Q(order__buyer=organisation) | Q(order__seller=organisation))


def get_dispute(user: User, organisation: Organisation | None, dispute_id: int) -> Dispute:
    dispute = disputes_visible_to(user, organisation).filter(pk=dispute_id).first()
    if dispute is None:
        raise Http404("No such dispute.")
    return dispute


def orderable_plan(user: User, organisation: Organisation | None, plan_id: int) -> PricePlan:
    """A price plan on a listing the caller may see (others' private listings answer 404)."""
    plan = PricePlan.objects.select_related("listing").filter(pk=plan_id).first()
    if plan is None or not listing_visible_to(user, organisation, plan.listing):
        raise Http404("No such price plan.")
    return plan


def download_links_of(order: Order) -> QuerySet[DownloadLink]:
    return DownloadLink.objects.filter(order=order).select_related("file", "version")


def endpoints_of(organisation: Organisation | None) -> QuerySet[WebhookEndpoint]:
    if organisation is None:
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.filter(organisation=organisation)


def get_endpoint(organisation: Organisation | None, endpoint_id: int) -> WebhookEndpoint:
    endpoint = endpoints_of(organisation).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


def deliveries_of(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint=endpoint).prefetch_related("attempt_log")


def notifications_of(organisation: Organisation | None) -> QuerySet[Notification]:
    if organisation is None:
        return Notification.objects.none()
    return Notification.objects.filter(organisation=organisation).select_related("version")
