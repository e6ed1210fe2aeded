"""Execute one notebook headless in a fresh kernel, with injected parameters."""

from __future__ import annotations

import copy
import subprocess
from dataclasses import dataclass

import nbformat

__all__ = ["inject_parameters", "execute_notebook", "NotebookFailed"]


@dataclass
class NotebookFailed(Exception):
    """A notebook cell raised: names the notebook, the cell (1-based, as in the notebook
    file) and the error."""

    notebook: str
    cell: int
    error: str

    def __str__(self) -> str:
        return f"notebook {self.notebook}: cell {self.cell} raised {self.error}"


def inject_parameters(nb, params: dict):
    """Insert a cell assigning ``params`` after the cell tagged ``parameters`` (papermill's
    convention). Values are written with ``repr`` of plain Python literals only."""
    for v in params.values():
        if not isinstance(v, (str, int, float, bool, type(None), list, dict)):
            raise TypeError(f"parameter values must be plain literals, got {type(v).__name__}")
    nb = copy.deepcopy(nb)
    src = "# Parameters injected by hipstats report\n" + "\n".join(
        f"{k} = {v!r}" for k, v in sorted(params.items()))
    cell = nbformat.v4.new_code_cell(src, id="injected-parameters")
    cell.metadata["tags"] = ["injected-parameters"]
    idx = next((i for i, c in enumerate(nb.cells)
                if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    nb.cells.insert(0 if idx is None else idx + 1, cell)
    return nb


def execute_notebook(nb, name: str, workdir: str, timeout: int = 600):
    """Run every cell in a fresh ``python3`` kernel; raise :class:`NotebookFailed` on error."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": workdir}})
    try:
        # the kernel process's own stderr (ipykernel's start-up notices, such as its note on
        # TCP transport) is not the notebook's output: cell errors and warnings arrive over
        # the messaging protocol, and a dead kernel is reported by nbclient
        client.execute(stderr=subprocess.DEVNULL)
    except CellExecutionError as exc:
        cell = next((i for i, c in enumerate(nb.cells) if c.get("cell_type") == "code"
                     and any(o.get("output_type") == "error" for o in c.get("outputs", []))), -1)
        first = nb.cells[cell].source.strip().splitlines()[0][:80] if cell >= 0 else ""
        err = f"{exc.ename}: {exc.evalue}" + (f" (cell starts: {first!r})" if first else "")
        injected = next((i for i, c in enumerate(nb.cells)
                         if "injected-parameters" in c.get("metadata", {}).get("tags", [])), None)
        number = cell + 1 - (1 if injected is not None and cell > injected else 0)
        raise NotebookFailed(name, number, err) from None
    for c in nb.cells:
        c.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    return nb
