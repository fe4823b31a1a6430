"""Where an attachment's bytes live: in the database beside its row (the default: every host
that reaches the database serves them), or in an S3-compatible object store when configured,
the database then keeping only their hash. Either way bytes are addressed by their SHA-256 and
never overwritten."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from riskengine.errors import StorageUnavailable
from riskengine.refusals import refused

IN_DATABASE, IN_S3 = "db", "s3"


class ObjectStore(Protocol):
    """Bytes kept outside the database, by key."""

    def has(self, key: str) -> bool: ...

    def put(self, key: str, data: bytes, media_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    prefix: str = "riskengine/attachments/"

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> S3Settings | None:
        """RISKENGINE_ATTACHMENTS_S3_BUCKET (and _ENDPOINT_URL, _REGION, _PREFIX); None without
        a bucket. Credentials are boto3's own (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, …)."""
        env = os.environ if env is None else env
        bucket = env.get("RISKENGINE_ATTACHMENTS_S3_BUCKET", "").strip()
        if not bucket:
            return None
        return cls(bucket, env.get("RISKENGINE_ATTACHMENTS_S3_ENDPOINT_URL") or None,
                   env.get("RISKENGINE_ATTACHMENTS_S3_REGION") or None,
                   env.get("RISKENGINE_ATTACHMENTS_S3_PREFIX", cls.prefix))


def unavailable() -> StorageUnavailable:
    """The store did not answer (the cause is chained to the error); the reader is told to retry."""
    return refused(StorageUnavailable, "storage", "storage_unavailable")


class S3Store:
    """An S3-compatible bucket (AWS S3, MinIO, Ceph RGW, …) through boto3."""

    def __init__(self, settings: S3Settings, client: Any = None) -> None:
        import boto3
        from botocore.config import Config
        self.settings = settings
        self.client = client or boto3.client(
            "s3", endpoint_url=settings.endpoint_url, region_name=settings.region,
            config=Config(retries={"max_attempts": 3}, connect_timeout=5, read_timeout=30))

    def _key(self, key: str) -> str:
        return f"{self.settings.prefix}{key}"

    def has(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            self.client.head_object(Bucket=self.settings.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise unavailable() from error
        except BotoCoreError as error:
            raise unavailable() from error
        return True

    def put(self, key: str, data: bytes, media_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError
        if self.has(key):  # content-addressed: the same key holds the same bytes already
            return
        try:
            self.client.put_object(Bucket=self.settings.bucket, Key=self._key(key), Body=data,
                                   ContentType=media_type)
        except (BotoCoreError, ClientError) as error:
            raise unavailable() from error

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            answer = self.client.get_object(Bucket=self.settings.bucket, Key=self._key(key))
            data: bytes = answer["Body"].read()
        except (BotoCoreError, ClientError) as error:
            raise unavailable() from error
        return data
