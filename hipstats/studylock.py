"""The study's lock: the exact environment that renders its report (``requirements.lock``).

``hipstats init`` writes it and ``hipstats lock`` rewrites it from the running environment;
the study's CI installs exactly it (``python -m pip install --no-deps -r requirements.lock``,
then ``python -m pip check``) before ``hipstats report --check``; ``hipstats report`` warns
when the running environment differs from it.

What is locked: hipstats and the transitive closure of its requirements as installed here
(environment markers evaluated for this machine), one ``name==version`` line each, sorted by
name. hipstats itself is named the way it was installed (PEP 610 ``direct_url.json``):

* from a package index: ``hipstats==0.1.0``;
* from a version-control URL: ``hipstats @ git+https://...@<commit>``;
* from a remote archive: ``hipstats @ https://...whl#sha256=...``;
* from a wheel in the study's ``vendor/`` (``hipstats lock --vendor``):
  ``./vendor/hipstats-0.1.0-py3-none-any.whl`` (relative to the study: run pip there).

An editable install, a source folder or a file elsewhere on this machine has no name another
machine can install: the lock then says so instead of naming hipstats, and ``--vendor``
copies (or builds) a wheel into ``vendor/``.

The lock is for the platform it was made on (a package needed only on another operating
system is not installed here, so it cannot be listed); the study's CI runs on Linux.
This module imports nothing from hipstats but its version.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

__all__ = ["LOCK_NAME", "INSTALL_CMD", "Provenance", "Lock", "provenance", "locked_packages",
           "render_lock", "read_lock", "differences", "write_lock", "LockRefused"]

LOCK_NAME = "requirements.lock"
VENDOR_DIR = "vendor"
MARK = "# hipstats lock:"
INSTALL_CMD = "python -m pip install --no-deps -r requirements.lock"


class LockRefused(Exception):
    """The lock (or the vendored wheel) could not be written; the message says what to do.
    ``code``: the exit status (2: refused to touch a file hipstats did not write; 1: failed)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


@dataclass
class Provenance:
    """How the running hipstats was installed."""
    version: str
    kind: str                      # index, vcs, url, vendored, wheel-file, local
    requirement: str | None        # the lock line, None when not reproducible
    where: str = ""                # human-readable origin
    source: str | None = None      # a local path/spec ``--vendor`` can build or copy from


@dataclass
class Lock:
    """A parsed ``requirements.lock``."""
    pins: dict = field(default_factory=dict)   # canonical name -> version
    hipstats_line: str | None = None
    hipstats_version: str | None = None
    python: str | None = None
    ours: bool = False                          # written by hipstats


def _hipstats_version() -> str:
    from hipstats._version import __version__

    return __version__


def _file_path(url: str) -> Path:
    p = urlparse(url)
    return Path(unquote(p.path))


def _distribution(name: str):
    """The installed distribution ``name``: a ``.dist-info`` (what pip installed) before an
    ``.egg-info`` left in a source folder by a build, which may come first on ``sys.path``."""
    found = list(metadata.distributions(name=name))
    for d in found:
        if str(getattr(d, "_path", "")).endswith(".dist-info"):
            return d
    if found:
        return found[0]
    raise metadata.PackageNotFoundError(name)


def provenance(root: Path | None = None) -> Provenance:
    """How hipstats was installed here, and the lock line that names it (PEP 610)."""
    v = _hipstats_version()
    try:
        dist = _distribution("hipstats")
        raw = dist.read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        raw = None
        dist = None
    if dist is None:
        src = Path(__file__).resolve().parents[1]
        return Provenance(v, "local", None, f"a source folder on sys.path ({src})",
                          str(src) if (src / "pyproject.toml").is_file() else None)
    return provenance_from(raw, v, root)


def provenance_from(direct_url: str | None, v: str, root: Path | None = None) -> Provenance:
    """The provenance that a PEP 610 ``direct_url.json`` (None: installed from an index)
    describes; ``root``: the study, whose ``vendor/`` wheels are named relative to it."""
    if not direct_url:
        return Provenance(v, "index", f"hipstats=={v}", "a package index")
    info = json.loads(direct_url)
    url = info.get("url", "")
    sub = info.get("subdirectory")
    if "vcs_info" in info:
        vcs = info["vcs_info"]
        line = f"hipstats @ {vcs['vcs']}+{url}@{vcs['commit_id']}"
        if sub:
            line += f"#subdirectory={sub}"
        return Provenance(v, "vcs", line, f"{vcs['vcs']} {url} at {vcs['commit_id']}")
    if "archive_info" in info:
        if not url.startswith("file:"):
            ai = info["archive_info"]
            hashes = ai.get("hashes") or {}
            if not hashes and "hash" in ai and "=" in ai["hash"]:
                algo, value = ai["hash"].split("=", 1)
                hashes = {algo: value}
            frag = f"#sha256={hashes['sha256']}" if "sha256" in hashes else ""
            return Provenance(v, "url", f"hipstats @ {url}{frag}", url)
        path = _file_path(url)
        if root is not None and path.parent.resolve() == (Path(root) / VENDOR_DIR).resolve() \
                and path.is_file():
            return Provenance(v, "vendored", f"./{VENDOR_DIR}/{path.name}",
                              f"{VENDOR_DIR}/{path.name}", str(path))
        return Provenance(v, "wheel-file", None, f"the file {path}",
                          str(path) if path.is_file() else None)
    dir_info = info.get("dir_info", {})
    path = _file_path(url)
    kind = "an editable install" if dir_info.get("editable") else "a source folder"
    return Provenance(v, "local", None, f"{kind} of {path}",
                      str(path) if path.is_dir() else None)


