"""The exact convex ReLU program (C-ReLU) over a set of activation patterns [PE20] (SPEC §5).

For a scalar target y and patterns D_i = diag(m_i) (column i of ``masks``), in the NN-TRAIN scaling:

    min_{v_i, w_i}  ½‖Σ_i D_i X (v_i − w_i) − y‖² + γ Σ_i (‖v_i‖₂ + ‖w_i‖₂)
    s.t.            (2D_i − I) X v_i ≥ 0,   (2D_i − I) X w_i ≥ 0.

Every v_i in its cone K_i = {z : (2D_i − I) X z ≥ 0} satisfies (X v_i)_+ = D_i X v_i, so a feasible
point maps to a ReLU network (neuron v_i/√‖v_i‖ with output ±√‖v_i‖) whose NN-TRAIN objective equals
the convex objective. What the optimum means:

- c = 1, ALL activation patterns of X: the optimum equals the global optimum p* of NN-TRAIN (for
  widths m ≥ m*) [PE20].
- c = 1, *sampled* patterns: the program is a restriction; its optimum is ≥ p* (an upper bound
  attained by a feasible network), not a bound from below.
- c > 1: solved one-vs-all, i.e. c independent scalar programs whose networks are stacked (each
  neuron feeds one output). The stacked network is feasible for NN-TRAIN, so its value is an upper
  bound on p*; it is NOT exact even with all patterns (neurons cannot be shared between outputs).

Solver — ADMM with a linear-system update in the spirit of [BGS23]. Why ADMM and not an augmented
Lagrangian with an accelerated inner loop [MSP22]: here the only coupling, the cone constraints,
can be split off with slacks s_i = (2D_i − I) X v_i ≥ 0, and because (2D_i − I)² = I the constraint
Gram matrix is block-diagonal with identical blocks XᵀX. The u-update matrix is therefore
ρ(I ⊗ (I + XᵀX)) + AᵀA, and after rotating each (v_i, w_i) pair into (v_i + w_i, v_i − w_i) only the
difference part sees AᵀA. One eigendecomposition — of the Pd×Pd whitened Gram matrix when
Pd ≤ n, else (Woodbury) of the n×n matrix Σ_i D_i X B⁻¹ Xᵀ D_i — is computed once and serves every
ρ, so ρ can be adapted (residual balancing) for free, and all c one-vs-all programs run in one
vectorised loop with their own ρ. Each iteration costs a few n×d×P products and has no inner loop
whose accuracy must be tuned (the AL alternative needs an inexact inner solve per outer step).
Details: X is rescaled by ‖X‖₂ and each target by its norm (scale-free ρ and tolerances); the
constraint rows are scaled by β ≈ ½‖X‖₂/rms‖x_j‖ ∈ [1, 10] (same cones); over-relaxation 1.6;
safeguarded type-II Anderson acceleration of the ADMM map, per output.

Outputs of :func:`solve_crelu`:
- ``value`` — always the NN-TRAIN objective (``TrainingProblem.objective``) of the mapped network
  built from the *repaired* solution: each block of the ADMM iterate is projected exactly onto its
  cone (a small non-negative least-squares problem per violated block), then the blocks' scales
  are re-optimised (s ≥ 0 keeps them in their cones) and an active-set "face polish" (guess the
  support and active cone rows, Newton on that face; kept only if it lowers the objective) usually
  lands on the exact optimum of small problems. The solution is feasible up to round-off, and the
  value is an honest upper bound on p* in any case (true ReLU evaluation).
- ``lower_bound`` — a certified lower bound on the optimum of *this* C-ReLU program from the
  Lagrangian dual (see :func:`crelu_dual_bound`; the best over the candidate multipliers the run
  produced); the sum over outputs for c > 1. It bounds p* only when c = 1 and ``masks`` holds ALL
  activation patterns of X; otherwise it bounds only the restricted program (whose optimum is
  itself ≥ p*). It can lag the value when γ is small: the dual feasibility scaling costs about
  ‖X‖·‖θ − θ*‖/γ in relative terms.
- Stopping rule: status 'optimal' when the *certified* relative gap (value − lower_bound)/value
  ≤ ``tol``. The (costlier) certificate is computed whenever every output's relative primal and
  dual ADMM residuals (Boyd et al. §3.3) and its estimated gap are ≤ an internal tolerance (which
  starts at ``tol`` and is divided by 4 for the lagging outputs whenever certification fails), and
  also on a geometric schedule of iterations (200, 300, 450, … × ``check_every``/10).
"""

from __future__ import annotations

import numbers
import time

import numpy as np
from scipy.linalg import cholesky, eigh, solve_triangular
from scipy.optimize import minimize, nnls

from .._validation import (
    as_float_matrix,
    blas_threads,
    check_memory,
    check_positive_int,
    check_reg,
    check_XY,
)
from ..errors import DataError, ParameterError
from ..network import ReLUNetwork
from ..problem import TrainingProblem
from ..result import SolveResult, relative_gap, round_down

__all__ = [
    "solve_crelu",
    "crelu_to_network",
    "crelu_objective",
    "crelu_dual_bound",
    "project_to_cone",
    "cone_violation",
]

_SQRT2 = np.sqrt(2.0)
_RHO0 = 0.03  # initial ρ in normalised units (tuned on iris, spiral, random and Gaussian data)
_AA_BYTES = 256 * 1024**2  # memory cap of the Anderson buffers
#: Under a time limit T, the final certificate may refine its dual bounds until 1.1·T: with many
#: patterns that refinement (one NNLS per block) dominates — 99 s after a 20 s limit on Iris with
#: all 134,784 patterns before the cut-off existed.
FINAL_CERTIFICATE_GRACE = 1.1


# --------------------------------------------------------------------------- validation
def _check_masks(masks, n: int) -> np.ndarray:
    """Masks as an n×P boolean array (0/1 numbers accepted)."""
    if masks is None:
        raise DataError("masks is missing (got None); pass an n×P boolean array of activation patterns.")
    M = np.asarray(masks)
    if M.ndim == 1:
        M = M[:, None]
    if M.ndim != 2:
        raise DataError(f"masks must be a 2-D n×P array; got shape {M.shape}.")
    if M.shape[0] != n:
        raise DataError(f"masks has {M.shape[0]} rows but X has {n}; column i must be the diagonal of D_i.")
    if M.shape[1] == 0:
        raise DataError("masks has no columns (no activation patterns).")
    if M.dtype != bool:
        if M.dtype.kind not in "biuf" or not np.all((M == 0) | (M == 1)):
            raise DataError("masks must be boolean (or 0/1 numbers).")
        M = M.astype(bool)
    return np.ascontiguousarray(M)


