"""Worker processes (``workers=N``, ``--workers N``) give exactly the single-process result."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from listings.cleaning import CleaningError, anonymize_file, io_formats

from .test_engine import HEADER, SECRET, _assert_clean, _rows, _write_csv

call_command = pytest.importorskip("django.core.management").call_command


@pytest.fixture
def small_batches(monkeypatch):
    """Small read batches, so a test file of a few hundred rows spans several of them (the
    workers only see the record batches the parent read, so patching the parent is enough)."""
    monkeypatch.setattr(io_formats, "CSV_BLOCK_SIZE", 16 << 10)
    monkeypatch.setattr(io_formats, "POOLED_CSV_BLOCK_SIZE", 16 << 10)
    monkeypatch.setattr(io_formats, "PARQUET_BATCH", 64)


def _report(report):
    data = report.to_dict()
    data.pop("seconds")
    return data


def _batches(path):
    return sum(
        1 for _ in io_formats.open_tables(str(path), io_formats.format_of(path))[0][0].batches()
    )


@pytest.mark.parametrize("ext", ["csv", "tsv"])
def test_workers_write_the_single_process_output_byte_for_byte(tmp_path, small_batches, ext):
    rows = _rows(600)
    src = tmp_path / f"in.{ext}"
    if ext == "csv":
        _write_csv(src, rows)
    else:
        src.write_text("\n".join("\t".join(r) for r in [HEADER, *rows]) + "\n", encoding="utf-8")
    assert _batches(src) >= 4
    reports = {}
    for workers in (1, 2, 3):
        dst = tmp_path / f"out{workers}.{ext}"
        reports[workers] = _report(anonymize_file(src, dst, secret=SECRET, workers=workers))
    one = (tmp_path / f"out1.{ext}").read_bytes()
    assert (tmp_path / f"out2.{ext}").read_bytes() == one
    assert (tmp_path / f"out3.{ext}").read_bytes() == one
    assert reports[2] == reports[1] and reports[3] == reports[1]
    _assert_clean(one.decode(), rows)
    # The counts gathered in the workers reached the report.
    by_name = {c["name"]: c for c in reports[2]["columns"]}
    assert by_name["备注"]["counts"]["findings"]["mobile"] == len(rows)
    assert by_name["身份证号"]["counts"]["changed_cells"] == len(rows)
    assert reports[2]["k_anonymity"][0]["records"] == len(rows)


def test_workers_on_parquet(tmp_path, small_batches):
    rows = _rows(300)
    table = pa.table({h: [r[i] for r in rows] for i, h in enumerate(HEADER)})
    table = table.set_column(2, "手机", pa.array([int(r[2]) for r in rows], pa.int64()))
    pq.write_table(table, tmp_path / "in.parquet")
    for workers in (1, 2):
        anonymize_file(
            tmp_path / "in.parquet",
            tmp_path / f"out{workers}.parquet",
            secret=SECRET,
            workers=workers,
        )
    single = pq.read_table(tmp_path / "out1.parquet")
    pooled = pq.read_table(tmp_path / "out2.parquet")
    assert pooled.equals(single)
    _assert_clean(json.dumps(pooled.to_pylist(), ensure_ascii=False), rows)


def test_an_error_while_workers_run_leaves_no_output(tmp_path, small_batches):
    rows = _rows(600)
    src = tmp_path / "in.csv"
    _write_csv(src, rows)
    with open(src, "a", encoding="utf-8") as f:
        f.write(f'"{rows[0][1]},unclosed\n')  # malformed only at the end, batches after the first
    with pytest.raises(CleaningError) as exc:
        anonymize_file(src, tmp_path / "out.csv", secret=SECRET, workers=2)
    assert rows[0][1] not in str(exc.value)
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "out.csv.part").exists()


@pytest.mark.parametrize("workers", [0, -1, True])
def test_workers_must_be_a_positive_whole_number(tmp_path, workers):
    src = tmp_path / "in.csv"
    _write_csv(src, _rows(5))
    with pytest.raises(CleaningError, match="workers"):
        anonymize_file(src, tmp_path / "out.csv", secret=SECRET, workers=workers)


def test_command_workers_option(tmp_path, small_batches):
    src = tmp_path / "in.csv"
    _write_csv(src, _rows(400))
    for workers in ("1", "2"):
        call_command(
            "anonymize",
            str(src),
            str(tmp_path / f"out{workers}.csv"),
            "--secret",
            SECRET.decode(),
            "--workers",
            workers,
        )
    assert (tmp_path / "out2.csv").read_bytes() == (tmp_path / "out1.csv").read_bytes()


def test_batch_size_changes_nothing(tmp_path, monkeypatch):
    """Profiling samples the first rows of the file whatever the batch size, so 16 KB batches
    (a first batch far smaller than the 2,000-row sample) classify and write exactly as one
    batch does."""
    rows = _rows(600)
    src = tmp_path / "in.csv"
    _write_csv(src, rows)
    whole = _report(anonymize_file(src, tmp_path / "whole.csv", secret=SECRET))
    monkeypatch.setattr(io_formats, "CSV_BLOCK_SIZE", 16 << 10)
    assert _batches(src) >= 4
    small = _report(anonymize_file(src, tmp_path / "small.csv", secret=SECRET))
    assert (tmp_path / "small.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert small == whole
