"""The pipeline's stages. Called by the thin tasks in tasks.py; each stage is safe to rerun.

prepare(upload)        validate (noting record boundaries) → profile (pin column classes) →
                       plan chunks as byte ranges of the stored upload
clean_chunk(upload, i) read its byte range → anonymise with the pinned policy → fixed output key
publish(upload)        join the outputs in order (on the store's side when it can) → PUBLISHED
                       under a key derived from the version and the engine version → record the
                       version's files, schema, sample, report

Idempotence: every output has a fixed key, and each stage first looks for its result (the plan,
ChunkResult rows, a published version), so a redelivered task redoes only what is missing. A
failure ends the upload as rejected (the file's fault) or failed (ours) and publishes nothing:
the published object appears whole or not at all (one PUT or one completed multipart copy), and
is removed again if the database could not record it.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from exchange.storage import Area, ObjectChanged, ObjectNotFound, get_storage
from listings.cleaning import ENGINE_VERSION, anonymize_file, load_policy
from listings.models import ListingVersion
from listings.pipeline import chunking, conf, services
from listings.pipeline.models import ChunkResult, Upload
from listings.pipeline.validation import Rejection, ValidatedFile, validate_file

logger = logging.getLogger(__name__)

MEDIA_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "jsonl": "application/jsonl",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
PROFILE_SAMPLE_ROWS = 2000
SAMPLE_HEAD_BYTES = 4 * 1024 * 1024


def data_key(upload: Upload, fmt: str) -> str:
    """Where the data file extracted from an archive upload is kept for the chunk tasks."""
    return f"work/{upload.pk}/data.{fmt}"


def output_key(upload: Upload, index: int, fmt: str) -> str:
    return f"work/{upload.pk}/{ENGINE_VERSION}/out-{index:05d}.{fmt}"


def published_key(upload: Upload, fmt: str) -> str:
    version = upload.version
    return (
        f"datasets/{version.listing_id}/v{version.number}/{ENGINE_VERSION}/"
        f"{services.safe_filename(upload, fmt)}"
    )


@contextmanager
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pipeline-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _upload(area: Area, key: str, source: Path, content_type: str | None = None) -> Any:
    with open(source, "rb") as f:
        return get_storage().put_stream(area, key, f, content_type)


def pinned_policy(upload: Upload, sample_path: Path, fmt: str, secret: bytes, tmp: Path) -> dict:
    """Profile a head sample once and pin every column's class and type into the policy, so
    every chunk cleans the same columns the same way whatever its own values look like."""
    out = tmp / f"profile-out.{fmt}"
    report = anonymize_file(
        str(sample_path), str(out), fmt=fmt, policy=upload.policy, secret=secret
    ).to_dict()
    policy = load_policy(upload.policy).raw
    pinned = dict(policy.get("columns") or {})
    for column in report["columns"]:
        name = column["name"]
        spec = dict(pinned.get(name) or {})
        spec.setdefault("class", column["classification"])
        if column.get("type"):
            spec.setdefault("type", column["type"])
        pinned[name] = spec
    policy["columns"] = pinned
    return policy


def _head_sample(data: Path, fmt: str, encoding: str, target: Path) -> None:
    """The first PROFILE_SAMPLE_ROWS records of the validated text file, as UTF-8."""
    with (
        open(data, encoding=encoding, newline="") as source,
        open(target, "w", encoding="utf-8", newline="") as out,
    ):
        if fmt == "jsonl":
            for count, line in enumerate(source):
                if count >= PROFILE_SAMPLE_ROWS:
                    break
                out.write(line)
            return
        import csv

        delimiter = "\t" if fmt == "tsv" else ","
        reader = csv.reader(source, delimiter=delimiter)
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        for count, row in enumerate(reader):
            if count > PROFILE_SAMPLE_ROWS:
                break
            writer.writerow(row)


def _download_pinned(key: str, target: Path) -> str:
    """Download the raw upload and return the ETag of exactly the bytes downloaded."""
    stat = get_storage().stat(Area.QUARANTINE, key)
    with _pinned_range(key, stat.etag, 0, stat.size) as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out, 1024 * 1024)
    return stat.etag


@contextmanager
def _pinned_range(key: str, etag: str, start: int, length: int) -> Iterator[BinaryIO]:
    """A byte range of a quarantine object, refused if the object is no longer the one
    validated: a seller whose upload link is still valid could otherwise replace the file after
    it was checked, and chunks would clean bytes nobody validated."""
    try:
        with get_storage().open_range(Area.QUARANTINE, key, start, length, if_match=etag) as source:
            yield source
    except ObjectChanged:
        raise Rejection(
            _("the file was replaced in storage while it was being processed; upload it again"),
            code="changed",
        ) from None


def _source_plan(upload: Upload, validated: ValidatedFile, raw_etag: str) -> dict[str, Any]:
    """Where each chunk's bytes are: the stored upload itself (or, for an archive, its data file
    stored once) and byte ranges of it, pinned to the ETag of what was validated. No chunk is
    written out here: each chunk task reads its own range, so the work before the chord is one
    pass over the file."""
    fmt = validated.format
    if validated.archive:
        key = data_key(upload, fmt)
        etag = _upload(Area.QUARANTINE, key, validated.path).etag
    else:
        key, etag = upload.quarantine_key, raw_etag
    size = validated.path.stat().st_size
    if fmt in chunking.SPLITTABLE and validated.splits:
        header = [validated.data_start, validated.header_end]
        ranges = chunking.byte_ranges(validated.header_end, validated.splits)
    elif fmt in chunking.SPLITTABLE:
        # The boundaries could not be worked out (see validation): one chunk, still correct.
        logger.warning("upload %s: no record boundaries; cleaning it as one chunk", upload.pk)
        header = [validated.data_start, validated.data_start]
        ranges = [(validated.data_start, size)]
    else:
        header = [0, 0]
        ranges = [(0, size)]
    return {"key": key, "etag": etag, "header": header, "ranges": [list(r) for r in ranges]}


def prepare(upload: Upload) -> int:
    """Validate, profile and plan the chunks. Returns the number of chunks.

    A rerun after a crash finds the plan of the first run (and its source object) and returns at
    once. Raises validation.Rejection for a bad file."""
    storage = get_storage()
    if (
        upload.chunks_total
        and upload.plan
        and "source" in upload.plan
        and storage.exists(Area.QUARANTINE, upload.plan["source"]["key"])
    ):
        return upload.chunks_total
    secret = services.dataset_secret(upload.version)
    with workdir() as tmp:
        raw = tmp / "raw"
        services.set_stage(str(upload.pk), Upload.Stage.VALIDATE, 0.1)
        raw_etag = _download_pinned(upload.quarantine_key, raw)
        filename = upload.display_name
        validated = validate_file(raw, filename, conf.limits(), split_every=conf.chunk_bytes())
        try:
            fmt = validated.format
            services.set_stage(str(upload.pk), Upload.Stage.PROFILE, 0.0)
            if fmt in chunking.SPLITTABLE:
                sample = tmp / f"sample.{fmt}"
                _head_sample(validated.path, fmt, validated.encoding or "utf-8", sample)
                policy = pinned_policy(upload, sample, fmt, secret, tmp)
            else:
                policy = load_policy(upload.policy).raw
            source = _source_plan(upload, validated, raw_etag)
        finally:
            validated.cleanup()
    plan = {
        "format": fmt,
        "encoding": validated.encoding,
        "columns": validated.columns,
        "rows": validated.rows,
        "archive": validated.archive,
        "policy": policy,
        "source": source,
    }
    count = len(source["ranges"])
    Upload.objects.filter(pk=upload.pk).update(plan=plan, chunks_total=count)
    upload.plan, upload.chunks_total = plan, count
    services.set_stage(str(upload.pk), Upload.Stage.ANONYMISE, 0.0)
    return count


def _plan(upload: Upload) -> dict[str, Any]:
    if not upload.plan:
        raise RuntimeError("the upload has no processing plan yet")
    return upload.plan


def clean_chunk(upload: Upload, index: int) -> dict[str, Any]:
    """Anonymise one chunk. The ChunkResult row is the proof of completion: a rerun returns it."""
    plan = _plan(upload)
    done = ChunkResult.objects.filter(upload=upload, index=index).first()
    if done is not None:
        return done.report
    fmt = plan["format"]
    secret = services.dataset_secret(upload.version)
    with workdir() as tmp:
        source = tmp / f"in.{fmt}"
        target = tmp / f"out.{fmt}"
        _fetch_chunk(plan, index, source)
        report = anonymize_file(
            str(source), str(target), fmt=fmt, policy=plan["policy"], secret=secret
        ).to_dict()
        key = output_key(upload, index, fmt)
        _upload_output(key, target, fmt, first=index == 0)
    # A duplicate delivery may have finished first, with the same fixed output key.
    with suppress(IntegrityError):
        ChunkResult.objects.create(
            upload=upload, index=index, output_key=key, rows=report["rows"], report=report
        )
    finished = ChunkResult.objects.filter(upload=upload).count()
    services.set_stage(str(upload.pk), Upload.Stage.ANONYMISE, finished / upload.chunks_total)
    return report


def _fetch_chunk(plan: dict[str, Any], index: int, target: Path) -> None:
    """The chunk's byte range of the stored upload, after its header record, as a local file."""
    source = plan["source"]
    key, etag = source["key"], source["etag"]
    header_start, header_end = source["header"]
    start, end = source["ranges"][index]
    with _pinned_range(key, etag, header_start, header_end - header_start) as header:
        header_bytes = header.read()
    with _pinned_range(key, etag, start, end - start) as body:
        chunking.write_chunk(header_bytes, body, plan.get("encoding"), target)


