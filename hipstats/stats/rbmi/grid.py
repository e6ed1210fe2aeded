"""The imputation grid: every participant at every visit, their arm, strategy and event.

rbmi works on the complete participant x visit grid: a visit a participant missed is a
row whose outcome is missing. :func:`build_grid` makes that grid from the analysis frame
(rows absent from the frame are added, with subject-level covariates carried from the
participant's other rows), resolves the intercurrent events (``ice``) into the visit from
which each participant's strategy applies, and builds the imputation model's design
matrices with each participant's own arm and with their reference arm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hipstats.errors import AnalysisError

__all__ = ["Grid", "build_grid", "STRATEGIES"]

#: rbmi's strategies: missing at random, jump to reference, copy reference, copy
#: increments in reference, last mean carried forward.
STRATEGIES = ("MAR", "JR", "CR", "CIR", "LMCF")


@dataclass
class Grid:
    subjects: np.ndarray       # (n,) participant ids, sorted
    visits: list               # (m,) post-baseline visits in order
    arms: list                 # arm levels, the analysis reference first
    arm: np.ndarray            # (n,) arm code per participant
    ref: np.ndarray            # (n,) code of the participant's reference arm
    Y: np.ndarray              # (n, m) outcome, NaN where missing
    X_own: np.ndarray          # (n, m, q) imputation design, own arm
    X_ref: np.ndarray          # (n, m, q) imputation design, reference arm
    names: list                # (q,) design column names
    strategy: np.ndarray       # (n,) strategy name
    ice: np.ndarray            # (n,) index of the first visit the strategy applies to (m: none)
    frame: pd.DataFrame        # (n * m,) grid rows: subject, time, group, covariates
    outcome: str
    subject: str
    time: str
    group: str
    notes: list = field(default_factory=list)

    @property
    def missing(self) -> np.ndarray:
        return np.isnan(self.Y)

    @property
    def is_mar(self) -> np.ndarray:
        """(n, m): the value (observed or not) is modelled as missing at random."""
        m = len(self.visits)
        mar = np.arange(m)[None, :] < self.ice[:, None]
        return mar | (self.strategy == "MAR")[:, None]

    @property
    def fitted(self) -> np.ndarray:
        """(n, m): observed values the imputation model is fitted to (rbmi leaves out
        values observed after a non-MAR event)."""
        return ~self.missing & self.is_mar


def _arms(data: pd.DataFrame, group: str, reference) -> list:
    col = data[group]
    if col.isna().any():
        rows = data.index[col.isna()][:5].tolist()
        raise AnalysisError(f"column {group!r} is missing at rows {rows}: every participant "
                            "needs an arm")
    present = set(col.unique())
    if isinstance(col.dtype, pd.CategoricalDtype):
        levels = [a for a in col.cat.categories if a in present]
    else:
        levels = sorted(present, key=lambda a: (str(type(a)), a))
    if reference is not None:
        if reference not in present:
            raise AnalysisError(f"reference arm {reference!r} is not in column {group!r} "
                                f"(arms: {levels})")
        levels = [reference] + [a for a in levels if a != reference]
    return levels


def _visits(data: pd.DataFrame, time: str) -> list:
    col = data[time]
    if col.isna().any():
        rows = data.index[col.isna()][:5].tolist()
        raise AnalysisError(f"column {time!r} (the visit) is missing at rows {rows}")
    if isinstance(col.dtype, pd.CategoricalDtype):
        return [v for v in col.cat.categories if v in set(col.unique())]
    return [v.item() if isinstance(v, np.generic) else v for v in sorted(col.unique())]


def _check_input(data, outcome, subject, time, group, predictors):
    for c in dict.fromkeys([outcome, subject, time, group] + predictors):
        if c not in data.columns:
            raise AnalysisError(f"column {c!r} is not in the data (columns: "
                                + ", ".join(map(str, data.columns)) + ")")
    dup = data.duplicated([subject, time], keep=False)
    if dup.any():
        raise AnalysisError(f"two or more rows for one participant and visit (rows "
                            f"{data.index[dup][:6].tolist()}): keep one row per visit")
    per = data.groupby(subject, sort=False)[group].nunique()
    if (per > 1).any():
        raise AnalysisError(f"column {group!r} changes within participant(s) "
                            f"{per.index[per > 1][:3].tolist()}: the arm is one per participant")
    for c in predictors:
        bad = data[c].isna()
        if bad.any():
            rows = data.index[bad][:5].tolist()
            raise AnalysisError(f"covariate {c!r} is missing at rows {rows}: rbmi imputes "
                                "the outcome only; complete or drop the covariate")


def _complete(data, subject, time, visits, keep: list, extra: list):
    """The full subject x visit grid; rows absent from ``data`` get subject-level values
    (``keep[1:]``, the model's columns, must be subject-level there; ``extra`` columns are
    carried when subject-level, else left missing)."""
    subjects = np.sort(data[subject].unique())
    full = pd.MultiIndex.from_product([subjects, visits], names=[subject, time])
    d = data.set_index([subject, time])[keep + extra]
    grid = d.reindex(full)
    added = ~full.isin(d.index)
    notes = []
    if added.any():
        who = full[added].get_level_values(0).unique()
        const = data.groupby(subject)[keep[1:] + extra].nunique(dropna=False).le(1).loc[who]
        for c in keep[1:] + extra:
            if not const[c].all():
                if c in extra:
                    continue
                s = const.index[~const[c]][0]
                raise AnalysisError(
                    f"participant {s!r} has no row at some visit, and column {c!r} varies "
                    f"between their visits: add the row with its {c!r} value")
            first = grid[c].groupby(level=0).transform("first")
            grid.loc[added, c] = first[added]
        notes.append(f"{int(added.sum())} participant-visit(s) absent from the data were "
                     "added as missing outcomes")
    return subjects, grid.reset_index(), notes


def build_grid(data, formula, subject, time, group, references, ice, reference=None) -> Grid:
    """The :class:`Grid` of ``data`` for the imputation model ``formula``."""
    from hipstats.stats.lmm.engine import formula_variables

    if group is None:               # one group: a constant arm, analysed as a mean
        group = "_arm"
        data = data.assign(_arm="all")
    data = _drop_unused_levels(data, [group, time])
    lhs, rhs = formula_variables(formula, data.columns)
    if len(lhs) != 1:
        raise AnalysisError(f"formula {formula!r} needs one outcome column on the left")
    outcome = lhs[0]
    predictors = [c for c in rhs if c not in (subject, time, group)]
    _check_input(data, outcome, subject, time, group, predictors)
    arms = _arms(data, group, reference)
    visits = _visits(data, time)
    keep = [outcome, group] + predictors
    extra = [c for c in data.columns if c not in keep + [subject, time]]
    subjects, frame, notes = _complete(data, subject, time, visits, keep, extra)
    n, m = len(subjects), len(visits)
    Y = frame[outcome].to_numpy(float).reshape(n, m)
    arm_of = frame[group].to_numpy().reshape(n, m)[:, 0]
    code = {a: i for i, a in enumerate(arms)}
    refs = _references(references, arms)
    arm = np.array([code[a] for a in arm_of])
    ref = np.array([code[refs[a]] for a in arm_of])
    strategy, first = resolve_ice(ice, subjects, visits, Y, subject, time)
    if len(arms) == 1 and np.any(np.isin(strategy, ("JR", "CR", "CIR"))):
        raise AnalysisError("JR, CR and CIR need a reference arm; a one-group trial can use "
                            "MAR or LMCF (and delta adjustment)")
    X_own, X_ref, names = _designs(frame, formula, group, np.asarray(arms, object)[ref], n, m)
    return Grid(subjects, visits, arms, arm, ref, Y, X_own, X_ref, names, strategy, first,
                frame, outcome, subject, time, group, notes)


def _drop_unused_levels(data, columns):
    """A Categorical's levels without rows (a baseline visit left in a post-baseline frame,
    an arm not in this subset) would be all-zero design columns: dropped."""
    out = data
    for c in columns:
        if c in data.columns and isinstance(data[c].dtype, pd.CategoricalDtype):
            col = data[c].cat.remove_unused_categories()
            if len(col.cat.categories) < len(data[c].cat.categories):
                out = out.assign(**{c: col})
    return out


def _references(references, arms) -> dict:
    if references is None:
        return {a: a for a in arms}
    out = {}
    for k, v in dict(references).items():
        for a in (k, v):
            if a not in arms:
                raise AnalysisError(f"references: arm {a!r} is not in the data (arms: {arms})")
        out[k] = v
    missing = [a for a in arms if a not in out]
    if missing:
        raise AnalysisError(f"references names no reference for arm(s) {missing}: give one "
                            "for every arm (an arm may be its own reference)")
    return out


def _designs(frame, formula, group, ref_arm, n, m):
    import patsy

    from hipstats.stats.lmm.engine import _model_desc

    d = frame
    rhs = patsy.ModelDesc([], _model_desc(formula).rhs_termlist)   # the outcome may be missing
    try:
        X = patsy.dmatrix(rhs, d, return_type="matrix", NA_action="raise", eval_env=0)
    except patsy.PatsyError as exc:
        raise AnalysisError(f"formula {formula!r}: {exc}".split("\n")[0]) from None
    dr = d.copy()
    values = np.repeat(ref_arm, m)
    if isinstance(d[group].dtype, pd.CategoricalDtype):
        values = pd.Categorical(values, categories=d[group].cat.categories)
    dr[group] = values
    (Xr,) = patsy.build_design_matrices([X.design_info], dr, return_type="matrix")
    q = X.shape[1]
    return (np.asarray(X, float).reshape(n, m, q), np.asarray(Xr, float).reshape(n, m, q),
            list(X.design_info.column_names))


def resolve_ice(ice, subjects, visits, Y, subject, time):
    """(strategy per participant, index of the first visit it applies to)."""
    n, m = Y.shape
    strategy = np.full(n, "MAR", dtype=object)
    first = np.full(n, m)
    if ice is None:
        return strategy, first
    if isinstance(ice, str):
        s = _strategy(ice, "ice")
        observed = ~np.isnan(Y)
        last = np.where(observed.any(axis=1), m - 1 - np.argmax(observed[:, ::-1], axis=1), -1)
        drop = last < m - 1
        strategy[drop] = s
        first[drop] = last[drop] + 1
        if s == "LMCF" and (drop & (last < 0)).any():
            who = subjects[drop & (last < 0)][:3].tolist()
            raise AnalysisError(f"ice='LMCF': participant(s) {who} have no observed visit to "
                                "carry forward; give them another strategy (an ice DataFrame)")
        return strategy, first
    if not isinstance(ice, pd.DataFrame):
        raise AnalysisError("ice must be None, a strategy name or a DataFrame (subject, "
                            "visit, strategy)")
    return _ice_frame(ice, subjects, visits, subject, time, strategy, first)


def _strategy(s, where) -> str:
    if s not in STRATEGIES:
        raise AnalysisError(f"{where}: unknown strategy {s!r}; choose from "
                            + ", ".join(STRATEGIES))
    return s


def _ice_frame(ice, subjects, visits, subject, time, strategy, first):
    for c in (subject, time, "strategy"):
        if c not in ice.columns:
            raise AnalysisError(f"ice: column {c!r} is missing (columns: "
                                + ", ".join(map(str, ice.columns)) + ")")
    dup = ice.duplicated(subject, keep=False)
    if dup.any():
        raise AnalysisError(f"ice: two or more rows for participant(s) "
                            f"{ice.loc[dup, subject].unique()[:3].tolist()} (rows "
                            f"{ice.index[dup][:6].tolist()}): one row per participant")
    where = {s: i for i, s in enumerate(subjects)}
    vpos = {v: i for i, v in enumerate(visits)}
    for row, s, v, strat in ice[[subject, time, "strategy"]].itertuples():
        if s not in where:
            raise AnalysisError(f"ice row {row}, column {subject!r}: participant {s!r} is not "
                                "in the data")
        if v not in vpos:
            raise AnalysisError(f"ice row {row}, column {time!r}: visit {v!r} is not on the "
                                f"grid {list(visits)}")
        strategy[where[s]] = _strategy(strat, f"ice row {row}, column 'strategy'")
        first[where[s]] = vpos[v]
        if strat == "LMCF" and vpos[v] == 0:
            raise AnalysisError(f"ice row {row}: LMCF needs a visit before the event; "
                                f"participant {s!r}'s event is at the first visit")
    return strategy, first
