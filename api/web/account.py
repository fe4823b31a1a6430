"""Logging in with an API token: the session remembers the token's id and hash, never the token,
and every request checks it is still live, so revoking the token ends the session too."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, g, make_response, redirect, request, session, url_for
from werkzeug.wrappers import Response
from werkzeug.wrappers import Response as ResponseBase

from api.auth import Principal
from api.state import service
from api.throttle import throttle, throttled_attempt
from api.web.blueprint import PUBLIC, check_csrf, choose_lang, page, t
from riskengine.store.tokens import find_token, live_token


def load_principal() -> None:
    """Set `g.principal` from the session, as the API's bearer check does from its header."""
    token_id, token_hash = session.get("token_id"), session.get("token_hash")
    if not isinstance(token_id, int) or not isinstance(token_hash, str):
        return
    with service().database.read() as db:
        row = live_token(db, token_id, token_hash)
        if row is None:
            session.clear()
            return
        g.principal = Principal.of(row)


def login_redirect() -> Response:
    return redirect(url_for("web.login", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if not target:
        return url_for("web.portfolio")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.portfolio")
    return target


def login() -> Response | tuple[str, int]:
    """Show the login form; a valid token opens a session with its role and projects."""
    if request.method == "GET":
        return page("login.html", title=t("login"), next=request.args.get("next", ""),
                    failed=False)
    secret = request.form.get("token", "").strip()
    attempt = throttled_attempt(secret)
    with service().database.read() as db:
        # The API's throttle (api/throttle.py): a locked address or prefix is refused, even
        # with a valid token, until its window ends.
        lock = throttle().refusal(db.connection(), attempt) if secret else None
        row = find_token(db.connection(), secret) if secret and lock is None else None
        if row is not None:
            token_id, token_hash = row.id, row.token_hash
    if lock is not None:
        return _throttled(lock.retry_after)
    if row is None:
        if secret:
            throttle().failed(attempt)
        return page("login.html", 401, title=t("login"), next=request.form.get("next", ""),
                    failed=True)
    session.clear()  # a fresh session (and form token) for the new user
    session.permanent = True
    session.update(token_id=token_id, token_hash=token_hash)
    return redirect(_safe_next(request.form.get("next")))


def _throttled(seconds: int) -> Response:
    response = make_response(page("login.html", 429, title=t("login"),
                                  next=request.form.get("next", ""), failed=False,
                                  retry_after=seconds))
    response.headers["Retry-After"] = str(seconds)
    return response


def logout() -> Response:
    session.clear()
    return redirect(url_for("web.login"))


def _before() -> ResponseBase | None:
    if request.endpoint == "web.static":
        return None
    choose_lang()
    check_csrf()
    load_principal()
    if request.endpoint not in PUBLIC and g.get("principal") is None:
        return login_redirect()
    return None


def register(bp: Blueprint) -> None:
    """Attach this module's pages to the pages' blueprint."""
    bp.add_url_rule("/login", view_func=login, methods=["GET", "POST"])
    bp.add_url_rule("/logout", view_func=logout, methods=["POST"])
    bp.before_request(_before)
