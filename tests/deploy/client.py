"""An HTTP client for a service under test on 127.0.0.1: answers kept whole, nothing followed."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from html.parser import HTMLParser
from http.cookies import Morsel, SimpleCookie
from typing import Any
from urllib.parse import urlencode


@dataclass(frozen=True)
class Response:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer to look at (login, session cookies)


# No proxy for 127.0.0.1, whatever this process's environment says; redirects not followed.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def fetch(url: str, method: str = "GET", body: bytes | None = None,
          headers: dict[str, str] | None = None) -> Response:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=30) as answer:
            return Response(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.headers, error.read())


class Assets(HTMLParser):
    """The stylesheets and scripts a page links."""

    def __init__(self) -> None:
        super().__init__()
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        if tag == "link" and "stylesheet" in (given.get("rel") or "").split() and given.get("href"):
            self.stylesheets.append(str(given["href"]))
        if tag == "script" and given.get("src"):
            self.scripts.append(str(given["src"]))


def set_cookies(response: Response) -> dict[str, Morsel[str]]:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return dict(jar)


def web_login(base_url: str, token: str) -> tuple[dict[str, str], Morsel[str]]:
    """Log in on the web form with `token`: that browser session's headers and its cookie.

    Production sets Secure session cookies; with no TLS proxy in front the cookie is sent back
    by hand.
    """
    form = fetch(f"{base_url}/login")
    assert form.status == 200, f"GET /login: HTTP {form.status}: {form.body[:800]!r}"
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.body.decode("utf-8"))
    assert found, "the login form has no csrf_token"
    cookies = set_cookies(form)
    answer = fetch(f"{base_url}/login", "POST",
                   urlencode({"csrf_token": found[1], "token": token}).encode(),
                   {"Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": "; ".join(f"{k}={m.value}" for k, m in cookies.items())})
    assert answer.status in {302, 303}, f"POST /login: HTTP {answer.status}: {answer.body[:800]!r}"
    cookies.update(set_cookies(answer))
    session = cookies.get("riskengine_session")
    assert session is not None, f"no session cookie: {answer.headers}"
    return {"Cookie": f"riskengine_session={session.value}"}, session
