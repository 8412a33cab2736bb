"""The anonymisation engine ("compliant cleaning"): pure Python, no Django.

Stable public API (used by the upload pipeline, the ``anonymize`` management command and the bench):

``anonymize_file(input_path, output_path, *, fmt=None, policy=None, secret: bytes, progress=None,
workers=1)``
    Read CSV/TSV/JSON Lines/Parquet/XLSX in batches (bounded memory), classify every column,
    transform
    identifiers, redact free text, enforce k-anonymity on quasi-identifiers, write the same format
    (text as UTF-8) and return a :class:`Report` (``report.to_dict()`` is JSON-serialisable).
    ``fmt`` defaults to the input's extension; ``policy`` is a :class:`Policy`, a dict or a JSON
    path;
    ``secret`` keys the HMAC-SHA256 pseudonyms (>= 16 bytes, one per dataset, keep it private);
    ``progress(rows_done, bytes_done)`` is called after each batch.  ``workers`` > 1 transforms
    CSV/TSV/Parquet batches in that many worker processes, with the same output (the command line
    uses one per CPU, at most 2; keep 1 inside Celery tasks, which are parallel already).

``profile_columns(columns, samples, policy=None) -> list[ColumnProfile]``
    Classification of columns from their headers and sampled cell strings.

``load_policy(dict | path | None) -> Policy``
    The default policy updated with the seller's adjustments (validated).

``redact_text(text) -> str`` and ``scan_text(text) -> list[Finding]``
    The free-text scanner on its own.

``neutralize_formula(value) -> str`` / ``neutralize_formula_array(arr)``
    Formula-injection neutraliser used by every CSV/XLSX writer: a cell starting with = + - @ (ASCII
    or full-width), tab or CR gets a leading apostrophe unless it is a plain number such as -12.5.

``CleaningError``
    Raised for bad input, policy or secret; its message never contains cell values or the secret.

``ENGINE_VERSION``
    Recorded in every report.
"""

from .detectors import TAGS, Finding
from .detectors import redact as redact_text
from .detectors import scan as scan_text
from .engine import anonymize_file
from .errors import CleaningError
from .policy import DEFAULT_POLICY, Policy, load_policy
from .profiling import ColumnProfile, profile_columns
from .report import Report
from .transforms import Pseudonymizer, neutralize_formula, neutralize_formula_array
from .version import ENGINE_VERSION

__all__ = [
    "DEFAULT_POLICY",
    "ENGINE_VERSION",
    "TAGS",
    "CleaningError",
    "ColumnProfile",
    "Finding",
    "Policy",
    "Pseudonymizer",
    "Report",
    "anonymize_file",
    "load_policy",
    "neutralize_formula",
    "neutralize_formula_array",
    "profile_columns",
    "redact_text",
    "scan_text",
]
