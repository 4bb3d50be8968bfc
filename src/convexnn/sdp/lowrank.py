"""Native SDP-NN solver: low-rank (Burer–Monteiro) augmented Lagrangian (SPEC §3.1 "Low rank").

Λ = F Fᵀ with F = T R, R ∈ R^{q×r}, and T the structured basis of null(M):
F_α = R_α, F_β = R_α − X R_u, F_u = R_u, F_v = R_v. Every such Λ is PSD and lies in the face
exactly; only the entrywise constraints remain,

    h_i = ⟨F_α[i], F_β[i]⟩ = 0   (diag Λ_αβ = 0, multipliers y),
    G = F_ab F_abᵀ ≥ 0           (ReLU block, multipliers W ≥ 0),

handled by an augmented Lagrangian whose smooth subproblems are solved by L-BFGS. One function
evaluation costs O(n² r). The multipliers (Γ = Λ_αv − Y, y, W) are exactly in the dual's
conventions, so after every outer iteration the formulation certifies a lower bound; if the
certificate's slack has a negative eigenvalue the rank r is grown along that direction.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import minimize

from ..result import SolveResult, relative_gap
from .formulation import SDPFormulation


class _Factorised:
    """Objective, constraints and gradients of the factorised problem for one SDPFormulation."""

    def __init__(self, form: SDPFormulation):
        self.form = form
        self.n, self.d, self.c = form.n, form.d, form.c
        self.X, self.Y, self.reg = form.X, form.Y, form.reg
        self.mask = np.ones((2 * self.n, 2 * self.n), dtype=bool)
        ii = np.arange(self.n)
        self.mask[ii, ii + self.n] = False
        self.mask[ii + self.n, ii] = False

    def factor(self, R: np.ndarray) -> np.ndarray:
        """F = T R (p×r)."""
        n, d = self.n, self.d
        Ra, Ru = R[:n], R[n:n + d]
        return np.vstack([Ra, Ra - self.X @ Ru, R[n:]])

    def residuals(self, F: np.ndarray):
        n = self.n
        Fab = F[:2 * n]
        G = Fab @ Fab.T
        h = np.einsum("ij,ij->i", F[:n], F[n:2 * n])
        return G, h

    def violation(self, F: np.ndarray) -> float:
        """Largest entrywise violation (negative ReLU entry or |diag Λ_αβ|), relative to max Λ_ii."""
        G, h = self.residuals(F)
        scale = max(float(np.max(np.einsum("ij,ij->i", F, F))), 1e-300)
        neg = float(max(0.0, -G[self.mask].min())) if G.size else 0.0
        return max(neg, float(np.max(np.abs(h))) if h.size else 0.0) / scale

    def lagrangian(self, Rflat: np.ndarray, r: int, y: np.ndarray, W: np.ndarray, sigma: float):
        n, d, c = self.n, self.d, self.c
        R = Rflat.reshape(-1, r)
        F = self.factor(R)
        Fa, Fb, Fu, Fv = F[:n], F[n:2 * n], F[2 * n:2 * n + d], F[2 * n + d:]
        Gam = Fa @ Fv.T - self.Y
        G, h = self.residuals(F)
        yt = y - sigma * h
        Wt = np.maximum(W - sigma * G, 0.0)
        Wt[~self.mask] = 0.0
        val = (0.5 * float(np.vdot(Gam, Gam)) + 0.5 * self.reg * (float(np.vdot(Fu, Fu)) + float(np.vdot(Fv, Fv)))
               - float(y @ h) + 0.5 * sigma * float(h @ h)
               + (float(np.vdot(Wt, Wt)) - float(np.vdot(W, W))) / (2.0 * sigma))
        # gradient w.r.t. F: 2 D̃ F with D̃ = C0 + E(Γ) − A*(ỹ) − B*(W̃)
        gF = np.empty_like(F)
        gF[:n] = Gam @ Fv - yt[:, None] * Fb
        gF[n:2 * n] = -yt[:, None] * Fa
        gF[:2 * n] -= 2.0 * (Wt @ F[:2 * n])
        gF[2 * n:2 * n + d] = self.reg * Fu
        gF[2 * n + d:] = Gam.T @ Fa + self.reg * Fv
        # chain rule through F = T R
        gR = np.empty_like(R)
        gR[:n] = gF[:n] + gF[n:2 * n]
        gR[n:n + d] = gF[2 * n:2 * n + d] - self.X.T @ gF[n:2 * n]
        gR[n + d:] = gF[2 * n + d:]
        return val, gR.ravel()


def solve_lowrank(
    form: SDPFormulation,
    *,
    tol: float = 1e-4,
    rank: int | None = None,
    max_rank: int | None = None,
    max_outer: int = 200,
    max_inner: int = 500,
    time_limit: float | None = None,
    sigma: float | None = None,
    seed: int | np.random.Generator | None = 0,
    warm_start=None,
    callback=None,
) -> SolveResult:
    """Solve SDP-NN with a rank-r factorisation and an augmented Lagrangian.

    Stops when the relative gap between the primal value f(FFᵀ) and the certified lower bound is
    ≤ ``tol`` and the entrywise violation is ≤ ``tol``; or at ``max_outer``/``time_limit``/Ctrl-C,
    always returning the best certified bound. ``warm_start``: a previous result of this solver
    (uses its R, y, W, sigma) for a problem of the same sizes.
    """
    t0 = time.perf_counter()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    p, q, n = form.p, form.q, form.n
    if n == 0:
        c = form.constant
        return SolveResult("sdp-lowrank", c, c, "optimal", 0, time.perf_counter() - t0,
                           solution={"Lambda": np.zeros((p, p)), "factor": np.zeros((p, 0))},
                           info={"reduction": form.reduction.describe()})
    form.check_memory(n_dense=3)  # certificate needs a few p×p arrays
    form.slater_point()
    fz = _Factorised(form)
    r = int(rank) if rank is not None else int(min(q, max(8, 2 * form.c + 6)))
    max_rank = int(max_rank) if max_rank is not None else min(q, 4 * r + 20)
    y = np.zeros(n)
    W = np.zeros((2 * n, 2 * n))
    R = None
    if warm_start is not None:
        sol = warm_start.solution if isinstance(warm_start, SolveResult) else warm_start
        if sol.get("R") is not None and sol["R"].shape[0] == q:
            R = sol["R"].copy()
            r = R.shape[1]
            y = sol.get("y_alm", y).copy()
            W = sol.get("W_alm", W).copy()
            sigma = sol.get("sigma", sigma)
    if R is None:
        scale = np.sqrt(max(form.Y.std(), 1e-3) / max(r, 1))
        R = scale * rng.standard_normal((q, r))
    if sigma is None:
        sigma = 1.0
    history: list[dict] = []
    best_bound, best = -np.inf, None
    status = "max_iter"
    viol_prev = np.inf
    value = np.nan
    viol = np.inf
    it = 0
    total_inner = 0
    try:
        for it in range(1, max_outer + 1):
            res = minimize(fz.lagrangian, R.ravel(), args=(r, y, W, sigma), jac=True, method="L-BFGS-B",
                           options={"maxiter": max_inner, "gtol": 1e-9, "ftol": 1e-14, "maxcor": 20})
            total_inner += int(res.nit)
            R = res.x.reshape(q, r)
            F = fz.factor(R)
            G, h = fz.residuals(F)
            # multiplier update
            y = y - sigma * h
            W = np.maximum(W - sigma * G, 0.0)
            W[~fz.mask] = 0.0
            Lam_av = F[:n] @ F[2 * n + form.d:].T
            value = (0.5 * float(np.sum((Lam_av - form.Y) ** 2))
                     + 0.5 * form.reg * float(np.sum(F[2 * n:] ** 2)) + form.constant)
            viol = fz.violation(F)
            cert = form.certify(Lam_av - form.Y, y, W)
            if cert.bound > best_bound:
                best_bound, best = cert.bound, (cert, Lam_av - form.Y, y.copy(), W.copy())
            gap = relative_gap(value, best_bound)
            elapsed = time.perf_counter() - t0
            rec = {"iteration": it, "time_s": elapsed, "value": value, "lower_bound": best_bound,
                   "gap": gap, "primal_residual": viol, "sigma": sigma, "rank": r,
                   "inner_iterations": int(res.nit), "lambda_min": cert.lambda_min}
            history.append(rec)
            if callback is not None and callback(rec):
                status = "stopped"
                break
            if gap is not None and abs(gap) <= tol and viol <= tol:
                status = "optimal"
                break
            if time_limit is not None and elapsed >= time_limit:
                status = "time_limit"
                break
            if viol > 0.25 * viol_prev and viol > 0.1 * tol:
                sigma *= 4.0
            viol_prev = viol
            # rank growth: when the certificate's slack is indefinite and the factor is full rank
            sv = np.linalg.svd(R, compute_uv=False)
            if r < max_rank and sv[-1] > 1e-3 * sv[0] and cert.lambda_min < -tol:
                extra = min(r, max_rank - r, 8)
                R = np.hstack([R, 1e-3 * sv[0] * rng.standard_normal((q, extra)) / np.sqrt(q)])
                r += extra
    except KeyboardInterrupt:
        status = "interrupted"
    elapsed = time.perf_counter() - t0
    F = fz.factor(R)
    cert, G_, y_, W_ = best if best is not None else (None, None, None, None)
    return SolveResult(
        method="sdp-lowrank",
        value=float(value) if np.isfinite(value) else None,
        lower_bound=float(best_bound) if np.isfinite(best_bound) else None,
        status=status,
        iterations=it,
        time_s=elapsed,
        history=history,
        solution={"Lambda": F @ F.T, "factor": F, "R": R, "y_alm": y, "W_alm": W, "sigma": sigma,
                  "Gamma": G_, "y": y_, "W": W_},
        info={"primal_residual": viol, "rank": r, "inner_iterations": total_inner,
              "reduction": form.reduction.describe()},
    )
