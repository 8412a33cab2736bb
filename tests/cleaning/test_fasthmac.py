"""The C HMAC accelerator (listings/cleaning/_fasthmac.c) against its pure-Python reference."""

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# _fasthmac imported at module level on purpose: without the extension this suite fails to collect
# instead of silently comparing the Python fallback with itself.
from listings.cleaning import _fasthmac, transforms
from listings.cleaning.transforms import Pseudonymizer, canonical

SECRETS = [b"", b"k" * 32, b"s" * 64, bytes(range(65)), b"long secret " * 20]
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("0123456789中文张三欧阳娜娜😀🇨🇳"),
    ),
    max_size=80,
)


def test_extension_is_the_one_in_use():
    assert transforms._fasthmac is _fasthmac


def _both(pseudo: Pseudonymizer, kind: str, arr: pa.Array) -> tuple[pa.Array, pa.Array]:
    fast = pseudo.token_array(kind, arr)
    slow = pseudo._token_array_python(kind, arr)
    assert fast.type == pa.string()
    fast.validate(full=True)
    return fast, slow


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(TEXT, max_size=40),
    secret=st.sampled_from(SECRETS) | st.binary(max_size=200),
    kind=st.sampled_from(["mobile", "name", "email", "地址", ""]),
    cut=st.tuples(st.integers(0, 40), st.integers(0, 40)),
)
def test_matches_python_reference(values, secret, kind, cut):
    pseudo = Pseudonymizer(secret)
    arr = pa.array(values, pa.string())
    fast, slow = _both(pseudo, kind, arr)
    assert fast.equals(slow)
    # Slices have a non-zero offset into the same buffers.
    start, n = cut
    part = arr.slice(start, n)
    fast, slow = _both(pseudo, kind, part)
    assert fast.equals(slow)
    assert fast.to_pylist() == pseudo.tokens(kind, part.to_pylist())


@pytest.mark.parametrize("secret", SECRETS)
def test_matches_token_for_canonical_values(secret):
    pseudo = Pseudonymizer(secret)
    cases = {
        "mobile": ["13812345678", "+86 138-1234-5678", "15900000000"],
        "id_card": ["11010519491231002X", "110105194912310021"],
        "email": ["ZhangSan@163.com", "a@b.cn"],
        "name": ["欧阳娜娜", "张三", ""],
        "plate": ["京A·12345", "粤B 8888"],
    }
    for kind, raw in cases.items():
        values = [canonical(kind, r) for r in raw]
        fast = pseudo.token_array(kind, pa.array(values, pa.string()))
        assert fast.to_pylist() == [pseudo.token(kind, r) for r in raw]


def test_edge_shapes():
    pseudo = Pseudonymizer(b"k" * 32)
    for values in ([], [""], ["", "", ""], ["x" * 10_000, "", "y"]):
        arr = pa.array(values, pa.string())
        fast, slow = _both(pseudo, "name", arr)
        assert fast.equals(slow)
        for start in range(len(values) + 1):
            fast, slow = _both(pseudo, "name", arr.slice(start))
            assert fast.equals(slow)


def _call(offsets: bytes, data: bytes | None, offset: int, length: int) -> tuple[bytes, bytes]:
    pseudo = Pseudonymizer(b"k" * 32)
    return _fasthmac.tokens(
        pseudo._inner_block, pseudo._outer_block, b"name\0", b"name_", offsets, data, offset, length
    )


def _int32(*xs: int) -> bytes:
    return pa.array(xs, pa.int32()).buffers()[1].to_pybytes()


@pytest.mark.parametrize(
    ("offsets", "data", "offset", "length"),
    [
        (_int32(0, 5), b"abc", 0, 1),  # end past the data
        (_int32(0, 1), None, 0, 1),  # no data at all
        (_int32(2, 1), b"abc", 0, 1),  # decreasing
        (_int32(-1, 1), b"abc", 0, 1),  # negative start
        (_int32(0, 1), b"abc", 0, 2),  # offsets buffer too short for length
        (_int32(0, 1), b"abc", 1, 1),  # ... or for offset
        (_int32(0, 1), b"abc", -1, 1),
        (_int32(0, 1), b"abc", 0, -1),
        (_int32(0, 1), b"abc", 2**62, 1),  # offset * 4 would overflow
        (b"\0\0\0", b"abc", 0, 0),  # not even one offset
    ],
)
def test_bad_buffers_raise_value_error(offsets, data, offset, length):
    with pytest.raises(ValueError):
        _call(offsets, data, offset, length)


def test_bad_arguments():
    with pytest.raises(ValueError):
        _fasthmac.tokens(b"short", b"x" * 64, b"", b"", _int32(0), None, 0, 0)
    with pytest.raises(TypeError):
        _fasthmac.tokens(b"x" * 64, b"x" * 64, b"", b"", 12, None, 0, 0)
    with pytest.raises(OverflowError):
        _call(_int32(0), None, 0, 2**31)
    # Valid raw call: three values, the middle one empty.
    offs, data = _call(_int32(0, 1, 1, 3), b"abc", 0, 3)
    assert _int32(0, 21, 42, 63) == offs and len(data) == 63
