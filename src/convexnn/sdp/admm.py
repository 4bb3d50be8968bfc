"""Native SDP-NN solver: Douglas–Rachford / ADMM "entrywise prox ↔ face projection" with
Anderson acceleration (SPEC §3.1).

Splitting: min g(Λ) + h(Λ) with g = f + ι_C (C: ReLU block ≥ 0, diag Λ_αβ = 0; prox is closed
form entry by entry) and h = ι_F, F = {N S Nᵀ : S ⪰ 0} the face of the PSD cone in null(M)
(projection = one q×q eigendecomposition). The Douglas–Rachford fixed-point map on ζ,

    Λ = prox_{g/ρ}(ζ),   Z = Π_F(2Λ − ζ),   ζ⁺ = ζ + θ (Z − Λ),

is accelerated with safeguarded type-II Anderson acceleration. The prox step's optimality
condition gives exact multipliers (Γ, y, W ≥ 0) at every iterate, which the formulation turns
into a *certified* lower bound (Slater-point repair) — valid whenever the loop stops.
"""

from __future__ import annotations

import time

import numpy as np

from .._validation import blas_threads
from ..result import SolveResult, relative_gap
from .formulation import SDPFormulation


class _Anderson:
    """Type-II Anderson acceleration for a fixed-point map, memory ``m``.

    Keeps the last ``m`` differences of residuals and of map values and their Gram matrix,
    updated incrementally (O(m·size) per step)."""

    def __init__(self, m: int, reg: float = 1e-10):
        self.m, self.reg = m, reg
        self.reset()

    def reset(self):
        self.dG, self.dT = [], []
        self.H = np.zeros((0, 0))
        self.prev_g = self.prev_T = None

    def step(self, x: np.ndarray, Tx: np.ndarray) -> np.ndarray:
        """Given x and T(x), return the extrapolated next point (T(x) when memory is empty)."""
        g = (Tx - x).ravel()
        if self.prev_g is not None:
            dg = g - self.prev_g
            if len(self.dG) == self.m:
                self.dG.pop(0)
                self.dT.pop(0)
                self.H = self.H[1:, 1:]
            row = np.array([float(v @ dg) for v in self.dG])
            k = len(self.dG)
            H = np.empty((k + 1, k + 1))
            H[:k, :k] = self.H
            H[k, :k] = row
            H[:k, k] = row
            H[k, k] = float(dg @ dg)
            self.H = H
            self.dG.append(dg)
            self.dT.append((Tx - self.prev_T).ravel())
        self.prev_g, self.prev_T = g, Tx
        if not self.dG:
            return Tx
        k = len(self.dG)
        rhs = np.array([float(v @ g) for v in self.dG])
        H = self.H + (self.reg * np.trace(self.H) / k + 1e-300) * np.eye(k)
        try:
            gamma = np.linalg.solve(H, rhs)
        except np.linalg.LinAlgError:
            self.reset()
            return Tx
        out = Tx.copy().ravel()
        for gj, dt in zip(gamma, self.dT):
            out -= gj * dt
        return out.reshape(Tx.shape)


def solve_admm(form: SDPFormulation, **kwargs) -> SolveResult:
    """Solve SDP-NN natively; see :func:`_solve_admm` for the options (threads tuned to size)."""
    with blas_threads(form.p):
        return _solve_admm(form, **kwargs)


