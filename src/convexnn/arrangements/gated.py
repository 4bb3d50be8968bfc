"""The gated-ReLU relaxation C-GReLU (SPEC §5): group-lasso / nuclear-norm problems over fixed patterns.

For patterns D_1..D_P (diagonal 0/1, stored as an n×P mask matrix) and blocks W_i ∈ R^{d×c}:

    nuclear:  min_W  ½‖Σ_i D_i X W_i − Y‖² + γ Σ_i ‖W_i‖_*
    ova:      min_W  ½‖Σ_i D_i X W_i − Y‖² + γ Σ_i Σ_k ‖W_i[:, k]‖₂   (c independent problems)

Scaling (NN-TRAIN, SPEC §1): a gated network f(X) = Σ_j (D_{i(j)} X u_j) v_jᵀ trained with the
summed loss ½‖f(X) − Y‖² and weight decay (γ/2)(‖U‖² + ‖V‖²) has, at balance ‖u_j‖ = ‖v_j‖, the
penalty γ Σ_j ‖u_j‖‖v_j‖; grouping the neurons of gate i, min Σ ‖u_j‖‖v_j‖ subject to
Σ_j u_j v_jᵀ = W_i is ‖W_i‖_*. Hence the penalty weight is exactly γ (not γ/2, not scaled by n),
and the nuclear form *is* gated-network training with free width; ova restricts every neuron to
one output (v_j ∝ e_k), so its optimum is ≥ the nuclear one.

Solvers (:func:`solve_gated`): FISTA with backtracking, adaptive (gradient) restart and gap-safe
screening; and ADMM with an exact Cholesky/Woodbury W-step, which is far less sensitive to the
poor conditioning of A = [D_1X … D_PX] (heavily overlapping patterns) and is the default whenever
the matrix it factorises is small (min(n, P·d) ≤ 3000). Both stop on the relative duality gap.
The dual value is a certified lower bound on *this gated problem's* optimum. With sampled
patterns the gated optimum is NOT a bound on the ReLU training optimum p* in general (nor an
upper bound), so it is reported only as the relaxation's own bound.
"""

from __future__ import annotations

import numbers
import time

import numpy as np

from .. import _linalg
from .._linalg import cholesky_in_place, gram
from .._validation import (as_float_matrix, blas_threads, check_flag, check_memory, check_positive_int, check_reg,
                           check_XY)
from ..errors import DataError, ParameterError
from ..result import SolveResult, round_down
from .patterns import PatternSet, as_pattern_masks

__all__ = [
    "solve_gated",
    "regularization_path",
    "max_reg",
    "gated_to_neurons",
    "gated_predict",
    "GatedNeurons",
]

MODES = ("nuclear", "ova")


# --------------------------------------------------------------------------------------------
# the linear operator A : (W_i) ↦ Σ_i D_i X W_i and the block norms
# --------------------------------------------------------------------------------------------

class _Operator:
    """A W = Σ_i D_i X W_i with W stored as a k×d×c stack; all products are two GEMMs.

    Row j of A W is x_jᵀ Σ_i m_ji W_i, so A W = rowwise(X, M @ W.reshape(k, d·c)) and
    (Aᵀ R)_i = Σ_j m_ji x_j r_jᵀ = Mᵀ @ (x_j ⊗ r_j) — well-shaped GEMMs (n×k by k×dc).
    """

    def __init__(self, X: np.ndarray, M: np.ndarray):
        self.X = X
        self.M = M  # n×k float64 0/1, C-contiguous
        self.n, self.d = X.shape
        self.k = M.shape[1]

    def forward(self, W: np.ndarray) -> np.ndarray:
        k, d, c = W.shape
        if k == 0:
            return np.zeros((self.n, c))
        Z = (self.M @ W.reshape(k, d * c)).reshape(self.n, d, c)
        return np.einsum("nd,ndc->nc", self.X, Z)

    def adjoint(self, R: np.ndarray) -> np.ndarray:
        c = R.shape[1]
        O = (self.X[:, :, None] * R[:, None, :]).reshape(self.n, self.d * c)
        return (self.M.T @ O).reshape(self.k, self.d, c)

    def restrict(self, keep: np.ndarray) -> "_Operator":
        return _Operator(self.X, np.ascontiguousarray(self.M[:, keep]))

    def block_opnorms(self) -> np.ndarray:
        """‖D_i X‖₂ for each block (exact from the d×d Gram blocks when cheap, else ‖D_i X‖_F ≥ it)."""
        n, d, k = self.n, self.d, self.k
        if k == 0:
            return np.zeros(0)
        if n * d * d <= 20_000_000 and k * d * d <= 20_000_000:
            O2 = (self.X[:, :, None] * self.X[:, None, :]).reshape(n, d * d)
            Gram = (self.M.T @ O2).reshape(k, d, d)
            lam = np.linalg.eigvalsh(Gram)[:, -1]
            # eigenvalue error is ~eps‖Gram‖; pad so the value is an upper bound (screening stays safe)
            lam = lam + 1e-12 * np.abs(Gram).sum(axis=(1, 2))
            return np.sqrt(np.maximum(lam, 0.0))
        return np.sqrt(self.M.T @ np.einsum("nd,nd->n", self.X, self.X))

    def lipschitz(self, v0: np.ndarray | None = None, iters: int = 30, rtol: float = 1e-3):
        """Power iteration for ‖A‖² (the same for every output column); returns (estimate, vector)."""
        if self.k == 0:
            return 0.0, np.zeros((0, self.d, 1))
        if v0 is None or v0.shape != (self.k, self.d, 1) or not np.any(v0):
            v0 = np.random.default_rng(0).standard_normal((self.k, self.d, 1))
        v = v0 / np.linalg.norm(v0)
        lam = 0.0
        for _ in range(iters):
            w = self.adjoint(self.forward(v))
            lam_new = float(np.vdot(v, w))
            nw = np.linalg.norm(w)
            if nw == 0:
                return 0.0, v
            v = w / nw
            if abs(lam_new - lam) <= rtol * lam_new:
                lam = lam_new
                break
            lam = lam_new
        return max(lam, float(nw)), v


