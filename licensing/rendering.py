"""Human-readable licence texts in Chinese and English, rendered from the resolved values.

The same values feed `licensing.odrl.build_policy`, so the text and the machine-readable policy
say the same thing. A contract freezes the rendered texts; a template preview renders with
placeholder parties.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from licensing.catalogue import PURPOSE_LABELS, TERRITORY_LABELS, TemplateDefinition

LANGUAGES = ("zh", "en")

ACTION_LABELS = {
    "use": ("使用", "use"),
    "reproduce": ("复制", "reproduce"),
    "derive": ("制作衍生成果", "derive new works and results"),
    "distribute": ("分发", "distribute"),
    "sell": ("出售", "sell"),
}
PLAN_LABELS = {
    "one_time": ("一次性购买（指定版本）", "one-time purchase (the named version)"),
    "subscription": ("订阅", "subscription"),
    "free": ("免费", "free"),
}


@dataclass(frozen=True)
class PartyInfo:
    name: str
    uscc: str


@dataclass(frozen=True)
class ContractContext:
    """What a contract adds to a template: who, what, for how much. None in previews."""

    reference: str
    seller: PartyInfo
    buyer: PartyInfo
    dataset_title: str
    dataset_ref: str
    version_number: int | None
    plan_kind: str
    price_fen: int
    subscription_months: int | None


def yuan(fen: int) -> str:
    """Integer fen → '1,234.56' (no floats anywhere)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1]


