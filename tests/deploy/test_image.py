"""The Dockerfile's image, rehearsed without Docker: build it, run its CMD, probe the service.

No Docker engine runs here, so the image is rebuilt by hand from the Dockerfile itself (parsed,
never copied out): the build stage's COPY sources go to a scratch build context (what
.dockerignore excludes left out) and become a wheel; the final stage becomes a fresh virtualenv
holding only that wheel, an app dir standing for its WORKDIR with what its COPY and `mkdir` put
there, and exactly its ENV (paths under WORKDIR moved to the app dir). Its CMD and HEALTHCHECK
then run as written, on a free port of 127.0.0.1, once per database backend.

A template, static file or migration missing from the wheel, the service reading or writing
beside the source tree (or anywhere but `instance/`), or a CMD that no longer brings the service
up fails here. What Docker alone can tell (the base image, apt, the non-root user's permissions)
is not rehearsed; the final stage's settings are checked statically instead.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser
from http.cookies import Morsel, SimpleCookie
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlencode, urljoin

import pytest

from tests.api.support import BACKENDS, free_port, scratch_pg_database
from tests.shared import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
EXAMPLE = EXAMPLES / "sales-risky.json"
INSTANCE = "instance"  # under WORKDIR: the embedded database and its key, the only writable dir
START_TIMEOUT = 60.0  # seconds for /healthz to answer
STOP_TIMEOUT = 20.0  # seconds between SIGTERM and SIGKILL
STEP_TIMEOUT = 600.0  # one build step (pip may download)

Listing = dict[str, tuple[int, int, int]]


# --- The Dockerfile, parsed ---------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    args: str  # the rest of the instruction, `\` continuations joined


@dataclass(frozen=True)
class Copy:
    sources: list[str]
    dest: str  # absolute path in the image
    into: bool  # the sources go inside `dest` (`dest/` or several sources)
    stage: str | None  # --from
    chown: str | None  # --chown


@dataclass
class Stage:
    name: str | None
    base: str
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    cmd: list[str] | None = None
    cmd_exec_form: bool = False
    healthcheck: list[str] | None = None
    expose: list[int] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)
    runs: list[tuple[str, str]] = field(default_factory=list)  # (WORKDIR then, shell script)


def parse_instructions(text: str) -> list[Instruction]:
    """Instructions with `\\` continuations joined; comment and blank lines dropped (as Docker)."""
    found: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        found.append(Instruction(keyword.upper(), args.strip()))
        pending = ""
    assert not pending, f"the Dockerfile ends inside a continued instruction: {pending!r}"
    return found


def _json_list(args: str) -> list[str] | None:
    """The exec (JSON) form's arguments, or None for the shell form."""
    if not args.startswith("["):
        return None
    try:
        value = json.loads(args)
    except ValueError:
        return None  # Docker too falls back to the shell form
    return [str(v) for v in value] if isinstance(value, list) else None


def _command(args: str) -> tuple[list[str], bool]:
    exec_form = _json_list(args)
    return (exec_form, True) if exec_form is not None else (["/bin/sh", "-c", args], False)


def _env(args: str) -> dict[str, str]:
    words = shlex.split(args)
    pairs: dict[str, str] = {}
    if words and all("=" in word for word in words):
        for word in words:
            key, _, value = word.partition("=")
            pairs[key] = value
    else:  # the legacy form: ENV KEY the value
        key, _, value = args.partition(" ")
        pairs[key] = value.strip()
    for key, value in pairs.items():
        assert "$" not in value, f"ENV {key}={value}: variable expansion is not rehearsed"
    return pairs


def _copy(args: str, workdir: str) -> Copy:
    words = shlex.split(args)
    options = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        options[key] = value
    if words and words[0].startswith("["):
        words = _json_list(" ".join(words)) or words
    *sources, dest = words
    into = dest.endswith("/") or dest in {".", ".."} or len(sources) > 1
    return Copy(sources, posixpath.normpath(posixpath.join(workdir, dest)), into,
                options.get("from"), options.get("chown"))


