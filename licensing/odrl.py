"""W3C ODRL 2.2 policies: built from a template's parameter values, expanded offline, checked.

There is no network at run or test time, so JSON-LD processing here goes through
`document_loader`, which serves the shipped copy of the published ODRL context and refuses every
other URL. `expand_policy` also fails when the processor drops a property (an unmapped term would
otherwise vanish silently and the policy would say less than the text), and `vocabulary_problems`
checks that actions, operators and left operands are ODRL terms.

Mapping of the exchange's licence parameters to ODRL (one Rule per action, as ODRL 2.2 requires):

* permitted actions → `permission` rules with odrl:use / reproduce / derive / distribute (and
  odrl:sell when resale is a permitted purpose); actions not permitted → `prohibition` rules;
* purpose → odrl:purpose odrl:isAnyOf [dx purpose IRIs];
* territory "mainland China only" → odrl:spatial odrl:eq the EU country authority IRI for CHN
  (Hong Kong, Macao and Taiwan have their own codes there, so CHN means the mainland);
* term → odrl:elapsedTime odrl:lteq an xsd:duration (P12M): the contract is frozen before the
  licence starts, so the term is a duration; the licence row carries the concrete dates;
* seats → odrl:count odrl:lteq N with odrl:unit dx:namedUser (distinct named users);
* record limit → odrl:absoluteSize odrl:lteq N with odrl:unit dx:record;
* single project → odrl:product odrl:eq the project name;
* duties: attribution → odrl:attribute (attributedParty = the seller), deletion at the end of the
  term → odrl:delete constrained by the term, share-alike → odrl:nextPolicy, royalty →
  odrl:compensate with odrl:percentage, licence notice → odrl:include.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

ODRL_CONTEXT_URL = "http://www.w3.org/ns/odrl.jsonld"
ODRL_NS = "http://www.w3.org/ns/odrl/2/"
# The exchange's own profile: IRIs for purposes and units that ODRL leaves to profiles.
DX_NS = "https://data-exchange.invalid/ns/licensing#"
DX_PROFILE = "https://data-exchange.invalid/ns/licensing"
# EU Publications Office country authority table (used by DCAT-AP).
COUNTRY_NS = "http://publications.europa.eu/resource/authority/country/"

JSONLD_DIR = Path(__file__).resolve().parent / "jsonld"
_SHIPPED = {
    ODRL_CONTEXT_URL: "odrl.jsonld",
    "https://www.w3.org/ns/odrl.jsonld": "odrl.jsonld",
}

POLICY_CONTEXT: list[Any] = [ODRL_CONTEXT_URL, {"dx": DX_NS}]

# ODRL 2.2 Core + Common Vocabulary terms (https://www.w3.org/TR/odrl-vocab/).
ODRL_ACTIONS = frozenset(
    {
        "use", "transfer", "acceptTracking", "aggregate", "annotate", "anonymize", "archive",
        "attribute", "compensate", "concurrentUse", "delete", "derive", "digitize", "display",
        "distribute", "ensureExclusivity", "execute", "extract", "give", "grantUse", "include",
        "index", "inform", "install", "modify", "move", "nextPolicy", "obtainConsent", "play",
        "present", "print", "read", "reproduce", "reviewPolicy", "sell", "stream", "synchronize",
        "textToSpeech", "transform", "translate", "uninstall", "watermark",
    }
)  # fmt: skip
ODRL_OPERATORS = frozenset(
    {
        "eq", "gt", "gteq", "lt", "lteq", "neq", "isA", "hasPart", "isPartOf", "isAllOf",
        "isAnyOf", "isNoneOf",
    }
)  # fmt: skip
ODRL_LEFT_OPERANDS = frozenset(
    {
        "absolutePosition", "absoluteSpatialPosition", "absoluteTemporalPosition",
        "absoluteSize", "count", "dateTime", "delayPeriod", "deliveryChannel", "elapsedTime",
        "event", "fileFormat", "industry", "language", "media", "meteredTime", "payAmount",
        "percentage", "product", "purpose", "recipient", "relativePosition",
        "relativeSpatialPosition", "relativeTemporalPosition", "relativeSize", "resolution",
        "spatial", "spatialCoordinates", "systemDevice", "timeInterval", "unitOfCount",
        "version", "virtualLocation",
    }
)  # fmt: skip
# The published context maps the `neq` term to odrl:neg (upstream typo). Policies here write the
# IRI explicitly wherever "not equal" is meant, so it expands to the real operator.
NEQ = "odrl:neq"

PERMISSION_ACTIONS = ("use", "reproduce", "derive", "distribute")
PURPOSES = ("research", "internal_commercial", "product_development", "resale")
TERRITORIES = {"cn_mainland": COUNTRY_NS + "CHN", "worldwide": None}


class PolicyError(ValueError):
    """The policy does not expand cleanly or uses terms outside ODRL."""


@cache
def _shipped(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((JSONLD_DIR / name).read_text(encoding="utf-8"))
    return loaded


def odrl_context() -> dict[str, Any]:
    return _shipped("odrl.jsonld")


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """pyld document loader serving shipped contexts only; every other URL is refused, so
    processing never depends on the network or on what a remote server says today."""
    name = _SHIPPED.get(url)
    if name is None:
        from pyld.jsonld import JsonLdError

        raise JsonLdError(
            "Only shipped JSON-LD contexts can be loaded (no network).",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        )
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": _shipped(name),
    }


def expand_policy(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Expand with pyld and the shipped context. A property the processor would drop (a term
    the context does not define) is an error, not a silent loss."""
    from pyld import jsonld

    dropped: list[str] = []

    def on_dropped(name: str | None) -> None:
        dropped.append(str(name))

    expanded: list[dict[str, Any]] = jsonld.expand(
        dict(policy), {"documentLoader": document_loader}, on_property_dropped=on_dropped
    )
    if dropped:
        raise PolicyError(f"terms not defined by the context: {', '.join(sorted(set(dropped)))}")
    return expanded


