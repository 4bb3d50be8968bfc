"""Activation patterns D_i = diag(1[X g_i ≥ 0]) of a data matrix: random sampling and exact enumeration.

Patterns are stored compactly as an n×P boolean matrix (column i = diag of D_i), next to a
generating gate g_i ∈ R^d for each one (SPEC §5). Exact enumeration walks the central hyperplane
arrangement {u : x_jᵀu = 0} and returns one strictly interior gate per full-dimensional cell.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .._validation import as_float_matrix, as_generator, check_memory, check_positive_int
from ..errors import DataError, ParameterError

__all__ = [
    "PatternSet",
    "sample_patterns",
    "enumerate_patterns",
    "pattern_count_estimate",
    "as_pattern_masks",
]

# |x_jᵀg| / (‖x_j‖‖g‖) below this counts as "on the hyperplane" (not a strict-interior gate).
_STRICT_TOL = 1e-13
# |h_kᵀρ| below this (unit vectors) means hyperplane k passes through the ray ρ (degenerate ray).
_RAY_TOL = 1e-10


@dataclass(frozen=True, eq=False)
class PatternSet:
    """A set of P activation patterns of an n×d data matrix, with a generating gate for each.

    Attributes
    ----------
    masks : ndarray of bool, shape (n, P)
        Column i is the diagonal of D_i = diag(1[X g_i ≥ 0]); stored as bits, never as n×n matrices.
    gates : ndarray of float64, shape (d, P)
        A gate g_i realising pattern i. For enumerated patterns X g_i has no zero entries except on
        zero rows of X, i.e. g_i is strictly inside the cone K_i = {u : (2D_i − I) X u ≥ 0}.
    exact : bool
        True iff the set is the complete set of (non-empty) activation patterns of X.
    """

    masks: np.ndarray
    gates: np.ndarray
    exact: bool = False

    def __post_init__(self):
        masks = np.asarray(self.masks)
        gates = np.asarray(self.gates, dtype=np.float64)
        if masks.ndim != 2:
            raise DataError(f"masks must be an n×P array; got shape {masks.shape}.")
        if masks.dtype != bool:
            if masks.dtype.kind not in "biuf" or not np.all((masks == 0) | (masks == 1)):
                raise DataError("masks must hold booleans (or 0/1 values).")
            masks = masks.astype(bool)
        if gates.ndim != 2 or gates.shape[1] != masks.shape[1]:
            raise DataError(
                f"gates must be a d×P array with P = {masks.shape[1]} columns; got shape {gates.shape}."
            )
        if not np.all(np.isfinite(gates)):
            raise DataError("gates contain NaN or infinite values.")
        masks = np.ascontiguousarray(masks)
        gates = np.ascontiguousarray(gates)
        masks.flags.writeable = False
        gates.flags.writeable = False
        object.__setattr__(self, "masks", masks)
        object.__setattr__(self, "gates", gates)
        object.__setattr__(self, "exact", bool(self.exact))

    @property
    def n_patterns(self) -> int:
        """Number of patterns P."""
        return int(self.masks.shape[1])

    @property
    def n(self) -> int:
        """Number of data rows the masks refer to."""
        return int(self.masks.shape[0])

    @property
    def d(self) -> int:
        """Dimension of the gates."""
        return int(self.gates.shape[0])

    def __len__(self) -> int:
        return self.n_patterns

    def masks_float(self) -> np.ndarray:
        """The masks as a float64 0/1 matrix (n×P), the layout the solvers multiply with."""
        return self.masks.astype(np.float64)

    def masks_for(self, X) -> np.ndarray:
        """Patterns of new rows ``X`` (m×d) under the stored gates: 1[X g_i ≥ 0], shape (m, P)."""
        X = as_float_matrix(X, "X")
        if X.shape[1] != self.d:
            raise DataError(f"X has {X.shape[1]} columns but the gates have dimension {self.d}.")
        return X @ self.gates >= 0

    def subset(self, index) -> "PatternSet":
        """The patterns selected by ``index`` (a subset is no longer exact unless it is all of them)."""
        index = np.asarray(index)
        masks, gates = self.masks[:, index], self.gates[:, index]
        exact = self.exact and masks.shape[1] == self.n_patterns and (
            len(np.unique(np.arange(self.n_patterns)[index])) == self.n_patterns)
        return PatternSet(masks, gates, exact)


def pattern_count_estimate(n: int, d: int) -> int:
    """Number of regions of a central arrangement of n hyperplanes in general position in R^d.

    2 Σ_{k=0}^{d−1} C(n−1, k): the maximum over all arrangements, hence an upper bound on the number
    of full-dimensional activation patterns of any n×d matrix (the all-zero pattern included).
    """
    n = int(n)
    d = int(d)
    if n < 0 or d < 0:
        raise ParameterError(f"n and d must be non-negative; got n={n}, d={d}.")
    if n == 0 or d == 0:
        return 1
    return 2 * sum(math.comb(n - 1, k) for k in range(d))


def as_pattern_masks(patterns, n: int) -> np.ndarray:
    """Return the n×P boolean masks of ``patterns`` (a PatternSet or a 0/1 array), checking n."""
    if isinstance(patterns, PatternSet):
        masks = patterns.masks
    else:
        if patterns is None:
            raise DataError("patterns are missing (got None).")
        try:
            masks = np.asarray(patterns)
        except Exception as exc:  # ragged input
            raise DataError(f"patterns could not be read as an array: {exc}") from exc
        if masks.ndim != 2:
            raise DataError(f"patterns must be a PatternSet or an n×P mask array; got shape {masks.shape}.")
        if masks.dtype != bool:
            if masks.dtype.kind not in "biuf":
                raise DataError(f"pattern masks must be boolean or 0/1; got dtype {masks.dtype}.")
            if not np.all((masks == 0) | (masks == 1)):
                raise DataError("pattern masks must hold only 0/1 (or boolean) values.")
            masks = masks.astype(bool)
    if masks.shape[0] != n:
        raise DataError(
            f"the patterns have {masks.shape[0]} rows but the data has n = {n}; "
            "patterns must be computed on the same X."
        )
    return masks


def _dedupe_columns(masks: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each distinct column of a boolean matrix, in order."""
    if masks.shape[1] == 0:
        return np.zeros(0, dtype=np.int64)
    packed = np.ascontiguousarray(np.packbits(masks, axis=0).T)
    view = packed.view(np.dtype((np.void, packed.shape[1])))[:, 0]
    _, first = np.unique(view, return_index=True)
    return np.sort(first)


