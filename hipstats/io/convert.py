"""Stage 5 of loading: units. Decide what each numeric column holds (:func:`plan_units`:
``units=``, header, data dictionary, SPSS label, ``datapackage.json``, Excel percent format,
or the design's unit with a warning) and what results are in, then convert
(:func:`convert`), row by row where a unit column says so. Rules in :mod:`hipstats.io.units`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hipstats.design import Design
from hipstats.errors import DataProblem
from hipstats.io import units as U
from hipstats.io.columns import ColumnMap, Options, unit_of
from hipstats.io.ledger import Assembled
from hipstats.io.readings import Reading

__all__ = ["UnitPlan", "plan_units", "convert"]


@dataclass
class UnitPlan:
    """Per numeric target: the unit the file holds and the unit results are in."""

    numeric: list = field(default_factory=list)
    file_unit: dict = field(default_factory=dict)
    where: dict = field(default_factory=dict)
    analysis: dict = field(default_factory=dict)
    bad: set = field(default_factory=set)


def plan_units(cm: ColumnMap, opts: Options, out: Assembled) -> UnitPlan:
    """What each numeric column holds and what it is analysed in; every clash a problem."""
    design = opts.design
    plan = UnitPlan(numeric=sorted(
        t for t in cm.targets | set(cm.unit_cols) if t in opts.value_targets
        and (t == "lever_arm" or design.measure(t).kind == "float")))
    for target in plan.numeric:
        if _file_unit(target, cm, opts, plan, out):
            _analysis_unit(target, opts, plan, out)
    _uninvolved_follows(cm, design, plan, out)
    by_where: dict[str, list[str]] = {}
    for target, w in plan.where.items():
        if w not in ("units=", "header") and not w.startswith("as "):
            by_where.setdefault(w, []).append(f"{target} {plan.file_unit[target]}")
    for w, items in by_where.items():
        out.notes.append(Reading("units", f"units declared in the {w}: {', '.join(items)}"))
    _scale_checks(cm, opts, plan, out)
    return plan


def _file_unit(target, cm: ColumnMap, opts: Options, plan: UnitPlan, out: Assembled) -> bool:
    """The unit ``target``'s columns hold; False (and a problem) when unusable."""
    src, ref = out.raw.source, unit_of(target, opts.design)
    canon_decl: dict = {}
    for col, (t, _) in cm.colmap.items():
        if t == target and str(col) in cm.col_units:
            u, w = cm.col_units[str(col)]
            canon_decl.setdefault(U.unit_for(u, ref) or u, (u, w))
    if target in opts.user_units:
        u = opts.user_units[target]
        others = [x for x in canon_decl if x != U.unit_for(u, ref)]
        if others:
            out.warnings.append(f"{target}: units= says {u!r}, the file says "
                                f"{canon_decl[others[0]][0]!r} ({canon_decl[others[0]][1]}); "
                                "using units=")
        chosen, where = u, "units="
    elif len(canon_decl) > 1:
        out.problems.append(DataProblem(
            src, None, target, None, f"{target} columns declare different units: "
            + ", ".join(f"{v[0]!r}" for v in canon_decl.values())))
        plan.bad.add(target)
        return False
    else:
        chosen, where = next(iter(canon_decl.values())) if canon_decl else (None, None)
    if chosen is None:
        return True
    canon = U.unit_for(chosen, ref)
    if canon is None or not U.supported(ref, canon):
        out.problems.append(DataProblem(
            src, None, out.column_of(target) if target in cm.targets else target,
            repr(str(chosen)), f"unit cannot be converted to {ref}" + (
                "; strength units: " + ", ".join(U.STRENGTH_UNITS) if U.is_strength(ref)
                else "")))
        plan.bad.add(target)
        return False
    plan.file_unit[target], plan.where[target] = canon, where
    return True


