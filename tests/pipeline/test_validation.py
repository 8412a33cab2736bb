"""The adversarial corpus against the validator: each file refused with a clear reason, or
accepted when it is merely unusual (BOM, GBK)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import tracemalloc
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.utils import translation

from listings.pipeline import chunking
from listings.pipeline.validation import Limits, Rejection, split_extension, validate_file

HEADER = "患者编号,姓名,诊断,金额\n"


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """These tests read the refusals' English wording (outside a request the site speaks its
    default language, Chinese); test_refusals_in_chinese reads the other one."""


ROWS = "P001,张三,高血压,12.50\nP002,李四,糖尿病,-3\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    return path


def refused(path: Path, name: str, limits: Limits | None = None) -> Rejection:
    with pytest.raises(Rejection) as excinfo:
        validate_file(path, name, limits)
    return excinfo.value


def test_plain_utf8_csv_passes_with_its_shape(tmp_path: Path) -> None:
    result = validate_file(write(tmp_path, "a.csv", (HEADER + ROWS).encode()), "a.csv")
    assert (result.format, result.encoding, result.rows) == ("csv", "utf-8", 2)
    assert result.columns == ["患者编号", "姓名", "诊断", "金额"]


def test_utf8_bom_and_gbk_are_recognised(tmp_path: Path) -> None:
    bom = validate_file(
        write(tmp_path, "a.csv", b"\xef\xbb\xbf" + (HEADER + ROWS).encode()), "a.csv"
    )
    assert bom.encoding == "utf-8-sig" and bom.columns[0] == "患者编号"
    gbk = validate_file(write(tmp_path, "a.csv", (HEADER + ROWS).encode("gbk")), "a.csv")
    assert gbk.encoding == "gb18030" and gbk.columns[1] == "姓名"


def test_invalid_encoding_is_refused_with_the_offset(tmp_path: Path) -> None:
    data = (HEADER + ROWS).encode() + b"\x81\xff\xfe,\n"
    reason = refused(write(tmp_path, "a.csv", data), "a.csv")
    assert reason.code == "encoding" and "offset" in str(reason)


def test_utf16_is_refused_with_advice(tmp_path: Path) -> None:
    data = (HEADER + ROWS).encode("utf-16")
    assert "UTF-8" in str(refused(write(tmp_path, "a.csv", data), "a.csv"))


@pytest.mark.parametrize(
    ("magic", "kind"),
    [
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "ELF executable"),
        (b"MZ\x90\x00" + b"\x00" * 100, "Windows executable"),
        (b"%PDF-1.7\n", "PDF"),
    ],
)
def test_a_binary_renamed_csv_is_refused(tmp_path: Path, magic: bytes, kind: str) -> None:
    reason = refused(write(tmp_path, "data.csv", magic), "data.csv")
    assert reason.code == "bad_magic" and kind in reason.reason


def test_nul_bytes_are_refused_with_the_line(tmp_path: Path) -> None:
    data = (HEADER + ROWS).encode() + b"P003,\x00\x00,x,1\n"
    reason = refused(write(tmp_path, "a.csv", data), "a.csv")
    assert reason.code == "nul_byte" and reason.row == 4


def test_an_unclosed_quote_is_named(tmp_path: Path) -> None:
    data = (HEADER + 'P001,"张三,高血压,1\nP002,李四,糖尿病,2\n').encode()
    reason = refused(write(tmp_path, "a.csv", data), "a.csv")
    assert reason.code == "unclosed_quote" and reason.row == 2


def test_a_ragged_row_is_named(tmp_path: Path) -> None:
    data = (HEADER + ROWS + "P003,王五\n").encode()
    reason = refused(write(tmp_path, "a.csv", data), "a.csv")
    assert reason.code == "ragged_row" and reason.row == 4 and "2 fields" in reason.reason


def test_refusals_in_chinese(tmp_path: Path) -> None:
    # The pipeline validates in the uploader's language (tasks.uploaders_language).
    data = (HEADER + ROWS + "P003,王五\n").encode()
    with translation.override("zh-hans"):
        reason = refused(write(tmp_path, "a.csv", data), "a.csv")
        assert str(reason) == "有 2 个字段；表头有 4 个 (第 4 行)"
        exe = refused(write(tmp_path, "a.csv", b"MZ\x90\x00" + b"\x00" * 100), "a.csv")
        assert str(exe) == "文件名为 .csv，但内容是Windows 可执行文件"


def test_a_10mb_field_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    data = (HEADER + "P001,张三," + "x" * (10 * 1024 * 1024) + ",1\n").encode()
    path = write(tmp_path, "a.csv", data)
    tracemalloc.start()
    reason = refused(path, "a.csv")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert reason.code == "field_too_large" and reason.row == 2
    assert peak < 8 * 1024 * 1024


def test_100000_columns_are_refused(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(100_000)) + "\n"
    reason = refused(write(tmp_path, "a.csv", header.encode()), "a.csv")
    assert reason.code == "too_many_columns" and "100000 columns" in reason.reason


def test_duplicate_and_empty_headers_are_named(tmp_path: Path) -> None:
    dup = refused(write(tmp_path, "a.csv", b"a,b,a\n1,2,3\n"), "a.csv")
    assert dup.code == "bad_header" and dup.column == 3 and "column 1" in dup.reason
    empty = refused(write(tmp_path, "a.csv", b"a,,c\n1,2,3\n"), "a.csv")
    assert empty.code == "bad_header" and empty.column == 2


def test_reasons_never_quote_cell_contents(tmp_path: Path) -> None:
    secret = "110101199003071234"
    data = (HEADER + f'P001,"{secret},x\n').encode()
    assert secret not in str(refused(write(tmp_path, "a.csv", data), "a.csv"))


def test_formula_cells_pass_validation(tmp_path: Path) -> None:
    # Formula cells are data; they are neutralised on output, not refused here.
    data = (HEADER + 'P001,=HYPERLINK("http://x"),@SUM(A1),+1\n').encode()
    assert validate_file(write(tmp_path, "a.csv", data), "a.csv").rows == 1


def test_tsv_and_jsonl(tmp_path: Path) -> None:
    tsv = validate_file(write(tmp_path, "a.tsv", b"a\tb\n1\t2\n"), "a.tsv")
    assert tsv.columns == ["a", "b"] and tsv.rows == 1
    lines = "\n".join(json.dumps({"姓名": "张三", "age": i}, ensure_ascii=False) for i in range(3))
    jsonl = validate_file(write(tmp_path, "a.jsonl", lines.encode()), "a.jsonl")
    assert jsonl.columns == ["姓名", "age"] and jsonl.rows == 3
    bad = refused(write(tmp_path, "a.jsonl", b'{"a": 1}\n[1, 2]\n'), "a.jsonl")
    assert bad.code == "bad_json" and bad.row == 2


def test_parquet_passes_and_a_fake_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3], "b": ["x", "y", "z"]}), path)
    result = validate_file(path, "t.parquet")
    assert result.rows == 3 and result.columns == ["a", "b"]
    assert refused(write(tmp_path, "t.parquet", b"a,b\n1,2\n"), "t.parquet").code == "bad_magic"


def test_xlsx_passes(tmp_path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["姓名", "金额"])
    sheet.append(["张三", 1])
    path = tmp_path / "t.xlsx"
    workbook.save(path)
    result = validate_file(path, "t.xlsx")
    assert result.columns == ["姓名", "金额"] and result.rows == 1


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_with_one_csv_is_unpacked(tmp_path: Path) -> None:
    result = validate_file(
        write(tmp_path, "a.zip", zip_bytes({"d.csv": (HEADER + ROWS).encode()})), "a.zip"
    )
    try:
        assert result.format == "csv" and result.rows == 2 and result.archive == "zip"
        assert result.path.exists()
    finally:
        result.cleanup()
    assert not result.path.exists()


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = zip_bytes({"d.csv": b"a\n" + b"0" * (50 * 1024 * 1024)})
    reason = refused(write(tmp_path, "a.zip", bomb), "a.zip")
    assert reason.code == "zip_bomb"


def test_gzip_bomb_is_refused(tmp_path: Path) -> None:
    bomb = gzip.compress(b"a\n" + b"0" * (50 * 1024 * 1024))
    assert refused(write(tmp_path, "a.csv.gz", bomb), "a.csv.gz").code == "too_large"


def test_nested_archives_are_refused(tmp_path: Path) -> None:
    inner = zip_bytes({"d.csv": b"a\n1\n"})
    assert refused(write(tmp_path, "a.zip", zip_bytes({"in.zip": inner})), "a.zip").code == (
        "nested_archive"
    )
    double_gz = gzip.compress(gzip.compress(b"a\n1\n"))
    assert refused(write(tmp_path, "a.csv.gz", double_gz), "a.csv.gz").code == "nested_archive"


def test_zip_with_many_entries_is_refused(tmp_path: Path) -> None:
    many = zip_bytes({f"d{i}.csv": b"a\n1\n" for i in range(50)})
    assert "at most" in refused(write(tmp_path, "a.zip", many), "a.zip").reason


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../x.csv", ("csv", None)),
        ("..\\..\\windows\\x.TSV", ("tsv", None)),
        ("报告.jsonl", ("jsonl", None)),
        ("data.csv.gz", ("csv", "gz")),
    ],
)
def test_hostile_names_only_give_their_extension(name: str, expected: tuple) -> None:
    assert split_extension(name) == expected


@pytest.mark.parametrize("name", ["x.exe", "x", "x.csv.exe", "x.tar.gz"])
def test_unsupported_names_are_refused(name: str) -> None:
    with pytest.raises(Rejection):
        split_extension(name)


def test_limits_on_rows_and_size(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", (HEADER + ROWS * 3).encode())
    assert refused(path, "a.csv", Limits(max_rows=5)).code == "too_many_rows"
    assert refused(path, "a.csv", Limits(max_bytes=10)).code == "too_large"
    assert refused(write(tmp_path, "a.csv", b""), "a.csv").code == "empty"


def _tricky_rows(count: int) -> list[list[str]]:
    notes = ["", "多行\n备注", 'say "hi", then go', "x\r\ny", "=1+1", "普通"]
    return [["编号", "备注"]] + [[f"V{i:05d}", notes[i % len(notes)]] for i in range(count)]


@pytest.mark.parametrize(
    ("encoding", "bom", "terminator"),
    [("utf-8", b"", "\n"), ("utf-8", b"\xef\xbb\xbf", "\r\n"), ("gb18030", b"", "\r\n")],
    ids=["utf-8", "utf-8-bom-crlf", "gb18030"],
)
def test_split_points_are_record_boundaries(
    tmp_path: Path, encoding: str, bom: bytes, terminator: str
) -> None:
    # Each chunk is the header bytes plus its byte range: parsed alone, the chunks give back
    # every record once and in order, quoted line breaks included.
    rows = _tricky_rows(3000)
    out = io.StringIO()
    csv.writer(out, lineterminator=terminator).writerows(rows)
    data = bom + out.getvalue().encode(encoding)
    validated = validate_file(write(tmp_path, "a.csv", data), "a.csv", split_every=2000)
    assert validated.data_start == len(bom) and validated.splits[-1] == len(data)
    ranges = chunking.byte_ranges(validated.header_end, validated.splits)
    assert len(ranges) > 10
    header = data[validated.data_start : validated.header_end]
    records: list[list[str]] = []
    for start, end in ranges:
        text = (header + data[start:end]).decode(encoding)
        chunk = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        assert chunk[0] == rows[0]
        records.extend(chunk[1:])
    assert records == rows[1:]


def test_jsonl_split_points_fall_between_lines(tmp_path: Path) -> None:
    lines = [json.dumps({"编号": i, "备注": "多\n行"}, ensure_ascii=False) for i in range(500)]
    data = ("\n".join(lines) + "\n").encode()
    validated = validate_file(write(tmp_path, "a.jsonl", data), "a.jsonl", split_every=1000)
    parts = [data[a:b] for a, b in chunking.byte_ranges(validated.header_end, validated.splits)]
    assert len(parts) > 5 and all(p.endswith(b"\n") for p in parts)
    assert b"".join(parts) == data
