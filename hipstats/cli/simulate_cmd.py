"""`hipstats simulate` (placeholder until implemented)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulate (not yet implemented)")
    p.set_defaults(func=lambda args: 2)