def _penalty(W: np.ndarray, vector: bool) -> np.ndarray:
    """Penalty per output column (vector/ova: Σ_i ‖W_i[:,k]‖) or as a 1-array (nuclear: Σ ‖W_i‖_*)."""
    if W.shape[0] == 0:
        return np.zeros(W.shape[2] if vector else 1)
    if vector:
        return np.sqrt(np.einsum("kdc,kdc->kc", W, W)).sum(axis=0)
    nz = np.flatnonzero(np.any(W != 0, axis=(1, 2)))
    if nz.size == 0:
        return np.zeros(1)
    return np.array([np.linalg.svd(W[nz], compute_uv=False).sum()])


def _gram(B: np.ndarray) -> np.ndarray:
    """Batched Gram matrices of the smaller side: BᵀB (c×c) if c ≤ d, else BBᵀ (d×d)."""
    if B.shape[2] <= B.shape[1]:
        return np.matmul(B.transpose(0, 2, 1), B)
    return np.matmul(B, B.transpose(0, 2, 1))


# a certified dual point must not rely on an underestimated norm: pad by this relative amount
_NORM_PAD = 1e-12


def _dual_norms(G: np.ndarray, vector: bool) -> np.ndarray:
    """Dual block norms of Aᵀz (slightly padded upwards): ova → k×c column ℓ2; nuclear → k spectral."""
    if vector:
        return np.sqrt(np.einsum("kdc,kdc->kc", G, G)) * (1.0 + _NORM_PAD)
    if G.shape[0] == 0:
        return np.zeros(0)
    # largest eigenvalue of the small Gram matrix: relative accuracy ~ machine epsilon
    lam = np.linalg.eigvalsh(_gram(G))[:, -1]
    return np.sqrt(np.maximum(lam, 0.0)) * (1.0 + 1e3 * np.finfo(float).eps + _NORM_PAD)


def _svt(B: np.ndarray, tau: float) -> np.ndarray:
    """Singular-value soft-thresholding of every block of B (k×d×c).

    Uses the eigendecomposition of the small Gram matrix (B·Q f(Λ) Qᵀ with f = (1 − τ/σ)_+), which
    is faster than a batched SVD; blocks whose σ_max exceeds 1e5·τ (where squaring would lose the
    singular values near τ) take the SVD route.
    """
    k, d, c = B.shape
    C = _gram(B)
    lam, Q = np.linalg.eigh(C)
    sig = np.sqrt(np.maximum(lam, 0.0))
    f = np.where(sig > tau, 1.0 - tau / np.maximum(sig, 1e-300), 0.0)
    S = np.matmul(Q * f[:, None, :], Q.transpose(0, 2, 1))
    out = np.matmul(B, S) if c <= d else np.matmul(S, B)
    bad = np.flatnonzero(sig[:, -1] > 1e5 * tau)
    if bad.size:
        U, sv, Vt = np.linalg.svd(B[bad], full_matrices=False)
        out[bad] = np.matmul(U * np.maximum(sv - tau, 0.0)[:, None, :], Vt)
    return out


def _prox(V: np.ndarray, tau: float, vector: bool, free: np.ndarray | None) -> np.ndarray:
    """prox of τ·penalty: group soft-thresholding (ova) or singular-value soft-thresholding."""
    if vector:
        nrm = np.sqrt(np.einsum("kdc,kdc->kc", V, V))
        scale = np.maximum(0.0, 1.0 - tau / np.maximum(nrm, 1e-300))
        if free is not None:
            scale *= free
        return V * scale[:, None, :]
    out = np.zeros_like(V)
    fro = np.sqrt(np.einsum("kdc,kdc->k", V, V))
    idx = np.flatnonzero(fro > tau)  # ‖·‖_2 ≤ ‖·‖_F ≤ τ ⇒ the block is thresholded to 0
    if idx.size:
        out[idx] = _svt(V[idx], tau)
    return out


# --------------------------------------------------------------------------------------------
# argument handling
# --------------------------------------------------------------------------------------------

def _check_mode(mode) -> str:
    if not isinstance(mode, str) or mode.lower() not in MODES:
        raise ParameterError(f"mode must be 'nuclear' or 'ova'; got {mode!r}.")
    return mode.lower()


def _check_inputs(X, Y, patterns):
    X, Y = check_XY(X, Y)
    masks = as_pattern_masks(patterns, X.shape[0])
    if isinstance(patterns, PatternSet) and patterns.d != X.shape[1]:
        raise DataError(f"the patterns' gates have dimension {patterns.d} but X has {X.shape[1]} columns.")
    return X, Y, masks


def _check_tol(tol) -> float:
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not (0 < float(tol) < 1):
        raise ParameterError(f"tol must be a number in (0, 1); got {tol!r}.")
    return float(tol)


def _check_time_limit(time_limit):
    if time_limit is None:
        return None
    if isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real) or not float(time_limit) > 0:
        raise ParameterError(f"time_limit must be a positive number of seconds or None; got {time_limit!r}.")
    return float(time_limit)


