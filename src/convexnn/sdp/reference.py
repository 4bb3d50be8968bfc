"""CVXPY reference back-end for SDP-NN (SPEC §3), with certified bounds from the solver's duals.

Two models of the same relaxation are built:

* **paper** (``reduced=False``): the model of the reference experiments [PBY25] — a p×p PSD
  variable Λ with ``MΛMᵀ = 0``, ``diag Λ_αβ = 0`` and ``Λ_[αβ][αβ] ≥ 0`` entrywise (or the
  scalar trace forms of the first two, ``paper_constraints="trace"``). It has no Slater point
  (the face constraint forces Λ onto a proper face of the PSD cone): first-order SCS tolerates
  that, interior-point Clarabel may stall on it. With SCS at eps 1e-4, the full form reproduces
  the reference timing on iris (≈ 37 s vs 39 s published) and a value 1.5 % below L_SDP; the
  trace form stops after 1.8k iterations at a value 76 % below L_SDP.
* **reduced** (``reduced=True``, the default): facial reduction Λ = B S Bᵀ, S ⪰ 0 of size
  q = n + d + c, with B the *structured* basis T: (α, u, v) ↦ (α, α − Xu, u, v) (SPEC §3.1). T is
  used instead of the orthonormal basis N because its blocks are sparse: Λ_αα = S_αα,
  Λ_αv = S_αv, Λ_uu = S_uu, and Λ_αβ, Λ_ββ involve only 1 + d resp. (1 + d)² entries of S. With N
  every entry of Λ depends on all q² entries of S, so the constraint matrix is dense (2n² × q²),
  canonicalisation is slow and Clarabel's KKT system gets denser for no gain in conditioning on
  standardised data. ``basis="orthonormal"`` is available for comparison. Only the strictly upper
  ReLU entries of the symmetric αα and ββ blocks and the off-diagonal αβ entries carry sign
  constraints (the diagonal of Λ_αα, Λ_ββ is non-negative by S ⪰ 0, and diag Λ_αβ is fixed to 0 by
  an equality — a sign constraint on a pinned entry would only remove the interior).

Whatever the model, the solver's constraint duals are mapped to this library's multipliers
(Γ, y, W) — Γ = Λ_αv − Y, y the multipliers of diag Λ_αβ = 0, W ≥ 0 those of the ReLU sign
constraints — such that ``form.dual_matrix(Γ, y, W)`` = C₀ + E(Γ) − A*(y) − B*(W) is the dual
slack, and ``lower_bound`` is ``form.certify(Γ, y, W).bound``: a certified bound, unlike the
solver's reported value (SCS at eps 1e-4 can be far off either way).

CVXPY sign conventions used (checked numerically in the tests): for a constraint ``expr >= 0``
the dual ``w ≥ 0`` enters the Lagrangian as ``f − w·expr``; for ``expr == 0`` the dual ``ν`` enters
as ``f + ν·expr``. Hence W = w and y = −ν.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import check_memory
from ..errors import ParameterError, SolverUnavailableError
from ..result import SolveResult
from .formulation import SDPFormulation

__all__ = ["solve_cvxpy", "memory_estimate_cvxpy", "check_memory_cvxpy"]

_SOLVERS = ("clarabel", "scs")
_BASES = ("structured", "orthonormal")

# Clarabel keeps, for a PSD cone of svec dimension m = k(k+1)/2, a dense m×m Hessian block in its
# sparse KKT matrix and in the LDL factor (values + row indices, several copies). Measured extra
# peak resident memory (cvxpy 1.9, clarabel 0.11): 0.24 GB at q = 57, 0.60 GB at q = 77 and
# 0.72 GB at q = 81 (iris), i.e. ≈ 65·m² bytes; SPEC §3.1 reports 3.9 GB at q ≈ 127 (≈ 59·m²).
_CLARABEL_BYTES_PER_M2 = 64.0


def _import_cvxpy():
    try:
        import cvxpy as cp  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SolverUnavailableError(
            'The CVXPY reference solver needs cvxpy; install it with pip install "convexnn[cvxpy]".'
        ) from exc
    return cp


def require_backend(solver: str) -> None:
    """Raise SolverUnavailableError unless CVXPY and its ``solver`` ('scs' or 'clarabel') are
    installed: callers that run other stages first check this before them."""
    solver = _check_solver(solver)
    cp = _import_cvxpy()
    if solver.upper() not in cp.installed_solvers():
        raise SolverUnavailableError(
            f"CVXPY cannot find the solver {solver.upper()}; install it with "
            'pip install "convexnn[cvxpy]".'
        )


def memory_estimate_cvxpy(form: SDPFormulation, *, solver: str = "clarabel",
                          reduced: bool = True) -> float:
    """Rough peak memory (bytes) of a CVXPY solve of SDP-NN.

    Clarabel (interior point) needs O(k⁴) for a PSD cone of size k (k = q reduced, p otherwise):
    ≈ 64·(k(k+1)/2)² bytes. SCS (first order) stores the sparse constraint matrix and a few dense
    k×k work arrays; CVXPY's canonicalisation roughly doubles it. The matrix's non-zeros
    (:func:`_constraint_nonzeros`): in the reduced form a ReLU-block entry of Λ = T S Tᵀ touches 1,
    1 + d or (1 + d)² entries of S (αα, αβ, ββ); in the paper's form each of the n² entries of
    MΛMᵀ = 0 touches (2 + d)² entries of Λ, and the ReLU and complementarity rows one each.
    (Measured, cvxpy 1.9 / SCS 3.3: Ionosphere's paper form, n = 175, d = 34, 4.95 GiB peak
    against 8.0 GiB estimated here; until 2026-12-07 both forms were counted as 4n²(1 + d)², which
    gave 28 GiB and refused it.)
    """
    solver = _check_solver(solver)
    k = form.q if reduced else form.p
    m = k * (k + 1) / 2.0
    nnz = _constraint_nonzeros(form, reduced)
    if solver == "clarabel":
        return _CLARABEL_BYTES_PER_M2 * m * m + 200.0 * nnz
    return 8.0 * 20 * k * k + 200.0 * nnz


def _constraint_nonzeros(form: SDPFormulation, reduced: bool) -> float:
    """Non-zeros of the conic constraint matrix CVXPY builds, estimated from the structure (see
    :func:`memory_estimate_cvxpy`); the PSD cone's own svec rows count 4 per entry."""
    n, d = form.n, form.d
    k = form.q if reduced else form.p
    m = k * (k + 1) / 2.0
    n2 = float(n) * n
    if reduced:  # a row of T has 1 (α) or 1 + d (β) non-zeros: αα, αβ and ββ entries of Λ
        return n2 / 2 + n2 * (1 + d) + n2 * (1 + d) ** 2 / 2 + 4.0 * m
    return n2 * (2 + d) ** 2 + 4.0 * n2 + 4.0 * m


