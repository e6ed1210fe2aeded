"""File digests of a report (manifest entries, cache keys, the check's comparisons).

Its own module so that ``build`` (renders) and ``check`` (compares) both use it while only
``build`` imports ``check``: the two used to import each other.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["sha256_file"]


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
