"""Evidence bytes in an S3-compatible object store (RISKENGINE_ATTACHMENTS_S3_*): uploaded,
served, deduplicated by hash, never overwritten; the database keeps only the hash. Tested
against moto's S3 server run here on a loopback port (not a production store), on SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from riskengine.attachments.objects import S3Settings, S3Store
from riskengine.store import models as m
from tests.api.support import (
    Caller,
    checklist,
    free_port,
    make_app,
    new_token,
    photo,
    send_file,
    unique_code,
)

BUCKET = "riskengine-evidence"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server on a free loopback port, with a bucket; its endpoint URL."""
    import boto3
    from moto.server import ThreadedMotoServer
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test").create_bucket(
            Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(scope="module")
def credentials() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            patch.setenv(name, "test")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        yield


@pytest.fixture(scope="module")
def s3_app(db_url: str, s3: str, credentials: None) -> Iterator[Flask]:
    settings = S3Settings(BUCKET, s3, "us-east-1", "tests/")
    app = make_app(db_url, ATTACHMENTS_S3=settings)
    yield app
    app.extensions["riskengine"].database.engine.dispose()


def _objects(s3: str) -> dict[str, bytes]:
    import boto3
    client = boto3.client("s3", endpoint_url=s3, region_name="us-east-1")
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="tests/").get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
            for o in listed}


def test_bytes_go_to_the_bucket_and_come_back(s3_app: Flask, s3: str) -> None:
    admin = Caller(s3_app, new_token(s3_app, "admin"))
    assessment: dict[str, Any] = admin.submit(checklist("sales-risky", unique_code("S3"))) \
        .get_json()
    finding = assessment["findings"][0]
    sent = send_file(admin, f"/api/v1/findings/{finding['id']}/attachments",
                     photo((500, 400), "crimson"))
    assert sent.status_code == 201, sent.get_json()
    body = sent.get_json()
    download = admin.get(body["download"])
    assert download.status_code == 200
    assert hashlib.sha256(download.data).hexdigest() == body["sha256"]
    stored = _objects(s3)
    assert stored[f"tests/{body['sha256']}"] == download.data
    thumbnail = admin.get(body["thumbnail"])
    assert Image.open(io.BytesIO(thumbnail.data)).size == (320, 256)
    assert hashlib.sha256(thumbnail.data).hexdigest() in {k.removeprefix("tests/")
                                                          for k in stored}
    with s3_app.extensions["riskengine"].database.read() as session:
        blob = session.get(m.Blob, body["sha256"])
        assert blob is not None and blob.location == "s3" and blob.data is None
    # the same bytes to another finding: one object, two attachments
    other = send_file(admin, f"/api/v1/findings/{assessment['findings'][1]['id']}/attachments",
                      photo((500, 400), "crimson"))
    assert other.status_code == 201 and other.get_json()["id"] != body["id"]
    assert len(_objects(s3)) == len(stored)


def test_an_existing_object_is_never_overwritten(s3: str, credentials: None) -> None:
    store = S3Store(S3Settings(BUCKET, s3, "us-east-1", "tests/never/"))
    store.put("k", b"first", "image/jpeg")
    store.put("k", b"second", "image/jpeg")  # a key is a hash: its bytes are already there
    assert store.get("k") == b"first" and store.has("k") and not store.has("other")


def test_a_store_that_does_not_answer_is_503(db_url: str, credentials: None) -> None:
    dead = S3Settings(BUCKET, f"http://127.0.0.1:{free_port()}", "us-east-1", "tests/")
    app = make_app(db_url, ATTACHMENTS_S3=dead)
    try:
        admin = Caller(app, new_token(app, "admin"))
        assessment = admin.submit(checklist("sales-risky", unique_code("S3"))).get_json()
        sent = send_file(admin, f"/api/v1/findings/{assessment['findings'][0]['id']}"
                         "/attachments", photo((60, 40), "gold"))
        assert sent.status_code == 503, sent.get_data(as_text=True)
        error = sent.get_json()["error"]
        assert error["code"] == "storage_unavailable" and sent.headers["Retry-After"] == "5"
        listed = admin.get(f"/api/v1/findings/{assessment['findings'][0]['id']}/attachments")
        assert listed.get_json()["items"] == []  # nothing half-written
    finally:
        app.extensions["riskengine"].database.engine.dispose()


def test_settings_come_from_the_environment() -> None:
    assert S3Settings.from_environment({}) is None
    settings = S3Settings.from_environment({
        "RISKENGINE_ATTACHMENTS_S3_BUCKET": "b", "RISKENGINE_ATTACHMENTS_S3_ENDPOINT_URL":
        "http://minio:9000", "RISKENGINE_ATTACHMENTS_S3_REGION": "cn-north-1"})
    assert settings == S3Settings("b", "http://minio:9000", "cn-north-1",
                                  "riskengine/attachments/")
