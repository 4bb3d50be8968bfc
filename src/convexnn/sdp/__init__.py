"""SDP-NN: the semidefinite relaxation of two-layer ReLU training and its certified lower bound.

- :mod:`.formulation` — the problem (objective, prox, face, dual map, certificate);
- :mod:`.admm` — the native solver (Douglas–Rachford/ADMM with Anderson acceleration);
- :mod:`.reference` — CVXPY back-ends (SCS on the paper's form, Clarabel/SCS on the reduced form).

:func:`solve_sdp` is the front door used by the estimators and the CLI.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..result import SolveResult
from .admm import solve_admm
from .formulation import Certificate, SDPFormulation

SOLVERS = ("native", "admm", "ipm", "scs", "scs-reduced", "clarabel")


def _power_of_two_scale(X: np.ndarray) -> float:
    """The power of two nearest the root-mean-square row norm of X (1 for an all-zero X)."""
    rms = float(np.sqrt(np.mean(np.sum(X**2, axis=1)))) if X.size else 0.0
    return 2.0 ** round(np.log2(rms)) if rms > 0 else 1.0


def solve_sdp(
    X,
    Y,
    reg: float,
    *,
    bias: bool = False,
    solver: str = "native",
    tol: float = 1e-4,
    time_limit: float | None = None,
    max_iter: int = 10_000_000,
    warm_start=None,
    callback=None,
    device: str | None = None,
    balance_rows: bool = True,
    **options,
) -> SolveResult:
    """Solve SDP-NN for design matrix X (ones column included when ``bias``), targets Y, reg.

    Returns a :class:`~convexnn.result.SolveResult` whose ``lower_bound`` is certified (SPEC
    §3.1) whatever the solver: for the CVXPY back-ends it is recomputed from their duals, and the
    solver's own objective is kept in ``info['solver_value']``. ``solver``: 'native' = 'admm'
    (default), 'ipm' (native interior point, the accurate choice for q ≲ 90; O(q⁴) memory),
    'scs' (the paper's unreduced form, eps 1e-4 like the reference), 'scs-reduced', or
    'clarabel' (facially reduced form; O(q⁴) memory). ``device`` ('cuda', 'cpu') runs the
    native iteration with torch tensors (optional ``torch`` extra); the default is numpy.
    ``balance_rows`` (native solver only) solves the exactly equivalent problem whose rows are
    rescaled by powers of two to nearly equal norms (:class:`SDPFormulation`); the returned Λ,
    factor and formulation are then in those balanced coordinates (α_i, β_i rows times
    ``formulation.row_scale[i]``), and U/V factors are those of the original problem.
    """
    if solver not in SOLVERS:
        raise ParameterError(f"unknown SDP solver {solver!r}; choose one of {', '.join(SOLVERS)}.")
    if not (isinstance(tol, (int, float)) and 0 < tol < 1):
        raise ParameterError(f"tol must be in (0, 1); got {tol!r}.")
    if not isinstance(balance_rows, (bool, np.bool_)):
        raise ParameterError(f"balance_rows must be True or False; got {balance_rows!r}.")
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise ParameterError(f"time_limit must be a positive number of seconds; got {time_limit!r}.")
    if solver == "ipm":
        from .._validation import check_reg, check_XY
        from .ipm import solve_ipm

        # the same exact power-of-two rescaling as the native solver (see below); the interior
        # point converges far better on unit-scale rows (Iris, paper protocol, one-off: a 4.25 %
        # gap after 100 iterations unscaled, 4.75e-5 after 96 scaled, other settings unchanged)
        Xc, Yc = check_XY(X, Y)
        a = _power_of_two_scale(Xc)
        form = SDPFormulation(Xc / a, Yc, check_reg(reg) / a, bias=bias)
        res = solve_ipm(form, tol=tol, time_limit=time_limit, callback=callback,
                        max_iter=min(max_iter, 500), **options)
        res.info["data_scale"] = a
        F = res.solution.get("factor")
        if F is not None:
            B = form.blocks
            res.solution["U_factor"] = F[B.u] / np.sqrt(a)
            res.solution["V_factor"] = F[B.v] / np.sqrt(a)
    elif solver in ("native", "admm"):
        # Exact rescaling (SPEC §1 homogeneity): SDP(X, Y, reg) = SDP(X/a, Y, reg/a). With a a
        # power of two the scaled data are exact in floating point, so the certificate of the
        # scaled problem is a certificate of the original; a ≈ rms row norm balances the blocks.
        from .._validation import check_reg, check_XY

        Xc, Yc = check_XY(X, Y)
        a = _power_of_two_scale(Xc)
        form = SDPFormulation(Xc / a, Yc, check_reg(reg) / a, bias=bias,
                              balance_rows=bool(balance_rows))
        options.setdefault("rho", 0.05 * form.reg)
        res = solve_admm(form, tol=tol, time_limit=time_limit, max_iter=max_iter,
                         warm_start=warm_start, callback=callback, device=device, **options)
        res.info["data_scale"] = a
        F = res.solution.get("factor")
        if F is not None:
            B = form.blocks
            # network weights of the original problem: U = U'/√a, V = V'/√a
            res.solution["U_factor"] = F[B.u] / np.sqrt(a)
            res.solution["V_factor"] = F[B.v] / np.sqrt(a)
    else:
        from .reference import solve_cvxpy

        form = SDPFormulation(X, Y, reg, bias=bias)
        name, reduced = {"scs": ("scs", False), "scs-reduced": ("scs", True),
                         "clarabel": ("clarabel", True)}[solver]
        res = solve_cvxpy(form, solver=name, reduced=reduced, time_limit=time_limit, **options)
        Lam = res.solution.get("Lambda")
        if Lam is not None:
            B = form.blocks
            w, Q = np.linalg.eigh(0.5 * (Lam + Lam.T))
            keep = w > 1e-9 * max(w.max(), 1e-300)
            F = Q[:, keep] * np.sqrt(w[keep])
            res.solution["factor"] = F
            res.solution["U_factor"] = F[B.u]
            res.solution["V_factor"] = F[B.v]
    res.info.setdefault("n_reduced", form.n)
    res.info.setdefault("p", form.p)
    res.info.setdefault("q", form.q)
    res.solution["formulation"] = form
    return res


__all__ = ["SDPFormulation", "Certificate", "solve_sdp", "solve_admm", "SOLVERS"]
