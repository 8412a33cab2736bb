"""Column profiling: what each column holds, from its header and from a sample of its values.

A column is classified as a whole (DESIGN.md section 6): in a column of resident IDs, a cell that
fails the checksum is still somebody's (mistyped) ID and is transformed with the rest.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import detectors
from . import validators as v
from .lexicon import COMMON_WORDS, COMPOUND_SURNAMES, PROVINCES, SURNAME_SET
from .policy import IDENTIFIER_KINDS, Policy

# Header synonyms, matched as substrings of the normalised header (lower case, no spaces, _ or -).
# Order matters: the first kind whose synonym matches wins ("出生日期" is a birth date, not a date).
HEADER_SYNONYMS: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("quasi_identifier", "birth_date", ("出生日期", "出生年月", "生日", "出生", "birth", "dob")),
    (
        "identifier",
        "id_card",
        (
            "身份证",
            "证件号",
            "公民身份号码",
            "idcard",
            "idno",
            "idnumber",
            "nationalid",
            "identity",
            "sfz",
        ),
    ),
    ("identifier", "uscc", ("统一社会信用代码", "信用代码", "uscc", "creditcode")),
    ("identifier", "passport", ("护照", "passport")),
    (
        "identifier",
        "bank_card",
        (
            "银行卡",
            "卡号",
            "银行账号",
            "银行帐号",
            "bankcard",
            "cardno",
            "cardnumber",
            "bankaccount",
            "iban",
        ),
    ),
    ("identifier", "mobile", ("手机", "移动电话", "mobile", "cellphone")),
    (
        "identifier",
        "landline",
        ("座机", "固话", "固定电话", "landline", "telephone", "fax", "传真"),
    ),
    ("identifier", "phone", ("联系电话", "联系方式", "电话", "phone", "tel")),
    ("identifier", "email", ("邮箱", "电子邮件", "email", "e-mail", "mail")),
    ("identifier", "ip", ("ip地址", "ipaddr", "ip", "客户端ip")),
    ("identifier", "plate", ("车牌", "号牌", "licenseplate", "plate")),
    ("identifier", "address", ("地址", "住址", "住所", "address", "addr", "street")),
    ("quasi_identifier", "postcode", ("邮编", "邮政编码", "postcode", "zipcode", "zip", "postal")),
    (
        "identifier",
        "name",
        (
            "姓名",
            "名字",
            "联系人",
            "收件人",
            "收货人",
            "寄件人",
            "患者",
            "持卡人",
            "户名",
            "开户名",
            "fullname",
            "realname",
            "name",
            "contact",
        ),
    ),
    ("quasi_identifier", "age", ("年龄", "age")),
    ("quasi_identifier", "gender", ("性别", "gender", "sex")),
    ("quasi_identifier", "ethnicity", ("民族", "ethnic")),
    ("quasi_identifier", "occupation", ("职业", "occupation", "job")),
    (
        "quasi_identifier",
        "district",
        (
            "省份",
            "城市",
            "区县",
            "所在地",
            "地区",
            "province",
            "city",
            "district",
            "county",
            "region",
        ),
    ),
    (
        "free_text",
        None,
        (
            "备注",
            "描述",
            "说明",
            "内容",
            "评论",
            "留言",
            "病历",
            "诊断",
            "记录",
            "反馈",
            "详情",
            "摘要",
            "note",
            "remark",
            "comment",
            "description",
            "text",
            "content",
            "memo",
            "message",
            "feedback",
            "summary",
        ),
    ),
)
# Headers that contain a synonym but mean something else.
_HEADER_EXCEPTIONS = (
    "namespace",
    "filename",
    "username",
    "productname",
    "商品名",
    "产品名",
    "公司名",
    "企业名",
    "品名",
    "名称",
    "ipo",
    "zipfile",
    "tip",
    "ship",
    "description",
)

_NAME_VALUE = re.compile(
    "^(?:" + "|".join(COMPOUND_SURNAMES) + "|[" + "".join(sorted(SURNAME_SET)) + "])"
    r"[\u4e00-\u9fff]{1,2}$"
)
_ADDRESS_VALUE = re.compile(
    r"(?:省|市|区|县|镇|乡|村|州).{0,20}?(?:路|街|道|巷|弄|号|栋|幢|室|单元|组|小区)"
)
_PROVINCE_RE = re.compile("^(?:" + "|".join(PROVINCES) + ")")
_DISTRICT_VALUE = re.compile(r"^[\u4e00-\u9fff]{2,9}(?:省|市|区|县|州|旗|自治区)$")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _is_name(s: str) -> bool:
    return bool(_NAME_VALUE.match(s)) and s[:2] not in COMMON_WORDS and s not in COMMON_WORDS


# Whole-value validators used as column evidence.
VALUE_CHECKS: dict[str, Callable[[str], bool]] = {
    "id_card": v.is_resident_id,
    "mobile": v.is_mobile,
    "landline": v.is_landline,
    "bank_card": v.is_bank_card,
    "email": v.is_email,
    "ip": v.is_ip,
    "passport": v.is_passport,
    "plate": v.is_plate,
    "uscc": v.is_uscc,
    "name": _is_name,
    "address": lambda s: bool(_ADDRESS_VALUE.search(s)) and len(s) >= 6,
}
QUASI_CHECKS: dict[str, Callable[[str], bool]] = {
    "date": v.is_date,
    "gender": v.is_gender,
    "district": lambda s: bool(_DISTRICT_VALUE.match(s)) or bool(_PROVINCE_RE.match(s)),
    "postcode": v.is_postcode,
    "age": v.is_age,
}


@dataclass
class ColumnProfile:
    name: str
    cls: str  # identifier | quasi_identifier | free_text | other
    kind: str | None
    transform: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "classification": self.cls,
            "type": self.kind,
            "transform": self.transform,
            "evidence": self.evidence,
        }


def _norm_header(h: str) -> str:
    return re.sub(r"[\s_\-.]", "", v.normalise(str(h))).lower()


def header_kind(header: str) -> tuple[str, str | None, str] | None:
    """(class, kind, matched synonym) for a header, or None."""
    h = _norm_header(header)
    if not h:
        return None
    for cls, kind, synonyms in HEADER_SYNONYMS:
        for syn in synonyms:
            if syn in h:
                # Short ASCII synonyms must be the whole header or a clear token of it.
                if (
                    syn.isascii()
                    and len(syn) <= 4
                    and not (h == syn or h.endswith(syn) or h.startswith(syn))
                ):
                    continue
                if any(exc in h for exc in _HEADER_EXCEPTIONS) and kind in (
                    "name",
                    "ip",
                    "postcode",
                ):
                    continue
                if cls == "free_text" and any(exc in h for exc in ("filename",)):
                    continue
                return cls, kind, syn
    return None


# Checks that can only pass on a value with (or without) a Chinese character: skipping them where
# they cannot pass leaves every share unchanged and halves the profiling time.
_NEEDS_HAN = frozenset({"name", "address", "plate", "district"})
_NO_HAN = frozenset(
    {"id_card", "mobile", "landline", "bank_card", "email", "ip", "passport", "uscc", "postcode"}
)


class _Sample:
    """The sampled values counted once per distinct value; shares weighted by the counts."""

    def __init__(self, values: Sequence[str]) -> None:
        self.n = len(values)
        self.counts = Counter(values)
        self.han = {s: bool(_HAN.search(s)) for s in self.counts}
        self.passed: dict[str, set[str]] = {}

    def run(self, kind: str, check: Callable[[str], bool]) -> float:
        if kind in _NEEDS_HAN:
            cands = [s for s, h in self.han.items() if h]
        elif kind in _NO_HAN:
            cands = [s for s, h in self.han.items() if not h]
            if kind == "email":
                cands = [s for s in cands if "@" in s or "＠" in s]
        else:
            cands = list(self.counts)
        ok = {s for s in cands if check(s)}
        self.passed[kind] = ok
        return self.weight(ok)

    def weight(self, values: set[str]) -> float:
        return sum(self.counts[s] for s in values) / self.n if self.n else 0.0

    def share(self, check: Callable[[str], bool]) -> float:
        return self.weight({s for s in self.counts if check(s)})


def _share(values: Sequence[str], check: Callable[[str], bool]) -> float:
    return sum(1 for s in values if check(s)) / len(values) if values else 0.0


def profile_column(name: str, sample: Sequence[str | None], policy: Policy) -> ColumnProfile:
    """Classify one column from its header and a sample of its values (as strings)."""
    values = [s.strip() for s in sample if s is not None and s.strip()]
    evidence: dict[str, Any] = {"sampled": len(sample), "non_empty": len(values)}
    id_threshold = float(policy.raw["profiling"]["identifier_share"])
    name_threshold = float(policy.raw["profiling"]["name_share"])

    counted = _Sample(values)
    shares = {kind: round(counted.run(kind, check), 4) for kind, check in VALUE_CHECKS.items()}
    evidence["value_shares"] = {k: s for k, s in shares.items() if s > 0}
    avg_len = sum(len(s) for s in values) / len(values) if values else 0.0
    han_share = counted.weight({s for s, h in counted.han.items() if h})
    evidence["avg_length"] = round(avg_len, 1)
    distinct = len(set(values)) / len(values) if values else 0.0
    evidence["distinct_share"] = round(distinct, 4)

    header = header_kind(name)
    if header:
        evidence["header_match"] = header[2]

    cls: str
    kind: str | None
    override = policy.columns.get(name)

    def decide() -> tuple[str, str | None]:
        if header and header[0] == "identifier":
            hk = header[1]
            if hk == "phone":
                return "identifier", (
                    "landline" if shares["landline"] > shares["mobile"] else "mobile"
                )
            # Free-text-looking content under an identifier header ("地址" with long notes) is
            # still transformed whole: the header is the seller's own statement.
            return "identifier", hk
        # Values: the best-supported identifier type.
        ranked = sorted(
            ((s, k) for k, s in shares.items() if k not in ("name", "address")), reverse=True
        )
        best_share, best_kind = ranked[0] if ranked else (0.0, None)
        if best_share >= id_threshold:
            return "identifier", best_kind
        # Names vary; a column of a handful of repeated words is a category, not people.
        varied = distinct >= 0.2 or len(set(values)) >= 8
        if shares["name"] >= name_threshold and varied and avg_len <= 4:
            return "identifier", "name"
        if shares["address"] >= id_threshold:
            return "identifier", "address"
        strong = ("id_card", "mobile", "bank_card", "email", "passport")
        combined = counted.weight(set().union(*(counted.passed[k] for k in strong)))
        if combined >= id_threshold:
            evidence["combined_identifier_share"] = round(combined, 4)
            return "identifier", "mixed"
        if header and header[0] == "quasi_identifier":
            return "quasi_identifier", header[1]
        q = {k: counted.run(k, c) for k, c in QUASI_CHECKS.items()}
        if q["gender"] >= 0.9:
            evidence["value_shares"]["gender"] = round(q["gender"], 4)
            return "quasi_identifier", "gender"
        if header and header[0] == "free_text":
            return "free_text", None
        # Long or multi-word text: scan it.  Findings in the sample are recorded as evidence.
        if avg_len >= 12 and (han_share >= 0.3 or _share(values, lambda s: " " in s) >= 0.5):
            return "free_text", None
        return "other", None

    cls, kind = decide()
    if override:
        evidence["policy_override"] = True
        cls = override.cls or (
            "identifier"
            if override.kind in IDENTIFIER_KINDS
            else cls
            if override.kind is None
            else "quasi_identifier"
        )
        kind = override.kind or kind
    if cls in ("free_text", "other") and values:
        found = detectors.kinds_per_cell(values[:500])
        if found:
            evidence["sample_findings"] = found
    transform = (
        override.transform if override and override.transform else policy.transform_for(cls, kind)
    )
    max_share = max(shares.values(), default=0.0)
    if (
        cls == "other"
        and not override
        and han_share < 0.1
        and max_share < 0.2
        and (_share(values, lambda s: " " in s) < 0.1)
    ):
        # Code-like column (order numbers, SKUs, amounts): its profile already says the values are
        # not identifiers beyond chance (Luhn passes 1 in 10), so its cells are not rescanned.
        evidence["code_like"] = True
        transform = "keep"
    if cls == "identifier" and transform == "keep":
        transform = policy.transform_for(cls, kind)
    return ColumnProfile(name, cls, kind, transform, evidence)


def profile_columns(
    columns: Sequence[str], samples: Sequence[Sequence[str | None]], policy: Policy | None = None
) -> list[ColumnProfile]:
    """Profile every column; ``samples[i]`` holds sampled cells of ``columns[i]`` as strings."""
    from .policy import load_policy

    pol = policy or load_policy()
    return [profile_column(c, s, pol) for c, s in zip(columns, samples, strict=True)]