def _warm_array(warm_start, d: int, P: int, c: int) -> np.ndarray:
    """Warm start (SolveResult, dict with 'W', or array d×P×c) as a P×d×c stack."""
    W = warm_start
    if isinstance(W, SolveResult):
        W = W.solution.get("W")
    elif isinstance(W, dict):
        W = W.get("W")
    if W is None:
        raise ParameterError("warm_start has no 'W' array.")
    try:
        W = np.asarray(W, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError("warm_start must be a SolveResult, a dict with 'W' or a numeric (d, P, c) "
                             f"array; got {type(warm_start).__name__}.") from None
    if W.ndim == 2 and c == 1:
        W = W[:, :, None]
    if W.shape != (d, P, c):
        raise ParameterError(f"warm_start W must have shape (d, P, c) = {(d, P, c)}; got {W.shape}.")
    if not np.all(np.isfinite(W)):
        raise ParameterError("warm_start W contains NaN or infinite values.")
    return np.ascontiguousarray(W.transpose(1, 0, 2))


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------

def max_reg(X, Y, patterns, mode: str = "nuclear") -> float:
    """Smallest γ for which W = 0 is optimal: max_i ‖(Aᵀ Y)_i‖ in the dual norm of the mode.

    (spectral norm of each d×c block for 'nuclear', largest column ℓ2 norm for 'ova').
    """
    mode = _check_mode(mode)
    X, Y, masks = _check_inputs(X, Y, patterns)
    if masks.shape[1] == 0:
        return 0.0
    G = _Operator(X, masks.astype(np.float64)).adjoint(Y)
    if mode == "ova" or Y.shape[1] == 1:
        return float(np.sqrt(np.einsum("kdc,kdc->kc", G, G)).max())
    return float(np.linalg.svd(G, compute_uv=False)[:, 0].max())


def gated_predict(X, W, patterns) -> np.ndarray:
    """Predictions Σ_i D_i X W_i of a gated model with blocks W (d×P×c).

    ``patterns`` is a PatternSet — its gates define D_i = diag(1[X g_i ≥ 0]) on any rows ``X`` —
    or an explicit n×P mask array for these rows.
    """
    X = as_float_matrix(X, "X")
    if isinstance(patterns, PatternSet):
        masks = patterns.masks_for(X)
    else:
        masks = as_pattern_masks(patterns, X.shape[0])
    W = np.asarray(W, dtype=np.float64)
    if W.ndim == 2:
        W = W[:, :, None]
    if W.ndim != 3 or W.shape[:2] != (X.shape[1], masks.shape[1]):
        raise DataError(f"W must have shape (d, P, c) with d = {X.shape[1]}, P = {masks.shape[1]}; got {W.shape}.")
    return _Operator(X, masks.astype(np.float64)).forward(np.ascontiguousarray(W.transpose(1, 0, 2)))


class GatedNeurons(list):
    """Gated neurons: a list of (u (d,), v (c,), pattern index i) triples.

    The model they represent predicts Σ_j (D_{i_j} X u_j) v_jᵀ; the same data is available as
    arrays through :attr:`U` (d×m), :attr:`V` (c×m) and :attr:`pattern_index` (m,).
    """

    def __init__(self, U: np.ndarray, V: np.ndarray, pattern_index: np.ndarray):
        super().__init__((U[:, j].copy(), V[:, j].copy(), int(pattern_index[j]))
                         for j in range(U.shape[1]))
        self.U = U
        self.V = V
        self.pattern_index = np.asarray(pattern_index, dtype=np.int64)

    @property
    def width(self) -> int:
        """Number of gated neurons m."""
        return int(self.U.shape[1])


def gated_to_neurons(W, patterns=None, mode: str = "nuclear") -> GatedNeurons:
    """Split gated blocks W (d×P×c) into balanced neurons with the same predictions and penalty.

    nuclear: each block's SVD W_i = Σ_k σ_k a_k b_kᵀ gives neurons u = √σ_k a_k, v = √σ_k b_k of
    gate i (singular values below max(d,c)·eps·σ_1 of the block are dropped as numerical zeros).
    ova: each non-zero column w = W_i[:, k] gives u = w/√‖w‖, v = √‖w‖ e_k.
    Then Σ_j u_j v_jᵀ (per gate) = W_i and Σ_j ½(‖u_j‖² + ‖v_j‖²) equals the nuclear / group norm.
    ``patterns`` (PatternSet or masks), if given, is used to check P; a PatternSet also orients
    each neuron, (u, v) → (−u, −v) (same gated term), so that g_iᵀu ≥ 0 for its gate g_i — then a
    neuron that lies in its cone K_i is a ReLU neuron with (Xu)_+ = D_i X u.
    """
    mode = _check_mode(mode)
    W = np.asarray(W, dtype=np.float64)
    if W.ndim == 2:
        W = W[:, :, None]
    if W.ndim != 3:
        raise DataError(f"W must be a d×P×c array; got shape {W.shape}.")
    d, P, c = W.shape
    if patterns is not None:
        Pp = patterns.n_patterns if isinstance(patterns, PatternSet) else np.asarray(patterns).shape[-1]
        if Pp != P:
            raise DataError(f"W has {P} blocks but there are {Pp} patterns.")
    Us, Vs, idx = [], [], []
    if mode == "ova" or c == 1:
        nrm = np.linalg.norm(W, axis=0)  # P × c
        ii, kk = np.nonzero(nrm > 0)
        for i, k in zip(ii, kk):
            r = np.sqrt(nrm[i, k])
            Us.append(W[:, i, k] / r)
            v = np.zeros(c)
            v[k] = r
            Vs.append(v)
            idx.append(i)
    else:
        for i in range(P):
            B = W[:, i, :]
            if not np.any(B):
                continue
            a, s, bt = np.linalg.svd(B, full_matrices=False)
            keep = s > max(d, c) * np.finfo(float).eps * s[0]
            for k in np.flatnonzero(keep):
                r = np.sqrt(s[k])
                Us.append(r * a[:, k])
                Vs.append(r * bt[k])
                idx.append(i)
    if not Us:
        return GatedNeurons(np.zeros((d, 0)), np.zeros((c, 0)), np.zeros(0, dtype=np.int64))
    U, V, idx = np.stack(Us, axis=1), np.stack(Vs, axis=1), np.asarray(idx, dtype=np.int64)
    if isinstance(patterns, PatternSet):
        if patterns.d != d:
            raise DataError(f"W has d = {d} rows but the gates have dimension {patterns.d}.")
        flip = np.einsum("dm,dm->m", U, patterns.gates[:, idx]) < 0
        U[:, flip] *= -1.0
        V[:, flip] *= -1.0
    return GatedNeurons(U, V, idx)


ALGORITHMS = ("auto", "fista", "admm")
# ADMM factorises an m×m matrix, m = min(n, P·d); "auto" uses it up to this size.
_ADMM_MAX_FACTOR = 3000


def solve_gated(
    X,
    Y,
    reg: float,
    patterns,
    *,
    mode: str = "nuclear",
    tol: float = 1e-6,
    max_iter: int = 10_000,
    time_limit: float | None = None,
    warm_start=None,
    callback=None,
    algorithm: str = "auto",
    check_every: int = 10,
    screening: bool = True,
    rho: float | None = None,
    anderson: int = 0,
) -> SolveResult:
    """Solve the gated-ReLU relaxation (C-GReLU) to relative duality gap ``tol``.

    Parameters
    ----------
    X : (n, d) design matrix (ones column already appended for a bias).
    Y : (n, c) targets.
    reg : γ > 0, the NN-TRAIN weight-decay strength (penalty γ Σ‖W_i‖, see the module docstring).
    patterns : PatternSet or n×P boolean masks.
    mode : 'nuclear' (Σ‖W_i‖_*, the exact vector-output gated form) or 'ova' (one-vs-all: Σ column
        ℓ2 norms, the c outputs are independent group lassos). Identical when c = 1.
    tol : stop when (primal − dual)/primal ≤ tol at a checkpoint (every ``check_every`` iterations).
    max_iter, time_limit : iteration cap and wall-clock limit in seconds (status 'max_iter' /
        'time_limit'); Ctrl-C returns the current point with status 'interrupted'.
    warm_start : SolveResult, dict with 'W', or a d×P×c array (same patterns).
    callback : called with the checkpoint dict; returning True stops (status 'interrupted').
    algorithm : 'fista', 'admm' or 'auto' (ADMM when the m×m matrix it factorises, m = min(n, P·d),
        has m ≤ 3000, else FISTA). Both use the same certificate and stopping rule.
    screening : gap-safe screening — blocks proven zero at the optimum are dropped (exact).
    rho : initial ADMM penalty (default: a scale-aware guess, then adapted by residual balancing).
    anderson : ADMM only — memory of safeguarded Anderson acceleration of the (V, U) fixed-point
        map (0 = off, the default; on MNIST-PCA it saved up to 40 % of the iterations at γ = 0.1
        but little elsewhere, at ~25 % more work per iteration).

    Algorithms
    ----------
    FISTA (Beck–Teboulle momentum) on the P×d×c block stack, step 1/L with L from a power
    iteration on AᵀA and backtracking (‖A(x⁺ − y)‖² ≤ L‖x⁺ − y‖²), gradient-based adaptive
    restart (O'Donoghue–Candès). Cheap per iteration, but its rate depends on the conditioning of
    A, which is poor when the patterns overlap heavily (e.g. MNIST: ‖A‖² ≈ 1.6e5 vs a bulk of the
    spectrum in the hundreds), so at small γ it can need 10⁴–10⁵ iterations.
    ADMM splits W = V: the W-step solves (AᵀA + ρI)W = b exactly through a Cholesky factor of
    ρI + AAᵀ (n×n, AAᵀ = (XXᵀ)∘(MMᵀ)) or of ρI + AᵀA (Pd×Pd), whichever is smaller, with the
    Woodbury identity; the V-step is the prox. Over-relaxation 1.6, ρ adapted by residual balancing.
    It is insensitive to the conditioning of A and is the faster method on such data.

    Certificate
    -----------
    With residual R = AW − Y the dual is max_z −½‖z‖² − ⟨z, Y⟩ s.t. ‖(Aᵀz)_i‖_dual ≤ γ (column ℓ2
    for ova, spectral for nuclear); z = sR with s ∈ [0, γ/max_i‖(AᵀR)_i‖] maximising the dual (per
    column for ova) is feasible, so its value is a certified lower bound on the gated optimum at
    every checkpoint. ``lower_bound`` is the best such value seen, ``value`` the primal objective
    of the returned W. The gated optimum itself is not a bound on the ReLU training problem when
    patterns are sampled. Note the dual gap shrinks only like ‖R − R*‖ ≈ √(primal error) (times
    ‖D_iX‖/γ), so a gap of 1e-6 at small γ needs a primal point accurate to near machine
    precision — reachable by the linearly convergent ADMM, rarely by FISTA.

    Measured (MNIST-PCA train, n = 1000, d = 20, c = 10, 500 Gaussian gates, γ ∈ {0.1, 0.01},
    both modes, gap 1e-6): ADMM 240–370 iterations, 3.5–7 s on one busy core; FISTA does not
    reach the gap in 2000 iterations (6 % at γ = 0.1).

    Returns a SolveResult (method 'gated') with ``solution['W']`` (d×P×c), ``solution['dual']`` (the
    dual-feasible point z, n×c, whose dual value is ``lower_bound``) and ``info`` n_patterns,
    n_active, mode, algorithm, restarts, relative_gap, n_screened, ...
    """
    t0 = time.perf_counter()
    mode = _check_mode(mode)
    X, Y, masks = _check_inputs(X, Y, patterns)
    reg = check_reg(reg)
    tol = _check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    check_every = check_positive_int(check_every, "check_every")
    time_limit = _check_time_limit(time_limit)
    if callback is not None and not callable(callback):
        raise ParameterError("callback must be callable or None.")
    if not isinstance(algorithm, str) or algorithm.lower() not in ALGORITHMS:
        raise ParameterError(f"algorithm must be one of {', '.join(ALGORITHMS)}; got {algorithm!r}.")
    algorithm = algorithm.lower()
    if rho is not None:
        rho = check_reg(rho, "rho")
    anderson = check_positive_int(anderson, "anderson", minimum=0)
    screening = check_flag(screening, "screening")
    n, d = X.shape
    c = Y.shape[1]
    P = masks.shape[1]
    W0 = _warm_array(warm_start, d, P, c) if warm_start is not None else np.zeros((P, d, c))
    m_fac = min(n, P * d)
    if algorithm == "auto":
        algorithm = "admm" if 0 < m_fac <= _ADMM_MAX_FACTOR else "fista"
    # the ADMM's Gram matrix and its factor, plus 1.25 of its size of scratch above BLAS_TILE_MAX
    fac = (2.0 + 1.25 * (m_fac > _linalg.BLAS_TILE_MAX)) * m_fac * m_fac
    check_memory(8.0 * (2 * n * P + 14 * P * d * c + 4 * n * d * c + n * d * d + 4 * n * c
                        + (fac + 4 * anderson * P * d * c if algorithm == "admm" else 0)),
                 f"the gated solver ({algorithm})")
    # One BLAS thread unless the products are large: at MNIST size (n·P·d·c = 1e8) two threads
    # were 3-6× slower than one on a busy shared 2-core machine (threads spin-waiting for cores).
    with blas_threads(n * max(P, 1) * d * c, threshold=1_000_000_000):
        state = _State(X, Y, reg, masks, W0, mode, bool(screening), t0, callback, tol)
        if algorithm == "admm":
            _admm(state, max_iter=max_iter, time_limit=time_limit, check_every=check_every, rho=rho,
                  anderson=anderson)
        else:
            _fista(state, max_iter=max_iter, time_limit=time_limit, check_every=check_every)
        return state.result(algorithm)


class _State:
    """Everything both loops share: active set, certificate (best dual), history, status."""

    def __init__(self, X, Y, reg, masks, W0, mode, screening, t0, callback, tol):
        self.X, self.Y, self.reg, self.mode = X, Y, reg, mode
        self.n, self.d = X.shape
        self.c = Y.shape[1]
        self.P = masks.shape[1]
        self.vector = mode == "ova" or self.c == 1
        self.ncol = self.c if self.vector else 1
        self.full = _Operator(X, masks.astype(np.float64))
        self.screening = screening
        self.opnorm = self.full.block_opnorms() if screening else None
        self.active = np.arange(self.P)
        self.op = self.full
        self.free = np.ones((self.P, self.c), dtype=bool) if self.vector else None
        self.x = W0.copy()
        self.best_dual = np.full(self.ncol, -np.inf)
        self.history: list[dict] = []
        self.primal = np.nan
        self.lower = -np.inf
        self.z = None
        self.t0, self.callback, self.tol = t0, callback, tol
        self.status = "max_iter"
        self.iterations = 0
        self.restarts = 0
        self.extra: dict = {}

    def _cols(self, A):
        return A if self.vector else A.sum(keepdims=True)

    def checkpoint(self, x, Ax, it, final: bool = False, **fields):
        """Primal value, certified dual bound, gap and screening at iterate x (active stack).

        Returns (stop, newly) where stop says the loop must end (tolerance or callback) and
        newly is the boolean screening mask (P×c for ova, P for nuclear) or None. At the
        ``final`` checkpoint the status only changes from 'max_iter' to 'optimal' (gap ≤ tol).
        """
        reg, Y = self.reg, self.Y
        R = Ax - Y
        rr = self._cols(np.einsum("nc,nc->c", R, R))
        ry = self._cols(np.einsum("nc,nc->c", R, Y))
        primal_cols = 0.5 * rr + reg * _penalty(x, self.vector)
        G = self.full.adjoint(R)  # every block: dual feasibility involves all of them
        dn = _dual_norms(G, self.vector)
        mx = np.atleast_1d(dn.max(axis=0)) if self.P else np.zeros(self.ncol)
        with np.errstate(divide="ignore", invalid="ignore"):
            s_max = np.where(mx > 0, reg / mx, np.inf)
            s_opt = np.where(rr > 0, -ry / np.where(rr > 0, rr, 1.0), 0.0)
        s = np.clip(s_opt, 0.0, s_max)
        yy = self._cols(np.einsum("nc,nc->c", Y, Y))
        # rounded down (|⟨R, Y⟩| ≤ ‖R‖‖Y‖ per column): tight at p*, unrounded it can exceed it
        dual_cols = round_down(-0.5 * s * s * rr - s * ry, 0.5 * s * s * rr + s * np.sqrt(rr * yy), Y.size)
        better = dual_cols > self.best_dual
        if np.any(better):  # keep the dual point of the best bound (per column for ova)
            z = R * (s if self.vector else s[0])
            if self.z is None:
                self.z = z
            elif self.vector:
                self.z[:, better] = z[:, better]
            else:
                self.z = z
            self.best_dual = np.where(better, dual_cols, self.best_dual)
        self.primal = float(primal_cols.sum())
        self.lower = float(self.best_dual.sum())
        gap = (self.primal - self.lower) / max(abs(self.primal), 1e-300)
        self.iterations = it
        newly = None
        if self.screening and self.P:
            radius = np.sqrt(2.0 * np.maximum(primal_cols - dual_cols, 0.0))  # ≥ ‖z − z*‖
            if self.vector:
                newly = s[None, :] * dn + radius[None, :] * self.opnorm[:, None] < reg * (1.0 - 1e-9)
            else:
                newly = s[0] * dn + radius[0] * self.opnorm < reg * (1.0 - 1e-9)
        rec = {"iteration": it, "time_s": time.perf_counter() - self.t0, "value": self.primal,
               "primal": self.primal, "dual": float(dual_cols.sum()), "lower_bound": self.lower,
               "gap": gap, "n_active": int(self.active.size), "restarts": self.restarts}
        rec.update(fields)
        self.history.append(rec)
        if final:
            if self.callback is not None:
                self.callback(rec)
            if gap <= self.tol and self.status == "max_iter":
                self.status = "optimal"
            return True, None
        if self.callback is not None and self.callback(rec):
            self.status = "interrupted"
            return True, None
        if gap <= self.tol:
            self.status = "optimal"
            return True, None
        return False, newly

    def screen(self, newly, *stacks):
        """Apply a screening mask: zero screened groups, drop screened blocks from every stack.

        Returns (stacks, dropped): the updated stacks (None when nothing changed) and whether
        whole blocks were removed from the operator.
        """
        if newly is None:
            return None, False
        if self.vector:
            keep_groups = ~newly[self.active]
            if not np.any(self.free & ~keep_groups):
                return None, False
            self.free = self.free & keep_groups
            keep = np.any(self.free, axis=1)
            # the primal stack (first) gets its screened groups zeroed; others (ADMM's U) are kept
            stacks = [stacks[0] * self.free[:, None, :], *stacks[1:]]
        else:
            keep = ~newly[self.active]
        if np.all(keep):
            return (stacks if self.vector else None), False
        self.active = self.active[keep]
        self.op = self.op.restrict(keep)
        if self.vector:
            self.free = self.free[keep]
        return [np.ascontiguousarray(s[keep]) for s in stacks], True

    def finish(self, x, it):
        """Final checkpoint at the returned point unless the last one was already there."""
        self.x = x
        if self.history and self.history[-1]["iteration"] == it:
            return
        try:
            self.checkpoint(x, self.op.forward(x), it, final=True)
        except KeyboardInterrupt:
            self.status = "interrupted"

    def result(self, algorithm) -> SolveResult:
        P, d, c = self.P, self.d, self.c
        W = np.zeros((P, d, c))
        W[self.active] = self.x
        n_active = int(np.count_nonzero(np.any(W != 0, axis=(1, 2))))
        gap = (self.primal - self.lower) / max(abs(self.primal), 1e-300)
        info = {"n_patterns": int(P), "n_active": n_active, "mode": self.mode,
                "algorithm": algorithm, "restarts": int(self.restarts),
                "relative_gap": float(gap), "reg": float(self.reg),
                "n_screened": int(P - self.active.size)}
        info.update(self.extra)
        return SolveResult(
            method="gated",
            value=float(self.primal),
            lower_bound=float(self.lower),
            status=self.status,
            iterations=int(self.iterations),
            time_s=time.perf_counter() - self.t0,
            history=self.history,
            solution={"W": np.ascontiguousarray(W.transpose(1, 0, 2)), "dual": self.z},
            info=info,
        )


def _elapsed(st, time_limit):
    return time_limit is not None and time.perf_counter() - st.t0 >= time_limit


def _fista(st: _State, *, max_iter, time_limit, check_every) -> None:
    """FISTA with backtracking, gradient restart and gap-safe screening (see solve_gated)."""
    d, c, n, Y, reg, vector = st.d, st.c, st.n, st.Y, st.reg, st.vector
    x = st.x
    it = 0

    def lipschitz():
        L, _ = st.op.lipschitz()
        return 1.02 * L if L > 0 else 1.0

    L = lipschitz()
    k_at_estimate = st.active.size
    try:
        Ax = st.op.forward(x)
        stop, newly = st.checkpoint(x, Ax, 0, step=1.0 / L)
        if stop:
            st.finish(x, 0)
            return
        xs, _ = st.screen(newly, x)
        if xs is not None:
            (x,) = xs
            Ax = st.op.forward(x)
        if st.active.size < 0.75 * k_at_estimate:
            L, k_at_estimate = lipschitz(), st.active.size
        y, Ay, t = x, Ax, 1.0
        for it in range(1, max_iter + 1):
            if st.active.size == 0:
                x, Ax = np.zeros((0, d, c)), np.zeros((n, c))
            else:
                g = st.op.adjoint(Ay - Y)
                while True:
                    x_new = _prox(y - g / L, reg / L, vector, st.free)
                    Ax_new = st.op.forward(x_new)
                    dx = x_new - y
                    dA = Ax_new - Ay
                    lhs = float(np.vdot(dA, dA))
                    nx = float(np.vdot(dx, dx))
                    if lhs <= L * nx * (1.0 + 1e-9) or nx == 0.0:
                        break
                    L = max(2.0 * L, lhs / nx)
                # adaptive restart: the momentum step points against the gradient-mapping step
                if float(np.vdot(y - x_new, x_new - x)) > 0.0:
                    st.restarts += 1
                    t = 1.0
                    y, Ay = x_new, Ax_new
                else:
                    t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
                    beta = (t - 1.0) / t_new
                    y = x_new + beta * (x_new - x)
                    Ay = Ax_new + beta * (Ax_new - Ax)
                    t = t_new
                x, Ax = x_new, Ax_new
            if it % check_every == 0 or it == max_iter:
                stop, newly = st.checkpoint(x, Ax, it, step=1.0 / L)
                if stop:
                    break
                xs, _ = st.screen(newly, x)
                if xs is not None:
                    (x,) = xs
                    Ax = st.op.forward(x)
                    y, Ay, t = x, Ax, 1.0
                    if st.active.size < 0.75 * k_at_estimate:
                        L, k_at_estimate = lipschitz(), st.active.size
            if _elapsed(st, time_limit):
                st.status = "time_limit"
                break
    except KeyboardInterrupt:
        st.status = "interrupted"
    st.extra["lipschitz"] = float(L)
    st.finish(x, it)


class _WoodburySolver:
    """Solves (AᵀA + ρI) W = b for the active operator, by Cholesky in the smaller space."""

    def __init__(self, op: _Operator, rho: float):
        self.op = op
        n, d, k = op.n, op.d, op.k
        self.dual_space = n <= k * d
        if self.dual_space:
            self.G = gram(op.X) * gram(op.M)  # AAᵀ = (XXᵀ)∘(MMᵀ), n×n (tiled when large)
        else:  # AᵀA, (kd)×(kd), accumulated over row chunks of the n×kd matrix [D_1X … D_kX]
            self.G = np.zeros((k * d, k * d))
            step = max(1, 4_000_000 // max(k * d, 1))
            for s in range(0, n, step):
                Xe = (op.M[s:s + step, :, None] * op.X[s:s + step, None, :]).reshape(-1, k * d)
                self.G += gram(Xe.T)
        self.set_rho(rho)

    def set_rho(self, rho: float) -> None:
        self.rho = rho
        Gr = self.G.copy()
        Gr[np.diag_indices_from(Gr)] += rho
        self.factor = (cholesky_in_place(Gr), False)  # by tiles where OpenBLAS's potrf crashed

    def step(self, AtY: np.ndarray, Y: np.ndarray, D: np.ndarray) -> np.ndarray:
        """W = (AᵀA + ρI)⁻¹(AᵀY + ρD), the ADMM W-step (D = V − U).

        In the n-space form W = D + Aᵀ(ρI + AAᵀ)⁻¹(Y − A D) (push-through + Woodbury): no division
        by ρ, so no cancellation of large terms when ρ is small compared with ‖A‖².
        """
        import scipy.linalg as sla

        if self.dual_space:
            t = sla.cho_solve(self.factor, Y - self.op.forward(D), check_finite=False)
            return D + self.op.adjoint(t)
        b = AtY + self.rho * D
        k, d, c = b.shape
        return sla.cho_solve(self.factor, b.reshape(k * d, c), check_finite=False).reshape(k, d, c)


def _default_rho(st: _State) -> float:
    """Initial ADMM penalty: 10 × (mean diagonal curvature of AᵀA) × γ/γ_max.

    Scale-aware (ρ ∝ ‖X‖², like AᵀA) and proportional to γ (the prox threshold γ/ρ then stays
    comparable to the block norms); the factor 10 is empirical (MNIST-PCA, random data), and
    residual balancing corrects the value during the run.
    """
    Mf = st.full.M
    curv = float(np.einsum("np,n->", Mf, np.einsum("nd,nd->n", st.X, st.X))) / max(st.P * st.d, 1)
    G = st.full.adjoint(st.Y)
    gmax = float(np.max(_dual_norms(G, st.vector))) if st.P else 1.0
    ratio = st.reg / gmax if gmax > 0 else 1.0
    return max(10.0 * curv * min(1.0, ratio), 1e-12 * max(curv, 1e-300))


class _Anderson:
    """Type-II Anderson acceleration of a fixed-point map x ↦ T(x), memory m, ring buffers.

    Keeps the last m differences of residuals g = T(x) − x and of map values with their Gram
    matrix (updated in O(m·N) per step) and returns T(x) − ΔT γ, γ = argmin ‖g − ΔG γ‖.
    """

    def __init__(self, m: int, size: int):
        self.m = m
        self.dG = np.zeros((m, size))
        self.dT = np.zeros((m, size))
        self.H = np.zeros((m, m))
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.pos = 0
        self.prev_g = self.prev_T = None

    def step(self, x: np.ndarray, Tx: np.ndarray) -> np.ndarray:
        g = Tx - x
        if self.prev_g is not None:
            j = self.pos
            self.dG[j] = g - self.prev_g
            self.dT[j] = Tx - self.prev_T
            row = self.dG @ self.dG[j]
            self.H[j, :] = row
            self.H[:, j] = row
            self.pos = (j + 1) % self.m
            self.count = min(self.count + 1, self.m)
        self.prev_g, self.prev_T = g, Tx
        k = self.count
        if k == 0:
            return Tx
        idx = np.arange(k) if k < self.m else np.arange(self.m)
        H = self.H[np.ix_(idx, idx)]
        rhs = self.dG[idx] @ g
        lam = 1e-10 * max(float(np.trace(H)), 1e-300)
        try:
            gam = np.linalg.solve(H + lam * np.eye(len(idx)), rhs)
        except np.linalg.LinAlgError:
            self.reset()
            return Tx
        return Tx - gam @ self.dT[idx]


def _admm(st: _State, *, max_iter, time_limit, check_every, rho=None, anderson: int = 0) -> None:
    """ADMM (W = V split, exact W-step by Cholesky/Woodbury, prox V-step), see solve_gated.

    The iteration is a fixed-point map on the pair (V, U); with ``anderson`` > 0 it is
    extrapolated by safeguarded Anderson acceleration (accepted while the fixed-point residual
    does not grow by more than 50 %, memory cleared on every change of ρ or of the active set).
    """
    Y, reg, vector = st.Y, st.reg, st.vector
    alpha = 1.6
    V = st.x
    it = 0
    n_refactor = 0
    n_aa_resets = 0
    try:
        AV = st.op.forward(V)
        stop, newly = st.checkpoint(V, AV, 0)
        if stop:
            st.finish(V, 0)
            return
        vs, _ = st.screen(newly, V)
        if vs is not None:
            (V,) = vs
        if rho is None:
            rho = _default_rho(st)
        solver = _WoodburySolver(st.op, rho)
        AtY = st.op.adjoint(Y)
        # the multiplier consistent with V at a fixed point: ρU = −Aᵀ(AV − Y)
        U = (AtY - st.op.adjoint(st.op.forward(V))) / rho if st.active.size else np.zeros_like(V)
        acc = _Anderson(anderson, 2 * V.size) if anderson > 0 and V.size else None
        res_prev = np.inf
        Vp = V  # the latest prox output: the primal iterate that is certified and returned
        r_p = r_d = np.nan
        for it in range(1, max_iter + 1):
            if st.active.size == 0:
                V = U = Vp = np.zeros((0, st.d, st.c))
            else:
                W = solver.step(AtY, Y, V - U)
                Wh = alpha * W + (1.0 - alpha) * V
                Vp_old = Vp
                Vp = _prox(Wh + U, reg / rho, vector, st.free)
                Up = U + Wh - Vp
                if acc is not None:
                    x = np.concatenate([V.ravel(), U.ravel()])
                    Tx = np.concatenate([Vp.ravel(), Up.ravel()])
                    res = float(np.linalg.norm(Tx - x))
                    if res <= 1.5 * res_prev:
                        z = acc.step(x, Tx)
                    else:
                        acc.reset()
                        n_aa_resets += 1
                        z = acc.step(x, Tx)  # memory empty: plain step
                    res_prev = res
                    V = z[: Vp.size].reshape(Vp.shape)
                    U = z[Vp.size:].reshape(Vp.shape)
                else:
                    V, U = Vp, Up
            if it % check_every == 0 or it == max_iter:
                AV = st.op.forward(Vp)
                if st.active.size:
                    scale = max(np.linalg.norm(W), np.linalg.norm(Vp), 1e-300)
                    r_p = float(np.linalg.norm(W - Vp)) / scale
                    r_d = float(np.linalg.norm(Vp - Vp_old)) / max(float(np.linalg.norm(Up)), 1e-300)
                stop, newly = st.checkpoint(Vp, AV, it, step=1.0 / rho, rho=rho,
                                            primal_residual=r_p, dual_residual=r_d)
                if stop:
                    break
                vs, dropped = st.screen(newly, Vp, Up)
                changed = vs is not None
                if changed:
                    Vp, Up = vs
                    V, U = Vp, Up
                if dropped:
                    AtY = st.op.adjoint(Y)
                # residual balancing: ρ ← ρ·√(r_p/r_d) when they are far apart
                if st.active.size and np.isfinite(r_p) and r_p > 0:
                    ratio = np.sqrt(r_p / r_d) if r_d > 0 else 10.0  # V stuck at 0: ρ too small
                    if ratio > 5.0 or ratio < 0.2:
                        new_rho = rho * float(np.clip(ratio, 0.01, 100.0))
                        V, U = Vp, Up * (rho / new_rho)  # keep the unscaled multiplier ρU
                        Up = U
                        rho = new_rho
                        changed = True
                if st.active.size and dropped:
                    solver = _WoodburySolver(st.op, rho)
                    n_refactor += 1
                elif st.active.size and rho != solver.rho:
                    solver.set_rho(rho)
                    n_refactor += 1
                if changed and anderson > 0:
                    acc = _Anderson(anderson, 2 * V.size) if V.size else None
                    res_prev = np.inf
            if _elapsed(st, time_limit):
                st.status = "time_limit"
                break
    except KeyboardInterrupt:
        st.status = "interrupted"
    st.extra["rho"] = float(rho) if rho is not None else None
    st.extra["n_factorizations"] = n_refactor + 1
    if anderson > 0:
        st.extra["anderson_resets"] = n_aa_resets
    st.finish(Vp, it)


def regularization_path(
    X,
    Y,
    regs,
    patterns,
    *,
    mode: str = "nuclear",
    tol: float = 1e-6,
    max_iter: int = 10_000,
    time_limit: float | None = None,
    callback=None,
    algorithm: str = "auto",
    screening: bool = True,
) -> list[SolveResult]:
    """Solve the gated problem for several γ, largest first, each warm-started from the previous.

    Returns the results in the caller's order of ``regs``. ``time_limit`` applies to each solve;
    the other options are passed to :func:`solve_gated`.
    """
    mode = _check_mode(mode)
    X, Y, masks = _check_inputs(X, Y, patterns)
    try:
        regs_arr = np.asarray(regs, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"regs must be a sequence of positive numbers: {exc}") from None
    if regs_arr.size == 0:
        raise ParameterError("regs is empty.")
    for r in regs_arr:
        check_reg(float(r), "each reg")
    order = np.argsort(-regs_arr, kind="stable")
    out: list[SolveResult | None] = [None] * regs_arr.size
    warm = None
    for j in order:
        res = solve_gated(X, Y, float(regs_arr[j]), masks, mode=mode, tol=tol, max_iter=max_iter,
                          time_limit=time_limit, warm_start=warm, callback=callback,
                          algorithm=algorithm, screening=screening)
        out[j] = res
        warm = res
    return out  # type: ignore[return-value]