def sample_patterns(X, n_gates: int | None = None, *, seed=0, gates=None) -> PatternSet:
    """Patterns 1[X g ≥ 0] of Gaussian gates g ~ N(0, I_d), deduplicated, empty ones dropped.

    ``n_gates`` gates are drawn from ``numpy.random.default_rng(seed)`` (``seed`` may also be a
    Generator); alternatively pass explicit ``gates`` (d×m). The first gate of each distinct
    pattern is kept. Patterns that switch on no non-zero row of X (D X = 0, e.g. the all-zero
    pattern) are removed because they contribute nothing to any model.
    """
    X = as_float_matrix(X, "X")
    n, d = X.shape
    if gates is None:
        if n_gates is None:
            raise ParameterError("give the number of gates n_gates (or explicit gates).")
        n_gates = check_positive_int(n_gates, "n_gates")
        rng = as_generator(seed)
        check_memory(8.0 * (d + n) * n_gates, "sampling activation patterns")
        G = rng.standard_normal((d, n_gates))
    else:
        if n_gates is not None:
            raise ParameterError("give either n_gates or gates, not both.")
        G = as_float_matrix(gates, "gates")
        if G.shape[0] != d:
            raise DataError(f"gates must have d = {d} rows (one per column of X); got shape {G.shape}.")
    masks = X @ G >= 0
    nonzero_rows = np.any(X != 0, axis=1)
    useful = np.any(masks & nonzero_rows[:, None], axis=0)
    keep = _dedupe_columns(masks)
    keep = keep[useful[keep]]
    return PatternSet(masks[:, keep], G[:, keep], exact=False)


