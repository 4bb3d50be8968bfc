"""Sahiner et al. [S21]: the non-negative-PCA oracle, Frank–Wolfe and the copositive relaxation.

Background (our derivation; SPEC §1 scaling). At balance a neuron (u, v) costs γ‖u‖‖v‖, so for
infinite width (m ≥ m*) NN-TRAIN is the atomic-norm problem

    p* = min_Z ½‖Z − Y‖² + γ ρ_C(Z),   C = conv{(Xu)_+ vᵀ : ‖u‖₂ ≤ 1, ‖v‖₂ ≤ 1},

whose value is ≤ p*(m) for every width m. Its Fenchel dual is

    max_Γ ⟨Γ, Y⟩ − ½‖Γ‖²   s.t.   σ(Γ) := max_{‖u‖≤1} ‖Γᵀ(Xu)_+‖₂ ≤ γ,

so any Γ, scaled by s ≤ min(1, γ/σ(Γ)), gives a lower bound s⟨Γ, Y⟩ − ½s²‖Γ‖² ≤ p* — provided
σ(Γ) is computed exactly. Evaluating σ is the linear-minimisation oracle of Frank–Wolfe: a
non-negative-PCA problem, over each activation cone K_D = {u : (2D − I)Xu ≥ 0} the maximisation
of uᵀ(XᵀD Γ Γᵀ D X)u on the unit sphere. :func:`nonneg_pca_oracle` solves it exactly for d ≤ 4
(recursive reduction over the faces of the hyperplane arrangement) and heuristically otherwise.

The copositive relaxation (SPEC §5, [S21]) is the Lagrange dual of the same dual problem in
which "γ²I − XᵀDΓΓᵀDX copositive on K_D" is tightened to "PSD + Xᵀ(2D−I) N (2D−I)X, N ≥ 0"; its
value is therefore on the NN-TRAIN scale and, with *all* activation patterns, a lower bound on
p* (exact for d = 2, where cones are two-dimensional; see :func:`copositive_relaxation`).
"""

from __future__ import annotations

import math
import numbers
import time
import warnings

import numpy as np
import scipy.linalg
from scipy.optimize import nnls

from .._validation import (as_float_matrix, as_generator, blas_threads, check_memory, check_positive_int,
                           check_reg, check_XY)
from ..errors import DataError, MemoryEstimateError, ParameterError, SolverUnavailableError
from ..problem import TrainingProblem
from ..result import SolveResult, round_down

__all__ = [
    "nonneg_pca_oracle",
    "all_activation_patterns",
    "frank_wolfe",
    "copositive_relaxation",
]

# Two hyperplanes whose normals make an angle below this (radians) are treated as identical, and a
# row whose component off a hyperplane's normal is below this (relative) is treated as parallel.
_PARALLEL_TOL = 1e-9
_ZERO_ROW_TOL = 1e-14
# the exact oracle enumerates all O(n^(d−1)) activation cones (≈ 0.3 s for 5,000 cones at d = 4)
_MAX_EXACT_DIM = 4
_MAX_EXACT_CELLS = 30_000
# candidates a sub-problem passes up: its maximiser (a few, to absorb ties and rounding)
_KEEP = 4


# ============================================================================ the oracle


def _oracle_values(X: np.ndarray, G: np.ndarray, C: np.ndarray) -> np.ndarray:
    """‖Gᵀ(X u)_+‖ for every (unit) column u of C."""
    return np.linalg.norm(G.T @ np.maximum(X @ C, 0.0), axis=0)


