"""The shipped licence templates, as code.

Each template is a set of fixed values plus declared parameters. The ODRL policy (licensing.odrl)
and the Chinese and English texts (licensing.rendering) are both generated from the same resolved
values, so they cannot drift apart. `services.sync_templates` stores each definition as a
versioned LicenceTemplate row: editing a definition here publishes a new version on the next
sync, and existing offers and contracts keep the version they were made from.

The open licences' texts are our own faithful summaries, never the official legal texts; each
says so and links the official text, which governs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from licensing.parameters import ParameterSpec


@dataclass(frozen=True)
class TemplateDefinition:
    key: str
    family: str  # listings.LicenceFamily value
    name_zh: str
    name_en: str
    summary_zh: tuple[str, ...]
    summary_en: tuple[str, ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    parameters: tuple[ParameterSpec, ...] = ()
    official_url: str = ""
    spdx_id: str = ""

    @property
    def is_open(self) -> bool:
        return bool(self.official_url)

    @property
    def specs(self) -> dict[str, ParameterSpec]:
        return {p.name: p for p in self.parameters}

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "family": self.family,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "summary_zh": list(self.summary_zh),
            "summary_en": list(self.summary_en),
            "fixed": dict(self.fixed),
            "parameters": [p.to_json() for p in self.parameters],
            "official_url": self.official_url,
            "spdx_id": self.spdx_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TemplateDefinition:
        return cls(
            key=data["key"],
            family=data["family"],
            name_zh=data["name_zh"],
            name_en=data["name_en"],
            summary_zh=tuple(data["summary_zh"]),
            summary_en=tuple(data["summary_en"]),
            fixed=dict(data["fixed"]),
            parameters=tuple(ParameterSpec.from_json(p) for p in data["parameters"]),
            official_url=data.get("official_url", ""),
            spdx_id=data.get("spdx_id", ""),
        )

    def defaults(self) -> dict[str, Any]:
        """Fixed values plus each parameter's default: the values a template preview shows."""
        values = dict(self.fixed)
        for spec in self.parameters:
            values[spec.name] = spec.default
        return values


# --- shared parameter declarations ---------------------------------------------------------------

PURPOSE_LABELS = {
    "research": ("科学研究", "research"),
    "internal_commercial": ("内部商业使用", "internal commercial use"),
    "product_development": ("产品开发", "product development"),
    "resale": ("转售", "resale"),
}
TERRITORY_LABELS = {
    "cn_mainland": ("仅限中国大陆", "mainland China only"),
    "worldwide": ("全球", "worldwide"),
}


def purposes(options: tuple[str, ...], default: list[str]) -> ParameterSpec:
    return ParameterSpec(
        "purposes",
        "multichoice",
        "许可用途",
        "permitted purposes",
        options=options,
        default=default,
    )


TERRITORY = ParameterSpec(
    "territory",
    "choice",
    "地域范围",
    "territory",
    options=("cn_mainland", "worldwide"),
    default="cn_mainland",
)
TERM = ParameterSpec(
    "term_months",
    "integer",
    "许可期限（月）",
    "term (months)",
    minimum=1,
    maximum=120,
    nullable=True,
    default=12,
)
SEATS = ParameterSpec(
    "seats", "integer", "席位数（可下载的具名用户）", "seats (named users)", minimum=1,
    maximum=10_000, default=5,
)  # fmt: skip
RECORD_LIMIT = ParameterSpec(
    "record_limit",
    "integer",
    "记录数上限",
    "record limit",
    chooser="seller",
    minimum=1,
    maximum=10**12,
    nullable=True,
    default=None,
)
DELETE_AT_END = ParameterSpec(
    "delete_at_end", "boolean", "期满删除", "deletion at the end of the term", chooser="seller",
    default=True,
)  # fmt: skip
ATTRIBUTION = ParameterSpec(
    "attribution",
    "choice",
    "署名要求",
    "attribution",
    chooser="seller",
    options=("none", "always"),
    default="none",
)

# --- the open families ---------------------------------------------------------------------------

