"""Comparison of hipstats' results with R's, shared by the differential tests
(``test_differential.py``, ``test_differential_paths.py``): a collector of mismatches and
the comparison of one mixed model with lme4/lmerTest's answer (tolerances in
``test_differential.py``'s docstring)."""

from __future__ import annotations

import math
import re
from collections import Counter

COUNTS: Counter = Counter()   # compared values per analysis (DIFF_COUNTS=path writes them)


class Compare:
    """Collect every mismatch of one analysis, then fail once listing them all."""

    def __init__(self, analysis: str, where: str):
        self.analysis, self.where, self.bad = analysis, where, []

    def num(self, name, got, want, rel, abs_=0.0, span=None):
        """``span``: (lo, hi) that R's near-optimal fits span on a flat direction
        (``spread_range`` in lme4_best.R): a value inside it is as good as R's best, and
        one outside is compared with the nearer end."""
        COUNTS[self.analysis] += 1
        if span is not None and got is not None and not math.isnan(float(got)):
            want = min(max(float(got), min(span)), max(span))
        got = float("nan") if got is None else float(got)
        want = float("nan") if want is None else float(want)
        if math.isnan(want) or math.isnan(got):
            if not (math.isnan(want) and math.isnan(got)):
                self.bad.append(f"{name}: hipstats {got!r} vs R {want!r}")
            return
        if math.isinf(want) or math.isinf(got):
            if got != want:
                self.bad.append(f"{name}: hipstats {got!r} vs R {want!r}")
            return
        diff = abs(got - want)
        if diff > max(rel * abs(want), abs_):
            reld = diff / abs(want) if want else float("inf")
            self.bad.append(f"{name}: hipstats {got!r} vs R {want!r} (rel diff {reld:.2e})")

    def pval(self, name, got, want, span=None):
        self.num(name, got, want, rel=1e-4, abs_=1e-8, span=span)

    def same(self, name, got, want):
        COUNTS[self.analysis] += 1
        if got != want:
            self.bad.append(f"{name}: hipstats {got!r} vs R {want!r}")

    def done(self):
        assert not self.bad, f"{self.where}: {len(self.bad)} mismatch(es)\n  " + \
            "\n  ".join(self.bad)


def r_term(name: str) -> str:
    """patsy column name -> lme4's: ``group[T.B]`` -> ``groupB``, ``Intercept`` ->
    ``(Intercept)``."""
    return "(Intercept)" if name == "Intercept" else re.sub(r"(\w+)\[T\.([^\]]+)\]", r"\1\2",
                                                             name)


def r_converged(ref) -> bool:
    """lme4's convergence test (checkConv: gradient and Hessian) passed. The boundary
    note of a singular fit and bobyqa's code 3 (a trust-region step failed near rhoend =
    1e-12) are not failures of that test."""
    msgs = []
    for k in ("conv_messages", "warnings"):
        v = ref.get(k) or []
        msgs += [v] if isinstance(v, str) else v
    return not any("failed to converge" in m for m in msgs)


def check_lmm(c: Compare, fit, ref: dict) -> None:
    """Compare a hipstats fit with differential.R's ``lmm()`` answer, then ``c.done()``.
    Fits that lme4 flags singular: only the log-likelihood and the fixed estimates."""
    c.same("nobs", fit.nobs, ref["nobs"])
    c.same("ngroups", fit.ngroups, ref["ngroups"])
    c.same("singular", fit.singular, ref["singular"])
    c.num("loglik", fit.loglik, ref["loglik"], rel=0, abs_=1e-4)
    fx = fit.fixed.rename(index=r_term)
    c.same("terms", sorted(fx.index), sorted(ref["term"]))
    rows = {t: i for i, t in enumerate(ref["term"])}
    if ref["singular"]:
        # flat optimum: only logLik and the fixed estimates are determined (see docstring)
        for t in fx.index.intersection(list(rows)):
            i = rows[t]
            c.num(f"{t} estimate", fx.at[t, "estimate"], ref["estimate"][i], rel=1e-3,
                  abs_=1e-3 * ref["se"][i])
        c.done()
        return
    c.same("converged", fit.converged, r_converged(ref))
    c.num("sigma", fit.sigma, ref["sigma"], rel=1e-4)
    rnd = fit.random
    for j, (vc, sdc) in enumerate(zip(ref["vcov"], ref["sdcor"])):
        if j >= len(rnd):
            break
        is_corr = isinstance(rnd["var2"].iloc[j], str)
        label = f"VarCorr[{j}] {rnd['var1'].iloc[j] or 'Residual'}" + \
            (f",{rnd['var2'].iloc[j]} corr" if is_corr else " var")
        # on a flat direction R's optimisers stop at different points within 1e-6 of the
        # best criterion: the range they span is R's answer
        # a variance also within 1e-7 of the residual variance (a relative tolerance means
        # nothing near zero: a variance at 4e-5 of the residual one, theta = 0.006, is
        # located by R's derivative-free optimisers only to 3e-4 relative)
        col, want, tol = (("sdcor", sdc, dict(rel=1e-4, abs_=1e-4)) if is_corr
                          else ("vcov", vc, dict(rel=1e-4, abs_=1e-7 * ref["sigma"] ** 2)))
        c.num(label, rnd[col].iloc[j], want, span=span(ref, col, j), **tol)
    c.same("VarCorr rows", len(rnd), len(ref["vcov"]))
    for t in fx.index.intersection(list(rows)):
        i, r = rows[t], fx.loc[t]
        c.num(f"{t} estimate", r["estimate"], ref["estimate"][i], rel=1e-5,
              abs_=1e-5 * ref["se"][i])
        c.num(f"{t} se", r["se"], ref["se"][i], rel=1e-4, span=span(ref, "se", i))
        c.num(f"{t} t", r["t"], ref["t"][i], rel=1e-4, abs_=1e-5, span=span(ref, "t", i))
        c.num(f"{t} df", r["df"], ref["df"][i], rel=1e-3, span=span(ref, "df", i))
        c.pval(f"{t} pval", r["pval"], ref["pval"][i], span=span(ref, "pval", i))
    c.done()


def span(ref: dict, key: str, i: int):
    """(lo, hi) of ``key``'s entry i over R's near-optimal fits, or None (one point)."""
    lo, hi = ref.get(f"{key}_lo"), ref.get(f"{key}_hi")
    if lo is None:
        return None
    lo, hi = (v if isinstance(v, list) else [v] for v in (lo, hi))
    return None if lo[i] is None or hi[i] is None else (lo[i], hi[i])