def _analysis_unit(target, opts: Options, plan: UnitPlan, out: Assembled) -> None:
    """``analysis_units=`` (strength_uninvolved follows strength), else the design's unit."""
    design, ref = opts.design, unit_of(target, opts.design)
    primary = design.primary.get("strength", "strength")
    an = opts.analysis.get(target)
    if an is None and target != primary and U.is_strength(ref) and \
            primary in opts.analysis and U.is_strength(unit_of(primary, design)):
        an = opts.analysis[primary]
    if an is None:
        plan.analysis[target] = ref
        return
    can = U.unit_for(an, ref)
    if can is None or not U.supported(ref, can):
        out.problems.append(DataProblem(
            out.raw.source, None, target, repr(str(an)),
            f"analysis_units: {target} cannot be expressed in {an!r}" + (
                "; choose one of " + ", ".join(U.STRENGTH_UNITS)
                if U.is_strength(ref) else f" (its unit is {ref})")))
        plan.bad.add(target)
        return
    plan.analysis[target] = can


def _uninvolved_follows(cm: ColumnMap, design: Design, plan: UnitPlan, out: Assembled) -> None:
    """strength_uninvolved without a declaration takes strength's (never silently)."""
    primary = design.primary.get("strength", "strength")
    for target in plan.numeric:
        ref = unit_of(target, design)
        if target in plan.file_unit or target in cm.unit_cols or not U.is_strength(ref) or \
                target == primary:
            continue
        if primary in plan.file_unit and primary not in cm.unit_cols:
            plan.file_unit[target] = plan.file_unit[primary]
            plan.where[target] = f"as {primary}"
            out.notes.append(Reading("units", f"{target}: no unit declared; taken as "
                                     f"{primary}'s ({plan.file_unit[target]})"))


def _scale_checks(cm: ColumnMap, opts: Options, plan: UnitPlan, out: Assembled) -> None:
    """Scale annotations (``LEFS (0-80)``): compared with the design, never taken as a unit."""
    for scol, (lo, hi) in cm.col_scale.items():
        hit = next(((t, tp) for c, (t, tp) in cm.colmap.items() if str(c) == scol), None)
        if hit is None or hit[0] not in opts.value_targets or hit[0] == "lever_arm":
            continue
        meas = opts.design.measure(hit[0])
        if meas.kind != "float":
            continue
        unit = plan.file_unit.get(hit[0], meas.unit)
        try:
            dlo, dhi = U.range_in(unit, meas.unit, meas.low, meas.high)
        except ValueError:
            continue
        if dlo is not None and dhi is not None and (abs(lo - dlo) > 1e-9 or abs(hi - dhi) > 1e-9):
            out.warnings.append(
                f"column {scol!r}: scale {lo:g}-{hi:g}, but {meas.name} is {dlo:g}-{dhi:g} "
                f"{unit}; if the values are in another unit, declare units=")
        else:
            out.notes.append(Reading("units", f"column {scol!r}: scale {lo:g}-{hi:g} matches "
                                     f"{meas.name}"))


# -- conversion -------------------------------------------------------------------------------
def convert(frame: pd.DataFrame, out: Assembled, design: Design, plan: UnitPlan,
            cm: ColumnMap, lever_const) -> pd.DataFrame:
    """Every numeric target into its analysis unit (body mass and lever arm first: strength
    conversions use them, in kg and m); per-row unit columns dropped afterwards."""
    _carry_subject_values(frame, out, [t for t in ("body_mass", "lever_arm")
                                       if t in plan.numeric and t not in plan.bad])
    base: dict[str, np.ndarray] = {}
    for target in sorted(plan.numeric, key=lambda t: (t not in ("body_mass", "lever_arm"), t)):
        if target in plan.bad:
            if target in frame:
                frame[target] = np.nan
            continue
        ref = unit_of(target, design)
        an = plan.analysis.get(target, ref)
        out.units[target] = an
        if target not in frame:
            continue
        vals = frame[target].to_numpy(float)
        if target in cm.unit_cols:
            vals, groups = _row_units(frame, out, target, vals, plan.file_unit.get(target))
        else:
            u = plan.file_unit.get(target)
            if u is None:
                u = ref
                if U.is_strength(ref):
                    out.unit_assumed[target] = ref
                    _warn_assumed(out, target, ref, vals)
            out.declared[target] = u
            groups = [(u, np.ones(len(frame), dtype=bool))]
        new = _convert_groups(frame, out, target, an, vals, groups, base, lever_const)
        frame[target] = new
        if target in ("body_mass", "lever_arm"):
            base[target] = new * U.plan(an, ref).factor if an != ref else new
    for m in design.measures + design.covariates:  # categories keep their form
        if m.name in frame and m.unit and m.name not in out.units:
            out.units[m.name] = m.unit
    if "lever_arm" in frame:
        out.units["lever_arm"] = "m"
    return frame.drop(columns=[c for c in frame.columns if c.endswith("__unit")])


