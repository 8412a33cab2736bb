import json

import pytest

from .test_engine import SECRET, _rows, _write_csv

call_command = pytest.importorskip("django.core.management").call_command


def test_anonymize_command_writes_output_and_report(tmp_path):
    rows = _rows(10)
    src, dst, rep = tmp_path / "in.csv", tmp_path / "out.csv", tmp_path / "report.json"
    _write_csv(src, rows)
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"k_anonymity": {"k": 2}}))
    call_command(
        "anonymize",
        str(src),
        str(dst),
        "--report",
        str(rep),
        "--policy",
        str(policy),
        "--secret",
        SECRET.decode(),
    )
    report = json.loads(rep.read_text(encoding="utf-8"))
    assert report["policy"]["k_anonymity"]["k"] == 2 and report["rows"] == 10
    assert rows[0][1] not in dst.read_text(encoding="utf-8")


def test_anonymize_command_reports_bad_input_cleanly(tmp_path):
    from django.core.management.base import CommandError

    (tmp_path / "x.doc").write_text("hello")
    with pytest.raises(CommandError, match="unsupported file extension"):
        call_command(
            "anonymize",
            str(tmp_path / "x.doc"),
            str(tmp_path / "y.doc"),
            "--secret",
            SECRET.decode(),
        )
