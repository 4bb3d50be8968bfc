"""A certified lower bound on p* from any network's residual: the atomic-norm dual, with the
dual norm bounded by branch and bound over the sphere; and column generation that drives it.

Background (our derivation, the scaling of SPEC §1; docs/mathematics.md §7.3). For every width,
NN-TRAIN is bounded below by the atomic-norm problem p* = min_Z ½‖Z − Y‖² + γ ρ_C(Z) with
C = conv{(Xu)_+ vᵀ : ‖u‖, ‖v‖ ≤ 1}, whose Fenchel dual is

    max_Γ ⟨Γ, Y⟩ − ½‖Γ‖²   s.t.   σ(Γ) := max_{‖u‖ ≤ 1} ‖Γᵀ(Xu)_+‖₂ ≤ γ.

So for *any* Γ and any number σ̄ ≥ σ(Γ), the scaled point sΓ with s ≤ min(1, γ/σ̄) is dual
feasible and s⟨Γ, Y⟩ − ½s²‖Γ‖² ≤ p*. With Γ the residual Y − f(X) of a trained network f this
is tight exactly when f is globally optimal (then σ(Γ) = γ and the dual value equals f's
objective). What needs care is σ̄: σ is the maximum of a non-concave function over the sphere
(the non-negative PCA problem of [S21]). :func:`relu_dual_norm_bound` bounds it from above by
branch and bound over cones, an anytime bound that is valid whenever it stops, and cheap in low
dimension d (the sphere has dimension d − 1), where enumerating the O(n^(d−1)) activation
patterns is not: Bank Notes (n = 686, d = 4) has about 10⁸ of them.

The residual of a network trained by gradient descent is rarely accurate enough for this bound
to be tight (σ is very sensitive to the residual), so :func:`atomic_dual_certificate` improves
the residual by column generation: a group lasso over a dictionary of directions, with the
branch and bound as the exact separation oracle.
"""

from __future__ import annotations

import itertools
import math
import numbers
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy import sparse

from ._validation import (as_float_matrix, as_generator, blas_threads, check_positive_int, check_reg,
                          check_time_limit, check_XY, cpu_cores)
from .errors import DataError, ParameterError
from .result import SolveResult, round_down

__all__ = ["DualNormBound", "relu_dual_norm_bound", "atomic_dual_bound", "atomic_dual_certificate",
           "ATOMIC_DUAL_MAX_DIM", "ATOMIC_DUAL_AUTO_DIM", "ORACLES"]

# the separation oracles of column generation: 'auto' (the face enumeration where the arrangement
# is small enough, else the branch and bound), or either one
ORACLES = ("auto", "faces", "branch-and-bound")
# the sphere of dimension d − 1 is split into 2^(d−1) children per cell: beyond this d the branch
# and bound is not offered by default (it stays valid, but its bound would stay loose)
ATOMIC_DUAL_MAX_DIM = 8
# what fit(dual_bound='auto') runs it on: seconds per round at d = 4; at d = 5 (4 features and a
# bias) the branch and bound's bound converges slowly (it runs to the stage's deadline), with a
# valid bound that still beat SDP-NN's on Iris and Bank Notes (docs/mathematics.md §7.3)
ATOMIC_DUAL_AUTO_DIM = 5
# ambiguous rows (a hyperplane cutting the cell) handled exactly by enumerating their sign subsets;
# the others by the triangle inequality
_EXACT_AMBIGUOUS = 2
# relative safety margins for rounding in the cell bounds (eigenvalues, angles)
_EIG_MARGIN = 1e-12
_ANGLE_MARGIN = 1e-12
_RESULT_MARGIN = 1e-10
# cells split per round (best first), at most _BATCH_CHILDREN children per round (so that at d = 8,
# 128 children per cell, a round stays as short as at d = 4 and time limits are checked as often),
# and rows × cells per evaluation chunk
_BATCH = 2048
_BATCH_CHILDREN = 16384
_CHUNK_ENTRIES = 4_000_000
# cells from which one batch is split between threads (numpy's elementwise work releases the GIL)
_PARALLEL_MIN_CELLS = 512
# the branch and bound's cells inherit their parents' ambiguous rows from this many rows on
# (Bank Notes, n = 686: 1.2–1.4 times faster on late residuals; Iris with a bias, n = 75: 1.3 times slower, where
# the dense products over all rows are cheap; docs/mathematics.md §7.3)
_INHERIT_MIN_ROWS = 300
# ... as long as the live cells' lists and maps (in buffers up to four times their size) fit in
# this many bytes; beyond, the cells are bounded from all rows again
_INHERIT_MAX_BYTES = 512e6
# the live cells are compacted (those at the drop level removed) once their number has doubled
# since the last compaction, and no earlier than at this many; a branch and bound stops
# ('max_cells') when their arrays could still take more than _LIVE_MAX_BYTES: up to three times
# the live cells' own bytes (room to grow by doubling, and the old arrays while they are copied)
_COMPACT_MIN = 1 << 16
_LIVE_MAX_BYTES = 2e9
# from this many live cells the ones to split are found through a sample's threshold
_TOP_SAMPLE_MIN = 1 << 17


@dataclass(frozen=True)
class DualNormBound:
    """max_{‖u‖≤1} ‖Gᵀ(Xu)_+‖ lies in [``lower``, ``upper``]; ``u`` attains ``lower``.

    ``upper`` is certified (rounding margins included) whatever ``status`` is: 'optimal' when
    upper ≤ lower·(1 + tol), else 'time_limit', 'max_cells', 'stopped' (by the callback) or
    'interrupted' (Ctrl-C). ``cells`` counts the cells whose bounds were evaluated; ``peaks``
    holds ``u`` and up to 256 more directions of the largest values found, at least 0.05 rad
    apart: the atoms column generation adds next.
    """

    upper: float
    lower: float
    u: np.ndarray
    status: str
    cells: int
    rounds: int
    time_s: float
    peaks: np.ndarray | None = None  # d × k: distinct directions of high value (u first)
    vertices: np.ndarray | None = None  # the face enumeration's: vertices of its best faces (see there)


def _det_sym3(a, b, c, d, e, f):
    """Determinants of symmetric 3 × 3 matrices [[a, d, e], [d, b, f], [e, f, c]] given by their
    entries (arrays), by cofactors."""
    return a * (b * c - f * f) - d * (d * c - f * e) + e * (d * f - b * e)


def _trig_3x3(K: np.ndarray, trace: np.ndarray):
    """Largest and smallest eigenvalues of batched symmetric 3 × 3 matrices by the trigonometric
    formula (not rounded), and the six entries a, b, c (diagonal), d, e, f (K01, K02, K12)."""
    a, b, c = K[..., 0, 0], K[..., 1, 1], K[..., 2, 2]
    d, e, f = K[..., 0, 1], K[..., 0, 2], K[..., 1, 2]
    q = trace / 3.0
    p2 = (a - q) ** 2 + (b - q) ** 2 + (c - q) ** 2 + 2.0 * (d * d + e * e + f * f)
    p = np.sqrt(p2 / 6.0)
    safe = np.where(p > 0, p, 1.0)
    r = np.clip(0.5 * _det_sym3(a - q, b - q, c - q, d, e, f) / safe ** 3, -1.0, 1.0)
    phi = np.arccos(r) / 3.0
    return q + 2.0 * p * np.cos(phi), q + 2.0 * p * np.cos(phi + 2.0 * np.pi / 3.0), (a, b, c, d, e, f)


def _top_eigenvalue_3x3(K: np.ndarray, trace: np.ndarray) -> np.ndarray:
    """Largest eigenvalue of batched symmetric 3 × 3 matrices, rounded up: the trigonometric
    formula plus 10⁻⁹·trace, verified by checking that λI − K is positive semidefinite (all
    principal minors ≥ 0); where the check fails, LAPACK's value is used instead. Works on the
    six entries as separate arrays (no 3 × 3 temporaries)."""
    lam, _, (a, b, c, d, e, f) = _trig_3x3(K, trace)
    lam = lam + 1e-9 * np.abs(trace)
    A0, A1, A2 = lam - a, lam - b, lam - c
    minors_ok = ((A0 >= 0) & (A1 >= 0) & (A2 >= 0) & (A0 * A1 - d * d >= 0) & (A0 * A2 - e * e >= 0)
                 & (A1 * A2 - f * f >= 0) & (_det_sym3(A0, A1, A2, -d, -e, -f) >= 0))
    if not np.all(minors_ok):
        bad = ~minors_ok
        lam[bad] = np.linalg.eigvalsh(K[bad])[..., -1]
    return lam