def _check_gates(gates, X: np.ndarray, M: np.ndarray) -> np.ndarray | None:
    """Gates as a d×P array whose sign patterns are consistent with ``M`` (or None)."""
    if gates is None:
        return None
    G = as_float_matrix(gates, "gates")
    if G.shape != (X.shape[1], M.shape[1]):
        raise DataError(f"gates must have shape (d, P) = {(X.shape[1], M.shape[1])}; got {G.shape}.")
    S = X @ G
    bad = (S >= 0) != M
    if np.any(bad):
        j, i = np.argwhere(bad)[0]
        raise DataError(
            f"gate {i} is inconsistent with mask column {i} at sample {j}: "
            "masks[:, i] must equal (X @ gates[:, i] >= 0)."
        )
    return G


def _as_blocks(A, name: str, c: int, d: int, P: int) -> np.ndarray:
    """Primal block array as (c, d, P); a (d, P) array is accepted when c = 1."""
    A = np.asarray(A, dtype=np.float64)
    if A.ndim == 2 and c == 1:
        A = A[None]
    if A.shape != (c, d, P):
        raise DataError(f"{name} must have shape (c, d, P) = {(c, d, P)}; got {A.shape}.")
    if not np.all(np.isfinite(A)):
        raise DataError(f"{name} contains NaN or infinite values.")
    return A