# --------------------------------------------------------------------------------------------
# exact enumeration
# --------------------------------------------------------------------------------------------

def _canonical_hyperplanes(H: np.ndarray) -> np.ndarray:
    """Unit normals of the distinct hyperplanes among the rows of H (non-zero rows), sign-normalised."""
    H = H / np.linalg.norm(H, axis=1, keepdims=True)
    # sign: make the first clearly non-zero component positive
    first = np.argmax(np.abs(H) > 1e-6, axis=1)
    sgn = np.sign(H[np.arange(H.shape[0]), first])
    sgn[sgn == 0] = 1.0
    H = H * sgn[:, None]
    _, idx = np.unique(np.round(H, 9), axis=0, return_index=True)
    return H[np.sort(idx)]


def _combinations_chunks(m: int, k: int, chunk: int):
    """Yield arrays (≤ chunk × k) of all k-subsets of range(m), in lexicographic order."""
    if k == 2:
        i, j = np.triu_indices(m, 1)
        allc = np.stack([i, j], axis=1)
        for s in range(0, allc.shape[0], chunk):
            yield allc[s:s + chunk]
        return
    it = itertools.combinations(range(m), k)
    while True:
        block = list(itertools.islice(it, chunk))
        if not block:
            return
        yield np.asarray(block, dtype=np.int64)


class _CellCollector:
    """Accumulates candidate points, keeping one averaged unit point per distinct sign vector."""

    def __init__(self, H: np.ndarray):
        self.H = H
        self.keys = None  # void-view array of packed sign vectors, one per cell found so far
        self.sums = np.zeros((0, H.shape[1]))  # K × r sums of the unit candidates of each cell

    def add(self, U: np.ndarray) -> None:
        """Add candidate points (columns of U); those on (or too near) a hyperplane are ignored."""
        if U.shape[1] == 0:
            return
        U = U / np.linalg.norm(U, axis=0, keepdims=True)
        S = self.H @ U
        ok = np.all(np.abs(S) > _STRICT_TOL, axis=0)
        if not np.any(ok):
            return
        U, S = U[:, ok], S[:, ok]
        packed = np.ascontiguousarray(np.packbits(S > 0, axis=0).T)
        view = packed.view(np.dtype((np.void, packed.shape[1])))[:, 0]
        if self.keys is not None:
            view = np.concatenate([self.keys, view])
            U = np.concatenate([self.sums, U.T], axis=0)
        else:
            U = U.T
        uniq, inv = np.unique(view, return_inverse=True)
        sums = np.zeros((len(uniq), U.shape[1]))
        np.add.at(sums, inv.ravel(), U)
        self.keys, self.sums = uniq, sums

    def gates(self) -> np.ndarray:
        """One strictly interior point per cell (average of the unit candidates found in it)."""
        G = np.ascontiguousarray(self.sums.T)
        if G.shape[1] == 0:
            return G
        return G / np.linalg.norm(G, axis=0, keepdims=True)


