import csv
import json
import random

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from listings.cleaning import ENGINE_VERSION, CleaningError, anonymize_file

from .synth import bad_check_id, bank_card, mobile, resident_id

SECRET = b"test-secret-0123456789"
HEADER = ["姓名", "身份证号", "手机", "银行卡号", "出生日期", "性别", "备注", "订单号", "金额"]


def _rows(n=60, seed=5):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        name = rng.choice(["张伟", "王芳", "李娜", "刘洋"])
        phone = mobile(rng)
        rows.append(
            [
                name,
                resident_id(rng),
                phone,
                bank_card(rng),
                f"19{80 + i % 3}-05-0{i % 9 + 1}",
                "男" if i % 2 else "女",
                f"{name}来电，回拨{phone}，客户很高兴",
                bad_check_id(rng),
                "-12.5" if i else "=HYPERLINK(1)",
            ]
        )
    return rows


def _write_csv(path, rows, encoding="utf-8"):
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(rows)


def _assert_clean(text, rows):
    for r in rows:
        for value in r[:4]:
            assert value not in text
        assert r[7] in text  # order numbers survive


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_round_trip_and_encodings(tmp_path, encoding):
    rows = _rows()
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_csv(src, rows, encoding)
    report = anonymize_file(src, dst, secret=SECRET).to_dict()
    text = dst.read_text(encoding="utf-8-sig")
    _assert_clean(text, rows)
    assert "-12.5" in text and "'=HYPERLINK(1)" in text
    assert report["engine_version"] == ENGINE_VERSION
    assert report["input"]["encoding"] == ("gb18030" if encoding.startswith("gb") else "utf-8")
    by_name = {c["name"]: c for c in report["columns"]}
    assert by_name["身份证号"]["classification"] == "identifier"
    assert by_name["备注"]["counts"]["findings"]["mobile"] == len(rows)
    assert report["k_anonymity"][0]["target_k"] == 5
    json.dumps(report, ensure_ascii=False)  # JSON-serialisable
    assert SECRET.decode() not in json.dumps(report)


def test_pseudonyms_join_across_files(tmp_path):
    rows = _rows()
    for name in ("a", "b"):
        _write_csv(tmp_path / f"{name}.csv", rows)
        anonymize_file(tmp_path / f"{name}.csv", tmp_path / f"{name}_out.csv", secret=SECRET)
    assert (tmp_path / "a_out.csv").read_text() == (tmp_path / "b_out.csv").read_text()
    anonymize_file(tmp_path / "a.csv", tmp_path / "c_out.csv", secret=b"another-secret-123456")
    assert (tmp_path / "a_out.csv").read_text() != (tmp_path / "c_out.csv").read_text()


def test_tsv_jsonl_parquet_xlsx(tmp_path):
    rows = _rows(30)
    with open(tmp_path / "in.tsv", "w", encoding="utf-8") as f:
        f.write("\t".join(HEADER) + "\n" + "\n".join("\t".join(r) for r in rows) + "\n")
    with open(tmp_path / "in.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            d = dict(zip(HEADER, r, strict=True))
            d["手机"] = int(d["手机"])  # numbers stored as numbers are still phones
            d["extra"] = {"联系人": r[0], "电话": r[2]}
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    table = pa.table({h: [r[i] for r in rows] for i, h in enumerate(HEADER)})
    table = table.set_column(2, "手机", pa.array([int(r[2]) for r in rows], pa.int64()))
    pq.write_table(table, tmp_path / "in.parquet")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append([*r[:2], int(r[2]), *r[3:]])
    wb.save(tmp_path / "in.xlsx")
    for ext in ("tsv", "jsonl", "parquet", "xlsx"):
        anonymize_file(tmp_path / f"in.{ext}", tmp_path / f"out.{ext}", secret=SECRET)
    _assert_clean((tmp_path / "out.tsv").read_text(), rows)
    _assert_clean((tmp_path / "out.jsonl").read_text(), rows)
    first = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])
    assert isinstance(first["extra"], dict)
    out = pq.read_table(tmp_path / "out.parquet").to_pylist()
    _assert_clean(json.dumps(out, ensure_ascii=False), rows)
    assert out[1]["金额"] == "-12.5"
    ws = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    cells = [str(c.value) for row in ws.iter_rows() for c in row]
    _assert_clean("\n".join(cells), rows)
    # The formula cell of the input arrives as its cached value; no output cell is a formula.
    assert not any(c.startswith("=") for c in cells)
    assert "-12.5" in cells


def test_errors_never_contain_cell_values(tmp_path):
    rows = _rows(5)
    src = tmp_path / "in.csv"
    _write_csv(src, rows)
    with open(src, "a", encoding="utf-8") as f:
        f.write(f'"{rows[0][1]},unclosed\n')
    with pytest.raises(CleaningError) as exc:
        anonymize_file(src, tmp_path / "out.csv", secret=SECRET)
    assert rows[0][1] not in str(exc.value)
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "out.csv.part").exists()
    with pytest.raises(CleaningError, match="16 bytes"):
        anonymize_file(src, tmp_path / "out.csv", secret=b"short")
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(CleaningError, match="NUL"):
        anonymize_file(tmp_path / "bin.csv", tmp_path / "o.csv", secret=SECRET)
    with pytest.raises(CleaningError, match="same format"):
        anonymize_file(src, tmp_path / "out.parquet", secret=SECRET)


def test_progress_and_drop_policy(tmp_path):
    rows = _rows(20)
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_csv(src, rows)
    calls = []
    anonymize_file(
        src,
        dst,
        secret=SECRET,
        policy={"columns": {"银行卡号": {"transform": "drop"}}},
        progress=lambda r, b: calls.append((r, b)),
    )
    assert calls and calls[-1][0] == 20
    assert "银行卡号" not in dst.read_text().splitlines()[0]


def test_jsonl_keys_first_seen_after_the_first_batch_are_classified_and_written(tmp_path):
    """Keys that appear only late in a JSON Lines file must reach the buyer, transformed."""
    rng = random.Random(21)
    n = 12_000  # more than two reader batches
    late_from = 7_000
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    late_phones, late_ids = [], []
    with open(src, "w", encoding="utf-8") as f:
        for i in range(n):
            row = {"编号": i, "金额": f"{i % 97}.5"}
            if i >= late_from:
                late_phones.append(mobile(rng))
                late_ids.append(resident_id(rng))
                row["联系电话"] = late_phones[-1]
                row["身份证号"] = late_ids[-1]
                row["备注"] = f"客户来电，回拨{late_phones[-1]}，很高兴"
                row["城市"] = "杭州市"
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    report = anonymize_file(
        src, dst, secret=SECRET, policy={"columns": {"城市": {"transform": "drop"}}}
    ).to_dict()
    out = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    assert len(out) == n
    assert set(out[0]) == {"编号", "金额"}  # rows keep their own keys
    late = out[late_from:]
    assert all({"编号", "金额", "联系电话", "身份证号", "备注"} == set(r) for r in late)
    text = dst.read_text(encoding="utf-8")
    assert not any(p in text for p in late_phones) and not any(x in text for x in late_ids)
    assert all(r["联系电话"].startswith("mobile_") for r in late)
    assert all("[手机号]" in r["备注"] and "很高兴" in r["备注"] for r in late)
    assert out[5]["金额"] == "5.5"
    by_name = {c["name"]: c for c in report["columns"]}
    assert by_name["联系电话"]["classification"] == "identifier"
    assert by_name["身份证号"]["type"] == "id_card"
    assert by_name["城市"]["transform"] == "drop" and "城市" not in text