def check_memory_cvxpy(form: SDPFormulation, *, solver: str = "clarabel",
                       reduced: bool = True) -> None:
    """Raise MemoryEstimateError when :func:`memory_estimate_cvxpy` exceeds available memory."""
    solver = _check_solver(solver)
    k = form.q if reduced else form.p
    what = (f"CVXPY + {solver.upper()} on the {'reduced' if reduced else 'paper'} SDP-NN "
            f"(PSD size {k}, n = {form.n}")
    if solver == "clarabel":
        what += "; interior-point memory grows like size⁴ — use solver='scs' or the ADMM solver"
    check_memory(memory_estimate_cvxpy(form, solver=solver, reduced=reduced), what + ")")


def _check_solver(solver: str) -> str:
    s = str(solver).lower()
    if s not in _SOLVERS:
        raise ParameterError(f"solver must be one of {_SOLVERS}; got {solver!r}.")
    return s


# --------------------------------------------------------------------------------------------
# model building
# --------------------------------------------------------------------------------------------
class _Model:
    """A CVXPY problem plus what is needed to read Λ and (Γ, y, W) back."""

    def __init__(self, problem, lam_fn, dual_fn, form_name):
        self.problem = problem
        self.lam_fn = lam_fn      # () -> Λ (p×p ndarray) from the variable values
        self.dual_fn = dual_fn    # () -> (y, W) from the constraint duals
        self.form_name = form_name


