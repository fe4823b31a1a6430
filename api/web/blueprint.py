"""The pages' blueprint and what every page shares: its language, texts, labels, the form token
(CSRF), the security headers, the error pages. The views import this module; it imports none
of them."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    render_template,
    request,
    session,
    url_for,
)

from api.errors import status_of
from api.state import service
from api.web.messages import MESSAGES, message
from riskengine.assessment.findings import place_of
from riskengine.errors import RiskEngineError
from riskengine.output.reports import term
from riskengine.vocabulary import Lang, Stage

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


def place(stage: str, path: str) -> str:
    """Where in a checklist `path` is, in the page's language (labels and row numbers)."""
    if stage not in set(Stage):
        return path
    return place_of(service().assessor.catalog, Stage(stage), path)[lang().value]


def ruleset_title(ruleset_id: str) -> str:
    """A ruleset by its title in the page's language (the ledger's and the audit's: their id)."""
    found = service().assessor.catalog.ruleset(ruleset_id)
    return found.title[lang()] if found else ruleset_id


def csrf_token() -> str:
    """Return the session's form token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def choose_lang() -> None:
    given = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    g.lang = Lang(given) if given in set(Lang) else Lang.ZH


def check_csrf() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        abort(400, description="csrf")


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


@bp.errorhandler(RiskEngineError)
def _error(error: RiskEngineError) -> tuple[str, int]:
    status = status_of(error)
    key = f"error_{status}"
    return page("error.html", status, title=t(key if key in MESSAGES else "error"),
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
    return {"t": t, "label": label, "place": place, "ruleset_title": ruleset_title,
            "lang": lang().value,
            "csrf_token": csrf_token,
            "principal": g.get("principal"), "today": service().today(),
            "other_lang": other, "switch_url": switch_url(other)}