def _top_vector(K: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """An eigenvector (not normalised) of batched symmetric 2 × 2 or 3 × 3 matrices K for their
    eigenvalue lam: the longer of the two rows of adj(K − λI) (2 × 2), or the largest of the
    pairwise cross products of the rows of K − λI (3 × 3)."""
    if K.shape[-1] == 2:
        p, q, b = K[..., 0, 0], K[..., 1, 1], K[..., 0, 1]
        w1 = np.stack([b, lam - p], axis=-1)
        w2 = np.stack([lam - q, b], axis=-1)
        pick = (np.einsum("...i,...i->...", w1, w1) >= np.einsum("...i,...i->...", w2, w2))[..., None]
        return np.where(pick, w1, w2)
    x, y, z = K[..., 0, 0] - lam, K[..., 1, 1] - lam, K[..., 2, 2] - lam
    d, e, f = K[..., 0, 1], K[..., 0, 2], K[..., 1, 2]
    # rows (x, d, e), (d, y, f), (e, f, z): their three pairwise cross products
    crosses = np.stack([np.stack([d * f - e * y, e * d - x * f, x * y - d * d], axis=-1),
                        np.stack([d * z - e * f, e * e - x * z, x * f - d * e], axis=-1),
                        np.stack([y * z - f * f, f * e - d * z, d * f - y * e], axis=-1)], axis=-2)
    best = np.argmax(np.einsum("...ij,...ij->...i", crosses, crosses), axis=-1)
    return np.take_along_axis(crosses, best[..., None, None], axis=-2)[..., 0, :]


def _gram(M: np.ndarray) -> np.ndarray:
    """M Mᵀ for batched small matrices, entry by entry (about twice as fast as numpy's batched
    matmul on 4,096 3 × 4 matrices, one-off)."""
    m = M.shape[-2]
    K = np.empty(M.shape[:-1] + (m,))
    for i in range(m):
        for j in range(i, m):
            K[..., i, j] = np.einsum("...d,...d->...", M[..., i, :], M[..., j, :])
            K[..., j, i] = K[..., i, j]
    return K


def _top_eigen(M: np.ndarray, need_vector: bool):
    """λ_max(MᵀM) rounded up (batched c × d matrices M), and a top right singular vector of M
    when ``need_vector``. Works on the smaller Gram matrix (MMᵀ or MᵀM): closed form up to 2 × 2,
    LAPACK above; the margin _EIG_MARGIN·trace covers the eigenvalue's rounding error."""
    c, d = M.shape[-2:]
    small_left = c <= d
    K = _gram(M if small_left else np.swapaxes(M, -1, -2))
    m = K.shape[-1]
    trace = np.trace(K, axis1=-2, axis2=-1)
    w = None
    if m == 1:
        lam = K[..., 0, 0].copy()
        if need_vector:
            w = np.ones(K.shape[:-1])
    elif m == 2:
        p, q, b = K[..., 0, 0], K[..., 1, 1], K[..., 0, 1]
        lam = 0.5 * (p + q) + np.hypot(0.5 * (p - q), b)
        if need_vector:
            w = _top_vector(K, lam)
    elif m == 3:
        lam = _top_eigenvalue_3x3(K, trace)
        if need_vector:  # a candidate direction only (λ is rounded up)
            w = _top_vector(K, lam)
    elif need_vector:
        evals, evecs = np.linalg.eigh(K)
        lam, w = evals[..., -1], evecs[..., -1]
    else:
        lam = np.linalg.eigvalsh(K)[..., -1]
    lam = np.maximum(lam, 0.0) + _EIG_MARGIN * np.abs(trace)
    if not need_vector:
        return lam, None
    v = np.einsum("...ij,...i->...j", M, w) if small_left else w
    nv = np.linalg.norm(v, axis=-1, keepdims=True)
    fallback = np.zeros_like(v)
    fallback[..., 0] = 1.0
    v = np.where(nv > 0, v / np.where(nv > 0, nv, 1.0), fallback)
    return lam, v


def _top_ranks(seg: np.ndarray, vals: np.ndarray, k: int, top: int) -> np.ndarray:
    """For pairs grouped by ``seg`` (non-decreasing cell indices < k): 0, 1, …, top − 1 for the
    largest ``vals`` of each cell (ties to the earlier pair), ``top`` for the others."""
    m = len(seg)
    rank = np.full(m, top, dtype=np.intp)
    if m == 0:
        return rank
    cnt = np.bincount(seg, minlength=k)
    starts = (np.cumsum(cnt) - cnt)[cnt > 0]
    owner = np.repeat(np.arange(len(starts)), cnt[cnt > 0])
    left = vals.astype(np.float64, copy=True)
    idx = np.arange(m)
    for j in range(top):
        best = np.maximum.reduceat(left, starts)
        pick = np.minimum.reduceat(np.where(left == best[owner], idx, m), starts)
        ok = (best > -np.inf) & (pick < m)
        rank[pick[ok]] = j
        left[pick[ok]] = -np.inf
    return rank


def _cap_max(L: np.ndarray, u0: np.ndarray, cos_r: np.ndarray, sin_r: np.ndarray) -> np.ndarray:
    """max of ℓᵀu over unit u within angle r of u0 (rows ℓ of L), rounded up: ‖ℓ‖cos(max(0, φ − r))
    with φ the angle between ℓ and u0, that is ‖ℓ‖ if φ ≤ r, else ‖ℓ‖(cos φ cos r + sin φ sin r)
    (no inverse cosine per row; continuous at φ = r, so rounding there is harmless). ``cos_r`` and
    ``sin_r`` are those of the radius as enlarged by ``_angle_margin``."""
    nl = _row_norms(L)
    cos_phi = np.clip(np.einsum("pd,pd->p", L, u0) / np.where(nl > 0, nl, 1.0), -1.0, 1.0)
    sin_phi = np.sqrt(np.maximum(1.0 - cos_phi * cos_phi, 0.0))
    val = np.where(cos_phi >= cos_r, 1.0, np.minimum(cos_phi * cos_r + sin_phi * sin_r, 1.0))
    return nl * val * (1.0 + _EIG_MARGIN) + _EIG_MARGIN * nl


def _row_norms(A: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows of a 2-D array (faster than np.linalg.norm(·, axis=1))."""
    return np.sqrt(np.einsum("pd,pd->p", A, A))


def _segment_matmul(seg: np.ndarray, rows: np.ndarray, weights, M: np.ndarray, k: int) -> np.ndarray:
    """Σ_p weights_p · M[rows_p] over the pairs p of each segment (``seg`` non-decreasing,
    < k): a k × M.shape[1] array, as one sparse product (8–20 times faster than gathering the
    rows and summing them by segments, one-off)."""
    indptr = np.zeros(k + 1, dtype=np.intp)
    np.cumsum(np.bincount(seg, minlength=k), out=indptr[1:])
    data = np.ones(len(rows)) if weights is None else weights
    return sparse.csr_array((data, rows, indptr), shape=(k, M.shape[0])) @ M


class _MapPool:
    """The fixed maps (c·d entries each) of the live cells of the branch and bound: rows of one
    buffer that children's maps are appended to, each cell an index into it, so that dropping
    and keeping cells copies no maps; compacted (or grown) when full."""

    def __init__(self, maps: np.ndarray):
        self.buf = np.empty((max(1 << 12, 4 * len(maps)), maps.shape[1]))
        self.size = 0
        self.ids = self.append(maps, np.zeros(0, np.intp))[1]

    def append(self, maps: np.ndarray, ids: np.ndarray):
        """Store ``maps`` besides the live ones (``ids``): (the live ones' new ids if the buffer
        was compacted, else None; the ids of ``maps``)."""
        moved = None
        if self.size + len(maps) > len(self.buf):
            cap = len(self.buf)
            while len(ids) + len(maps) > cap // 2:
                cap *= 2
            kept = self.buf[ids]
            self.buf = np.empty((cap, self.buf.shape[1]))
            self.buf[:len(ids)] = kept
            self.size, moved = len(ids), np.arange(len(ids), dtype=np.intp)
        self.buf[self.size:self.size + len(maps)] = maps
        new = np.arange(self.size, self.size + len(maps), dtype=np.intp)
        self.size += len(maps)
        return moved, new


class _RowLists:
    """The candidate rows of the live cells of the branch and bound: one buffer that children's
    lists are appended to, each cell a (start, length) into it, so that dropping and keeping
    cells moves no rows; compacted (or grown) when full."""

    def __init__(self, rows: np.ndarray, ptr: np.ndarray):
        self.buf = np.empty(max(1 << 16, 4 * len(rows)), dtype=np.intp)
        self.size = 0
        self.start = self.append(rows, ptr, np.zeros(0, np.intp), np.zeros(0, np.intp))[1]
        self.length = np.diff(ptr)

    def take(self, start: np.ndarray, length: np.ndarray):
        """(ptr, rows) of the lists (start, length)."""
        ptr = np.zeros(len(length) + 1, dtype=np.intp)
        np.cumsum(length, out=ptr[1:])
        return ptr, self.buf[np.repeat(start - ptr[:-1], length) + np.arange(ptr[-1])]

    def append(self, rows: np.ndarray, ptr: np.ndarray, start: np.ndarray, length: np.ndarray):
        """Store the lists (ptr, rows) besides the live ones (start, length): (the live ones'
        new starts if the buffer was compacted, else None; the starts of the new lists)."""
        moved = None
        if self.size + len(rows) > len(self.buf):
            live = int(length.sum())
            cap = len(self.buf)
            while live + len(rows) > cap // 2:
                cap *= 2
            kept_ptr, kept = self.take(start, length)
            self.buf = np.empty(cap, dtype=np.intp)
            self.buf[:live] = kept
            self.size, moved = live, kept_ptr[:-1]
        self.buf[self.size:self.size + len(rows)] = rows
        new_start = self.size + ptr[:-1]
        self.size += len(rows)
        return moved, new_start


class _LiveCells:
    """The live cells of the branch and bound, one preallocated array per field (grown by
    doubling). A round refills the slots of the cells it splits from the end and appends their
    children, so it moves O(its own cells) entries, not every live cell's (concatenating all of
    them each round had taken about half of a d = 5 run with millions of live cells, one-off).
    Cells whose bound fell to the drop level stay until a compaction, when their number has
    doubled since the last one."""

    def __init__(self, fields: dict):
        n = len(next(iter(fields.values())))
        cap = max(1 << 12, 2 * n)
        self.arrays = {}
        for key, v in fields.items():
            a = np.empty((cap,) + v.shape[1:], dtype=v.dtype)
            a[:n] = v
            self.arrays[key] = a
        self.n = n

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key][:self.n]  # a view: writing to it writes the store

    def bytes_per_cell(self) -> int:
        return sum(a.itemsize * (a.size // len(a)) for a in self.arrays.values())

    def remove(self, idx: np.ndarray):
        """Remove the cells ``idx`` (distinct), filling their slots with the last cells."""
        k = len(idx)
        tail = self.n - k
        holes = idx[idx < tail]
        taken = np.zeros(k, bool)
        taken[idx[idx >= tail] - tail] = True
        movers = tail + np.flatnonzero(~taken)  # as many as there are holes
        for a in self.arrays.values():
            a[holes] = a[movers]
        self.n = tail

    def append(self, fields: dict):
        m = len(next(iter(fields.values())))
        if self.n + m > len(self.arrays["ub"]):
            cap = 2 * (self.n + m)
            for key, a in self.arrays.items():
                b = np.empty((cap,) + a.shape[1:], dtype=a.dtype)
                b[:self.n] = a[:self.n]
                self.arrays[key] = b
        for key, v in fields.items():
            self.arrays[key][self.n:self.n + m] = v
        self.n += m

    def keep(self, mask: np.ndarray):
        """Keep the cells where ``mask`` (over the live cells) is True, in order."""
        m = int(mask.sum())
        for a in self.arrays.values():
            a[:m] = a[:self.n][mask]
        self.n = m


def _top_indices(v: np.ndarray, k: int) -> np.ndarray:
    """Indices of ``k`` largest entries of ``v`` (in no order). On a long ``v`` a threshold is
    first read off a strided sample (expected to pass about 4k entries) and only the entries
    above it are partitioned; if fewer than k pass, all of ``v`` is."""
    n = len(v)
    if k >= n:
        return np.arange(n)
    if n >= _TOP_SAMPLE_MIN and n >= 64 * k:
        sample = v[::max(1, n // (32 * k))]
        above = min(len(sample) - 1, 4 * k * len(sample) // n + 8)
        thr = np.partition(sample, len(sample) - 1 - above)[len(sample) - 1 - above]
        idx = np.flatnonzero(v >= thr)
        if len(idx) >= k:
            return idx[np.argpartition(v[idx], -k)[-k:]]
    return np.argpartition(v, -k)[-k:]


def _angle_margin(r: np.ndarray) -> np.ndarray:
    """The radius r enlarged to cover the rounding of angles."""
    return r * (1.0 + _ANGLE_MARGIN) + _ANGLE_MARGIN


class _Evaluator:
    """Bounds of f(u) = ‖Gᵀ(Xu)_+‖ on cells of the cube-sphere (a box on a face of [−1, 1]^d)."""

    def __init__(self, X: np.ndarray, G: np.ndarray, pool: ThreadPoolExecutor | None = None,
                 threads: int = 1):
        self.pool, self.threads = pool, threads
        nr = np.linalg.norm(X, axis=1)
        keep = nr > 0
        self.X = X[keep]
        self.G = G[keep]
        self.nr = nr[keep]
        self.Xn = self.X / self.nr[:, None]
        n, d = self.X.shape
        c = self.G.shape[1]
        self.d, self.c = d, c
        # row i contributes g_i x_iᵀ to the linear map of every cell where x_iᵀu > 0
        self.Wrows = (self.G[:, :, None] * self.X[:, None, :]).reshape(n, c * d)
        self.weight = np.linalg.norm(self.G, axis=1) * self.nr  # ‖g_i‖‖x_i‖
        self.Gn = self.G * self.nr[:, None]  # rows ‖x_i‖g_i: f(u) = ‖Gnᵀ(x̂ᵀu)₊‖
        m = d - 1
        self.offsets = np.array(list(itertools.product((-1.0, 1.0), repeat=m))) if m else np.zeros((1, 0))
        self.subsets = np.array(list(itertools.product((0.0, 1.0), repeat=_EXACT_AMBIGUOUS)))
        # per face axis, the other coordinates in order (a cell's box coordinates), and the steps
        # from a box's centre to its corners in full coordinates (axis × corner × d)
        self.others = np.array([[b for b in range(d) if b != a] for a in range(d)], dtype=np.intp).reshape(d, d - 1)
        self.corner_steps = np.zeros((d, len(self.offsets), d))
        for a in range(d):
            self.corner_steps[a][:, self.others[a]] = self.offsets

    def values(self, U: np.ndarray) -> np.ndarray:
        """f at the unit columns of U (d × k)."""
        return np.linalg.norm(self.G.T @ np.maximum(self.X @ U, 0.0), axis=0)

    def geometry(self, axis, sign, centre, half):
        """Unit centre directions u0 (k × d) and angular radii r of the cells (every point of the
        box is within r of u0: the cone of directions within r is convex, so its corners decide).

        A cell's points are w = (sign at ``axis``, y elsewhere) with y in the box centre ± half;
        its corners are y = centre + half·o (o ∈ {±1}^(d−1)), one pass over k × d arrays per
        corner. The angle to a corner is 2·arcsin(‖ŵ − u0‖/2), which stays accurate for tiny
        cells (an inverse cosine of the dot product loses ~10⁻¹⁶/sin r there: one-off, 2.6·10⁻¹³
        rad past the margin on a cell of radius 3.5·10⁻⁴)."""
        k, d = len(axis), self.d
        cells = np.arange(k)
        oth = self.others[axis]  # k × (d − 1): the coordinates other than the face's axis
        W0 = np.empty((k, d))
        W0[cells[:, None], oth] = centre
        W0[cells, axis] = sign
        u0 = W0 / _row_norms(W0)[:, None]
        if d == 1:
            return u0, np.zeros(k)
        r = np.zeros(k)
        for c in range(len(self.offsets)):  # 2^(d−1) corners (d = 8 has 128)
            Wc = W0 + half[:, None] * self.corner_steps[axis, c]
            dist = _row_norms(Wc / _row_norms(Wc)[:, None] - u0)
            r = np.maximum(r, 2.0 * np.arcsin(np.minimum(0.5 * dist, 1.0)))
        return u0, _angle_margin(r)

    def bounds(self, u0: np.ndarray, r: np.ndarray, drop: float | None = None, cand=None, box=None,
               keep: bool = False, group: int = 1):
        """(upper bounds, best lower values, their directions) for cells given by (u0, r).

        With ``drop``, a cell whose first, cheaper bound (the exact rows by the triangle
        inequality) is already ≤ ``drop`` keeps that bound and skips the sharper ones: the branch
        and bound discards it either way.

        ``cand`` = (ptr, rows, fixed) for the cells' parents, each the parent of ``group``
        consecutive cells: the only rows that may change sign on its children (rows[ptr[i]:
        ptr[i + 1]]) and the c·d entries of the linear map of the rows positive on it — a row of
        fixed sign on the parent's cap keeps it on the parent's box, hence on a child's. So a
        cell costs O(its parent's ambiguous rows) instead of O(n): most rows miss a small cap.
        None: every row is a candidate, none fixed (``group`` is then 1). ``box`` = (axis, sign,
        centre, half) of the cells: f at a cell's top vector is then evaluated from the same rows
        where the vector lies in the box (else it is not a candidate for the lower value), without
        it from all rows. With ``keep`` the result also holds (ptr, rows, fixed) of the rows still
        ambiguous on each cell's cap and the map of those positive on it: its children's ``cand``.
        Parents in order of their number of rows waste least on padding."""
        k = len(r)
        if cand is None:
            return self._bounds_all(u0, r, drop, box, keep)
        ptr, rows, fixed = cand
        parents = len(ptr) - 1
        if parents * group != k:
            raise ValueError(f"{parents} parents of {group} cells each, but {k} cells")
        lens = np.diff(ptr)
        parallel = self.pool is not None and k >= _PARALLEL_MIN_CELLS
        threads = self.threads if parallel else 1
        # slices of parents whose padded cell × row arrays hold at most _CHUNK_ENTRIES/threads
        # entries (they bound the temporaries); the threads share that budget, each gets a slice
        budget = max(1, _CHUNK_ENTRIES // threads)
        cap = -(-parents // threads) if parallel else parents
        bounds_at = [0]
        while bounds_at[-1] < parents:
            s0 = bounds_at[-1]
            size = np.arange(1, parents - s0 + 1) * np.maximum.accumulate(lens[s0:]) * group
            e = s0 + int(np.searchsorted(size, budget, side="right"))
            bounds_at.append(min(max(e, s0 + 1), s0 + cap))
        slices = [slice(a, b) for a, b in zip(bounds_at[:-1], bounds_at[1:])]

        def run(sl):
            m = lens[sl]
            R = np.full((len(m), int(m.max()) if len(m) else 0), -1, dtype=np.intp)
            at = np.repeat(np.arange(len(m)), m)
            R[at, np.arange(len(at)) - np.repeat(ptr[sl.start:sl.stop] - ptr[sl.start], m)] = rows[ptr[sl.start]:ptr[sl.stop]]
            cells = slice(sl.start * group, sl.stop * group)
            bx = None if box is None else tuple(x[cells] for x in box)
            return self._bounds_from_parents(u0[cells], r[cells], drop, R, fixed[sl], group, bx)

        return self._collect(run, slices, [(sl.stop - sl.start) * group for sl in slices], keep)

    def _bounds_all(self, u0, r, drop, box, keep):
        """:meth:`bounds` with every row a candidate: dense cell × row products, in slices."""
        k = len(r)
        n = self.X.shape[0]
        parallel = self.pool is not None and k >= _PARALLEL_MIN_CELLS
        threads = self.threads if parallel else 1
        # chunks bound the temporaries (k × n arrays); the threads share that budget
        step = max(1, _CHUNK_ENTRIES // max(n * threads, 1))
        if parallel:
            step = min(step, -(-k // threads))
        slices = [slice(s0, min(k, s0 + step)) for s0 in range(0, k, step)]

        def run(sl):
            T = u0[sl] @ self.Xn.T  # cos of the angle between u0 and each row
            sr = np.sin(np.minimum(r[sl], 0.5 * np.pi))[:, None]
            fixed = (T > sr).astype(np.float64) @ self.Wrows  # the rows positive on the whole cap
            flat = np.flatnonzero((T <= sr) & (T >= -sr))  # faster than the 2-D nonzero of |T| ≤ sr
            ci, ri = np.divmod(flat, n)
            bx = None if box is None else tuple(x[sl] for x in box)
            val0 = _row_norms(np.maximum(T, 0.0) @ self.Gn)  # f(u0) = ‖Gᵀ(‖x_i‖ cos α_i)₊‖
            return self._bounds_tail(u0[sl], r[sl], drop, ci, ri, T.ravel()[flat], fixed, bx, val0)

        return self._collect(run, slices, [sl.stop - sl.start for sl in slices], keep)

    def _collect(self, run, slices, sizes, keep):
        """Run the slices (on the pool's threads when there are several) and join their parts."""
        parallel = self.pool is not None and sum(sizes) >= _PARALLEL_MIN_CELLS
        if parallel and len(slices) > 1:
            parts = list(self.pool.map(run, slices))
        else:
            parts = [run(sl) for sl in slices]
        ub = np.concatenate([p_[0] for p_ in parts])
        lb = np.concatenate([p_[1] for p_ in parts])
        arg = np.vstack([p_[2] for p_ in parts])
        if not keep:
            return ub, lb, arg
        counts = np.concatenate([np.bincount(p_[4], minlength=m) for m, p_ in zip(sizes, parts)])
        nptr = np.zeros(len(ub) + 1, dtype=np.intp)
        np.cumsum(counts, out=nptr[1:])
        return ub, lb, arg, (nptr, np.concatenate([p_[5] for p_ in parts]), np.vstack([p_[3] for p_ in parts]))

    def in_box(self, v: np.ndarray, box) -> np.ndarray:
        """Whether each row of v (k × d) lies in its cell's box (on the cube-sphere)."""
        axis, sign, centre, half = box
        cells = np.arange(len(axis))
        va = v[cells, axis]
        ok = sign * va > 0
        y = v[cells[:, None], self.others[axis]] / np.where(ok, np.abs(va), 1.0)[:, None]
        return ok & np.all(np.abs(y - centre) <= half[:, None], axis=1)

    def _quad_bound(self, M: np.ndarray, u0: np.ndarray, r: np.ndarray, need_vector: bool = False):
        """max of ‖Mu‖ over unit u within angle r of u0 (from above), and M's top right vector.

        With Q = MᵀM, a = u0ᵀQu0, g = (I − u0u0ᵀ)Qu0 and λ = λ_max(Q), any unit u at angle θ
        from u0 has uᵀQu ≤ a cos²θ + 2‖g‖ sinθ cosθ + λ sin²θ = m + A cos(2θ − φ), maximised over
        θ ∈ [0, r] in closed form. Tight to second order around a maximiser of ‖Mu‖.
        """
        lam, vec = _top_eigen(M, need_vector)
        Mu = np.einsum("...ij,...j->...i", M, u0)
        Qu = np.einsum("...ij,...i->...j", M, Mu)
        a = np.einsum("...i,...i->...", Mu, Mu)
        g = np.linalg.norm(Qu - a[..., None] * u0, axis=-1)
        half_diff = 0.5 * (a - lam)
        amp = np.hypot(half_diff, g)
        phi = np.arctan2(g, half_diff)
        val = 0.5 * (a + lam) + amp * np.cos(np.maximum(0.0, phi - 2.0 * r))
        val = np.maximum(val, 0.0) * (1.0 + _EIG_MARGIN) + _EIG_MARGIN * np.maximum(lam, 0.0)
        return np.sqrt(val), vec

    def _bounds_from_parents(self, u0: np.ndarray, r: np.ndarray, drop, R: np.ndarray, fixed: np.ndarray,
                             group: int, box):
        """The bounds of :meth:`bounds` for one slice of parents, from their candidate rows R
        (parents × most rows, padded with −1); also (the cells' fixed maps, their ambiguous
        rows as (cell, row) pairs grouped by cell)."""
        k = len(r)
        d = self.d
        valid = R >= 0
        # cos of the angle between u0 and each candidate row, per parent for its children at once
        Tc = np.matmul(u0.reshape(-1, group, d), self.Xn[np.where(valid, R, 0)].transpose(0, 2, 1))
        sr = np.sin(np.minimum(r, 0.5 * np.pi)).reshape(-1, group, 1)
        pp, pj, pl = np.nonzero(valid[:, None, :] & (Tc > sr))  # rows positive on the whole cap
        fixed = np.repeat(fixed, group, axis=0) + _segment_matmul(pp * group + pj, R[pp, pl], None, self.Wrows, k)
        pp, pj, pl = np.nonzero(valid[:, None, :] & (Tc <= sr) & (Tc >= -sr))
        return self._bounds_tail(u0, r, drop, pp * group + pj, R[pp, pl], Tc[pp, pj, pl], fixed, box)

    def _bounds_tail(self, u0, r, drop, ci, ri, t, fixed, box, val0=None):
        """The bounds from a slice's ambiguous rows as (cell, row) pairs grouped by cell, with
        their cosines t, and the cells' fixed maps (and f(u0) when known); also (fixed maps,
        the ambiguous pairs)."""
        k = len(r)
        d, c = self.d, self.c
        # ambiguous rows (|cos| ≤ sin r: the hyperplane cuts the cap), as (cell, row) pairs. On the
        # cap a row's normalised value z = x̂ᵀu lies in [zlo, zhi] ∋ 0, read off the angles
        # [α − r, α + r] it makes with the cap's points. Split z₊ = θz + e(u) along the secant
        # θ = zhi/(zhi − zlo): e ≥ 0 everywhere and e ≤ R = max((1 − θ)zhi, −θ zlo) (checked
        # from θ as computed, so the rounding of θ does not matter). The _EXACT_AMBIGUOUS rows
        # of each cell with the largest slack ‖g_i‖‖x_i‖R_i enter exactly (all sign choices); for
        # each other one the linear part θz joins M and e is bounded by the triangle inequality.
        alpha = np.arccos(np.clip(t, -1.0, 1.0))
        lo = alpha - r[ci]
        hi = alpha + r[ci]
        zhi = np.maximum(np.cos(np.maximum(lo, 0.0)), 0.0)  # cos is decreasing on [0, π]
        zlo = np.minimum(np.cos(np.minimum(hi, np.pi)), 0.0)
        span = zhi - zlo
        theta = np.clip(np.divide(zhi, span, out=np.full_like(span, 0.5), where=span > 0), 0.0, 1.0)
        slack = self.weight[ri] * np.maximum((1.0 - theta) * zhi, -theta * zlo)
        # the pairs come grouped by cell (row-major order); rank the _EXACT_AMBIGUOUS largest
        # slacks of each cell 0, 1, … by segment maxima (a full sort of the pairs cost 20 % of
        # the branch and bound on Bank Notes, one-off)
        rank = _top_ranks(ci, slack, k, _EXACT_AMBIGUOUS)
        exact = rank < _EXACT_AMBIGUOUS
        tri = np.bincount(ci[~exact], weights=slack[~exact], minlength=k)
        rest = ~exact
        # the fixed map plus the linear part of the other ambiguous rows
        MP = (fixed + _segment_matmul(ci[rest], ri[rest], theta[rest], self.Wrows, k)).reshape(k, c, d)
        n_amb = np.minimum(np.bincount(ci, minlength=k), _EXACT_AMBIGUOUS)
        Wex = np.zeros((k, _EXACT_AMBIGUOUS, c * d))
        Wex[ci[exact], rank[exact]] = self.Wrows[ri[exact]]
        Wex = Wex.reshape(k, _EXACT_AMBIGUOUS, c, d)
        # an exact row e adds g_e‖x_e‖ max(z_e, 0) to Mu, so g_iᵀ of it is at most
        # max(0, g_iᵀg_e)·‖x_e‖·zhi_e on the cap: its output direction and its reach there
        Gex = np.zeros((k, _EXACT_AMBIGUOUS, c))
        Gex[ci[exact], rank[exact]] = self.G[ri[exact]]
        reach = np.zeros((k, _EXACT_AMBIGUOUS))
        reach[ci[exact], rank[exact]] = self.nr[ri[exact]] * zhi[exact]
        best_ub, v = self._quad_bound(MP, u0, r, need_vector=True)
        # a first bound: an exact row e adds g_e‖x_e‖max(z_e, 0), of norm ≤ ‖g_e‖‖x_e‖zhi_e
        first = (best_ub + np.bincount(ci[exact], weights=self.weight[ri[exact]] * zhi[exact], minlength=k)
                 + tri) * (1.0 + _EIG_MARGIN)
        sharpen = np.ones(k, bool) if drop is None else first > drop
        for subset in self.subsets[1:]:
            # only cells with enough ambiguous rows for this subset need it
            need = (n_amb > int(np.flatnonzero(subset)[-1])) & sharpen
            if not np.any(need):
                continue
            M = MP[need] + np.einsum("j,kjcd->kcd", subset, Wex[need])
            ub, _ = self._quad_bound(M, u0[need], r[need])
            best_ub[need] = np.maximum(best_ub[need], ub)
        # best_ub covers the exact rows' sign choices only where sharpened
        ub = np.where(sharpen, np.minimum(best_ub + tri * (1.0 + _EIG_MARGIN), first), first)
        rest &= sharpen[ci]
        if np.any(rest):
            # sharper than the triangle inequality: with a = Mu and b = Σ g_i‖x_i‖e_i (e_i ∈ [0, R_i]),
            # ‖a + b‖² ≤ ‖a‖² + 2 Σ ‖x_i‖R_i (g_iᵀMu)₊ + ‖b‖², and g_iᵀMu is bounded on the cap
            # by the cap's maxima of the linear forms (Mᵀg_i)ᵀu, M = MP plus any exact rows
            pc, pr, ps = ci[rest], ri[rest], slack[rest]
            cross = np.zeros(k)
            ra = _angle_margin(r)
            cos_r, sin_r = np.cos(ra), np.sin(ra)
            step = max(1, _CHUNK_ENTRIES // (c * d))  # pairs at a time: gathers of ≤ 32 MB
            for s0 in range(0, len(pc), step):
                qc, qr = pc[s0:s0 + step], pr[s0:s0 + step]
                g = self.G[qr]
                lin = _cap_max(np.einsum("pc,pcd->pd", g, MP[qc]), u0[qc], cos_r[qc], sin_r[qc])
                for j in range(_EXACT_AMBIGUOUS):
                    gg = np.einsum("pc,pc->p", g, Gex[qc, j])
                    lin += (np.maximum(gg, 0.0) * reach[qc, j] * (1.0 + _EIG_MARGIN)
                            + _EIG_MARGIN * np.abs(gg) * reach[qc, j])
                gn = _row_norms(g)
                scale = np.divide(ps[s0:s0 + step], gn, out=np.zeros_like(gn), where=gn > 0)  # ‖x_i‖R_i
                cross += np.bincount(qc, weights=scale * np.maximum(lin, 0.0), minlength=k)
            sq = best_ub * best_ub + 2.0 * cross + tri * tri
            ub = np.where(sharpen, np.minimum(ub, np.sqrt(sq * (1.0 + 4.0 * _EIG_MARGIN)) + _EIG_MARGIN * tri), ub)
        v = v * np.where(np.einsum("kd,kd->k", v, u0) < 0, -1.0, 1.0)[:, None]  # the sign facing the cell
        cand = (u0, v)
        # f(u0) from the fixed map and the ambiguous rows (u0 lies in the box, where the fixed
        # rows have their signs); f(v) likewise where v lies in the box too, from all rows
        # without a box, and not on cells about to be dropped (their values cannot raise the
        # lower bound by more than the tolerance)
        Mf = fixed.reshape(k, c, d)
        if val0 is None:
            val0 = _row_norms(np.einsum("kcd,kd->kc", Mf, u0) + _segment_matmul(ci, ri, np.maximum(t, 0.0), self.Gn, k))
        fv = np.zeros(k)
        if box is None:
            fv[sharpen] = self.values(v[sharpen].T)
        else:
            inb = sharpen & self.in_box(v, box)
            on = inb[ci]
            tv = np.einsum("pd,pd->p", v[ci[on]], self.X[ri[on]])
            F = np.einsum("kcd,kd->kc", Mf, v) + _segment_matmul(ci[on], ri[on], np.maximum(tv, 0.0), self.G, k)
            fv[inb] = _row_norms(F[inb])
        vals = np.stack([val0, fv])
        j = np.argmax(vals, axis=0)
        lb = vals[j, np.arange(k)]
        arg = np.stack(cand)[j, np.arange(k)]
        return ub, lb, arg, fixed, ci, ri

    def ascend(self, u: np.ndarray, steps: int = 30):
        """Projected power iterations u ← Xᵀ D Gᵀ... from u (an ascent heuristic for the lower value)."""
        best_u, best = u, float(self.values(u[:, None])[0])
        for _ in range(steps):
            z = self.X @ u
            h = np.maximum(z, 0.0)
            w = (z > 0) * (self.G @ (self.G.T @ h))
            u_new = self.X.T @ w
            nrm = np.linalg.norm(u_new)
            if not nrm > 0:
                break
            u = u_new / nrm
            val = float(self.values(u[:, None])[0])
            if val > best:
                best_u, best = u, val
        return best_u, best


class _Peaks:
    """The best directions seen, up to ``size`` of them mutually at least ``sep`` radians apart.

    Each batch is thinned in one vectorised pass (its best 4·``size`` candidates, at most one per
    box of side ``sep``/2 of the cube, merged with the ones kept); the greedy distance filter
    runs once, in :meth:`directions` (run per batch it cost O(size²) each time and dominated the
    branch and bound at a few hundred peaks)."""

    def __init__(self, d: int, size: int = 256, sep: float = 0.05):
        self.U = np.zeros((0, d))
        self.v = np.zeros(0)
        self.size = size
        self.sep = sep

    def add(self, U: np.ndarray, v: np.ndarray):
        cap = 4 * self.size
        if len(v) > cap:
            top = np.argpartition(v, -cap)[-cap:]
            U, v = U[top], v[top]
        U = np.vstack([self.U, U])
        v = np.concatenate([self.v, v])
        keys = np.floor(U / (0.5 * self.sep)).astype(np.int64)
        order = np.lexsort((-v,) + tuple(keys.T[::-1]))  # by box, best first within a box
        ks = keys[order]
        first = np.ones(len(order), bool)
        first[1:] = np.any(ks[1:] != ks[:-1], axis=1)
        best = order[first]
        if len(best) > cap:
            best = best[np.argpartition(v[best], -cap)[-cap:]]
        self.U, self.v = U[best], v[best]

    def directions(self, first: np.ndarray) -> np.ndarray:
        """``first`` and then the kept directions, best first, each at least ``sep`` from those before."""
        cos_sep = math.cos(self.sep)
        keep = [first]
        for i in np.argsort(self.v)[::-1]:
            if len(keep) > self.size:
                break
            if np.max(np.array(keep) @ self.U[i]) < cos_sep:
                keep.append(self.U[i])
        return np.array(keep).T


def relu_dual_norm_bound(X, G, *, tol: float = 1e-2, time_limit: float | None = None,
                         max_cells: int = 2_000_000, callback=None) -> DualNormBound:
    """Bound σ = max_{‖u‖₂ ≤ 1} ‖Gᵀ(Xu)_+‖₂ from above (certified) and below (attained).

    Branch and bound over the sphere, parametrised by the faces of the cube [−1, 1]^d: each cell
    is a box on one face, enclosed by a spherical cap (centre u0, angular radius r). On a cap, the
    rows whose hyperplane x_iᵀu = 0 misses it have a fixed sign, so f is ‖M u‖ for a fixed M plus
    the ambiguous rows: the two heaviest enter by enumerating their sign choices, the rest by the
    triangle inequality. ‖Mu‖ is bounded on the cap to second order (``_quad_bound``). Cells whose
    bound is ≤ lower·(1 + ``tol``) are dropped; the others are split best first (2^(d−1)
    children; from 300 rows on a child inherits its parent's ambiguous rows and the sum of its
    fixed ones, and is bounded from those alone). Stops when none is left ('optimal'), at
    ``time_limit`` seconds, at ``max_cells`` evaluated cells or when the live cells' arrays
    could pass 2 GB (both 'max_cells'), on Ctrl-C, or when ``callback`` (called after every round with a dict:
    round, cells, live (the cells kept, those at the drop level included until the store's next
    compaction), sigma_lower, sigma_upper, time_s) returns True ('stopped'), always with a
    valid ``upper`` (the largest bound of any cell not yet excluded). Cost grows like
    tol^(−(d−1)/2) near each maximiser and like 2^(d−1) per split: meant for small d (≤ 8).
    """
    t0 = time.perf_counter()
    X = as_float_matrix(X, "X")
    G = as_float_matrix(G, "G", allow_1d_as_column=True)
    if G.shape[0] != X.shape[0]:
        raise DataError(f"X has {X.shape[0]} rows but G has {G.shape[0]}; they must match.")
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < 1:
        raise ParameterError(f"tol must be a number in (0, 1); got {tol!r}.")
    check_time_limit(time_limit)
    max_cells = check_positive_int(max_cells, "max_cells")
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback must be callable or None; got {type(callback).__name__}.")
    d = X.shape[1]
    if d > ATOMIC_DUAL_MAX_DIM:
        raise ParameterError(
            f"the branch and bound over the sphere is offered for at most {ATOMIC_DUAL_MAX_DIM} columns "
            f"(each cell splits into 2^(d−1) children); X has d = {d}.")
    threads = cpu_cores()
    # one BLAS thread (its products here are small: with both threads the branch and bound took
    # 1.3× longer on an Iris residual, one-off) and the cells of a batch split between threads
    with blas_threads(0), ThreadPoolExecutor(threads) as pool:
        ev = _Evaluator(X, G, pool if threads > 1 else None, threads)
        return _branch_and_bound(ev, d, tol, time_limit, max_cells, callback, t0)


def _branch_and_bound(ev: _Evaluator, d: int, tol: float, time_limit, max_cells: int, callback,
                      t0: float) -> DualNormBound:
    """The loop of :func:`relu_dual_norm_bound` on an evaluator (arguments already checked)."""
    if ev.X.shape[0] == 0 or not np.any(ev.G):
        u = np.zeros(d)
        u[0] = 1.0
        return DualNormBound(0.0, 0.0, u, "optimal", 0, 0, time.perf_counter() - t0)

    # the 2d faces of the cube, one cell each (centre 0, half-width 1)
    axis = np.repeat(np.arange(d), 2)
    sign = np.tile([1.0, -1.0], d)
    centre = np.zeros((2 * d, d - 1))
    half = np.ones(2 * d)
    u0, r = ev.geometry(axis, sign, centre, half)
    # with many rows, each live cell keeps the rows that may change sign on it and the map of
    # the others positive on it: its children start from them (most rows miss a small cap)
    inherit = ev.X.shape[0] >= _INHERIT_MIN_ROWS
    if inherit:
        ub, lbv, arg, (ptr, rows, fixed) = ev.bounds(u0, r, box=(axis, sign, centre, half), keep=True)
        lists, maps = _RowLists(rows, ptr), _MapPool(fixed)
        start, length, fid = lists.start, lists.length, maps.ids
    else:
        ub, lbv, arg = ev.bounds(u0, r)
        start = length = fid = np.zeros(len(ub), dtype=np.intp)
    live = _LiveCells({"axis": axis, "sign": sign, "centre": centre, "half": half, "ub": ub,
                       "start": start, "length": length, "fid": fid})
    rows_live = int(length.sum())  # the live cells' inherited rows (when they inherit)
    compact_at = _COMPACT_MIN
    cells = len(ub)
    j = int(np.argmax(lbv))
    best_u, lower = ev.ascend(arg[j])
    peaks = _Peaks(d)
    peaks.add(arg, lbv)
    pruned_max = pending = 0.0
    rounds = 0
    status = "optimal"
    children = ev.offsets * 0.5  # child centre offsets in units of the parent's half-width

    def compact():
        """Drop the cells whose bound is at the drop level (the largest dropped bound is kept)."""
        nonlocal pruned_max, rows_live, compact_at
        ub = live["ub"]
        drop = ub <= lower * (1.0 + tol)
        if np.any(drop):
            pruned_max = max(pruned_max, float(ub[drop].max()))
            live.keep(~drop)
            rows_live = int(live["length"].sum())
        compact_at = max(_COMPACT_MIN, 2 * live.n)

    try:
        while True:
            if d == 1:  # the "sphere" is {−1, +1}: r = 0 and the bounds are exact
                pruned_max = max(pruned_max, float(live["ub"].max()))
                live.keep(np.zeros(live.n, bool))
                break
            if live.n >= compact_at or 3 * live.n * live.bytes_per_cell() > _LIVE_MAX_BYTES:
                compact()
            ub = live["ub"]
            if live.n == 0:
                break
            # the cells with the largest bounds (those above the drop level) are split next
            take = min(_BATCH, max(1, _BATCH_CHILDREN // len(children)), live.n)
            sel = _top_indices(ub, take)
            sel = sel[ub[sel] > lower * (1.0 + tol)]
            if len(sel) == 0:  # no cell left above the drop level
                compact()
                break
            if callback is not None and rounds > 0:
                rec = {"round": rounds, "cells": cells, "live": live.n, "sigma_lower": lower,
                       "sigma_upper": max(pruned_max, float(ub.max()), lower) * (1.0 + _RESULT_MARGIN),
                       "time_s": time.perf_counter() - t0}
                if callback(rec) is True:
                    status = "stopped"
                    break
            if time_limit is not None and time.perf_counter() - t0 >= time_limit:
                status = "time_limit"
                break
            if cells >= max_cells:
                status = "max_cells"
                break
            if 3 * live.n * live.bytes_per_cell() > _LIVE_MAX_BYTES:
                status = "max_cells"  # the live cells' memory, after a compaction
                break
            sel = sel[np.argsort(live["length"][sel], kind="stable")]  # parents by their number of rows: least padding
            p_axis, p_sign, p_centre, p_half, p_ub, p_start, p_length, p_fid = (
                live[key][sel] for key in ("axis", "sign", "centre", "half", "ub", "start", "length", "fid"))
            nc = len(children)
            c_axis = np.repeat(p_axis, nc)
            c_sign = np.repeat(p_sign, nc)
            c_half = np.repeat(p_half * 0.5, nc)
            c_centre = (p_centre[:, None, :] + p_half[:, None, None] * children[None, :, :]).reshape(-1, d - 1)
            parent_ub = np.repeat(p_ub, nc)
            u0, r = ev.geometry(c_axis, c_sign, c_centre, c_half)
            if inherit:
                p_ptr, p_rows = lists.take(p_start, p_length)  # the children start from their parent's rows
                c_ub, c_lb, c_arg, (c_ptr, c_rows, c_fixed) = ev.bounds(
                    u0, r, drop=lower * (1.0 + tol), cand=(p_ptr, p_rows, maps.buf[p_fid]),
                    box=(c_axis, c_sign, c_centre, c_half), keep=True, group=nc)
                rows_live -= int(p_length.sum())
            else:
                c_ub, c_lb, c_arg = ev.bounds(u0, r, drop=lower * (1.0 + tol))
            c_ub = np.minimum(c_ub, parent_ub)  # a child lies inside its parent
            cells += len(c_ub)
            rounds += 1
            j = int(np.argmax(c_lb))
            if c_lb[j] > lower:
                best_u, lower = ev.ascend(c_arg[j])
            peaks.add(c_arg, c_lb)
            # the parents leave the store and their children enter it; until they are in, the
            # parents' largest bound stands for them (a Ctrl-C may come between the two)
            pending = float(p_ub.max())
            live.remove(sel)
            if inherit:  # the live cells' lists and maps, unless they would outgrow their memory cap
                def within():
                    entries = rows_live + len(c_rows) + (live.n + len(c_fixed)) * c_fixed.shape[1]
                    return 4 * 8 * entries <= _INHERIT_MAX_BYTES

                if not within():
                    compact()  # cells at the drop level first
                inherit = within()
            if inherit:
                moved, c_start = lists.append(c_rows, c_ptr, live["start"], live["length"])
                if moved is not None:
                    live["start"][:] = moved
                moved, c_fid = maps.append(c_fixed, live["fid"])
                if moved is not None:
                    live["fid"][:] = moved
                c_length = np.diff(c_ptr)
                rows_live += len(c_rows)
            else:  # from here on every cell is bounded from all rows
                lists = maps = None
                for key in ("start", "length", "fid"):
                    live[key][:] = 0
                c_start = c_length = c_fid = np.zeros(len(c_ub), dtype=np.intp)
            live.append({"axis": c_axis, "sign": c_sign, "centre": c_centre, "half": c_half, "ub": c_ub,
                         "start": c_start, "length": c_length, "fid": c_fid})
            pending = 0.0
    except KeyboardInterrupt:
        status = "interrupted"
    upper = max(pruned_max, pending, float(live["ub"].max()) if live.n else 0.0, lower)
    upper *= 1.0 + _RESULT_MARGIN
    peaks.add(best_u[None, :], np.array([lower]))
    return DualNormBound(upper, lower, best_u, status, cells, rounds, time.perf_counter() - t0,
                         peaks.directions(best_u))


def _scaled_dual_value(R: np.ndarray, Y: np.ndarray, sigma: float, reg: float) -> tuple[float, float]:
    """(max over 0 ≤ s ≤ min(1, γ/σ) of s⟨R, Y⟩ − ½s²‖R‖², rounded down by its floating-point
    error, and the maximising s)."""
    rr = float(np.vdot(R, R))
    ry = float(np.vdot(R, Y))
    if rr <= 0:
        return 0.0, 0.0
    smax = 1.0 if sigma <= reg else reg / sigma
    s = min(max(ry / rr, 0.0), smax)
    size = 0.5 * s * s * rr + s * float(np.linalg.norm(R)) * float(np.linalg.norm(Y))
    return round_down(s * ry - 0.5 * s * s * rr, size, R.size), s


def atomic_dual_bound(X, Y, reg: float, predictions, *, tol: float = 1e-2, time_limit: float | None = None,
                      max_cells: int = 2_000_000, value: float | None = None, callback=None,
                      oracle: str = "auto") -> SolveResult:
    """Certified lower bound on p* (every width) from the residual Γ = Y − ``predictions``.

    ``X`` is the design matrix the network acts on (with its ones column when it has a bias,
    which is weight-decayed like the rest: the library's convention). σ̄ comes from the exact
    face enumeration (:func:`convexnn.atomic_dual_faces.relu_dual_norm_faces`; ``oracle`` 'faces',
    or 'auto' when it has at most 5·10⁶ faces and finishes within ``time_limit``) or else from
    :func:`relu_dual_norm_bound` with relative accuracy ``tol`` and the given limits; the bound is
    s⟨Γ, Y⟩ − ½s²‖Γ‖² with s = min(1, γ/σ̄, ⟨Γ, Y⟩/‖Γ‖²), valid whenever σ̄ is (always). Tight
    when the network is globally optimal. ``value`` (the network's objective, optional) is
    reported as the result's value, so that ``gap`` is the network's certified gap. ``callback``
    gets, after every round of the branch and bound, a dict with iteration, value, lower_bound (the
    bound from the current σ̄), sigma_lower, sigma_upper, cells, time_s; returning True stops it
    (with a valid bound).
    Returns a SolveResult (method 'atomic-dual'); ``info`` has sigma_upper, sigma_lower, the
    scaling, cells and the maximising direction.
    """
    t0 = time.perf_counter()
    X, Y = check_XY(X, Y)
    reg = check_reg(reg)
    P = as_float_matrix(predictions, "predictions", allow_1d_as_column=True)
    if P.shape != Y.shape:
        raise DataError(f"predictions have shape {P.shape} but Y has {Y.shape}; they must match.")
    if not np.all(np.isfinite(P)):
        raise DataError("predictions contain NaN or inf; no bound can be certified from them.")
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback must be callable or None; got {type(callback).__name__}.")
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)
                              or not np.isfinite(value)):
        raise ParameterError(f"value must be a finite number (the network's objective) or None; got {value!r}.")
    if not isinstance(oracle, str) or oracle not in ORACLES:
        raise ParameterError(f"oracle must be one of {', '.join(map(repr, ORACLES))}; got {oracle!r}.")
    R = Y - P
    nb = None
    if oracle != "branch-and-bound":
        from .atomic_dual_faces import arrangement_face_count, enumeration_fits, relu_dual_norm_faces

        count = arrangement_face_count(X)
        if oracle == "faces" or enumeration_fits(X):
            nb = relu_dual_norm_faces(X, R, max_faces=max(count, 1), time_limit=time_limit)
            if nb is not None and nb.status == "time_limit" and oracle == "auto":
                nb = None  # out of time: the branch and bound's anytime bound is the better fallback

    def relay(rec):  # the oracle's round record, with the bound its current σ̄ gives
        return callback({"iteration": rec["round"], "value": value,
                         "lower_bound": _scaled_dual_value(R, Y, rec["sigma_upper"], reg)[0],
                         "sigma_lower": rec["sigma_lower"], "sigma_upper": rec["sigma_upper"],
                         "cells": rec["cells"], "time_s": time.perf_counter() - t0})

    if nb is None:
        if time_limit is not None:  # what the enumeration left of it
            time_limit = max(1e-3, float(time_limit) - (time.perf_counter() - t0))
        nb = relu_dual_norm_bound(X, R, tol=tol, time_limit=time_limit, max_cells=max_cells,
                                  callback=None if callback is None else relay)
    bound, s = _scaled_dual_value(R, Y, nb.upper, reg)
    status = nb.status
    info = {"sigma_upper": nb.upper, "sigma_lower": nb.lower, "sigma_status": nb.status,
            "scale": s, "reg": reg, "cells": nb.cells, "direction": nb.u.tolist(),
            "tolerance": tol}
    elapsed = time.perf_counter() - t0
    rec = {"iteration": nb.rounds, "value": value, "lower_bound": bound, "sigma_upper": nb.upper,
           "sigma_lower": nb.lower, "time_s": elapsed}
    return SolveResult(method="atomic-dual", value=value, lower_bound=bound, status=status,
                       iterations=nb.rounds, time_s=elapsed, history=[rec],
                       solution={"direction": nb.u, "Gamma": R, "sigma_upper": float(nb.upper)},
                       info=info)


# ============================================================================ column generation

# random directions of the first dictionary, and its memory cap (the n × k matrix of features)
_CG_DIRECTIONS = 5000
_CG_DICTIONARY_BYTES = 64e6
# atoms added per round around each peak of the oracle, and their spreads (radians, roughly)
_CG_CLOUD = 8
_CG_SPREADS = (0.02, 0.1)
# atoms added per round from the faces' maxima (the most violated first), and the time per face
# (of arrangement_face_count's estimate) assumed before the first enumeration has been timed
# (2 cores: 0.5 µs for Iris with a bias, 4.0·10⁷ faces in 20 s, 2026-12-07; the guess leaves room
# for slower machines, and an enumeration that projects its end beyond its time limit gives up
# early, leaving the rest of the time to the branch and bound)
_CG_FACE_PEAKS = 128
_FACE_SECONDS = 6e-7
# 'auto' enumerates an arrangement beyond the default size when its expected time is at most this
# share of the time limit
_CG_FACES_SHARE = 0.8
# pricing between certifications: candidate directions (the arrangement's vertices, all of them or a
# sample), at most _PRICE_ENTRIES rows × candidates; the violated ones at least _PRICE_SEP rad apart,
# at most _PRICE_ATOMS per round; a certification at least every _CG_PRICE_ROUNDS rounds
_PRICE_ENTRIES = 5e7
_PRICE_SEP = 0.02
_PRICE_ATOMS = 100
_PRICE_EXTRA = 5000
# ... and the maxima of the faces around the best _PRICE_LOCAL vertices (one-off, Iris: gaps 2.8 and
# 2.9 % at γ = 0.01 against 3.5 and 5.7 % without, 0.15 % against 0.37 % under the paper protocol)
_PRICE_LOCAL = 2000
# ... at most this many faces in all (3^(d−1) around each vertex: no cap at d ≤ 5, 91 vertices at
# d = 8, where 2,000 took 9 s per round on Pima, one-off)
_PRICE_LOCAL_FACES = 200_000
# ... and around the vertices of the faces where the last certification found its best maxima
# (one-off, Iris paper protocol and γ = 0.1: 'optimal' after 12 and 8 s instead of 15–18 and 10–11 s)
_PRICE_FACE_VERTICES = True
_CG_PRICE_ROUNDS = 15
# ... and, where the branch and bound certifies (a sample of the vertices misses the maxima there:
# one-off, Bank Notes after 15 priced rounds, 1.001γ found against σ = 1.183γ), the ends of
# _PRICE_ASCENT_STEPS projected power iterations from _PRICE_ASCENT_STARTS random directions
# (2,000 and 20 rather than 4,000 and 30: half the time, 0.7 s against 1.3 s per round on Bank
# Notes, for maxima within about 1 %, one-off) (at
# most _PRICE_ENTRIES/10 rows × starts), from the best candidates and from the maxima found before
# (at most _PRICE_ASCENT_KEEP of them, tracked from round to round as the residual moves); up to
# _PRICE_ASCENT_ATOMS atoms per round from them
_PRICE_ASCENT_STARTS = 2000
_PRICE_ASCENT_STEPS = 20
_PRICE_ASCENT_KEEP = 500
_PRICE_ASCENT_ATOMS = 100
# the branch and bound's certifications: the time kept for the next one, this multiple of the last
# one's time (later residuals are flatter and take longer: one-off, Bank Notes 8 s in round 1, 16 s
# after nine priced rounds), and before any has run this share of the time limit
_CG_BNB_MARGIN = 1.6
_CG_BNB_FIRST = 0.5
# the first round certifies too (a bound early on) when the enumeration should take at most this
# fraction of the time limit
_CG_FIRST_CERTIFY = 0.1
# working set of the master problem: atoms added per pass, FISTA iterations per pass
_CG_ADD = 300
# a branch-and-bound certification in column generation ends at its round's precision or at
# _CG_MAX_CELLS cells when another would fit after it; otherwise it refines its bound to
# _CG_FINAL_TOL·tol, the deadline or _CG_LAST_MAX_CELLS cells (and the live cells' memory cap)
_CG_MAX_CELLS = 2_000_000
_CG_LAST_MAX_CELLS = 10**9
_CG_FINAL_TOL = 0.2
_CG_FISTA_ITERATIONS = 3000
# the master's Newton solver (over n × n systems, so up to this many rows; FISTA beyond)
_CG_NEWTON_MAX_ROWS = 400
# ... used where the exact oracle (the enumeration) has time for at least this many certifications
# in what is left of the time limit (docs/mathematics.md §7.3: an exact master's residual is tight
# on the dictionary and larger between its atoms until the enumerations' maxima join it; with one
# or two certifications FISTA's inexact residual certified more: Iris with a bias, γ = 0.01)
_CG_NEWTON_ENUMERATIONS = 5
# ... stopping at this relative duality gap, for working sets of at most _CG_NEWTON_MAX_ATOMS atoms
# (beyond: FISTA's passes), in passes of _CG_NEWTON_ITERATIONS iterations, _CG_NEWTON_PASSES at most
_CG_NEWTON_TOL = 1e-6
_CG_NEWTON_MAX_ATOMS = 3000
_CG_NEWTON_ITERATIONS = 20
_CG_NEWTON_PASSES = 50
# the final stretch that certifies every round while pricing misses the certified maxima: room for
# this many enumerations, at most this share of the time limit (one-off, Iris γ = 0.01: 0.67–1.48 %
# against 1.39–2.90 % with the last enumeration only; docs/mathematics.md §7.3)
_CG_FINAL = 4.0
_CG_FINAL_SHARE = 0.4


def _power_ascent(X: np.ndarray, G: np.ndarray, U: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Projected power iterations u ← Xᵀ diag(Xu > 0) G Gᵀ (Xu)_+ (normalised) from every column
    of U: (the best value of ‖Gᵀ(Xu)_+‖ each start reached, its direction). Within a cell of the
    arrangement this is the power method of the cell's quadratic form, so the value only climbs
    until the iterate changes cells; the best iterate is kept. (Also builds the later residuals
    of benchmarks/oracle.py.)"""
    z = X @ U
    best_v = np.linalg.norm(G.T @ np.maximum(z, 0.0), axis=0)
    best_u = U.copy()
    for _ in range(steps):
        U = X.T @ ((z > 0) * (G @ (G.T @ np.maximum(z, 0.0))))
        U = U / np.maximum(np.linalg.norm(U, axis=0), 1e-300)
        z = X @ U
        v = np.linalg.norm(G.T @ np.maximum(z, 0.0), axis=0)
        up = v > best_v
        best_v[up] = v[up]
        best_u[:, up] = U[:, up]
    return best_v, best_u


class _Pricer:
    """Heuristic separation between certifications: the values of f at a fixed set of candidate
    directions — the vertices of the hyperplane arrangement (rays where d − 1 hyperplanes meet),
    all of them when few enough, else a random sample — plus the maxima the oracles found, plus
    the maxima (for the current residual) of the faces around the best vertices. f is
    convex on each cell of the arrangement, so its maxima sit on low-dimensional faces, often at
    vertices, which random directions miss (one-off, Iris γ = 0.01, first round: 20,000 random
    directions and power iterations found 1.23γ, the branch and bound 1.59γ, the vertices 1.574γ,
    the exact value)."""

    def __init__(self, X: np.ndarray, rng: np.random.Generator, ascent: bool = False):
        from .atomic_dual_faces import _design, _Faces

        self.X = X
        self.rng = rng
        self.ascent = ascent
        self.tracked = np.zeros((X.shape[1], 0))  # the ascent's violated maxima of the last round
        n, d = X.shape
        H, ap, am, B, _ = _design(X, np.zeros((n, 1)))
        h, r = H.shape
        budget = int(max(1000, _PRICE_ENTRIES // max(n, 1)))
        self.T = None  # the hyperplane subsets of the vertices (columns j and j + k of C: ±v)
        if r <= 1 or h < r - 1:
            C = rng.standard_normal((d, min(budget, 1000)))
        else:
            total = math.comb(h, r - 1)
            if 2 * total <= budget:
                T = np.array(list(itertools.combinations(range(h), r - 1)), dtype=np.intp).reshape(-1, r - 1)
            else:  # a sample of subsets (repeats are harmless, repeated rows are dropped as dependent)
                T = np.sort(rng.integers(0, h, size=(budget // 2, r - 1)), axis=1)
            v, _, ok = _Faces(H, np.zeros((h, 1)), np.zeros((h, 1))).vertices(T)
            self.T = T[ok]
            self.H_count = h
            V = B @ v[ok].T
            C = np.hstack([V, -V])
        self.C = C / np.maximum(np.linalg.norm(C, axis=0), 1e-300)
        self.extra = np.zeros((d, 0))
        self.T_extra = None  # vertices (hyperplane subsets) of the last certification's best faces

    def add(self, U: np.ndarray, vertices: np.ndarray | None = None):
        """Directions to price from now on (the oracle's maxima), and the vertices of the faces
        that held the last certification's best maxima: their faces are re-solved every round
        (the maxima move with the residual, and their faces' vertices need not rank among the best:
        one-off, Iris paper protocol, a certified 1.034γ on a face whose 7 vertices ranked
        3,977th to 55,193rd by their own values, while pricing had found 1.004γ)."""
        self.extra = np.hstack([U, self.extra])[:, :_PRICE_EXTRA]
        if vertices is not None and self.T is not None and len(vertices):
            self.T_extra = vertices

    def _values(self, G: np.ndarray, C: np.ndarray) -> np.ndarray:
        step = max(1, int(_PRICE_ENTRIES // (4 * max(self.X.shape[0], 1))))
        return np.concatenate([np.linalg.norm(G.T @ np.maximum(self.X @ C[:, s:s + step], 0.0), axis=0)
                               for s in range(0, C.shape[1], step)] or [np.zeros(0)])

    def _ascend(self, G: np.ndarray, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`_power_ascent` from every column of U, in slices of bounded memory."""
        step = max(1, int(_PRICE_ENTRIES // (10 * max(self.X.shape[0], 1))))
        parts = [_power_ascent(self.X, G, U[:, s:s + step], _PRICE_ASCENT_STEPS) for s in range(0, U.shape[1], step)]
        return np.concatenate([p_[0] for p_ in parts]), np.hstack([p_[1] for p_ in parts])

    def violated(self, G: np.ndarray, reg: float):
        """(the largest value found, the violated candidates: value > reg, best first, at least
        _PRICE_SEP apart, at most _PRICE_ATOMS)."""
        from .atomic_dual_faces import _CHUNK_ENTRIES, _chunk, _design, _Faces

        C = np.hstack([self.extra, self.C])
        vals = self._values(G, C)
        local = min(_PRICE_LOCAL, _PRICE_LOCAL_FACES // 3 ** self.T.shape[1]) if self.T is not None else 0
        if local > 0:
            # the faces around the best vertices: their maxima (inside them) for this residual
            k = len(self.T)
            at = vals[self.extra.shape[1]:]
            best = np.maximum(at[:k], at[k:])
            sel = np.argpartition(best, -local)[-local:] if k > local else np.arange(k)
            H, ap, am, B, _ = _design(self.X, G)
            if H.shape[0] == self.H_count:
                F = _Faces(H, ap, am)
                T = self.T[sel] if self.T_extra is None else np.unique(np.vstack([self.T[sel], self.T_extra]), axis=0)
                step = int(max(64, _CHUNK_ENTRIES // max(len(H), 1)))  # vertices × hyperplanes per chunk
                parts = [_chunk(F, T[i:i + step]) for i in range(0, len(T), step)]
                U = np.vstack([p_[1] for p_ in parts])
                inside = np.concatenate([p_[2] for p_ in parts])
                D = B @ U[inside].T
                D /= np.maximum(np.linalg.norm(D, axis=0), 1e-300)
                C = np.hstack([C, D])
                vals = np.concatenate([vals, self._values(G, D)])
        atoms = _PRICE_ATOMS
        if self.ascent:  # climb from random directions, the best candidates and the maxima found before
            d = self.X.shape[1]
            k = int(min(_PRICE_ASCENT_STARTS, max(100, _PRICE_ENTRIES // (10 * max(self.X.shape[0], 1)))))
            R = self.rng.standard_normal((d, k))
            top_c = np.argsort(vals)[::-1][:_PRICE_ASCENT_KEEP]
            S = np.hstack([R / np.maximum(np.linalg.norm(R, axis=0), 1e-300), self.tracked,
                           self.extra[:, :_PRICE_ASCENT_KEEP], C[:, top_c]])
            av, au = self._ascend(G, S)
            order = np.argsort(av)[::-1]
            self.tracked = au[:, order[av[order] > reg][:_PRICE_ASCENT_KEEP]]
            C = np.hstack([C, au])
            vals = np.concatenate([vals, av])
            atoms += _PRICE_ASCENT_ATOMS
        top = float(vals.max()) if len(vals) else 0.0
        idx = np.flatnonzero(vals > reg)
        idx = idx[np.argsort(vals[idx])[::-1]]
        keep: list[int] = []
        cos_sep = math.cos(_PRICE_SEP)
        for i in idx:
            if len(keep) >= atoms:
                break
            if not keep or np.max(C[:, keep].T @ C[:, i]) < cos_sep:
                keep.append(int(i))
        return top, C[:, keep]


def _group_lasso_fista(H: np.ndarray, Y: np.ndarray, reg: float, W: np.ndarray, iterations: int,
                       deadline: float) -> np.ndarray:
    """min_W ½‖HW − Y‖² + γ Σ_j ‖W_j‖ (rows W_j) by FISTA with adaptive restart, from W."""
    n, k = H.shape
    gram = H.T @ H if k <= n else H @ H.T
    L = float(np.linalg.eigvalsh(gram)[-1]) if k else 0.0
    if not L > 0:
        return np.zeros_like(W)
    Z = W.copy()
    t = 1.0
    # the gradient Hᵀ(HZ − Y) through the k × k Gram matrix when that is the smaller product
    HtY = H.T @ Y if k <= n else None
    # (the loop is dominated by numpy's per-call overhead at these sizes: row norms by einsum and
    # the step W_new − W formed once, 15–20 % faster than np.linalg.norm calls, one-off)
    for it in range(iterations):
        grad = gram @ Z - HtY if HtY is not None else H.T @ (H @ Z - Y)
        step = Z - grad / L
        nr = np.sqrt(np.einsum("ij,ij->i", step, step))[:, None]
        W_new = step * np.maximum(0.0, 1.0 - (reg / L) / np.maximum(nr, 1e-300))
        t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
        diff = W_new - W
        if np.vdot(Z - W_new, diff) > 0:  # restart the momentum when it points uphill
            Z, t_new = W_new, 1.0
        else:
            Z = W_new + ((t - 1.0) / t_new) * diff
        done = math.sqrt(np.vdot(diff, diff)) <= 1e-10 * max(1.0, math.sqrt(np.vdot(W, W)))
        W, t = W_new, t_new
        if done or (it % 50 == 49 and time.perf_counter() >= deadline):
            break
    return W


def _eta_value(H: np.ndarray, Y: np.ndarray, reg: float, eta: np.ndarray):
    """g(η) = ½⟨Y, Γ⟩ + ½γ Σ_j η_j with Γ = γ(H diag(η) Hᵀ + γI)⁻¹ Y, the group lasso's
    variational form (γ‖w‖ = min over η > 0 of ½γ(‖w‖²/η + η), then W eliminated): (g, ∇g, Γ,
    S = HᵀΓ, the Cholesky factor of H diag(η) Hᵀ + γI). ∂g/∂η_j = ½γ(1 − ‖S_j‖²/γ²)."""
    M = (H * eta) @ H.T
    M[np.diag_indices_from(M)] += reg
    factor = scipy.linalg.cho_factor(M, check_finite=False)
    G = reg * scipy.linalg.cho_solve(factor, Y, check_finite=False)
    S = H.T @ G
    value = 0.5 * float(np.vdot(Y, G)) + 0.5 * reg * float(eta.sum())
    grad = 0.5 * reg * (1.0 - np.einsum("ij,ij->i", S, S) / (reg * reg))
    return value, grad, G, S, factor


def _group_lasso_newton(H: np.ndarray, Y: np.ndarray, reg: float, eta: np.ndarray, deadline: float,
                        tol: float | None = None, iterations: int | None = None):
    """min over η ≥ 0 of g(η) (:func:`_eta_value`), a smooth convex problem whose solution gives
    the group lasso's W_j = η_j S_j/γ and its residual Y − HW = Γ: projected Newton steps on the
    variables not held at zero (Bertsekas' ε-active set), with Levenberg damping (the Hessian
    (HᵀM⁻¹H ∘ SSᵀ)/γ has rank at most n·c), until the duality gap of (W, the scaled Γ) is at most
    ``tol`` relative. FISTA on W stalls on these ill-conditioned dictionaries (one-off, Iris with a
    bias at γ = 0.01: objective 0.4013 where the optimum, Clarabel's and this, is 0.39001).
    Returns (η, Γ, S, whether the gap reached ``tol``)."""
    tol = _CG_NEWTON_TOL if tol is None else tol
    value, grad, G, S, factor = _eta_value(H, Y, reg, eta)
    damping = 1e-3
    for _ in range(_CG_NEWTON_ITERATIONS if iterations is None else iterations):
        # the network W_j = η_j S_j/γ has the residual Y − HW = Γ exactly (HW = (M − γI)Γ/γ = Y − Γ)
        primal = 0.5 * float(np.vdot(G, G)) + float(np.dot(np.linalg.norm(S, axis=1), eta))  # γ‖W_j‖ = η_j‖S_j‖
        sigma = float(np.sqrt(np.max(np.einsum("ij,ij->i", S, S), initial=0.0)))  # on these atoms
        dual, _ = _scaled_dual_value(G, Y, sigma, reg)
        if primal - dual <= tol * abs(primal):
            return eta, G, S, True
        if time.perf_counter() >= deadline:
            break
        # HᵀM⁻¹H = LᵀL with L = C⁻ᵀH (M = CᵀC): its diagonal for all, its block for the free variables
        L = scipy.linalg.solve_triangular(factor[0], H, trans="T", lower=factor[1], check_finite=False)
        diag = np.maximum(np.einsum("ij,ij->j", L, L) * np.einsum("ij,ij->i", S, S) / reg, 1e-300)
        width = float(np.linalg.norm(eta - np.maximum(0.0, eta - grad / diag)))
        held = (eta <= min(1e-3 * float(eta.max(initial=0.0)), width)) & (grad > 0)
        free = np.flatnonzero(~held)
        step = -grad / diag  # held variables: a scaled gradient step (to zero)
        if len(free):
            Lf, Sf = L[:, free], S[free]
            Hf = (Lf.T @ Lf) * (Sf @ Sf.T) / reg
            # (plus a floor for atoms whose features vanish on the data: zero rows of the Hessian)
            Hf[np.diag_indices_from(Hf)] += damping * diag[free] + 1e-12 * float(np.mean(diag[free]))
            try:
                with warnings.catch_warnings():  # an ill-conditioned step is the line search's to judge
                    warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
                    step[free] = -scipy.linalg.solve(Hf, grad[free], assume_a="pos", check_finite=False)
            except (np.linalg.LinAlgError, ValueError):
                step[free] = -np.linalg.lstsq(Hf, grad[free], rcond=None)[0]
        if not np.all(np.isfinite(step)):
            break
        alpha, accepted = 1.0, None
        while alpha >= 1e-12:
            trial = np.maximum(0.0, eta + alpha * step)
            try:
                out = _eta_value(H, Y, reg, trial)
            except np.linalg.LinAlgError:
                out = None
            if out is not None and out[0] <= value - 1e-4 * float(np.dot(grad, eta - trial)):
                accepted = (trial, out)
                break
            alpha *= 0.5
        if accepted is None:
            break
        damping = damping / 10 if alpha == 1.0 else (damping if alpha >= 0.25 else damping * 10)
        damping = min(max(damping, 1e-12), 1e6)
        eta, (value, grad, G, S, factor) = accepted
    return eta, G, S, False


def _master_budget(remaining: float, keep: float | None) -> float:
    """Seconds a master pass may take: 30 % of the time left, but not into the time ``keep``
    reserved for the next branch-and-bound certification (a pass could otherwise leave less than
    it needs by the time the round decides), though at least 5 % of the time left; a reserve
    larger than the time left cannot be kept anyway (``keep`` None: no reserve)."""
    budget = 0.3 * remaining
    if keep is not None and remaining > keep:
        budget = min(budget, max(remaining - keep, 0.05 * remaining))
    return budget


def _solve_master(H: np.ndarray, Y: np.ndarray, reg: float, W: np.ndarray, deadline: float,
                  exact: bool = True) -> np.ndarray:
    """The atomic problem restricted to the dictionary's atoms (a group lasso over the features
    H = (X D)_+), solved over a working set of atoms that grows by the most violated optimality
    conditions ‖H_jᵀ(Y − HW)‖ ≤ γ: with ``exact``, by :func:`_group_lasso_newton` from the current
    weights (η_j = ‖W_j‖, zero included) where n ≤ _CG_NEWTON_MAX_ROWS and the working set has at
    most _CG_NEWTON_MAX_ATOMS atoms, else by FISTA passes (which stop short of the optimum on
    ill-conditioned dictionaries)."""
    if not (exact and H.shape[0] <= _CG_NEWTON_MAX_ROWS):
        return _solve_master_fista(H, Y, reg, W, deadline)
    eta = np.linalg.norm(W, axis=1)
    G = Y - H @ W
    scores = np.linalg.norm(H.T @ G, axis=1)
    active = np.union1d(np.flatnonzero(eta > 0), np.argsort(scores)[-_CG_ADD:])
    best = W
    passes = 0
    while True:
        if len(active) > _CG_NEWTON_MAX_ATOMS:  # its k × k systems would cost more than FISTA's passes
            return _solve_master_fista(H, Y, reg, best, deadline)
        try:
            # one BLAS thread: numpy's and scipy's bundled OpenBLAS threads spin against each other
            # on these small alternating products (one-off, Iris: 1.5 s against 0.13 s per master)
            with blas_threads(0):
                e, G, S, done = _group_lasso_newton(H[:, active], Y, reg, eta[active], deadline)
        except np.linalg.LinAlgError:  # (not seen: M = H diag(η) Hᵀ + γI is positive definite)
            return best
        eta = np.zeros(H.shape[1])
        eta[active] = e
        best = np.zeros_like(W)
        best[active] = e[:, None] * S / reg
        passes += 1
        scores = np.linalg.norm(H.T @ G, axis=1)
        violated = np.flatnonzero(scores > reg * (1.0 + 1e-4))
        out = np.setdiff1d(violated, active)
        if (done and len(out) == 0) or passes >= _CG_NEWTON_PASSES or time.perf_counter() >= deadline:
            return best
        # the next pass: the atoms in use, those still violated, and the most violated outside; a
        # pass cut at its iteration cap restarts on that smaller set (and fresh damping), which ends
        # the zigzag of nearly equal atoms trading weight at their bounds (one-off, a saved Iris
        # master at γ = 0.1 on one BLAS thread: 0.43 s in one pass of 200 iterations, 0.14 s in
        # passes of 20)
        active = np.union1d(np.union1d(np.flatnonzero(eta > 0), np.intersect1d(violated, active)),
                            out[np.argsort(scores[out])[-_CG_ADD:]])


def _solve_master_fista(H: np.ndarray, Y: np.ndarray, reg: float, W: np.ndarray, deadline: float) -> np.ndarray:
    """:func:`_solve_master` by FISTA passes over the working set."""
    active = np.flatnonzero(np.linalg.norm(W, axis=1) > 0)
    scores = np.linalg.norm(H.T @ (Y - H @ W), axis=1)
    active = np.union1d(active, np.argsort(scores)[-_CG_ADD:])
    while True:
        W_act = _group_lasso_fista(H[:, active], Y, reg, W[active], _CG_FISTA_ITERATIONS, deadline)
        W = np.zeros_like(W)
        W[active] = W_act
        scores = np.linalg.norm(H.T @ (Y - H @ W), axis=1)
        out = np.setdiff1d(np.flatnonzero(scores > reg * (1.0 + 1e-4)), active)
        if len(out) == 0 or time.perf_counter() >= deadline:
            return W
        # atoms the last pass left at zero leave the working set (they return when violated):
        # a smaller set keeps the next pass on the Gram matrix when it has fewer atoms than rows
        # (one-off, Bank Notes: sets of ~960 atoms with ~250 in use took 2.5 s per 3,000 iterations)
        used = np.flatnonzero(np.linalg.norm(W, axis=1) > 0)
        still = np.intersect1d(active, np.flatnonzero(scores > reg * (1.0 + 1e-4)))  # not yet settled
        active = np.union1d(np.union1d(used, still), out[np.argsort(scores[out])[-_CG_ADD:]])


def _network(D: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The balanced network (U, V) of the atoms D with weights W: neuron D_j√‖W_j‖ with output
    weights W_j/√‖W_j‖ costs exactly γ‖W_j‖."""
    used = np.flatnonzero(np.linalg.norm(W, axis=1) > 0)
    sq = np.sqrt(np.linalg.norm(W[used], axis=1))
    return D[:, used] * sq, (W[used] / sq[:, None]).T


def _merge_atoms(D: np.ndarray, W: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedily merge atoms whose directions lie within ``angle`` of a heavier one: the merged
    atom's direction is the weight-averaged one and its output weights the sum (the features of
    nearly equal directions are nearly equal, and ‖Σ W_j‖ ≤ Σ ‖W_j‖)."""
    w = np.linalg.norm(W, axis=1)
    order = np.argsort(w)[::-1]
    D, W, w = D[:, order], W[order], w[order]
    cos_angle = math.cos(angle)
    free = np.ones(len(w), bool)
    dirs, outs = [], []
    for i in range(len(w)):  # one row of the Gram matrix at a time: O(k) memory
        if not free[i]:
            continue
        members = np.flatnonzero(free & (D[:, i] @ D >= cos_angle))
        free[members] = False
        u = D[:, members] @ w[members]
        dirs.append(u / max(float(np.linalg.norm(u)), 1e-300))
        outs.append(W[members].sum(axis=0))
    return np.array(dirs).T, np.array(outs)


def _compact(X, Y, reg, U, V, value, objective, deadline):
    """The dictionary's nearby atoms share the weight of one neuron: merge them into a compact
    network and re-solve its output weights; (U, V, value) of the merged network when its
    objective is no worse, else the ones given."""
    nu = np.linalg.norm(U, axis=0)
    nv = np.linalg.norm(V, axis=0)
    if U.shape[1] <= 1 or not np.all((nu > 0) & (nv > 0)):
        return U, V, value
    Dm, Wm = _merge_atoms(U / nu, (V * nu).T, 0.02)  # atom weights W_j = ‖u_j‖ v_j
    Wm = _group_lasso_fista(np.maximum(X @ Dm, 0.0), Y, reg, Wm, _CG_FISTA_ITERATIONS, deadline)
    keep = np.linalg.norm(Wm, axis=1) > 0
    if not np.any(keep):
        return U, V, value
    sq = np.sqrt(np.linalg.norm(Wm[keep], axis=1))
    Um, Vm = Dm[:, keep] * sq, (Wm[keep] / sq[:, None]).T
    merged = objective(Um, Vm)
    return (Um, Vm, merged) if merged <= value else (U, V, value)


def atomic_dual_certificate(X, Y, reg: float, *, init=None, init_output=None, time_limit: float = 30.0,
                            tol: float = 1e-3, oracle_tol: float = 1e-2, seed=0,
                            callback=None, oracle: str = "auto", progress=None) -> SolveResult:
    """Certified lower bound on p* and a network, by column generation with an exact oracle.

    The atomic problem restricted to a finite dictionary of directions u_j (the columns of
    ``init``, e.g. a trained network's neurons, plus random ones) is a group lasso over the
    features (Xu_j)_+; its optimum is a network (neuron u_j√‖w_j‖ with output weights
    w_j/√‖w_j‖ has exactly the cost γ‖w_j‖), so its value is an upper bound on p*, and its
    residual Γ satisfies ‖Γᵀ(Xu_j)_+‖ ≤ γ on every atom (solved by FISTA passes, or exactly by
    Newton on its variational form from the round where the enumeration has time left for five
    certifications: :func:`_solve_master`). Rounds alternate the group lasso with
    *pricing*: the values of ‖Γᵀ(Xu)_+‖ at the arrangement's vertices (all, or a sample) and at
    maxima found before (with the branch and bound, also the ends of projected power iterations
    from random directions and from those candidates); the violated directions (with small clouds around them) join the
    dictionary. A *certification* bounds σ(Γ) over all directions, which gives the certified lower
    bound of :func:`atomic_dual_bound`: ``oracle`` 'faces' computes σ exactly by enumerating the
    arrangement's faces (:func:`convexnn.atomic_dual_faces.relu_dual_norm_faces`), 'branch-and-bound'
    bounds it by :func:`relu_dual_norm_bound`, 'auto' (default) takes the enumeration when it has at
    most 5·10⁶ faces (Iris: 1.1·10⁶), or when its expected time (10⁻⁶ s per face) is at most half of
    ``time_limit`` (Iris with a bias: 4·10⁷ faces, from a time limit of 80 s), and fits the time left. A round certifies when pricing finds
    nothing violated, when its potential bound (σ = the priced maximum) is within ``tol``, every
    15 rounds, when the time left would not fit another round and the oracle, in every round of
    a final stretch (four enumerations, at most 40 % of ``time_limit``) while the last
    certification's σ̄ lay more than 2·tol above the σ its round priced, and in the first
    round when the enumeration should take at most a tenth of ``time_limit``; the oracle's maxima
    that the dictionary violates join the dictionary too. With the branch and bound (seconds per
    certification, more on the flatter residuals of later rounds) a round certifies when pricing
    finds nothing violated, its potential bound is within ``tol``, every 15 rounds, and once
    another round would leave less than 1.6 times the last certification's time (half of
    ``time_limit`` before the first); a certification ends at its round's precision (or 2·10⁶
    cells) only if another would fit after it, else it refines its bound up to the deadline. 'faces'
    enumerates whatever the arrangement's size (Bank Notes: 8.6·10⁸ faces, an estimated 15 minutes; not run). With
    ``init_output`` (c × m, the output weights of the m neurons in ``init``) the first group
    lasso starts from that network, which is kept as the
    best network until one beats it, so the returned network is never worse (one-off, Iris: 4.648
    after 0.9 s, where the cold start had 4.684 after 3 s). The oracle's relative accuracy starts at ``oracle_tol``
    and tightens with the gap (half of it, at least tol/5). At the end, atoms within 0.02 rad of
    a heavier one are merged and the output weights re-solved (kept if no worse). Stops when the
    best network and the best bound are within ``tol`` (relative), at ``time_limit`` seconds,
    on Ctrl-C ('interrupted') or when ``callback`` (a dict per round) returns True ('stopped');
    ``progress``, if given, also gets records while a branch and bound runs (its return value
    is ignored): the round, the best value and bound so far, and the oracle's σ interval;
    every bound returned is certified (None only if no certification finished: stopped or
    interrupted before the first one). Returns a
    SolveResult (method 'atomic-dual'): value = NN-TRAIN objective of ``solution['U']``,
    ``solution['V']`` (balanced neurons), lower_bound = best certified bound, history per round
    (certified rounds carry round_bound, sigma_upper, sigma_lower and the oracle used), ``info``
    with the number of certifications and the oracle of the best bound; the best bound's residual
    Γ and its σ̄ are ``solution['Gamma']`` and ``solution['sigma_upper']`` (for certificate files,
    :mod:`convexnn.verify`).
    """
    t0 = time.perf_counter()
    X, Y = check_XY(X, Y)
    reg = check_reg(reg)
    n, d = X.shape
    c = Y.shape[1]
    if d > ATOMIC_DUAL_MAX_DIM:
        raise ParameterError(
            f"the branch and bound over the sphere is offered for at most {ATOMIC_DUAL_MAX_DIM} columns "
            f"(each cell splits into 2^(d−1) children); X has d = {d}.")
    if time_limit is None:
        raise ParameterError("time_limit must be a positive number of seconds; got None.")
    check_time_limit(time_limit)
    for name, value in (("tol", tol), ("oracle_tol", oracle_tol)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
            raise ParameterError(f"{name} must be a number in (0, 1); got {value!r}.")
    for name, fn in (("callback", callback), ("progress", progress)):
        if fn is not None and not callable(fn):
            raise ParameterError(f"{name} must be callable or None; got {type(fn).__name__}.")
    if not isinstance(oracle, str) or oracle not in ORACLES:
        raise ParameterError(f"oracle must be one of {', '.join(map(repr, ORACLES))}; got {oracle!r}.")
    rng = as_generator(seed)
    deadline = t0 + float(time_limit)
    parts = []
    if init is not None:
        U0 = as_float_matrix(init, "init")
        if U0.shape[0] != d:
            raise DataError(f"init has {U0.shape[0]} rows but X has {d} columns; they must match.")
        nrm = np.linalg.norm(U0, axis=0)
        parts.append(U0[:, nrm > 0] / nrm[nrm > 0])
    if init_output is not None:
        if init is None:
            raise ParameterError("init_output needs init (the neurons whose output weights it holds).")
        V0 = as_float_matrix(init_output, "init_output", allow_1d_as_column=c == 1)
        if c == 1 and V0.shape == (U0.shape[1], 1):
            V0 = V0.T
        if V0.shape != (c, U0.shape[1]):
            raise DataError(f"init_output has shape {V0.shape} but must be {(c, U0.shape[1])} "
                            "(outputs × neurons of init).")
    k0 = int(max(1, min(_CG_DIRECTIONS, _CG_DICTIONARY_BYTES // (8 * max(n, 1)))))
    R0 = rng.standard_normal((d, k0))
    parts.append(R0 / np.maximum(np.linalg.norm(R0, axis=0), 1e-300))
    D = np.hstack(parts)
    H = np.maximum(X @ D, 0.0)  # the atoms' features, extended as atoms join
    W = np.zeros((D.shape[1], c))
    if init_output is not None:  # the atom û_j with weights ‖u_j‖v_j is the neuron (u_j, v_j)
        W[:parts[0].shape[1]] = (V0[:, nrm > 0] * nrm[nrm > 0]).T
    problem_value = lambda Wm, Hm: 0.5 * float(np.sum((Hm @ Wm - Y) ** 2)) + reg * float(  # noqa: E731
        np.sum(np.linalg.norm(Wm, axis=1)))
    best_lb, best_value = -np.inf, 0.5 * float(np.sum(Y * Y))  # the zero network
    best_cert = None  # (residual Γ, σ̄) of the best bound
    best_net = (np.zeros((d, 0)), np.zeros((c, 0)))
    if init_output is not None and problem_value(W, H) < best_value:  # the starting network itself
        best_value, best_net = problem_value(W, H), _network(D, W)
    history: list[dict] = []
    status = "time_limit"
    rounds = 0
    # the oracle: the exact enumeration of the arrangement's faces where it is small enough (and
    # fits the time left, at the rate the last enumeration ran), else the branch and bound
    from .atomic_dual_faces import _PROJECT_MARGIN, arrangement_face_count, enumeration_fits, relu_dual_norm_faces

    # (beyond the default size, where its expected time is at most _CG_FACES_SHARE of the time limit:
    # Iris with a bias, 4·10⁷ faces, about 20 s on 2 cores; an enumeration that would overrun gives
    # up early; docs/mathematics.md §7.3)
    use_faces = oracle == "faces" or (oracle == "auto" and (
        enumeration_fits(X) or arrangement_face_count(X) * _FACE_SECONDS <= _CG_FACES_SHARE * float(time_limit)))
    faces = arrangement_face_count(X) if use_faces else 0
    face_rate = _FACE_SECONDS
    # pricing between certifications; where the branch and bound certifies, with ascents (a sample
    # of vertices alone misses its maxima) and the certifications saved for the end, since each
    # costs seconds and a flatter residual costs more (docs/mathematics.md §7.3)
    pricer = _Pricer(X, rng, ascent=not use_faces)
    bnb_time = None  # the last branch and bound's time
    exact = False  # the master by Newton (from the round the enumeration leaves time for it on)
    since_cert = 0
    miss = None  # how far the last certification's σ̄ lay above the priced σ (relative)
    best_oracle = None  # the oracle of the best bound
    try:
        while True:
            W = np.vstack([W, np.zeros((D.shape[1] - W.shape[0], c))])
            remaining = deadline - time.perf_counter()
            keep = None
            if not use_faces and rounds > 0:  # the next branch and bound's expected time, and a round
                keep = (_CG_BNB_MARGIN * bnb_time if bnb_time is not None
                        else _CG_BNB_FIRST * float(time_limit)) + (time.perf_counter() - t0) / rounds
            # the exact master once the enumeration has time for _CG_NEWTON_ENUMERATIONS certifications
            exact = exact or (use_faces and _CG_NEWTON_ENUMERATIONS * faces * face_rate <= remaining)
            W = _solve_master(H, Y, reg, W, time.perf_counter() + _master_budget(remaining, keep), exact=exact)
            value = problem_value(W, H)
            if value < best_value:
                best_value, best_net = value, _network(D, W)
            gamma = Y - H @ W
            rounds += 1
            since_cert += 1
            rec = {"iteration": rounds, "value": best_value, "round_value": value,
                   "atoms": int(D.shape[1]), "oracle": "pricing"}
            # pricing: the heuristic candidates the dictionary violates (σ_h ≤ σ is attained)
            sigma_h, P = pricer.violated(gamma, reg)
            potential, _ = _scaled_dual_value(gamma, Y, max(sigma_h, reg), reg)  # the bound if σ = σ_h
            left = deadline - time.perf_counter()
            round_time = (time.perf_counter() - t0) / rounds
            rec["sigma_priced"] = sigma_h
            settled = P.shape[1] == 0 or since_cert >= _CG_PRICE_ROUNDS or best_value - potential <= tol * abs(best_value)
            if not use_faces:
                # the branch and bound certifies when pricing has settled, and once another round
                # would leave less time than the next one should take
                reserve = (_CG_BNB_MARGIN * bnb_time if bnb_time is not None
                           else _CG_BNB_FIRST * float(time_limit))
                certify = settled or left <= reserve + round_time
            else:
                # the last round that leaves the enumeration its expected time (and two rounds') certifies;
                # so does every round of a longer final stretch (room for _CG_FINAL enumerations, at
                # most _CG_FINAL_SHARE of the time limit) while the pricing misses the maxima that the
                # last certification found (σ̄ above the priced σ by more than 2·tol): each
                # certification's exact maxima join the next master, and σ̄ then falls fast
                final = min(_CG_FINAL * faces * face_rate, _CG_FINAL_SHARE * float(time_limit))
                missed = miss is None or miss > 2.0 * tol
                certify = (settled or left <= 1.3 * faces * face_rate + 2.0 * round_time
                           or (missed and left <= final + 2.0 * round_time)
                           or (rounds == 1 and faces * face_rate <= _CG_FIRST_CERTIFY * float(time_limit)))
            if certify:
                # the oracle's accuracy follows the gap: σ̄ within a fraction ε of σ costs the bound about ε
                gap = (best_value - best_lb) / abs(best_value) if np.isfinite(best_lb) and best_value else 1.0
                round_tol = min(oracle_tol, max(0.5 * gap, 0.2 * tol))
                left = max(1e-3, deadline - time.perf_counter())
                nb, used = None, "faces"
                if np.isfinite(best_lb) and use_faces and faces * face_rate > left:
                    break  # no time for another enumeration: it would return nothing
                # (a branch and bound with less time than the last one took still runs, to the
                # deadline: its bound may be cruder, but only a better one replaces the best, and
                # the time would go unused: Bank Notes' stage ended 12–17 s early in half of twelve
                # runs that broke off here, docs/mathematics.md §7.3)
                if use_faces and faces * face_rate <= left:
                    nb = relu_dual_norm_faces(X, gamma, max_faces=max(faces, 1), time_limit=left)
                    if nb is not None and nb.status == "optimal":
                        face_rate = max(nb.time_s / max(nb.cells, 1), 1e-9)
                    elif nb is not None and nb.status == "interrupted":
                        raise KeyboardInterrupt
                    else:
                        if nb is not None and nb.cells > 0:  # it gave up early: the rate it projected
                            face_rate = max(face_rate, _PROJECT_MARGIN * nb.time_s / nb.cells)
                        nb = None
                if nb is None:
                    used = "branch-and-bound"
                    def relay(r, rounds=rounds, value=best_value, lb=best_lb):
                        # the branch and bound's rounds, as progress records
                        progress({"iteration": rounds, "value": value,
                                  "lower_bound": lb if np.isfinite(lb) else None,
                                  "oracle": "branch-and-bound", "sigma_lower": r["sigma_lower"],
                                  "sigma_upper": r["sigma_upper"], "time_s": time.perf_counter() - t0})

                    # The branch and bound stops where a certification used to end (at the round's
                    # precision or the cell cap) only if another would fit after it. Otherwise it goes
                    # on refining this bound, to a fifth of tol or to the deadline: nothing after it
                    # needs the time, and its upper bound only falls with more cells.
                    # The time it took to get there is what the next one is expected to need.
                    per_round = (time.perf_counter() - t0) / rounds
                    reached_at = []

                    def stop_rule(r, round_tol=round_tol, per_round=per_round, reached_at=reached_at):
                        if progress is not None:
                            relay(r)
                        if r["sigma_upper"] <= r["sigma_lower"] * (1.0 + round_tol) or r["cells"] >= _CG_MAX_CELLS:
                            reached_at.append(r["time_s"])
                            return deadline - time.perf_counter() >= _CG_BNB_MARGIN * reached_at[0] + per_round
                        return False

                    nb = relu_dual_norm_bound(X, gamma, tol=min(round_tol, _CG_FINAL_TOL * tol), callback=stop_rule,
                                              time_limit=max(1e-3, deadline - time.perf_counter()),
                                              max_cells=_CG_LAST_MAX_CELLS)
                    if reached_at:
                        bnb_time = reached_at[0]
                    elif nb.status in ("optimal", "max_cells"):
                        bnb_time = nb.time_s
                bound, _ = _scaled_dual_value(gamma, Y, nb.upper, reg)
                miss = nb.upper / max(sigma_h, reg) - 1.0
                if bound > best_lb:
                    best_lb, best_oracle = bound, used
                    best_cert = (gamma.copy(), float(nb.upper))  # what the bound rests on
                since_cert = 0
                # the oracle's maxima that the dictionary violates join the candidates
                Q = nb.peaks
                Q = Q[:, np.linalg.norm(gamma.T @ np.maximum(X @ Q, 0.0), axis=0) > reg][:, :_CG_FACE_PEAKS]
                pricer.add(Q, nb.vertices if _PRICE_FACE_VERTICES else None)
                P = np.hstack([Q, P])
                rec.update({"round_bound": bound, "sigma_upper": nb.upper, "sigma_lower": nb.lower,
                            "oracle": used, "oracle_status": nb.status})
            rec.update({"lower_bound": best_lb, "time_s": time.perf_counter() - t0})
            history.append(rec)
            if best_value - best_lb <= tol * abs(best_value):
                status = "optimal"
                break
            if certify and nb.status == "interrupted":
                status = "interrupted"
                break
            if callback is not None and callback(dict(rec)) is True:
                status = "stopped"
                break
            if time.perf_counter() >= deadline:
                break
            if P.shape[1] == 0:  # nothing violated that the pricing knows of: the oracle's maximiser
                P = nb.u[:, None]
            # new atoms: the violated directions and small clouds around them
            clouds = [P]
            for spread in _CG_SPREADS:
                C = np.repeat(P, _CG_CLOUD // len(_CG_SPREADS), axis=1)
                C = C + spread * rng.standard_normal(C.shape)
                clouds.append(C / np.maximum(np.linalg.norm(C, axis=0), 1e-300))
            new = np.hstack(clouds)
            D = np.hstack([D, new])
            H = np.hstack([H, np.maximum(X @ new, 0.0)])
    except KeyboardInterrupt:
        status = "interrupted"
    U, V = best_net
    if U.shape[1] == 0:
        U, V = np.zeros((d, 1)), np.zeros((c, 1))
    objective = lambda U, V: 0.5 * float(np.sum((np.maximum(X @ U, 0.0) @ V.T - Y) ** 2)) + (  # noqa: E731
        0.5 * reg * float(np.sum(U * U) + np.sum(V * V)))
    value = objective(U, V)
    width_before = U.shape[1]
    try:
        U, V, value = _compact(X, Y, reg, U, V, value, objective, time.perf_counter() + 0.05 * time_limit)
    except KeyboardInterrupt:  # the merge is optional: keep the uncompressed network
        status = "interrupted"
    certified = [h for h in history if "sigma_upper" in h]
    return SolveResult(method="atomic-dual", value=value,
                       lower_bound=float(best_lb) if np.isfinite(best_lb) else None, status=status,
                       iterations=rounds, time_s=time.perf_counter() - t0, history=history,
                       solution={"U": U, "V": V, **({} if best_cert is None else
                                                    {"Gamma": best_cert[0], "sigma_upper": best_cert[1]})},
                       info={"atoms": int(D.shape[1]), "oracle_tol": oracle_tol, "reg": reg,
                             "width_before_merge": int(width_before),
                             "certifications": len(certified),
                             "oracle": best_oracle,
                             "sigma_upper": certified[-1]["sigma_upper"] if certified else None,
                             "sigma_lower": certified[-1]["sigma_lower"] if certified else None})
