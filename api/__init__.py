"""The riskengine HTTP service: `create_app()` builds a Flask app around one Assessor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from api import auth, bodies, docs, errors, observability, uploads, web
from api.config import check_secret, from_environment
from api.openapi import document
from api.resources import (
    assessments,
    attachments,
    audits,
    bulk,
    checklists,
    comments,
    dashboard,
    evaluate,
    findings,
    health,
    projects,
    promises,
    reviews,
    rulesets,
    templates,
    waivers,
    whatif,
)
from api.schemas import ErrorSchema
from api.state import Service
from riskengine.assessment.assessor import Assessor
from riskengine.attachments.evidence import Storage
from riskengine.attachments.objects import S3Store
from riskengine.store.database import Database
from riskengine.submission import Submissions, load_ledger

BLUEPRINTS = (health, evaluate, projects, checklists, assessments, bulk, findings, waivers,
              comments, attachments, reviews, promises, rulesets, templates, whatif, dashboard)


class RiskApi(Api):
    """flask-smorest, answering its errors (404, 405, webargs' 422) in our envelope."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        return errors.handle_http(error)


class JsonProvider(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, dt.date):  # ISO 8601, never Flask's HTTP-date format
            return o.isoformat()
        return DefaultJSONProvider.default(o)


def create_app(test_config: Mapping[str, Any] | None = None,
               assessor: Assessor | None = None) -> Flask:
    """Build the app; pass `assessor` to share one loaded catalogue (it is costly to build)."""
    app = Flask(__name__)
    app.json = JsonProvider(app)
    app.config.from_mapping(from_environment())
    app.config.from_mapping(test_config or {})
    check_secret(app.config)
    root = Path(app.config["RULESETS_DIR"])
    assessor = assessor or Assessor.from_path(root)
    database = Database(app.config["DATABASE_URL"], **_pool(app.config))
    app.extensions["riskengine"] = Service(
        assessor=assessor, database=database,
        submissions=Submissions(assessor, load_ledger(assessor.catalog, root)),
        pinned_today=app.config["TODAY"], storage=_storage(app.config))
    app.extensions["riskengine"].submissions.keep_releases_now(database)
    observability.init_app(app)
    auth.init_app(app)
    uploads.init_app(app)  # before the bodies are checked: an upload route's own limit
    bodies.init_app(app)
    errors.init_app(app)
    api = RiskApi(app)
    document(api, assessor.catalog)
    for module in BLUEPRINTS:
        api.register_blueprint(module.blp)
    audits.init_app(app, api)  # scheduled audits: routes, errors, the scheduler thread
    web.init_app(app, api)  # the pages (before docs: the portfolio answers "/")
    docs.init_app(app)
    return app


def _pool(config: Mapping[str, Any]) -> dict[str, Any]:
    if str(config["DATABASE_URL"]).startswith("sqlite"):
        return {}
    return {"pool_size": config["DB_POOL_SIZE"], "max_overflow": 2 * config["DB_POOL_SIZE"]}


def _storage(config: Mapping[str, Any]) -> Storage:
    settings = config.get("ATTACHMENTS_S3")
    return Storage(S3Store(settings) if settings is not None else None,
                   int(config["ATTACHMENT_MAX_BYTES"]))