_OPEN_FIXED = {
    "actions": ["use", "reproduce", "derive", "distribute"],
    "purposes": None,
    "territory": "worldwide",
    "term_months": None,
    "seats": None,
    "record_limit": None,
    "delete_at_end": False,
}

CDLA_PERMISSIVE_2 = TemplateDefinition(
    key="cdla-permissive-2.0",
    family="cdla-permissive-2.0",
    spdx_id="CDLA-Permissive-2.0",
    name_zh="社区数据许可协议——宽松版 2.0（CDLA-Permissive-2.0）",
    name_en="Community Data License Agreement – Permissive, Version 2.0",
    official_url="https://cdla.dev/permissive-2-0/",
    fixed={**_OPEN_FIXED, "attribution": "none", "include_notice": True},
    summary_zh=(
        "数据提供方授予数据接收方在全球范围内使用、修改和分享数据的权利。",
        "分享数据时，必须随数据一并提供本协议文本（或其链接），并保留数据中的相关声明。",
        "使用数据得到的“结果”（分析、模型输出等）不受本协议约束，接收方可自由使用。",
        "数据“按原样”提供，不附任何保证；在法律允许的范围内，提供方不承担责任。",
    ),
    summary_en=(
        "The data provider grants the recipient a worldwide right to use, modify and share the "
        "data.",
        "When sharing the data, the recipient must make the text of this agreement (or a link to "
        "it) available with the data and keep the notices it carries.",
        "Results of computational use (analyses, model outputs) are not restricted by this "
        "agreement and may be used freely.",
        "The data is provided as is, without warranties; to the extent the law allows, the "
        "provider is not liable.",
    ),
)

CDLA_SHARING_1 = TemplateDefinition(
    key="cdla-sharing-1.0",
    family="cdla-sharing-1.0",
    spdx_id="CDLA-Sharing-1.0",
    name_zh="社区数据许可协议——共享版 1.0（CDLA-Sharing-1.0）",
    name_en="Community Data License Agreement – Sharing, Version 1.0",
    official_url="https://cdla.dev/sharing-1-0/",
    fixed={**_OPEN_FIXED, "attribution": "on_sharing", "share_alike": True},
    summary_zh=(
        "数据接收方可以使用、修改和发布数据。",
        "发布数据或经增强的数据时，必须按照本协议的相同条款发布，不得附加限制，"
        "并须保留数据提供方的署名和声明。",
        "使用数据得到的“结果”不受本协议约束。",
        "数据“按原样”提供，不附任何保证；在法律允许的范围内，提供方不承担责任。",
    ),
    summary_en=(
        "The recipient may use, modify and publish the data.",
        "Data or enhanced data that is published must be published under the terms of this same "
        "agreement, without added restrictions, keeping the providers' attribution and notices.",
        "Results of computational use are not restricted by this agreement.",
        "The data is provided as is, without warranties; to the extent the law allows, the "
        "provider is not liable.",
    ),
)

ODC_BY_1 = TemplateDefinition(
    key="odc-by-1.0",
    family="odc-by-1.0",
    spdx_id="ODC-By-1.0",
    name_zh="开放数据共享署名许可 1.0（ODC-By-1.0）",
    name_en="Open Data Commons Attribution License v1.0",
    official_url="https://opendatacommons.org/licenses/by/1-0/",
    fixed={**_OPEN_FIXED, "attribution": "on_sharing"},
    summary_zh=(
        "被许可方可以复制、分发和使用数据库，利用数据库制作作品，并修改、转换和演绎数据库。",
        "公开使用或再分发数据库（或由其制作的作品）时，必须按许可方指定的方式署名，"
        "并保持数据库中的许可声明完整。",
        "本许可适用于数据库本身的权利（数据库权和著作权），不涉及数据库中各项内容本身的权利。",
        "数据库“按原样”提供，不附任何保证。",
    ),
    summary_en=(
        "The licensee may copy, distribute and use the database, produce works from it, and "
        "modify, transform and build upon it.",
        "Any public use or redistribution of the database, or of works produced from it, must "
        "attribute it in the manner the licensor specifies and keep its licence notices intact.",
        "The licence covers rights in the database itself (database right and copyright), not "
        "rights in its individual contents.",
        "The database is provided as is, without warranties.",
    ),
)