def parse_stages(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for instruction in parse_instructions(text):
        keyword, args = instruction.keyword, instruction.args
        if keyword == "FROM":
            words = args.split()
            named = len(words) >= 3 and words[-2].lower() == "as"
            stages.append(Stage(words[-1] if named else None, words[0]))
            continue
        if not stages:
            continue  # ARG before the first FROM
        stage = stages[-1]
        if keyword == "WORKDIR":
            stage.workdir = posixpath.normpath(posixpath.join(stage.workdir, args))
        elif keyword == "ENV":
            stage.env.update(_env(args))
        elif keyword == "USER":
            stage.user = args
        elif keyword == "CMD":
            stage.cmd, stage.cmd_exec_form = _command(args)
        elif keyword == "HEALTHCHECK":
            match = re.fullmatch(r"((?:--[\w-]+=\S+\s+)*)CMD\s+(.*)", args, re.S)
            stage.healthcheck = _command(match.group(2))[0] if match else None
        elif keyword == "EXPOSE":
            stage.expose += [int(word.split("/")[0]) for word in args.split()]
        elif keyword == "VOLUME":
            stage.volumes += _json_list(args) or args.split()
        elif keyword in {"COPY", "ADD"}:
            stage.copies.append(_copy(args, stage.workdir))
        elif keyword == "RUN":
            stage.runs.append((stage.workdir, args))
    assert stages, "the Dockerfile has no FROM"
    return stages


def shell_commands(script: str) -> list[list[str]]:
    """The simple commands of a shell script (split at && || ; | &)."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in {"&&", "||", ";", "|", "&"}:
            commands.append([])
        else:
            commands[-1].append(token)
    return [command for command in commands if command]


def run_operands(stage: Stage, program: str) -> list[tuple[str, list[str]]]:
    """For each `program` its stage's RUNs call: (WORKDIR then, its non-option operands)."""
    return [(workdir, [w for w in words[1:] if not w.startswith("-")])
            for workdir, script in stage.runs for words in shell_commands(script)
            if words[0] == program]


def chowned(stage: Stage) -> list[tuple[str, str]]:
    """(owner, absolute path) of every `chown` and COPY --chown of the stage."""
    found = [(owner, posixpath.normpath(posixpath.join(workdir, path)))
             for workdir, (owner, *paths) in run_operands(stage, "chown") for path in paths]
    return found + [(copy.chown, copy.dest) for copy in stage.copies if copy.chown]


def made_dirs(stage: Stage) -> list[str]:
    return [posixpath.normpath(posixpath.join(workdir, path))
            for workdir, paths in run_operands(stage, "mkdir") for path in paths]


def shell_script(command: list[str]) -> str:
    """The script of `sh -c SCRIPT`, else the command as one line."""
    if len(command) == 3 and command[0] in {"sh", "/bin/sh"} and command[1] == "-c":
        return command[2]
    return shlex.join(command)


# --- The build context --------------------------------------------------------------------


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignore(context: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """(excludes?, pattern) rules of the context's .dockerignore, in order."""
    path = context / ".dockerignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    rules = []
    for line in (raw.strip() for raw in lines):
        if line and not line.startswith("#"):
            keep = line.startswith("!")
            pattern = posixpath.normpath(line.lstrip("!").strip("/"))
            rules.append((not keep, _glob_regex(pattern)))
    return rules


def ignored(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether .dockerignore leaves `relative` (or a dir above it) out of the context."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for excludes, regex in rules:
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            verdict = excludes
    return verdict


def in_root(root: Path, image_path: str) -> Path:
    """Where the image's absolute path `image_path` lies in the rehearsal's `root`."""
    return root / image_path.lstrip("/")


def copy_from_context(copy: Copy, context: Path, root: Path) -> None:
    """Do a COPY from the build context into the image's filesystem at `root`."""
    rules = dockerignore(context)
    dest = in_root(root, copy.dest)
    for source in copy.sources:
        assert not re.search(r"[*?\[]", source), f"COPY {source}: wildcards are not rehearsed"
        relative = posixpath.normpath(source)
        origin = context / relative
        assert origin.exists() and not ignored(relative, rules), (
            f"COPY {source}: not in the build context")
        if origin.is_dir():  # its contents go to dest
            dest.mkdir(parents=True, exist_ok=True)
            for path in sorted(origin.rglob("*")):
                inside = path.relative_to(origin)
                if ignored(f"{relative}/{inside.as_posix()}", rules):
                    continue
                target = dest / inside
                if path.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
        else:
            target = dest / origin.name if copy.into else dest
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)


# --- Processes and HTTP -------------------------------------------------------------------


def build_environment() -> dict[str, str]:
    """For the build steps: this process's environment (pip's settings) without Python's own."""
    dropped = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}
    return {key: value for key, value in os.environ.items()
            if key not in dropped and not key.startswith("RISKENGINE_")}


def run(command: list[str | Path], cwd: Path, env: dict[str, str],
        timeout: float = STEP_TIMEOUT) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout, check=False)
    assert done.returncode == 0, (
        f"{shlex.join(map(str, command))} exited {done.returncode}\n"
        f"--- stdout ---\n{done.stdout[-6000:]}\n--- stderr ---\n{done.stderr[-6000:]}")
    return done