def _row_units(frame, out: Assembled, target, vals, fallback):
    """Units read row by row from a unit column -> (values, [(unit, row mask)])."""
    per = frame[target + "__unit"].to_numpy(object)
    unusable = per == "?"  # already reported where it was read
    per = np.where(unusable, None, per)
    vals = np.where(unusable, np.nan, vals)
    if fallback is not None:
        per = np.where(pd.isna(per), fallback, per)
    no_unit = pd.isna(per) & ~np.isnan(vals)
    ucol = out.sources.get((target + "__unit", None))
    for i in np.flatnonzero(no_unit):
        out.problems.append(DataProblem(
            out.raw.source, int(frame["_row"].iat[i]), ucol, None,
            f"no unit on this row for {target} (and none declared for the column); fill it "
            "in or declare units="))
    vals = np.where(no_unit, np.nan, vals)
    present = sorted({u for u in per if isinstance(u, str)})
    counts = {u: int(np.sum(per == u)) for u in present}
    out.notes.append(Reading("units", f"{target}: unit read row by row from column {ucol!r} ("
                             + ", ".join(f"{u} on {k} row{'s' if k != 1 else ''}"
                                         for u, k in counts.items()) + ")"))
    out.declared[target] = "per row: " + ", ".join(present)
    return vals, [(u, per == u) for u in present]


def _convert_groups(frame, out: Assembled, target, an, vals, groups, base, lever_const):
    """Convert each (unit, rows) group of ``target`` to ``an``; failures become NaN + problem."""
    n = len(frame)
    new = vals.copy()
    failed = np.zeros(n, dtype=bool)
    for unit, mask in groups:
        try:
            p = U.plan(unit, an)
        except ValueError:
            out.problems.append(DataProblem(out.raw.source, None, out.column_of(target), unit,
                                            f"unit cannot be converted to {an}"))
            failed |= mask
            continue
        if p.identity:
            continue
        x = vals[mask]
        factor = np.full(mask.sum(), p.factor)
        const_used = False
        for need, power in (("lever_arm", p.lever), ("body_mass", p.mass)):
            if not power:
                continue
            arr, const = _needed(frame, out, target, unit, an, need, base, lever_const)
            const_used |= const
            if arr is None:
                failed |= mask
                factor[:] = np.nan
                continue
            a = arr[mask]
            lacking = (np.isnan(a) | (a <= 0)) & ~np.isnan(x)
            if lacking.any():
                _report_missing_need(out, frame, target, unit, an, need,
                                     np.flatnonzero(mask)[lacking])
                failed[np.flatnonzero(mask)[lacking]] = True
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = factor * (a if power > 0 else 1.0 / a)
        new[mask] = x * factor
        if not np.isnan(factor).all() or not len(factor):
            text = p.describe(target)
            if const_used:
                text = text.replace("lever_arm (m)", f"lever_arm {lever_const:g} m (lever_arm=)")
            out.conversions.append(text)
            out.converted[target] = unit
    new[failed] = np.nan
    return new