def _build_paper(cp, form: SDPFormulation, constraints: str) -> _Model:
    """Λ ⪰ 0 (p×p), MΛMᵀ = 0, diag Λ_αβ = 0, Λ_ReLU ≥ 0 — the reference experiments' model.

    ``constraints="trace"`` uses the scalar forms tr(MΛMᵀ) = 0 and tr Λ_αβ = 0 instead (equivalent
    given the cones, SPEC §3, but much less accurate with SCS at eps 1e-4).
    """
    B = form.blocks
    n, p = B.n, B.p
    M = sp.hstack([-sp.eye(n), sp.eye(n), sp.csr_matrix(form.X),
                   sp.csr_matrix((n, B.c))]).tocsr()
    Lam = cp.Variable((p, p), PSD=True)
    if constraints == "trace":
        MtM = (M.T @ M).toarray()
        c_face = cp.sum(cp.multiply(MtM, Lam)) == 0          # tr(MΛMᵀ) = ⟨MᵀM, Λ⟩
        c_comp = cp.trace(Lam[B.a, B.b]) == 0
    else:
        c_face = M @ Lam @ M.T == 0
        c_comp = cp.diag(Lam[B.a, B.b]) == 0
    c_relu = Lam[B.ab, B.ab] >= 0
    obj = 0.5 * cp.sum_squares(Lam[B.a, B.v] - form.Y) + 0.5 * form.reg * (
        cp.trace(Lam[B.u, B.u]) + cp.trace(Lam[B.v, B.v]))
    prob = cp.Problem(cp.Minimize(obj), [c_face, c_comp, c_relu])

    def lam_fn():
        L = np.asarray(Lam.value, dtype=np.float64)
        return 0.5 * (L + L.T)

    def dual_fn():
        nu = c_comp.dual_value
        Wd = c_relu.dual_value
        if nu is None or Wd is None:
            return None
        # L = f + ν·diag Λ_αβ − ⟨W, Λ_ReLU⟩ ⇒ y = −ν (A*(y): y_i/2 at (α_i,β_i), (β_i,α_i));
        # the face multiplier drops out (it lies in MᵀZM and MN = 0)
        nu = np.asarray(nu, dtype=np.float64).reshape(-1)
        y = -(nu[0] * np.ones(n) if constraints == "trace" else nu)
        W = np.asarray(Wd, dtype=np.float64).reshape(2 * n, 2 * n)
        return y, W

    return _Model(prob, lam_fn, dual_fn, "paper")


def _relu_index(n: int):
    """Entries of the 2n×2n ReLU block that get a sign constraint (see the module docstring):
    strictly upper entries of αα and ββ, and all off-diagonal entries of αβ."""
    iu, ju = np.triu_indices(n, k=1)
    ia, ja = np.nonzero(~np.eye(n, dtype=bool))
    rows = np.concatenate([iu, iu + n, ia])
    cols = np.concatenate([ju, ju + n, ja + n])
    return rows, cols


def _build_reduced(cp, form: SDPFormulation, basis: str) -> _Model:
    """Λ = B S Bᵀ, S ⪰ 0 (q×q), with the entrywise constraints on Λ."""
    Bk = form.blocks
    n, q = Bk.n, Bk.q
    if basis == "structured":
        Bm = sp.csr_matrix(form.structured_basis())
    else:
        Bm = np.asarray(form.N)
    S = cp.Variable((q, q), PSD=True)
    B_ab = Bm[:2 * n]
    B_a = Bm[:n]
    B_v = Bm[Bk.v]
    B_u = Bm[Bk.u]
    L_ab = B_ab @ S @ B_ab.T                      # 2n×2n ReLU block of Λ
    L_av = B_a @ S @ B_v.T                        # n×c
    # tr Λ_uu + tr Λ_vv = ⟨B_uᵀB_u + B_vᵀB_v, S⟩
    G_uv = B_u.T @ B_u + B_v.T @ B_v
    G_uv = G_uv.toarray() if sp.issparse(G_uv) else np.asarray(G_uv)
    rows, cols = _relu_index(n)
    ii = np.arange(n)
    c_relu = L_ab[rows, cols] >= 0
    c_comp = L_ab[ii, ii + n] == 0
    obj = 0.5 * cp.sum_squares(L_av - form.Y) + 0.5 * form.reg * cp.sum(cp.multiply(G_uv, S))
    prob = cp.Problem(cp.Minimize(obj), [c_relu, c_comp])

    def lam_fn():
        Sv = np.asarray(S.value, dtype=np.float64)
        Sv = 0.5 * (Sv + Sv.T)
        L = Bm @ (Bm @ Sv).T if sp.issparse(Bm) else Bm @ Sv @ Bm.T
        L = np.asarray(L)
        return 0.5 * (L + L.T)

    def dual_fn():
        nu = c_comp.dual_value
        w = c_relu.dual_value
        if nu is None or w is None:
            return None
        y = -np.asarray(nu, dtype=np.float64).reshape(-1)
        W = np.zeros((2 * n, 2 * n))
        W[rows, cols] = np.asarray(w, dtype=np.float64).reshape(-1)
        return y, W

    model = _Model(prob, lam_fn, dual_fn, "reduced")
    model.S = S
    return model


