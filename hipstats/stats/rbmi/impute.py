"""Reference-based imputation: each strategy's mean and covariance, then conditional means
(or draws) of the missing values, for many parameter samples at once.

The strategies are Carpenter, Roger & Kenward (2013)'s, as rbmi's ``strategies.R`` writes
them: for a participant whose event is at visit ``e`` (visits before it are MAR),

=======  ==========================================================  =====================
MAR      own arm's mean                                              own covariance
JR       own mean before ``e``, the reference arm's from ``e``        ``compute_sigma``
CR       the reference arm's mean                                    reference covariance
CIR      own mean before ``e``; from ``e``, own mean at ``e - 1`` plus  ``compute_sigma``
         the reference arm's change since ``e - 1``
LMCF     own mean before ``e``; from ``e``, own mean at ``e - 1``      own covariance
=======  ==========================================================  =====================

With an event at the first visit, JR and CIR are CR (rbmi's rule). With one covariance
shared by the arms, every strategy's covariance is that covariance. The imputed value is the
conditional mean (or a draw) of the missing visits given all of the participant's observed
values, including values observed after the event.
"""

from __future__ import annotations

import numpy as np

__all__ = ["strategy_means", "conditional_impute", "compute_sigma"]


def compute_sigma(own: np.ndarray, ref: np.ndarray, mar: np.ndarray) -> np.ndarray:
    """rbmi's covariance for JR and CIR with arm-specific covariances (Carpenter et al.
    2013): the own arm's covariance before the event, the reference arm's conditional
    structure after it."""
    if mar.all():
        return own
    if not mar.any():
        return ref
    a, b = np.flatnonzero(mar), np.flatnonzero(~mar)
    R11i = np.linalg.inv(ref[np.ix_(a, a)])
    T11 = own[np.ix_(a, a)]
    s21 = ref[np.ix_(b, a)] @ R11i @ T11
    s22 = ref[np.ix_(b, b)] - ref[np.ix_(b, a)] @ R11i @ (ref[np.ix_(a, a)] - T11) @ R11i \
        @ ref[np.ix_(a, b)]
    out = np.empty_like(own)
    out[np.ix_(a, a)] = T11
    out[np.ix_(b, a)] = s21
    out[np.ix_(a, b)] = s21.T
    out[np.ix_(b, b)] = s22
    return out


def strategy_means(mu_own: np.ndarray, mu_ref: np.ndarray, strategy: np.ndarray,
                   ice: np.ndarray) -> np.ndarray:
    """(S, n, m) means under each participant's strategy from (S, n, m) own-arm and
    reference-arm means."""
    S, n, m = mu_own.shape
    mu = mu_own.copy()
    post = np.arange(m)[None, :] >= ice[:, None]                     # (n, m)
    last = np.clip(ice - 1, 0, m - 1)
    idx = np.arange(n)
    for s in ("JR", "CR", "CIR", "LMCF"):
        sel = (strategy == s) & (ice < m)
        if not sel.any():
            continue
        P = (post & sel[:, None])[None]
        own_last = mu_own[:, idx, last][..., None]
        if s == "CR":
            mu = np.where(sel[None, :, None], mu_ref, mu)
        elif s == "LMCF":
            mu = np.where(P, own_last, mu)
        else:                               # JR; CIR with an event at the first visit
            mu = np.where(P, mu_ref, mu)
        if s == "CIR":
            cir = own_last + mu_ref - mu_ref[:, idx, last][..., None]
            mu = np.where(P & (ice > 0)[None, :, None], cir, mu)
    return mu


def _sigma_keys(grid, same_cov: bool):
    """Per participant: which covariance their strategy uses ('own', 'ref' or 'mixed' with
    the event index); all the same when the arms share one covariance."""
    if same_cov:
        return [("shared",)] * len(grid.subjects)
    m = len(grid.visits)
    keys = []
    for a, r, s, e in zip(grid.arm, grid.ref, grid.strategy, grid.ice):
        if s in ("MAR", "LMCF") or e >= m or a == r:
            keys.append(("own", a))
        elif s == "CR" or e == 0:
            keys.append(("ref", r))
        else:
            keys.append(("mixed", a, r, int(e)))
    return keys


def _key_sigma(key, sigmas, m):
    """(S, m, m) covariances of one key from per-arm (S, m, m) stacks."""
    if key[0] == "shared":
        return sigmas[0]
    if key[0] in ("own", "ref"):
        return sigmas[key[1]]
    _, a, r, e = key
    mar = np.arange(m) < e
    return np.stack([compute_sigma(o, f, mar) for o, f in zip(sigmas[a], sigmas[r])])


def conditional_impute(grid, mu: np.ndarray, sigmas: list, same_cov: bool,
                       rng_for=None) -> np.ndarray:
    """(S, n, m) complete outcomes: observed values kept, missing values replaced by their
    conditional mean given the participant's observed values (or, with ``rng_for``, a
    draw from the conditional distribution; ``rng_for(s)`` is sample s's generator).

    ``sigmas``: per covariance group an (S, m, m) stack (one group when shared)."""
    S, n, m = mu.shape
    Y = grid.Y
    miss = np.isnan(Y)
    out = np.broadcast_to(np.where(miss, 0.0, Y), (S, n, m)).copy()
    keys = _sigma_keys(grid, same_cov)
    groups: dict = {}
    for i in np.flatnonzero(miss.any(axis=1)):
        groups.setdefault((keys[i], miss[i].tobytes()), []).append(i)
    noise = None if rng_for is None else [rng_for(s) for s in range(S)]
    for (key, _), members in sorted(groups.items(), key=lambda kv: kv[1][0]):
        I = np.asarray(members)
        q = miss[I[0]]
        o = ~q
        Sig = _key_sigma(key, sigmas, m)
        mq = mu[:, I][:, :, q]
        if o.any():
            B = np.linalg.solve(Sig[:, o][:, :, o], Sig[:, o][:, :, q]).transpose(0, 2, 1)
            resid = Y[I][:, o][None] - mu[:, I][:, :, o]
            mq = mq + np.einsum("sab,sib->sia", B, resid)
            C = Sig[:, q][:, :, q] - B @ Sig[:, o][:, :, q]
        else:
            C = Sig[:, q][:, :, q]
        if noise is not None:
            L = np.linalg.cholesky(C)
            z = np.stack([g.standard_normal((len(I), int(q.sum()))) for g in noise])
            mq = mq + np.einsum("sab,sib->sia", L, z)
        tmp = out[:, I]
        tmp[:, :, q] = mq
        out[:, I] = tmp
    return out