def _cells(H: np.ndarray, chunk_elems: int = 2_000_000) -> np.ndarray:
    """Strictly interior points (r×K) of all K cells of the central arrangement with normals H.

    H is m×r with unit, pairwise distinct rows (as hyperplanes) spanning R^r.
    r = 1: the two half-lines. r = 2: midpoints of the angular sectors between consecutive lines.
    r ≥ 3: every cell is a pointed cone, so it has an extreme ray ρ, the intersection of r−1
    independent hyperplanes. Around a ray through exactly r−1 hyperplanes the cells are the 2^{r−1}
    orthants of the dual directions; around a degenerate ray (more hyperplanes through it) they are
    the cells of the arrangement projected onto ρ^⊥, found recursively.
    """
    m, r = H.shape
    if r == 1:
        return np.array([[1.0, -1.0]])
    if r == 2:
        theta = np.arctan2(H[:, 0], -H[:, 1])  # direction (−h2, h1) of each line
        ang = np.sort(np.mod(np.concatenate([theta, theta + np.pi]), 2 * np.pi))
        keep = np.concatenate([[True], np.diff(ang) > 1e-15])
        ang = ang[keep]
        nxt = np.concatenate([ang[1:], [ang[0] + 2 * np.pi]])
        mid = 0.5 * (ang + nxt)
        return np.stack([np.cos(mid), np.sin(mid)], axis=0)

    col = _CellCollector(H)
    seen_degenerate: set[tuple[int, ...]] = set()
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=r - 1)))  # 2^{r−1} × (r−1)
    chunk = max(1, chunk_elems // max(1, m * r))
    for S in _combinations_chunks(m, r - 1, chunk):
        K = S.shape[0]
        HS = H[S]  # K × (r−1) × r
        _, sv, Vt = np.linalg.svd(HS, full_matrices=True)
        indep = sv[:, -1] > 1e-10
        if not np.any(indep):
            continue
        S, HS, Vt = S[indep], HS[indep], Vt[indep]
        K = S.shape[0]
        rho = Vt[:, -1, :]  # K × r, unit, orthogonal to the r−1 normals
        a = rho @ H.T  # K × m
        a[np.arange(K)[:, None], S] = np.inf
        aa = np.abs(a)
        degenerate = np.any(aa <= _RAY_TOL, axis=1)
        gp = ~degenerate
        if np.any(gp):
            Sg, HSg, rg, ag = S[gp], HS[gp], rho[gp], aa[gp]
            # dual directions w_j: h_kᵀ w_j = δ_kj (k ∈ S), ρᵀ w_j = 0
            B = np.concatenate([HSg, rg[:, None, :]], axis=1)  # K × r × r
            Winv = np.linalg.inv(B)[:, :, : r - 1]  # K × r × (r−1)
            Hw = np.matmul(H, Winv)  # K × m × (r−1)
            bnd = np.abs(Hw).sum(axis=2)  # max over sign choices of |h_kᵀ Σ s_j w_j|
            ratio = np.where(np.isfinite(ag), ag / np.maximum(bnd, 1e-300), np.inf)
            eps = 0.5 * np.min(ratio, axis=1)  # K
            eps = np.minimum(eps, 1.0 / np.maximum(np.linalg.norm(Winv, axis=1).max(axis=1), 1e-300))
            pert = np.matmul(signs, Winv.transpose(0, 2, 1)) * eps[:, None, None]  # K × 2^{r−1} × r
            for sigma in (1.0, -1.0):
                P = sigma * rg[:, None, :] + pert
                col.add(P.reshape(-1, r).T)
        for k in np.flatnonzero(degenerate):
            T = tuple(sorted(set(S[k].tolist()) | set(np.flatnonzero(aa[k] <= _RAY_TOL).tolist())))
            if T in seen_degenerate:
                continue
            seen_degenerate.add(T)
            rho_k = rho[k]
            Bperp = Vt[k, : r - 1, :].T  # r × (r−1), orthonormal basis of ρ^⊥
            L = H[list(T)] @ Bperp
            local = _cells(_canonical_hyperplanes(L))  # (r−1) × K'
            outside = np.ones(m, dtype=bool)
            outside[list(T)] = False
            dirs = Bperp @ local  # r × K'
            if np.any(outside):
                a_out = np.abs(H[outside] @ rho_k)
                b_out = np.abs(H[outside] @ dirs)  # |outside| × K'
                eps = 0.5 * np.min(a_out[:, None] / np.maximum(b_out, 1e-300), axis=0)
                eps = np.minimum(eps, 1.0)
            else:
                eps = np.ones(dirs.shape[1])
            for sigma in (1.0, -1.0):
                col.add(sigma * rho_k[:, None] + dirs * eps[None, :])
    return col.gates()


def _count(k: int) -> str:
    """A count for a message: exact up to a billion, else in scientific notation."""
    return f"{k:,}" if k < 10**9 else f"about {float(k):.2e}"


def enumerate_patterns(X, *, max_patterns: int = 200_000) -> PatternSet:
    """All distinct activation patterns {1[Xu ≥ 0] : u ∈ R^d} of full-dimensional cells, exactly.

    Works in the row space of X (rank-deficient X, zero, duplicated or parallel rows are fine) and
    enumerates the cells of the central arrangement of the hyperplanes x_jᵀu = 0 (see ``_cells``);
    cost O(n^{r−1}) rays for rank r. Each returned gate g realises its pattern strictly: x_jᵀg ≠ 0
    for every non-zero row (zero rows always count as active, as in 1[Xg ≥ 0]); the gate is the
    normalised average of all candidate points found in the cell, which keeps it away from the walls.

    Lower-dimensional cells (u with some x_jᵀu = 0) are not listed separately. This is safe for
    the optimisation: such a u lies in the closure of a full cell C, and because the cones
    K = {u : (2D−I)Xu ≥ 0} are closed, u ∈ K_C with (Xu)_+ = D_C X u (the rows with x_jᵀu = 0
    contribute 0 under either mask), so every ReLU neuron is represented by a full-cell pattern.
    Moreover, unless some non-negative combination of the rows through u vanishes (e.g. exactly
    antiparallel rows), 1[Xu ≥ 0] itself equals the pattern of a neighbouring full cell; sampled
    Gaussian gates likewise only ever produce full-cell patterns (with probability 1).

    The all-zero pattern (and any pattern active only on zero rows, D X = 0) is excluded.
    Refuses with ParameterError when the general-position count 2 Σ_{k<r} C(m−1, k) for the m
    distinct hyperplanes exceeds ``max_patterns``. Near-degenerate data (hyperplanes closer than
    ~1e-9 in angle) is treated as degenerate: such sliver cells may be merged or missed.
    """
    X = as_float_matrix(X, "X")
    max_patterns = check_positive_int(max_patterns, "max_patterns")
    n, d = X.shape
    norms = np.linalg.norm(X, axis=1)
    nz = norms > 0
    empty = PatternSet(np.zeros((n, 0), dtype=bool), np.zeros((d, 0)), exact=True)
    if not np.any(nz):
        return empty
    Hn = X[nz] / norms[nz, None]
    _, sv, Vt = np.linalg.svd(Hn, full_matrices=False)
    rank = int(np.sum(sv > max(Hn.shape) * np.finfo(float).eps * sv[0] * 10))
    Q = Vt[:rank].T  # d × r orthonormal basis of the row space
    Hr = _canonical_hyperplanes(Hn @ Q)
    m = Hr.shape[0]
    est = pattern_count_estimate(m, rank)
    if est > max_patterns:
        raise ParameterError(
            f"X has up to {_count(est)} activation patterns ({m} distinct hyperplanes in rank "
            f"{rank}), more than max_patterns={max_patterns} (in Python: sample_patterns, or a "
            f"larger max_patterns)."
        )
    n_rays = math.comb(m, rank - 1) if rank >= 3 else 2 * m
    check_memory(8.0 * (est * (n + d + rank) + min(n_rays, 2_000_000) * 2 ** rank * rank * 4),
                 "enumerating activation patterns")
    Gr = _cells(Hr)
    G = Q @ Gr
    G /= np.linalg.norm(G, axis=0, keepdims=True)
    XG = X @ G
    strict = np.all((np.abs(XG[nz]) > _STRICT_TOL * norms[nz, None]), axis=0)
    G, XG = G[:, strict], XG[:, strict]
    masks = XG >= 0
    keep = _dedupe_columns(masks)
    useful = np.any(masks[nz][:, keep], axis=0)
    keep = keep[useful]
    masks, G = masks[:, keep], G[:, keep]
    if masks.shape[1] > max_patterns:
        raise ParameterError(
            f"X has {masks.shape[1]} activation patterns, more than max_patterns={max_patterns}."
        )
    # every gate must realise its pattern strictly (internal consistency check)
    XG = X @ G
    if not (np.array_equal(XG >= 0, masks) and np.all(np.abs(XG[nz]) > 0)):
        raise RuntimeError("internal error: an enumerated gate does not realise its pattern.")
    return PatternSet(masks, G, exact=True)
