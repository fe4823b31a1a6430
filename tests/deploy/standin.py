"""A stand-in for the Dockerfile's base image (python:3.11-slim), made from Debian's packages.

Docker Hub is out of this machine's reach, so the image is built FROM a base of our own, passed
as the Dockerfile's `BASE` build argument. It offers what the Dockerfile's steps take from
python:3.11-slim: apt (on this machine's Debian mirror and apt options, written into the base),
`python` and `pip` of Python 3.11 on PATH with setuptools and wheel (pip 23.0 builds a
setup.py-only sdist such as durable-rules with `wheel`), Python's headers for a C extension,
`useradd`, CA certificates, LANG=C.UTF-8. It is a virtualenv at /opt/python (Debian's own Python
refuses `pip install` outside one, PEP 668) standing where python:3.11-slim has /usr/local.

`mmdebstrap` writes it as a tarball under CACHE, keyed by the Debian release, the packages and
this recipe; `podman import` makes it an image. A second run reuses the tarball (and the image,
while podman's storage keeps it); a fresh machine builds both (about half a minute).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

CACHE = Path(os.environ.get("RISKENGINE_IMAGE_CACHE", "/var/cache/riskengine-image"))
PREFIX = "/opt/python"  # the virtualenv that plays python:3.11-slim's /usr/local
PYTHON = "python3.11"  # the Dockerfile's default base is python:3.11-slim
PACKAGES = (
    PYTHON, f"{PYTHON}-venv", f"{PYTHON}-dev", "python3-wheel-whl", "ca-certificates", "passwd",
)
HOOKS = (
    f'chroot "$1" {PYTHON} -m venv {PREFIX}',
    # The glob is the chroot's, not this machine's.
    f'chroot "$1" sh -c "{PREFIX}/bin/pip install --no-index --quiet '
    '/usr/share/python-wheels/wheel-*.whl"',
)
CHANGES = (
    f"ENV PATH={PREFIX}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)
# This machine's apt settings that decide what a download accepts (a mirror frozen in time).
APT_OPTIONS = re.compile(r"Acquire::(Check-Valid-Until|Check-Date|https?::Proxy)\b")
SOURCES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))
BUILD_TIMEOUT = 900.0


def debian_release() -> str:
    fields = dict(line.split("=", 1) for line in
                  Path("/etc/os-release").read_text(encoding="utf-8").splitlines() if "=" in line)
    release = fields.get("VERSION_CODENAME", "").strip('"')
    assert fields.get("ID") == "debian" and release, (
        f"the stand-in base is made from this machine's Debian release: /etc/os-release {fields}")
    return release


def apt_sources() -> Path:
    """This machine's Debian sources, which the base's apt (and so the build's) uses."""
    found = next((path for path in SOURCES if path.is_file()), None)
    assert found, f"no Debian apt sources here: {', '.join(map(str, SOURCES))}"
    return found


def apt_options() -> list[str]:
    dump = subprocess.run(["apt-config", "dump"], capture_output=True, text=True, check=True)
    return [line.rstrip(";") for line in dump.stdout.splitlines()
            if APT_OPTIONS.match(line)]


def recipe() -> dict[str, object]:
    return {"release": debian_release(), "packages": PACKAGES, "hooks": HOOKS,
            "changes": CHANGES, "sources": apt_sources().read_text(encoding="utf-8"),
            "apt": apt_options()}


def key(spec: dict[str, object]) -> str:
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    return f"{spec['release']}-{digest}"


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                          check=False)
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}\n{done.stdout[-4000:]}\n"
        f"{done.stderr[-4000:]}")


def _tarball(spec: dict[str, object], name: str) -> Path:
    tarball = CACHE / f"base-{name}.tar"
    if tarball.is_file():
        return tarball
    partial = CACHE / f".base-{name}.{os.getpid()}.tar"
    command = ["mmdebstrap", "--quiet", "--variant=minbase",
               f"--include={','.join(PACKAGES)}"]
    options = spec["apt"]
    assert isinstance(options, list)
    command += [f"--aptopt={option}" for option in options]
    command += [f"--customize-hook={hook}" for hook in HOOKS]
    command += [str(spec["release"]), str(partial), str(apt_sources())]
    try:
        _run(command)
        partial.replace(tarball)  # whole or not at all: a killed run leaves no half base
    finally:
        partial.unlink(missing_ok=True)
    return tarball


def image() -> str:
    """The stand-in base's image name, built (or found in the cache) now."""
    missing = [tool for tool in ("podman", "mmdebstrap") if shutil.which(tool) is None]
    assert not missing, f"not installed: {', '.join(missing)} (`make image-tools` installs them)"
    spec = recipe()
    name = key(spec)
    tag = f"localhost/riskengine-standin-base:{name}"
    CACHE.mkdir(parents=True, exist_ok=True)
    # Another checkout's test may be making the same base at the same moment.
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        present = subprocess.run(["podman", "image", "exists", tag], check=False).returncode == 0
        if not present:
            tarball = _tarball(spec, name)
            _run(["podman", "import", "--quiet",
                  *[f"--change={change}" for change in CHANGES], str(tarball), tag])
    return tag
