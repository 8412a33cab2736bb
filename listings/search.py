"""Full-text search tokens shared by indexing and querying, Chinese included.

Chinese has no spaces, and PostgreSQL's parsers treat a run of Han characters as one "word", so
`医疗` would never match inside `医疗影像数据集`. We tokenise ourselves:

* a run of Han characters becomes its overlapping character bigrams and its last character
  (医疗影像 → 医疗 疗影 影像 像); a query run of two or more characters becomes its bigrams, all
  required (医疗影像 needs 医疗, 疗影 and 影像 in the document); a one-character query is a
  prefix search (医 finds 医疗 and a final 医);
* anything else is split into lowercase letter/digit words (NFKC first, so full-width Ｇ２ is g2);
  query words match as prefixes (`transport` finds `transportation`).

The document is stored twice: a weighted `tsvector` literal (PostgreSQL: GIN-indexed, ranked with
ts_rank; title A > keywords B > summary C > description and column names D) and a plain token
string `search_document` with the same tokens, positions and weights, which the SQLite path
matches with LIKE and ranks with a Python port of ts_rank. Both paths agree on what matches and,
up to float rounding, on the order.
"""

from __future__ import annotations

import math
import re
import struct
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_HAN}]+|[^\W_{_HAN}]+")
_HAN_RE = re.compile(rf"[{_HAN}]")

# Keep documents (and tsvector positions, capped at 16383 by PostgreSQL) bounded.
MAX_TOKENS_PER_FIELD = 2000
MAX_QUERY_TERMS = 16


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def document_tokens(text: str) -> list[str]:
    """Tokens of an indexed text: Han bigrams plus the run's last character, lowercase words.

    Every Han character of the text then begins some token (a bigram, or the final unigram), so a
    one-character query is a prefix search (`医:*`) and finds it; storing every unigram too would
    double the index for nothing.
    """
    tokens: list[str] = []
    for run in _TOKEN_RE.findall(_normalise(text)):
        if _HAN_RE.match(run):
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
            tokens.append(run[-1])
        else:
            tokens.append(run)
        if len(tokens) >= MAX_TOKENS_PER_FIELD:
            break
    return tokens[:MAX_TOKENS_PER_FIELD]


@dataclass(frozen=True)
class QueryTerm:
    token: str
    prefix: bool  # words match as prefixes; Han grams exactly


def query_terms(query: str) -> list[QueryTerm]:
    """The terms a query needs, all of them required; duplicates dropped, order kept."""
    terms: list[QueryTerm] = []
    for run in _TOKEN_RE.findall(_normalise(query)):
        if _HAN_RE.match(run):
            if len(run) == 1:
                terms.append(QueryTerm(run, prefix=True))  # see document_tokens
            else:
                terms.extend(QueryTerm(run[i : i + 2], prefix=False) for i in range(len(run) - 1))
        else:
            terms.append(QueryTerm(run, prefix=True))
    unique = list(dict.fromkeys(terms))
    return unique[:MAX_QUERY_TERMS]


@dataclass(frozen=True)
class WeightedText:
    label: str  # "A".."D"
    texts: Sequence[str]


def _quote_lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


MAX_POSITION = 16383  # PostgreSQL's cap on tsvector positions
MAX_POSITIONS_PER_LEXEME = 256  # and on positions kept per lexeme


def positioned_tokens(fields: Iterable[WeightedText]) -> Iterator[tuple[str, int, str]]:
    """(token, position, weight label) in document order; one position of gap between texts so
    proximity never spans two fields."""
    position = 0
    for field in fields:
        for text in field.texts:
            for token in document_tokens(text):
                position = min(position + 1, MAX_POSITION)
                yield token, position, field.label
            position = min(position + 1, MAX_POSITION)


def tsvector_literal(fields: Iterable[WeightedText]) -> str:
    """A tsvector in its text form, positions and weights included, ready for `::tsvector`."""
    return " ".join(
        f"{_quote_lexeme(token)}:{position}{label}"
        for token, position, label in positioned_tokens(fields)
    )


def tsquery_literal(terms: Sequence[QueryTerm]) -> str:
    """An AND of the terms in tsquery text form, for `::tsquery` (no parser, no stemming)."""
    return " & ".join(_quote_lexeme(t.token) + (":*" if t.prefix else "") for t in terms)


def plain_document(fields: Iterable[WeightedText]) -> str:
    """The same tokens, positions and weights as the tsvector, as ` a1:医疗 a2:疗影 d9:patient `.

    The SQLite path finds a term with LIKE '%:term %' (exact) or '%:term%' (prefix): tokens never
    hold a colon or a space.
    """
    parts = [f"{label.lower()}{pos}:{token}" for token, pos, label in positioned_tokens(fields)]
    return " " + " ".join(parts) + " "


