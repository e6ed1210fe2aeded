"""The ``hipstats`` command line.

Subcommands live one per module (``validate_cmd``, ``simulate_cmd``, ``report_cmd``,
``power_cmd``, ``init_cmd``, ``lock_cmd``); each exposes ``register(subparsers)`` which adds
its parser and sets ``func(args) -> int``.

Exit status: 0 success, 1 invalid data or failed work, 2 usage error. Errors the user can
fix (bad data, bad arguments) are printed as plain messages, never as a traceback; set
``HIPSTATS_DEBUG=1`` to see the traceback of an unexpected internal error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from hipstats.errors import HipstatsDataError, HipstatsError

_SUBCOMMANDS = ("validate_cmd", "simulate_cmd", "report_cmd", "power_cmd", "init_cmd",
                "lock_cmd")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors exit 2, as argparse does, with our prefix
        self.print_usage(sys.stderr)
        print(f"hipstats: error: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    from hipstats import __version__

    parser = _Parser(prog="hipstats", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"hipstats {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _SUBCOMMANDS:
        importlib.import_module(f"hipstats.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except HipstatsDataError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except HipstatsError as exc:
        print(f"hipstats: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hipstats: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader closed the pipe (`hipstats simulate ... | head`)
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 141
    except Exception as exc:  # an internal error: say so plainly
        if os.environ.get("HIPSTATS_DEBUG"):
            traceback.print_exc()
        print(f"hipstats: internal error: {type(exc).__name__}: {exc} "
              "(set HIPSTATS_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