def _applies(req: Requirement, extras: frozenset) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": e}) for e in (extras or {""}))


def locked_packages() -> tuple[dict, list[str]]:
    """``{canonical name: version}`` of everything hipstats needs here (the transitive closure
    of its requirements, markers evaluated for this machine), hipstats excluded; and the
    requirements that are not installed."""
    out: dict = {}
    missing: list[str] = []
    done: set = set()
    todo = [("hipstats", frozenset())]
    while todo:
        name, extras = todo.pop()
        key = (canonicalize_name(name), extras)
        if key in done:
            continue
        done.add(key)
        try:
            dist = _distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        if key[0] != "hipstats":
            out[key[0]] = dist.version
        for text in dist.requires or []:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if _applies(req, extras):
                todo.append((req.name, frozenset(req.extras)))
    return dict(sorted(out.items())), sorted(set(missing))


def _python() -> str:
    return platform.python_version()


def render_lock(pins: dict, prov: Provenance) -> str:
    """The text of ``requirements.lock`` (deterministic: sorted, no dates)."""
    lines = [
        f"{MARK} the environment that renders this study's report.",
        "# Written by `hipstats lock` (and `hipstats init`); edit it with that command, not by "
        "hand.",
        f"# Install exactly it (CI does): {INSTALL_CMD} && python -m pip check",
        "# After changing the environment: hipstats lock, then hipstats report, and commit "
        "both.",
        f"# python {_python()} ({sys.platform} {platform.machine()})",
        f"# hipstats {prov.version} from {prov.where}",
    ]
    body = dict(pins)
    if prov.requirement:
        body["hipstats"] = prov.requirement
    else:
        lines += [
            f"# hipstats {prov.version} is not named below: it is {prov.where}, which another "
            "machine cannot install.",
            "# Run `hipstats lock --vendor` to put a wheel of it in vendor/ and name it here.",
        ]
    for name in sorted(body):
        val = body[name]
        lines.append(val if name == "hipstats" else f"{name}=={val}")
    return "\n".join(lines) + "\n"