def _needed(frame, out: Assembled, target, unit, an, need, base, lever_const):
    """Body mass (kg) or lever arm (m) per row -> (array or None, lever_arm= constant used)."""
    if need == "lever_arm" and "lever_arm" not in frame and lever_const is not None:
        return np.full(len(frame), lever_const), True
    if need in frame:  # in kg / m whatever unit the results of body_mass / lever_arm are in
        return (base[need] if need in base else frame[need].to_numpy(float)), False
    hint = ("declare lever_arm= (the name of a lever-arm column, or one number in metres)"
            if need == "lever_arm" else
            "the file has no body_mass column (map one with columns=)")
    said = need == "lever_arm" and any(p.message.startswith("lever_arm= ") for p in out.problems)
    if not said:  # one root cause, one line
        out.problems.append(DataProblem(
            out.raw.source, None, target, None,
            f"converting {target} from {unit} to {an} needs the "
            f"{'lever arm (m)' if need == 'lever_arm' else 'body mass (kg)'}: {hint}"))
    return None, False


def _carry_subject_values(frame, out: Assembled, cols) -> None:
    """A subject-level value (body mass) written on one of a subject's rows only (usually
    the first) holds for all its rows: carried there before strength is converted by it.
    A subject whose rows disagree keeps its cells (the consistency check reports them)."""
    if "subject" not in frame or not len(frame):
        return
    codes = pd.factorize(frame["subject"].to_numpy(object))[0]
    for col in [c for c in cols if c in frame]:
        s = frame[col].astype(float)
        if not s.isna().any():
            continue
        g = s.groupby(codes)
        one = (g.transform("nunique") == 1).to_numpy()
        fill = s.isna().to_numpy() & one & (codes >= 0)
        if not fill.any():
            continue
        frame[col] = np.where(fill, g.transform("max").to_numpy(), s.to_numpy())
        nsub = len(np.unique(codes[fill]))
        out.notes.append(Reading("carried", f"{col} given on some of a subject's rows only: "
                                 f"carried to the subject's other rows ({nsub} "
                                 f"subject{'s' if nsub != 1 else ''}, {int(fill.sum())} "
                                 f"row{'s' if fill.sum() != 1 else ''})"))


def _warn_assumed(out: Assembled, target: str, ref: str, vals: np.ndarray) -> None:
    v = vals[~np.isnan(vals)]
    if not len(v):
        out.warnings.append(f"{target}: no unit declared; assumed {ref} — declare units=")
        return
    lo, hi = float(v.min()), float(v.max())
    typical = U.plausible(lo, hi)
    others = [u for u in typical if u != ref]
    rng = f"{lo:.3g}-{hi:.3g}"
    if others and ref not in typical and ref in U.STRENGTH_UNITS:
        out.warnings.append(f"{target}: no unit declared; assumed {ref}, but values {rng} are "
                            f"not typical of {ref}; they look like {' or '.join(others)} — "
                            "declare units=")
    elif others:
        out.warnings.append(f"{target}: no unit declared; assumed {ref}; values {rng} are also "
                            f"plausible as {' or '.join(others)} — declare units=")
    else:
        out.warnings.append(f"{target}: no unit declared; assumed {ref} (values {rng}) — "
                            "declare units=")


def _report_missing_need(out: Assembled, frame, target, unit, an, need, idx) -> None:
    """One problem per subject whose body mass / lever arm is missing (the root cause)."""
    src = out.raw.source if out.raw is not None else "<data>"
    col = out.sources.get((need, None)) or need
    sub = frame["subject"].to_numpy(object)[idx]
    rows = frame["_row"].to_numpy()[idx]
    order: dict = {}
    for s, r in zip(sub, rows):
        order.setdefault(s, []).append(int(r))
    hint = ("fill it in, or declare lever_arm= (one number in metres)" if need == "lever_arm"
            else "fill it in")
    what = "lever arm" if need == "lever_arm" else "body mass"
    for s, rs in order.items():
        rs = sorted(set(rs))
        listed = ", ".join(str(r) for r in rs[:6]) + (" ..." if len(rs) > 6 else "")
        out.problems.append(DataProblem(
            src, rs[0], col, None,
            f"{what} is missing for subject {s!r}, so {target} ({unit}) cannot be converted to "
            f"{an} on {len(rs)} row{'s' if len(rs) != 1 else ''} ({listed}); {hint}"))
