"""S3 backend through boto3: SeaweedFS, MinIO, Ceph, Alibaba OSS or AWS, set by endpoint URL.

This is the only module of the project that imports boto3/botocore; every botocore error is
translated into the exceptions of exchange.storage.base, so callers never see them. Presigned
URLs are made locally (no request to the store) and never logged: their query string is a
credential.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, BinaryIO, NoReturn, cast

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    IncompleteReadError,
    ResponseStreamingError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from django.utils.decorators import method_decorator
from django.utils.http import content_disposition_header
from django.views.decorators.debug import sensitive_variables

from .base import (
    MAX_PART_NUMBER,
    MIN_PART_SIZE,
    Area,
    HashingReader,
    InvalidKey,
    InvalidUpload,
    ObjectChanged,
    ObjectInfo,
    ObjectNotFound,
    ObjectStat,
    ObjectStorage,
    PresignedPost,
    Readable,
    StorageError,
    StorageUnavailable,
    UploadedPart,
    as_area,
    normalise_etag,
    sha256_of,
    validate_key,
    validate_part_number,
    validate_prefix,
)

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

logger = logging.getLogger(__name__)

_NOT_FOUND = {"NoSuchKey", "NotFound", "404"}
_BAD_UPLOAD = {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "EntityTooLarge"}
_TRANSIENT = {
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "RequestTimeout",
    "Throttling",
    "ThrottlingException",
    "RequestTimeTooSkewed",
}


def _raise_translated(error: Exception, what: str) -> NoReturn:
    """Re-raise a boto3/botocore error as the adapter's own; `what` names the operation only."""
    if isinstance(error, S3UploadFailedError) and isinstance(error.__cause__, Exception):
        # upload_fileobj wraps the ClientError it got; its code is what matters.
        error = error.__cause__ if not isinstance(error.__cause__, S3UploadFailedError) else error
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code = str(info.get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code == "PreconditionFailed" or status == 412:
            raise ObjectChanged(f"{what}: the object changed") from error
        if code in _NOT_FOUND:
            raise ObjectNotFound(f"{what}: no such object") from error
        if code == "NoSuchUpload":
            raise ObjectNotFound(f"{what}: no such multipart upload") from error
        if code == "KeyTooLongError":
            raise InvalidKey(f"{what}: key too long for this store") from error
        if code == "NoSuchBucket":
            raise StorageError(f"{what}: bucket missing (run ensure_buckets)") from error
        if code in _BAD_UPLOAD:
            raise InvalidUpload(f"{what}: {code}") from error
        if code in _TRANSIENT or status >= 500 or status == 429:
            raise StorageUnavailable(f"{what}: {code or status}") from error
        raise StorageError(f"{what}: {code or status}") from error
    if isinstance(error, BotoConnectionError | IncompleteReadError | ResponseStreamingError):
        raise StorageUnavailable(f"{what}: {type(error).__name__}") from error
    if isinstance(error, BotoCoreError | S3UploadFailedError):
        raise StorageError(f"{what}: {type(error).__name__}") from error
    raise error


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError, S3UploadFailedError) as error:
        _raise_translated(error, what)


_session_lock = threading.Lock()
_shared_session: boto3.session.Session | None = None


def _session() -> boto3.session.Session:
    """One boto3 session per process: each new session reloads the service model (~0.2 s).
    Clients are thread-safe; creating them from a shared session is not, hence the lock."""
    global _shared_session
    if _shared_session is None:
        _shared_session = boto3.session.Session()
    return _shared_session


class _BodyReader(io.RawIOBase):
    """A get_object body as a raw stream, with network errors translated while reading."""

    def __init__(self, body: Any, what: str) -> None:
        super().__init__()
        self._body = body
        self._what = what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with _translated(self._what):
            try:
                data = self._body.read(len(buffer))
            except OSError as error:  # urllib3 protocol errors surface as OSError subclasses
                raise StorageUnavailable(f"{self._what}: connection lost") from error
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._body.close()
        super().close()