def _upload_output(key: str, path: Path, fmt: str, *, first: bool) -> None:
    """Store a cleaned chunk so that the outputs, joined in order, are the published file: text
    ends with a newline, and CSV/TSV outputs after the first leave out their header record."""
    if fmt in chunking.SPLITTABLE and path.stat().st_size:
        with open(path, "rb+") as f:
            f.seek(-1, 2)
            if f.read(1) != b"\n":
                f.write(b"\n")
    skip = 0 if first or fmt not in ("csv", "tsv") else chunking.header_length(path, fmt)
    with open(path, "rb") as f:
        f.seek(skip)
        get_storage().put_stream(Area.QUARANTINE, key, f, MEDIA_TYPES.get(fmt))


def merge_reports(reports: list[dict[str, Any]], plan: dict[str, Any]) -> dict[str, Any]:
    """One report for the file from its chunks' reports: counts added up per column."""
    if not reports:
        return {}
    merged = json.loads(json.dumps(reports[0]))
    merged["rows"] = sum(r.get("rows", 0) for r in reports)
    merged["seconds"] = round(sum(r.get("seconds", 0) for r in reports), 3)
    findings: Counter[str] = Counter()
    for r in reports:
        findings.update(r.get("free_text_findings") or {})
    merged["free_text_findings"] = dict(sorted(findings.items()))
    by_name = {c["name"]: c for c in merged.get("columns", [])}
    for r in reports[1:]:
        for column in r.get("columns", []):
            target = by_name.get(column["name"])
            if target is None:
                continue
            counts, extra = target.setdefault("counts", {}), column.get("counts", {})
            for key in ("non_empty_cells", "changed_cells"):
                counts[key] = counts.get(key, 0) + extra.get(key, 0)
            if extra.get("findings"):
                total = Counter(counts.get("findings") or {})
                total.update(extra["findings"])
                counts["findings"] = dict(sorted(total.items()))
    # k-anonymity is enforced chunk by chunk (a group small in one chunk is treated as small even
    # if other chunks hold more of it): conservative, never weaker than the whole-file figure.
    merged["k_anonymity"] = [k for r in reports for k in r.get("k_anonymity", [])]
    merged["chunks"] = len(reports)
    merged["input"] = {
        "format": plan["format"],
        "encoding": plan.get("encoding"),
        "archive": plan.get("archive"),
        "rows": plan.get("rows"),
    }
    merged.pop("output", None)
    return merged