CC_BY_4 = TemplateDefinition(
    key="cc-by-4.0",
    family="cc-by-4.0",
    spdx_id="CC-BY-4.0",
    name_zh="知识共享署名 4.0 国际许可协议（CC BY 4.0）",
    name_en="Creative Commons Attribution 4.0 International",
    official_url="https://creativecommons.org/licenses/by/4.0/legalcode",
    fixed={**_OPEN_FIXED, "attribution": "on_sharing"},
    summary_zh=(
        "被许可方可以为任何目的（包括商业目的）共享和演绎本数据。",
        "共享时须适当署名、提供许可协议链接，并说明是否作了修改。",
        "不得附加法律条款或技术措施，限制他人行使本许可允许的权利。",
        "本许可同样授予数据库特殊权利（sui generis）下的相应权利；不附任何保证。",
    ),
    summary_en=(
        "The licensee may share and adapt the data for any purpose, even commercially.",
        "When sharing, give appropriate credit, link to the licence and indicate whether changes "
        "were made.",
        "No legal terms or technological measures may be added that restrict others from doing "
        "what the licence permits.",
        "The licence also grants the corresponding sui generis database rights; no warranties "
        "are given.",
    ),
)

# --- commercial templates (our own wording) ------------------------------------------------------

_COMMERCIAL_SUMMARY_ZH = (
    "被许可方应依照《中华人民共和国数据安全法》《个人信息保护法》采取必要的安全措施保护数据，"
    "不得尝试重新识别数据中的任何个人，不得将数据用于违法用途。",
    "许可为非排他、不可转让的许可；本合同未明示授予的权利均由许可方保留。",
    "本合同适用中华人民共和国法律；争议先经交易平台的争议处理程序解决。",
)
_COMMERCIAL_SUMMARY_EN = (
    "The licensee protects the data with the security measures required by the PRC Data "
    "Security Law and Personal Information Protection Law, must not attempt to re-identify any "
    "person in the data, and must not use it for unlawful ends.",
    "The licence is non-exclusive and non-transferable; rights not expressly granted are "
    "reserved by the licensor.",
    "This contract is governed by the laws of the People's Republic of China; disputes go first "
    "through the exchange's dispute procedure.",
)

COMMERCIAL_INTERNAL = TemplateDefinition(
    key="commercial-internal-use",
    family="commercial",
    name_zh="商业许可——内部使用",
    name_en="Commercial licence – internal use",
    fixed={"actions": ["use", "reproduce", "derive"]},
    parameters=(
        purposes(
            ("research", "internal_commercial", "product_development"), ["internal_commercial"]
        ),
        TERRITORY,
        TERM,
        SEATS,
        RECORD_LIMIT,
        ATTRIBUTION,
        DELETE_AT_END,
    ),
    summary_zh=(
        "被许可方可在本组织内部为许可用途使用、复制数据并制作衍生成果；不得向第三方分发或出售数据。",
        *_COMMERCIAL_SUMMARY_ZH,
    ),
    summary_en=(
        "The licensee may use and copy the data and make derived results inside its own "
        "organisation for the permitted purposes; it may not distribute or sell the data to "
        "third parties.",
        *_COMMERCIAL_SUMMARY_EN,
    ),
)

COMMERCIAL_RESEARCH = TemplateDefinition(
    key="commercial-research-only",
    family="commercial",
    name_zh="商业许可——仅限科研",
    name_en="Commercial licence – research only",
    fixed={"actions": ["use", "reproduce", "derive"], "purposes": ["research"]},
    parameters=(
        TERRITORY,
        TERM,
        SEATS,
        RECORD_LIMIT,
        ParameterSpec(
            "attribution",
            "choice",
            "署名要求",
            "attribution",
            chooser="seller",
            options=("none", "always"),
            default="always",
        ),
        DELETE_AT_END,
    ),
    summary_zh=(
        "被许可方仅可为科学研究目的使用数据；研究成果可以发表，但不得包含可还原原始数据的内容；"
        "不得将数据用于任何商业目的，不得分发或出售数据。",
        *_COMMERCIAL_SUMMARY_ZH,
    ),
    summary_en=(
        "The licensee may use the data for research only; research findings may be published "
        "provided they do not allow the original data to be reconstructed; no commercial use, "
        "distribution or sale of the data.",
        *_COMMERCIAL_SUMMARY_EN,
    ),
)

