"""Study config: one ``hipstats.toml`` says how to read each design's data file.

A study keeps its loading options beside its data instead of in every script::

    # hipstats.toml
    [data.program6wk]
    path = "exports/trial_redcap.csv"          # relative to this file's folder
    dictionary = "exports/trial_dictionary.csv"
    columns = { hip_abd_torque_nm = "strength", lefs_total = "function_score" }
    units = { strength = "N*m", body_mass = "kg" }       # what the file holds
    analysis_units = { strength = "N*m/kg" }             # what results are in
    lever_arm = "lever_arm"                              # a column name, or metres: 0.35
    missing = [-99, 999]                                 # codes read as missing cells
    sheet = "Data"                                       # Excel only
    visit_dates = { column = "visit_date", window_days = 3 }   # visits recorded as dates

    [data.pfps3wk]
    path = "pfps.sav"

Tables are ``[data.<design>]``; every key is optional except ``path`` (which may also be
given to :func:`hipstats.load` directly). Use it as ``hipstats.load(config="hipstats.toml",
design="program6wk")`` or ``hipstats validate --config hipstats.toml --design program6wk``;
explicit arguments and command-line flags override the file.

Other code (``hipstats report``) reuses the same reading through :func:`load_options`, which
returns the keyword arguments for :func:`hipstats.load` / :func:`hipstats.validate`.

The config may also declare the study's own design, beside its data table (the format is in
:mod:`hipstats.design.declare`)::

    [design.hipknee6wk]
    time = "week"
    timepoints = [0, 1, 2, 3, 4, 5, 6]
    groups = ["HIP", "KNEE"]
    reference = "KNEE"

    [design.hipknee6wk.measures]
    pain_vas = { instrument = "vas", unit = "cm" }
    strength = { unit = "N/kg", visits = [0, 6], required = false }

    [data.hipknee6wk]
    path = "data/raw/trial.csv"

:func:`study_design` returns the design a name means in a config: the one it declares, else
the built-in preset of that name.
"""

from __future__ import annotations

import numbers
from pathlib import Path

from hipstats.design import DESIGNS, Design, DesignError, design_from_table
from hipstats.errors import HipstatsError

try:  # Python >= 3.11
    import tomllib as _toml
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    try:
        import tomli as _toml  # type: ignore[no-redef]
    except ModuleNotFoundError:
        _toml = None

__all__ = ["ConfigError", "read_config", "designs_in", "declared_designs", "study_design",
           "load_options", "events_path", "KEYS", "TOP_KEYS"]

#: Top-level tables of a ``hipstats.toml``.
TOP_KEYS = ("data", "design")

#: Keys allowed in a ``[data.<design>]`` table.
KEYS = ("path", "columns", "units", "analysis_units", "dictionary", "sheet", "lever_arm",
        "missing", "visit_dates", "ice")


class ConfigError(HipstatsError, ValueError):
    """A study config that cannot be used (unreadable TOML, unknown keys, wrong types)."""


def read_config(config_path) -> dict:
    """The parsed TOML of ``config_path`` (raises :class:`ConfigError` naming the file)."""
    p = Path(config_path)
    if _toml is None:  # pragma: no cover
        raise ConfigError(f"{p}: reading TOML needs Python 3.11+ (or the 'tomli' package)")
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    try:
        with open(p, "rb") as fh:
            parsed = _toml.load(fh)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    unknown = [k for k in parsed if k not in TOP_KEYS]
    if unknown:
        raise ConfigError(f"{p}: unknown table [{unknown[0]}]; a hipstats.toml holds "
                          "[data.NAME] and [design.NAME] tables")
    return parsed


def declared_designs(config_path) -> dict[str, Design]:
    """The designs a config declares (``[design.NAME]`` tables), built and checked, in file
    order.

    Raises
    ------
    ConfigError
        A table that is not a valid design: the message names the file, the table and the
        key (an unknown key, visits not in the grid, a reference that is not a group, an
        unknown instrument, a range with low > high, ...).

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "hipstats.toml")
    >>> with open(p, "w") as fh:
    ...     _ = fh.write('[design.mine]\ntime = "visit"\ntimepoints = ["pre", "post"]\n'
    ...                  '[design.mine.measures]\nkujala = { instrument = "akps" }\n')
    >>> declared_designs(p)["mine"].measure("kujala").high
    100.0
    """
    p = Path(config_path)
    tables = read_config(p).get("design", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{p}: 'design' must be a table of [design.<name>] tables")
    out = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{p}: design.{name} must be a table ([design.{name}])")
        if not str(name).isidentifier():
            raise ConfigError(f"{p} [design.{name}]: a design name is letters, digits and _")
        try:
            out[name] = design_from_table(name, table, str(p))
        except DesignError as exc:
            raise ConfigError(str(exc)) from None
    return out


def study_design(config_path, name: str) -> Design:
    """The design ``name`` means in this config: the one it declares, else the built-in
    preset called ``name``; a :class:`ConfigError` naming the file otherwise."""
    declared = declared_designs(config_path)
    if name in declared:
        return declared[name]
    if name in DESIGNS:
        return DESIGNS[name]
    have = sorted(declared) + sorted(DESIGNS)
    raise ConfigError(f"{config_path}: no design {name!r}: declare it in a [design.{name}] "
                      f"table (designs available: {', '.join(have)})")


def designs_in(config_path) -> list[str]:
    """Designs with a ``[data.<design>]`` table in the config, in file order."""
    data = read_config(config_path).get("data", {})
    if not isinstance(data, dict):
        raise ConfigError(f"{config_path}: 'data' must be a table of [data.<design>] tables")
    return [k for k, v in data.items() if isinstance(v, dict)]


def _str_table(value, key: str, where: str) -> dict:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in value.items()):
        raise ConfigError(f"{where}: {key} must be a table of names to text, e.g. "
                          f'{key} = {{ strength = "..." }}')
    return dict(value)


