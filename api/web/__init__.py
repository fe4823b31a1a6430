"""Server-rendered pages for project managers and gate reviewers: Chinese by default, English on
request (`?lang=en`, remembered in a cookie). They log in with an API token into a session
cookie, act with the token's role, and call the same store functions as the API."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    g,
    render_template,
    request,
    session,
    url_for,
)
from flask_smorest import Api
from werkzeug.wrappers import Response as ResponseBase

from api.errors import ApiError
from api.state import service
from api.web.messages import MESSAGES, message
from riskengine.reports import term
from riskengine.vocabulary import Lang

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/web")
PUBLIC = frozenset({"web.login", "web.static"})
LANG_COOKIE = "lang"
CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def lang() -> Lang:
    chosen: Lang = g.get("lang", Lang.ZH)
    return chosen


def t(key: str, **values: Any) -> str:
    """Return a UI text in the page's language."""
    return message(key, lang(), **values)


def label(group: str, value: Any) -> str:
    """Return a vocabulary label (owners, categories, kinds, fields) in the page's language."""
    if value is None:
        return ""
    if group in ("severity", "gate", "status", "review"):
        return term(group, str(value), lang())
    return service().assessor.catalog.policy.label(group, str(value), lang())


def csrf_token() -> str:
    """Return the session's form token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _choose_lang() -> None:
    given = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    g.lang = Lang(given) if given in set(Lang) else Lang.ZH


def _check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        abort(400, description="csrf")


@bp.before_request
def _before() -> ResponseBase | None:
    if request.endpoint == "web.static":
        return None
    _choose_lang()
    _check_csrf()
    account.load_principal()
    if request.endpoint not in PUBLIC and g.get("principal") is None:
        return account.login_redirect()
    return None


@bp.after_request
def _after(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    given = request.args.get("lang")
    if given in set(Lang) and given != request.cookies.get(LANG_COOKIE):
        response.set_cookie(LANG_COOKIE, given, max_age=365 * 86400, samesite="Lax",
                            httponly=True, secure=bool(request.is_secure))
    return response


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a page of the blueprint."""
    return render_template(f"web/{template}", **context), status


@bp.errorhandler(ApiError)
def _error(error: ApiError) -> tuple[str, int]:
    key = f"error_{error.status}"
    return page("error.html", error.status, title=t(key if key in MESSAGES else "error"),
                error=error)


def _http_error(error: Any) -> tuple[str, int]:
    status = getattr(error, "code", 500) or 500
    key = "error_csrf" if getattr(error, "description", "") == "csrf" else f"error_{status}"
    return page("error.html", status, title=t(key if key in MESSAGES else "error"), error=None)


for _status in (400, 403, 404, 405, 413):
    bp.register_error_handler(_status, _http_error)


def switch_url(other: str) -> str:
    """Return this page in the other language (a page answering a form: its GET twin)."""
    rule = request.url_rule
    if request.method != "GET" and not (rule and rule.methods and "GET" in rule.methods):
        return url_for("web.portfolio", lang=other)
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return f"{request.path}?{urlencode([*args, ('lang', other)])}"


@bp.context_processor
def _context() -> dict[str, Any]:
    other = "en" if lang() is Lang.ZH else "zh"
    return {"t": t, "label": label, "lang": lang().value, "csrf_token": csrf_token,
            "principal": g.get("principal"), "today": service().today(),
            "other_lang": other, "switch_url": switch_url(other)}


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
    api.register_blueprint(excel.blp)
    app.register_blueprint(bp)


# The views register their routes on `bp` when imported.
from api.web import account, catalogue, entry, excel, pages, printing  # noqa: E402, F401