# --------------------------------------------------------------------------- helpers
def _predictions(X: np.ndarray, M: np.ndarray, V: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Σ_i D_i X (v_i − w_i) for every output: (c, n)."""
    return np.sum((X @ (V - W)) * M, axis=-1)


def crelu_objective(X, Y, reg: float, masks, v, w) -> float:
    """C-ReLU objective Σ_k ½‖Σ_i D_i X (v_ki − w_ki) − y_k‖² + γ Σ (‖v_ki‖ + ‖w_ki‖) (no feasibility check).

    ``v``, ``w`` have shape (c, d, P) (or (d, P) when c = 1).
    """
    X, Y = check_XY(X, Y)
    reg = check_reg(reg)
    M = _check_masks(masks, X.shape[0])
    c, d, P = Y.shape[1], X.shape[1], M.shape[1]
    V = _as_blocks(v, "v", c, d, P)
    W = _as_blocks(w, "w", c, d, P)
    R = _predictions(X, M.astype(np.float64), V, W) - Y.T
    pen = np.sum(np.linalg.norm(V, axis=1)) + np.sum(np.linalg.norm(W, axis=1))
    return 0.5 * float(np.vdot(R, R)) + reg * float(pen)


def cone_violation(X, masks, v) -> float:
    """max_i max_j (−[(2D_i − I) X v_i]_j)_+ / (‖X‖₂ · max_i ‖v_i‖): relative cone violation of ``v``.

    ``v`` is (d, P) or (c, d, P); 0 when every block lies in its cone (or v = 0).
    """
    X = as_float_matrix(X, "X")
    M = _check_masks(masks, X.shape[0])
    V = np.asarray(v, dtype=np.float64)
    if V.ndim == 2:
        V = V[None]
    Gs = 2.0 * M - 1.0
    scale = np.linalg.norm(X, 2) * float(np.max(np.linalg.norm(V, axis=1), initial=0.0))
    if scale == 0:
        return 0.0
    viol = float(np.max(-(Gs * (X @ V)), initial=0.0))
    return max(viol, 0.0) / scale


def project_to_cone(X, mask, z) -> np.ndarray:
    """Euclidean projection of ``z`` onto K = {u : (2D − I) X u ≥ 0} (exact, via NNLS).

    Moreau: z = Π_K(z) + Π_{K°}(z) with K° = {−Xᵀ(2D − I)λ : λ ≥ 0}, so Π_K(z) = z + Xᵀ(2D − I)λ*
    with λ* = argmin_{λ ≥ 0} ‖Xᵀ(2D − I)λ + z‖.
    """
    X = as_float_matrix(X, "X")
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    mask = np.asarray(mask).reshape(-1).astype(bool)
    g = 2.0 * mask - 1.0
    if np.all(g * (X @ z) >= 0):
        return z.copy()
    At = X.T * g  # d×n, column j = s_j x_j
    lam, _ = nnls(At, -z, maxiter=50 * max(X.shape))
    p = z + At @ lam
    if np.linalg.norm(p) <= 1e-12 * np.linalg.norm(z):  # z lies in the polar cone: Π_K(z) = 0
        return np.zeros_like(z)
    return p


# --------------------------------------------------------------------------- dual bound
def crelu_dual_bound(X, Y, reg: float, masks, theta, lam_v=None, lam_w=None, *, refine: bool = True,
                     deadline: float | None = None):
    """Certified lower bound on the C-ReLU optimum from any θ (n×c) and multipliers λ, μ ≥ 0.

    Lagrangian dual (our derivation): for every output k,
        max_{θ, λ ≥ 0, μ ≥ 0}  −½‖θ‖² − θᵀy
        s.t.  ‖Xᵀ(D_i θ − (2D_i − I) λ_i)‖ ≤ γ,   ‖Xᵀ(−D_i θ − (2D_i − I) μ_i)‖ ≤ γ   for all i,
    and every feasible point bounds the primal from below (weak duality). The optimal θ is the
    residual Σ_i D_i X(v_i − w_i) − y. Given any θ and λ, μ (clipped to ≥ 0), the pair
    (tθ, tλ, tμ) is dual feasible for 0 ≤ t ≤ γ / max_i ‖·‖, and we maximise the concave dual
    objective over that interval. With ``refine`` every block that would force t < 1 gets its
    multiplier replaced by the NNLS minimiser of its norm when that is smaller; the refinement
    (one small NNLS per such block, the costly part with many patterns) stops once
    ``time.perf_counter()`` passes ``deadline``, and the blocks not reached keep their given
    multipliers, so the bound stays valid, only weaker.
    Returns (bound summed over outputs, per-output bounds (c,)).
    """
    X, Y = check_XY(X, Y)
    reg = check_reg(reg)
    M = _check_masks(masks, X.shape[0])
    n, d = X.shape
    c, P = Y.shape[1], M.shape[1]
    theta = np.asarray(theta, dtype=np.float64).reshape(n, c) if np.ndim(theta) != 2 else np.asarray(theta, float)
    if theta.shape != (n, c):
        raise DataError(f"theta must have shape (n, c) = {(n, c)}; got {theta.shape}.")
    Mf = M.astype(np.float64)
    Gs = 2.0 * Mf - 1.0

    def lam_arr(L):
        if L is None:
            return np.zeros((c, n, P))
        L = np.asarray(L, dtype=np.float64)
        if L.ndim == 2 and c == 1:
            L = L[None]
        if L.shape != (c, n, P):
            raise DataError(f"multipliers must have shape (c, n, P) = {(c, n, P)}; got {L.shape}.")
        return np.maximum(L, 0.0)

    Lv, Lw = lam_arr(lam_v), lam_arr(lam_w)
    T = theta.T[:, :, None] * Mf  # (c, n, P): D_i θ_k
    Rv = X.T @ (T - Gs * Lv)  # (c, d, P)
    Rw = X.T @ (-T - Gs * Lw)
    nv = np.linalg.norm(Rv, axis=1)
    nw = np.linalg.norm(Rw, axis=1)
    if refine:
        for nrm, sign in ((nv, 1.0), (nw, -1.0)):
            for k, i in zip(*np.nonzero(nrm > reg)):
                if deadline is not None and time.perf_counter() > deadline:
                    break
                target = sign * (X.T @ T[k, :, i])
                At = X.T * Gs[:, i]
                lam, _ = nnls(At, target, maxiter=50 * max(n, d))
                # recompute the norm from λ itself rather than trusting the solver's residual
                nrm[k, i] = min(nrm[k, i], float(np.linalg.norm(target - At @ lam)))
    out = np.empty(c)
    for k in range(c):
        th, y = theta[:, k], Y[:, k]
        a = float(th @ th)
        b = float(th @ y)
        worst = max(float(np.max(nv[k])), float(np.max(nw[k])))
        # safety margin for the floating-point error of the norm computations
        worst *= 1.0 + 1e-10
        tmax = np.inf if worst == 0 else reg / worst
        if a == 0:
            t = 0.0
        else:
            t = float(np.clip(-b / a, 0.0, tmax))
        out[k] = round_down(-0.5 * t * t * a - t * b,
                            0.5 * t * t * a + t * float(np.linalg.norm(th)) * float(np.linalg.norm(y)), n)
    return float(np.sum(out)), out


# --------------------------------------------------------------------------- linear system
class _LinearSolver:
    """Cached solver for the ADMM u-update in normalised units, for any ρ.

    Solves (ρ(I_P ⊗ B) + 2ÃᵀÃ) q = r with B = I + X̂ᵀX̂ = LLᵀ and Ã = [D_1 X̂, …, D_P X̂]: in whitened
    variables q̃ = Lᵀq the matrix is ρI + 2ÃₜᵀÃₜ (Ãₜ = [D_i X̂ L⁻ᵀ]), diagonalised once either directly
    (Pd ≤ n) or through the n×n matrix ÃₜÃₜᵀ (Woodbury).
    """

    def __init__(self, Xh: np.ndarray, Mf: np.ndarray, beta: float = 1.0):
        n, d = Xh.shape
        P = Mf.shape[1]
        self.n, self.d, self.P = n, d, P
        self.Mf = Mf
        B = np.eye(d) + beta**2 * (Xh.T @ Xh)
        L = cholesky(B, lower=True)
        self.Linv = solve_triangular(L, np.eye(d), lower=True)
        self.Binv = self.Linv.T @ self.Linv
        self.Xt = Xh @ self.Linv.T  # X̂ L⁻ᵀ
        self.direct = P * d <= n
        if self.direct:
            check_memory(8.0 * (3 * (P * d) ** 2 + n * P * d), "the C-ReLU linear system")
            At = (Mf[:, :, None] * self.Xt[:, None, :]).reshape(n, P * d)
            C = At.T @ At
        else:
            check_memory(8.0 * 3 * n * n, "the C-ReLU linear system (Woodbury form)")
            C = (self.Xt @ self.Xt.T) * (Mf @ Mf.T)
        ev, Q = eigh(C)
        self.ev = np.maximum(ev, 0.0)
        self.Q = Q

    def solve_p(self, R: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """(ρ(I ⊗ B))⁻¹ R for R of shape (c, d, P)."""
        return (self.Binv @ R) / rho[:, None, None]

    def solve_q(self, R: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """(ρ(I ⊗ B) + 2ÃᵀÃ)⁻¹ R for R of shape (c, d, P)."""
        c = R.shape[0]
        n, d, P = self.n, self.d, self.P
        Rt = self.Linv @ R  # whitened right-hand side
        if self.direct:
            r = Rt.transpose(0, 2, 1).reshape(c, P * d).T  # (Pd, c), block order (i, dim)
            z = self.Q.T @ r
            z /= rho[None, :] + 2.0 * self.ev[:, None]
            qt = (self.Q @ z).T.reshape(c, P, d).transpose(0, 2, 1)
        else:
            w = np.sum((self.Xt @ Rt) * self.Mf, axis=-1).T  # (n, c) = Ãₜ r
            z = self.Q.T @ w
            z /= 0.5 * rho[None, :] + self.ev[:, None]
            w = (self.Q @ z).T  # (c, n)
            qt = (Rt - self.Xt.T @ (self.Mf * w[:, :, None])) / rho[:, None, None]
        return self.Linv.T @ qt


def _group_shrink(Z: np.ndarray, kappa: np.ndarray) -> np.ndarray:
    """Block soft-thresholding prox of κ‖·‖₂ on each column of each output: (c, d, P)."""
    nrm = np.linalg.norm(Z, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(nrm > 0, np.maximum(0.0, 1.0 - kappa[:, None, None] / nrm), 0.0)
    return Z * scale


# --------------------------------------------------------------------------- mapping
def crelu_to_network(solution, *, bias: bool = False, tol: float = 0.0) -> ReLUNetwork:
    """ReLU network of a C-ReLU solution: v_ki ↦ neuron v/√‖v‖ with output +√‖v‖·e_k, w_ki ↦ −√‖w‖·e_k.

    ``solution`` is a :class:`SolveResult` of :func:`solve_crelu`, its ``solution`` dict, or a pair
    (v, w) of arrays of shape (c, d, P) (or (d, P) for c = 1). ``bias`` says the design matrix's
    last column is ones (the network then appends it itself). Blocks with ‖·‖ ≤ ``tol`` are dropped.
    For an exactly feasible solution the network's NN-TRAIN objective equals the C-ReLU objective,
    since (X v)_+ = D X v on the cone and ½(‖u‖² + o²) = ‖v‖ for u = v/√‖v‖, o = √‖v‖.
    """
    if isinstance(solution, SolveResult):
        solution = solution.solution
    if isinstance(solution, dict):
        if "v" not in solution or "w" not in solution:
            raise DataError("solution must contain arrays 'v' and 'w'.")
        v, w = solution["v"], solution["w"]
    else:
        try:
            v, w = solution
        except (TypeError, ValueError) as exc:
            raise DataError("solution must be a SolveResult, a dict with 'v' and 'w', or a (v, w) pair.") from exc
    V = np.asarray(v, dtype=np.float64)
    W = np.asarray(w, dtype=np.float64)
    if V.ndim == 2:
        V = V[None]
    if W.ndim == 2:
        W = W[None]
    if V.ndim != 3 or V.shape != W.shape:
        raise DataError(f"v and w must both have shape (c, d, P); got {V.shape} and {W.shape}.")
    if not (np.all(np.isfinite(V)) and np.all(np.isfinite(W))):
        raise DataError("v and w must be finite.")
    c, d, P = V.shape
    cols_u, cols_o = [], []
    for sign, A in ((1.0, V), (-1.0, W)):
        nrm = np.linalg.norm(A, axis=1)  # (c, P)
        for k, i in zip(*np.nonzero(nrm > tol)):
            if nrm[k, i] == 0:
                continue
            s = np.sqrt(nrm[k, i])
            cols_u.append(A[k, :, i] / s)
            o = np.zeros(c)
            o[k] = sign * s
            cols_o.append(o)
    if not cols_u:
        return ReLUNetwork(np.zeros((d, 1)), np.zeros((c, 1)), bias=bias)
    return ReLUNetwork(np.array(cols_u).T, np.array(cols_o).T, bias=bias)


# --------------------------------------------------------------------------- solver
def solve_crelu(
    X,
    Y,
    reg: float,
    masks,
    gates=None,
    *,
    tol: float = 1e-6,
    max_iter: int = 20000,
    time_limit: float | None = None,
    warm_start=None,
    callback=None,
    rho: float | None = None,
    relaxation: float = 1.6,
    anderson: int = 10,
    check_every: int = 10,
    bias: bool = False,
) -> SolveResult:
    """Solve the C-ReLU program over the patterns ``masks`` (n×P, column i = diag D_i) by ADMM.

    ``X`` is the design matrix (ones column last when ``bias``), ``Y`` n×c targets (one-vs-all for
    c > 1), ``reg`` = γ. ``gates`` (d×P, optional) are only used to check that the masks are the
    gates' sign patterns. Returns a :class:`SolveResult` (method 'crelu') whose ``value`` is the
    NN-TRAIN objective of the mapped network of the cone-repaired solution and ``lower_bound`` a
    certified bound on this program's optimum (see the module docstring for what it bounds).
    ``solution`` holds 'v', 'w' (c, d, P, exactly projected onto the cones), 'network' (ReLUNetwork),
    'lambda_v', 'lambda_w' (c, n, P multipliers) and the ADMM state for ``warm_start``.
    Stops when the certified gap is ≤ ``tol`` ('optimal'), at ``max_iter``, ``time_limit`` seconds,
    Ctrl-C or when ``callback(record)`` returns True ('interrupted'); every exit returns the
    repaired, certified last iterate. ``history`` rows (also passed to ``callback``) hold cheap
    estimates — 'value' of the unrepaired iterate (it may even sit below the bound), 'lower_bound',
    residuals, ρ — and 'certified_value' / 'certified_lower_bound' / 'certified_gap' when a
    certificate was computed at that checkpoint. ``rho`` is the initial ADMM penalty in normalised
    units (adapted by residual balancing), ``anderson`` the acceleration memory (0 = off).
    ``time_limit`` is checked after every iteration; the final repair and certificate come on
    top, their dual-bound refinement cut off at ``FINAL_CERTIFICATE_GRACE`` × the limit.
    """
    X, Y = check_XY(X, Y)
    reg = check_reg(reg)
    if hasattr(masks, "masks") and hasattr(masks, "gates"):  # a PatternSet-like object
        gates = masks.gates if gates is None else gates
        masks = masks.masks
    M = _check_masks(masks, X.shape[0])
    _check_gates(gates, X, M)
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not (0 < tol < 1):
        raise ParameterError(f"tol must be a number in (0, 1); got {tol!r}.")
    max_iter = check_positive_int(max_iter, "max_iter")
    check_every = check_positive_int(check_every, "check_every")
    anderson = check_positive_int(anderson, "anderson", minimum=0)
    if time_limit is not None:
        if isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real) or not time_limit > 0:
            raise ParameterError(f"time_limit must be a positive number of seconds or None; got {time_limit!r}.")
    if rho is not None:
        if isinstance(rho, bool) or not isinstance(rho, numbers.Real) or not (np.isfinite(rho) and rho > 0):
            raise ParameterError(f"rho must be a positive number or None; got {rho!r}.")
    if isinstance(relaxation, bool) or not isinstance(relaxation, numbers.Real) or not (0 < relaxation < 2):
        raise ParameterError(f"relaxation must lie in (0, 2); got {relaxation!r}.")
    if callback is not None and not callable(callback):
        raise ParameterError("callback must be callable or None.")
    problem = TrainingProblem(X, Y, reg, bias=bias)
    n, d = X.shape
    c, P = Y.shape[1], M.shape[1]
    check_memory(8.0 * 16 * c * n * P + 8.0 * 12 * c * d * P, "the C-ReLU ADMM iterates")
    with blas_threads(max(n, P * d)):
        return _solve(problem, M, tol=tol, max_iter=max_iter, time_limit=time_limit,
                      warm_start=warm_start, callback=callback, rho0=rho, alpha=float(relaxation),
                      check_every=check_every, anderson=anderson)


class _BatchAnderson:
    """Type-II Anderson acceleration of a fixed-point map, independently for each of c outputs.

    Keeps ring buffers of the last ``m`` differences of residuals g = F(x) − x and of map values,
    with their Gram matrix updated incrementally (O(m·size) per step); the extrapolation is
    F(x) − ΔF γ with γ = argmin ‖g − ΔG γ‖ (Tikhonov-regularised normal equations).
    """

    def __init__(self, c: int, size: int, m: int, reg: float = 1e-10):
        self.c, self.m, self.reg = c, m, reg
        self.dG = np.zeros((c, m, size))
        self.dF = np.zeros((c, m, size))
        self.H = np.zeros((c, m, m))
        self.count = np.zeros(c, dtype=int)
        self.pos = np.zeros(c, dtype=int)
        self.valid = np.zeros(c, dtype=bool)
        self.prev_g = np.zeros((c, size))
        self.prev_f = np.zeros((c, size))

    def reset(self, mask=None):
        mask = np.ones(self.c, dtype=bool) if mask is None else mask
        self.count[mask] = 0
        self.pos[mask] = 0
        self.valid[mask] = False

    def step(self, x: np.ndarray, fx: np.ndarray) -> np.ndarray:
        g = fx - x
        for k in np.nonzero(self.valid)[0]:
            j = self.pos[k]
            self.dG[k, j] = g[k] - self.prev_g[k]
            self.dF[k, j] = fx[k] - self.prev_f[k]
            row = self.dG[k] @ self.dG[k, j]
            self.H[k, j, :] = row
            self.H[k, :, j] = row
            self.pos[k] = (j + 1) % self.m
            self.count[k] = min(self.count[k] + 1, self.m)
        self.prev_g[:] = g
        self.prev_f[:] = fx
        self.valid[:] = True
        out = fx.copy()
        for k in np.nonzero(self.count > 0)[0]:
            q = self.count[k]
            dG, dF = self.dG[k, :q], self.dF[k, :q]
            H = self.H[k, :q, :q].copy()
            H[np.diag_indices(q)] += self.reg * (np.trace(H) / q) + 1e-300
            try:
                gam = np.linalg.solve(H, dG @ g[k])
            except np.linalg.LinAlgError:
                self.reset(np.arange(self.c) == k)
                continue
            if np.all(np.isfinite(gam)):
                out[k] -= gam @ dF
        return out


def _solve(problem: TrainingProblem, M, *, tol, max_iter, time_limit, warm_start, callback,
           rho0, alpha, check_every, anderson) -> SolveResult:
    t0 = time.perf_counter()
    X, Y, reg = problem.X, problem.Y, problem.reg
    n, d = X.shape
    c, P = Y.shape[1], M.shape[1]
    Mf = M.astype(np.float64)
    Gs = 2.0 * Mf - 1.0

    sigma = float(np.linalg.norm(X, 2))
    eta = np.linalg.norm(Y, axis=0)  # (c,)
    active = eta > 0
    if sigma == 0 or not np.any(active):  # the zero network is optimal
        zero = np.zeros((c, d, P))
        cert = _certify(problem, M, zero, zero.copy(), None, None, ())
        cert["lower"] = cert["value"]
        return _result(cert, status="optimal", it=0, t0=t0, history=[], state={})
    eta_s = np.where(active, eta, 1.0)
    Xh = X / sigma
    Yh = (Y / eta_s).T  # (c, n)
    gam = np.where(active, reg / (sigma * eta_s), np.inf)  # zero target ⇒ zero solution
    gam_fin = np.where(active, gam, 0.0)

    # constraint rows scaled by β so that they are comparable with the identity block of the
    # splitting (β ≈ half the ratio of ‖X‖₂ to the rms row norm; the cones do not change)
    row_rms = float(np.sqrt(np.mean(np.sum(X**2, axis=1))))
    beta = float(np.clip(0.5 * sigma / max(row_rms, 1e-300), 1.0, 10.0))
    Xc = beta * Xh
    lin = _LinearSolver(Xh, Mf, beta)
    rho = np.full(c, _RHO0 if rho0 is None else float(rho0))

    # ADMM state (normalised units), packed per output: copies T = (Tv, Tw) of u = (v, w),
    # slacks S = (Sv, Sw) of (2D−I)βX̂u, scaled duals L = (Lv, Lw) and N = (Nv, Nw).
    sd, sn = d * P, n * P
    offs = np.cumsum([0, sd, sd, sn, sn, sd, sd, sn, sn])
    size = int(offs[-1])

    def parts(Z):
        shp = [(d, P), (d, P), (n, P), (n, P)] * 2
        return [Z[:, offs[j]:offs[j + 1]].reshape((c,) + shp[j]) for j in range(8)]

    Z = np.zeros((c, size))
    Tv, Tw, Sv, Sw, Lv, Lw, Nv, Nw = parts(Z)
    if warm_start is not None:
        st = warm_start.solution if isinstance(warm_start, SolveResult) else warm_start
        if not isinstance(st, dict):
            raise ParameterError("warm_start must be a SolveResult of solve_crelu or its solution dict.")
        scale = (sigma / eta_s)[:, None, None]
        if "v" in st and "w" in st:
            Tv[:] = _as_blocks(st["v"], "warm_start['v']", c, d, P) * scale
            Tw[:] = _as_blocks(st["w"], "warm_start['w']", c, d, P) * scale
        adm = st.get("admm_state")
        if (isinstance(adm, dict) and all(k in adm for k in ("Lv", "Lw", "Nv", "Nw", "rho", "beta"))
                and np.shape(adm["Lv"]) == (c, d, P) and np.shape(adm["Nv"]) == (c, n, P)
                and float(adm["beta"]) == beta):
            Lv[:], Lw[:] = adm["Lv"], adm["Lw"]
            Nv[:], Nw[:] = adm["Nv"], adm["Nw"]
            if rho0 is None:
                rho = np.array(adm["rho"], dtype=float).reshape(c)
    Z[~active] = 0.0
    Sv[:] = np.maximum(Gs * (Xc @ Tv), 0.0)
    Sw[:] = np.maximum(Gs * (Xc @ Tw), 0.0)

    AY = Xh.T @ (Mf[None] * Yh[:, :, None])  # (c, d, P): X̂ᵀ D_i ŷ_k

    def admm_map(Z, rho):
        """One (over-relaxed) ADMM iteration; returns the new state and the u-iterate's images."""
        Tv, Tw, Sv, Sw, Lv, Lw, Nv, Nw = parts(Z)
        r3 = rho[:, None, None]
        Rv = AY + r3 * (Tv - Lv) + r3 * (Xc.T @ (Gs * (Sv - Nv)))
        Rw = -AY + r3 * (Tw - Lw) + r3 * (Xc.T @ (Gs * (Sw - Nw)))
        p = lin.solve_p((Rv + Rw) / _SQRT2, rho)
        q = lin.solve_q((Rv - Rw) / _SQRT2, rho)
        V = (p + q) / _SQRT2
        W = (p - q) / _SQRT2
        EV = Gs * (Xc @ V)
        EW = Gs * (Xc @ W)
        hV = alpha * V + (1 - alpha) * Tv
        hW = alpha * W + (1 - alpha) * Tw
        hEV = alpha * EV + (1 - alpha) * Sv
        hEW = alpha * EW + (1 - alpha) * Sw
        Zn = np.empty_like(Z)
        Tv2, Tw2, Sv2, Sw2, Lv2, Lw2, Nv2, Nw2 = parts(Zn)
        Tv2[:] = _group_shrink(hV + Lv, gam / rho)
        Tw2[:] = _group_shrink(hW + Lw, gam / rho)
        Sv2[:] = np.maximum(hEV + Nv, 0.0)
        Sw2[:] = np.maximum(hEW + Nw, 0.0)
        Lv2[:] = Lv + hV - Tv2
        Lw2[:] = Lw + hW - Tw2
        Nv2[:] = Nv + hEV - Sv2
        Nw2[:] = Nw + hEW - Sw2
        Zn[~active] = 0.0
        return Zn, (V, W, EV, EW)

    e3 = eta_s[:, None, None]
    best_bound = np.full(c, -np.inf)
    best_theta = np.zeros((c, n))
    best_lv, best_lw = np.zeros((c, n, P)), np.zeros((c, n, P))

    def certificate(Z, rho, UV=None, polish_face=True, grace=1.0):
        """Repair + polish the sparse iterate and certify it, in original units; under a time
        limit the bounds' refinement stops at ``grace`` × the limit (see :func:`crelu_dual_bound`)."""
        Tv, Tw, _, _, _, _, Nv, Nw = parts(Z)
        Vout = np.where(active[:, None, None], Tv, 0.0) * (e3 / sigma)
        Wout = np.where(active[:, None, None], Tw, 0.0) * (e3 / sigma)
        # multipliers of the cone constraints in original units: λ = η·β·(−ρN)
        lam_v = np.maximum(-beta * rho[:, None, None] * Nv, 0.0) * e3
        lam_w = np.maximum(-beta * rho[:, None, None] * Nw, 0.0) * e3
        duals = [((Vout, Wout), lam_v, lam_w),  # residual of the (unrepaired) ADMM iterate
                 ((best_theta * eta_s[:, None]).T, np.maximum(best_lv, 0.0) * e3,
                  np.maximum(best_lw, 0.0) * e3)]
        if UV is not None:  # residual of the u-iterate (dual feasible up to the dual residual)
            duals.append(((UV[0] * (e3 / sigma), UV[1] * (e3 / sigma)), lam_v, lam_w))
        deadline = None if time_limit is None else t0 + grace * time_limit
        return _certify(problem, M, Vout, Wout, lam_v, lam_w, duals, polish_face=polish_face,
                        deadline=deadline)

    history: list[dict] = []
    status = "max_iter"
    it = 0
    adapt_every = 5 * check_every
    mu_bal, tau_max = 10.0, 10.0
    tol_int = np.full(c, float(tol))  # internal ADMM tolerance, tightened if certification fails
    mem = min(anderson, int(_AA_BYTES // (16 * c * size)))  # keep the buffers within the cap
    acc = _BatchAnderson(c, size, mem) if mem >= 2 else None
    from_aa = np.zeros(c, dtype=bool)  # whether the current Z[k] is an extrapolated point
    plain_prev = Z.copy()  # the last un-accelerated map value (fallback of the safeguard)
    res_prev = np.full(c, np.inf)
    cert = None
    n_cert = 0
    next_cert = 20 * check_every  # certification schedule besides the cheap criteria (×1.5 each)
    last_uv = None

    try:
        for it in range(1, max_iter + 1):
            change = np.zeros(c, dtype=bool)
            Zn, (V, W, EV, EW) = admm_map(Z, rho)
            res = np.linalg.norm(Zn - Z, axis=1)
            last_uv = (V, W)
            if acc is not None:
                bad = from_aa & (res > 1.5 * res_prev)
                if np.any(bad):  # safeguard: drop the extrapolation of those outputs and redo
                    Z[bad] = plain_prev[bad]
                    acc.reset(bad)
                    from_aa[bad] = False
                    Zn, (V, W, EV, EW) = admm_map(Z, rho)
                    res = np.linalg.norm(Zn - Z, axis=1)
                    last_uv = (V, W)
            out_of_time = time_limit is not None and time.perf_counter() - t0 >= time_limit
            if it % check_every == 0 or it == max_iter or out_of_time:
                Tv_o, Tw_o, Sv_o, Sw_o = parts(Z)[:4]
                Tv, Tw, Sv, Sw, Lv, Lw, Nv, Nw = parts(Zn)
                # ---- residuals (per output), relative as in Boyd et al. §3.3
                ax = (1, 2)
                r_pri = np.sqrt(np.sum((V - Tv) ** 2, ax) + np.sum((W - Tw) ** 2, ax)
                                + np.sum((EV - Sv) ** 2, ax) + np.sum((EW - Sw) ** 2, ax))
                n_Eu = np.sqrt(np.sum(V**2, ax) + np.sum(W**2, ax) + np.sum(EV**2, ax) + np.sum(EW**2, ax))
                n_z = np.sqrt(np.sum(Tv**2, ax) + np.sum(Tw**2, ax) + np.sum(Sv**2, ax) + np.sum(Sw**2, ax))
                dV = (Tv - Tv_o) + Xc.T @ (Gs * (Sv - Sv_o))
                dW = (Tw - Tw_o) + Xc.T @ (Gs * (Sw - Sw_o))
                r_dual = rho * np.sqrt(np.sum(dV**2, ax) + np.sum(dW**2, ax))
                yV = Lv + Xc.T @ (Gs * Nv)
                yW = Lw + Xc.T @ (Gs * Nw)
                n_y = rho * np.sqrt(np.sum(yV**2, ax) + np.sum(yW**2, ax))
                tiny = 1e-14
                rel_p = r_pri / np.maximum(np.maximum(n_Eu, n_z), tiny)
                rel_d = r_dual / np.maximum(n_y, tiny)
                rel_p[~active] = 0.0
                rel_d[~active] = 0.0

                # ---- objective of the sparse iterate and the cheap dual bound (normalised units)
                theta = _predictions(Xh, Mf, Tv, Tw) - Yh  # (c, n)
                pen = np.sum(np.linalg.norm(Tv, axis=1), 1) + np.sum(np.linalg.norm(Tw, axis=1), 1)
                prim = 0.5 * np.sum(theta**2, axis=1) + gam_fin * pen
                lv_now = -beta * rho[:, None, None] * Nv
                lw_now = -beta * rho[:, None, None] * Nw
                bnd = _dual_bound_normalised(Xh, Yh, Mf, Gs, gam, theta, lv_now, lw_now)
                bnd[~active] = prim[~active]
                improved = bnd > best_bound
                if np.any(improved):  # keep the multipliers of the best bound for the certificate
                    best_theta[improved] = theta[improved]
                    best_lv[improved] = lv_now[improved]
                    best_lw[improved] = lw_now[improved]
                best_bound = np.maximum(best_bound, bnd)
                gaps = (prim - best_bound) / np.maximum(np.abs(prim), 1e-300)
                gaps[~active] = 0.0
                e2 = np.where(active, eta_s**2, 0.0)
                value_est = float(np.sum(e2 * prim) + 0.5 * np.sum(eta[~active] ** 2))
                lb_est = float(np.sum(e2 * best_bound) + 0.5 * np.sum(eta[~active] ** 2))
                elapsed = time.perf_counter() - t0
                rec = {"iteration": it, "time_s": elapsed, "value": value_est, "lower_bound": lb_est,
                       "gap": relative_gap(value_est, lb_est), "primal_residual": float(np.max(rel_p)),
                       "dual_residual": float(np.max(rel_d)), "rho": float(np.max(rho))}
                # ---- stopping: cheap criteria first, then the certified gap of the repaired point
                cheap_ok = np.all((rel_p <= tol_int) & (rel_d <= tol_int) & (gaps <= tol_int))
                if cheap_ok or it >= next_cert:
                    next_cert = max(next_cert, int(1.5 * it))
                    cert = certificate(Zn, rho, (V, W))
                    n_cert += 1
                    cgap = relative_gap(cert["value"], cert["lower"])
                    rec["certified_value"] = cert["value"]
                    rec["certified_lower_bound"] = cert["lower"]
                    rec["certified_gap"] = cgap
                    if cgap is not None and cgap <= tol:
                        status = "optimal"
                    else:  # the estimate was too optimistic: ask more of the outputs that lag
                        if cheap_ok:
                            per = (cert["values"] - cert["lowers"]) / np.maximum(np.abs(cert["values"]), 1e-300)
                            lag = per > tol
                            tol_int = np.where(lag | ~np.any(lag), np.maximum(tol_int / 4, 1e-13), tol_int)
                        cert = None
                history.append(rec)
                if status == "optimal":
                    pass
                elif callback is not None and callback(dict(rec)):
                    status = "interrupted"
                elif time_limit is not None and elapsed >= time_limit:
                    status = "time_limit"
                elif it % adapt_every == 0:
                    # residual balancing (free: the eigendecomposition serves every ρ)
                    ratio = rel_p / np.maximum(rel_d, 1e-300)
                    change = active & ((ratio > mu_bal) | (ratio < 1.0 / mu_bal))
                    if np.any(change):
                        f = np.where(change, np.clip(np.sqrt(ratio), 1.0 / tau_max, tau_max), 1.0)
                        rho = rho * f
                        Zn[:, offs[4]:] /= f[:, None]  # scaled duals L, N scale with 1/ρ
                if status != "max_iter":
                    Z = Zn
                    break
            plain_prev = Zn
            res_prev = res
            if acc is not None:
                Z = acc.step(Z, Zn)
                if np.any(change):  # a new ρ is a new map: restart the acceleration there
                    acc.reset(change)
                    Z[change] = Zn[change]
                from_aa = acc.count > 0
            else:
                Z = Zn
    except KeyboardInterrupt:
        status = "interrupted"
        Z = plain_prev
    if status == "max_iter":
        Z = plain_prev  # the last plain ADMM iterate, not an extrapolated point
    if cert is None:
        # out of time or interrupted: skip the (optional, costly) face polish so the limit holds
        cert = certificate(Z, rho, last_uv, polish_face=status not in ("time_limit", "interrupted"),
                           grace=FINAL_CERTIFICATE_GRACE)
    Lv, Lw, Nv, Nw = parts(Z)[4:]
    state = {"Lv": Lv.copy(), "Lw": Lw.copy(), "Nv": Nv.copy(), "Nw": Nw.copy(), "rho": rho.copy(),
             "beta": beta}
    out = _result(cert, status=status, it=it, t0=t0, history=history, state=state)
    out.info["certifications"] = n_cert
    out.info["beta"] = beta
    return out


def _dual_bound_normalised(Xh, Yh, Mf, Gs, gam, theta, lam_v, lam_w) -> np.ndarray:
    """Per-output dual bound (normalised units) without NNLS refinement; see crelu_dual_bound."""
    lam_v = np.maximum(lam_v, 0.0)
    lam_w = np.maximum(lam_w, 0.0)
    T = theta[:, :, None] * Mf
    nv = np.linalg.norm(Xh.T @ (T - Gs * lam_v), axis=1)
    nw = np.linalg.norm(Xh.T @ (-T - Gs * lam_w), axis=1)
    worst = np.maximum(nv.max(axis=1), nw.max(axis=1)) * (1.0 + 1e-10)
    a = np.sum(theta**2, axis=1)
    b = np.sum(theta * Yh, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tmax = np.where(worst > 0, gam / worst, np.inf)
        t = np.where(a > 0, np.clip(-b / np.where(a > 0, a, 1.0), 0.0, tmax), 0.0)
    return -0.5 * t * t * a - t * b


def _polish_scales(X, Y, reg, M, V, W) -> None:
    """Rescale the non-zero blocks by s ≥ 0 to minimise the C-ReLU objective (in place).

    Scaling by s ≥ 0 keeps every block in its cone, so the polished point stays exactly feasible;
    the small bound-constrained QP ½‖F s − y‖² + γ ℓᵀs (F: block predictions, ℓ: block norms) is
    solved with L-BFGS-B and accepted only if it lowers the objective.
    """
    c = V.shape[0]
    Mf = M.astype(np.float64)
    for k in range(c):
        blocks, cols, norms = [], [], []
        for sign, A in ((1.0, V), (-1.0, W)):
            nrm = np.linalg.norm(A[k], axis=0)
            for i in np.nonzero(nrm > 0)[0]:
                blocks.append((A, i))
                cols.append(sign * Mf[:, i] * (X @ A[k, :, i]))
                norms.append(nrm[i])
        if not blocks:
            continue
        F = np.array(cols).T
        ell = reg * np.array(norms)
        y = Y[:, k]

        def fun(s):
            r = F @ s - y
            return 0.5 * float(r @ r) + float(ell @ s), F.T @ r + ell

        s0 = np.ones(len(blocks))
        f0 = fun(s0)[0]
        res = minimize(fun, s0, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * len(blocks),
                       options={"maxiter": 500, "ftol": 1e-15, "gtol": 1e-12})
        s = np.maximum(res.x, 0.0)
        if np.all(np.isfinite(s)) and fun(s)[0] < f0:
            for (A, i), si in zip(blocks, s):
                A[k, :, i] *= si


def _output_objective(X, y, reg, Mf, Vk, Wk) -> float:
    """C-ReLU objective of one output's blocks Vk, Wk (d×P)."""
    r = np.sum((X @ (Vk - Wk)) * Mf, axis=1) - y
    return 0.5 * float(r @ r) + reg * float(np.linalg.norm(Vk, axis=0).sum() + np.linalg.norm(Wk, axis=0).sum())


def _polish_face(X, y, reg, M, Vk, Wk, max_dim: int = 800, deadline: float | None = None):
    """Active-set polish of one output (our addition, in the spirit of OSQP's solution polishing).

    Guess the support (blocks above a relative size) and, per block, the active cone rows; on the
    face {v : C_act v = 0} (orthonormal null-space basis N_b, v_b = N_b z_b) the problem
    min ½‖Σ F_b z_b − y‖² + γ Σ ‖z_b‖ is smooth where every z_b ≠ 0 and is solved by damped Newton.
    The result is projected onto the cones (round-off level) and returned only if it lowers the
    objective; several activity thresholds are tried (none after ``deadline``, a perf_counter
    time, but the first). Exact on small problems when the guess is right, which also makes the
    dual certificate tight (θ becomes the exact optimal residual).
    """
    Mf = M.astype(np.float64)
    Gs = 2.0 * Mf - 1.0
    rownorm = np.linalg.norm(X, axis=1)
    norms = {(s, i): float(np.linalg.norm(A[:, i])) for s, A in ((0, Vk), (1, Wk)) for i in range(A.shape[1])}
    top = max(norms.values())
    if top == 0:
        return None
    best = (_output_objective(X, y, reg, Mf, Vk, Wk), None)
    # (activity threshold for the cone rows, support threshold relative to the largest block)
    for trial, (thr, sup) in enumerate(((1e-9, 0.0), (1e-7, 1e-8), (1e-5, 1e-6), (1e-3, 1e-4))):
        if trial and deadline is not None and time.perf_counter() > deadline:
            break
        blocks = [b for b, nb in norms.items() if nb > sup * top]
        bases, cols, z0 = [], [], []
        for s, i in blocks:
            v = (Vk if s == 0 else Wk)[:, i]
            C = Gs[:, i, None] * X
            act = C @ v <= thr * rownorm * np.linalg.norm(v)
            if np.any(act):
                _, sv, Vt = np.linalg.svd(C[act], full_matrices=True)
                rank = int(np.sum(sv > 1e-10 * max(sv[0], 1e-300)))
                N = Vt[rank:].T
            else:
                N = np.eye(X.shape[1])
            bases.append(N)
            cols.append((1.0 if s == 0 else -1.0) * (Mf[:, i, None] * (X @ N)))
            z0.append(N.T @ v)
        sizes = [N.shape[1] for N in bases]
        keep = [b for b in range(len(blocks)) if sizes[b] > 0]  # a 0-dim face forces the block to 0
        blocks = [blocks[b] for b in keep]
        bases = [bases[b] for b in keep]
        cols = [cols[b] for b in keep]
        z0 = [z0[b] for b in keep]
        sizes = [sizes[b] for b in keep]
        dim = sum(sizes)
        if dim == 0 or dim > max_dim:
            continue
        F = np.hstack(cols)
        z = np.concatenate(z0)
        cuts = np.cumsum([0, *sizes])
        starts = cuts[:-1]
        H0 = F.T @ F
        Fy = F.T @ y

        def fval(z):
            r = F @ z - y
            return 0.5 * float(r @ r) + reg * float(np.sum(np.sqrt(np.add.reduceat(z * z, starts))))

        f = fval(z)
        for _ in range(30):
            nb = np.sqrt(np.add.reduceat(z * z, starts))
            if np.any(nb <= 1e-14 * max(1.0, float(np.linalg.norm(z)))):
                break  # a block reached the kink at 0: this support guess is wrong
            g = H0 @ z - Fy
            H = H0.copy()
            for b in range(len(sizes)):
                sl = slice(cuts[b], cuts[b + 1])
                zb = z[sl]
                g[sl] += reg * zb / nb[b]
                H[sl, sl] += reg * (np.eye(sizes[b]) - np.outer(zb, zb) / nb[b] ** 2) / nb[b]
            try:
                step = np.linalg.solve(H + 1e-14 * np.trace(H) / dim * np.eye(dim), -g)
            except np.linalg.LinAlgError:
                break
            dec = -float(g @ step)  # Newton decrement²: f − f* ≈ dec/2 near the optimum
            if not np.isfinite(dec) or dec <= 1e-16 * max(1.0, abs(f)):
                break
            t = 1.0
            while t > 1e-4:  # a Newton step needing more damping means a wrong guess
                fn = fval(z + t * step)
                if fn <= f - 1e-4 * t * dec:
                    break
                t *= 0.5
            else:
                break
            z = z + t * step
            f = fn
        V2, W2 = np.zeros_like(Vk), np.zeros_like(Wk)
        for b, (s, i) in enumerate(blocks):
            v = bases[b] @ z[cuts[b]:cuts[b + 1]]
            if sizes[b] and np.any(v != 0):
                v = project_to_cone(X, M[:, i], v)
            (V2 if s == 0 else W2)[:, i] = v
        val = _output_objective(X, y, reg, Mf, V2, W2)
        if val < best[0]:
            best = (val, (V2, W2))
    return best[1]


def _certify(problem, M, V, W, lam_v, lam_w, extra_duals, polish_face: bool = True,
             deadline: float | None = None) -> dict:
    """Project every block exactly onto its cone, polish the scales, map to a network, evaluate it
    with the true ReLU (``value``) and compute the best dual bound over the candidate multipliers.
    ``polish_face=False`` skips the active-set polish (used when the time limit has passed); after
    ``deadline`` (``time.perf_counter()``) the polish starts nothing new and the dual bounds skip
    their NNLS refinement."""
    X, Y, reg = problem.X, problem.Y, problem.reg
    c, d, P = V.shape
    Mf = M.astype(np.float64)
    viol_admm = max(cone_violation(X, M, V), cone_violation(X, M, W))
    Vr, Wr = V.copy(), W.copy()
    Gs = 2.0 * Mf - 1.0
    for A in (Vr, Wr):
        E = Gs * (X @ A)  # (c, n, P)
        for k, i in zip(*np.nonzero(np.any(E < 0, axis=1))):
            if np.any(A[k, :, i] != 0):
                A[k, :, i] = project_to_cone(X, M[:, i], A[k, :, i])
    if lam_v is not None:
        _polish_scales(X, Y, reg, M, Vr, Wr)
        for k in range(c if polish_face else 0):
            if deadline is not None and time.perf_counter() > deadline:
                break
            if not np.any(Y[:, k]):
                continue
            for rep in range(4):  # repeat while it helps: a better point gives a better guess
                if rep and deadline is not None and time.perf_counter() > deadline:
                    break
                pol = _polish_face(X, Y[:, k], reg, M, Vr[k], Wr[k], deadline=deadline)
                if pol is None:
                    break
                extra_duals = [*extra_duals, ((Vr.copy(), Wr.copy()), lam_v, lam_w)]
                before = _output_objective(X, Y[:, k], reg, Mf, Vr[k], Wr[k])
                Vr[k], Wr[k] = pol
                if before - _output_objective(X, Y[:, k], reg, Mf, Vr[k], Wr[k]) <= 1e-13 * abs(before):
                    break
    net = crelu_to_network((Vr, Wr), bias=problem.bias)
    value = problem.objective(net.U, net.V)
    R = _predictions(X, Mf, Vr, Wr) - Y.T
    values = 0.5 * np.sum(R**2, axis=1) + reg * (np.linalg.norm(Vr, axis=1).sum(1) + np.linalg.norm(Wr, axis=1).sum(1))
    lowers = np.full(c, -np.inf)
    if lam_v is not None:
        # every candidate (θ, λ, μ) gives a valid bound per output: keep the best per output
        for th, lv, lw in [((Vr, Wr), lam_v, lam_w), *extra_duals]:
            if isinstance(th, tuple):
                th = (_predictions(X, Mf, th[0], th[1]) - Y.T).T
            lowers = np.maximum(lowers, crelu_dual_bound(X, Y, reg, M, th, lv, lw, refine=True,
                                                         deadline=deadline)[1])
        # a valid lower bound stays valid when lowered: never report it above the feasible value
        lowers = np.minimum(lowers, values)
    return {
        "v": Vr, "w": Wr, "network": net, "value": float(value), "values": values,
        "lower": float(np.sum(lowers)) if np.all(np.isfinite(lowers)) else None, "lowers": lowers,
        "lambda_v": lam_v, "lambda_w": lam_w, "masks": M,
        "max_violation": max(cone_violation(X, M, Vr), cone_violation(X, M, Wr)),
        "max_violation_admm": viol_admm,
        "convex_objective": float(np.sum(values)),
    }


def _result(cert, *, status, it, t0, history, state) -> SolveResult:
    """Assemble the SolveResult of a certified point."""
    net = cert["network"]
    c, d, P = cert["v"].shape
    info = {
        "max_violation": float(cert["max_violation"]),
        "max_violation_admm": float(cert["max_violation_admm"]),
        "convex_objective": cert["convex_objective"],
        "n_patterns": int(P),
        "n_outputs": int(c),
        "width": int(np.count_nonzero(np.linalg.norm(net.U, axis=0))),
        "one_vs_all": bool(c > 1),
        "lower_bound_scope": "crelu-program",
    }
    sol = {"v": cert["v"], "w": cert["w"], "network": net, "U": net.U, "V": net.V, "masks": cert["masks"],
           "lambda_v": cert["lambda_v"], "lambda_w": cert["lambda_w"], "admm_state": state}
    lower = cert["lower"]
    return SolveResult(method="crelu", value=cert["value"], lower_bound=None if lower is None else float(lower),
                       status=status, iterations=int(it), time_s=time.perf_counter() - t0,
                       history=history, solution=sol, info=info)
