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

SOLVERS = ("native", "scs", "scs-reduced", "clarabel")


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
    **options,
) -> SolveResult:
    """Solve SDP-NN for design matrix X (ones column included when ``bias``), targets Y, reg.

    Returns a :class:`~convexnn.result.SolveResult` whose ``lower_bound`` is certified (SPEC
    §3.1) whatever the solver: for the CVXPY back-ends it is recomputed from their duals, and the
    solver's own objective is kept in ``info['solver_value']``. ``solver``: 'native' (default),
    'scs' (the paper's unreduced form, eps 1e-4 like the reference), 'scs-reduced', or
    'clarabel' (facially reduced form; O(q⁴) memory).
    """
    if solver not in SOLVERS:
        raise ParameterError(f"unknown SDP solver {solver!r}; choose one of {', '.join(SOLVERS)}.")
    if not (isinstance(tol, (int, float)) and 0 < tol < 1):
        raise ParameterError(f"tol must be in (0, 1); got {tol!r}.")
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise ParameterError(f"time_limit must be a positive number of seconds; got {time_limit!r}.")
    form = SDPFormulation(X, Y, reg, bias=bias)
    if solver == "native":
        options.setdefault("rho", 0.05 * form.reg)
        res = solve_admm(form, tol=tol, time_limit=time_limit, max_iter=max_iter,
                         warm_start=warm_start, callback=callback, **options)
    else:
        from .reference import solve_cvxpy

        name, reduced = {"scs": ("scs", False), "scs-reduced": ("scs", True),
                         "clarabel": ("clarabel", True)}[solver]
        res = solve_cvxpy(form, solver=name, reduced=reduced, time_limit=time_limit, **options)
    res.info.setdefault("n_reduced", form.n)
    res.info.setdefault("p", form.p)
    res.info.setdefault("q", form.q)
    res.solution["formulation"] = form
    return res


__all__ = ["SDPFormulation", "Certificate", "solve_sdp", "solve_admm", "SOLVERS"]
