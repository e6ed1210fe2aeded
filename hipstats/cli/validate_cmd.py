"""`hipstats validate` (placeholder until implemented)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("validate", help="validate (not yet implemented)")
    p.set_defaults(func=lambda args: 2)
