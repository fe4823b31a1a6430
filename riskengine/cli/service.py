"""`riskengine db`, `riskengine tokens` and `riskengine serve`: operating the HTTP service."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from riskengine.checklist.contract import PROJECT_CODE
from riskengine.cli import main
from riskengine.cli.assess import load_assessor
from riskengine.cli.errors import echo_refusal
from riskengine.store.database import Database, default_url, pending, upgrade
from riskengine.store.tokens import create_token, list_tokens, revoke_token
from riskengine.vocabulary import Owner

ROLES = ("submitter", "owner", "reviewer", "auditor", "admin")
EXIT_ERROR = 3
NAME_LENGTH = 80  # api_tokens.name, and the actor recorded in history


def _api(module: str) -> Any:
    # The service lives in the `api` package; the core CLI must not import Flask at start-up.
    return importlib.import_module(f"api.{module}")


def _database() -> Database:
    """The service's database, once it answers; if it does not, one line and exit code 3."""
    database = Database(default_url())
    try:
        with database.engine.connect():
            pass
    except OperationalError as error:
        url = database.engine.url
        where = f"{url.host}:{url.port or 5432}" if url.host else str(url.database)
        reason = _reason(error)
        click.echo(f"数据库不可达：{where}（{reason}）/ database unreachable: {where} ({reason})",
                   err=True)
        sys.exit(EXIT_ERROR)
    return database


def _reason(error: OperationalError) -> str:
    # The driver's own words, on one line: psycopg ends its first line with the cause
    # ("… port 1 failed: Connection refused"), SQLite says it in one phrase.
    first = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else "no answer"
    return first.rsplit("failed: ", 1)[-1].strip()


def _require_current(database: Database) -> None:
    if pending(database.engine):
        echo_refusal("schema_not_current")
        sys.exit(EXIT_ERROR)