# --------------------------------------------------------------------------------------------
# solve
# --------------------------------------------------------------------------------------------
def _status_of(cp, status: str | None, iters: int, max_iters: int, elapsed: float,
               time_limit: float | None) -> str:
    hit_time = time_limit is not None and elapsed >= 0.98 * time_limit
    if status == cp.OPTIMAL:
        return "optimal"
    if status in (cp.OPTIMAL_INACCURATE, cp.USER_LIMIT):
        if iters >= max_iters:
            return "max_iter"
        if hit_time:
            return "time_limit"
        return "inaccurate" if status == cp.OPTIMAL_INACCURATE else "max_iter"
    return "failed"


def solve_cvxpy(
    form: SDPFormulation,
    *,
    solver: str = "clarabel",
    reduced: bool = True,
    eps: float = 1e-4,
    max_iters: int = 100_000,
    time_limit: float | None = None,
    verbose: bool = False,
    basis: str = "structured",
    paper_constraints: str = "full",
    solver_options: dict | None = None,
    refine: int = 150,
) -> SolveResult:
    """Solve SDP-NN with CVXPY (Clarabel or SCS) and certify a lower bound from its duals.

    Parameters
    ----------
    form : SDPFormulation
    solver : 'clarabel' (interior point; accurate, O(q⁴) memory) or 'scs' (first order).
    reduced : True for the facially reduced model (S ⪰ 0 of size q), False for the paper's model
        (Λ ⪰ 0 of size p with MΛMᵀ = 0; Clarabel usually fails on it — no Slater point).
    eps : SCS tolerance (``eps_abs = eps_rel = eps``; the reference experiments used 1e-4).
        Clarabel keeps its own tolerances (1e-8) unless given in ``solver_options``.
    max_iters : SCS iteration limit; Clarabel gets ``min(max_iters, 500)``.
    time_limit : seconds of solver time (CVXPY's model building is not counted).
    basis : 'structured' (T, default) or 'orthonormal' (N) for the reduced model.
    paper_constraints : 'full' (MΛMᵀ = 0 and diag Λ_αβ = 0 entrywise, default) or 'trace'
        (tr(MΛMᵀ) = 0 and tr Λ_αβ = 0) for the paper model. Both are exact given the cones, but
        SCS at eps 1e-4 is far less accurate on the trace form (iris: 0.40 vs 1.65, L_SDP ≈ 1.672).
    solver_options : extra keyword arguments for the solver (override the above).
    refine : evaluations of the certificate polish :meth:`SDPFormulation.refine_y` applied to the
        solver's y (0 = certify its duals as returned); the better certificate is kept.

    Returns
    -------
    SolveResult with method ``"sdp-cvxpy-{solver}-{reduced|paper}"``; ``value`` is the SDP-NN
    objective of the returned Λ (``None`` on failure), ``lower_bound`` the certified bound
    ``form.certify(Γ, y, W).bound``, y polished (on failure the best certifiable one, at worst the trivial
    bound ``form.constant``). ``solution`` holds Λ, Γ, y, W (and S for the reduced model).
    """
    solver = _check_solver(solver)
    if form.weighted:
        raise ParameterError("the CVXPY back-ends do not support row-balanced formulations; "
                             "build the SDPFormulation with balance_rows=False.")
    if basis not in _BASES:
        raise ParameterError(f"basis must be one of {_BASES}; got {basis!r}.")
    if paper_constraints not in ("full", "trace"):
        raise ParameterError(
            f"paper_constraints must be 'full' or 'trace'; got {paper_constraints!r}.")
    require_backend(solver)
    cp = _import_cvxpy()
    name = "reduced" if reduced else "paper"
    method = f"sdp-cvxpy-{solver}-{name}"
    t0 = time.perf_counter()
    B = form.blocks
    p = form.p
    if form.n == 0:  # every row was zero: Λ = 0 is optimal
        c = form.constant
        return SolveResult(method, c, c, "optimal", 0, time.perf_counter() - t0,
                           solution={"Lambda": np.zeros((p, p)), "Gamma": np.zeros((0, form.c)),
                                     "y": np.zeros(0), "W": np.zeros((0, 0))},
                           info={"solver_value": c, "solver_status": "trivial", "form": name})
    check_memory_cvxpy(form, solver=solver, reduced=reduced)

    if reduced:
        model = _build_reduced(cp, form, basis)
    else:
        model = _build_paper(cp, form, paper_constraints)
    opts: dict[str, Any] = {}
    if solver == "scs":
        opts.update(eps_abs=eps, eps_rel=eps, max_iters=int(max_iters))
        if time_limit is not None:
            opts["time_limit_secs"] = float(time_limit)
    else:
        opts.update(max_iter=int(min(max_iters, 500)), accept_unknown=True)
        if time_limit is not None:
            opts["time_limit"] = float(time_limit)
    if solver_options:
        opts.update(solver_options)
    t_build = time.perf_counter() - t0

    prob = model.problem
    error = None
    try:
        with warnings.catch_warnings():  # "solution may be inaccurate": reported in .status
            warnings.simplefilter("ignore", UserWarning)
            prob.solve(solver=solver.upper(), verbose=verbose, **opts)
    except Exception as exc:  # SolverError, numerical failures inside the solver, ...
        error = f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - t0

    iters = 0
    solve_time = None
    try:
        stats = prob.solver_stats
    except Exception:  # not solved
        stats = None
    if stats is not None:
        iters = int(stats.num_iters or 0)
        solve_time = stats.solve_time
    cvx_status = None if error is not None else prob.status
    status = "failed" if error is not None else _status_of(
        cp, cvx_status, iters, int(opts.get("max_iters", opts.get("max_iter", max_iters))),
        elapsed if solve_time is None else float(solve_time), time_limit)

    Lam = G = y = W = None
    value = None
    solver_value = None
    if status != "failed":
        try:
            Lam = model.lam_fn()
            value = form.objective(Lam)
            solver_value = float(prob.value) + form.constant
            G = Lam[B.a, B.v] - form.Y
            duals = model.dual_fn()
            if duals is not None:
                y, W = duals
        except (TypeError, ValueError):  # variables without values
            status, Lam, value = "failed", None, None
    if G is not None and y is not None:
        lower = form.certify(G, y, W).bound
        if refine > 0:  # the same certificate polish as the native solver's final one
            y2 = form.refine_y(G, y, W, evaluations=refine)
            polished = form.certify(G, y2, W).bound
            if polished > lower:
                lower, y = polished, y2
    else:
        lower = form.certify(np.zeros((form.n, form.c)), np.zeros(form.n), None).bound
    info = {"solver_value": solver_value, "solver_status": cvx_status, "form": name,
            "solver": solver, "build_time_s": t_build, "solver_time_s": solve_time,
            "reduction": form.reduction.describe()}
    if reduced:
        info["basis"] = basis
    else:
        info["paper_constraints"] = paper_constraints
    if error is not None:
        info["error"] = error
    solution = {"Lambda": Lam, "Gamma": G, "y": y, "W": W}
    if reduced and getattr(model, "S", None) is not None and model.S.value is not None:
        solution["S"] = np.asarray(model.S.value)
    return SolveResult(
        method=method,
        value=None if value is None else float(value),
        lower_bound=float(lower),
        status=status,
        iterations=iters,
        time_s=elapsed,
        solution=solution,
        info=info,
    )
