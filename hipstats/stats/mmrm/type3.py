"""Type III contrasts of an MMRM as R's ``mmrm`` builds them (``h_type3_contrasts``).

mmrm takes, for each term, the identity rows of the term's columns in a design coded with
sum-to-zero contrasts (``contr.sum``) and carries them to the fit's treatment coding with
``(Xs'Xs)^{-1} Xs'X``. The F statistic does not depend on the basis of a term's rows, but
Satterthwaite's multi-df denominator does, so hipstats uses mmrm's basis for MMRM fits
(and lmerTest's for ``mixed_model`` fits).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

__all__ = ["type3_contrasts"]


def _factor_values(factor, info, frame: pd.DataFrame):
    import patsy

    values = factor.eval(info.state, frame)
    if info.type == "categorical":
        return patsy.categorical.categorical_to_int(values, info.categories,
                                                    patsy.NAAction(NA_types=[]))
    return np.asarray(values, float).reshape(len(frame), -1)


def _coding(sub, factor, info, sum_coded: bool) -> np.ndarray:
    import patsy

    cm = sub.contrast_matrices[factor].matrix
    levels = info.categories
    if sum_coded and cm.shape[1] == len(levels) - 1:
        return patsy.Sum().code_without_intercept(list(levels)).matrix
    return cm


def _design(design_info, frame: pd.DataFrame, sum_coded: bool) -> np.ndarray:
    """The design matrix rebuilt term by term (patsy's column order: in each subterm the
    first factor varies fastest), optionally with contr.sum instead of reduced codings."""
    values = {f: _factor_values(f, design_info.factor_infos[f], frame)
              for f in design_info.factor_infos}
    cols = []
    for term, subterms in design_info.term_codings.items():
        for sub in subterms:
            widths = []
            for f in sub.factors:
                info = design_info.factor_infos[f]
                widths.append(_coding(sub, f, info, sum_coded).shape[1]
                              if info.type == "categorical" else values[f].shape[1])
            for combo in itertools.product(*[range(w) for w in reversed(widths)]):
                col = np.ones(len(frame))
                for f, j in zip(sub.factors, combo[::-1]):
                    info = design_info.factor_infos[f]
                    if info.type == "categorical":
                        col = col * _coding(sub, f, info, sum_coded)[values[f], j]
                    else:
                        col = col * values[f][:, j]
                cols.append(col)
    return np.column_stack(cols)


def type3_contrasts(design_info, frame: pd.DataFrame, X: np.ndarray,
                    tol: float = np.sqrt(np.finfo(float).eps)) -> dict:
    """Type III contrast matrix of each term except the intercept (term name -> (k, p))."""
    Xo = _design(design_info, frame, sum_coded=False)
    if Xo.shape != X.shape or not np.allclose(Xo, X, rtol=1e-10, atol=1e-10):
        raise RuntimeError("type III contrasts: the rebuilt design does not match patsy's")
    Xs = _design(design_info, frame, sum_coded=True)
    corr = np.linalg.solve(Xs.T @ Xs, Xs.T @ X)
    out = {}
    for name, sl in design_info.term_name_slices.items():
        if name == "Intercept":
            continue
        L = corr[sl].copy()
        L[np.abs(L) < tol] = 0.0
        out[name] = L
    return out