def _ids(values: Iterable[Any]) -> list[str]:
    return [v["@id"] for v in values if isinstance(v, dict) and "@id" in v]


def _walk(node: Any) -> Iterable[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key != "@value":
                yield from _walk(value)


def vocabulary_problems(expanded: list[dict[str, Any]]) -> list[str]:
    """Every action, operator and left operand must be an ODRL 2.2 term; every odrl: property
    must be one the ODRL context defines (catches e.g. the odrl:neg typo)."""
    problems: list[str] = []
    known = {
        v if isinstance(v, str) else v.get("@id", "") for v in odrl_context()["@context"].values()
    }
    known_iris = {k.replace("odrl:", ODRL_NS) for k in known if k.startswith("odrl:")}
    checks = {
        ODRL_NS + "action": ODRL_ACTIONS,
        ODRL_NS + "operator": ODRL_OPERATORS,
        ODRL_NS + "leftOperand": ODRL_LEFT_OPERANDS,
    }
    policy_types = {ODRL_NS + t for t in ("Policy", "Set", "Offer", "Agreement")}
    policies = 0
    for node in _walk(expanded):
        if policy_types & set(node.get("@type", [])):
            policies += 1
        for key, values in node.items():
            if key.startswith(ODRL_NS) and key not in known_iris:
                problems.append(f"unknown ODRL property {key}")
            allowed = checks.get(key)
            if allowed is None:
                continue
            for iri in _ids(values) or ["<literal>"]:
                term = iri.removeprefix(ODRL_NS) if iri.startswith(ODRL_NS) else None
                if term is None or term not in allowed:
                    problems.append(f"{key.removeprefix(ODRL_NS)} {iri} is not an ODRL term")
    if policies != 1:
        problems.append(f"expected one ODRL policy node, found {policies}")
    return problems


def check_policy(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Expand and check; raise PolicyError naming every problem. Returns the expanded form."""
    expanded = expand_policy(policy)
    problems = vocabulary_problems(expanded)
    if problems:
        raise PolicyError("; ".join(problems))
    return expanded


# --- building ----------------------------------------------------------------------------------


def _int(value: int) -> dict[str, Any]:
    return {"@value": int(value), "@type": "xsd:integer"}


def _duration_months(months: int) -> dict[str, Any]:
    return {"@value": f"P{int(months)}M", "@type": "xsd:duration"}


def party(identifier: str, name: str) -> dict[str, Any]:
    return {"id": identifier, "type": "Party", "dct:title": name}


def constraints_for(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Constraints shared by every permission: purpose, territory, term, seats, records, project."""
    out: list[dict[str, Any]] = []
    purposes = values.get("purposes")
    if purposes:
        out.append(
            {
                "leftOperand": "purpose",
                "operator": "isAnyOf",
                "rightOperand": [{"@id": f"dx:purpose-{p}"} for p in purposes],
            }
        )
    spatial = TERRITORIES.get(values.get("territory") or "worldwide")
    if spatial:
        out.append({"leftOperand": "spatial", "operator": "eq", "rightOperand": {"@id": spatial}})
    if values.get("term_months"):
        out.append(
            {
                "leftOperand": "elapsedTime",
                "operator": "lteq",
                "rightOperand": _duration_months(values["term_months"]),
            }
        )
    if values.get("seats"):
        out.append(
            {
                "leftOperand": "count",
                "operator": "lteq",
                "rightOperand": _int(values["seats"]),
                "unit": {"@id": "dx:namedUser"},
            }
        )
    if values.get("record_limit"):
        out.append(
            {
                "leftOperand": "absoluteSize",
                "operator": "lteq",
                "rightOperand": _int(values["record_limit"]),
                "unit": {"@id": "dx:record"},
            }
        )
    if values.get("project"):
        out.append(
            {"leftOperand": "product", "operator": "eq", "rightOperand": str(values["project"])}
        )
    return out


def _duties_for(action: str, values: Mapping[str, Any], seller: Any) -> list[dict[str, Any]]:
    duties: list[dict[str, Any]] = []
    attribution = values.get("attribution", "none")
    sharing = action in ("distribute", "sell")
    if attribution == "always" or (attribution == "on_sharing" and sharing):
        duty: dict[str, Any] = {"action": "attribute"}
        if seller is not None:
            duty["attributedParty"] = seller
        duties.append(duty)
    if sharing and values.get("include_notice"):
        duties.append({"action": "include"})
    if sharing and values.get("share_alike"):
        duties.append({"action": "nextPolicy"})
    if sharing and values.get("royalty_percent"):
        duty = {
            "action": "compensate",
            "constraint": [
                {
                    "leftOperand": "percentage",
                    "operator": "eq",
                    "rightOperand": {
                        "@value": str(values["royalty_percent"]),
                        "@type": "xsd:decimal",
                    },
                }
            ],
        }
        if seller is not None:
            duty["compensatedParty"] = seller
        duties.append(duty)
    if action == "use" and values.get("delete_at_end") and values.get("term_months"):
        duties.append(
            {
                "action": "delete",
                "constraint": [
                    {
                        "leftOperand": "elapsedTime",
                        "operator": "eq",
                        "rightOperand": _duration_months(values["term_months"]),
                    }
                ],
            }
        )
    return duties


def build_policy(
    values: Mapping[str, Any],
    *,
    uid: str,
    policy_type: str,
    target: str,
    title: str,
    assigner: dict[str, Any] | None = None,
    assignee: dict[str, Any] | None = None,
    source_url: str | None = None,
) -> dict[str, Any]:
    """An ODRL policy (Set for a template, Offer for an offer, Agreement for a contract) from the
    resolved parameter values: the same values the human-readable text is rendered from."""
    if policy_type not in ("Set", "Offer", "Agreement"):
        raise ValueError(f"unsupported policy type {policy_type}")
    permitted = [a for a in PERMISSION_ACTIONS if a in values.get("actions", ())]
    purposes = values.get("purposes") or ()
    if "resale" in purposes and "distribute" in permitted:
        permitted.append("sell")
    constraints = constraints_for(values)
    # Parties are stated once at the policy level; ODRL 2.2 applies them to every rule.
    permissions = []
    for action in permitted:
        rule: dict[str, Any] = {"target": target, "action": action}
        if constraints:
            rule["constraint"] = constraints
        duties = _duties_for(action, values, assigner["id"] if assigner else None)
        if duties:
            rule["duty"] = duties
        permissions.append(rule)
    forbidden = [a for a in ("reproduce", "derive", "distribute") if a not in permitted]
    if "sell" not in permitted:
        forbidden.append("sell")
    prohibitions = []
    for action in forbidden:
        rule = {"target": target, "action": action}
        prohibitions.append(rule)

    policy: dict[str, Any] = {
        "@context": POLICY_CONTEXT,
        "id": uid,
        "type": policy_type,
        "profile": DX_PROFILE,
        "dct:title": title,
    }
    if source_url:
        policy["dct:source"] = {"@id": source_url}
    if assigner:
        policy["assigner"] = assigner
    if assignee:
        policy["assignee"] = assignee
    policy["permission"] = permissions
    if prohibitions:
        policy["prohibition"] = prohibitions
    return policy
