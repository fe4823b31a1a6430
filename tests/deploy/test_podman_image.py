"""The Dockerfile, built for real with podman and run as its image says, on SQLite and PostgreSQL.

The build context is a clean copy of what git tracks (never the working tree's leftovers); the
base is tests/deploy/standin.py's stand-in for python:3.11-slim, passed as the `BASE` build
argument. The build's apt uses this machine's Debian mirror (written into the stand-in base); its
pip uses this machine's pip settings and the local indexes and CA bundle they name, bound into
the RUN steps only (`podman build --volume`), so no layer keeps them.

`podman run` cannot start a container on this machine kind (crun: cgroups in hybrid mode,
setrlimit refused), so a container is played by hand: the image's filesystem, mounted read-only
(`podman image mount`), in a private mount namespace with /dev, /proc, a scratch /tmp and a
scratch volume on each VOLUME bound in; there its CMD and HEALTHCHECK run as the image's USER
(chroot --userspec), in its WORKDIR, with exactly its ENV and the service's secrets. Networking is
this machine's (PostgreSQL is at 127.0.0.1): the CMD's port is moved to a free one and its host
to 127.0.0.1. The read-only image makes any write outside /tmp and the volume fail the service.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urljoin, urlparse

import pytest

from tests.api.support import BACKENDS, free_port, scratch_pg_database
from tests.deploy import standin
from tests.deploy.client import Assets, Response, fetch, web_login
from tests.shared import EXAMPLES

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = EXAMPLES / "sales-ready.json"
USER_ID = 10001  # the Dockerfile's: a volume's owner on the host is told this number
BUILD_TIMEOUT = 900.0  # seconds for `podman build` (apt, pip, a C++ compile)
START_TIMEOUT = 60.0  # seconds for /healthz to answer
STOP_TIMEOUT = 20.0  # seconds between SIGTERM and SIGKILL
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The host's tools that set the container up (looked up before PATH becomes the image's).
TOOLS = {name: shutil.which(name) or name for name in ("unshare", "chroot", "mount", "sh")}


def run(command: list[str], timeout: float, **options: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, text=True, capture_output=True, timeout=timeout, check=False,
                          **options)
    assert done.returncode == 0, (
        f"{shlex.join(command)} exited {done.returncode}\n"
        f"--- stdout ---\n{done.stdout[-6000:]}\n--- stderr ---\n{done.stderr[-6000:]}")
    return done


# --- The build ----------------------------------------------------------------------------


def clean_context(target: Path) -> Path:
    """What git tracks, as the working tree has it: nothing ignored, untracked or generated."""
    listed = run(["git", "ls-files", "-z"], 60, cwd=ROOT).stdout.split("\0")
    for relative in filter(None, listed):
        source = ROOT / relative
        if source.is_file():  # a tracked file deleted in the working tree stays out
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)
    return target


def pip_settings() -> dict[tuple[str, str], str]:
    """This machine's pip settings ((section, name) -> value), its environment's winning."""
    listed = run([sys.executable, "-m", "pip", "config", "list"], 60).stdout.splitlines()
    files, environment = {}, {}
    for line in listed:
        found = re.fullmatch(r"([^.=]*)\.([^=]+)='(.*)'", line)
        if found:
            section, name, value = found.groups()
            if section == ":env:":
                environment[("global", name)] = value
            else:
                files[(section, name)] = value
    return files | environment


def pip_volumes(settings: dict[tuple[str, str], str], scratch: Path) -> list[str]:
    """`--volume` options that give the build's pip these settings and the local paths they
    name (a file index's root, a find-links directory, the CA bundle, a constraints file)."""
    sections: dict[str, list[str]] = {}
    paths: set[str] = set()
    for (section, name), value in sorted(settings.items()):
        sections.setdefault(section, []).append(f"{name} = {value}")
        for word in value.split():
            if word.startswith("file://"):
                paths.add(str(PurePosixPath(urlparse(word).path).parent))
            elif word.startswith("/") and Path(word).exists():
                paths.add(word)
    config = scratch / "pip.conf"
    config.write_text("".join(f"[{section}]\n" + "\n".join(lines) + "\n"
                              for section, lines in sections.items()), encoding="utf-8")
    return [f"--volume={config}:/etc/pip.conf:ro",
            *[f"--volume={path}:{path}:ro" for path in sorted(paths)]]


@dataclass(frozen=True)
class Image:
    tag: str
    root: Path  # its filesystem, mounted read-only
    config: dict[str, Any]  # the image's Config: User, Env, Cmd, Healthcheck, ...
    uid: int
    gid: int
    home: str
    build_sources: list[str]  # where the build's RUN steps saw this machine's pip settings

    @property
    def workdir(self) -> str:
        return str(self.config.get("WorkingDir") or "/")

    @property
    def port(self) -> int:
        exposed = list(self.config.get("ExposedPorts") or {})
        assert len(exposed) == 1, f"EXPOSE {exposed}"
        return int(exposed[0].split("/")[0])

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

    def environment(self, database: str | None = None) -> dict[str, str]:
        """The image's ENV, HOME of its USER (as Docker sets it), the service's secret key."""
        env = dict(item.split("=", 1) for item in self.config.get("Env") or [])
        env.update(HOME=self.home, SECRET_KEY=secrets.token_urlsafe(48))
        if database is not None:
            env["DATABASE_URL"] = database
        return env


def account(root: Path, user: str) -> tuple[int, int, str]:
    """(uid, gid, home) of USER `user` (a name or a number) in the image's /etc/passwd."""
    for line in (root / "etc/passwd").read_text(encoding="utf-8").splitlines():
        name, _, uid, gid, _, home, _ = line.split(":")
        if user in {name, uid}:
            return int(uid), int(gid), home
    raise AssertionError(f"USER {user}: not in the image's /etc/passwd")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    scratch = tmp_path_factory.mktemp("podman-build")
    context = clean_context(scratch / "context")
    started = time.monotonic()
    base = standin.image()
    print(f"stand-in base: {time.monotonic() - started:.0f}s", file=sys.stderr)
    tag = f"localhost/riskengine-test:{uuid.uuid4().hex[:12]}"
    # --layers=false: every step runs, as on a fresh machine; docker format keeps HEALTHCHECK.
    sources = pip_volumes(pip_settings(), scratch)
    command = ["podman", "build", "--isolation=chroot", "--format=docker", "--layers=false",
               "--pull=never", f"--build-arg=BASE={base}",
               *sources, f"--tag={tag}", str(context)]
    started = time.monotonic()
    run(command, BUILD_TIMEOUT)
    print(f"podman build: {time.monotonic() - started:.0f}s", file=sys.stderr)
    try:
        inspected = json.loads(run(["podman", "image", "inspect", tag], 60).stdout)[0]
        root = Path(run(["podman", "image", "mount", tag], 60).stdout.strip())
        try:
            # podman keeps HEALTHCHECK beside the Config (docker format), Docker inside it.
            config = inspected["Config"] | {
                "Healthcheck": inspected.get("Healthcheck") or inspected["Config"].get(
                    "Healthcheck")}
            uid, gid, home = account(root, str(config.get("User") or "root").split(":")[0])
            bound = [option.split(":")[1] for option in sources]
            yield Image(tag, root, config, uid, gid, home, bound)
        finally:
            subprocess.run(["podman", "image", "unmount", tag], capture_output=True, check=False)
    finally:
        subprocess.run(["podman", "rmi", "--force", tag], capture_output=True, check=False)


# --- A container, played by hand -----------------------------------------------------------


def volumes(image: Image, scratch: Path) -> dict[str, Path]:
    """A fresh scratch directory for each VOLUME, owned as the image has it (as Docker fills a
    new volume), and a scratch /tmp (a container's is its own, writable by all)."""
    made = {}
    for index, inside in enumerate(sorted(image.config.get("Volumes") or {})):
        status = image.path(inside).stat()
        host = scratch / f"volume-{index}"
        host.mkdir()
        os.chown(host, status.st_uid, status.st_gid)
        host.chmod(stat.S_IMODE(status.st_mode))
        made[inside] = host
    tmp = scratch / "tmp"
    tmp.mkdir()
    tmp.chmod(0o1777)
    made["/tmp"] = tmp
    return made


def inside(image: Image, binds: dict[str, Path], command: list[str]) -> list[str]:
    """`command` run in the image: its own mount namespace (gone with it), /dev, /proc and
    `binds` mounted, chrooted as the image's USER, in its WORKDIR."""
    root = str(image.root)
    mounts = [[TOOLS["mount"], "--rbind", "/dev", f"{root}/dev"],
              [TOOLS["mount"], "-t", "proc", "proc", f"{root}/proc"],
              *[[TOOLS["mount"], "--bind", str(host), f"{root}{path}"]
                for path, host in binds.items()]]
    enter = [TOOLS["chroot"], f"--userspec={image.uid}:{image.gid}", root,
             "/bin/sh", "-c", 'cd "$0" && exec "$@"', image.workdir, *command]
    script = " && ".join([*map(shlex.join, mounts), "exec " + shlex.join(enter)])
    return [TOOLS["unshare"], "--mount", "--propagation=private", TOOLS["sh"], "-c", script]


def on_port(command: list[str], exposed: int, port: int) -> list[str]:
    """`command` with the EXPOSE port moved to `port` and every interface narrowed to
    127.0.0.1 (this machine's network is shared)."""
    moved = [re.sub(rf"(?<=:){exposed}\b|(?<=--port[= ]){exposed}\b", str(port), part)
             for part in command]
    return [re.sub(r"(?<=--host[= ])0\.0\.0\.0\b", "127.0.0.1", part) for part in moved]


def healthcheck_command(image: Image) -> list[str]:
    test = (image.config.get("Healthcheck") or {}).get("Test") or []
    assert test and test[0] in {"CMD", "CMD-SHELL"}, f"HEALTHCHECK {test}"
    return test[1:] if test[0] == "CMD" else ["/bin/sh", "-c", test[1]]


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the CMD's process group (sh, gunicorn and its workers), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)


@dataclass
class Container:
    image: Image
    backend: str
    binds: dict[str, Path]
    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-8000:]

    def explain(self, response: Response) -> str:
        return (f"HTTP {response.status}: {response.body[:1500]!r}\n"
                f"--- server log ({self.backend}) ---\n{self.log()}")

    def execute(self, command: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`command` beside the service (`docker exec`), its outcome whatever it is."""
        return subprocess.run(inside(self.image, self.binds, command), env=self.env, text=True,
                              capture_output=True, timeout=timeout, check=False)

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


@contextmanager
def empty_database(backend: str) -> Iterator[str | None]:
    """None for the embedded SQLite file; else a new, empty PostgreSQL database, dropped after:
    the image's own `db upgrade` must bring it to the schema, as in a first deployment."""
    if backend == "sqlite":
        yield None
        return
    with scratch_pg_database("rk_podman") as url:
        yield url


@pytest.fixture(scope="module", params=BACKENDS)
def container(request: pytest.FixtureRequest, image: Image,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    """The image's CMD running on the backend ("sqlite": no DATABASE_URL, the volume's file)."""
    backend = str(request.param)
    scratch = tmp_path_factory.mktemp(f"container-{backend}")
    binds = volumes(image, scratch)
    port = free_port()
    command = on_port(list(image.config.get("Cmd") or []), image.port, port)
    assert str(port) in " ".join(command), f"CMD {image.config.get('Cmd')}: no port to move"
    with ExitStack() as stack:
        env = image.environment(stack.enter_context(empty_database(backend)))
        log_path = scratch / "server.log"
        log = stack.enter_context(log_path.open("wb"))
        process = subprocess.Popen(inside(image, binds, command), env=env,
                                   stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        stack.callback(stop, process)
        running = Container(image, backend, binds, env, port, log_path, process)
        running.wait_healthy()
        yield running


@dataclass(frozen=True)
class Submitted:
    code: str
    token: str
    response: Response


@pytest.fixture(scope="module")
def submission(container: Container) -> Submitted:
    """An admin token from the image's CLI, and the contract's ready example submitted with it."""
    created = container.execute(["riskengine", "tokens", "create", "--role", "admin"])
    assert created.returncode == 0, f"tokens create: {created.stdout}{created.stderr}"
    token = created.stdout.strip().splitlines()[-1].split()[-1]
    body = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    code = f"IMG-{uuid.uuid4().hex[:10].upper()}"
    body["project"]["code"] = code
    response = fetch(container.url(f"/api/v1/projects/{code}/checklists"), "POST",
                     json.dumps(body, ensure_ascii=False).encode(),
                     {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return Submitted(code, token, response)


# --- The image, as built ------------------------------------------------------------------


def test_runs_as_uid_and_gid_10001(image: Image) -> None:
    assert image.config.get("User") not in {None, "", "root", "0"}, image.config.get("User")
    assert (image.uid, image.gid) == (USER_ID, USER_ID), (image.uid, image.gid)


def test_only_the_volume_belongs_to_the_user(image: Image) -> None:
    # A service that could rewrite its own code or rules would not be the one reviewed.
    skipped = {image.path(p) for p in ("/proc", "/dev", "/sys", "/tmp", "/var/tmp", "/run")}
    owned, writable = [], []
    for folder, dirs, files in os.walk(image.root):
        dirs[:] = [d for d in dirs if Path(folder, d) not in skipped]
        for name in dirs + files:
            status = Path(folder, name).lstat()
            inside_path = "/" + Path(folder, name).relative_to(image.root).as_posix()
            if status.st_uid == image.uid:
                owned.append(inside_path)
            if not stat.S_ISLNK(status.st_mode) and status.st_mode & stat.S_IWOTH:
                writable.append(inside_path)
    assert owned == sorted(image.config.get("Volumes") or {}), f"owned by the user: {owned}"
    assert owned == [f"{image.workdir}/instance"], owned
    assert not writable, f"writable by anyone: {writable[:20]}"


def test_build_tools_stay_in_the_build_stage(image: Image) -> None:
    leftovers = [p for p in ("/src", "/wheels", "/usr/bin/gcc", "/usr/bin/g++", "/usr/bin/make",
                             "/var/lib/apt/lists/lock") if image.path(p).exists()]
    assert not leftovers, f"in the final image: {leftovers}"
    assert not list(image.path("/var/lib/apt/lists").glob("*_Packages*")), "apt lists kept"


def test_this_machines_package_sources_stay_out_of_the_image(image: Image) -> None:
    assert image.build_sources, "the build was given no pip settings"
    # A file bound over the base's own (the CA bundle) is the base's again; buildah leaves the
    # mount points it made (an empty /etc/pip.conf, empty folders), never what was bound there.
    kept = [path for path in image.build_sources if path == "/etc/pip.conf" and
            image.path(path).exists() and image.path(path).stat().st_size > 0
            or image.path(path).is_dir() and any(image.path(path).iterdir())]
    assert not kept, f"the image keeps the build's pip settings: {kept}"


def test_the_pdf_font_is_installed(image: Image) -> None:
    font = image.path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
    assert font.is_file() and font.stat().st_size > 1_000_000, font


def test_env_is_production_with_the_rulesets_inside(image: Image) -> None:
    env = image.environment()
    assert env.get("RISKENGINE_ENV") == "production", env
    rulesets = PurePosixPath(env.get("RISKENGINE_RULESETS", ""))
    assert rulesets.is_relative_to(image.workdir) and rulesets != PurePosixPath(image.workdir)
    assert list(image.path(str(rulesets)).glob("*/*.yaml")), f"no rules in {rulesets}"
    assert "SECRET_KEY" not in dict(i.split("=", 1) for i in image.config.get("Env") or [])


def test_cmd_migrates_then_serves_on_the_exposed_port(image: Image) -> None:
    command = image.config.get("Cmd") or []
    assert command[:2] == ["sh", "-c"] and len(command) == 3, command
    assert re.fullmatch(rf"riskengine db upgrade && exec riskengine serve --host 0\.0\.0\.0 "
                        rf"--port {image.port}", command[2]), command


def test_healthcheck_probes_healthz_with_a_timeout(image: Image) -> None:
    check = image.config.get("Healthcheck") or {}
    probe = " ".join(healthcheck_command(image))
    assert re.search(rf"http://(127\.0\.0\.1|localhost):{image.port}/healthz\b", probe), probe
    interval, timeout = check.get("Interval", 0), check.get("Timeout", 0)  # nanoseconds
    assert 0 < timeout < interval, check


def test_python_runs_the_installed_package(image: Image, tmp_path: Path) -> None:
    probe = ("import json, sysconfig, api, riskengine, durable_rules_engine; print(json.dumps("
             "{'purelib': sysconfig.get_paths()['purelib'], "
             "'modules': [riskengine.__file__, api.__file__, durable_rules_engine.__file__]}))")
    done = run(inside(image, volumes(image, tmp_path), ["python", "-c", probe]), 120,
               env=image.environment())
    seen = json.loads(done.stdout)
    for module in seen["modules"]:
        assert module.startswith(seen["purelib"] + "/"), f"{module} is not the wheel's"


# --- The image, running -------------------------------------------------------------------


def test_healthcheck_passes_and_fails_without_the_service(container: Container) -> None:
    probe = healthcheck_command(container.image)
    done = container.execute(on_port(probe, container.image.port, container.port), timeout=60)
    assert done.returncode == 0, (
        f"HEALTHCHECK exited {done.returncode}: {done.stdout}{done.stderr}\n{container.log()}")
    nobody = container.execute(on_port(probe, container.image.port, free_port()), timeout=60)
    assert nobody.returncode != 0, "the HEALTHCHECK passes with no service"


def test_readyz_checks_the_database(container: Container) -> None:
    response = fetch(container.url("/readyz"))
    assert response.status == 200, container.explain(response)
    ready = response.json()
    assert ready["status"] == "ok" and ready["checks"]["database"] == "ok", ready
    assert ready["checks"]["rulesets"] > 0, ready


def test_token_from_the_cli_submits_a_checklist(container: Container,
                                                 submission: Submitted) -> None:
    response = submission.response
    assert response.status == 201, container.explain(response)
    answer = response.json()
    assert answer["project_code"] == submission.code and answer["rulesets"], answer
    # The contract's ready example passes its gate: the image's rules are the reviewed ones.
    gate = answer["gate"]
    assert gate == {"decision": "pass", "blocking": [], "blocking_ids": []}, gate


def test_login_page_and_its_static_files(container: Container) -> None:
    page = fetch(container.url("/login"))
    assert page.status == 200, container.explain(page)
    assets = Assets()
    assets.feed(page.body.decode("utf-8"))
    assert assets.stylesheets, "the login page links no stylesheet"
    for href in assets.stylesheets + assets.scripts:
        response = fetch(urljoin(container.url("/login"), href))
        assert response.status == 200 and response.body, f"{href}: {container.explain(response)}"


def test_pdf_report_embeds_the_cjk_font(container: Container, submission: Submitted) -> None:
    assert submission.response.status == 201, container.explain(submission.response)
    bearer = {"Authorization": f"Bearer {submission.token}"}
    project = fetch(container.url(f"/api/v1/projects/{submission.code}"), headers=bearer)
    assert project.status == 200, container.explain(project)
    assessment = project.json()["latest_assessment_id"]
    browser, session = web_login(container.url(""), submission.token)
    assert session["secure"] and session["httponly"], f"production cookie: {session}"
    wanted = [(f"/assessments/{assessment}/report.pdf", "application/pdf", browser),
              (f"/assessments/{assessment}/report.xlsx", XLSX, browser),
              (f"/assessments/{assessment}/report", "text/html", browser),
              (f"/projects/{submission.code}", "text/html", browser),
              ("/api/v1/templates/sales.xlsx", XLSX, bearer)]
    for path, kind, headers in wanted:
        response = fetch(container.url(path), headers=headers)
        assert response.status == 200, f"{path}: {container.explain(response)}"
        assert response.headers.get_content_type() == kind, path
        if kind == "application/pdf":
            assert response.body.startswith(b"%PDF-"), response.body[:20]
            assert b"WenQuanYi" in response.body, "the PDF does not embed WenQuanYi Micro Hei"


def test_the_embedded_database_lies_in_the_volume(container: Container,
                                                  submission: Submitted) -> None:
    assert submission.response.status == 201, container.explain(submission.response)
    volume = container.binds[f"{container.image.workdir}/instance"]
    database = volume / "riskengine.sqlite3"
    if container.backend == "sqlite":
        assert database.is_file() and database.stat().st_uid == USER_ID, sorted(volume.iterdir())
    else:
        assert not database.exists(), "DATABASE_URL is set, yet the embedded file was written"