COMMERCIAL_SINGLE_PROJECT = TemplateDefinition(
    key="commercial-single-project",
    family="commercial",
    name_zh="商业许可——单一项目",
    name_en="Commercial licence – single project",
    fixed={"actions": ["use", "reproduce", "derive"]},
    parameters=(
        purposes(
            ("internal_commercial", "product_development", "research"), ["product_development"]
        ),
        ParameterSpec("project", "text", "项目名称", "project name", max_length=200),
        TERRITORY,
        TERM,
        SEATS,
        RECORD_LIMIT,
        ATTRIBUTION,
        DELETE_AT_END,
    ),
    summary_zh=(
        "被许可方仅可在本合同载明的单一项目中使用数据；用于其他项目须另行取得许可；不得分发或出售数据。",
        *_COMMERCIAL_SUMMARY_ZH,
    ),
    summary_en=(
        "The licensee may use the data only within the single project named in this contract; "
        "any other project needs a new licence; no distribution or sale of the data.",
        *_COMMERCIAL_SUMMARY_EN,
    ),
)

COMMERCIAL_REDISTRIBUTION = TemplateDefinition(
    key="commercial-redistribution-royalty",
    family="commercial",
    name_zh="商业许可——再分发（含分成）",
    name_en="Commercial licence – redistribution with royalty",
    fixed={"actions": ["use", "reproduce", "derive", "distribute"]},
    parameters=(
        purposes(
            ("internal_commercial", "product_development", "resale", "research"),
            ["product_development", "resale"],
        ),
        TERRITORY,
        TERM,
        SEATS,
        RECORD_LIMIT,
        ParameterSpec(
            "royalty_percent",
            "integer",
            "分成比例（%）",
            "royalty (%)",
            chooser="seller",
            minimum=1,
            maximum=50,
            default=10,
        ),
        ParameterSpec(
            "attribution",
            "choice",
            "署名要求",
            "attribution",
            chooser="seller",
            options=("none", "on_sharing", "always"),
            default="on_sharing",
        ),
        ParameterSpec(
            "delete_at_end",
            "boolean",
            "期满删除",
            "deletion at the end of the term",
            chooser="seller",
            default=False,
        ),
    ),
    summary_zh=(
        "被许可方可在许可地域和期限内向其客户再分发数据或包含数据的产品；"
        "再分发所得收入须按约定比例向许可方支付分成，并按季度报告。",
        "被许可方须确保下游接收方遵守不低于本合同的数据保护义务。",
        *_COMMERCIAL_SUMMARY_ZH,
    ),
    summary_en=(
        "The licensee may redistribute the data, or products containing it, to its customers "
        "within the territory and term; it pays the licensor the agreed share of the revenue "
        "from redistribution and reports quarterly.",
        "The licensee makes downstream recipients accept data-protection duties no weaker than "
        "this contract's.",
        *_COMMERCIAL_SUMMARY_EN,
    ),
)

TEMPLATES: tuple[TemplateDefinition, ...] = (
    CDLA_PERMISSIVE_2,
    CDLA_SHARING_1,
    ODC_BY_1,
    CC_BY_4,
    COMMERCIAL_INTERNAL,
    COMMERCIAL_RESEARCH,
    COMMERCIAL_SINGLE_PROJECT,
    COMMERCIAL_REDISTRIBUTION,
)


def resolved_values(definition: TemplateDefinition, parameter_values: Mapping[str, Any]) -> dict:
    """Fixed values overlaid with parameter values: everything text and policy are built from."""
    values: dict[str, Any] = {
        "actions": [],
        "purposes": None,
        "territory": "worldwide",
        "term_months": None,
        "seats": None,
        "record_limit": None,
        "attribution": "none",
        "delete_at_end": False,
        "share_alike": False,
        "include_notice": False,
        "royalty_percent": None,
        "project": None,
    }
    values.update(definition.fixed)
    values.update(parameter_values)
    return values
