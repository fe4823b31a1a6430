"""Server-rendered pages for project managers and gate reviewers: Chinese by default, English on
request (`?lang=en`, remembered in a cookie). They log in with an API token into a session
cookie, act with the token's role, and call the same core use cases as the API.

Each view module's `register(bp)` attaches its routes to the pages' blueprint, made anew for
each app; `VIEWS` below names every module whose routes the pages serve, and `init_app`
registers them (importing a module attaches nothing).
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import Flask
from flask_smorest import Api

from api.web import (
    account,
    catalogue,
    dashboard,
    entry,
    evidence,
    governance,
    pages,
    printing,
    work,
)
from api.web.blueprint import pages_blueprint

VIEWS = (account, catalogue, dashboard, entry, evidence, governance, pages, printing, work)


def init_app(app: Flask, api: Api) -> None:
    """Register the pages and the template download; sessions are the pages' alone."""
    if not app.config.get("SECRET_KEY"):
        # production refuses to start without one (api.config); elsewhere: one per process
        app.config["SECRET_KEY"] = secrets.token_urlsafe(48)
    local = app.debug or app.config.get("ENV") in ("development", "testing")
    app.config.update(
        SESSION_COOKIE_NAME="riskengine_session", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=not local,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=10))
    bp = pages_blueprint()
    for view in VIEWS:
        view.register(bp)
    app.register_blueprint(bp)

