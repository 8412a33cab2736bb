from collections.abc import Iterable, Sequence
from typing import Any

def configure(
    tags: Sequence[str],
    cues_before: Sequence[str],
    cues_after: Sequence[str],
    compound_surnames: Sequence[str],
    single_surnames: str,
    common_words: Sequence[str],
    name_stop_chars: str,
    not_given_chars: str,
    shift_chars: str,
    plate_provinces: str,
    addr_stop: str,
    province_codes: Iterable[int],
) -> None: ...
def redact_text(text: str) -> tuple[str, tuple[int, ...]]: ...
def redact_array(
    offsets: Any, data: Any, offset: int, length: int
) -> tuple[bytes, bytes, tuple[int, ...]]: ...
def redact_known(
    offsets: Any,
    data: Any,
    offset: int,
    length: int,
    columns: Sequence[tuple[Any, Any, int]],
    tag: bytes,
) -> tuple[bytes, bytes, int]: ...
def starts_with_any(
    offsets: Any, data: Any, offset: int, length: int, prefixes: tuple[bytes, ...]
) -> bool: ...
