"""Native primal–dual interior-point solver for SDP-NN on small problems (q ≲ 120).

Works on the facially reduced problem in the structured basis T: Λ = T S Tᵀ with S ⪰ 0 of size
q = n + d + c, the ReLU-block entries of Λ as linear inequalities on S and diag Λ_αβ = 0 as
equalities. Variables are vectorised with svec (√2 off-diagonal scaling), the search direction
is HKM with Mehrotra's predictor–corrector, and the Newton system is a dense Cholesky of size
q(q+1)/2 — hence O(q⁶) time and O(q⁴) memory, the price of high accuracy. Its multipliers are
mapped to (Γ, y, W) and certified by the formulation like every other solver's.

The Newton matrix is assembled in its lower triangle only (the HKM part by broadcast products,
the inequality part Gᵀ diag(w/s) G by a sparse product into a precomputed pattern) and factored
in place, without a copy; its solves are refined with the operator applied without the matrix.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from .. import _linalg
from .._linalg import cholesky_in_place as _factor_in_place
from .._validation import blas_threads, check_memory
from .._validation import cpu_cores as _cores
from ..errors import ParameterError
from ..result import SolveResult, relative_gap
from .formulation import SDPFormulation

_R2 = np.sqrt(2.0)
# 1 ∓ cos below which a pair of rows counts as nearly (anti)parallel in the stall hint: Spiral's
# closest pair (4.4e-9) carries the largest multipliers at its stall, Iris's (1.8e-6) is close by
NEARLY_PARALLEL = 1e-4
# memory the solver may use, in N×N float64 matrices (N = q(q+1)/2): the Newton matrix, factored in
# place, plus the set-up's temporaries (peak growth measured one-off on Iris: 1.85 matrices)
IPM_MEMORY_FACTOR = 3.0

#: An interior-point iteration on N Newton rows is predicted to take this multiple of one Cholesky
#: factorisation of size N (timed at a smaller size and scaled by the cube), to decide under a
#: time limit whether a first iteration can start at all. Assembly and solves make up the rest:
#: on Iris (N = 3,403) 163 ms of 250 ms per iteration; in the active-set interior point on Pima
#: (one-off) 1.1 s of assembly against 0.36 s of factorisation at 4,439 rows, and 6.6 s of
#: assembly and 1.4 s of solves against 14.3 s of factorisation at 16,506 rows (the assembly grows
#: like N², the factorisation like N³).
ITERATION_FACTORISATIONS = 2.0
# bytes per pair of nonzeros in a row of G while :meth:`_SvecSDP._gram_pattern` builds its map
# (peak measured one-off with tracemalloc: 55.7 on Iris, 62.0 on Spiral)
GRAM_PATTERN_BYTES = 64.0


#: Above BLAS_TILE_MAX rows the factorisation by tiles runs slower than LAPACK's threaded potrf,
#: by which :func:`factorisation_seconds` extrapolates: part 17 of benchmarks/sdp_diagnostics.py
#: (Intel Xeon, 2 cores) took 6.02 / 12.64 / 27.39 s at 13,000 / 16,500 / 20,000 rows, against
#: 5.61 s for potrf at 13,000 scaled by the cube: 1.07, 1.10 and 1.34 times that.
TILED_SLOWDOWN = 1.35


def factorisation_rate(probe: int = 1500) -> float:
    """Seconds per cubed row of one dense Cholesky factorisation here: one factorisation of
    ``probe`` rows, timed (about 40 ms on two cores). Measure it once per solve and pass it to
    :func:`factorisation_seconds`, which otherwise times its own probe at every call."""
    k = int(max(1, probe))
    A = np.eye(k) * k + 1.0  # symmetric positive definite, cheap to build
    t = time.perf_counter()
    sla.cho_factor(A, lower=True, overwrite_a=True, check_finite=False)
    return (time.perf_counter() - t) / float(k) ** 3


def factorisation_seconds(size: int, probe: int = 1500, rate: float | None = None) -> float:
    """Seconds one dense Cholesky factorisation of ``size`` rows takes here: ``rate`` (from
    :func:`factorisation_rate`; timed on min(size, ``probe``) rows when not given) times size³,
    and :data:`TILED_SLOWDOWN` where :func:`convexnn._linalg.cholesky_in_place` factors by tiles."""
    if rate is None:
        rate = factorisation_rate(int(max(1, min(size, probe))))
    slow = TILED_SLOWDOWN if size > _linalg.BLAS_TILE_MAX else 1.0
    return rate * float(size) ** 3 * slow


class _SvecSDP:
    """The reduced SDP in svec coordinates: f(x) = ½‖A x − y‖² + cᵀx, G x ≥ 0, H x = 0."""

    def __init__(self, form: SDPFormulation):
        n, d, c = form.n, form.d, form.c
        q = form.q
        self.q, self.n, self.d, self.c = q, n, d, c
        iu, ju = np.triu_indices(q)
        self.I, self.J = iu, ju
        self.N = iu.size
        pos = -np.ones((q, q), dtype=np.int64)
        pos[iu, ju] = np.arange(self.N)
        pos[ju, iu] = pos[iu, ju]
        self.pos = pos
        self.rho = np.where(iu == ju, 1.0, _R2)  # svec scaling
        # objective: Λ_αv[i,k] = S[i, n+d+k] → svec entry / √2
        self.av_idx = pos[np.arange(n)[:, None], (n + d + np.arange(c))[None, :]]  # (n, c)
        self.Y = form.Y
        self.cvec = np.zeros(self.N)
        diag_uv = np.arange(n, q)
        self.cvec[pos[diag_uv, diag_uv]] = 0.5 * form.reg
        rows, cols, vals, self.ineq_pairs = _ineq_entries(form.X, pos)
        self.m = self.ineq_pairs.shape[0]
        r = self.m
        self.G = sp.csr_matrix((vals, (rows, cols)), shape=(r, self.N)) if r else sp.csr_matrix((0, self.N))
        # diag Λ_αβ = 0: Λ_{α_i β_i} = S_ii − Σ_k X_ik S_{i, n+k}
        X = form.X
        ii = np.arange(n)
        eq_cols = np.concatenate([pos[ii, ii][:, None], pos[ii[:, None], n + np.arange(d)[None, :]]], axis=1)
        eq_vals = np.concatenate([np.ones((n, 1)), -X / _R2], axis=1)
        self.H = sp.csr_matrix((eq_vals.ravel(), (np.repeat(ii, d + 1), eq_cols.ravel())),
                               shape=(n, self.N)).toarray()
        self.G.sum_duplicates()
        self.gram_index, self.gram_map = self._gram_pattern()

    def _gram_pattern(self):
        """The lower triangle of Gᵀ diag(d) G as a linear map of d, for :meth:`add_gram`.

        Row r of G contributes d_r G_ra G_rb at (a, b). Every (a ≥ b) pair of the nonzeros of
        each row is listed once: ``gram_index`` holds the distinct flat positions a·N + b and
        ``gram_map`` (positions × m, sparse) the products G_ra G_rb, so the values are one
        sparse product per iteration. At q = 82 that replaces a dense N×N temporary and its
        addition (92 MB each way)."""
        G = self.G
        if G.shape[0] == 0:
            return np.zeros(0, dtype=np.int64), sp.csr_matrix((0, 0))
        counts = np.diff(G.indptr)
        pairs = int(np.sum(counts.astype(np.int64) ** 2))
        # about seven int64 arrays of one entry per pair are alive at once below; with many
        # features (Ionosphere, d = 34: 6.7e9 pairs) that is out of reach before the first step
        check_memory(GRAM_PATTERN_BYTES * pairs,
                     f"the interior point's inequality pattern ({pairs:,} pairs of nonzeros at "
                     f"q = {self.q}, d = {self.d}; solver 'ipm-active' or 'native' avoid it)")
        row_of = np.repeat(np.arange(G.shape[0]), counts)          # the row of each nonzero
        first = counts[row_of]                                       # nonzeros in that row
        a = np.repeat(np.arange(G.nnz), first)                       # each nonzero ...
        start = np.repeat(G.indptr[row_of], first)
        offset = np.arange(a.size) - np.repeat(np.cumsum(first) - first, first)
        b = start + offset                                           # ... with each of its row
        ca, cb = G.indices[a], G.indices[b]
        keep = ca >= cb
        a, b, ca, cb = a[keep], b[keep], ca[keep], cb[keep]
        flat = ca.astype(np.int64) * self.N + cb
        index, inverse = np.unique(flat, return_inverse=True)
        gram_map = sp.csr_matrix((G.data[a] * G.data[b], (inverse.ravel(), row_of[a])),
                                 shape=(index.size, G.shape[0]))
        return index, gram_map

    def add_gram(self, M_lower, d):
        """M += Gᵀ diag(d) G on the lower triangle of the C-ordered N×N array ``M_lower``."""
        if self.gram_index.size:
            M_lower.reshape(-1)[self.gram_index] += self.gram_map @ d

    def mat(self, x):
        S = np.zeros((self.q, self.q))
        S[self.I, self.J] = x / self.rho
        S[self.J, self.I] = x / self.rho
        return S

    def vec(self, S):
        return S[self.I, self.J] * self.rho

    def f_grad(self, x):
        R = x[self.av_idx] / _R2 - self.Y
        g = self.cvec.copy()
        np.add.at(g, self.av_idx.ravel(), (R / _R2).ravel())
        val = 0.5 * float(np.sum(R * R)) + float(self.cvec @ x)
        return val, g, R

    def hess_diag(self):
        h = np.zeros(self.N)
        h[self.av_idx.ravel()] = 0.5
        return h

    def skron_apply(self, P, Z, v):
        """svec(½(P H Z + Z H P)) for H = mat(v): the product with :meth:`skron` in O(q³) flops
        and without its rounding, which the iterative refinement of the Newton solve needs."""
        H = self.mat(v)
        return self.vec(0.5 * (P @ H @ Z + Z @ H @ P))

    def skron(self, P, Z, lower=False, out=None, threads=1):
        """Matrix of svec(½(P H Z + Z H P)) as a function of svec(H) (symmetric for symmetric P, Z).

        Entry ((i,j),(k,l)) is ¼ρ_ij ρ_kl (P_ik Z_jl + Z_ik P_jl + P_il Z_jk + Z_il P_jk). With the
        columns of P and Z gathered once at the svec indices (PI = P[:, I], ...), the rows (i, j ≥ i)
        of one block are four broadcast products PI[i]·ZJ[j] + ZI[i]·PJ[j] + PJ[i]·ZI[j] +
        ZJ[i]·PI[j]: O(q⁴) flops streamed without index gathers. With ``lower`` each row block is
        filled only up to its last column (zeros beyond): about half the work, and it holds the
        lower triangle, which is all the Cholesky factorisation reads (one-off, q = 82: 51 ms
        against 84 ms for the full matrix built from q×q×q slabs, the previous method).

        ``out`` (N×N, C-ordered) is filled instead of a new array; with ``lower`` only its lower
        triangle is then defined (the solver reuses one buffer, whose upper part nobody reads).
        ``threads`` > 1 splits the row blocks into that many parts of equal work, filled at once
        (numpy's elementwise products release the GIL; one-off, Iris q = 81 on 2 cores: 48 ms →
        29 ms with a reused buffer).
        """
        q, Nsv = self.q, self.N
        if out is None:
            out = np.zeros((Nsv, Nsv)) if lower else np.empty((Nsv, Nsv))
        I, J = self.I, self.J
        PI, PJ, ZI, ZJ = P[:, I], P[:, J], Z[:, I], Z[:, J]
        col = 0.25 * self.rho  # ρ_kl/4; the row factor ρ_ij is √2 except on the block's first row
        starts = np.concatenate([[0], np.cumsum(q - np.arange(q))])  # first row of each block

        def fill(lo, hi):
            tmp = np.empty((q, Nsv))
            for i in range(lo, hi):
                r, start = q - i, starts[i]
                end = start + r if lower else Nsv
                rows, t = out[start:start + r, :end], tmp[:r, :end]
                c = col[:end]
                np.multiply(PI[i, :end] * c, ZJ[i:, :end], out=rows)
                np.multiply(ZI[i, :end] * c, PJ[i:, :end], out=t)
                rows += t
                np.multiply(PJ[i, :end] * c, ZI[i:, :end], out=t)
                rows += t
                np.multiply(ZJ[i, :end] * c, PI[i:, :end], out=t)
                rows += t
                rows[1:] *= _R2

        threads = max(1, min(int(threads), q))
        if threads == 1:
            fill(0, q)
            return out
        from concurrent.futures import ThreadPoolExecutor

        work = np.cumsum((q - np.arange(q)) * (starts[1:] if lower else Nsv))
        cuts = [0] + [int(np.searchsorted(work, work[-1] * k / threads)) for k in range(1, threads)] + [q]
        with ThreadPoolExecutor(threads) as pool:
            for f in [pool.submit(fill, a, b) for a, b in zip(cuts, cuts[1:]) if b > a]:
                f.result()
        return out


def _ineq_entries(X: np.ndarray, pos: np.ndarray):
    """The inequalities Λ_ab ≥ 0 of the ReLU block (a < b, except the αβ diagonal b = a + n) as
    coordinate entries (row, svec column, coefficient) of G, and their (a, b) pairs of Λ.

    Λ = T S Tᵀ with T's row α_i = e_i and β_i = e_i − Σ_k X_ik e_{n+k}, so Λ_ab = t_aᵀ S t_b and
    each entry of the outer product t_a t_bᵀ lands on svec(S) with weight 1 on the diagonal and
    1/√2 off it (entries that meet at the same svec position are summed by the sparse matrix).
    For each i the rows are (α_i, α_j), (β_i, β_j) alternately for j > i, then (α_i, β_j) for
    j ≠ i: one vectorised pass for each of the three kinds, placed by their row numbers.
    """
    n, d = X.shape
    if n < 2:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0), np.zeros((0, 2), dtype=np.int64)
    per_i = 2 * (n - 1 - np.arange(n)) + (n - 1)                  # rows contributed by each i
    offset = np.concatenate([[0], np.cumsum(per_i)[:-1]])
    iu, ju = np.triu_indices(n, 1)                                 # i < j, in row order
    r_aa = offset[iu] + 2 * (ju - iu - 1)
    r_bb = r_aa + 1
    ia, ja = np.nonzero(~np.eye(n, dtype=bool))                    # j ≠ i, in row order
    r_ab = offset[ia] + 2 * (n - 1 - ia) + np.where(ja < ia, ja, ja - 1)
    m = int(per_i.sum())
    idx_b = np.concatenate([np.arange(n)[:, None], np.broadcast_to(n + np.arange(d), (n, d))], axis=1)
    val_b = np.concatenate([np.ones((n, 1)), -X], axis=1)          # (n, d + 1): the rows β_i of T
    k = d + 1
    # (α_i, α_j): one entry S_ij / √2
    e_aa = (r_aa[:, None], pos[iu, ju][:, None], np.full((iu.size, 1), 1.0 / _R2))
    # (β_i, β_j): the (d+1)² products, K = idx_b[i] repeated, L = idx_b[j] tiled
    K = np.repeat(idx_b[iu], k, axis=1)
    L = np.tile(idx_b[ju], (1, k))
    V = (val_b[iu][:, :, None] * val_b[ju][:, None, :]).reshape(iu.size, k * k)
    e_bb = (np.broadcast_to(r_bb[:, None], K.shape), pos[K, L], np.where(K == L, V, V / _R2))
    # (α_i, β_j): S_{i, idx_b[j]} times val_b[j], never on the diagonal of S
    e_ab = (np.broadcast_to(r_ab[:, None], (ia.size, k)), pos[ia[:, None], idx_b[ja]], val_b[ja] / _R2)
    parts = [np.concatenate([e[t].ravel() for e in (e_aa, e_bb, e_ab)]) for t in range(3)]
    order = np.argsort(parts[0], kind="stable")                    # rows in order, entries kept
    pairs = np.empty((m, 2), dtype=np.int64)
    pairs[r_aa] = np.stack([iu, ju], axis=1)
    pairs[r_bb] = np.stack([n + iu, n + ju], axis=1)
    pairs[r_ab] = np.stack([ia, n + ja], axis=1)
    return parts[0][order], parts[1][order], parts[2][order], pairs


def _centring(sigma_mu, X_inv, X, s, w, corr_X=None, corr_s=None):
    """Right-hand sides of the linearised complementarity for the HKM direction: σμ·X⁻¹ − X for
    the semidefinite pair and σμ − s∘w for the inequalities, each less Mehrotra's second-order
    term when given (predictor: σμ = 0, no terms). Shared by both interior points."""
    R = sigma_mu * X_inv - X
    if corr_X is not None:
        R = R - corr_X
    rc = sigma_mu - s * w
    if corr_s is not None:
        rc = rc - corr_s
    return R, rc


def _max_step(X, dX, frac=0.98):
    """Largest α ≤ 1 with X + α dX ⪰ 0 (times frac)."""
    try:
        L = np.linalg.cholesky(X)
    except np.linalg.LinAlgError:
        return 0.0
    M = sla.solve_triangular(L, dX, lower=True)
    M = sla.solve_triangular(L, M.T, lower=True)
    lam = float(np.linalg.eigvalsh(0.5 * (M + M.T))[0])
    return 1.0 if lam >= -1e-300 else min(1.0, -frac / lam)


def _max_step_vec(s, ds, frac=0.98):
    neg = ds < 0
    return 1.0 if not np.any(neg) else min(1.0, frac * float(np.min(-s[neg] / ds[neg])))


def solve_ipm(form: SDPFormulation, *, tol: float = 1e-5, max_iter: int = 100,
              time_limit: float | None = None, callback=None, init_primal: float = 10.0,
              init_dual: float = 1.0, init_ineq: float = 0.01, equal_steps: bool = True,
              refine: int = 3, step_fraction: float = 0.9, predictor_refine: int = 0,
              sigma_power: float = 4.0) -> SolveResult:
    """Solve SDP-NN by a primal–dual interior-point method; certified like every other solver.

    Intended for q = n + d + c up to about 120 (memory ~ 8·(q(q+1)/2)² bytes). Stops when the
    relative gap between the primal value and the certified bound is ≤ ``tol`` (and the IPM's own
    residuals are small), at ``max_iter``/``time_limit`` (checked before each iteration against
    the last iteration's duration, so the limit is not overrun by a whole iteration; a first
    iteration predicted not to end in time, :data:`ITERATION_FACTORISATIONS` ×
    :func:`factorisation_seconds`, is not started), or on Ctrl-C. A Newton matrix that cannot be
    factored is rebuilt with its diagonal shifted; a second failure, or any other linear-algebra
    error, ends the solve as 'stalled' (``info['stall_hint']`` says so) with the bound certified so
    far.

    The start is S = ``init_primal``·max|Y|·I, Z = ``init_dual``·I and inequality multipliers
    ``init_ineq``. With ``equal_steps`` the primal and dual variables move by the same step
    length, as an interior point for a quadratic objective needs: the dual residual contains the
    gradient at the primal iterate, so unequal steps stop it from shrinking linearly. Both
    defaults were chosen on one-off runs (no script): on Iris (paper protocol, rows scaled to unit
    rms norm, γ = 0.1) the iterations to a certified gap of 1e-3 went from 90 (1, 1, 1, unequal
    steps) to 36. Each step goes ``step_fraction`` of the way to the boundary of the cones. Part 9
    of ``benchmarks/sdp_diagnostics.py`` compares 0.98 (the earlier value), 0.9 and 0.8 side by
    side: 0.9 needed fewer or as many iterations as 0.98 on 9 of the 10 runs that reached tol 1e-4
    (Iris γ = 0.1: 43 → 35, 17.0 s → 14.3 s; Spiral γ = 0.1: 47 → 42; the exception random:1
    γ = 0.01: 26 → 28) and reached a gap of 1e-3 sooner on 10 of the 11 that did (one tie); on
    Spiral γ = 0.01 both stall (gap 1.9e-3 at 0.98, 2.5e-3 at 0.9). 0.8 was better on Iris but
    worse on most random sets.

    The centring parameter is Mehrotra's σ = (μ_aff/μ)^``sigma_power`` from the predictor's
    step. The usual power is 3; part 13 of ``benchmarks/sdp_diagnostics.py`` runs 3, 4 (the
    default) and 4.5 side by side (see docs §7.1).

    The corrector's Newton solve is refined ``refine`` times (default 3) and the predictor's
    ``predictor_refine`` times (default 0: it only sets the centring parameter and the
    second-order term). The residual of each refinement step applies the Newton operator
    without its matrix — svec(½(S⁻¹ H Z + Z H S⁻¹)) + Gᵀ diag(w/s) G h in O(q³ + nnz G) flops —
    so the refinement also removes the rounding of the assembled matrix, not only that of its
    factorisation; part 12 of ``benchmarks/sdp_diagnostics.py`` compares the settings.

    Each history record carries, besides the residuals, μ and σ, the step lengths and in
    ``step_limits`` the step each cone allows (S and the inequality slacks s for the primal, Z and
    their multipliers w for the dual), which shows what holds the steps back.

    The dense factorisations run in scipy's BLAS; numpy's (a separate library in the wheels) is
    held to one thread meanwhile, since its idle threads otherwise spin against scipy's (one-off,
    Iris γ = 0.1, 12 iterations on 2 cores: 8.6 s → 5.3 s).
    """
    q = form.q
    with blas_threads(q * (q + 1) // 2, numpy_threads=1):
        return _solve_ipm(form, tol=tol, max_iter=max_iter, time_limit=time_limit, callback=callback,
                          init_primal=init_primal, init_dual=init_dual, init_ineq=init_ineq,
                          equal_steps=equal_steps, refine=refine, step_fraction=step_fraction,
                          predictor_refine=predictor_refine, sigma_power=sigma_power)


def _solve_ipm(form, *, tol, max_iter, time_limit, callback, init_primal, init_dual, init_ineq,
               equal_steps, refine, step_fraction, predictor_refine, sigma_power) -> SolveResult:
    if form.weighted:
        raise ParameterError("the interior-point solver does not support row-balanced formulations; "
                             "build the SDPFormulation with balance_rows=False.")
    if (isinstance(step_fraction, bool) or not isinstance(step_fraction, (int, float, np.floating))
            or not 0.0 < step_fraction < 1.0):
        raise ParameterError(f"step_fraction must lie in (0, 1); got {step_fraction!r}.")
    if (isinstance(sigma_power, bool) or not isinstance(sigma_power, (int, float, np.floating))
            or not 0.0 < sigma_power < np.inf):
        raise ParameterError(f"sigma_power must be a positive number; got {sigma_power!r}.")
    for name, k in (("refine", refine), ("predictor_refine", predictor_refine)):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ParameterError(f"{name} must be a whole number ≥ 0; got {k!r}.")
    t0 = time.perf_counter()
    q = form.q
    Nsv = q * (q + 1) // 2
    tiles_work = _linalg.cholesky_work_sizes(Nsv)  # factored by tiles above BLAS_TILE_MAX rows
    check_memory(IPM_MEMORY_FACTOR * 8.0 * Nsv**2 + 8.0 * sum(tiles_work),
                 f"the interior-point solver with q = {q}")
    if form.n == 0:
        c0 = form.constant
        return SolveResult("sdp-ipm", c0, c0, "optimal", 0, time.perf_counter() - t0)
    P = _SvecSDP(form)
    n, m = P.n, P.m
    form.slater_point()
    scale = max(1.0, float(np.abs(form.Y).max()))
    S = np.eye(q) * scale * init_primal
    Z = np.eye(q) * init_dual
    x = P.vec(S)
    s = P.G @ x + scale if m else np.zeros(0)
    s = np.maximum(s, scale)
    w = np.full(m, float(init_ineq))
    yeq = np.zeros(n)
    hdiag = P.hess_diag()
    history, best_bound, best = [], -np.inf, None
    status = "max_iter"
    done = 0  # iterations completed (a Ctrl-C may come in the middle of one)
    breakdown = False  # whether a Newton matrix could not be factored even after a shift

    def certify(x_, w_, yeq_):
        nonlocal best_bound, best
        S_ = P.mat(x_)
        G_ = S_[np.arange(n)[:, None], (n + form.d + np.arange(form.c))[None, :]] - form.Y
        W_ = np.zeros((2 * n, 2 * n))
        if m:
            ii, jj = P.ineq_pairs[:, 0], P.ineq_pairs[:, 1]
            W_[ii, jj] = w_ / 2.0
            W_[jj, ii] = w_ / 2.0
        cert = form.certify(G_, yeq_, W_)
        if cert.bound > best_bound:
            best_bound, best = cert.bound, (G_, yeq_.copy(), W_)
        return cert

    dt_iter = 0.0  # duration of the last iteration, to stop before a time limit is overrun
    # one N×N buffer for every iteration's Newton matrix (factored in place, so it also holds U);
    # its assembly is split over the cores when it is large enough to repay the threads: in
    # one-off runs on 2 cores (3 each, median ms per iteration, serial → threads) Iris (N = 3321)
    # went 249 → 239 but Spiral (N = 2145) 72 → 77, so the threads start at N = 3000
    Mbuf = np.empty((Nsv, Nsv))
    fwork = tuple(np.empty(k) for k in tiles_work) if tiles_work[0] else None
    fill_threads = _cores() if Nsv >= 3000 else 1
    try:
        if time_limit is not None and (time.perf_counter() - t0
                                       + ITERATION_FACTORISATIONS * factorisation_seconds(Nsv) > time_limit):
            # not even a first iteration would end in time: return the certified start
            status, max_iter = "time_limit", 0
        for it in range(1, max_iter + 1):
            t_it = time.perf_counter()
            fval, grad, _ = P.f_grad(x)
            value = fval + form.constant
            Gx = P.G @ x if m else np.zeros(0)
            r_d = grad - (P.G.T @ w if m else 0.0) - P.H.T @ yeq - P.vec(Z)
            r_I = Gx - s
            r_E = P.H @ x
            mu = (float(np.sum(S * Z)) + float(s @ w)) / (q + m)
            Sinv = np.linalg.inv(S)
            Sinv = 0.5 * (Sinv + Sinv.T)
            ws = w / s if m else np.zeros(0)

            def newton_matrix():  # lower triangle only: all the factorisation reads
                M_ = P.skron(Sinv, Z, lower=True, out=Mbuf, threads=fill_threads)
                M_[np.diag_indices(Nsv)] += hdiag
                P.add_gram(M_, ws)
                return M_

            def newton_apply(v):  # the same operator without the matrix: O(q³ + nnz(G)) flops
                out = P.skron_apply(Sinv, Z, v) + hdiag * v
                if m:
                    out += P.G.T @ (ws * (P.G @ v))
                return out

            Mmat = U = None  # the last iteration's factor lives in Mbuf, which is rebuilt now
            Mmat = newton_matrix()
            try:
                U = _factor_in_place(Mmat, work=fwork)
            except np.linalg.LinAlgError:  # rebuilt, since a failed factorisation overwrote it
                Mmat = newton_matrix()
                Mmat[np.diag_indices(Nsv)] += 1e-12 * float(np.abs(np.diag(Mmat)).max())
                try:
                    U = _factor_in_place(Mmat, work=fwork)
                except np.linalg.LinAlgError:  # a second failure ends the solve, its bound kept
                    status, breakdown = "stalled", True
                    break
            # M = UᵀU. With V = U⁻ᵀHᵀ the Schur complement H M⁻¹ Hᵀ is VᵀV: one triangular solve
            # with n right-hand sides instead of a full solve for M⁻¹Hᵀ
            V = sla.solve_triangular(U, P.H.T, trans="T", check_finite=False)
            schur = V.T @ V
            schur_f = sla.cho_factor(schur + 1e-14 * np.trace(schur) / n * np.eye(n), lower=True)

            def direction(sigma_mu, corr_S=None, corr_s=None, refine=refine):
                Rz, rc = _centring(sigma_mu, Sinv, Z, s, w, corr_S, corr_s)
                rhs = -r_d + P.vec(Rz)
                if m:
                    rhs += P.G.T @ ((rc - w * r_I) / s)
                def solve_kkt(r1, r2):  # M dx − Hᵀ dy = r1, H dx = r2, through the Schur complement
                    u = sla.solve_triangular(U, r1, trans="T", check_finite=False)
                    dy_ = sla.cho_solve(schur_f, r2 - V.T @ u)
                    return sla.solve_triangular(U, u + V @ dy_, check_finite=False), dy_

                dx, dy = solve_kkt(rhs, -r_E)
                # iterative refinement: near the end M is so ill-conditioned that one solve leaves
                # errors which would otherwise accumulate in the dual residual and the certificate
                for _ in range(refine):
                    e1 = rhs - (newton_apply(dx) - P.H.T @ dy)
                    e2 = -r_E - P.H @ dx
                    cx, cy = solve_kkt(e1, e2)
                    dx, dy = dx + cx, dy + cy
                dS = P.mat(dx)
                ds = (P.G @ dx if m else np.zeros(0)) + r_I
                dw = (rc - w * ds) / s if m else np.zeros(0)
                # Two formulas for dZ that agree in exact arithmetic: the linearised dual equation,
                # which shrinks the dual residual by exactly (1 − step), and the complementarity
                # Rz − sym(Z dS S⁻¹), whose rounding errors (S⁻¹ is huge near the end) pile up in
                # the dual residual that the certificate must then repair, but which keeps the
                # iterate centred. The first is taken unless it cuts the dual step by more than half.
                dZ = P.mat(hdiag * dx - (P.G.T @ dw if m else 0.0) - P.H.T @ dy + r_d)
                dZc = Rz - 0.5 * (Z @ dS @ Sinv + Sinv @ dS @ Z)
                dZc = 0.5 * (dZc + dZc.T)
                if _max_step(Z, dZ, 1.0) < 0.5 * _max_step(Z, dZc, 1.0):
                    dZ = dZc
                return dx, dS, dZ, ds, dw, dy

            # predictor
            dx, dS, dZ, ds, dw, dy = direction(0.0, refine=predictor_refine)
            ap = min(_max_step(S, dS, 1.0), _max_step_vec(s, ds, 1.0) if m else 1.0)
            ad = min(_max_step(Z, dZ, 1.0), _max_step_vec(w, dw, 1.0) if m else 1.0)
            mu_aff = (float(np.sum((S + ap * dS) * (Z + ad * dZ)))
                      + float((s + ap * ds) @ (w + ad * dw))) / (q + m)
            sigma = min(1.0, (mu_aff / mu) ** sigma_power) if mu > 0 else 0.0
            # corrector
            corr_S = 0.5 * (Sinv @ dS @ dZ + dZ @ dS @ Sinv)
            dx, dS, dZ, ds, dw, dy = direction(sigma * mu, corr_S, ds * dw if m else None)
            limits = {"S": _max_step(S, dS, step_fraction), "s": _max_step_vec(s, ds, step_fraction) if m else 1.0,
                      "Z": _max_step(Z, dZ, step_fraction), "w": _max_step_vec(w, dw, step_fraction) if m else 1.0}
            ap = min(limits["S"], limits["s"])
            ad = min(limits["Z"], limits["w"])
            if equal_steps:
                ap = ad = min(ap, ad)
            x = x + ap * dx
            S = P.mat(x)
            s = s + ap * ds
            Z = Z + ad * dZ
            Z = 0.5 * (Z + Z.T)
            w = w + ad * dw
            yeq = yeq + ad * dy
            done = it
            dt_iter = time.perf_counter() - t_it
            out_of_time = time_limit is not None and time.perf_counter() - t0 + dt_iter > time_limit
            if it % 2 == 0 or it < 3 or mu < 1e-6 * scale or out_of_time or it == max_iter:
                cert = certify(x, w, yeq)
                fval, _, _ = P.f_grad(x)
                value = fval + form.constant
                gap = relative_gap(value, best_bound)
                viol_E = P.H @ x
                viol_I = np.maximum(-(P.G @ x), 0) if m else np.zeros(0)
                feas = float(np.linalg.norm(viol_E)) + (float(viol_I.max()) if m else 0.0)
                # how far the value of this slightly infeasible x can lie below the optimum: with
                # optimal multipliers, convexity gives f* − f(x) ≤ w*ᵀ(Gx)₋ + |y*ᵀHx| (the current
                # multipliers stand in for w*, y*), so a small gap with a large one proves nothing
                slack_err = (float(np.linalg.norm(w) * np.linalg.norm(viol_I)) if m else 0.0) \
                    + float(np.linalg.norm(yeq) * np.linalg.norm(viol_E))
                rec = {"iteration": it, "time_s": time.perf_counter() - t0, "value": value,
                       "lower_bound": best_bound, "gap": gap, "primal_residual": feas / scale,
                       "slack_error": slack_err, "mu": mu,
                       "step_primal": ap, "step_dual": ad, "sigma": sigma, "step_limits": limits,
                       "lambda_min": cert.lambda_min, "dual_residual": float(np.linalg.norm(r_d)) / scale}
                history.append(rec)
                if callback is not None and callback(rec):
                    status = "stopped"
                    break
                if (gap is not None and abs(gap) <= tol and feas <= tol * scale
                        and slack_err <= tol * max(abs(value), 1e-300)):
                    status = "optimal"
                    break
                if out_of_time:
                    status = "time_limit"
                    break
                # stall: the barrier parameter is negligible and the bound stopped improving
                if (len(history) >= 4 and mu < 1e-9 * scale
                        and history[-4]["lower_bound"] >= best_bound - 1e-12 * abs(best_bound)):
                    status = "stalled"
                    break
                # stall: the iterate has lost centrality and the last three steps were negligible
                if len(history) >= 3 and all(h["step_primal"] < 1e-3 for h in history[-3:]):
                    status = "stalled"
                    break
    except KeyboardInterrupt:
        status = "interrupted"
    except np.linalg.LinAlgError:  # any other linear algebra that fails on a breaking iterate
        status, breakdown = "stalled", True
    # the objective of the x returned: a stop between two certified iterations (Ctrl-C, or before
    # the first) would otherwise report the value of an earlier iterate, or NaN
    value = P.f_grad(x)[0] + form.constant
    if best is None:
        certify(x, w, yeq)
    G_, y_, W_ = best
    T = form.structured_basis()
    Lam = T @ P.mat(x) @ T.T
    wS, QS = np.linalg.eigh(P.mat(x))
    keep = wS > 1e-10 * max(wS.max(), 1e-300)
    F = T @ (QS[:, keep] * np.sqrt(wS[keep]))
    info = {"reduction": form.reduction.describe(), "rank": int(keep.sum()),
            "closest_rows": form.closest_rows()}
    if status == "stalled":
        info["stall_hint"] = (f"the solve {BREAKDOWN_HINT}; " if breakdown else "") \
            + _stall_hint(info["closest_rows"])
    return SolveResult("sdp-ipm", float(value), float(best_bound), status, done, time.perf_counter() - t0,
                       history=history, solution={"Lambda": Lam, "factor": F, "Gamma": G_, "y": y_, "W": W_},
                       info=info)


#: why a stall hint says the interior point (full or active-set) ended on a numerical breakdown
BREAKDOWN_HINT = ("broke down numerically (its Newton matrix could not be factored even with its "
                  "diagonal shifted, or another factorisation failed)")


def _stall_hint(closest: dict) -> str:
    """Why an interior point stalls, in words: nearly parallel or antiparallel rows (the usual
    cause here) or, failing those, the accuracy of the Newton systems."""
    kind, (v, i, j) = min(closest.items(), key=lambda kv: kv[1][0]) if closest else ("", (np.inf, 0, 0))
    if v < NEARLY_PARALLEL:
        sign = "−" if kind == "parallel" else "+"
        return (f"rows {i} and {j} of the data are nearly {kind} (1 {sign} cos = {v:.1e}): the "
                "feasible set is thin there and the multipliers of their sign constraints grow "
                "large, so the last Newton steps lose accuracy and the bound stops rising "
                "(docs/mathematics.md §7.1); the bound reported is still certified")
    return ("the Newton systems lost accuracy before the gap closed; the bound reported is still "
            "certified")