def base_python() -> str:
    """The interpreter the test's virtualenv was made from (the image's `python`)."""
    found = getattr(sys, "_base_executable", None)
    if found and Path(found).exists():
        return str(found)
    return str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}")


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


def listing(root: Path, skip: str | None = None) -> Listing:
    """(mode, size, mtime) of everything under `root` except `skip` and what it holds."""
    found: Listing = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if skip is not None and (relative == skip or relative.startswith(skip + "/")):
            continue
        status = path.lstat()
        found[relative] = (status.st_mode, status.st_size, status.st_mtime_ns)
    return found


def differences(before: Listing, after: Listing) -> list[str]:
    return ([f"added {p}" for p in sorted(after.keys() - before.keys())]
            + [f"removed {p}" for p in sorted(before.keys() - after.keys())]
            + [f"changed {p}" for p in sorted(before.keys() & after.keys())
               if before[p] != after[p]])


# --- The image and its containers ---------------------------------------------------------


@dataclass(frozen=True)
class Image:
    stage: Stage  # the final one
    root: Path  # its filesystem: WORKDIR is in_root(root, stage.workdir)
    venv: Path  # its Python, with the wheel installed

    @property
    def workdir(self) -> Path:
        return in_root(self.root, self.stage.workdir)

    def environment(self, app: Path, database: str | None) -> dict[str, str]:
        """The ENV, WORKDIR moved to `app`; PATH, HOME, a key; nothing from this process."""
        workdir = self.stage.workdir.rstrip("/")
        env = {key: str(app) + value[len(workdir):]
               if value == workdir or value.startswith(workdir + "/") else value
               for key, value in self.stage.env.items()}
        env.update(PATH=f"{self.venv / 'bin'}:/usr/bin:/bin", HOME=str(app),
                   SECRET_KEY=secrets.token_urlsafe(48))
        if database is not None:
            env["DATABASE_URL"] = database
        return env


@dataclass
class Container:
    image: Image
    backend: str
    app: Path
    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    app_before: Listing
    venv_before: Listing

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-8000:]

    def explain(self, response: Response) -> str:
        return (f"HTTP {response.status}: {response.body[:1500]!r}\n"
                f"--- server log ({self.backend}) ---\n{self.log()}")

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"the CMD exited {self.process.returncode} before /healthz "
                            f"answered\n--- server log ({self.backend}) ---\n{self.log()}")
            with suppress(OSError):
                if fetch(self.url("/healthz")).status == 200:
                    return
            if time.monotonic() > deadline:
                pytest.fail(f"/healthz did not answer within {START_TIMEOUT:.0f}s\n"
                            f"--- server log ({self.backend}) ---\n{self.log()}")
            time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the CMD's process group (sh, gunicorn and its workers), SIGKILL if it lingers."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            pass
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextmanager
def empty_database(backend: str) -> Iterator[str | None]:
    """None for the embedded SQLite file; else a new, empty PostgreSQL database, dropped after:
    the image's own `db upgrade` must bring it to the schema, as in a first deployment."""
    if backend == "sqlite":
        yield None
        return
    with scratch_pg_database("rk_image") as url:
        yield url


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_stages(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final(stages: list[Stage]) -> Stage:
    return stages[-1]


@pytest.fixture(scope="module")
def image(stages: list[Stage], final: Stage,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    """Build stage, then runtime stage: a wheel, a venv with it, the WORKDIR's files."""
    base = tmp_path_factory.mktemp("image")
    environment = build_environment()
    wheels = base / "wheels"
    imports = [copy for copy in final.copies if copy.stage]
    assert len(imports) == 1, "the rehearsal expects one COPY --from (the wheels) in the image"
    build = next((s for s in stages if s.name == imports[0].stage), None)
    assert build is not None, f"COPY --from={imports[0].stage}: no such stage"
    assert any(re.search(r"\bpip wheel\b.*\s\.$", script) for _, script in build.runs), (
        "the rehearsal expects the build stage to `pip wheel ... .` its WORKDIR")
    # Built from what the build stage COPYs (.dockerignore applied), never in the source tree:
    # an in-tree build leaves build/ and *.egg-info there, and a stale build/lib goes in the
    # wheel, neither of which the image's build would see.
    build_root = base / "build-stage"
    for copy in build.copies:
        assert copy.stage is None, "the build stage copies from the build context only"
        copy_from_context(copy, ROOT, build_root)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", wheels,
         in_root(build_root, build.workdir)], base, environment)
    built = sorted(wheels.glob("riskengine-*.whl"))
    assert len(built) == 1, f"expected one riskengine wheel, got {built}"

    venv = base / "venv"
    run([base_python(), "-m", "venv", venv], base, environment)
    run([venv / "bin" / "python", "-m", "pip", "install", *built], base, environment)
    root = base / "root"
    for copy in final.copies:
        if copy.stage is None:
            copy_from_context(copy, ROOT, root)
    for made in made_dirs(final):
        in_root(root, made).mkdir(parents=True, exist_ok=True)
    in_root(root, final.workdir).mkdir(parents=True, exist_ok=True)
    yield Image(final, root, venv)
    shutil.rmtree(venv, ignore_errors=True)  # 100+ MB; pytest keeps the rest for a look


