"""Uploads of evidence files: the routes that take `multipart/form-data`, their larger body
limit (the attachment limit plus room for the form around it; every other body keeps
`MAX_CONTENT_LENGTH`), and the file read out of the form."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, request

from riskengine.attachments.evidence import Upload
from riskengine.errors import Invalid
from riskengine.refusals import refused

MULTIPART = "multipart/form-data"
FORM_ROOM = 64 * 1024  # the boundary, the part headers and the small fields beside the file
# The upload routes, the API's and the finding page's: the worker (api.serving) reads only
# the path before the app is called, so the routes are named by path here.
_UPLOAD_PATH = re.compile(
    r"/(?:api/v1/(?:findings/[^/]+|projects/[^/]+/items)|work/findings/[^/]+)/attachments/?\Z")


def upload_limit(config: Mapping[str, Any]) -> int:
    return int(config["ATTACHMENT_MAX_BYTES"]) + FORM_ROOM


def body_limit(config: Mapping[str, Any], method: str, path: str) -> int:
    """The largest body a request may send: an upload route's, or the service's."""
    if method == "POST" and _UPLOAD_PATH.match(path.split("?", 1)[0]):
        return upload_limit(config)
    return int(config["MAX_CONTENT_LENGTH"])


def takes_upload() -> bool:
    return bool(request.method == "POST" and _UPLOAD_PATH.match(request.path))


def read_upload() -> Upload:
    """The form's `file` part; refused when it is not there."""
    if request.mimetype != MULTIPART:
        raise refused(Invalid, "file", "multipart_needed")
    given = request.files.get("file")
    if given is None:
        raise refused(Invalid, "file", "no_file_sent")
    return Upload(given.read(), given.filename or "")


def _raise_limit() -> None:
    if takes_upload():
        request.max_content_length = upload_limit(current_app.config)


def init_app(app: Flask) -> None:
    """Before the bodies are checked (api.bodies): an upload route's own limit."""
    app.before_request(_raise_limit)