@main.group()
def db() -> None:
    """The service's database (DATABASE_URL, default the embedded SQLite file)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    database = _database()
    revision = upgrade(database.engine)
    click.echo(f"database {database.engine.url.render_as_string(hide_password=True)} "
               f"is at revision {revision}")


@main.group()
def tokens() -> None:
    """API tokens: shown once when created, stored only as a hash."""


def _split(values: tuple[str, ...]) -> list[str]:
    return [code for value in values for code in value.split(",") if code.strip()]


@tokens.command("create", context_settings={"allow_interspersed_args": True})
@click.option("--role", required=True,
              help=f"One of {', '.join(ROLES)}; an owner names its department: owner:DEPT.")
@click.option("--department", type=click.Choice([o.value for o in Owner]),
              help="For --role owner: the department whose findings it works.")
@click.option("--projects", "projects", multiple=True,
              help="Project codes the token covers (default: every project).")
@click.option("--name", help="Who holds it, recorded in history (default: the role).")
@click.argument("more_projects", nargs=-1)
def tokens_create(role: str, department: str | None, projects: tuple[str, ...],
                  name: str | None, more_projects: tuple[str, ...]) -> None:
    """Create a token; its secret is the last word of the last line printed."""
    role, _, given = role.partition(":")
    department = department or given or None
    if role not in ROLES:
        raise click.BadParameter(f"must be one of {', '.join(ROLES)}", param_hint="--role")
    if role == "owner" and department not in {o.value for o in Owner}:
        raise click.BadParameter("an owner token needs --department (or --role owner:DEPT): "
                                 + ", ".join(o.value for o in Owner), param_hint="--department")
    if name is not None and not 0 < len(name) <= NAME_LENGTH:
        raise click.BadParameter(f"1 to {NAME_LENGTH} characters", param_hint="--name")
    if more_projects and not projects:
        raise click.UsageError(f"unexpected arguments: {' '.join(more_projects)}")
    codes = _split(projects + more_projects) or None
    wrong = [c for c in codes or () if not PROJECT_CODE.match(c)]
    if wrong:
        raise click.BadParameter(f"not project codes: {', '.join(wrong)}", param_hint="--projects")
    database = _database()
    _require_current(database)
    with database.write() as session:
        row, secret = create_token(session, name or role, role,
                                   department if role == "owner" else None, codes)
        click.echo(f"token {row.id} ({row.prefix}…) role={role}"
                   + (f" department={department}" if role == "owner" else "")
                   + f" projects={','.join(codes) if codes else 'all'}")
    click.echo("It is shown only now; store it safely.")
    click.echo(f"token: {secret}")


@tokens.command("revoke")
@click.argument("token")
def tokens_revoke(token: str) -> None:
    """Revoke TOKEN: its id, the prefix shown at creation, or the token itself."""
    database = _database()
    _require_current(database)
    with database.write() as session:
        if token.isdigit():
            rows = revoke_token(session, token_id=int(token))
        else:
            rows = revoke_token(session, prefix=token)
    if not rows:
        echo_refusal("no_live_token")
        sys.exit(1)
    for row in rows:
        click.echo(f"revoked token {row.id} ({row.prefix}…) role={row.role}")


@tokens.command("list")
def tokens_list() -> None:
    """List tokens (never their secrets)."""
    database = _database()
    _require_current(database)
    with database.read() as session:
        for row in list_tokens(session):
            state = "revoked" if row.revoked_at else "live"
            click.echo(f"{row.id}\t{row.prefix}…\t{row.role}\t{row.department or '-'}\t"
                       f"{','.join(row.projects or []) or 'all'}\t{row.name}\t{state}")


@main.command()
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None,
              envvar="RISKENGINE_WORKERS", show_envvar=True,
              help="Processes (default: one per core this process may run on).")
@click.option("--threads", type=click.IntRange(min=1), default=4, show_default=True,
              envvar="RISKENGINE_THREADS", show_envvar=True,
              help="Threads per process running the app (requests are read whole before).")
@click.option("--dev", is_flag=True, help="Local use: embedded database, a printed admin token.")
def serve(host: str | None, port: int, workers: int | None, threads: int, dev: bool) -> None:
    """Serve the HTTP API with gunicorn (production settings unless --dev)."""
    embedded = not os.environ.get("DATABASE_URL", "").strip()
    if dev:
        os.environ.setdefault("RISKENGINE_ENV", "development")
        os.environ.setdefault("RISKENGINE_SCHEDULER", "1")  # scheduled audits run in-process
    if embedded and not os.environ.get("SECRET_KEY"):
        # One host, one embedded database: a key kept beside it is as safe as the data.
        os.environ["SECRET_KEY"] = _api("serving").local_secret(Path.cwd() / "instance")
    try:
        _api("config").check_secret({"ENV": os.environ.get("RISKENGINE_ENV", "production"),
                                     "SECRET_KEY": os.environ.get("SECRET_KEY")})
    except RuntimeError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    load_assessor(None)  # bad rulesets: every problem listed, exit 3, before gunicorn starts
    database = _database()
    if dev:
        upgrade(database.engine)
    _require_current(database)
    host = host or "127.0.0.1"
    if dev:
        with database.write() as session:
            _, secret = create_token(session, "local-admin", "admin", None, None)
        for line in dev_banner(f"http://{host}:{port}", secret):
            click.echo(line)
    database.engine.dispose()
    _api("serving").serve(host, port, workers or (1 if dev else _usable_cores()), threads)


def dev_banner(base: str, secret: str) -> list[str]:
    """What `serve --dev` prints: where the pages are, how to log in, where the API is."""
    return [
        f"riskengine 网页 / pages: {base}/",
        f"  登录 / log in: {base}/login  API 令牌 / API token: {secret}",
        "  其他角色的令牌 / a token for another role: "
        "riskengine tokens create --role submitter --name pm.li",
        f"API 文档 / API docs: {base}/api/v1/docs",
        f"  curl -H 'Authorization: Bearer {secret}' {base}/api/v1/rulesets",
        f"local admin token: {secret}",
    ]


def _usable_cores() -> int:
    # The cores this process may run on (a container's cpuset), not the host's count. A CPU
    # quota (docker --cpus) is invisible here: set RISKENGINE_WORKERS for that.
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 2