_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([^\s;#]+)")


def read_lock(path: Path) -> Lock | None:
    """Parse a lock (None when there is no file)."""
    path = Path(path)
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8", errors="replace")
    lock = Lock(ours=text.startswith(MARK))
    for raw in text.splitlines():
        line = raw.strip()
        m = re.match(r"^# python (\S+)", line)
        if m:
            lock.python = m.group(1)
        m = re.match(r"^# hipstats (\S+) from ", line)
        if m:
            lock.hipstats_version = m.group(1)
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not line or line.startswith("-"):
            continue
        wheel = line.rsplit("/", 1)[-1]
        if wheel.endswith(".whl"):
            try:
                name, ver, _, _ = parse_wheel_filename(wheel)
            except Exception:
                continue
            if name == "hipstats":
                lock.hipstats_line, lock.hipstats_version = line, str(ver)
            continue
        if re.match(r"^hipstats\s*@", line, re.I):
            lock.hipstats_line = line
            continue
        m = _PIN.match(line)
        if m:
            name = canonicalize_name(m.group(1))
            if name == "hipstats":
                lock.hipstats_line, lock.hipstats_version = line, m.group(2)
            else:
                lock.pins[name] = m.group(2)
    return lock


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def differences(lock: Lock) -> list[str]:
    """How the running environment differs from ``lock``: one short phrase per package."""
    out = []
    pins, _ = locked_packages()
    here = _hipstats_version()
    if lock.hipstats_line is None:
        out.append("hipstats (not named in the lock: `hipstats lock --vendor` names it)")
    elif lock.hipstats_version and lock.hipstats_version != here:
        out.append(f"hipstats {here} (locked {lock.hipstats_version})")
    for name in sorted(set(lock.pins) | set(pins)):
        want = lock.pins.get(name)
        have = pins.get(name) or (_installed(name) if want else None)
        if want == have:
            continue
        if want is None:
            out.append(f"{name} {have} (not in the lock)")
        elif have is None:
            out.append(f"{name} (locked {want}, not installed)")
        else:
            out.append(f"{name} {have} (locked {want})")
    if lock.python and lock.python.split(".")[:2] != _python().split(".")[:2]:
        out.insert(0, f"Python {_python()} (locked {lock.python})")
    return out


def _vendor_wheel(root: Path, prov: Provenance, wheel: str | None, previous: Lock | None) -> str:
    """Put a wheel of the running hipstats in ``root/vendor/``; return its lock line."""
    vend = root / VENDOR_DIR
    with tempfile.TemporaryDirectory(prefix="hipstats-vendor-") as tmp:
        if wheel:
            src = Path(wheel)
            if not src.is_file() or not src.name.endswith(".whl"):
                raise LockRefused(f"--wheel {wheel}: not a wheel file")
        elif prov.source and prov.source.endswith(".whl"):
            src = Path(prov.source)
        else:
            spec = prov.source or prov.requirement
            if spec is None:
                raise LockRefused(
                    f"hipstats {prov.version} is {prov.where}; there is nothing to build a "
                    "wheel from. Build one yourself (python -m pip wheel --no-deps "
                    "<hipstats source> -w dist) and run `hipstats lock --vendor --wheel "
                    f"dist/hipstats-{prov.version}-py3-none-any.whl`")
            if Path(spec).is_dir():  # build from a clean copy: no stale build/ or egg-info
                copy = Path(tmp) / "src"
                shutil.copytree(spec, copy, ignore=shutil.ignore_patterns(
                    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*cache",
                    ".hypothesis", ".scratch"))
                spec_arg = str(copy)
            else:
                spec_arg = spec
            r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                                tmp, spec_arg], capture_output=True, text=True)
            built = sorted(Path(tmp).glob("hipstats-*.whl"))
            if r.returncode != 0 or len(built) != 1:
                tail = " ".join((r.stderr or r.stdout).strip().splitlines()[-3:])
                raise LockRefused(
                    f"could not build a wheel of hipstats from {spec} ({tail}); build one "
                    f"yourself (python -m pip wheel --no-deps {spec} -w dist) and run `hipstats "
                    f"lock --vendor --wheel dist/hipstats-{prov.version}-py3-none-any.whl`")
            src = built[0]
        try:
            name, ver, _, _ = parse_wheel_filename(src.name)
        except Exception as exc:
            raise LockRefused(f"{src}: not a wheel file name ({exc})") from None
        if name != "hipstats" or str(ver) != prov.version:
            raise LockRefused(f"{src.name} is not hipstats {prov.version}, the version running "
                              "here: vendor the wheel of the hipstats that renders the report")
        dest = vend / src.name
        line = f"./{VENDOR_DIR}/{src.name}"
        if dest.exists() and dest.read_bytes() != src.read_bytes():
            if previous is None or previous.hipstats_line != line:
                raise LockRefused(f"{dest} exists, differs from the wheel to vendor and is not "
                                  f"the one {LOCK_NAME} names; move it away and run again",
                                  code=2)
        if not dest.exists() or dest.read_bytes() != src.read_bytes():
            vend.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
    return line


@dataclass
class LockWritten:
    path: Path
    provenance: Provenance
    packages: int
    vendored: str | None = None
    warnings: list = field(default_factory=list)


def write_lock(root: Path, vendor: bool = False, wheel: str | None = None) -> LockWritten:
    """Write ``root/requirements.lock`` from the running environment. Refuses
    (:class:`LockRefused`) to replace a ``requirements.lock`` hipstats did not write."""
    root = Path(root)
    path = root / LOCK_NAME
    previous = read_lock(path)
    if previous is not None and not previous.ours:
        raise LockRefused(f"{path} exists and was not written by hipstats (it does not start "
                          f"with {MARK!r}); nothing was changed. Move it away, or run in the "
                          "study's folder", code=2)
    prov = provenance(root)
    pins, missing = locked_packages()
    warnings = []
    if missing:
        warnings.append("requirements of hipstats not installed here, so not locked: "
                        + ", ".join(missing) + " (install them, then run `hipstats lock`)")
    vendored = None
    if vendor or wheel:
        vendored = _vendor_wheel(root, prov, wheel, previous)
        prov = Provenance(prov.version, "vendored", vendored, vendored.lstrip("./"),
                          str(root / vendored))
    elif prov.requirement is None:
        warnings.append(
            f"hipstats {prov.version} is {prov.where}, which has no name another machine can "
            f"install, so {LOCK_NAME} does not name it and the study's CI cannot install it. "
            "Run `hipstats lock --vendor` (a wheel of it in vendor/, named in the lock), or "
            "install hipstats from a wheel, an index or a git URL and run `hipstats lock`")
    text = render_lock(pins, prov)
    tmp = path.with_name(f".{LOCK_NAME}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return LockWritten(path, prov, len(pins) + (1 if prov.requirement else 0), vendored,
                       warnings)
