"""Logistic regression fitted to the exact maximum, with Firth's penalty for separation.

The working model of :func:`hipstats.stats.marginal.marginal_effect` (:func:`fit_logit`) and
the outcome model of :func:`hipstats.mediation` (:func:`fit_logistic`: many weighted fits at
once, for the bootstrap); one Newton iteration serves both. Why not statsmodels' ``GLM``: its IRLS stops, as R's ``glm`` does by default, when the deviance changes by less
than 1e-8 relative, leaving the coefficients ~1e-5 from the maximum and the covariance built
from the weights of the iteration before the last; covariate-adjusted SEs then differ from
the maximum's by up to 3e-4 (measured on the reference trials of ``tests/reference/
marginal.R``, 670 analyses). Plain Newton steps on the exact gradient and Hessian, continued
until the score ``X'(y - p)`` is at rounding level (~1e-12 of its scale), reach the maximum in
5-8 steps; the covariance is then taken at the final estimates. This is a dozen lines, so it
is written here rather than polishing a statsmodels fit.

Separation (an arm, or a covariate pattern, with only responders or only non-responders) has
no finite maximum: the coefficients run off to infinity. It is detected before fitting (a
treatment arm with 0% or 100% responders) or while fitting (Newton fails to converge, or a
fitted probability within 1e-10 of 0 or 1), and the fit is then Firth's penalised maximum
likelihood (Firth 1993; Heinze & Schemper 2002), which is finite whenever X has full rank and
shrinks the separated coefficients towards zero (it removes the O(1/n) bias of the ML
estimate). ``LogitFit.penalty`` says which fit was used.

References
----------
Firth D (1993). Bias reduction of maximum likelihood estimates. Biometrika 80(1):27-38.
Heinze G, Schemper M (2002). A solution to the problem of separation in logistic regression.
Stat Med 21(16):2409-2419.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.special import expit

__all__ = ["LogitFit", "fit_logit", "fit_logistic"]


@dataclass
class LogitFit:
    """A fitted logistic regression: coefficients, their model-based covariance
    ``(X'WX)^-1`` at the final estimates, fitted probabilities, and how it was fitted."""

    beta: np.ndarray
    cov: np.ndarray
    fitted: np.ndarray
    max_score: float
    converged: bool
    penalty: str          # "none" (maximum likelihood) or "firth"


def _firth(X: np.ndarray, y: np.ndarray, maxit: int = 100):
    """Firth's penalised maximum by Newton-Raphson with step halving, from zero."""
    beta = np.zeros(X.shape[1])

    def objective(b):
        eta = X @ b
        p = expit(eta)
        sign, logdet = np.linalg.slogdet((X * (p * (1 - p))[:, None]).T @ X)
        return float(np.sum(y * eta - np.logaddexp(0.0, eta))) + (
            0.5 * logdet if sign > 0 else -np.inf)

    current = objective(beta)
    scale = max(1.0, float(np.abs(X).sum(axis=0).max()))
    for it in range(1, maxit + 1):
        p = expit(X @ beta)
        w = p * (1 - p)
        inv = np.linalg.inv((X * w[:, None]).T @ X)
        h = np.einsum("ij,jk,ik->i", X, inv, X) * w
        score = X.T @ (y - p + h * (0.5 - p))   # Firth's modified score, h the hat diagonal
        step = inv @ score
        if np.max(np.abs(score)) < 1e-12 * scale or np.max(np.abs(step)) < 1e-14:
            return beta, it, True
        t = 1.0
        while t > 1e-10:
            new = beta + t * step
            val = objective(new)
            if val >= current - 1e-12 * abs(current):
                break
            t /= 2
        beta, current = new, val
    return beta, maxit, False


def fit_logistic(X: np.ndarray, y: np.ndarray, W: np.ndarray, start: np.ndarray,
                 tol: float = 1e-12, max_iter: int = 100):
    """Weighted logistic regression for each row of ``W`` by Newton's method from
    ``start`` (p,) or (fits, p), to a gradient below ``tol`` relative to the information's
    scale. Returns coefficients (fits, p), the inverse information (fits, p, p) and a
    boolean ``converged`` per fit (False: separation or a singular information; those fits
    are NaN)."""
    beta = np.broadcast_to(np.asarray(start, float), (W.shape[0], X.shape[1])).copy()
    done = np.zeros(W.shape[0], bool)
    info = None
    for _ in range(max_iter):
        eta = beta @ X.T
        mu = special.expit(eta)
        grad = np.einsum("bn,ni->bi", W * (y[None, :] - mu), X)
        info = np.einsum("bn,ni,nj->bij", W * mu * (1 - mu), X, X)
        scale = np.einsum("bii->b", info) + 1.0
        done = np.all(np.abs(grad) <= tol * scale[:, None], axis=1)
        if done.all():
            break
        try:
            step = np.linalg.solve(info, grad[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.stack([np.linalg.lstsq(i, g, rcond=None)[0] for i, g in zip(info, grad)])
        beta = np.where(done[:, None], beta, beta + step)
        if not np.isfinite(beta).all():
            break
    # a fitted probability within 1e-13 of 0 or 1 is (quasi-)separation, not a maximum
    with np.errstate(invalid="ignore"):
        ok = done & np.isfinite(beta).all(axis=1) & (np.abs(beta @ X.T) < 30).all(axis=1)
    with np.errstate(all="ignore"):
        inv = np.linalg.pinv(info)
    beta[~ok] = np.nan
    return beta, inv, ok


def fit_logit(X: np.ndarray, y: np.ndarray, firth: bool = False) -> LogitFit:
    """Fit ``logit P(y = 1) = X beta`` by Newton's method to the exact maximum.

    ``firth=False`` falls back to Firth's penalised fit when maximum likelihood does not
    converge (separation); ``firth=True`` fits Firth's penalised likelihood directly.
    The covariance is ``(X'WX)^-1`` at the final estimates (for Firth's fit, the inverse
    information of the unpenalised likelihood at the penalised estimates, as R's logistf
    reports).
    """
    if not firth:
        beta, _, ok = fit_logistic(X, y, np.ones((1, len(y))), np.zeros(X.shape[1]))
        if not ok[0]:
            return fit_logit(X, y, firth=True)
        beta, ok = beta[0], True
    else:
        beta, _, ok = _firth(X, y)
    p = expit(X @ beta)
    w = p * (1 - p)
    cov = np.linalg.inv((X * w[:, None]).T @ X)
    score = float(np.max(np.abs(X.T @ (y - p))))      # the unpenalised score at the estimate
    return LogitFit(beta, cov, p, score, ok, "firth" if firth else "none")
