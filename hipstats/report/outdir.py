"""The report's output folder: only ever replace what hipstats wrote.

* :func:`check_target` refuses (``ReportRefused``, exit 2) an existing file, a folder with
  anything but a previous hipstats report (its ``manifest.json`` lists every file), and
  folders that hold the notebooks, the data or the project itself.
* :func:`locked` serialises renders to one folder (``fcntl.flock`` on ``.<name>.lock``
  beside it): a second render waits, then fails cleanly after ``timeout`` seconds.
* :func:`swap_in` puts a finished render in place: Linux ``renameat2(RENAME_EXCHANGE)``
  swaps the two folders in one atomic step, so readers always see either the old or the new
  report; where that call is missing it falls back to two renames (a window of
  microseconds). Temporary folders carry the creating PID in ``.hipstats-pid``;
  :func:`clean_stale` removes those of processes that no longer run (a ``kill -9``).
* Folders get ``0o777 & ~umask`` (``tempfile.mkdtemp`` would leave 0700).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from hipstats.errors import HipstatsError

__all__ = ["ReportRefused", "check_target", "locked", "new_tmp", "swap_in", "clean_stale",
           "read_manifest", "is_report_folder"]

PID_FILE = ".hipstats-pid"


class ReportRefused(HipstatsError):
    """``--out`` names something hipstats did not write; nothing was changed."""


def _is_rel(name) -> bool:
    """A plain relative POSIX path inside the folder (no ``..``, not absolute)."""
    return (isinstance(name, str) and name != "" and not name.startswith("/")
            and "\\" not in name and ".." not in name.split("/"))


def _str_map(obj, values=(str,)) -> bool:
    return isinstance(obj, dict) and all(isinstance(k, str) and isinstance(v, values)
                                         for k, v in obj.items())


def read_manifest(folder: Path) -> dict | None:
    """The folder's manifest if it is a well-formed hipstats manifest, else None.

    Well-formed: a JSON object with ``"generator": "hipstats report"`` and the keys
    ``outputs`` (relative path -> sha256), ``inputs`` (name -> sha256), ``versions``
    (package -> version or null), ``parameters`` (notebook -> object) and ``notebooks``
    (notebook -> ``{"cache_key": str, "outputs": [listed paths]}``). Anything else (not
    JSON, a list, a missing key, a wrong type, a path with ``..``) is not a report.
    """
    try:
        man = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not (isinstance(man, dict) and man.get("generator") == "hipstats report"):
        return None
    outputs = man.get("outputs")
    if not (_str_map(outputs) and all(_is_rel(k) for k in outputs)):
        return None
    if not (_str_map(man.get("inputs")) and _str_map(man.get("versions"), (str, type(None)))
            and _str_map(man.get("parameters"), (dict,))):
        return None
    nbs = man.get("notebooks")
    if not _str_map(nbs, (dict,)):
        return None
    for rec in nbs.values():
        if not (isinstance(rec.get("cache_key"), str) and isinstance(rec.get("outputs"), list)
                and all(isinstance(f, str) and f in outputs for f in rec["outputs"])):
            return None
        if "inputs" in rec and not (isinstance(rec["inputs"], list)
                                    and all(isinstance(f, str) for f in rec["inputs"])):
            return None
    if "hipstats_source" in man and not isinstance(man["hipstats_source"], str):
        return None
    return man


def is_report_folder(folder: Path) -> bool:
    """True when every file in ``folder`` is listed in its hipstats manifest."""
    man = read_manifest(folder)
    if man is None:
        return False
    listed = set(man["outputs"]) | {"manifest.json"}
    for p in Path(folder).rglob("*"):
        if p.is_file() or p.is_symlink():
            if p.relative_to(folder).as_posix() not in listed:
                return False
    return True


def check_target(out: Path, protected: list[Path]) -> None:
    """Raise :class:`ReportRefused` unless ``out`` is new or a previous hipstats report."""
    out = Path(out)
    resolved = out.resolve()
    for p in protected:
        p = Path(p).resolve()
        if resolved == p or resolved in p.parents:
            raise ReportRefused(f"--out {out} would replace {p}, which holds your notebooks or "
                                "data; choose another folder (e.g. reports)")
    for parent in out.absolute().parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise ReportRefused(f"--out {out}: {parent} is a file, not a folder; nothing "
                                    "was changed")
            break
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ReportRefused(f"--out {out} is an existing file, not a report folder; nothing "
                            "was changed")
    if out.is_dir() and any(out.iterdir()) and not is_report_folder(out):
        raise ReportRefused(f"--out {out} is a folder with files hipstats did not write (no "
                            "manifest.json listing them); nothing was changed. Choose a new "
                            "or empty folder")


def _mode_dir() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def new_tmp(out: Path) -> Path:
    """A sibling temporary folder for a render, marked with this process's PID."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-render-", dir=out.parent))
    os.chmod(tmp, _mode_dir())
    (tmp / PID_FILE).write_text(str(os.getpid()), encoding="utf-8")
    return tmp


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(out: Path) -> list[Path]:
    """Remove ``.<name>-render-*`` / ``.<name>-old-*`` folders whose process is gone."""
    out = Path(out).resolve()
    removed = []
    if not out.parent.is_dir():
        return removed
    for p in out.parent.glob(f".{out.name}-*"):
        if not p.is_dir() or not (p.name.startswith(f".{out.name}-render-")
                                  or p.name.startswith(f".{out.name}-old-")):
            continue
        try:
            pid = int((p / PID_FILE).read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            pid = None
        if pid is None or not _alive(pid) or pid == os.getpid():
            if pid == os.getpid():
                continue
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


@contextlib.contextmanager
def locked(out: Path, timeout: float = 600.0):
    """Hold an exclusive lock for renders to ``out`` (wait up to ``timeout`` seconds)."""
    import fcntl

    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = out.parent / f".{out.name}.lock"
    fh = open(lock, "a+")
    t0 = time.monotonic()
    try:
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() - t0 > timeout:
                    raise HipstatsError(f"another hipstats report is rendering into {out}; "
                                        f"waited {timeout:.0f} s") from None
                time.sleep(0.2)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 with RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(AT_FDCWD, os.fsencode(str(a)), AT_FDCWD, os.fsencode(str(b)), RENAME_EXCHANGE)
    return rc == 0


def swap_in(tmp: Path, out: Path) -> None:
    """Replace ``out`` by the finished render ``tmp`` (the caller holds the lock)."""
    out = Path(out).resolve()
    (tmp / PID_FILE).unlink(missing_ok=True)
    if not out.exists():
        os.rename(tmp, out)
        return
    if _exchange(tmp, out):
        shutil.rmtree(tmp, ignore_errors=True)   # tmp now holds the old report
        return
    backup = out.with_name(f".{out.name}-old-{os.getpid()}")
    os.rename(out, backup)
    os.rename(tmp, out)
    shutil.rmtree(backup, ignore_errors=True)
