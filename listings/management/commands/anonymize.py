"""``python manage.py anonymize INPUT OUTPUT [--report REPORT.json] [--policy POLICY.json]
[--secret SECRET] [--workers N]``: a thin wrapper over :func:`listings.cleaning.anonymize_file`.

The format comes from the extension (.csv .tsv .jsonl .parquet .xlsx).  Without ``--secret`` the
secret is read from the ``ANONYMIZE_SECRET`` environment variable, or a random one is generated for
this run (pseudonyms then cannot be joined with another run; the secret is never printed).
CSV, TSV and Parquet batches are transformed by ``--workers`` processes (default: one per CPU, at
most 2, for memory; 1 keeps everything in this process); the output is the same whatever the number.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from listings.cleaning import CleaningError, anonymize_file
from listings.cleaning.parallel import default_workers


class Command(BaseCommand):
    help = "Anonymise a CSV/TSV/JSONL/Parquet/XLSX file (compliant cleaning) and write a report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("input")
        parser.add_argument("output")
        parser.add_argument("--report", help="where to write the JSON report")
        parser.add_argument("--policy", help="JSON policy file adjusting the default policy")
        parser.add_argument("--secret", help="per-dataset pseudonymisation secret (>= 16 bytes)")
        parser.add_argument(
            "--workers",
            type=int,
            default=default_workers(),
            help=(
                "worker processes for CSV/TSV/Parquet (1: none, the default when the C scanner is "
                "built; otherwise one per CPU, at most 2)"
            ),
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        secret_text = opts.get("secret") or os.environ.get("ANONYMIZE_SECRET")
        secret = secret_text.encode() if secret_text else secrets.token_bytes(32)
        try:
            report = anonymize_file(
                opts["input"],
                opts["output"],
                policy=opts.get("policy"),
                secret=secret,
                workers=opts["workers"],
            )
        except CleaningError as exc:
            raise CommandError(str(exc)) from None
        data = report.to_dict()
        if opts.get("report"):
            Path(opts["report"]).write_text(
                json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8"
            )
        findings = ", ".join(f"{k}={n}" for k, n in data["free_text_findings"].items()) or "none"
        identifiers = sum(1 for c in data["columns"] if c["classification"] == "identifier")
        self.stdout.write(
            f"{data['rows']} rows, {identifiers} identifier columns, free-text findings: "
            f"{findings}, {data['seconds']:.1f}s"
        )