def publish(upload: Upload) -> ListingVersion:
    """Merge the chunk outputs in order, write the published object, record the version."""
    from listings.services import PublishedFile, mark_version_published

    version = ListingVersion.objects.get(pk=upload.version_id)
    if version.pipeline_status == ListingVersion.PipelineStatus.PUBLISHED:
        return version
    plan = _plan(upload)
    fmt = plan["format"]
    results = list(ChunkResult.objects.filter(upload=upload).order_by("index"))
    if len(results) != upload.chunks_total:
        raise RuntimeError("publish ran before every chunk was cleaned")
    services.set_stage(str(upload.pk), Upload.Stage.PUBLISH, 0.0)
    key = published_key(upload, fmt)
    keys = [result.output_key for result in results]
    columns, sample = _published_sample(keys, fmt)
    # The outputs are written to be joined as they are (see _upload_output); the store joins
    # them on its side when it can, and the object appears whole or not at all.
    info = get_storage().compose(Area.QUARANTINE, keys, Area.PUBLISHED, key, MEDIA_TYPES.get(fmt))
    report = merge_reports([r.report for r in results], plan)
    schema = chunking.table_schema(columns, sample, report.get("columns", []))
    try:
        published = mark_version_published(
            version,
            files=[
                PublishedFile(
                    name=key.rsplit("/", 1)[-1],
                    format=fmt,
                    size=info.size,
                    sha256=info.sha256,
                    storage_key=key,
                    media_type=MEDIA_TYPES.get(fmt, ""),
                    row_count=report.get("rows"),
                )
            ],
            table_schema=schema,
            row_count=int(report.get("rows") or 0),
            sample_rows=sample,
            cleaning_report=report,
            engine_version=ENGINE_VERSION,
        )
    except Exception:
        # Never leave a published object the database does not know about.
        get_storage().delete(Area.PUBLISHED, key)
        raise
    Upload.objects.filter(pk=upload.pk).update(report=report)
    return published