class S3ObjectStorage(ObjectStorage):
    # Keeps the secret out of Django's error reports should construction fail.
    @method_decorator(sensitive_variables("secret_access_key"))
    def __init__(
        self,
        *,
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        quarantine_bucket: str,
        published_bucket: str,
        addressing_style: str = "path",
        multipart_threshold: int = 64 * 1024 * 1024,
        multipart_chunk: int = 16 * 1024 * 1024,
        max_concurrency: int = 4,
        public_endpoint_url: str | None = None,
    ) -> None:
        self._buckets = {Area.QUARANTINE: quarantine_bucket, Area.PUBLISHED: published_bucket}
        if addressing_style not in {"path", "virtual", "auto"}:
            raise StorageError("S3_ADDRESSING_STYLE must be 'path', 'virtual' or 'auto'")
        # Path style by default: SeaweedFS, MinIO and Ceph on a bare host name have no
        # per-bucket DNS names.
        s3_options: Any = {"addressing_style": addressing_style}
        config = Config(
            signature_version="s3v4",
            region_name=region,
            s3=s3_options,
            retries={"max_attempts": 4, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            # Newer botocore adds CRC32 trailers to every upload by default; several
            # S3-compatible stores reject or mishandle them, so only send them when required.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )

        def client(endpoint: str | None) -> S3Client:
            with _session_lock:
                return _session().client(
                    "s3",
                    endpoint_url=endpoint or None,
                    region_name=region,
                    # None lets boto3 find credentials itself (instance role, AWS_* variables...).
                    aws_access_key_id=access_key_id or None,
                    aws_secret_access_key=secret_access_key or None,
                    config=config,
                )

        self._client = client(endpoint_url)
        # The signature covers the host, so links for buyers must be signed for the address
        # buyers reach (S3_PUBLIC_ENDPOINT_URL) when it differs from the internal one.
        if public_endpoint_url and public_endpoint_url != endpoint_url:
            self._signer = client(public_endpoint_url)
        else:
            self._signer = self._client
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunk,
            max_concurrency=max_concurrency,
            max_io_queue=max_concurrency,
            # The classic transfer manager honours the memory limit below; the CRT one would not.
            preferred_transfer_client="classic",
        )
        # For a stream (not a seekable file) s3transfer reads ahead up to this many chunks, 10
        # by default (160 MiB at 16 MiB chunks); tie it to the concurrency so memory per
        # transfer stays at a few chunks whatever the object size. Not a constructor argument.
        self._transfer.max_in_memory_upload_chunks = max_concurrency

    def __repr__(self) -> str:
        return f"S3ObjectStorage(buckets={sorted(self._buckets.values())!r})"

    def _bucket(self, area: Area | str) -> str:
        return self._buckets[as_area(area)]

    # -- buckets --

    def ensure_buckets(self) -> None:
        for bucket in self._buckets.values():
            with _translated("head bucket"):
                try:
                    self._client.head_bucket(Bucket=bucket)
                    continue
                except ClientError as error:
                    code = str(error.response.get("Error", {}).get("Code", ""))
                    if code not in {"404", "NoSuchBucket", "NotFound"}:
                        raise
            with _translated("create bucket"):
                try:
                    region = self._client.meta.region_name
                    if region and region != "us-east-1":
                        self._client.create_bucket(
                            Bucket=bucket,
                            CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                        )
                    else:
                        self._client.create_bucket(Bucket=bucket)
                    logger.info("created bucket %s", bucket)
                except ClientError as error:
                    code = str(error.response.get("Error", {}).get("Code", ""))
                    if code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise

    def allow_browser_uploads(self, origins: Sequence[str]) -> None:
        # Browsers refuse a cross-origin PUT, and hide the ETag the multipart completion needs,
        # unless the bucket says otherwise. Only the quarantine bucket takes browser uploads;
        # downloads are plain navigations and need no CORS.
        rules = [
            {
                "AllowedOrigins": list(origins),
                "AllowedMethods": ["PUT"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag"],
                "MaxAgeSeconds": 3600,
            }
        ]
        with _translated("set bucket CORS"):
            self._client.put_bucket_cors(
                Bucket=self._bucket(Area.QUARANTINE),
                CORSConfiguration={"CORSRules": rules},  # type: ignore[typeddict-item]
            )

    def browser_upload_origins(self) -> list[str]:
        """The origins the quarantine bucket currently accepts uploads from (empty if none)."""
        with _translated("get bucket CORS"):
            try:
                answer = self._client.get_bucket_cors(Bucket=self._bucket(Area.QUARANTINE))
            except ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", ""))
                if code == "NoSuchCORSConfiguration":
                    return []
                raise
        return sorted(
            {o for rule in answer.get("CORSRules", []) for o in rule.get("AllowedOrigins", [])}
        )

    def destroy_buckets(self) -> None:
        """Delete both buckets with everything in them. For tests and throw-away stacks only."""
        for bucket in self._buckets.values():
            with _translated("destroy bucket"):
                try:
                    uploads = self._client.get_paginator("list_multipart_uploads")
                    for upload_page in uploads.paginate(Bucket=bucket):
                        for upload in upload_page.get("Uploads", []):
                            self._client.abort_multipart_upload(
                                Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                            )
                    objects = self._client.get_paginator("list_objects_v2")
                    for page in objects.paginate(Bucket=bucket):
                        keys: list[Any] = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                        if keys:
                            self._client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
                    self._client.delete_bucket(Bucket=bucket)
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") != "NoSuchBucket":
                        raise

    # -- objects --

    def put_stream(
        self,
        area: Area | str,
        key: str,
        fileobj: Readable,
        content_type: str | None = None,
    ) -> ObjectInfo:
        validate_key(key)
        bucket = self._bucket(area)
        reader = HashingReader(fileobj)
        extra = {"ContentType": content_type} if content_type else {}
        # upload_fileobj switches to a multipart upload above the threshold and aborts it on
        # failure, so the key gets the whole object or nothing.
        with _translated(f"put {as_area(area).value}"):
            self._client.upload_fileobj(
                cast("IO[bytes]", reader), bucket, key, ExtraArgs=extra, Config=self._transfer
            )
            head = self._client.head_object(Bucket=bucket, Key=key)
        return ObjectInfo(
            size=reader.size, sha256=reader.sha256.hexdigest(), etag=normalise_etag(head["ETag"])
        )

    def open_read(self, area: Area | str, key: str) -> BinaryIO:
        validate_key(key)
        what = f"get {as_area(area).value}"
        with _translated(what):
            response = self._client.get_object(Bucket=self._bucket(area), Key=key)
        return io.BufferedReader(_BodyReader(response["Body"], what), buffer_size=256 * 1024)

    def read_range(self, area: Area | str, key: str, start: int, length: int) -> bytes:
        validate_key(key)
        if start < 0 or length < 0:
            raise StorageError("range start and length must not be negative")
        if length == 0:
            return b""
        what = f"get range {as_area(area).value}"
        with _translated(what):
            try:
                response = self._client.get_object(
                    Bucket=self._bucket(area), Key=key, Range=f"bytes={start}-{start + length - 1}"
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "InvalidRange":
                    return b""  # the range starts past the end, as a file read would
                raise
            with contextlib.closing(_BodyReader(response["Body"], what)) as body:
                return body.read(length) or b""

    def open_range(
        self, area: Area | str, key: str, start: int, length: int, *, if_match: str | None = None
    ) -> BinaryIO:
        validate_key(key)
        if start < 0 or length < 0:
            raise StorageError("range start and length must not be negative")
        if length == 0 and if_match is None:
            return io.BytesIO(b"")
        what = f"get range {as_area(area).value}"
        # An empty range still asks the store, when pinned, whether the object is the same one.
        byte_range = f"bytes={start}-{start + max(length, 1) - 1}"
        bucket = self._bucket(area)
        with _translated(what):
            try:
                if if_match:
                    response = self._client.get_object(
                        Bucket=bucket, Key=key, Range=byte_range, IfMatch=f'"{if_match}"'
                    )
                else:
                    response = self._client.get_object(Bucket=bucket, Key=key, Range=byte_range)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "InvalidRange":
                    raise
                # The range starts past the end, as a file read would: empty, if it is the
                # pinned object that is that short.
                if if_match and self.stat(area, key).etag != if_match:
                    raise ObjectChanged(f"{what}: the object changed") from error
                return io.BytesIO(b"")
        if length == 0:
            response["Body"].close()
            return io.BytesIO(b"")
        return io.BufferedReader(_BodyReader(response["Body"], what), buffer_size=256 * 1024)

    def compose(
        self,
        src_area: Area | str,
        src_keys: Sequence[str],
        dst_area: Area | str,
        dst_key: str,
        content_type: str | None = None,
    ) -> ObjectInfo:
        """Join the sources on the store's side (multipart upload of part copies), then read
        the result once for its SHA-256. S3 refuses a part under 5 MiB unless it is the last,
        so sources of that size (and a single source) go the streaming way instead."""
        validate_key(dst_key)
        for key in src_keys:
            validate_key(key)
        sizes = [self.size(src_area, key) for key in src_keys]
        if (
            len(src_keys) < 2
            or len(src_keys) > MAX_PART_NUMBER
            or any(size < MIN_PART_SIZE for size in sizes[:-1])
        ):
            return super().compose(src_area, src_keys, dst_area, dst_key, content_type)
        bucket = self._bucket(dst_area)
        source_bucket = self._bucket(src_area)
        with _translated("compose"):
            upload_id = self._start_multipart(bucket, dst_key, content_type)
            try:
                parts: list[CompletedPartTypeDef] = []
                for number, key in enumerate(src_keys, start=1):
                    copied = self._client.upload_part_copy(
                        Bucket=bucket,
                        Key=dst_key,
                        UploadId=upload_id,
                        PartNumber=number,
                        CopySource={"Bucket": source_bucket, "Key": key},
                    )
                    parts.append({"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]})
                self._client.complete_multipart_upload(
                    Bucket=bucket, Key=dst_key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
            except BaseException:
                # Nothing half-joined stays behind: the key never appears until completion.
                with contextlib.suppress(Exception):
                    self._client.abort_multipart_upload(
                        Bucket=bucket, Key=dst_key, UploadId=upload_id
                    )
                raise
        size, sha256 = sha256_of(self, dst_area, dst_key)
        if size != sum(sizes):
            self.delete(dst_area, dst_key)
            raise StorageError("compose: the joined object has the wrong size")
        return ObjectInfo(size=size, sha256=sha256, etag=self.stat(dst_area, dst_key).etag)

    def stat(self, area: Area | str, key: str) -> ObjectStat:
        validate_key(key)
        with _translated(f"stat {as_area(area).value}"):
            head = self._client.head_object(Bucket=self._bucket(area), Key=key)
        return ObjectStat(
            size=int(head["ContentLength"]),
            etag=normalise_etag(head["ETag"]),
            content_type=head.get("ContentType"),
            last_modified=head.get("LastModified"),
        )

    def delete(self, area: Area | str, key: str) -> None:
        validate_key(key)
        with _translated(f"delete {as_area(area).value}"):
            self._client.delete_object(Bucket=self._bucket(area), Key=key)

    def list_keys(self, area: Area | str, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        paginator = self._client.get_paginator("list_objects_v2")
        with _translated(f"list {as_area(area).value}"):
            for page in paginator.paginate(Bucket=self._bucket(area), Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"]

    # -- links (signed locally; nothing is sent to the store) --

    def _download_url(self, key: str, filename: str, ttl: int) -> str:
        with _translated("sign download"):
            url = self._signer.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self._buckets[Area.PUBLISHED],
                    "Key": key,
                    "ResponseContentDisposition": content_disposition_header(True, filename)
                    or "attachment",
                    "ResponseCacheControl": "private, no-store",
                },
                ExpiresIn=ttl,
            )
        logger.debug("issued a download link (published, %d s)", ttl)
        return url

    def _upload_url(self, key: str, ttl: int, content_type: str | None) -> str:
        params: dict[str, Any] = {"Bucket": self._buckets[Area.QUARANTINE], "Key": key}
        if content_type:
            params["ContentType"] = content_type  # signed: the client must send this exact type
        with _translated("sign upload"):
            return self._signer.generate_presigned_url("put_object", Params=params, ExpiresIn=ttl)

    def _upload_post(
        self, key: str, ttl: int, max_size: int, content_type: str | None
    ) -> PresignedPost:
        fields: dict[str, Any] = {}
        conditions: list[Any] = [["content-length-range", 0, max_size]]
        if content_type:
            fields["Content-Type"] = content_type
            conditions.append({"Content-Type": content_type})
        with _translated("sign upload form"):
            post = self._signer.generate_presigned_post(
                self._buckets[Area.QUARANTINE],
                key,
                Fields=fields,
                Conditions=conditions,
                ExpiresIn=ttl,
            )
        return PresignedPost(url=post["url"], fields={k: str(v) for k, v in post["fields"].items()})

    # -- multipart direct uploads --

    def create_multipart(self, key: str, *, content_type: str | None = None) -> str:
        validate_key(key)
        with _translated("create multipart"):
            return self._start_multipart(self._buckets[Area.QUARANTINE], key, content_type)

    def _start_multipart(self, bucket: str, key: str, content_type: str | None) -> str:
        if content_type:
            response = self._client.create_multipart_upload(
                Bucket=bucket, Key=key, ContentType=content_type
            )
        else:
            response = self._client.create_multipart_upload(Bucket=bucket, Key=key)
        return response["UploadId"]

    def part_upload_url(
        self, key: str, upload_id: str, part_number: int, *, ttl: int | None = None
    ) -> str:
        validate_key(key)
        self._check_upload_id(upload_id)
        validate_part_number(part_number)
        with _translated("sign upload part"):
            return self._signer.generate_presigned_url(
                "upload_part",
                Params={
                    "Bucket": self._buckets[Area.QUARANTINE],
                    "Key": key,
                    "UploadId": upload_id,
                    "PartNumber": part_number,
                },
                ExpiresIn=self._upload_ttl(ttl),
            )

    def list_parts(self, key: str, upload_id: str) -> list[UploadedPart]:
        validate_key(key)
        self._check_upload_id(upload_id)
        parts: list[UploadedPart] = []
        paginator = self._client.get_paginator("list_parts")
        with _translated("list parts"):
            pages = paginator.paginate(
                Bucket=self._buckets[Area.QUARANTINE], Key=key, UploadId=upload_id
            )
            for page in pages:
                for part in page.get("Parts", []):
                    parts.append(
                        UploadedPart(
                            part_number=int(part["PartNumber"]),
                            etag=normalise_etag(part["ETag"]),
                            size=int(part["Size"]),
                        )
                    )
        return sorted(parts, key=lambda p: p.part_number)

    def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> ObjectStat:
        validate_key(key)
        self._check_upload_id(upload_id)
        checked = self._check_parts(parts)
        with _translated("complete multipart"):
            self._client.complete_multipart_upload(
                Bucket=self._buckets[Area.QUARANTINE],
                Key=key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": n, "ETag": f'"{e}"'} for n, e in checked]
                },
            )
        return self.stat(Area.QUARANTINE, key)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        validate_key(key)
        self._check_upload_id(upload_id)
        try:
            with _translated("abort multipart"):
                self._client.abort_multipart_upload(
                    Bucket=self._buckets[Area.QUARANTINE], Key=key, UploadId=upload_id
                )
        except ObjectNotFound:
            return