def _solve_admm(
    form: SDPFormulation,
    *,
    tol: float = 1e-4,
    max_iter: int = 10_000_000,
    time_limit: float | None = None,
    rho: float | None = None,
    relaxation: float = 1.0,
    anderson: int = 30,
    check_every: int | None = None,
    adapt: float = 5.0,
    adapt_every: int = 50,
    rho_rule: str = "residual",
    warm_start=None,
    callback=None,
) -> SolveResult:
    """Solve SDP-NN to relative gap ``tol`` between the primal value and a certified bound.

    Stops at the tolerance (status 'optimal'), at ``max_iter`` or ``time_limit`` seconds, or on
    Ctrl-C ('interrupted'); every exit returns the best certified lower bound found. ``warm_start``
    is a previous result (or dict with 'zeta' and 'rho') of a problem with the same sizes.
    ``callback(info)`` receives a dict (iteration, time_s, value, lower_bound, gap, ...) at each
    checkpoint; returning True stops the solve. ``anderson`` = memory of the acceleration (0 = off).
    """
    t0 = time.perf_counter()
    form.check_memory(n_dense=10 + 2 * anderson)
    p = form.p
    if form.n == 0:  # every row was zero: Λ = 0 is optimal, value = bound = constant
        c = form.constant
        return SolveResult("sdp-admm", c, c, "optimal", 0, time.perf_counter() - t0,
                           solution={"Lambda": np.zeros((p, p)), "factor": np.zeros((p, 0))},
                           info={"reduction": form.reduction.describe()})
    N = form.N
    form.slater_point()

    zeta = np.zeros((p, p))
    if rho is None:
        rho = 1.0
    if warm_start is not None:
        state = warm_start.solution if isinstance(warm_start, SolveResult) else warm_start
        z0 = state.get("zeta")
        if z0 is not None and z0.shape == (p, p):
            zeta = z0.copy()
            rho = float(state.get("rho", rho))
    if check_every is None:
        check_every = 10
    acc = _Anderson(anderson) if anderson > 0 else None

    history: list[dict] = []
    best = None
    best_bound = -np.inf
    status = "max_iter"
    it = 0
    value = np.nan
    r_p_rel = np.inf
    F = np.zeros((p, 0))
    Lam = Z = None
    res_prev = np.inf

    def checkpoint(zeta_, Lam_, rho_):
        nonlocal best_bound, best
        G, y, W = form.multipliers_from_prox(zeta_, Lam_, rho_)
        cert = form.certify(G, y, W)
        if cert.bound > best_bound:
            best_bound, best = cert.bound, (cert, G, y, W)
        return cert

    last = None
    try:
        for it in range(1, max_iter + 1):
            Lam = form.prox(zeta, rho)
            Z_prev = Z
            Z, F = form.face_project(2.0 * Lam - zeta, N)
            diff = Z - Lam
            res = float(np.linalg.norm(diff))
            nrm = max(np.linalg.norm(Lam), np.linalg.norm(Z), 1e-300)
            r_p_rel = res / nrm
            value = form.objective(Lam)
            last = (zeta, Lam, rho)
            T = zeta + relaxation * diff
            # safeguard: accept the accelerated point only while the residual keeps shrinking
            if acc is not None and res <= 1.5 * res_prev:
                zeta_new = acc.step(zeta, T)
            else:
                if acc is not None:
                    acc.reset()
                zeta_new = T
            res_prev = res
            if it % check_every == 0 or it == 1:
                r_d_rel = (float(np.linalg.norm(Z - Z_prev)) / max(float(np.linalg.norm(zeta - Lam)), 1e-300)
                           if Z_prev is not None else np.inf)
                cert = checkpoint(zeta, Lam, rho)
                gap = relative_gap(value, best_bound)
                elapsed = time.perf_counter() - t0
                rec = {"iteration": it, "time_s": elapsed, "value": value,
                       "lower_bound": best_bound, "gap": gap, "primal_residual": r_p_rel,
                       "dual_residual": r_d_rel, "rho": rho, "rank": int(F.shape[1]),
                       "lambda_min": cert.lambda_min, "slack_error": rho * float(np.linalg.norm(zeta - Lam)) * res}
                history.append(rec)
                if callback is not None and callback(rec):
                    status = "stopped"
                    break
                # primal accuracy: |f(Λ) − L_SDP| can be as large as ‖D‖·‖Λ − Z‖ for infeasible Λ
                slack_err = rho * float(np.linalg.norm(zeta - Lam)) * res
                if (gap is not None and abs(gap) <= tol and r_p_rel <= tol
                        and slack_err <= tol * max(abs(value), 1e-300)):
                    status = "optimal"
                    break
                if time_limit is not None and elapsed >= time_limit:
                    status = "time_limit"
                    break
                # ρ update: residual balancing ('residual') or primal/dual scale balancing ('scale')
                if rho_rule == "residual":
                    ratio = np.sqrt(r_p_rel / max(r_d_rel, 1e-300))
                else:
                    target = float(np.linalg.norm(zeta - Lam)) * rho / max(float(np.linalg.norm(Lam)), 1e-300)
                    ratio = target / rho
                if it % adapt_every == 0 and (ratio > adapt or ratio < 1.0 / adapt):
                    ratio = float(np.clip(ratio, 1e-2, 1e2))
                    # keep Λ (the prox point) and rescale the multiplier part ρ(ζ − Λ)
                    Lnew = form.prox(zeta_new, rho)
                    zeta_new = Lnew + (zeta_new - Lnew) / ratio
                    rho *= ratio
                    if acc is not None:
                        acc.reset()
                    res_prev = np.inf
            zeta = zeta_new
    except KeyboardInterrupt:
        status = "interrupted"
    if last is not None and status != "optimal":
        try:
            checkpoint(*last)
        except KeyboardInterrupt:
            pass
    elapsed = time.perf_counter() - t0
    cert, G, y, W = best if best is not None else (None, None, None, None)
    return SolveResult(
        method="sdp-admm",
        value=float(value) if np.isfinite(value) else None,
        lower_bound=float(best_bound) if np.isfinite(best_bound) else None,
        status=status,
        iterations=it,
        time_s=elapsed,
        history=history,
        solution={"Lambda": Z, "factor": F, "zeta": zeta, "rho": rho,
                  "Gamma": G, "y": y, "W": W},
        info={"primal_residual": r_p_rel, "rank": int(F.shape[1]),
              "reduction": form.reduction.describe()},
    )
