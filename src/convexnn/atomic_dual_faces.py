"""σ(Γ) = max_{‖u‖≤1} ‖Γᵀ(Xu)_+‖ exactly, by enumerating the faces of the hyperplane arrangement.

The branch and bound of :mod:`convexnn.atomic_dual` bounds σ from above on spherical caps. Near the
optimum of column generation its residuals are nearly flat — σ ≈ γ on hundreds of atoms — and its
cap bounds, loose to first order where hyperplanes cross a cap, cannot separate the plateau from
the maximum (docs/mathematics.md §7.3: on Iris at γ = 0.01 it stopped at 2·10⁶ cells with σ̄ = 1.17γ
where the largest value found was 1.04γ). When the number of data directions is small, the maximum
can instead be found exactly (our derivation):

On each face F of the arrangement of the hyperplanes x_iᵀu = 0 (a cell, or the part of the sphere
where some of them vanish and the others keep their signs), f(u) = ‖M_F u‖ for one c × d matrix
M_F. Let u* be a maximiser of f on the sphere and F the face that holds u* in its relative
interior. Then u* is a local maximum of uᵀM_FᵀM_F u on the unit sphere of span(F), so it is a top
eigenvector of the compression of M_FᵀM_F to span(F), and σ² is that top eigenvalue. Hence

    σ² = max over faces F of λ_max(M_F restricted to span F), over the faces whose top
         eigenvector (up to sign) lies in F,

and a face whose top eigenvector lies outside it can be skipped: its maximum over its closure is
attained on a smaller face, which is enumerated too. Every face of the arrangement (with X of full
column rank) has a vertex — a ray where d − 1 independent hyperplanes meet — in its closure, and
the faces around a vertex are the 3^(d−1) sign choices (−, 0, +) of the hyperplanes through it,
with every other hyperplane keeping its sign at the vertex. The enumeration visits every vertex
(2·C(h, d − 1) of them for h hyperplanes in general position) but processes each face once, at the
vertex where a generic linear order of a slice is lowest (2^(d−1) faces per vertex, :func:`_chunk`);
the faces the slices cut are walked on lower-dimensional levels, and the faces around a vertex
where many hyperplanes meet on a quotient level (:class:`_Level`). Iris (n = 75, d = 4): 1.1·10⁶
faces, about half a second; Iris with a bias (d = 5): 4.7·10⁷, about 18 s on 2 cores; Bank Notes
(n = 686): 8.6·10⁸, out of reach, where the branch and bound stays.

Certification: a face is skipped only when its top eigenvalue is separated from the next one (so
the computed eigenvector is accurate) and both signs of the eigenvector break the face's sign
pattern by more than a margin; otherwise its eigenvalue counts. Hyperplanes within a margin of a
vertex count as passing through it (all their sign choices are enumerated, or their quotient
level walked); near ties of the slice order claim both sides; exactly parallel rows
share one hyperplane, and the rounding of that grouping, of a dropped numerical null space of X and
of the sums that form M_F are added to the bound.
"""

from __future__ import annotations

import itertools
import math
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._validation import as_float_matrix, blas_threads, check_positive_int, check_time_limit, cpu_cores
from .atomic_dual import _RESULT_MARGIN, DualNormBound, _det_sym3, _gram, _Peaks, _top_eigen
from .errors import DataError

__all__ = ["relu_dual_norm_faces", "arrangement_face_count", "enumeration_fits", "FACES_DEFAULT_MAX"]

# faces enumerated by default at most (about 0.7 s per million on a 2-core machine)
FACES_DEFAULT_MAX = 5_000_000
# vertices per chunk of the enumeration (each chunk holds a dozen vertices × hyperplanes arrays,
# so fewer vertices when there are many hyperplanes: at most _CHUNK_ENTRIES entries each)
_VERTEX_CHUNK = 16384
_CHUNK_ENTRIES = 2_000_000
# the enumeration checks every face against every hyperplane: refused above this many
# faces × hyperplanes (Iris: 2.7·10⁸, 2.3–3 s on 2 cores)
_MAX_WORK = 6e8
# a hyperplane within this distance of a vertex (unit normals) is taken to pass through it
_THROUGH = 1e-9
# a face is skipped only when its eigenvector breaks the face's signs by more than this ...
_OUTSIDE = 1e-7
# ... and its top eigenvalue exceeds the next one by more than this fraction; faces within
# _RECHECK of their signs are re-solved by LAPACK before they are skipped
_EIGENGAP = 1e-4
_RECHECK = 1e-3
# hyperplanes that every face's eigenvector is checked against first (the others only if it passes)
_PREFILTER = 16
# the complements of sets of m hyperplanes are tabulated once where h^m is at most this (_Faces.tabulate)
_TABLE_MAX = 2_000_000
# vertices where at least this many hyperplanes meet are walked as a quotient level (_Level.quotient)
# instead of through all 3^m sign choices of their hyperplanes
_QUOTIENT_MIN = 9
# (vertex, sign choice) pairs per batch around degenerate vertices
_PAIRS = 8192
# an enumeration with a time limit projects its end once this share of the estimated faces is
# done, and gives up when the projection, the rest's time times the margin, passes the deadline
# (Iris with a bias: 89 % of the estimated faces after 65 % of the time, then slower vertices)
_PROJECT_FROM = 0.15
_PROJECT_MARGIN = 1.5
# the slice order (_chunk): the seed of every level's a and φ, the relative size of φᵀy_j below
# which both sides of hyperplane j are claimed, and |aᵀv| below which a vertex claims every face
_SLICE_SEED = 20261207
_SLICE_TIE = 1e-10
_SLICE_NEAR = 1e-6


