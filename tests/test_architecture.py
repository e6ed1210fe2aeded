"""The layers import only downwards (docs/architecture.md), and no module uses pickle/eval/exec."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "hipstats"

# layer -> hipstats subpackages/modules it must never import
FORBIDDEN = {
    "design": {"io", "validation", "stats", "power", "plots", "tables", "report", "cli", "synthetic"},
    "errors": {"io", "validation", "stats", "power", "plots", "tables", "report", "cli", "design"},
    "io": {"validation", "stats", "power", "plots", "tables", "report", "cli"},
    "validation": {"stats", "power", "plots", "tables", "report", "cli"},
    "synthetic": {"io", "validation", "stats", "power", "plots", "tables", "report", "cli"},
    "stats": {"io", "validation", "power", "plots", "tables", "report", "cli", "synthetic"},
    "power": {"io", "validation", "plots", "tables", "report", "cli"},
    "plots": {"io", "validation", "report", "cli", "power"},
    "plots_mediation": {"io", "validation", "report", "cli", "power"},
    "labels": {"io", "validation", "stats", "power", "plots", "tables", "report", "cli",
               "synthetic"},
    "report": {"cli", "pages"},
    "pages": {"cli"},
    "studylock": {"io", "validation", "stats", "power", "plots", "tables", "report", "cli",
                  "design", "synthetic", "errors"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "hipstats" and len(parts) > 1:
                found.add(parts[1])
    return found


MODULES = sorted(p for p in PKG.rglob("*.py") if _layer(p) in FORBIDDEN)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_flow_one_way(path):
    bad = _imported_layers(path) & FORBIDDEN[_layer(path)]
    assert not bad, f"{path.relative_to(PKG)} imports {sorted(bad)} (see docs/architecture.md)"


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_no_pickle_eval_exec(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] + ([node.module] if getattr(node, "module", None) else [])
            assert not any(m.split(".")[0] in ("pickle", "dill", "cloudpickle") for m in mods), path
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("eval", "exec"), f"{path}:{node.lineno} calls {node.func.id}"


def test_report_check_does_not_import_the_builder():
    """build renders and calls check; check compares and must not import build back (they
    used to import each other; the digest they share lives in report.digest)."""
    tree = ast.parse((PKG / "report" / "check.py").read_text(encoding="utf-8"))
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "hipstats.report.build" not in names