def load_options(config_path, design: str) -> dict:
    """Keyword arguments for :func:`hipstats.load` / :func:`hipstats.validate` from a config.

    Parameters
    ----------
    config_path : str or Path
        A ``hipstats.toml`` (format in the module docstring).
    design : str
        The design whose ``[data.<design>]`` table to read.

    Returns
    -------
    dict
        ``source`` (the data file, resolved against the config's folder) plus whichever of
        ``columns``, ``units``, ``analysis_units``, ``dictionary`` (resolved like ``source``),
        ``sheet``, ``lever_arm``, ``missing`` and ``visit_dates`` the table sets. Load with
        ``hipstats.load(design=design, **load_options(path, design))``, or pop ``source``
        and pass the rest after your own path. The report command reuses this function.

    Raises
    ------
    ConfigError
        Unreadable TOML, no table for ``design``, unknown keys or wrong value types.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with open(os.path.join(d, "hipstats.toml"), "w") as fh:
    ...     _ = fh.write('[data.program6wk]\\npath = "trial.csv"\\nlever_arm = 0.35\\n')
    >>> opts = load_options(os.path.join(d, "hipstats.toml"), "program6wk")
    >>> opts["source"].name, opts["lever_arm"]
    ('trial.csv', 0.35)
    """
    p = Path(config_path)
    data = read_config(p).get("data", {})
    where = f"{p} [data.{design}]"
    if not isinstance(data, dict) or not isinstance(data.get(design), dict):
        have = designs_in(p) if isinstance(data, dict) else []
        raise ConfigError(f"{p}: no [data.{design}] table" +
                          (f"; it has {', '.join(f'[data.{d}]' for d in have)}" if have else ""))
    table = data[design]
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(unknown)}; allowed: {', '.join(KEYS)}")
    base = p.resolve().parent
    out: dict = {}
    if "ice" in table and (not isinstance(table["ice"], str) or not table["ice"].strip()):
        raise ConfigError(f"{where}: ice must be a file path (text): the intercurrent-events "
                          "file, one row per participant")
    for key in ("path", "dictionary"):
        if key in table:
            if not isinstance(table[key], str) or not table[key].strip():
                raise ConfigError(f"{where}: {key} must be a file path (text)")
            out["source" if key == "path" else key] = base / Path(table[key]).expanduser()
    for key in ("columns", "units", "analysis_units"):
        if key in table:
            out[key] = _str_table(table[key], key, where)
    if "sheet" in table:
        if not isinstance(table["sheet"], (str, int)) or isinstance(table["sheet"], bool):
            raise ConfigError(f"{where}: sheet must be a sheet name or a 0-based number")
        out["sheet"] = table["sheet"]
    if "lever_arm" in table:
        la = table["lever_arm"]
        if isinstance(la, bool) or not isinstance(la, (str, numbers.Real)):
            raise ConfigError(f"{where}: lever_arm must be a column name or a number of metres")
        if isinstance(la, numbers.Real) and not la > 0:
            raise ConfigError(f"{where}: lever_arm must be a positive number of metres")
        out["lever_arm"] = float(la) if isinstance(la, numbers.Real) else la
    if "missing" in table:
        codes = table["missing"]
        if not isinstance(codes, list) or not all(
                isinstance(c, (str, numbers.Real)) and not isinstance(c, bool) for c in codes):
            raise ConfigError(f"{where}: missing must be a list of codes, e.g. [-99, \"n.d.\"]")
        out["missing"] = list(codes)
    if "visit_dates" in table:
        vd = table["visit_dates"]
        if not isinstance(vd, dict) or not isinstance(vd.get("column"), str):
            raise ConfigError(f'{where}: visit_dates must be a table such as '
                              f'{{ column = "visit_date", window_days = 3 }}')
        out["visit_dates"] = dict(vd)
    return out


def events_path(config_path, design: str):
    """The intercurrent-events file of ``[data.<design>]`` (key ``ice``), resolved against
    the config's folder, or None when the study declares none (``load_options`` checks the
    key; :func:`hipstats.io.events.read_events` reads the file)."""
    p = Path(config_path)
    table = read_config(p).get("data", {}).get(design, {})
    if not isinstance(table, dict) or "ice" not in table:
        return None
    return p.resolve().parent / Path(table["ice"]).expanduser()
