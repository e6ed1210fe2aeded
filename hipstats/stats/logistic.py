"""Logistic regression fitted to the exact maximum, with Firth's penalty for separation.

The working model of :func:`hipstats.stats.marginal.marginal_effect`. Why not statsmodels'
``GLM``: its IRLS stops, as R's ``glm`` does by default, when the deviance changes by less
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
from scipy.special import expit

__all__ = ["LogitFit", "fit_logit"]


@dataclass
class LogitFit:
    """A fitted logistic regression: coefficients, their model-based covariance
    ``(X'WX)^-1`` at the final estimates, fitted probabilities, and how it was fitted."""

    beta: np.ndarray
    cov: np.ndarray
    fitted: np.ndarray
    iterations: int
    max_score: float
    converged: bool
    penalty: str          # "none" (maximum likelihood) or "firth"


def _newton(X: np.ndarray, y: np.ndarray, firth: bool, maxit: int = 100):
    """Newton-Raphson (with step halving on the (penalised) log-likelihood) from zero."""
    beta = np.zeros(X.shape[1])

    def objective(b):
        eta = X @ b
        ll = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
        if firth:
            p = expit(eta)
            sign, logdet = np.linalg.slogdet((X * (p * (1 - p))[:, None]).T @ X)
            ll += 0.5 * logdet if sign > 0 else -np.inf
        return ll

    current = objective(beta)
    for it in range(1, maxit + 1):
        p = expit(X @ beta)
        w = p * (1 - p)
        info = (X * w[:, None]).T @ X
        inv = np.linalg.inv(info)
        resid = y - p
        if firth:   # Firth's modified score: X'(y - p + h (1/2 - p)), h the hat diagonal
            h = np.einsum("ij,jk,ik->i", X, inv, X) * w
            resid = resid + h * (0.5 - p)
        score = X.T @ resid
        step = inv @ score
        scale = max(1.0, float(np.abs(X).sum(axis=0).max()))
        if np.max(np.abs(score)) < 1e-12 * scale or np.max(np.abs(step)) < 1e-14:
            return beta, inv, p, it, float(np.max(np.abs(score))), True
        t = 1.0
        while t > 1e-10:
            new = beta + t * step
            val = objective(new)
            if val >= current - 1e-12 * abs(current):
                break
            t /= 2
        beta, current = new, val
        if not firth and np.max(np.abs(X @ beta)) > 30:     # probabilities within 1e-13 of 0/1
            return beta, inv, p, it, float(np.max(np.abs(score))), False
    return beta, inv, expit(X @ beta), maxit, float(np.max(np.abs(score))), False


def fit_logit(X: np.ndarray, y: np.ndarray, firth: bool = False) -> LogitFit:
    """Fit ``logit P(y = 1) = X beta`` by Newton's method to the exact maximum.

    ``firth=False`` falls back to Firth's penalised fit when maximum likelihood does not
    converge (separation); ``firth=True`` fits Firth's penalised likelihood directly.
    The covariance is ``(X'WX)^-1`` at the final estimates (for Firth's fit, the inverse
    information of the unpenalised likelihood at the penalised estimates, as R's logistf
    reports).
    """
    beta, inv, p, it, score, ok = _newton(X, y, firth)
    if not firth and not ok:
        return fit_logit(X, y, firth=True)
    p = expit(X @ beta)
    w = p * (1 - p)
    cov = np.linalg.inv((X * w[:, None]).T @ X)
    return LogitFit(beta, cov, p, it, score, ok, "firth" if firth else "none")