def _top_right_vectors(X: np.ndarray, G: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """Top eigenvectors of XᵀD G GᵀD X for each column (pattern D) of ``patterns`` (k×S)."""
    A = (patterns.T[:, None, :] * G.T[None, :, :]) @ X  # S×c×k: Gᵀ D_s X
    _, _, Vh = np.linalg.svd(A)
    return Vh[:, 0, :].T


def _exact_2d(X2: np.ndarray, G: np.ndarray):
    """Candidates and sector points for d = 2: sectors of the line arrangement, exactly.

    Within a sector (constant pattern D) the objective is the quadratic form uᵀM_D u on an arc,
    maximised at M_D's top eigenvector if it lies in the arc, else at an arc end (a breakpoint).
    All sector eigenvectors (±) and all breakpoints form a superset of these maximisers, so the
    best of them by the true objective is the maximum (no membership test needed).
    """
    nr = np.linalg.norm(X2, axis=1)
    mx = nr.max()
    nz = nr > _ZERO_ROW_TOL * mx if mx > 0 else np.zeros(len(nr), bool)
    if not np.any(nz):
        e = np.array([[1.0], [0.0]])
        return e, e
    phi = np.arctan2(X2[nz, 1], X2[nz, 0])
    bp = np.sort(np.mod(np.concatenate([phi + 0.5 * np.pi, phi - 0.5 * np.pi]), 2.0 * np.pi))
    keep = np.ones(len(bp), bool)
    keep[1:] = np.diff(bp) > _PARALLEL_TOL
    bp = bp[keep]
    if len(bp) > 1 and bp[0] + 2.0 * np.pi - bp[-1] <= _PARALLEL_TOL:
        bp = bp[:-1]
    nxt = np.append(bp[1:], bp[0] + 2.0 * np.pi)
    mids = 0.5 * (bp + nxt)
    P = np.vstack([np.cos(mids), np.sin(mids)])
    pat = (X2 @ P) > 0
    A = (pat.T[:, None, :] * G.T[None, :, :]) @ X2  # S×c×2: Gᵀ D_s X
    M = np.swapaxes(A, 1, 2) @ A
    psi = 0.5 * np.arctan2(2.0 * M[:, 0, 1], M[:, 0, 0] - M[:, 1, 1])
    E = np.vstack([np.cos(psi), np.sin(psi)])
    B = np.vstack([np.cos(bp), np.sin(bp)])
    return _best_columns(X2, G, np.hstack([E, -E, B])), P


def _best_columns(Xk: np.ndarray, G: np.ndarray, C: np.ndarray, keep: int = _KEEP) -> np.ndarray:
    """The ``keep`` candidate columns with the largest objective on this flat's data."""
    if C.shape[1] <= keep:
        return C
    vals = _oracle_values(Xk, G, C)
    return C[:, np.argpartition(vals, -keep)[-keep:]]


def _unique_columns(pat: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct boolean column of ``pat``."""
    packed = np.ascontiguousarray(np.packbits(pat, axis=0).T)
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first = np.unique(keys, return_index=True)
    return np.sort(first)


def _distinct_normals(Xk: np.ndarray, nr: np.ndarray, nz: np.ndarray) -> list[int]:
    """Indices of one representative row per distinct hyperplane {u : x_iᵀu = 0}."""
    idx = np.flatnonzero(nz)
    Xn = Xk[idx] / nr[idx, None]
    covered = np.zeros(len(idx), bool)
    reps = []
    for a in range(len(idx)):
        if covered[a]:
            continue
        reps.append(idx[a])
        off = Xn - np.outer(Xn @ Xn[a], Xn[a])
        covered |= np.linalg.norm(off, axis=1) <= _PARALLEL_TOL
    return reps


def _exact_rec(Xk: np.ndarray, G: np.ndarray):
    """(best candidates k×≤4, interior points k×S of the full-dimensional cells) for data Xk in R^k.

    The maximiser of f(u) = ‖Gᵀ(Xu)_+‖ on the sphere lies in the relative interior of a cell of
    some flat of the arrangement. If that flat is R^k, u is a local — hence global — maximiser of
    the quadratic uᵀM_D u on the sphere, i.e. a top eigenvector of M_D for the cell's pattern D;
    otherwise it lies on some hyperplane H, and the problem restricted to H is the same problem
    in dimension k − 1 (data X B_H). Full-dimensional cells are found from the cells of each H
    (every cell has a facet), by stepping off H to either side. A global maximiser lying on H
    also maximises the restriction to H, so each sub-problem only passes up its best candidates.
    """
    n, k = Xk.shape
    if k == 1:
        e = np.array([[1.0, -1.0]])
        return e, e
    if k == 2:
        return _exact_2d(Xk, G)
    nr = np.linalg.norm(Xk, axis=1)
    mx = nr.max()
    nz = nr > _ZERO_ROW_TOL * mx if mx > 0 else np.zeros(n, bool)
    if not np.any(nz):
        e = np.zeros((k, 1))
        e[0, 0] = 1.0
        return e, e
    cands, pts, pats = [], [], []
    safe_nr = np.where(nz, nr, 1.0)
    for i in _distinct_normals(Xk, nr, nz):
        h = Xk[i] / nr[i]
        B = np.linalg.qr(h[:, None], mode="complete")[0][:, 1:]  # orthonormal basis of H
        Xc = Xk @ B
        par = (np.linalg.norm(Xc, axis=1) <= _PARALLEL_TOL * safe_nr) | ~nz
        Xc[par] = 0.0
        c_sub, p_sub = _exact_rec(Xc, G)
        cands.append(B @ c_sub)
        P = B @ p_sub  # interior points of the cells of H (relative to the other hyperplanes)
        proj = Xk @ P
        hx = Xk @ h
        use = ~par & (np.abs(hx) > 0)
        if np.any(use):
            ratio = np.abs(proj[use]) / np.abs(hx[use])[:, None]
            eps = 0.5 * np.minimum(1.0, ratio.min(axis=0))
        else:
            eps = np.full(P.shape[1], 0.5)
        for s in (1.0, -1.0):
            Q = P + s * eps * h[:, None]
            pts.append(Q / np.linalg.norm(Q, axis=0))
            # pattern of the cell on side s: rows parallel to h by the side, the others by P
            pat = proj > 0
            pat[par & nz] = (s * hx[par & nz] > 0)[:, None]
            pat[~nz] = False
            pats.append(pat)
    pat = np.hstack(pats)
    Pts = np.hstack(pts)
    first = _unique_columns(pat)
    pat, Pts = pat[:, first], Pts[:, first]
    E = _top_right_vectors(Xk, G, pat)
    return _best_columns(Xk, G, np.hstack([E, -E] + cands)), Pts


def _exact_cost(n: int, d: int) -> int:
    """Cells of a generic central arrangement of n hyperplanes in R^d: 2 Σ_{i<d} C(n−1, i)."""
    return 2 * sum(math.comb(max(n - 1, 0), i) for i in range(d))


def _check_exact_size(n: int, d: int) -> None:
    if d > _MAX_EXACT_DIM:
        raise ParameterError(
            f"the exact non-negative-PCA oracle is implemented for d ≤ {_MAX_EXACT_DIM} (got d = {d}); "
            "use method='sampled' (a heuristic: no certified bound)."
        )
    if _exact_cost(n, d) > _MAX_EXACT_CELLS:
        raise ParameterError(
            f"the exact oracle would enumerate about {_exact_cost(n, d):,} activation cones for n = {n}, "
            f"d = {d} (limit {_MAX_EXACT_CELLS:,}); use method='sampled' (a heuristic: no certified "
            "bound) or fewer samples."
        )


def _sampled_candidates(X, G, n_samples, rng, extra=None, n_refine=8, n_power=30):
    """Heuristic candidates: random gates, their patterns' top eigenvectors, power-refined."""
    n, d = X.shape
    gates = rng.standard_normal((d, n_samples))
    gates /= np.linalg.norm(gates, axis=0)
    if extra is not None and extra.size:
        gates = np.hstack([gates, extra / np.maximum(np.linalg.norm(extra, axis=0), 1e-300)])
    pat = (X @ gates) >= 0
    pat = pat[:, _unique_columns(pat)]
    E = _top_right_vectors(X, G, pat)
    C = np.hstack([gates, E, -E])
    vals = _oracle_values(X, G, C)
    top = np.argsort(vals)[::-1][:n_refine]
    U = C[:, top].copy()
    refined = [U.copy()]
    for _ in range(n_power):  # projected power iteration u ← M_{D(u)} u / ‖·‖ (ascent heuristic)
        Z = X @ U
        H = np.maximum(Z, 0.0)
        W = (Z > 0) * (G @ (G.T @ H))
        U = X.T @ W
        nrm = np.linalg.norm(U, axis=0)
        if not np.all(nrm > 0):
            break
        U = U / nrm
        refined.append(U.copy())
    refined.append(_face_candidates(X, G, np.hstack([refined[0], refined[-1]])))
    return np.hstack([C] + refined)


def _face_candidates(X, G, U):
    """For each u, guess the active face (the j rows with smallest |x̂_iᵀu|, j < d) and return the
    top eigenvector of the quadratic restricted to it — the recursive reduction, heuristically."""
    n, d = X.shape
    if d < 2:
        return np.zeros((d, 0))
    nr = np.linalg.norm(X, axis=1)
    Xn = X / np.where(nr > 0, nr, 1.0)[:, None]
    out = []
    for k in range(U.shape[1]):
        u = U[:, k]
        s = Xn @ u
        pat = s > 0
        order = np.argsort(np.abs(s) + (nr == 0))
        for j in range(1, d):
            act = order[:j]
            B = scipy.linalg.null_space(X[act])
            if B.shape[1] == 0:
                break
            D = pat.copy()
            D[act] = False
            A = G.T @ (D[:, None] * X @ B)
            e = B @ np.linalg.svd(A)[2][0]
            out.extend([e, -e])
    return np.array(out).T if out else np.zeros((d, 0))


def nonneg_pca_oracle(X, G, *, method: str = "exact", n_samples: int = 2000, seed=0, candidates=None):
    """Maximise ‖Gᵀ(Xu)_+‖₂ over ‖u‖₂ ≤ 1; returns (u, v, value) with v = Gᵀ(Xu)_+/value.

    ``method='exact'`` (d ≤ 4 and at most 30,000 activation cones): the recursive reduction over
    the faces of the arrangement (d = 2: sector eigenvectors and arc ends) — exact up to treating
    hyperplanes within 1e-9 rad of each other as one. ``method='sampled'``: a heuristic
    (``n_samples`` random gates, the top eigenvector of each sampled pattern, power iterations
    u ← M_{D(u)}u and guessed-face eigenvectors); its value is only a lower estimate of the
    maximum, so it certifies nothing. ``candidates`` (d×k) are extra directions evaluated too.
    """
    X = as_float_matrix(X, "X")
    G = as_float_matrix(G, "G", allow_1d_as_column=True)
    if G.shape[0] != X.shape[0]:
        raise DataError(f"X has {X.shape[0]} rows but G has {G.shape[0]}; they must match.")
    n, d = X.shape
    extra = None
    if candidates is not None:
        extra = np.asarray(candidates, dtype=np.float64)
        if extra.ndim == 1:
            extra = extra[:, None]
        if extra.shape[0] != d or not np.all(np.isfinite(extra)):
            raise DataError(f"candidates must be a finite array with {d} rows.")
    if method == "exact":
        _check_exact_size(n, d)
        C, _ = _exact_rec(X, G)
        if extra is not None and extra.size:
            C = np.hstack([C, extra])
    elif method == "sampled":
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = as_generator(seed)
        C = _sampled_candidates(X, G, n_samples, rng, extra)
    else:
        raise ParameterError(f"method must be 'exact' or 'sampled'; got {method!r}.")
    norms = np.linalg.norm(C, axis=0)
    C = C[:, norms > 0] / norms[norms > 0]
    vals = _oracle_values(X, G, C)
    j = int(np.argmax(vals))
    u = C[:, j].copy()
    h = G.T @ np.maximum(X @ u, 0.0)
    value = float(np.linalg.norm(h))
    if value > 0:
        v = h / value
    else:
        v = np.zeros(G.shape[1])
        v[0] = 1.0
    return u, v, value


def all_activation_patterns(X) -> np.ndarray:
    """Every activation pattern 1[Xg > 0] of a full-dimensional cell, as an n×P bool matrix (d ≤ 4).

    Computed exactly from the arrangement (same recursion as the exact oracle); the closures of
    these cones cover R^d, so they are "all patterns" for the copositive relaxation.
    """
    X = as_float_matrix(X, "X")
    n, d = X.shape
    _check_exact_size(n, d)
    if d == 1:
        P = np.array([[1.0, -1.0]])
    else:
        _, P = _exact_rec(X, np.zeros((n, 1)))
    return np.unique(((X @ P) > 0).T, axis=0).T


# ============================================================================ Frank–Wolfe


def _check_time_limit(time_limit):
    if time_limit is None:
        return None
    if isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real) or not time_limit > 0:
        raise ParameterError(f"time_limit must be a positive number of seconds or None; got {time_limit!r}.")
    return float(time_limit)


def _nonneg_weights(A: np.ndarray, y: np.ndarray, reg: float) -> np.ndarray | None:
    """argmin_{w ≥ 0} ½‖A w − y‖² + reg·Σw (the fully corrective step), via Cholesky + NNLS.

    With Q + δI = LLᵀ (δ a 1e-12 relative ridge) the objective is ½‖Lᵀw − L⁻¹b‖² + const,
    b = Aᵀy − reg. Returns None if the sub-problem cannot be solved (the step is then skipped).
    """
    k = A.shape[1]
    Q = A.T @ A
    b = A.T @ y - reg
    delta = 1e-12 * max(float(np.trace(Q)) / k, 1e-300)
    try:
        L = scipy.linalg.cholesky(Q + delta * np.eye(k), lower=True)
        rhs = scipy.linalg.solve_triangular(L, b, lower=True)
        w, _ = nnls(L.T, rhs, maxiter=50 * k + 100)
    except (np.linalg.LinAlgError, RuntimeError, ValueError):
        return None
    return w if np.all(np.isfinite(w)) else None


def _dual_bound(R: np.ndarray, Y: np.ndarray, sigma: float, reg: float) -> float:
    """max_{0 ≤ s ≤ min(1, γ/σ)} s⟨R, Y⟩ − ½s²‖R‖²: the dual value of the scaled point sR."""
    from ..atomic_dual import _scaled_dual_value  # noqa: PLC0415

    return _scaled_dual_value(R, Y, sigma, reg)[0]


def frank_wolfe(
    X,
    Y,
    reg: float,
    *,
    max_iter: int = 500,
    tol: float = 1e-6,
    oracle: str = "exact",
    time_limit: float | None = None,
    callback=None,
    seed=0,
    bias: bool = False,
    step: str = "fully_corrective",
    local_steps: int = 0,
    n_samples: int = 2000,
) -> SolveResult:
    """Frank–Wolfe [S21] on the atomic form of NN-TRAIN; returns method 'sahiner-fw'.

    Bounded formulation: min ½‖Z − Y‖² + γt over {(Z, t) : ρ_C(Z) ≤ t ≤ T}, T = ½‖Y‖²/γ, whose
    vertices are (0, 0) and (T·(Xu)_+vᵀ, T); the optimum lies inside because γρ_C(Z*) ≤ ½‖Y‖².
    The iterate is Σ_j w_j (Xu_j)_+v_jᵀ with t = Σ w_j, i.e. the network with balanced neurons
    (√w_j u_j, √w_j v_j), whose NN-TRAIN value equals the FW objective: ``value`` (an upper bound
    on p*(m) for m ≥ number of atoms). ``step``: 'line_search' (exact line search, classic FW)
    or 'fully_corrective' (re-optimise all atom weights ≥ 0 after each new atom; default). Both
    are monotone. ``local_steps`` > 0 adds, after each step, that many L-BFGS iterations on the
    network of the current atoms (moving the atoms, then re-fitting the weights; accepted only if
    the objective decreases) — a local polish in the spirit of alternating-descent conditional
    gradient, not part of [S21]; it speeds up convergence a lot.

    Lower bound (exact oracle only, d ≤ 4): with R = Y − Z and σ = max_u ‖Rᵀ(Xu)_+‖ the best
    vertex s gives the Frank–Wolfe gap g = ⟨Z − Y, Z⟩ + γt + T·max(0, σ − γ) ≥ F(x) − F*, so
    F(x) − g ≤ p*; the scaled dual point s·R, s ≤ min(1, γ/σ), gives a second bound (module
    docstring). ``lower_bound`` is the best of both over all iterations: certified, ≤ p* ≤ p*(m)
    for every width. ``oracle='sampled'`` is a heuristic (σ may be underestimated) and gives
    none. Stops ('optimal') when (value − lower_bound)/value ≤ ``tol`` (exact oracle), or when the
    heuristic oracle finds no atom with σ > γ and the objective no longer decreases (sampled).
    ``X`` is the design matrix (append a ones column for a bias and pass ``bias=True``).
    """
    t0 = time.perf_counter()
    X, Y = check_XY(X, Y)
    reg = check_reg(reg)
    max_iter = check_positive_int(max_iter, "max_iter", minimum=0)
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 <= tol < 1:
        raise ParameterError(f"tol must be a number in [0, 1); got {tol!r}.")
    if oracle not in ("exact", "sampled"):
        raise ParameterError(f"oracle must be 'exact' or 'sampled'; got {oracle!r}.")
    if step not in ("fully_corrective", "line_search"):
        raise ParameterError(f"step must be 'fully_corrective' or 'line_search'; got {step!r}.")
    time_limit = _check_time_limit(time_limit)
    if callback is not None and not callable(callback):
        raise ParameterError("callback must be callable or None.")
    if bias and not np.all(X[:, -1] == 1.0):
        raise DataError("bias=True but the last column of X is not all ones (pass the design matrix).")
    n, d = X.shape
    local_steps = check_positive_int(local_steps, "local_steps", minimum=0)
    n_samples = check_positive_int(n_samples, "n_samples")  # checked even when the oracle is exact
    if oracle == "exact":
        _check_exact_size(n, d)
    rng = as_generator(seed)
    with blas_threads(n):
        return _frank_wolfe(X, Y, reg, max_iter, float(tol), oracle, time_limit, callback, rng,
                            bool(bias), step, local_steps, n_samples, t0)


def _atom_matrix(X: np.ndarray, Ua: np.ndarray, Va: np.ndarray) -> np.ndarray:
    """Columns vec((X u_j)_+ v_jᵀ) (row-major, matching Y.ravel()) for unit atoms (u_j, v_j)."""
    H = np.maximum(X @ Ua, 0.0)
    return np.einsum("nj,cj->ncj", H, Va).reshape(-1, Ua.shape[1])


def _polish(problem: TrainingProblem, Ua, Va, w, steps: int):
    """A few L-BFGS iterations on the network of the atoms; returns new unit atoms and weights."""
    from scipy.optimize import minimize  # noqa: PLC0415

    d, k = Ua.shape
    c = Va.shape[0]
    sq = np.sqrt(w)
    theta0 = np.concatenate([(Ua * sq).ravel(), (Va * sq).ravel()])

    def fun(theta):
        val, gU, gV = problem.objective_and_gradient(theta[: d * k].reshape(d, k), theta[d * k:].reshape(c, k))
        return val, np.concatenate([gU.ravel(), gV.ravel()])

    res = minimize(fun, theta0, jac=True, method="L-BFGS-B", options={"maxiter": steps})
    U = res.x[: d * k].reshape(d, k)
    V = res.x[d * k:].reshape(c, k)
    nu = np.linalg.norm(U, axis=0)
    nv = np.linalg.norm(V, axis=0)
    keep = (nu > 0) & (nv > 0)
    return U[:, keep] / nu[keep], V[:, keep] / nv[keep], nu[keep] * nv[keep]


def _frank_wolfe(X, Y, reg, max_iter, tol, oracle, time_limit, callback, rng, bias, step, local_steps,
                 n_samples, t0):
    n, d = X.shape
    c = Y.shape[1]
    y = Y.ravel()
    half_yy = 0.5 * float(y @ y)
    T = half_yy / reg
    exact = oracle == "exact"
    problem = TrainingProblem(X, Y, reg, bias)

    # state: atom directions, atom matrices (vec of (Xu)_+vᵀ as columns), weights
    Ua = np.zeros((d, 0))
    Va = np.zeros((c, 0))
    A = np.zeros((n * c, 0))
    w = np.zeros(0)
    z = np.zeros(n * c)
    F = half_yy
    best_lb = -np.inf
    lb_fw = lb_dual = None
    history: list[dict] = []
    status = "max_iter"
    reason = None
    it = 0
    sigma = float("nan")
    stalls = 0

    def objective(zv, wv):
        r = zv - y
        return 0.5 * float(r @ r) + reg * float(np.sum(wv))

    try:
        while True:
            R = (y - z).reshape(n, c)
            if exact:
                u, v, sigma = nonneg_pca_oracle(X, R, method="exact")
            else:
                u, v, sigma = nonneg_pca_oracle(X, R, method="sampled", n_samples=n_samples, seed=rng,
                                                candidates=Ua if Ua.size else None)
            if exact:
                sig = sigma * (1.0 + 1e-12)  # rounding margin on the oracle value
                gap = float((z - y) @ z) + reg * float(np.sum(w)) + T * max(0.0, sig - reg)
                size = abs(F) + float(np.abs(z - y) @ np.abs(z)) + reg * float(np.sum(w)) + T * sig
                lb_fw = round_down(F - gap, size, z.size)
                lb_dual = _dual_bound(R, Y, sig, reg)
                best_lb = max(best_lb, lb_fw, lb_dual)
            rec = {
                "iteration": it,
                "value": F,
                "lower_bound": best_lb if exact else None,
                "sigma": sigma,
                "n_atoms": int(w.size),
                "time_s": time.perf_counter() - t0,
            }
            history.append(rec)
            if callback is not None:
                callback(dict(rec))
            if exact and F - best_lb <= tol * max(abs(F), 1e-300):
                status = "optimal"
                break
            if not exact and sigma <= reg and stalls > 0:
                status = "optimal"  # no improving atom found by the heuristic: a heuristic stop
                reason = "heuristic oracle found no descent atom"
                break
            if stalls >= 3:  # three steps without any decrease: floating-point floor reached
                rel = (F - best_lb) / max(abs(F), 1e-300) if exact else None
                status = "failed" if exact and rel > 1e-6 else "optimal"
                reason = "no further decrease possible in floating point"
                break
            if it >= max_iter:
                status = "max_iter"
                break
            if time_limit is not None and time.perf_counter() - t0 >= time_limit:
                status = "time_limit"
                break

            # ---- Frank–Wolfe step with exact line search
            add = sigma > reg
            if add:
                a = (np.maximum(X @ u, 0.0)[:, None] * v[None, :]).ravel()
                s_z, s_t = T * a, T
            else:
                a = None
                s_z, s_t = np.zeros_like(z), 0.0
            t_cur = float(np.sum(w))
            dz = s_z - z
            dt = s_t - t_cur
            slope = float((z - y) @ dz) + reg * dt
            curv = float(dz @ dz)
            eta = 0.0 if slope >= 0 else (min(1.0, -slope / curv) if curv > 0 else 1.0)
            w_new = (1.0 - eta) * w
            if add:
                Ua_new = np.hstack([Ua, u[:, None]])
                Va_new = np.hstack([Va, v[:, None]])
                A_new = np.hstack([A, a[:, None]])
                w_new = np.append(w_new, eta * T)
            else:
                Ua_new, Va_new, A_new = Ua, Va, A
            z_new = A_new @ w_new if w_new.size else np.zeros_like(z)
            F_new = objective(z_new, w_new)
            if not F_new <= F:  # monotone safeguard against rounding
                Ua_new, Va_new, A_new, w_new, z_new, F_new = Ua, Va, A, w, z, F
                if add:
                    Ua_new = np.hstack([Ua, u[:, None]])
                    Va_new = np.hstack([Va, v[:, None]])
                    A_new = np.hstack([A, a[:, None]])
                    w_new = np.append(w, 0.0)
            if step == "fully_corrective" and A_new.shape[1] > 0:
                w_fc = _nonneg_weights(A_new, y, reg)
                if w_fc is not None:
                    z_fc = A_new @ w_fc
                    F_fc = objective(z_fc, w_fc)
                    if F_fc <= F_new:
                        w_new, z_new, F_new = w_fc, z_fc, F_fc
            if local_steps > 0 and w_new.size:
                keep = w_new > 0
                Ua_p, Va_p, w_p = _polish(problem, Ua_new[:, keep], Va_new[:, keep], w_new[keep], local_steps)
                if w_p.size:
                    A_p = _atom_matrix(X, Ua_p, Va_p)
                    if step == "fully_corrective":
                        w_fc = _nonneg_weights(A_p, y, reg)
                        if w_fc is not None and objective(A_p @ w_fc, w_fc) <= objective(A_p @ w_p, w_p):
                            w_p = w_fc
                    z_p = A_p @ w_p
                    F_p = objective(z_p, w_p)
                    if F_p <= F_new:
                        Ua_new, Va_new, A_new, w_new, z_new, F_new = Ua_p, Va_p, A_p, w_p, z_p, F_p
            keep = w_new > 0
            if not np.all(keep):
                Ua_new, Va_new, A_new, w_new = Ua_new[:, keep], Va_new[:, keep], A_new[:, keep], w_new[keep]
            stalls = stalls + 1 if F - F_new <= 1e-15 * max(F, 1e-300) else 0
            # commit the step in one statement (consistent state if interrupted)
            Ua, Va, A, w, z, F = Ua_new, Va_new, A_new, w_new, z_new, F_new
            it += 1
    except KeyboardInterrupt:
        status = "interrupted"

    sq = np.sqrt(w)
    if w.size:
        U, V = Ua * sq, Va * sq
    else:
        U, V = np.zeros((d, 1)), np.zeros((c, 1))
    value = problem.objective(U, V)
    info = {
        "oracle": oracle,
        "step": step,
        "local_steps": local_steps,
        "bias": bias,
        "n_atoms": int(w.size),
        "bound_T": T,
        "atomic_value": F,
        "last_sigma": sigma,
        "certified": exact,
    }
    if exact:
        info["lower_bound_fw_gap"] = lb_fw
        info["lower_bound_dual"] = lb_dual
    if reason:
        info["reason"] = reason
    return SolveResult(
        method="sahiner-fw",
        value=value,
        lower_bound=float(best_lb) if exact and np.isfinite(best_lb) else None,
        status=status,
        iterations=it,
        time_s=time.perf_counter() - t0,
        history=history,
        solution={"U": U, "V": V, "weights": w.copy(), "atoms_u": Ua, "atoms_v": Va},
        info=info,
    )


# ============================================================================ copositive relaxation

_COP_SOLVERS = ("clarabel", "scs")
# Clarabel holds a dense block of the matrix-fractional PSD cone's svec dimension squared (≈ 64
# bytes per entry, measured for SDP-NN in convexnn.sdp.reference) plus the sparse constraint data.
_BYTES_PER_M2 = 64.0
_BYTES_PER_NNZ = 48.0


def cop_memory_estimate(n: int, d: int, c: int, P: int) -> float:
    """Rough peak bytes of the CVXPY/Clarabel solve of the copositive relaxation."""
    m = (n + c) * (n + c + 1) / 2
    nnz = P * (n * (n + 1) / 2) * d * d + (n + c) ** 2 * P * d * d
    return _BYTES_PER_M2 * m * m + _BYTES_PER_NNZ * nnz


def copositive_relaxation(
    X,
    Y,
    reg: float,
    masks=None,
    *,
    solver: str = "clarabel",
    bias: bool = False,
    certify: bool = True,
    max_constraints: int = 400_000,
    verbose: bool = False,
    **solver_options,
) -> SolveResult:
    """Sahiner et al.'s copositive relaxation (SPEC §5) for activation patterns ``masks`` (n×P bool).

        min_{U_i ⪰ 0}  ½ tr(Yᵀ(I + 2Σ_i D_i X U_i Xᵀ D_i)⁻¹ Y) + γ² Σ_i tr U_i
        s.t.  (2D_i − I) X U_i Xᵀ (2D_i − I) ≥ 0 entrywise.

    Scale (our derivation, verified numerically in the tests): this is the Lagrange dual of the
    NN-TRAIN dual problem with each copositivity constraint tightened to PSD + Xᵀ(2D−I)N(2D−I)X,
    N ≥ 0 (Slater holds at Γ = 0, so there is no duality gap), hence the optimal value is on the
    NN-TRAIN scale; with all patterns it is ≤ p*, and = p* when d = 2 (copositivity on a
    two-dimensional cone is exactly PSD + non-negative). ``value`` is the solver's primal
    objective — the optimum up to solver accuracy, not itself a certified bound. The variables
    are solved for as γU_i (better scaled) and returned as U_i in ``solution['U_blocks']``. ``masks=None`` uses
    :func:`all_activation_patterns` (d ≤ 4). ``lower_bound`` is *certified* independently of the
    solver and of the masks: the inner maximiser Γ = (I + 2Σ D_i X U_i Xᵀ D_i)⁻¹Y is scaled to
    satisfy the exact dual constraint (exact oracle, d ≤ 4); None when that is not possible.
    ``status`` is 'optimal' when the solver reports optimal, 'max_iter' when it reports an
    inaccurate solution (see ``info['solver_status']``), 'failed' otherwise.
    """
    t0 = time.perf_counter()
    X, Y = check_XY(X, Y)
    reg = check_reg(reg)
    if solver not in _COP_SOLVERS:
        raise ParameterError(f"solver must be one of {_COP_SOLVERS}; got {solver!r}.")
    if bias and not np.all(X[:, -1] == 1.0):
        raise DataError("bias=True but the last column of X is not all ones (pass the design matrix).")
    n, d = X.shape
    c = Y.shape[1]
    if masks is None:
        masks = all_activation_patterns(X)
    masks = np.asarray(masks)
    if masks.ndim != 2 or masks.shape[0] != n:
        raise DataError(f"masks must be an n×P array with n = {n} rows; got shape {masks.shape}.")
    if masks.dtype != bool:
        if not np.all(np.isin(masks, (0, 1))):
            raise DataError("masks must be boolean (or 0/1) activation patterns.")
        masks = masks.astype(bool)
    # duplicate patterns add nothing; an all-off pattern contributes only γ² tr U_i (so U_i = 0)
    masks = np.unique(masks.T, axis=0).T
    masks = masks[:, masks.any(axis=0)]
    P = masks.shape[1]
    if P == 0:
        raise DataError("masks contain no pattern with an active unit.")
    n_cons = P * n * (n + 1) // 2
    if n_cons > max_constraints:
        raise MemoryEstimateError(
            f"the copositive relaxation would have {n_cons:,} entrywise constraints "
            f"(P = {P} patterns × n(n+1)/2 with n = {n}); the limit is max_constraints = {max_constraints:,}. "
            "It is a small-problem baseline: use fewer samples or patterns."
        )
    check_memory(cop_memory_estimate(n, d, c, P), "the copositive relaxation (CVXPY)")
    try:
        import cvxpy as cp  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SolverUnavailableError(
            'the copositive relaxation needs cvxpy; install it with pip install "convexnn[cvxpy]".'
        ) from exc

    iu, ju = np.triu_indices(n)
    Us, terms, cons = [], [], []
    for i in range(P):
        D = masks[:, i].astype(np.float64)
        DX = D[:, None] * X
        W = (2.0 * D - 1.0)[:, None] * X
        Ui = cp.Variable((d, d), PSD=True)
        Us.append(Ui)
        terms.append(DX @ Ui @ DX.T)
        # entry (j, k) of W U Wᵀ = Σ_ab W_ja W_kb U_ab = kron(W_k, W_j) · vec_F(U)
        Kmat = np.einsum("pb,pa->pba", W[ju], W[iu]).reshape(len(iu), d * d)
        cons.append(Kmat @ cp.vec(Ui, order="F") >= 0)
    # variables are V_i = γ U_i (better scaled: tr U_i grows like 1/γ at the optimum)
    Amat = np.eye(n) + (2.0 / reg) * sum(terms[1:], terms[0])
    Amat = 0.5 * (Amat + Amat.T)
    traces = [cp.trace(U) for U in Us]
    objective = 0.5 * cp.matrix_frac(Y, Amat) + reg * sum(traces[1:], traces[0])
    prob = cp.Problem(cp.Minimize(objective), cons)
    solver_name = cp.CLARABEL if solver == "clarabel" else cp.SCS
    t_solve = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            prob.solve(solver=solver_name, verbose=verbose, **solver_options)
    except (cp.error.SolverError, ValueError) as exc:
        return SolveResult("sahiner-cop", None, None, "failed", 0, time.perf_counter() - t0,
                           info={"reason": str(exc), "n_patterns": P, "solver": solver})
    except KeyboardInterrupt:
        return SolveResult("sahiner-cop", None, None, "interrupted", 0, time.perf_counter() - t0,
                           info={"n_patterns": P, "solver": solver})
    solve_time = time.perf_counter() - t_solve
    ok = prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) and prob.value is not None
    info = {
        "solver": solver,
        "solver_status": prob.status,
        "n_patterns": P,
        "n_constraints": n_cons,
        "solve_time_s": solve_time,
        "scale": "NN-TRAIN (lower bound on p* when all activation patterns are included)",
        "solver_warnings": "; ".join(str(w.message) for w in caught) or None,
    }
    if not ok:
        return SolveResult("sahiner-cop", None, None, "failed", 0, time.perf_counter() - t0, info=info)
    Uval = np.stack([np.asarray(U.value, dtype=np.float64) for U in Us]) / reg
    Uval = 0.5 * (Uval + Uval.transpose(0, 2, 1))
    Anum = np.eye(n)
    for i in range(P):
        DX = masks[:, i, None] * X
        Anum = Anum + 2.0 * DX @ Uval[i] @ DX.T
    Gamma = np.linalg.solve(0.5 * (Anum + Anum.T), Y)
    value = float(prob.value)
    lower = None
    all_patterns = None
    if d <= _MAX_EXACT_DIM and _exact_cost(n, d) <= _MAX_EXACT_CELLS:
        ref = all_activation_patterns(X)
        have = {tuple(col) for col in masks.T}
        all_patterns = all(tuple(col) in have for col in ref.T)
        if certify:
            _, _, sigma = nonneg_pca_oracle(X, Gamma, method="exact")
            lower = _dual_bound(Gamma, Y, sigma * (1.0 + 1e-12), reg)
            info["dual_sigma_over_reg"] = sigma / reg
    info["all_patterns"] = all_patterns
    info["value_is_lower_bound"] = bool(all_patterns)
    return SolveResult(
        method="sahiner-cop",
        value=value,
        lower_bound=lower,
        status="optimal" if prob.status == cp.OPTIMAL else "max_iter",
        iterations=int(prob.solver_stats.num_iters or 0) if prob.solver_stats else 0,
        time_s=time.perf_counter() - t0,
        solution={"U_blocks": Uval, "masks": masks, "Gamma": Gamma},
        info=info,
    )
