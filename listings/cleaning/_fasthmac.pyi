from typing import Any

# Built from _fasthmac.c (setup.py). offsets/data are buffer-protocol objects (pyarrow Buffers);
# data may be None when every string is empty.
def tokens(
    inner: bytes,
    outer: bytes,
    prefix: bytes,
    kind_prefix: bytes,
    offsets: Any,
    data: Any,
    offset: int,
    length: int,
    /,
) -> tuple[bytes, bytes]: ...