def _published_sample(keys: list[str], fmt: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and sample rows from the head of the joined outputs: only the first outputs,
    as many as make SAMPLE_HEAD_BYTES, are downloaded."""
    storage = get_storage()
    with workdir() as tmp:
        head = tmp / f"head.{fmt}"
        with open(head, "wb") as out:
            for key in keys:
                with storage.open_read(Area.QUARANTINE, key) as source:
                    shutil.copyfileobj(source, out, 1024 * 1024)
                if out.tell() >= SAMPLE_HEAD_BYTES:
                    break
        return chunking.read_sample(head, fmt)


def discard_outputs(upload: Upload) -> None:
    """After a failure: remove work objects and any published object of this upload."""
    storage = get_storage()
    for key in list(storage.list_keys(Area.QUARANTINE, f"work/{upload.pk}/")):
        storage.delete(Area.QUARANTINE, key)
    version = ListingVersion.objects.get(pk=upload.version_id)
    if version.pipeline_status != ListingVersion.PipelineStatus.PUBLISHED and upload.plan:
        storage.delete(Area.PUBLISHED, published_key(upload, upload.plan["format"]))


def discard_quarantine(upload: Upload) -> None:
    """After publishing: the work objects leave quarantine at once; the raw file too when the
    retention setting is 0 (the default), else purge_expired_quarantine() removes it later."""
    storage = get_storage()
    for key in list(storage.list_keys(Area.QUARANTINE, f"work/{upload.pk}/")):
        storage.delete(Area.QUARANTINE, key)
    if conf.keep_quarantine_seconds() == 0:
        purge_raw(upload)


def purge_raw(upload: Upload) -> None:
    with suppress(ObjectNotFound):
        get_storage().delete(Area.QUARANTINE, upload.quarantine_key)
    Upload.objects.filter(pk=upload.pk).update(quarantine_purged_at=timezone.now())


def purge_expired_quarantine(now: datetime | None = None, limit: int = 500) -> int:
    """Delete raw uploads of finished jobs (published, rejected or failed) older than the
    retention setting. Rows are claimed with SKIP LOCKED, so two schedulers never overlap."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=conf.keep_quarantine_seconds())
    finished = (Upload.Status.PUBLISHED, Upload.Status.REJECTED, Upload.Status.FAILED)
    purged = 0
    with transaction.atomic():
        due = list(
            Upload.objects.select_for_update(skip_locked=True)
            .filter(status__in=finished, finished_at__lte=cutoff, quarantine_purged_at=None)
            .order_by("finished_at")[:limit]
        )
        for upload in due:
            purge_raw(upload)
            purged += 1
    return purged