def _join(items: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


def _term(months: int | None, lang: str) -> str:
    if not months:
        return "永久" if lang == "zh" else "perpetual"
    return (
        f"{months} 个月（自许可生效之日起算）"
        if lang == "zh"
        else (f"{months} months from the day the licence takes effect")
    )


def _grant_lines(values: Mapping[str, Any], lang: str) -> list[str]:
    zh = lang == "zh"
    actions = [a for a in ("use", "reproduce", "derive", "distribute") if a in values["actions"]]
    purposes = values.get("purposes") or []
    if "resale" in purposes and "distribute" in actions:
        actions.append("sell")
    forbidden = [a for a in ("reproduce", "derive", "distribute", "sell") if a not in actions]
    lines = [
        ("允许：" if zh else "Permitted: ")
        + _join([_pick(ACTION_LABELS[a], lang) for a in actions], lang)
    ]
    if forbidden:
        lines.append(
            ("禁止：" if zh else "Prohibited: ")
            + _join([_pick(ACTION_LABELS[a], lang) for a in forbidden], lang)
        )
    # Constraints, in the order the ODRL policy lists them.
    if purposes:
        lines.append(
            ("许可用途：" if zh else "Purposes: ")
            + _join([_pick(PURPOSE_LABELS[p], lang) for p in purposes], lang)
        )
    else:
        lines.append("许可用途：不限" if zh else "Purposes: any")
    territory = values.get("territory") or "worldwide"
    lines.append(("地域范围：" if zh else "Territory: ") + _pick(TERRITORY_LABELS[territory], lang))
    lines.append(("许可期限：" if zh else "Term: ") + _term(values.get("term_months"), lang))
    seats = values.get("seats")
    if seats:
        lines.append(
            f"席位：最多 {seats} 名被许可方具名用户可下载和使用数据"
            if zh
            else f"Seats: at most {seats} named users of the licensee may download and use the data"
        )
    records = values.get("record_limit")
    if records:
        lines.append(f"记录数上限：{records:,} 条" if zh else f"Record limit: {records:,} records")
    if values.get("project"):
        lines.append(f"限定项目：{values['project']}" if zh else f"Project: {values['project']}")
    return lines


def _duty_lines(values: Mapping[str, Any], lang: str) -> list[str]:
    zh = lang == "zh"
    lines = []
    attribution = values.get("attribution", "none")
    if attribution == "always":
        lines.append(
            "署名：在使用数据的任何成果中注明数据来源（许可方）"
            if zh
            else "Attribution: credit the licensor as the source in anything made with the data"
        )
    elif attribution == "on_sharing":
        lines.append(
            "署名：公开使用或分享数据时注明数据来源（许可方）"
            if zh
            else "Attribution: credit the licensor when using the data publicly or sharing it"
        )
    if values.get("include_notice"):
        lines.append(
            "分享数据时随附本许可文本或其链接"
            if zh
            else "Include this licence text, or a link to it, when sharing the data"
        )
    if values.get("share_alike"):
        lines.append(
            "相同方式共享：分享的数据须按相同许可条款提供"
            if zh
            else "Share alike: data you share must be offered under the same licence terms"
        )
    if values.get("royalty_percent"):
        pct = values["royalty_percent"]
        lines.append(
            f"分成：再分发或转售所得收入的 {pct}% 支付给许可方"
            if zh
            else f"Royalty: {pct}% of revenue from redistribution or resale is paid to the licensor"
        )
    if values.get("delete_at_end") and values.get("term_months"):
        lines.append(
            "期满删除：许可期限届满时删除全部数据副本，并应许可方要求出具删除确认"
            if zh
            else "Deletion: at the end of the term delete every copy of the data and confirm the "
            "deletion on the licensor's request"
        )
    return lines


def _party(party: PartyInfo | None, placeholder: tuple[str, str], lang: str) -> str:
    if party is None:
        return _pick(placeholder, lang)
    label = "统一社会信用代码" if lang == "zh" else "USCC"
    return (
        f"{party.name}（{label} {party.uscc}）"
        if lang == "zh"
        else f"{party.name} ({label} {party.uscc})"
    )


def render_text(
    definition: TemplateDefinition,
    version: int,
    values: Mapping[str, Any],
    context: ContractContext | None,
    lang: str,
) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang}")
    zh = lang == "zh"
    name = definition.name_zh if zh else definition.name_en
    lines: list[str] = []
    title = "数据许可合同" if context else "许可模板"
    if not zh:
        title = "Data licence contract" if context else "Licence template"
    lines.append(f"{title}：{name}" if zh else f"{title}: {name}")
    lines.append(
        f"模板 {definition.key}，第 {version} 版"
        if zh
        else f"Template {definition.key}, version {version}"
    )
    if context:
        lines.append(("合同编号：" if zh else "Contract reference: ") + context.reference)
    lines.append("")

    seller = context.seller if context else None
    buyer = context.buyer if context else None
    lines.append("一、当事人" if zh else "1. Parties")
    lines.append(
        ("许可方（卖方）：" if zh else "Licensor (seller): ")
        + _party(seller, ("〔许可方〕", "[licensor]"), lang)
    )
    lines.append(
        ("被许可方（买方）：" if zh else "Licensee (buyer): ")
        + _party(buyer, ("〔被许可方〕", "[licensee]"), lang)
    )
    lines.append("")

    lines.append("二、标的数据与价格" if zh else "2. Data and price")
    if context:
        lines.append(
            ("数据集：" if zh else "Dataset: ")
            + f"{context.dataset_title}（{context.dataset_ref}）"
        )
        if context.plan_kind == "subscription":
            months = context.subscription_months or 0
            lines.append(
                f"订阅：{months} 个月；订阅期内发布的每个版本均在许可范围内"
                + (
                    f"（含订立时的第 {context.version_number} 版）"
                    if context.version_number
                    else ""
                )
                if zh
                else f"Subscription: {months} months; every version published during the "
                "subscription is covered"
                + (
                    f" (and version {context.version_number}, current at signing)"
                    if context.version_number
                    else ""
                )
            )
        elif context.version_number:
            lines.append(
                f"版本：第 {context.version_number} 版"
                if zh
                else f"Version: {context.version_number}"
            )
        lines.append(
            ("交易方式：" if zh else "Plan: ") + _pick(PLAN_LABELS[context.plan_kind], lang)
        )
        lines.append(
            f"价格：人民币 {yuan(context.price_fen)} 元"
            if zh
            else f"Price: CNY {yuan(context.price_fen)}"
        )
    else:
        lines.append("〔由合同填写〕" if zh else "[filled in by the contract]")
    lines.append("")

    lines.append("三、许可条款" if zh else "3. Licence terms")
    lines.extend(
        f"{i}. {p}"
        for i, p in enumerate(definition.summary_zh if zh else definition.summary_en, start=1)
    )
    lines.append("")

    lines.append("四、授权范围与限制" if zh else "4. Grant and limits")
    lines.extend(f"- {line}" for line in _grant_lines(values, lang))
    duties = _duty_lines(values, lang)
    if duties:
        lines.append("")
        lines.append("五、义务" if zh else "5. Duties")
        lines.extend(f"- {line}" for line in duties)
    lines.append("")

    lines.append("六、其他" if zh else "6. Other terms")
    if definition.is_open:
        lines.append(
            f"本文本是 {definition.spdx_id} 许可的摘要，并非正式法律文本；"
            f"以 {definition.official_url} 所载正式文本为准。"
            if zh
            else f"This text is a summary of the {definition.spdx_id} licence, not its legal "
            f"text; the official text at {definition.official_url} governs."
        )
    lines.append(
        "本合同附有由相同参数生成的 W3C ODRL 2.2 机器可读策略（JSON-LD）。"
        "中英文本与该策略一并冻结，"
        "并以 SHA-256 哈希标识；任何修改都将形成新的合同。"
        if zh
        else "This contract carries a W3C ODRL 2.2 machine-readable policy (JSON-LD) generated "
        "from the same parameters. The Chinese and English texts and the policy are frozen "
        "together and identified by a SHA-256 hash; any change makes a new contract."
    )
    if not zh:
        lines.append("If the Chinese and English texts differ, the Chinese text prevails.")
    else:
        lines.append("中英文本如有不一致，以中文文本为准。")
    return "\n".join(lines) + "\n"
