"""Designs written as data: a ``[design.NAME]`` table of ``hipstats.toml`` -> :class:`Design`.

The same reading builds the built-in designs (:mod:`hipstats.design.presets`, written as the
tables a study would put in its config) and the designs a study declares::

    [design.hipknee6wk]
    time = "week"
    timepoints = [0, 1, 2, 3, 4, 5, 6]       # numbers or labels ("pre", "post")
    groups = ["HIP", "KNEE"]                  # omit for a one-group study
    reference = "KNEE"                        # comparator arm (default: the last group)
    baseline = 0                              # default: the first timepoint
    primary = { outcome = "pain_vas", strength = "strength" }
    randomised = true                         # false: patients against controls
    mediation = { mediator = "strength", mediator_visit = 6, outcome_visit = 6 }

    [design.hipknee6wk.measures]
    pain_vas = { instrument = "vas", unit = "cm" }
    akps = { instrument = "akps" }
    strength = { unit = "N/kg", visits = [0, 6], required = false, label = "Hip-abductor strength" }
    grc = { instrument = "grc", visits = [6] }   # 1 = much worse ... 7 = much better; success 6-7

    [design.hipknee6wk.covariates]
    age = { unit = "years" }
    sex = { levels = ["F", "M"] }

Every mistake is a :class:`DesignError` naming the file, the table and the key.
"""

from __future__ import annotations

import difflib
import numbers
from typing import Any, Mapping

from hipstats.design.instruments import get_instrument
from hipstats.design.model import DIRECTIONS, Design, Measure
from hipstats.errors import HipstatsError

__all__ = ["DesignError", "design_from_table", "DESIGN_KEYS", "MEASURE_KEYS", "COVARIATE_KEYS"]

DESIGN_KEYS = ("time", "timepoints", "groups", "reference", "baseline", "primary", "measures",
               "covariates", "description", "derived", "sensitivity", "randomised",
               "mediation")
#: Strategies a page's missing-data section may show beside MAR (rbmi's).
SENSITIVITY_STRATEGIES = ("JR", "CR", "CIR", "LMCF")
MEASURE_KEYS = ("instrument", "unit", "label", "low", "high", "range", "required", "visits",
                "direction", "mcid", "mcid_source", "description", "levels", "points", "success")
COVARIATE_KEYS = ("unit", "label", "low", "high", "range", "required", "levels", "description")
PRIMARY_KEYS = ("outcome", "strength", "uninvolved")
MEDIATION_KEYS = ("mediator", "mediator_visit", "outcome_visit")


class DesignError(HipstatsError, ValueError):
    """A design table that cannot be used; the message names file, table and key."""