def _design(X: np.ndarray, G: np.ndarray):
    """Rows grouped into hyperplanes: unit normals H (h × r, in the coordinates of X's row space
    B, d × r), the output weights a⁺, a⁻ (h × c) of each hyperplane's two sides, and the absolute
    error that the grouping and the dropped null space add to f."""
    nr = np.linalg.norm(X, axis=1)
    keep = nr > 0
    X, G, nr = X[keep], G[keep], nr[keep]
    d = X.shape[1]
    if len(X) == 0:
        return np.zeros((0, d)), np.zeros((0, G.shape[1])), np.zeros((0, G.shape[1])), np.eye(d), 0.0
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    r = int(np.sum(s > s[0] * 1e-12))
    B = Vt[:r].T
    # f(u) ≤ f(BBᵀu) + ‖G‖₂‖X(I − BBᵀ)u‖, and f(BBᵀu) ≤ max over the row space's sphere
    err = float(np.linalg.norm(G, 2) * (s[r] if r < len(s) else 0.0))
    Xr = X @ B
    nrr = np.linalg.norm(Xr, axis=1)
    ok = nrr > 0
    err += float(np.sum(np.linalg.norm(G[~ok], axis=1) * nr[~ok]))  # rows lost to the null space
    Xr, G, nrr = Xr[ok], G[ok], nrr[ok]
    Xn = Xr / nrr[:, None]
    lead = np.argmax(np.abs(Xn) > 1e-6, axis=1)
    sgn = np.sign(Xn[np.arange(len(Xn)), lead])
    Hn = Xn * sgn[:, None]
    _, first, inv = np.unique(np.round(Hn, 13), axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    H = Hn[first]
    # replacing a row's direction by its hyperplane's representative moves x_iᵀu by at most
    # ‖x_i‖‖x̂_i − ĥ‖, so f by at most ‖g_i‖ times that
    err += float(np.sum(np.linalg.norm(G, axis=1) * nrr * np.linalg.norm(Hn - H[inv], axis=1)))
    w = G * nrr[:, None]
    h, c = len(H), G.shape[1]
    ap, am = np.zeros((h, c)), np.zeros((h, c))
    np.add.at(ap, inv[sgn > 0], w[sgn > 0])
    np.add.at(am, inv[sgn < 0], -w[sgn < 0])
    return H, ap, am, B, err


def arrangement_face_count(X) -> int:
    """Faces the enumeration visits for design X (general position assumed): about 2·C(h, r − 1)·2^(r−1)
    with h distinct hyperplanes and r the rank of X, plus the lower levels (:func:`_estimate`)."""
    return _size(as_float_matrix(X, "X"))[0]


def enumeration_fits(X, max_faces: int = FACES_DEFAULT_MAX) -> bool:
    """Whether :func:`relu_dual_norm_faces` takes design X on (at most ``max_faces`` faces, and
    faces × hyperplanes within its work cap)."""
    faces, h = _size(as_float_matrix(X, "X"))
    return _fits(faces, h, max_faces)


def _size(X: np.ndarray) -> tuple[int, int]:
    H, _, _, B, _ = _design(X, np.zeros((X.shape[0], 1)))
    r = B.shape[1]
    return _estimate(len(H), r), len(H)


def _fits(faces: int, h: int, max_faces: int) -> bool:
    return faces <= max_faces and faces * h <= _MAX_WORK * max(1.0, max_faces / FACES_DEFAULT_MAX)


class _Faces:
    """The arrangement of hyperplanes H (h × r) with side weights a⁺, a⁻, and the enumeration."""

    def __init__(self, H, ap, am):
        self.H, self.ap, self.am = H, ap, am
        self.h, self.r = H.shape
        self.c = ap.shape[1]
        r, c = self.r, self.c
        self.Ap = (ap[:, :, None] * H[:, None, :]).reshape(self.h, c * r)  # a⁺ ĥᵀ, flattened
        self.Am = (am[:, :, None] * H[:, None, :]).reshape(self.h, c * r)
        self.combos = np.array(list(itertools.product((-1, 0, 1), repeat=r - 1)), dtype=np.int8)
        # the zero sets of the combos, as tuples of positions, and each zero set's combos
        self.zero_sets = sorted({tuple(np.flatnonzero(cb == 0)) for cb in self.combos}, key=len)
        self.tables = {}  # m → (index of each sorted m-set of rows, their complements): see tabulate

    def vertices(self, T: np.ndarray):
        """Unit rays v (k × r) where the hyperplanes T (k × (r − 1)) meet, the distance margin of
        each (larger when the hyperplanes are nearly dependent), and which subsets are independent."""
        A = self.H[T]  # k × (r − 1) × r
        Q, R = np.linalg.qr(np.transpose(A, (0, 2, 1)), mode="complete")
        rdiag = np.min(np.abs(np.diagonal(R, axis1=1, axis2=2)), axis=1)
        ok = rdiag > 1e-10
        tau = _THROUGH + 1e-13 / np.maximum(rdiag, 1e-300)
        return Q[:, :, -1], tau, ok

    def base(self, P, through):
        """Σ over the hyperplanes off ``through`` of a^{sign} ĥᵀ (k × c·r, flattened)."""
        pos = (P > 0) & ~through
        neg = (P < 0) & ~through
        return pos.astype(np.float64) @ self.Ap + neg.astype(np.float64) @ self.Am

    def matrices(self, base, T, combo):
        """M_F (k × c × r) of the faces with ``base`` off T and the signs ``combo`` on T."""
        M = base.copy()
        for j, s in enumerate(combo):
            if s > 0:
                M += self.Ap[T[:, j]]
            elif s < 0:
                M += self.Am[T[:, j]]
        return M.reshape(-1, self.c, self.r)

    def basis(self, normals: np.ndarray) -> np.ndarray:
        """Orthonormal bases (k × r × (r − m)) of the complements of the m rows of ``normals``."""
        m = normals.shape[1]
        if m == 0:
            return np.broadcast_to(np.eye(self.r), (len(normals), self.r, self.r))
        Q, _ = np.linalg.qr(np.transpose(normals, (0, 2, 1)), mode="complete")
        return Q[:, :, m:]

    def tabulate(self):
        """The complements of every set of m ≤ r − 2 hyperplanes, computed once (where h^m ≤
        _TABLE_MAX): a face's span is the complement of its zero rows, and a set of rows is the zero
        set of faces around many vertices (on Iris with a bias each set of 3 of the 75 hyperplanes
        at the 72 vertices of 4 that hold it)."""
        for m in range(1, self.r - 1):
            if self.h ** m > _TABLE_MAX:
                break
            sets = np.array(list(itertools.combinations(range(self.h), m)), dtype=np.intp).reshape(-1, m)
            where = np.full(self.h ** m, -1, dtype=np.intp)  # sorted rows (as a base-h number) → set
            where[np.ravel_multi_index(tuple(sets.T), (self.h,) * m)] = np.arange(len(sets))
            self.tables[m] = (where, self.basis(self.H[sets]))

    def complements(self, rows: np.ndarray) -> np.ndarray:
        """:meth:`basis` of the hyperplanes ``rows`` (k × m), from the table where there is one."""
        table = self.tables.get(rows.shape[1])
        if table is None:
            return self.basis(self.H[rows])
        where, bases = table
        return bases[where[np.ravel_multi_index(tuple(np.sort(rows, axis=1).T), (self.h,) * rows.shape[1])]]


def _row_norms(U: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows of a k × r array (3× faster than ``np.linalg.norm(U, axis=1)``
    for r ≤ 5, one-off)."""
    return np.sqrt(np.einsum("kr,kr->k", U, U))


def _top2(A: np.ndarray):
    """The two largest eigenvalues of the Gram matrices K = A Aᵀ of batched s × t matrices A, and a
    unit eigenvector of the largest (s ≤ 3 in closed form, the branch and bound's formulas; LAPACK
    above); accurate when the two are well separated (the caller checks the separation and
    re-solves by LAPACK where it matters). K's entries are kept as separate contiguous arrays:
    the closed forms read each several times, and strided reads of a k × 3 × 3 stack cost about
    half of their time (one-off, 16,384 matrices: 6.4 → 4.3 ms)."""
    s = A.shape[1]
    if s > 3:
        evals, evecs = np.linalg.eigh(_gram(A))
        return evals[:, -1], evals[:, -2], evecs[:, :, -1]
    rows = [A[:, i, :] for i in range(s)]

    def dot(i, j):
        return np.einsum("kt,kt->k", rows[i], rows[j])

    if s == 1:
        return dot(0, 0), np.zeros(len(A)), np.ones((len(A), 1))
    if s == 2:
        p, q, b = dot(0, 0), dot(1, 1), dot(0, 1)
        rad = np.hypot(0.5 * (p - q), b)
        l1, l2 = 0.5 * (p + q) + rad, 0.5 * (p + q) - rad
        # the longer of the two rows of adj(K − λ₁I)
        cand = ((b, l1 - p), (l1 - q, b))
    else:
        a, b, c, d, e, f = dot(0, 0), dot(1, 1), dot(2, 2), dot(0, 1), dot(0, 2), dot(1, 2)
        trace = a + b + c
        q = trace / 3.0
        aq, bq, cq = a - q, b - q, c - q
        p = np.sqrt((aq ** 2 + bq ** 2 + cq ** 2 + 2.0 * (d * d + e * e + f * f)) / 6.0)
        safe = np.where(p > 0, p, 1.0)
        phi = np.arccos(np.clip(0.5 * _det_sym3(aq, bq, cq, d, e, f) / safe ** 3, -1.0, 1.0)) / 3.0
        l1 = q + 2.0 * p * np.cos(phi)
        l2 = trace - l1 - (q + 2.0 * p * np.cos(phi + 2.0 * np.pi / 3.0))
        # the pairwise cross products of the rows (x, d, e), (d, y, f), (e, f, z) of K − λ₁I
        x, y, z = a - l1, b - l1, c - l1
        cand = ((d * f - e * y, e * d - x * f, x * y - d * d),
                (d * z - e * f, e * e - x * z, x * f - d * e),
                (y * z - f * f, f * e - d * z, d * f - y * e))
    # the longest candidate (the first of equals), normalised; e₁ where all vanish
    norms = [sum(v * v for v in w) for w in cand]
    pick, best = np.zeros(len(A), np.intp), norms[0]
    for j in range(1, len(cand)):
        better = norms[j] > best
        pick[better], best = j, np.where(better, norms[j], best)
    W = np.empty((len(A), s))
    for i in range(s):
        W[:, i] = cand[0][i]
        for j in range(1, len(cand)):
            np.copyto(W[:, i], cand[j][i], where=pick == j)
    nw = np.sqrt(best)
    ok = nw > 0
    W /= np.where(ok, nw, 1.0)[:, None]
    W[~ok] = np.eye(s)[0]
    return l1, l2, W


def _directions(MB: np.ndarray, Bz: np.ndarray, exact: bool = False):
    """For faces with matrices MB = M_F B (k × c × m, B the basis of span F): the top eigenvalue of
    (MB)ᵀMB, the unit direction u = B w of its eigenvector (either sign), and whether it is
    separated from the next eigenvalue (by LAPACK when ``exact``, else by closed forms)."""
    c, m = MB.shape[1:]
    left = c < m  # the smaller Gram matrix: MB MBᵀ (c × c) or MBᵀ MB (m × m)
    A = MB if left else np.swapaxes(MB, 1, 2)
    if exact:
        evals, evecs = np.linalg.eigh(_gram(A))
        l1, w = evals[:, -1], evecs[:, :, -1]
        l2 = evals[:, -2] if A.shape[1] > 1 else np.zeros(len(A))
    else:
        l1, l2, w = _top2(A)
    if left:
        w = np.einsum("kcm,kc->km", MB, w)
        w /= np.maximum(_row_norms(w), 1e-300)[:, None]
    U = np.einsum("krm,km->kr", Bz, w)
    U /= np.maximum(_row_norms(U), 1e-300)[:, None]
    return l1, U, (l1 - l2) > _EIGENGAP * np.maximum(np.abs(l1), 1e-300)


def _required(P: np.ndarray, through: np.ndarray) -> np.ndarray:
    """The signs the rows keep (int8: an eighth of the memory traffic when faces are selected and
    repeated), 0 on the rows through the vertex."""
    req = np.sign(P).astype(np.int8)
    req[through] = 0
    return req


def _violation(S: np.ndarray, req: np.ndarray, axis: int = 1):
    """How far ±u break the required signs (S = ĥᵀu for the hyperplanes of ``req``): the smaller
    violation of the two, and whether −u is the one. With ``axis`` 0 both come transposed
    (hyperplanes × faces): the minima and maxima then run along contiguous rows, several times
    faster for a few hyperplanes (the prefilter's 16: 3.4× on 16,384 faces, one-off)."""
    RS = req * S if axis == 1 else np.multiply(req, S, order="C")
    viol_p = np.maximum(0.0, -RS.min(axis=axis))
    viol_m = np.maximum(0.0, RS.max(axis=axis))
    return np.minimum(viol_p, viol_m), viol_m < viol_p


def _face_maxima(F: "_Faces", MB: np.ndarray, Bz: np.ndarray, req: np.ndarray, exact: bool = False):
    """For faces with matrices MB = M_F B (k × c × m, B the basis of span F) and required signs
    ``req`` (k × h, 0 where free): top eigenvalue of (MB)ᵀMB, the unit direction u = B w of its
    eigenvector (the sign that fits the face), how far it lies outside F, and whether the
    eigenvalue is separated from the next."""
    l1, U, separated = _directions(MB, Bz, exact)
    viol, flip = _violation(U @ F.H.T, req)
    return l1, np.where(flip[:, None], -U, U), viol, separated


def _counted(F: _Faces, MB: np.ndarray, Bz: np.ndarray, req: np.ndarray, U: np.ndarray, sep: np.ndarray):
    """(λ rounded up, direction, inside, which) for the faces that count among those given, with
    their closed-form directions U (either sign) and separations (see :func:`_face_maxima`;
    ``which`` are their positions); faces near their boundary or with close eigenvalues are
    re-solved by LAPACK before they are skipped."""
    viol, flip = _violation(U @ F.H.T, req)
    U = np.where(flip[:, None], -U, U)
    near = (viol <= _RECHECK) | ~sep
    if np.any(near):
        idx = np.flatnonzero(near)
        _, U[idx], viol[idx], sep[idx] = _face_maxima(F, MB[idx], Bz[idx], req[idx], exact=True)
    inside = viol <= _OUTSIDE
    counts = inside | ~sep
    if not np.any(counts):
        return np.zeros(0), np.zeros((0, F.r)), np.zeros(0, bool), np.zeros(0, np.intp)
    lam, _ = _top_eigen(MB[counts], need_vector=False)
    return lam, U[counts], inside[counts], np.flatnonzero(counts)


class _Level:
    """One arrangement the enumeration walks: the hyperplanes S (rows of H) restricted to the
    subspace span(Q) (Q: r × k, orthonormal columns), every other row with the sign ``fixed`` (h,
    ±1 off S, 0 on S). The top level is all rows on R^r. A level's faces stand for the faces of
    the whole arrangement with the same signs (their span is the null space of their zero rows in
    R^r). ``base`` is the space whose faces the level's degenerate vertices stand for: the level's
    own, or that of the level it was cut from by a slice. ``a`` and ``phi`` (in the coordinates of
    Q) order each face's vertices: see :func:`_chunk`."""

    def __init__(self, F: _Faces, Q: np.ndarray, S: np.ndarray, fixed: np.ndarray, base: np.ndarray,
                 rng: np.random.Generator, top: bool = False):
        self.Q, self.S, self.fixed, self.base, self.top = Q, S, fixed, base, top
        self.k = Q.shape[1]
        self.HL = F.H[S] @ Q
        a, phi = rng.standard_normal((2, self.k))
        self.a, self.phi = a / np.linalg.norm(a), phi / np.linalg.norm(phi)
        self.outside = fixed != 0

    def subsets(self) -> int:
        return math.comb(len(self.S), self.k - 1)

    def below(self, F: _Faces, rng: np.random.Generator) -> "_Level":
        """The faces that cross the slice hyperplane aᵀu = 0: the arrangement on span(Q) ∩ a⊥."""
        C = np.linalg.qr(self.a[:, None], mode="complete")[0][:, 1:]
        return _Level(F, self.Q @ C, self.S, self.fixed, self.base, rng)

    def quotient(self, F: _Faces, w: np.ndarray, T: tuple, rng: np.random.Generator) -> "_Level":
        """The faces around the degenerate vertex w (unit, in span(base)) where the rows T meet: the
        arrangement of T on span(base) ∩ w⊥, every other row of S with its sign at w."""
        C = np.linalg.qr((self.base.T @ w)[:, None], mode="complete")[0][:, 1:]
        Q = self.base @ C
        T = np.asarray(T, dtype=np.intp)
        fixed = self.fixed.copy()
        rest = np.setdiff1d(self.S, T)
        fixed[rest] = np.sign(F.H[rest] @ w)
        return _Level(F, Q, T, fixed, Q, rng)


def _claims(lv: _Level, A: np.ndarray, wL: np.ndarray):
    """The slice order at the vertices wL (n × k, coordinates of Q) where the hyperplanes A
    (n × (k − 1) × k) meet: for each of them, the side g_j = sign(φᵀy_j) of the edge y_j (aᵀy_j = 0,
    h_iᵀy_j = δ_ij) along which φ grows, and where either side must be claimed (a near tie, or a
    vertex near the slice hyperplane aᵀu = 0)."""
    n, k = wL.shape
    near = np.abs(wL @ lv.a) <= _SLICE_NEAR
    Mx = np.concatenate([A, np.broadcast_to(lv.a, (n, 1, k))], axis=1)
    Mx[near] = np.eye(k)
    Y = np.linalg.inv(Mx)[:, :, :k - 1]
    dots = np.einsum("k,nkj->nj", lv.phi, Y)
    ny = np.linalg.norm(Y, axis=1)
    # the inverse's rounding error is about ε·cond(Mx)·‖y_j‖, with cond(Mx) ≤ ‖Mx‖_F‖Y‖_F
    tie = np.abs(dots) <= _SLICE_TIE * ny * (1.0 + math.sqrt(k) * np.linalg.norm(ny, axis=1, keepdims=True))
    return np.sign(dots), tie | near[:, None]



def _process(F: _Faces, MB, Bz, req0, Trows, combos, H_sub, sub):
    """The faces with matrices MB = M_F B (B = Bz, the basis of span F) around vertices whose rows
    Trows carry the signs ``combos`` (the other rows: ``req0``): (λ, U, inside, which) of those that
    count (``which``: their positions), or None if none does."""
    # most eigenvectors lie far outside their face: a few hyperplanes show it, and a face they
    # show to be outside by more than _RECHECK (eigenvalue separated) is skipped, as the full
    # check would skip it (a violation on a subset is one on all; the hyperplanes through the
    # vertex are left free here: a weaker test, as sound)
    _, U, sep = _directions(MB, Bz)
    viol_sub, _ = _violation(H_sub @ U.T, req0[:, sub].T, axis=0)
    rest = np.flatnonzero(~((viol_sub > _RECHECK) & sep))
    if len(rest) == 0:
        return None
    req = req0[rest]
    req[np.arange(len(rest))[:, None], Trows[rest]] = combos[rest]
    lam, U, inside, which = _counted(F, MB[rest], Bz[rest], req, U[rest], sep[rest])
    if len(lam) == 0:
        return None
    return lam, U, inside, rest[which]

def _chunk(F: _Faces, T: np.ndarray, lv: _Level | None = None):
    """The faces around the vertices where the hyperplane subsets T meet: (λ, U, inside, subset) of
    those that count (``subset``: the row of T of the face's vertex, −1 below the top level), the
    vertices where more hyperplanes meet (apart: rows → vertex), and the faces visited.

    Without ``lv``: every face around each vertex of the whole arrangement (3^(r−1) sign choices;
    pricing uses this). With a level ``lv`` (T: positions in lv.S, k − 1 per row): only the faces
    each vertex *claims* (our derivation). Take a face that lies on one side of the hyperplane
    aᵀu = 0 and cut it with the slice aᵀu = ±1: a polytope, whose vertices are the arrangement's
    vertices in its closure. A generic linear φ is lowest on it at exactly one of them, and since
    the polytope is convex, that vertex is the one where φ grows along every edge of the face that
    leaves it. At a vertex in general position the edges of the slice are y_j (h_iᵀy_j = δ_ij,
    aᵀy_j = 0), and a face with signs s on the hyperplanes through the vertex leaves it along
    s_j·y_j, so the vertex claims the faces with s_j ∈ {0, sign(φᵀy_j)}: 2^(k−1) of the 3^(k−1).
    A face that crosses aᵀu = 0 meets it in a face of the next level (:meth:`_Level.below`) with
    the same signs, which is processed there. Near ties claim both sides; so do vertices near the
    slice hyperplane (every face around them)."""
    r = F.r
    if lv is None:
        S, HL, k, claim = np.arange(F.h), F.H, r, False
    else:
        # on a circle (k = 2) every face around every vertex: an arc is seen from both its ends
        S, HL, k, claim = lv.S, lv.HL, lv.k, lv.k >= 3
    A = HL[T]
    Qr, R = np.linalg.qr(np.transpose(A, (0, 2, 1)), mode="complete")
    rdiag = np.min(np.abs(np.diagonal(R, axis1=1, axis2=2)), axis=1)
    ok = rdiag > 1e-10
    T, A, tau = T[ok], A[ok], _THROUGH + 1e-13 / np.maximum(rdiag[ok], 1e-300)
    wL = Qr[ok][:, :, -1]
    v = wL if lv is None else wL @ lv.Q.T
    PS = wL @ HL.T
    throughS = np.abs(PS) <= tau[:, None]
    throughS[np.arange(len(T))[:, None], T] = True
    general = throughS.sum(1) == k - 1
    degenerate = {}
    for i in np.flatnonzero(~general):
        idx = tuple(S[np.flatnonzero(throughS[i])])
        rest = np.flatnonzero(~throughS[i])
        flip = len(rest) > 0 and PS[i, rest[0]] < 0  # one representative of ±v
        degenerate.setdefault(idx, -v[i] if flip else v[i])
    T, A, v, wL = T[general], A[general], v[general], wL[general]
    Trows = S[T]
    n = len(T)
    visited = 0
    combos = F.combos if k == r else np.array(list(itertools.product((-1, 0, 1), repeat=k - 1)), dtype=np.int8)
    if claim and n:
        g, free = _claims(lv, A, wL)
    P0 = v @ F.H.T
    through = np.zeros(P0.shape, bool)
    through[np.arange(n)[:, None], Trows] = True
    zero_sets = sorted({tuple(np.flatnonzero(cb == 0)) for cb in combos}, key=len)
    bases = {z: F.complements(Trows[:, list(z)]) for z in zero_sets if len(z) < r - 1}
    sub = np.unique(np.linspace(0, F.h - 1, min(F.h, _PREFILTER)).astype(np.intp))
    H_sub = F.H[sub]
    out = []
    top = lv is None or lv.top
    if claim and n:
        loose = np.flatnonzero(np.any(free, axis=1))  # near ties: every face around them
        tight = np.flatnonzero(~np.any(free, axis=1))
    else:
        loose, tight = np.arange(n), np.zeros(0, np.intp)
    masks = np.array(list(itertools.product((0, 1), repeat=k - 1)), dtype=np.int8)
    if len(tight):
        gt = g[tight].astype(np.int8)
        Tt = Trows[tight]
        side = [np.where(gt[:, j:j + 1] > 0, F.Ap[Tt[:, j]], F.Am[Tt[:, j]]) for j in range(k - 1)]
        bases_t = {z: b[tight] for z, b in bases.items() if len(z) > 0}
    for sgn in (1.0, -1.0):
        if n == 0:
            break
        P = sgn * P0
        if lv is not None and np.any(lv.outside):
            P[:, lv.outside] = lv.fixed[lv.outside]
        base = F.base(P, through)
        req0 = _required(P, through)
        if len(tight):
            # the claimed faces: sign g_j or 0 on each hyperplane through the vertex (a per-row choice)
            base_t, req_t = base[tight], req0[tight]
            for mask in masks:
                z = tuple(np.flatnonzero(mask == 0))
                M = base_t
                for j in np.flatnonzero(mask):
                    M = M + side[j]
                M = M.reshape(-1, F.c, r)
                if len(z) == r - 1:
                    Bz = (sgn * v[tight])[:, :, None]
                elif len(z) == 0:  # a cell: its span is everything, B = I
                    Bz = np.broadcast_to(np.eye(r), (len(tight), r, r))
                else:
                    Bz = bases_t[z]
                visited += len(tight)
                got = _process(F, M if len(z) == 0 else M @ Bz, Bz, req_t, Tt, gt * mask, H_sub, sub)
                if got is not None:
                    lam, U, inside, which = got
                    at = Tt[which] if top else np.full((len(which), r - 1), -1, np.intp)
                    out.append((lam, U, inside, at))
        if len(loose):
            Tl = Trows[loose]
            for combo in combos:
                z = tuple(np.flatnonzero(combo == 0))
                Bz = (sgn * v[loose])[:, :, None] if len(z) == r - 1 else bases[z][loose]
                visited += len(loose)
                MB = F.matrices(base[loose], Tl, combo) @ Bz
                got = _process(F, MB, Bz, req0[loose], Tl, np.broadcast_to(combo, Tl.shape), H_sub, sub)
                if got is not None:
                    lam, U, inside, which = got
                    at = Tl[which] if top else np.full((len(which), r - 1), -1, np.intp)
                    out.append((lam, U, inside, at))
    if not out:
        return (np.zeros(0), np.zeros((0, r)), np.zeros(0, bool), np.zeros((0, r - 1), np.intp), degenerate,
                visited)
    return (*(np.concatenate([o[j] for o in out]) for j in range(4)), degenerate, visited)


def _degenerate(F: _Faces, V: np.ndarray, IDX: np.ndarray, deadline: float | None = None,
                fixed: np.ndarray | None = None):
    """Every sign choice of the m hyperplanes IDX[i] (k × m) that meet at the vertex V[i] (k × r),
    batched over the vertices: (λ, U, inside) of the faces that count, or None once ``deadline``
    (time.perf_counter()) has passed between two zero sets. The span of a face, the null space of
    its rows with sign 0 (rank-revealing SVD: they may be dependent), is computed once per zero set
    and shared by the 2^(m − zeros) sign choices of the others. Rows where ``fixed`` (h) is nonzero
    keep that sign (the vertex of a quotient level stands for faces around the vertex it came from)."""
    k, m = IDX.shape
    P = V @ F.H.T
    if fixed is not None and np.any(fixed):
        P[:, fixed != 0] = fixed[fixed != 0]
    through = np.zeros((k, F.h), bool)
    through[np.arange(k)[:, None], IDX] = True
    base = F.base(P, through)
    req0 = _required(P, through)
    sub = np.unique(np.linspace(0, F.h - 1, min(F.h, _PREFILTER)).astype(np.intp))
    H_sub = F.H[sub]
    # the spans depend on the rows alone: where the second half repeats the first (both signs of
    # each vertex, as :func:`_around` batches them), one SVD serves the two
    half = k // 2 if k % 2 == 0 and k and np.array_equal(IDX[:k // 2], IDX[k // 2:]) else k
    out = []
    for zero in itertools.product((False, True), repeat=m):
        if deadline is not None and time.perf_counter() >= deadline:
            return None
        zero = np.array(zero)
        zpos, nz = np.flatnonzero(zero), np.flatnonzero(~zero)
        if len(zpos):
            sv, Vt = np.linalg.svd(F.H[IDX[:half, zpos]], full_matrices=True)[1:]
            if half < k:
                sv, Vt = np.concatenate([sv, sv]), np.concatenate([Vt, Vt])
            rank = np.sum(sv > 1e-10, axis=1)
        else:
            rank = np.zeros(k, np.intp)
        for rk in np.unique(rank):
            rows = np.flatnonzero(rank == rk)
            if F.r - rk <= 1:  # the ray of the vertex itself
                Bz = V[rows][:, :, None]
            elif rk == 0:
                Bz = np.broadcast_to(np.eye(F.r), (len(rows), F.r, F.r))
            else:
                Bz = np.swapaxes(Vt[rows, rk:, :], 1, 2)
            # every sign choice of the other rows at once, in slices of at most _PAIRS (vertex, choice) pairs
            signs = np.array(list(itertools.product((-1, 1), repeat=len(nz))), dtype=np.int8).reshape(2 ** len(nz), len(nz))
            nc = len(signs)
            cbs = np.zeros((nc, m), np.int8)
            cbs[:, nz] = signs
            step = max(1, _PAIRS // nc)
            for r0 in range(0, len(rows), step):
                rr = rows[r0:r0 + step]
                T = IDX[rr]
                M = np.repeat(base[rr][:, None, :], nc, axis=1)  # (R, choices, c·r)
                for j, pos in enumerate(nz):
                    M += np.where((signs[:, j] > 0)[None, :, None], F.Ap[T[:, pos]][:, None, :],
                                  F.Am[T[:, pos]][:, None, :])
                B = np.repeat(Bz[r0:r0 + step], nc, axis=0)
                Tr = np.repeat(T, nc, axis=0)
                got = _process(F, M.reshape(-1, F.c, F.r) @ B, B, np.repeat(req0[rr], nc, axis=0), Tr,
                               np.tile(cbs, (len(rr), 1)), H_sub, sub)
                if got is not None:
                    out.append(got[:3])
    if not out:
        return np.zeros(0), np.zeros((0, F.r)), np.zeros(0, bool)
    return tuple(np.concatenate([o[j] for o in out]) for j in range(3))


def _estimate(h: int, r: int) -> int:
    """Faces the enumeration visits with h hyperplanes in general position on R^r: 2^(k−1) around
    each of the 2·C(h, k − 1) vertices of each level k = r, r − 1, …, 3, and all 3 around those of
    the circle k = 2 (see :func:`_chunk`)."""
    if r <= 1:
        return 2
    total = 2 * h * 3
    for k in range(3, r + 1):
        total += 2 * math.comb(h, k - 1) * 2 ** (k - 1)
    return total


class _Clock:
    """The faces an enumeration has processed and where that projects its end: past the deadline
    (with a margin for the slower vertices where more hyperplanes meet, and for the estimate's
    error), the enumeration gives up early and its caller has the rest of the time for the
    branch and bound instead of a crude bound at the deadline."""

    def __init__(self, t0: float, deadline: float | None, total: int):
        self.t0, self.deadline, self.total, self.done = t0, deadline, max(int(total), 1), 0

    def late(self, faces: int) -> bool:
        """Count ``faces`` more; whether the projected end lies beyond the deadline (projected
        once _PROJECT_FROM of the estimated faces are done)."""
        self.done += faces
        if self.deadline is None or self.done < _PROJECT_FROM * self.total:
            return False
        now = time.perf_counter()
        left = max(self.total - self.done, 0) / self.done * (now - self.t0) * _PROJECT_MARGIN
        return now + left > self.deadline


class _Kept:
    """What the enumeration keeps of the faces that count, chunk by chunk: the largest λ, and the
    ``size`` largest λ (with direction and vertex) among the faces whose maximum lies inside them,
    both overall and among those with a vertex on the top level (at ≥ 0). σ, its maximiser, the
    peaks and their vertices are read off these; the full lists ran to 3·10⁶ faces on Iris with a
    bias, whose values took seconds to evaluate."""

    def __init__(self, r: int, size: int):
        self.size = size
        self.lam_max = -np.inf
        self.lam, self.U, self.at = np.zeros(0), np.zeros((0, r)), np.zeros((0, r - 1), np.intp)

    def _top(self, lam: np.ndarray, idx: np.ndarray) -> np.ndarray:
        if len(idx) <= self.size:
            return idx
        return idx[np.argpartition(lam[idx], -self.size)[-self.size:]]

    def add(self, lam: np.ndarray, U: np.ndarray, inside: np.ndarray, at: np.ndarray):
        if len(lam) == 0:
            return
        self.lam_max = max(self.lam_max, float(lam.max()))
        if not np.any(inside):
            return
        lam = np.concatenate([self.lam, lam[inside]])
        U = np.vstack([self.U, U[inside]])
        at = np.vstack([self.at, at[inside]])
        if len(lam) > 2 * self.size:
            keep = np.union1d(self._top(lam, np.arange(len(lam))), self._top(lam, np.flatnonzero(at[:, 0] >= 0)))
            lam, U, at = lam[keep], U[keep], at[keep]
        self.lam, self.U, self.at = lam, U, at


def _walk(pool, threads: int, F: _Faces, lv: _Level, deadline, kept: "_Kept", clock: "_Clock | None" = None):
    """Every vertex of the level ``lv`` (subsets of k − 1 of its rows, in chunks across the pool),
    its faces that count added to ``kept``: (degenerate vertices, faces visited), or None once
    ``deadline`` has passed or the ``clock`` projects the end beyond it."""
    m, k = len(lv.S), lv.k
    n_sub = lv.subsets()
    chunk = int(min(_VERTEX_CHUNK, max(64, _CHUNK_ENTRIES // F.h)))
    subsets = itertools.combinations(range(m), k - 1)
    degenerate, faces, pending = {}, 0, []
    for s0 in range(0, n_sub, chunk):
        if deadline is not None and time.perf_counter() >= deadline:
            for fut in pending:
                fut.cancel()
            return None
        c = min(chunk, n_sub - s0)
        T = np.fromiter(itertools.chain.from_iterable(itertools.islice(subsets, c)), dtype=np.intp,
                        count=c * (k - 1)).reshape(c, k - 1)
        pending.append(pool.submit(_chunk, F, T, lv))
        while len(pending) >= threads or (pending and s0 + c >= n_sub):
            lam, U, inside, at, deg, nf = pending.pop(0).result()
            kept.add(lam, U, inside, at)
            degenerate.update(deg)
            faces += nf
            if clock is not None and clock.late(nf):
                for fut in pending:
                    fut.cancel()
                return None
    return degenerate, faces


def _around(pool, threads: int, F: _Faces, lv: _Level, degenerate: dict, deadline, rng, kept: "_Kept",
            clock: "_Clock | None" = None):
    """The faces around the degenerate vertices of the level ``lv`` (rows through it → vertex):
    every sign choice of the rows through a vertex where fewer than _QUOTIENT_MIN meet (batched),
    else a quotient level per sign of the vertex (returned, to be walked) and the vertex's own
    ray; the faces that count go to ``kept``. Returns (quotient levels, faces visited), or None
    once ``deadline`` has passed or the ``clock`` projects the end beyond it."""
    r, h = F.r, F.h
    quotients, faces = [], 0
    fixed = lv.fixed if np.any(lv.outside) else None
    few = {}
    for idx, v in degenerate.items():
        if len(idx) < _QUOTIENT_MIN or lv.base.shape[1] <= 2:
            few[idx] = v
            continue
        T = np.asarray(idx, dtype=np.intp)
        for w in (v, -v):
            q = lv.quotient(F, w, idx, rng)
            quotients.append(q)
            # the ray itself: every row of T is zero on it, the others keep their signs there
            P = q.fixed.copy()[None, :]
            through = np.zeros((1, h), bool)
            through[0, T] = True
            M = F.base(P, through).reshape(1, F.c, r)
            lam, _ = _top_eigen(M @ w[None, :, None], need_vector=False)
            kept.add(lam, w[None, :], np.ones(1, bool), np.full((1, r - 1), -1, np.intp))
            faces += 1
    per_call = max(1, _CHUNK_ENTRIES // (2 * h))  # vertices per batch (k × h arrays)
    pending = []
    for m in sorted({len(idx) for idx in few}):
        group = [(idx, v) for idx, v in few.items() if len(idx) == m]
        for g0 in range(0, len(group), per_call):
            part = group[g0:g0 + per_call]
            IDX = np.array([idx for idx, _ in part] * 2, dtype=np.intp)
            V = np.array([v for _, v in part])
            # both signs of each vertex, batches across the pool
            pending.append((pool.submit(_degenerate, F, np.vstack([V, -V]), IDX, deadline, fixed),
                            2 * len(part) * 3 ** m))
            faces += pending[-1][1]
            while len(pending) >= threads:
                fut, nf = pending.pop(0)
                got = fut.result()
                if got is None or (clock is not None and clock.late(nf)):
                    for fut, _ in pending:
                        fut.cancel()
                    return None
                kept.add(*got, np.full((len(got[0]), r - 1), -1, np.intp))
    for fut, nf in pending:
        got = fut.result()
        if got is None:
            return None
        if clock is not None:
            clock.late(nf)  # (counted only: nothing is left to give up)
        kept.add(*got, np.full((len(got[0]), r - 1), -1, np.intp))
    return quotients, faces

def relu_dual_norm_faces(X, G, *, max_faces: int = FACES_DEFAULT_MAX, time_limit: float | None = None,
                         peaks: int = 256) -> DualNormBound | None:
    """σ = max_{‖u‖₂ ≤ 1} ‖Gᵀ(Xu)_+‖₂ exactly (to rounding), by enumerating the arrangement's faces.

    Returns a :class:`~convexnn.atomic_dual.DualNormBound` with ``upper`` certified (rounding
    margins included) and ``lower`` attained at ``u``, status 'optimal'; ``peaks`` holds ``u`` and up
    to ``peaks`` more face maxima (the top of f on a face, inside it), best first; ``vertices`` the
    hyperplane subsets (rows, in the grouping of the design's distinct hyperplanes) of the vertices
    of up to ``peaks`` best such faces; ``cells`` counts the faces visited. Returns None when the
    enumeration would visit more than ``max_faces`` faces (or check more than 6·10⁸
    face–hyperplane pairs, scaled up with ``max_faces``; :func:`arrangement_face_count` estimates the
    faces) or, unexpectedly, meets a level without vertices: the caller then uses the branch and
    bound. At
    ``time_limit`` (or as soon as the faces done project its end beyond it: :class:`_Clock`) or on
    Ctrl-C it returns a valid but crude bound (the sum of the hyperplanes' weights) with status
    'time_limit' / 'interrupted', and ``cells`` the faces visited so far.
    """
    t0 = time.perf_counter()
    X = as_float_matrix(X, "X")
    G = as_float_matrix(G, "G", allow_1d_as_column=True)
    if G.shape[0] != X.shape[0]:
        raise DataError(f"X has {X.shape[0]} rows but G has {G.shape[0]}; they must match.")
    max_faces = check_positive_int(max_faces, "max_faces")
    check_time_limit(time_limit)
    peaks = check_positive_int(peaks, "peaks")
    d = X.shape[1]
    H, ap, am, B, err = _design(X, G)
    h, r = len(H), B.shape[1]

    def values(U):  # f at the columns of U (d × k), on the data as given
        return np.linalg.norm(G.T @ np.maximum(X @ U, 0.0), axis=0)

    weights = np.linalg.norm(ap, axis=1) + np.linalg.norm(am, axis=1)
    crude = float(np.sum(weights)) + err
    # rounding of the sums that form M_F: at most (h + r)·ε times the sum of all the terms
    err += (h + r + 8) * np.finfo(float).eps * float(np.sum(weights))

    def result(upper, u, lower, status, faces, peak_dirs, vertices=None):
        upper = max(upper, lower) * (1.0 + _RESULT_MARGIN)
        return DualNormBound(upper, lower, u, status, int(faces), 1, time.perf_counter() - t0, peak_dirs,
                             vertices)

    e0 = np.zeros(d)
    e0[0] = 1.0
    if h == 0 or not np.any(G):
        return result(err, e0, 0.0, "optimal", 0, e0[:, None])
    if r == 1:  # the sphere of the row space is two points
        U = np.hstack([B, -B])
        v = values(U)
        j = int(np.argmax(v))
        return result(float(v[j]) * (1.0 + 1e-12) + err, U[:, j], float(v[j]), "optimal", 2, U[:, [j]])
    if not _fits(_estimate(h, r), h, max_faces):
        return None
    F = _Faces(H, ap, am)
    F.tabulate()
    kept = _Kept(r, max(4096, 16 * peaks))
    rng = np.random.default_rng(_SLICE_SEED)  # the slices of every level: the enumeration is deterministic
    deadline = None if time_limit is None else t0 + time_limit
    clock = _Clock(t0, deadline, _estimate(h, r))
    top = _Level(F, np.eye(r), np.arange(h), np.zeros(h), np.eye(r), rng, top=True)
    queue = [top]
    shared = {}  # the degenerate vertices of the levels on all rows, merged
    faces = 0
    status = "optimal"
    try:
        with blas_threads(0), ThreadPoolExecutor(threads := cpu_cores()) as pool:
            while queue or shared:
                if not queue:  # the levels on all rows are done: the faces around their degenerate vertices
                    got = _around(pool, threads, F, top, shared, deadline, rng, kept, clock)
                    shared = {}
                else:
                    lv = queue.pop(0)
                    if lv.k >= 3:
                        queue.append(lv.below(F, rng))
                    got = _walk(pool, threads, F, lv, deadline, kept, clock)
                    if got is None:
                        status = "time_limit"
                        break
                    deg, nf = got
                    if nf == 0 and not deg:
                        return None  # a level without vertices (X has full rank, so not expected): the branch and bound decides
                    faces += nf
                    if not np.any(lv.outside):
                        shared.update(deg)
                        continue
                    got = _around(pool, threads, F, lv, deg, deadline, rng, kept, clock)
                if got is None:
                    status = "time_limit"
                    break
                more, nf = got
                queue += more
                faces += nf
    except KeyboardInterrupt:
        status = "interrupted"
    if status != "optimal":  # (the faces visited so far, for the caller's rate)
        return result(crude, e0, 0.0, status, clock.done, e0[:, None])
    lam, U, at = kept.lam, kept.U, kept.at
    upper = math.sqrt(max(kept.lam_max, 0.0)) + err
    # the vertices of the best faces whose maximum lies inside them: pricing looks around them next
    best = np.flatnonzero(at[:, 0] >= 0)
    best = best[np.argsort(lam[best])[::-1][:peaks]]
    vertices = np.unique(at[best], axis=0) if len(best) else None
    D = B @ U.T  # the faces' maxima, in the coordinates of X
    nd = np.linalg.norm(D, axis=0)
    D = D[:, nd > 0.5] / nd[nd > 0.5]  # (a face where M_F = 0 has no direction)
    if D.shape[1] == 0:
        return result(upper, B[:, 0], float(values(B[:, :1])[0]), status, faces, B[:, :1], vertices)
    vals = values(D)
    j = int(np.argmax(vals))
    found = _Peaks(d, size=peaks, sep=1e-6)
    found.add(D.T, vals)
    return result(upper, D[:, j], float(vals[j]), status, faces, found.directions(D[:, j]), vertices)
