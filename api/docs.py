"""A browsable page of the API, rendered on the server from the OpenAPI document itself.

No script and nothing fetched from elsewhere: it works offline and under a strict CSP.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Flask, current_app, redirect, render_template, url_for
from werkzeug.wrappers import Response

bp = Blueprint("docs", __name__, template_folder="templates")
METHODS = ("get", "post", "put", "patch", "delete")


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get(
                "application/json", {}).get("schema")
            found.append({
                "method": method.upper(), "path": path, "tags": operation.get("tags", []),
                "summary": operation.get("summary", ""),
                "description": operation.get("description", ""),
                "parameters": item.get("parameters", []) + operation.get("parameters", []),
                "body": json.dumps(body, ensure_ascii=False) if body else "",
                "responses": sorted(operation.get("responses", {}).items()),
                "public": operation.get("security") == [],
            })
    return found


@bp.route("/api/v1/docs", endpoint="page")
def page() -> str:
    spec = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    schemas = {name: json.dumps(schema, ensure_ascii=False, indent=1)
               for name, schema in spec.get("components", {}).get("schemas", {}).items()}
    return render_template("docs.html", spec=spec, operations=_operations(spec), schemas=schemas)


@bp.route("/", endpoint="root")
def root() -> Response:
    return redirect(url_for("docs.page"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
