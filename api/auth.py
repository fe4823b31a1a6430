"""Bearer tokens, roles, and project scope: who may do what, on which projects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from flask import Flask, g, request

from api.errors import Forbidden, NotFound, Unauthorized
from api.state import service
from api.throttle import init_throttle, throttle, throttled_attempt
from riskengine.refusals import refusal
from riskengine.store import Actor
from riskengine.store import models as m
from riskengine.store.tokens import LiveToken, find_token

# Routes anyone may call: the service's health and its own description.
PUBLIC = frozenset({"health.healthz", "health.readyz", "api-docs.openapi_json", "docs.page",
                    "docs.root"})


class Role(StrEnum):
    SUBMITTER = "submitter"  # project managers: create projects, submit checklists, read them
    OWNER = "owner"          # a department: works the findings it owns
    REVIEWER = "reviewer"    # gate reviews and waivers
    AUDITOR = "auditor"      # reads everything
    ADMIN = "admin"          # everything, including overriding a failed gate


@dataclass(frozen=True)
class Principal:
    token_id: int
    name: str
    role: Role
    department: str | None
    projects: frozenset[str] | None  # None: every project

    @classmethod
    def of(cls, token: LiveToken | m.ApiToken) -> Principal:
        return cls(token.id, token.name, Role(token.role), token.department,
                   frozenset(token.projects) if token.projects is not None else None)

    @property
    def actor(self) -> Actor:
        return Actor(self.name, self.token_id)

    def sees(self, code: str) -> bool:
        return self.projects is None or code in self.projects


def current() -> Principal:
    principal: Principal | None = g.get("principal")
    if principal is None:  # every non-public route is authenticated before it runs
        raise Unauthorized(refusal("token_required"))
    return principal


def require(*roles: Role) -> Principal:
    """Return the caller if its role is one of `roles` (admin always is), else 403."""
    principal = current()
    if principal.role is not Role.ADMIN and principal.role not in roles:
        allowed = sorted(r.value for r in {*roles, Role.ADMIN})
        raise Forbidden(refusal("role_may_not", role=principal.role),
                        {"role": [refusal("needs_roles", roles=allowed)]})
    return principal


def require_project(code: str, *roles: Role) -> Principal:
    """Like `require`, for a project route: another project's objects are simply not found."""
    principal = current()
    if not principal.sees(code):
        raise NotFound(refusal("project_not_found", code=code))
    return require(*roles) if roles else principal


def scope(principal: Principal, codes: Iterable[str] | None = None) -> frozenset[str] | None:
    if codes is None:
        return principal.projects
    wanted = frozenset(codes)
    return wanted if principal.projects is None else wanted & principal.projects


def _authenticate() -> None:
    if request.routing_exception is not None or request.endpoint in PUBLIC:
        return  # unknown routes answer 404/405 whoever asks
    if request.blueprint == "web":
        return  # the pages log in with a session cookie (api/web/account.py)
    if request.endpoint is None or request.method == "OPTIONS":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized(refusal("token_required"),
                           headers={"WWW-Authenticate": 'Bearer realm="riskengine"'})
    secret = secret.strip()
    attempt = throttled_attempt(secret)
    with service().database.look_up() as connection:
        throttle().check(connection, attempt)  # 429 while locked, valid token or not
        token = find_token(connection, secret)
    if token is None:
        throttle().failed(attempt)
        raise Unauthorized(refusal("token_unknown"),
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    g.principal = Principal.of(token)


def init_app(app: Flask) -> None:
    init_throttle(app)
    app.before_request(_authenticate)