# --- ranking for the portable path: a port of PostgreSQL's ts_rank (src/backend/utils/adt/
# tsrank.c, default weights, normalisation 0), so both databases order results the same way.

# float4 values of ts_rank's default weights {0.1, 0.2, 0.4, 1.0} for D, C, B, A.
_LABEL_WEIGHT = {
    label: float(struct.unpack("f", struct.pack("f", weight))[0])
    for label, weight in {"a": 1.0, "b": 0.4, "c": 0.2, "d": 0.1}.items()
}
RANK_DIGITS = 4  # both paths order by the rank rounded to this, then by id (float4 vs float8)


def parse_document(document: str) -> dict[str, list[tuple[int, float]]]:
    """lexeme → [(position, weight)] sorted by position, as a tsvector stores it."""
    lexemes: dict[str, dict[int, float]] = {}
    for part in document.split():
        head, _, token = part.partition(":")
        position = int(head[1:])
        lexemes.setdefault(token, {})[position] = _LABEL_WEIGHT[head[0]]
    return {
        token: sorted(positions.items())[:MAX_POSITIONS_PER_LEXEME]
        for token, positions in lexemes.items()
    }


def _entries(
    lexemes: dict[str, list[tuple[int, float]]], ordered: list[str], term: QueryTerm
) -> list[list[tuple[int, float]]]:
    if not term.prefix:
        return [lexemes[term.token]] if term.token in lexemes else []
    return [lexemes[t] for t in ordered if t.startswith(term.token)]


def _f32(value: float) -> float:
    """Round to single precision: ts_rank computes in C `float`, and we want its exact result."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _word_distance(distance: int) -> float:
    if distance > 100:
        return 1e-30
    return _f32(1.0 / (1.005 + 0.05 * math.exp(_f32(float(distance)) / 1.5 - 2)))


def _sorted_terms(terms: Sequence[QueryTerm]) -> list[QueryTerm]:
    unique: dict[str, QueryTerm] = {}
    for term in sorted(terms, key=lambda t: t.token.encode()):
        unique.setdefault(term.token, term)
    return list(unique.values())


def _rank_or(lexemes: dict[str, list[tuple[int, float]]], terms: list[QueryTerm]) -> float:
    ordered = sorted(lexemes, key=str.encode)
    result = 0.0
    for term in terms:
        for positions in _entries(lexemes, ordered, term):
            resj, wjm, jm = 0.0, -1.0, 0
            for j, (_, weight) in enumerate(positions):
                resj = _f32(resj + _f32(weight / ((j + 1) * (j + 1))))
                if weight > wjm:
                    wjm, jm = weight, j
            inner = _f32(_f32(wjm + resj) - _f32(wjm / ((jm + 1) * (jm + 1))))
            result = _f32(result + inner / 1.64493406685)
    return _f32(result / len(terms)) if terms else 0.0


def _rank_and(lexemes: dict[str, list[tuple[int, float]]], terms: list[QueryTerm]) -> float:
    if len(terms) < 2:
        return _rank_or(lexemes, terms)
    ordered = sorted(lexemes, key=str.encode)
    chosen: list[list[tuple[int, float]] | None] = [None] * len(terms)
    result = -1.0
    for i, term in enumerate(terms):
        for positions in _entries(lexemes, ordered, term):
            chosen[i] = positions
            for k in range(i):
                earlier = chosen[k]
                if earlier is None:
                    continue
                for pos_l, weight_l in positions:
                    for pos_p, weight_p in earlier:
                        distance = abs(pos_l - pos_p)
                        if distance:
                            product = _f32(_f32(weight_l * weight_p) * _word_distance(distance))
                            current = _f32(math.sqrt(product))
                            if result < 0:
                                result = current
                            else:
                                result = _f32(1.0 - (1.0 - result) * (1.0 - current))
    return result


def python_rank(document: str, terms: Sequence[QueryTerm]) -> float:
    """ts_rank(search_vector, query) for the SQLite path, as the SQL ordering sees it: float4,
    cast to numeric (6 significant digits), rounded half away from zero to RANK_DIGITS."""
    lexemes = parse_document(document)
    if not lexemes or not terms:
        return 0.0
    ordered_terms = _sorted_terms(terms)
    rank = _rank_and(lexemes, ordered_terms) if len(terms) > 1 else _rank_or(lexemes, ordered_terms)
    if rank < 0:
        rank = _f32(1e-20)
    as_numeric = Decimal(f"{rank:.6g}")
    return float(as_numeric.quantize(Decimal(1).scaleb(-RANK_DIGITS), rounding=ROUND_HALF_UP))


def document_matches(document: str, terms: Sequence[QueryTerm]) -> bool:
    values = parse_document(document).keys()
    for term in terms:
        if term.prefix:
            if not any(v.startswith(term.token) for v in values):
                return False
        elif term.token not in values:
            return False
    return True