@pytest.fixture(scope="module", params=BACKENDS)
def container(request: pytest.FixtureRequest, image: Image,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    """The image's CMD running on the backend ("sqlite": no DATABASE_URL, the embedded file)."""
    backend = str(request.param)
    base = tmp_path_factory.mktemp(f"container-{backend}")
    app = base / "app"
    shutil.copytree(image.workdir, app, symlinks=True)
    stage = image.stage
    port = free_port()
    command = [re.sub(r"(--host[= ])0\.0\.0\.0\b", r"\g<1>127.0.0.1",
                      re.sub(rf"(--port[= ]){stage.expose[0]}\b", rf"\g<1>{port}", part))
               for part in stage.cmd or []]
    assert str(port) in " ".join(command), f"CMD {stage.cmd}: no --port {stage.expose} to move"
    with ExitStack() as stack:
        url = stack.enter_context(empty_database(backend))
        env = image.environment(app, url)
        log_path = base / "server.log"
        log = stack.enter_context(log_path.open("wb"))
        app_before, venv_before = listing(app, skip=INSTANCE), listing(image.venv)
        process = subprocess.Popen(command, cwd=app, env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        stack.callback(stop, process)
        running = Container(image, backend, app, env, port, log_path, process, app_before,
                            venv_before)
        running.wait_healthy()
        yield running


@dataclass(frozen=True)
class Submitted:
    code: str
    token: str
    response: Response


@pytest.fixture(scope="module")
def submission(container: Container) -> Submitted:
    """An admin token from the image's CLI, and the contract's risky example submitted with it."""
    created = run([container.image.venv / "bin" / "riskengine", "tokens", "create",
                   "--role", "admin"], container.app, container.env, timeout=120)
    token = created.stdout.strip().splitlines()[-1].split()[-1]
    body = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    code = f"IMG-{uuid.uuid4().hex[:10].upper()}"
    body["project"]["code"] = code
    response = fetch(container.url(f"/api/v1/projects/{code}/checklists"), "POST",
                     json.dumps(body, ensure_ascii=False).encode(),
                     {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return Submitted(code, token, response)


# --- The image, running -------------------------------------------------------------------


def test_image_imports_the_installed_package(image: Image) -> None:
    probe = ("import json, sys, sysconfig, api, riskengine; print(json.dumps({"
             "'purelib': sysconfig.get_paths()['purelib'], 'prefix': sys.prefix, "
             "'modules': [riskengine.__file__, api.__file__], 'path': sys.path}))")
    env = image.environment(image.workdir, None)
    done = run([image.venv / "bin" / "python", "-c", probe], image.workdir, env, timeout=120)
    seen = json.loads(done.stdout)
    purelib = Path(seen["purelib"]).resolve()
    assert Path(seen["prefix"]).resolve() == image.venv.resolve()
    assert purelib.is_relative_to(image.venv.resolve())
    for module in seen["modules"]:
        assert Path(module).resolve().is_relative_to(purelib), f"{module} is not the wheel's"
    leaks = [p for p in seen["path"] if p and Path(p).resolve().is_relative_to(ROOT)]
    assert not leaks, f"the image's Python sees the source tree: {leaks}"


def test_healthcheck_passes(container: Container) -> None:
    stage = container.image.stage
    assert stage.healthcheck, "the final stage has no HEALTHCHECK"

    def healthcheck(port: int) -> subprocess.CompletedProcess[str]:
        command = [re.sub(rf"(?<=:){stage.expose[0]}\b", str(port), part)
                   for part in stage.healthcheck or []]
        assert command != stage.healthcheck, "the HEALTHCHECK does not probe the EXPOSE port"
        return subprocess.run(command, cwd=container.app, env=container.env, text=True,
                              capture_output=True, timeout=60, check=False)

    done = healthcheck(container.port)
    assert done.returncode == 0, (
        f"HEALTHCHECK exited {done.returncode}: {done.stdout}{done.stderr}\n"
        f"--- server log ({container.backend}) ---\n{container.log()}")
    assert healthcheck(free_port()).returncode != 0, "the HEALTHCHECK passes with no service"


def test_readyz_checks_the_database(container: Container) -> None:
    response = fetch(container.url("/readyz"))
    assert response.status == 200, container.explain(response)
    ready = response.json()
    assert ready["status"] == "ok" and ready["checks"]["database"] == "ok", ready
    assert ready["checks"]["rulesets"] > 0, ready


def test_token_from_cli_submits_a_checklist(container: Container, submission: Submitted) -> None:
    response = submission.response
    assert response.status == 201, container.explain(response)
    findings = response.json()["findings"]
    assert findings, container.explain(response)


def test_openapi_document(container: Container) -> None:
    response = fetch(container.url("/api/v1/openapi.json"))
    assert response.status == 200, container.explain(response)
    assert response.json()["paths"]


class _Assets(HTMLParser):
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


def test_login_page_and_its_static_files(container: Container) -> None:
    page = fetch(container.url("/login"))
    assert page.status == 200, container.explain(page)
    assert page.headers.get_content_type() == "text/html"
    assets = _Assets()
    assets.feed(page.body.decode("utf-8"))
    assert assets.stylesheets, "the login page links no stylesheet"
    for href in assets.stylesheets + assets.scripts:
        response = fetch(urljoin(container.url("/login"), href))
        assert response.status == 200, f"{href}: {container.explain(response)}"
        assert response.body, f"{href} is empty"
    for href in assets.stylesheets:
        kind = fetch(urljoin(container.url("/login"), href)).headers.get_content_type()
        assert kind == "text/css", f"{href}: {kind}"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def set_cookies(response: Response) -> dict[str, Morsel[str]]:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return dict(jar)


def web_login(container: Container, token: str) -> dict[str, str]:
    """Log in on the web form; the headers of that browser session.

    Production sets Secure session cookies; the rehearsal has no TLS proxy in front, so the
    cookie is sent back by hand.
    """
    form = fetch(container.url("/login"))
    assert form.status == 200, container.explain(form)
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.body.decode("utf-8"))
    assert found, "the login form has no csrf_token"
    cookies = set_cookies(form)
    answer = fetch(container.url("/login"), "POST",
                   urlencode({"csrf_token": found[1], "token": token}).encode(),
                   {"Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": "; ".join(f"{k}={m.value}" for k, m in cookies.items())})
    assert answer.status in {302, 303}, container.explain(answer)
    cookies.update(set_cookies(answer))
    session = cookies.get("riskengine_session")
    assert session is not None, f"no session cookie: {answer.headers}"
    assert session["secure"] and session["httponly"], f"production cookie: {session}"
    return {"Cookie": f"riskengine_session={session.value}"}


def downloads(container: Container, submission: Submitted) -> list[tuple[str, str, Response]]:
    """(path, expected media type, response) of pages, report and template downloads."""
    bearer = {"Authorization": f"Bearer {submission.token}"}
    project = fetch(container.url(f"/api/v1/projects/{submission.code}"), headers=bearer)
    assert project.status == 200, container.explain(project)
    assessment = project.json()["latest_assessment_id"]
    browser = web_login(container, submission.token)
    wanted = [(f"/assessments/{assessment}/report.pdf", "application/pdf", browser),
              (f"/assessments/{assessment}/report.xlsx", XLSX, browser),
              (f"/assessments/{assessment}/report", "text/html", browser),
              (f"/projects/{submission.code}", "text/html", browser),
              ("/", "text/html", browser),
              ("/api/v1/templates/sales.xlsx", XLSX, bearer)]
    return [(path, kind, fetch(container.url(path), headers=headers))
            for path, kind, headers in wanted]


def test_reports_and_templates_download(container: Container, submission: Submitted) -> None:
    assert submission.response.status == 201, container.explain(submission.response)
    for path, kind, response in downloads(container, submission):
        assert response.status == 200, f"{path}: {container.explain(response)}"
        assert response.headers.get_content_type() == kind, path
        assert response.body, path


def test_writes_nothing_outside_instance(container: Container, submission: Submitted) -> None:
    # After the CLI, a submission, reports and pages: the image's WORKDIR and its installed
    # Python are root's there, the service may only write under instance/.
    assert submission.response.status == 201, container.explain(submission.response)
    downloads(container, submission)
    for path in ("/login", "/readyz", "/healthz"):
        fetch(container.url(path))
    changed = differences(container.app_before, listing(container.app, skip=INSTANCE))
    assert not changed, f"written in WORKDIR outside {INSTANCE}/: {changed}"
    changed = differences(container.venv_before, listing(container.image.venv))
    assert not changed, f"written in the installed Python: {changed[:50]}"
    if container.backend == "sqlite":
        assert (container.app / INSTANCE / "riskengine.sqlite3").is_file()


# --- The final stage, read ----------------------------------------------------------------


def test_runs_as_an_unprivileged_user(final: Stage) -> None:
    assert final.user, "the final stage has no USER: it runs as root"
    user = final.user.split(":")[0]
    assert user not in {"root", "0"}, f"USER {final.user}"


def test_only_the_instance_dir_belongs_to_the_user(final: Stage) -> None:
    instance = posixpath.join(final.workdir, INSTANCE)
    owned = chowned(final)
    assert [path for _, path in owned] == [instance], f"chowned: {owned}"
    assert all(owner.split(":")[0] == (final.user or "").split(":")[0] for owner, _ in owned)
    assert instance in made_dirs(final), f"{instance} is never created"
    assert instance in final.volumes, f"{instance} is not a VOLUME: {final.volumes}"


def test_healthcheck_targets_healthz(final: Stage) -> None:
    assert final.healthcheck, "the final stage has no HEALTHCHECK"
    assert len(final.expose) == 1, f"EXPOSE {final.expose}"
    probe = shell_script(final.healthcheck)
    assert re.search(rf"http://(127\.0\.0\.1|localhost):{final.expose[0]}/healthz\b", probe), probe


def test_cmd_migrates_then_serves(final: Stage) -> None:
    assert final.cmd and final.cmd_exec_form, "CMD must be in JSON (exec) form"
    script = shell_script(final.cmd)
    assert re.fullmatch(r"riskengine db upgrade && exec riskengine serve\b.*", script), script
    words = shlex.split(script)
    serve = words[words.index("serve"):]
    assert ["--host", "0.0.0.0"] in [serve[i:i + 2] for i in range(len(serve))], (
        f"serve must listen on every interface in a container: {script}")
    assert ["--port", str(final.expose[0])] in [serve[i:i + 2] for i in range(len(serve))], (
        f"serve must listen on the EXPOSE port {final.expose}: {script}")


def test_env_is_production_with_the_rulesets_inside_workdir(final: Stage) -> None:
    assert final.env.get("RISKENGINE_ENV") == "production"
    rulesets = PurePosixPath(final.env.get("RISKENGINE_RULESETS", ""))
    workdir = PurePosixPath(final.workdir)
    assert rulesets.is_absolute() and rulesets.is_relative_to(workdir) and rulesets != workdir, (
        f"RISKENGINE_RULESETS={rulesets}, WORKDIR {workdir}")
    copied = [copy for copy in final.copies
              if copy.stage is None and copy.sources == ["rulesets"] and not copy.into]
    assert [PurePosixPath(copy.dest) for copy in copied] == [rulesets], (
        f"the rulesets are not copied to RISKENGINE_RULESETS: {final.copies}")