def _unknown(table: Mapping, allowed, where: str) -> None:
    extra = [k for k in table if k not in allowed]
    if extra:
        k = extra[0]
        close = difflib.get_close_matches(str(k), list(allowed), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DesignError(f"{where}: unknown key {k!r}{hint}; allowed: {', '.join(allowed)}")


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _timepoints(value, where: str) -> tuple:
    if not isinstance(value, list) or not value:
        raise DesignError(f"{where}: key 'timepoints' must be a non-empty list of visit numbers "
                          "or labels, e.g. [0, 2, 4, 6] or [\"pre\", \"post\"]")
    out = []
    for v in value:
        if _is_number(v) and float(v).is_integer():
            out.append(int(v))
        elif isinstance(v, str) and v.strip():
            out.append(v.strip())
        else:
            raise DesignError(f"{where}: key 'timepoints': {v!r} is neither a whole number nor "
                              "a label")
    if len({type(v) for v in out}) > 1:
        raise DesignError(f"{where}: key 'timepoints' mixes numbers and labels {value}; use one "
                          "kind")
    if len(set(out)) != len(out):
        raise DesignError(f"{where}: key 'timepoints' lists a visit twice: {value}")
    return tuple(out)


def _visit(v, grid: tuple, where: str, key: str):
    """``v`` as a timepoint of ``grid`` (numbers given as labels and vice versa are matched)."""
    for t in grid:
        if v == t or (isinstance(v, str) and str(t) == v.strip()):
            return t
    raise DesignError(f"{where}: key {key!r}: {v!r} is not a timepoint of the grid "
                      f"{list(grid)}")


def _range(spec: Mapping, where: str, default=(None, None)):
    low, high = default
    if "range" in spec:
        r = spec["range"]
        if not (isinstance(r, list) and len(r) == 2 and all(_is_number(x) for x in r)):
            raise DesignError(f"{where}: key 'range' must be [low, high], e.g. [0, 100]")
        low, high = float(r[0]), float(r[1])
    for k in ("low", "high"):
        if k in spec:
            if not _is_number(spec[k]):
                raise DesignError(f"{where}: key {k!r} must be a number")
            if k == "low":
                low = float(spec[k])
            else:
                high = float(spec[k])
    if low is not None and high is not None and low > high:
        raise DesignError(f"{where}: key 'range': low {low:g} > high {high:g}")
    return low, high


def _text(spec: Mapping, key: str, where: str, default: str = "") -> str:
    v = spec.get(key, default)
    if not isinstance(v, str):
        raise DesignError(f"{where}: key {key!r} must be text")
    return v


def _levels(spec: Mapping, where: str) -> tuple:
    lv = spec.get("levels", [])
    if not isinstance(lv, list) or not all(isinstance(x, str) and x for x in lv):
        raise DesignError(f"{where}: key 'levels' must be a list of labels, e.g. [\"F\", \"M\"]")
    return tuple(lv)


def _measure(name: str, spec, grid: tuple, where: str) -> Measure:
    if not isinstance(spec, Mapping):
        raise DesignError(f"{where}: must be a table, e.g. {name} = {{ unit = \"cm\" }}")
    if not str(name).isidentifier():
        raise DesignError(f"{where}: {name!r} is not a valid column name (letters, digits, _)")
    _unknown(spec, MEASURE_KEYS, where)
    base = {}
    if "instrument" in spec:
        try:
            ins = get_instrument(spec["instrument"])
        except KeyError as exc:
            raise DesignError(f"{where}: key 'instrument': {exc.args[0]}") from None
        base = dict(label=ins.label, unit=ins.unit, low=ins.low, high=ins.high,
                    direction=ins.direction, mcid=ins.mcid, mcid_source=ins.mcid_source,
                    description=ins.description, instrument=ins.key, ordinal=ins.ordinal)
        if "unit" in spec and spec["unit"] != ins.unit:
            raise DesignError(f"{where}: key 'unit': instrument {ins.key!r} is scored in "
                              f"{ins.unit!r}, not {spec['unit']!r}; declare what the file "
                              f"holds with [data.NAME] units = {{ {name} = \"...\" }} and it is "
                              "converted")
    low, high = _range(spec, where, _points(spec, base, where))
    direction = _text(spec, "direction", where, base.get("direction", ""))
    if direction not in DIRECTIONS:
        raise DesignError(f"{where}: key 'direction' must be \"higher_better\" or "
                          "\"lower_better\"")
    success = _success(spec, base, low, high, direction, where)
    mcid = spec.get("mcid", base.get("mcid"))
    if mcid is not None and not (_is_number(mcid) and mcid > 0):
        raise DesignError(f"{where}: key 'mcid' must be a positive number")
    visits = None
    if "visits" in spec:
        v = spec["visits"]
        if not isinstance(v, list) or not v:
            raise DesignError(f"{where}: key 'visits' must be a non-empty list of timepoints")
        visits = tuple(_visit(x, grid, where, "visits") for x in v)
        visits = tuple(t for t in grid if t in visits)  # grid order
    required = spec.get("required", True)
    if not isinstance(required, bool):
        raise DesignError(f"{where}: key 'required' must be true or false")
    levels = _levels(spec, where)
    return Measure(
        name, unit=_text(spec, "unit", where, base.get("unit", "")), low=low, high=high,
        required=required, kind="category" if levels else "float", levels=levels,
        description=_text(spec, "description", where, base.get("description", "")),
        label=_text(spec, "label", where, base.get("label", "")),
        instrument=base.get("instrument", ""), direction=direction,
        mcid=None if mcid is None else float(mcid),
        mcid_source=_text(spec, "mcid_source", where,
                          "declared in the study config" if "mcid" in spec
                          else base.get("mcid_source", "")),
        visits=visits, ordinal=bool(base.get("ordinal")), success=success)


def _points(spec: Mapping, base: Mapping, where: str):
    """The default range of a measure: its instrument's, or 1..points for an ordinal scale
    declared with another length (``points = 5``)."""
    if "points" not in spec:
        return base.get("low"), base.get("high")
    if not base.get("ordinal"):
        raise DesignError(f"{where}: key 'points' is for an ordinal scale (instrument = "
                          "\"grc\")")
    k = spec["points"]
    if not (_is_number(k) and float(k).is_integer() and k >= 3):
        raise DesignError(f"{where}: key 'points' must be a whole number of categories, at "
                          "least 3 (e.g. 5, 7, 11, 15)")
    if "range" in spec and spec["range"][1] - spec["range"][0] + 1 != k:
        raise DesignError(f"{where}: key 'range' {spec['range']} does not have points = {k} "
                          "categories")
    return 1.0, float(k)


def _success(spec: Mapping, base: Mapping, low, high, direction: str, where: str) -> tuple:
    """The categories of an ordinal scale that count as success: as declared, else the two
    best (the top two when higher is better)."""
    if not base.get("ordinal"):
        if "success" in spec:
            raise DesignError(f"{where}: key 'success' is for an ordinal scale (instrument = "
                              "\"grc\")")
        return ()
    if not (float(low).is_integer() and float(high).is_integer()):
        raise DesignError(f"{where}: key 'range' of an ordinal scale must be whole numbers")
    if "success" not in spec:
        return (high - 1, high) if direction != "lower_better" else (low, low + 1)
    v = spec["success"]
    if not (isinstance(v, list) and v and all(_is_number(x) for x in v)):
        raise DesignError(f"{where}: key 'success' must be a list of categories, e.g. [6, 7]")
    bad = [x for x in v if not (float(x).is_integer() and low <= x <= high)]
    if bad:
        raise DesignError(f"{where}: key 'success': {bad} are not categories of the scale "
                          f"{low:g} to {high:g}")
    return tuple(sorted(float(x) for x in v))


def _covariate(name: str, spec, where: str) -> Measure:
    if not isinstance(spec, Mapping):
        raise DesignError(f"{where}: must be a table, e.g. {name} = {{ unit = \"years\" }}")
    if not str(name).isidentifier():
        raise DesignError(f"{where}: {name!r} is not a valid column name (letters, digits, _)")
    _unknown(spec, COVARIATE_KEYS, where)
    low, high = _range(spec, where)
    levels = _levels(spec, where)
    required = spec.get("required", False)
    if not isinstance(required, bool):
        raise DesignError(f"{where}: key 'required' must be true or false")
    return Measure(name, unit=_text(spec, "unit", where), low=low, high=high, required=required,
                   kind="category" if levels else "float", levels=levels,
                   description=_text(spec, "description", where),
                   label=_text(spec, "label", where))


def _subtable(table: Mapping, key: str, where: str) -> Mapping:
    sub = table.get(key, {})
    if not isinstance(sub, Mapping):
        raise DesignError(f"{where}: key {key!r} must be a table ({key} = {{ ... }})")
    return sub


def _mediation(table: Mapping, measures: tuple, grid: tuple, baseline, where: str,
               strength: str | None) -> dict:
    """The ``mediation = { mediator, mediator_visit, outcome_visit }`` key, checked: a
    numeric measure taken at its visit, visits of the grid after baseline, the mediator's
    visit not after the outcome's."""
    spec = table.get("mediation", {})
    where = f"{where} mediation"
    if not isinstance(spec, Mapping):
        raise DesignError(f"{where}: must be a table, e.g. {{ mediator = \"strength\", "
                          "mediator_visit = 6, outcome_visit = 12 }")
    _unknown(spec, MEDIATION_KEYS, where)
    out = dict(spec)
    byname = {m.name: m for m in measures}
    if "mediator" in out:
        m = byname.get(out["mediator"])
        if m is None or m.kind != "float":
            raise DesignError(f"{where}: key 'mediator': {out['mediator']!r} is not a declared "
                              f"numeric measure ({', '.join(byname)})")
    for key in ("mediator_visit", "outcome_visit"):
        if key in out:
            out[key] = _visit(out[key], grid, where, key)
            if grid.index(out[key]) <= grid.index(baseline):
                raise DesignError(f"{where}: key {key!r}: {out[key]!r} is not after the "
                                  f"baseline {baseline!r}")
    if "mediator_visit" in out and "outcome_visit" in out and \
            grid.index(out["mediator_visit"]) > grid.index(out["outcome_visit"]):
        raise DesignError(f"{where}: key 'mediator_visit' ({out['mediator_visit']!r}) is after "
                          f"'outcome_visit' ({out['outcome_visit']!r})")
    m = byname.get(out.get("mediator", strength))
    if m is not None and "mediator_visit" in out and not m.taken_at(out["mediator_visit"]):
        raise DesignError(f"{where}: key 'mediator_visit': {m.name!r} is not taken at "
                          f"{out['mediator_visit']!r} (its visits: {list(m.visits)})")
    return out


def design_from_table(name: str, table: Mapping[str, Any], source: str = "") -> Design:
    """Build a :class:`Design` from a ``[design.NAME]`` table (parsed TOML).

    Parameters
    ----------
    name : str
        The design's name (the ``NAME`` of ``[design.NAME]``).
    table : mapping
        The table's content, as ``tomllib`` returns it.
    source : str, optional
        The file the table comes from; error messages start with it
        (``"study/hipstats.toml [design.hipknee6wk.measures] strength: key 'visits' ..."``).

    Returns
    -------
    Design

    Raises
    ------
    DesignError
        An unknown key, a visit list not in the grid, a reference that is not a group, an
        unknown instrument, a range with low > high, ...: naming file, table and key.

    Examples
    --------
    >>> d = design_from_table("demo", {"time": "week", "timepoints": [0, 6],
    ...     "measures": {"akps": {"instrument": "akps"}}})
    >>> d.measure("akps").mcid, d.measure("akps").direction
    (10.0, 'higher_better')
    """
    head = f"{source} " if source else ""
    where = f"{head}[design.{name}]"
    if not isinstance(table, Mapping):
        raise DesignError(f"{where}: must be a table")
    _unknown(table, DESIGN_KEYS, where)
    for key in ("time", "timepoints", "measures"):
        if key not in table:
            raise DesignError(f"{where}: key {key!r} is required")
    time = table["time"]
    if not isinstance(time, str) or not time.isidentifier():
        raise DesignError(f"{where}: key 'time' must be a column name, e.g. \"week\"")
    grid = _timepoints(table["timepoints"], where)
    groups = table.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        raise DesignError(f"{where}: key 'groups' must be a list of arm labels")
    if len(set(groups)) != len(groups):
        raise DesignError(f"{where}: key 'groups' lists an arm twice: {groups}")
    if len(groups) == 1:
        raise DesignError(f"{where}: key 'groups' has one arm; omit it for a one-group study")
    reference = table.get("reference", groups[-1] if groups else "")
    if groups and reference not in groups:
        raise DesignError(f"{where}: key 'reference': {reference!r} is not one of the groups "
                          f"{groups}")
    if not groups and reference:
        raise DesignError(f"{where}: key 'reference' needs groups")
    baseline = _visit(table.get("baseline", grid[0]), grid, where, "baseline")
    mtab = _subtable(table, "measures", where)
    if not mtab:
        raise DesignError(f"{head}[design.{name}.measures]: declare at least one measure")
    measures = tuple(_measure(k, v, grid, f"{head}[design.{name}.measures] {k}")
                     for k, v in mtab.items())
    ctab = _subtable(table, "covariates", where)
    covariates = tuple(_covariate(k, v, f"{head}[design.{name}.covariates] {k}")
                       for k, v in ctab.items())
    names = [m.name for m in measures]
    primary = table.get("primary", {})
    if not isinstance(primary, Mapping):
        raise DesignError(f"{where}: key 'primary' must be a table, e.g. "
                          "{ outcome = \"pain_vas\", strength = \"strength\" }")
    _unknown(primary, PRIMARY_KEYS, f"{where} primary")
    for role, col in primary.items():
        if col not in names:
            raise DesignError(f"{where}: key 'primary': {role} = {col!r} is not a declared "
                              f"measure ({', '.join(names)})")
    primary = dict(primary)
    primary.setdefault("outcome", next((m.name for m in measures if m.instrument and not m.ordinal),
                                       names[0]))
    if "strength" not in primary and "strength" in names:
        primary["strength"] = "strength"
    sensitivity = table.get("sensitivity", ["JR", "CR", "CIR"])
    if not isinstance(sensitivity, list) or not all(
            s in SENSITIVITY_STRATEGIES for s in sensitivity):
        raise DesignError(f"{where}: key 'sensitivity' must be a list of strategies from "
                          f"{', '.join(SENSITIVITY_STRATEGIES)}, e.g. [\"JR\", \"CR\", \"CIR\"]")
    derived = table.get("derived", [])
    if not isinstance(derived, list) or not all(isinstance(x, str) for x in derived):
        raise DesignError(f"{where}: key 'derived' must be a list of column names")
    randomised = table.get("randomised", True)
    if not isinstance(randomised, bool):
        raise DesignError(f"{where}: key 'randomised' must be true or false")
    mediation = _mediation(table, measures, grid, baseline, where, primary.get("strength"))
    try:
        return Design(name=name, time=time, timepoints=grid, measures=measures,
                      groups=tuple(groups), covariates=covariates, primary=primary,
                      description=_text(table, "description", where), derived=tuple(derived),
                      reference=reference, baseline=baseline,
                      sensitivity=tuple(sensitivity), randomised=randomised,
                      mediation=mediation)
    except ValueError as exc:  # e.g. a measure named like the time column
        raise DesignError(f"{where}: {exc}") from None
