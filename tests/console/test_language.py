"""The console speaks the regulator's language: Simplified Chinese for a Chinese browser (and by
default), English for an English one. Figures, ids and CSV headers are the same in both."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.console.conftest import client_for
from tests.console.factories import Platform

pytestmark = pytest.mark.django_db

ZH = "zh-CN,zh;q=0.9,en;q=0.5"

# English strings of the console itself (nav, dashboard, queue, audit log, actions, model names):
# none may be left on a page shown to a Chinese browser.
ENGLISH = [
    "Dashboard",
    "Review queue",
    "Audit log",
    "Verify chain",
    "Exports",
    "pending review",
    "open dispute",
    "awaiting verification",
    "failed pipeline run",
    "Trades per day",
    "Value per day",
    "Personal information found by the cleaning engine",
    "No data for this period",
    "Records",
    "regulator (read-only)",
    "Listing versions",
    "Audit events",
    "Orders",
    "Disputes",
    "Organisations",
    "Catalogue",
    "Audit trail",
    "Verify organisation",
    "Freeze organisation",
    "Export CSV",
    "Nothing is waiting for review",
    "By actor",
    "By organisation",
    "By time",
    "Status reason",
    "Created at",
]


def page(client: Client, name: str, *args: object) -> str:
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def english_left(html: str) -> list[str]:
    return [s for s in ENGLISH if s in html]


def test_dashboard_in_chinese(platform: Platform) -> None:
    html = page(client_for(platform.regulator, ZH), "admin:index")
    for text in [
        "监管控制台",
        "监管看板",
        "审核队列",
        "审计日志",
        "校验哈希链",
        "导出",
        "项待审核",
        "起未结争议",
        "家机构待认证",
        "次处理流程失败",
        "每日成交笔数",
        "清洗引擎发现的个人信息",
        "监管方（只读）",
        "数据产品版本",
        "审计事件",
        "订单",
        "争议",
        "机构",
    ]:
        assert text in html, text
    assert '<span class="figure" id="fig-pending-reviews">1</span>' in html
    assert '<span id="fig-total-trades">' in html  # figures keep their ids in every language
    assert english_left(html) == []


def test_review_queue_and_detail_in_chinese(platform: Platform) -> None:
    client = client_for(platform.regulator, ZH)
    html = page(client, "admin:console_review_queue")
    assert "审核队列" in html and "数据产品" in html and "提交时间" in html
    assert english_left(html) == []
    detail = page(client, "admin:console_review", platform.submitted.pk)
    for text in ["清洗报告", "脱敏样例", "许可要约", "理由（驳回时必填）", "批准", "驳回"]:
        assert text in detail, text
    assert "Cleaning report" not in detail and "Approve" not in detail
    response = client.post(
        reverse("admin:console_review", args=[platform.submitted.pk]), {"decision": "reject"}
    )
    assert response.status_code == 400
    assert "请说明驳回该版本的理由。" in response.content.decode()


def test_audit_log_and_verification_in_chinese(platform: Platform) -> None:
    client = client_for(platform.regulator, ZH)
    html = page(client, "admin:audit_auditevent_changelist")
    for text in ["审计事件", "校验哈希链", "导出 CSV", "按操作人", "按机构", "按时间", "ID 或邮箱"]:
        assert text in html, text
    assert english_left(html) == []
    verified = client.post(reverse("admin:console_audit_verify")).content.decode()
    assert "校验通过" in verified and "哈希链完整" in verified
    assert "chain intact" not in verified


def test_organisation_page_and_action_in_chinese(platform: Platform) -> None:
    client = client_for(platform.regulator, ZH)
    org = platform.pending_org
    html = page(client, "admin:participants_organisation_change", org.pk)
    for text in ["认证机构", "冻结机构", "统一社会信用代码", "状态原因", "创建时间", "机构成员"]:
        assert text in html, text
    assert english_left(html) == []
    form = page(client, "admin:console_object_action", "organisation-freeze", org.pk)
    assert "理由" in form and "取消" in form and "Reason" not in form
    response = client.post(
        reverse("admin:console_object_action", args=["organisation-freeze", org.pk]),
        {"reason": "监管调查中"},
        follow=True,
    )
    assert f"机构“{org.name}”已冻结。" in response.content.decode()


def test_dispute_form_in_chinese(platform: Platform) -> None:
    html = page(
        client_for(platform.regulator, ZH),
        "admin:console_object_action",
        "dispute-resolve",
        platform.dispute.pk,
    )
    for text in ["裁决争议", "买方申诉", "退款给买方（许可撤销）", "买卖双方分配", "裁决说明"]:
        assert text in html, text
    assert "Refund the buyer" not in html


def test_chinese_is_the_default(platform: Platform) -> None:
    client = Client()  # no Accept-Language at all
    client.force_login(platform.regulator)
    html = page(client, "admin:console_review_queue")
    assert "审核队列" in html and "Review queue" not in html


def test_english_browser_sees_english(platform: Platform) -> None:
    client = client_for(platform.regulator, "en-GB,en;q=0.9")
    html = page(client, "admin:index")
    for text in [
        "Regulator console",
        "Dashboard",
        "Review queue",
        "Audit log",
        "pending review",
        "open dispute",
        "Trades per day",
        "Personal information found by the cleaning engine",
        "Listing versions",
        "Audit events",
    ]:
        assert text in html, text
    assert "审核队列" not in html and "监管看板" not in html
    queue = page(client, "admin:console_review_queue")
    assert "Review queue" in queue and "Submitted" in queue
    log = page(client, "admin:audit_auditevent_changelist")
    assert "By actor" in log and "Verify chain" in log
    org = page(client, "admin:participants_organisation_change", platform.pending_org.pk)
    assert "Verify organisation" in org and "Status changed at" in org


def test_csv_headers_do_not_depend_on_the_language(platform: Platform) -> None:
    from django.utils import timezone

    today = timezone.localdate().isoformat()
    url = reverse("admin:console_export_csv", args=["trades"])
    heads = []
    for language in (ZH, "en"):
        response = client_for(platform.regulator, language).get(url, {"start": today, "end": today})
        assert response.status_code == 200
        heads.append(b"".join(response.streaming_content).decode("utf-8").splitlines()[0])
    assert heads[0] == heads[1]
    assert heads[0].lstrip("\ufeff").startswith("order_id,funded_at,status")
