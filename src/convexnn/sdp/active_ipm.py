"""Active-set interior point for SDP-NN: a Newton system over the constraints, not the variable.

The facially reduced problem (Λ = T S Tᵀ, S ⪰ 0 of size q) has n equalities diag Λ_αβ = 0,
n·c loss entries Λ_αv and about 2n² inequalities Λ_ab ≥ 0 of the ReLU block. The interior point
of :mod:`.ipm` factors a Newton matrix of size q(q+1)/2 — O(q⁴) memory, out of reach beyond
q ≈ 120. This solver instead forms the Schur complement over the *constraints* (the dual
space), M = A 𝒲 Aᵀ + D with 𝒲(K) = sym(S K Z⁻¹) (the HKM direction), for the equalities, the
loss rows and a *working set* of inequalities only. Every constraint is a bilinear form
t_aᵀ S t_b of two rows of T, so each entry of M is four products of entries of T S Tᵀ and
T Z⁻¹ Tᵀ: no matrix of size q² × q² is ever formed.

The inequalities outside the working set are checked at every iterate. The multipliers of
the working set, with zeros elsewhere, are multipliers of the *full* problem, so every iterate
is certified by :meth:`SDPFormulation.certify` on the full problem: the bound is valid whatever
the working set. The restricted problem can have the full optimal value and still a solution
that violates other inequalities, so the solver works in rounds (cutting planes): solve on the
working set from a fresh interior start, add the inequalities its solution violates, repeat.
It stops 'optimal' only for an iterate that is feasible for all inequalities (not just the
working set) with a relative gap ≤ tol.

Where it pays: on problems whose optimum needs few of the 2n² inequalities (one-off, Pima,
paper protocol, γ = 0.1: about 3,700 of 294,000 pairs picked from a 60 s ADMM run gave a
certified bound of 0.1706 after one round, where the ADMM had certified 0.034 in 60 s).
"""

from __future__ import annotations

import time

import numpy as np

from .. import _validation
from .._linalg import cholesky_solve
from .._validation import blas_threads, check_memory
from ..errors import ParameterError
from ..result import SolveResult, relative_gap
from .formulation import SDPFormulation
from .ipm import (BREAKDOWN_HINT, ITERATION_FACTORISATIONS, _centring, _cores, _factor_in_place, _max_step, _max_step_vec,
                  _stall_hint, factorisation_rate, factorisation_seconds)

# columns per block of the Schur complement's assembly (:func:`_schur`)
SCHUR_BLOCK = 256
# a warm round starts from the last cold round's first iterate with a relative gap to the certified
# bound at most this: on Pima (γ = 0.1, one-off) that iterate had μ ≈ 5e-6, 22 iterations in
SNAPSHOT_GAP = 0.5
# μ / scale below which a round stops to add the violated inequalities outside its working set
ROUND_END_MU = 1e-9
# rows from which the Schur complement is assembled by one thread per core. One-off (2026-12-05,
# Intel Xeon, 2 cores, random PS and PZ, blocks of 256 columns, ms, one thread → two). Alone, best
# of 3: 600 rows 4.4 → 5.2, 1,100 rows 12.1 → 9.8, 1,600 rows 19.3 → 13.7, 4,000 rows 164 → 105,
# 8,000 rows 586 → 374. As in the solver, each assembly followed by a threaded Cholesky
# factorisation (whose idle BLAS threads spin for a while), 3 runs each: 1,600 rows 27–40 → 29–37
# (nothing gained; end to end on Iris 53.6 → 54.0 ms per iteration, medians of 3), 3,000 rows
# 112–145 → 80–98, 4,000 rows 177–234 → 143–149, 6,000 rows 388–447 → 226–267
SCHUR_THREADS_MIN_ROWS = 3000


def relu_pairs(n: int) -> np.ndarray:
    """Index pairs (a, b), a < b, of the ReLU-block inequalities Λ_ab ≥ 0 in Λ's rows 0…2n−1
    (α then β), without the αβ diagonal (a, a + n), which is an equality."""
    iu, ju = np.triu_indices(2 * n, 1)
    keep = ju != iu + n
    return np.stack([iu[keep], ju[keep]], axis=1)


def working_set_from(form: SDPFormulation, Lam: np.ndarray | None, W: np.ndarray | None, *,
                     lam_tol: float = 1e-3, w_tol: float = 1e-6) -> np.ndarray:
    """Inequalities likely to bind, read off an approximate solution (e.g. an ADMM run): the
    pairs whose Λ_ab is below ``lam_tol`` times the largest ReLU-block entry, or whose multiplier
    exceeds ``w_tol`` times the largest. Returns indices into :func:`relu_pairs`."""
    n = form.n
    pairs = relu_pairs(n)
    pick = np.zeros(len(pairs), dtype=bool)
    for name, A, side in (("Lambda", Lam, form.p), ("W", W, 2 * n)):
        if A is not None and (np.ndim(A) != 2 or np.shape(A)[0] < side or np.shape(A)[1] < side):
            raise ParameterError(f"{name} for the working set must be a matrix of at least {side}×{side} "
                                 f"(the reduced problem's); got shape {np.shape(A)}.")
    if Lam is not None:
        R = np.asarray(Lam)[:2 * n, :2 * n]
        vals = R[pairs[:, 0], pairs[:, 1]]
        pick |= vals < lam_tol * max(float(np.abs(R).max()), 1e-300)
    if W is not None:
        wv = np.asarray(W)[pairs[:, 0], pairs[:, 1]]
        wmax = float(wv.max()) if wv.size else 0.0
        if wmax > 0:
            pick |= wv > w_tol * wmax
    return np.nonzero(pick)[0]


def _scratch_sizes(rows: int, threads: int, block: int = SCHUR_BLOCK) -> tuple[int, int]:
    """Entries of the two scratch arrays a round needs beside its Newton matrix: the assembly's
    gathers (one block of ``block`` columns per thread, :func:`_schur`) and, above
    :data:`~convexnn._linalg.BLAS_TILE_MAX` rows, the tiled factorisation's
    (:func:`~convexnn._linalg.cholesky_work_sizes`)."""
    from .._linalg import cholesky_work_sizes

    groups = max(1, min(threads, -(-rows // block), rows // block))  # as _schur splits the blocks
    fill = groups * rows * min(block, rows)
    t1, t2 = cholesky_work_sizes(rows)
    return max(fill, t1), max(fill, t2)


def schur_memory_bytes(rows: int, p: int) -> float:
    """Bytes a round of the active-set interior point holds for a Newton system of ``rows`` rows
    (Λ of size ``p``): the matrix (factored in place), the two scratch arrays of
    :func:`_scratch_sizes` with one thread per core, and the assembly's four p × rows gathers; the
    other arrays are O(rows + p²). A round's arrays are freed before the next round allocates its
    own. With Pima's p = 778, at 28,000 rows this is 1.44 matrices; the estimate used to count four
    (the scratch arrays were whole matrices, and one more for a growing set)."""
    return 8.0 * (rows * rows + sum(_scratch_sizes(rows, _cores())) + 4 * p * rows)


class _Rows:
    """The constraint rows of the dual Schur complement: equalities H, working inequalities,
    loss entries L — each the bilinear form t_aᵀ S t_b of rows a, b of T."""

    def __init__(self, form: SDPFormulation, relu: np.ndarray, work: np.ndarray):
        n, d, c = form.n, form.d, form.c
        i = np.arange(n)
        H = np.stack([i, n + i], axis=1)
        ii, kk = np.meshgrid(i, np.arange(c), indexing="ij")
        L = np.stack([ii.ravel(), (2 * n + d + kk).ravel()], axis=1)
        pairs = np.concatenate([H, relu[work], L])
        self.a, self.b = pairs[:, 0], pairs[:, 1]
        self.size = len(pairs)
        self.g = slice(n, n + len(work))
        self.l = slice(n + len(work), self.size)


def _schur(PS, PZ, a, b, bufs=None, lower=False, block=SCHUR_BLOCK, threads=1):
    """A 𝒲 Aᵀ for rows sym(t_a t_bᵀ): entry (i, j) is tr(A_i S A_j Z⁻¹) =
    ¼(PS_{b_i a_j} PZ_{a_i b_j} + PS_{b_i b_j} PZ_{a_i a_j} + PS_{a_i a_j} PZ_{b_i b_j}
    + PS_{a_i b_j} PZ_{b_i a_j}) with PS = T S Tᵀ, PZ = T Z⁻¹ Tᵀ.

    Each factor is gathered columns first (p × m, small) and then whole rows, which copies
    contiguous memory, into ``bufs`` (the m × m result and two scratch arrays, reused across
    iterations: on this VM first-touch page faults of fresh 160 MB arrays cost more than the
    gathers, one-off at m = 4,439: 3.8 s for the first call, 0.5 s for later ones with fresh
    temporaries). The four terms are accumulated in place, without a transpose; the result is
    ``bufs[0]``. The scratch arrays need m² entries each for the full matrix, and ``threads`` × m ×
    ``block`` with ``lower`` (:func:`_scratch_sizes`).

    With ``lower`` only the lower triangle (j ≤ i) is filled, in blocks of ``block`` columns
    each gathered from its first row on, which halves the work; the rest of the array is left
    as it was (the Cholesky factorisation reads one triangle only). ``threads`` > 1 then splits
    the column blocks into that many groups of equal work, filled at once (numpy's gathers and
    products release the GIL), each in its own part of the two scratch buffers."""
    m = len(a)
    if bufs is None:
        bufs = (np.empty((m, m)),) + tuple(np.empty(k) for k in _scratch_sizes(m, threads, block)) if lower \
            else tuple(np.empty((m, m)) for _ in range(3))
    M, tmp, tmp2 = bufs
    if not lower:
        tmp, tmp2 = tmp.reshape(-1)[:m * m].reshape(m, m), tmp2.reshape(-1)[:m * m].reshape(m, m)
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    cols = {(name, key): np.take(P, idx, axis=1)
            for name, P in (("S", PS), ("Z", PZ)) for key, idx in (("a", a), ("b", b))}
    rows = {"a": a, "b": b}
    terms = ((("b", "a"), ("a", "b")), (("b", "b"), ("a", "a")),
             (("a", "a"), ("b", "b")), (("a", "b"), ("b", "a")))
    if not lower:
        for k, ((sr, sc), (zr, zc)) in enumerate(terms):
            out = M if k == 0 else tmp
            np.take(cols["S", sc], rows[sr], axis=0, out=out, mode="clip")
            np.take(cols["Z", zc], rows[zr], axis=0, out=tmp2, mode="clip")
            np.multiply(out, tmp2, out=out)
            if k:
                M += tmp
        M *= 0.25
        return M
    flat, flat2 = tmp.reshape(-1), tmp2.reshape(-1)

    def fill(blocks, off):
        """Column blocks [c0, c1): rows c0… of those columns, gathered from a contiguous copy of
        the block's p × (c1 − c0) columns (np.take copies a non-contiguous source whole first),
        with scratch from ``off`` on in the flat buffers."""
        for c0, c1 in blocks:
            blk = M[c0:, c0:c1]
            size = (m - c0) * (c1 - c0)
            t1 = flat[off:off + size].reshape(m - c0, c1 - c0)
            t2 = flat2[off:off + size].reshape(m - c0, c1 - c0)
            for k, ((sr, sc), (zr, zc)) in enumerate(terms):
                np.take(np.ascontiguousarray(cols["S", sc][:, c0:c1]), rows[sr][c0:], axis=0, out=t1,
                        mode="clip")
                np.take(np.ascontiguousarray(cols["Z", zc][:, c0:c1]), rows[zr][c0:], axis=0, out=t2,
                        mode="clip")
                if k == 0:
                    np.multiply(t1, t2, out=blk)
                else:
                    np.multiply(t1, t2, out=t1)
                    blk += t1
            blk *= 0.25

    blocks = [(c0, min(m, c0 + block)) for c0 in range(0, m, block)]
    threads = max(1, min(int(threads), len(blocks), m // block))  # each needs m·block of scratch
    if min(flat.size, flat2.size) < threads * m * min(block, m):
        raise ValueError(f"scratch arrays of {flat.size} and {flat2.size} entries too small for {threads} "
                         f"thread(s) × {m} rows × {min(block, m)} columns")
    if threads == 1:
        fill(blocks, 0)
        return M
    from concurrent.futures import ThreadPoolExecutor

    work = np.cumsum([(m - c0) * (c1 - c0) for c0, c1 in blocks])
    cuts = [0] + [int(np.searchsorted(work, work[-1] * k / threads)) + 1 for k in range(1, threads)]
    cuts = sorted(set(min(c, len(blocks)) for c in cuts)) + [len(blocks)]
    groups = [blocks[lo:hi] for lo, hi in zip(cuts, cuts[1:]) if hi > lo]
    with ThreadPoolExecutor(len(groups)) as pool:
        for f in [pool.submit(fill, g, k * m * block) for k, g in enumerate(groups)]:
            f.result()
    return M


def solve_active_ipm(form: SDPFormulation, *, working_set=None, tol: float = 1e-4,
                     max_iter: int = 500, time_limit: float | None = None, callback=None,
                     add_tol: float = 1e-7, max_rounds: int = 20, round_iter: int = 60,
                     init_primal: float = 10.0, init_dual: float = 1.0, init_ineq: float = 0.01,
                     step_fraction: float = 0.9, sigma_power: float = 4.0,
                     refine: int = 2, warm_rounds: bool = True,
                     factor_rate: float | None = None) -> SolveResult:
    """Solve SDP-NN by the active-set interior point (module docstring); certified every iterate.

    Works in *rounds*. Each round solves the problem restricted to the working set (indices into
    :func:`relu_pairs`; ``working_set`` gives the first, default none — see
    :func:`working_set_from`), for at most ``round_iter`` iterations, until its gap is ≤ ``tol``
    or it stalls. The solve ends 'optimal' when the gap is ≤ ``tol`` and the iterate violates no
    constraint, inside the set or outside it, by more than ``tol``·scale (the full interior
    point's test); otherwise the inequalities violated by more than ``add_tol``·scale join the
    set and the next round starts (at most ``max_rounds``). A round also ends, to add
    inequalities, once μ < :data:`ROUND_END_MU`·scale while some outside the set are violated by
    more than ``tol``·scale: later iterations only creep. Adding violated inequalities inside
    one run, at a small barrier parameter, was tried first: on Pima the steps then collapsed and
    the certified bound stopped improving (one-off, docs §7.2), hence the restarts.

    The first round starts cold (S = ``init_primal``·scale·I, Z = ``init_dual``·I). With
    ``warm_rounds`` (default) a later round starts instead from a *snapshot* of the last cold
    round — its first iterate whose gap to the certified bound is ≤ :data:`SNAPSHOT_GAP`, still
    central and away from the boundary — and the inequalities the snapshot lacks start with the
    slack max(|t_aᵀ S t_b|, √μ) and the multiplier μ/slack. A warm round skips the cold start's
    first twenty-odd iterations, but its certified bound rises little (one-off, Pima: warm rounds
    found the working set, the bound stayed at the cold round's, docs §7.2). So a warm round
    that stops short of ``tol`` with no large violation outside is followed by one cold round on
    the same (completed) working set.

    Stops early at ``max_iter`` iterations in all, ``time_limit``, Ctrl-C, or when the Schur
    complement of the next working set would not fit in memory (status 'memory'), or as 'stalled'
    when a Newton matrix cannot be factored even after it is rebuilt with its diagonal shifted, or
    another linear-algebra error occurs (``info['stall_hint']`` says so); the bound so far stays
    valid in every case. Under a time limit an iteration is started only when it is predicted to
    end in time: by the previous iteration's duration within a round, and at a
    round's start by :data:`ITERATION_FACTORISATIONS` Cholesky factorisations of its Newton
    system (:func:`factorisation_seconds`, from ``factor_rate``, the seconds per cubed row that
    :func:`factorisation_rate` measures; when not given it is measured once, at the first round
    under a time limit). The direction (HKM, Mehrotra's predictor–corrector,
    σ = (μ_aff/μ)^``sigma_power``, equal primal and dual steps of ``step_fraction`` to the
    boundary, ``refine`` refinement steps against the operator applied without M) follows
    :func:`.ipm.solve_ipm`.
    """
    if form.weighted:
        raise ParameterError("the active-set interior point does not support row-balanced "
                             "formulations; build the SDPFormulation with balance_rows=False.")
    for name, v in (("tol", tol), ("add_tol", add_tol)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not v > 0:
            raise ParameterError(f"{name} must be a positive number; got {v!r}.")
    if (isinstance(step_fraction, bool) or not isinstance(step_fraction, (int, float, np.floating))
            or not 0.0 < step_fraction < 1.0):
        raise ParameterError(f"step_fraction must lie in (0, 1); got {step_fraction!r}.")
    for name, k, lo in (("max_rounds", max_rounds, 1), ("round_iter", round_iter, 1),
                        ("max_iter", max_iter, 1), ("refine", refine, 0)):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < lo:
            raise ParameterError(f"{name} must be a whole number ≥ {lo}; got {k!r}.")
    if not isinstance(warm_rounds, (bool, np.bool_)):
        raise ParameterError(f"warm_rounds must be True or False; got {warm_rounds!r}.")
    if factor_rate is not None and (isinstance(factor_rate, bool)
                                    or not isinstance(factor_rate, (int, float, np.floating))
                                    or not np.isfinite(factor_rate) or not factor_rate > 0):
        raise ParameterError(f"factor_rate must be a positive number of seconds per cubed row "
                             f"(see factorisation_rate) or None; got {factor_rate!r}.")
    t0 = time.perf_counter()
    if form.n == 0:
        c0 = form.constant
        return SolveResult("sdp-ipm-active", c0, c0, "optimal", 0, time.perf_counter() - t0)
    relu = relu_pairs(form.n)
    if working_set is None:
        work = np.zeros(0, dtype=np.int64)
    else:
        raw = np.asarray(working_set)
        if raw.ndim != 1 or (raw.size and not np.issubdtype(raw.dtype, np.integer)):
            raise ParameterError("working_set must be a one-dimensional array of integer indices into "
                                 f"relu_pairs(n); got shape {raw.shape} and dtype {raw.dtype}.")
        work = np.unique(raw.astype(np.int64))
    if work.size and (work[0] < 0 or work[-1] >= len(relu)):
        raise ParameterError(f"working_set holds indices outside 0…{len(relu) - 1} (the ReLU-block pairs).")
    size = form.n * (form.c + 1) + work.size  # rows of the first Schur complement
    check_memory(schur_memory_bytes(size, form.p),
                 f"the active-set interior point's Newton system ({size} rows: n = {form.n} equalities, "
                 f"n·c = {form.n * form.c} loss entries, {work.size} working inequalities)")
    # the factorisations and solves run in scipy's BLAS; numpy's (a separate library in the
    # wheels) gets one thread, since its idle threads spin against scipy's (as in ipm.py). One-off
    # on 2 cores: Iris from an ADMM warm start 10.5 s → 2.6 s (44 and 43 iterations), the interior part
    # of Ionosphere γ = 0.1 27.2 s → 15.9 s (39 iterations, same bound)
    with blas_threads(size, threshold=400, numpy_threads=1):
        solver = _Solver(form, relu, t0, tol=tol, time_limit=time_limit, callback=callback,
                         init=(init_primal, init_dual, init_ineq), step_fraction=step_fraction,
                         sigma_power=sigma_power, refine=refine, factor_rate=factor_rate)
        return solver.run(work, max_iter, max_rounds, round_iter, add_tol, warm_rounds)


class _Solver:
    """The rounds of :func:`solve_active_ipm`: a restricted interior-point run per working set,
    every iterate certified on the full problem; the best certificate is kept across rounds."""

    def __init__(self, form, relu, t0, *, tol, time_limit, callback, init, step_fraction, sigma_power,
                 refine, factor_rate=None):
        self.form, self.relu, self.t0 = form, relu, t0
        self.tol, self.time_limit, self.callback = tol, time_limit, callback
        self.init, self.frac, self.power, self.refine = init, step_fraction, sigma_power, refine
        self.factor_rate = factor_rate  # s per cubed row of a Cholesky factorisation, probed once
        n, q = form.n, form.q
        self.T = form.structured_basis()
        form.slater_point()
        self.Cs = np.zeros((q, q))
        self.Cs[np.arange(n, q), np.arange(n, q)] = 0.5 * form.reg
        self.scale = max(1.0, float(np.abs(form.Y).max()))
        self.history, self.best_bound, self.best = [], -np.inf, None
        self.best_feasible = None  # feasible for all constraints to tol·scale, lowest value + slack error
        self.memory_note = None  # why a 'memory' stop happened
        self.iterations = 0

    def full_W(self, work, w):
        n = self.form.n
        ra, rb = self.relu[work, 0], self.relu[work, 1]
        Wm = np.zeros((2 * n, 2 * n))
        Wm[ra, rb] = 0.5 * w
        Wm[rb, ra] = 0.5 * w
        return Wm

    def run(self, work, max_iter, max_rounds, round_iter, add_tol, warm_rounds=True):
        form, relu, scale = self.form, self.relu, self.scale
        n = form.n
        status, rounds, added = "max_iter", 0, []
        self.snapshot, cold, kinds = None, True, []
        try:
            for rounds in range(1, max_rounds + 1):
                left = max_iter - self.iterations
                if left <= 0:
                    break
                start = None if cold or not warm_rounds else self.snapshot
                kinds.append("cold" if start is None else "warm")
                state, status = self.round(work, min(round_iter, left), rounds, start)
                if status not in ("converged", "stalled", "violated"):
                    break
                vals = state["PS"][relu[:, 0], relu[:, 1]]
                outside = np.ones(len(relu), dtype=bool)
                outside[work] = False
                worst = max(0.0, -float(vals[outside].min())) if outside.any() else 0.0
                if status == "converged" and worst <= self.tol * scale:
                    status = "optimal"  # feasible for every inequality, as the full IPM's test asks
                    break
                new = np.nonzero(outside & (vals < -add_tol * scale))[0]
                if not new.size and start is None:  # a cold round stalled with nothing to add
                    break
                # a warm round that stopped short of tol without large violations outside: its
                # bound will not rise further, so one cold round on the (completed) set finishes
                cold = start is not None and worst <= self.tol * scale
                status = "max_rounds"
                if new.size:
                    size = n * (form.c + 1) + work.size + new.size
                    need, avail = schur_memory_bytes(size, form.p), _validation.available_memory_bytes()
                    if need > _validation.MEMORY_FRACTION * avail:
                        status = "memory"
                        self.memory_note = (
                            f"round {rounds + 1} would add the {new.size} inequalities that round {rounds}'s "
                            f"solution violates: {work.size + new.size} pairs, a Newton system of {size} rows "
                            f"needing about {need / 1024**3:.1f} GiB with {avail / 1024**3:.1f} GiB available; "
                            "stopped with the best certified bound so far")
                        break
                    work = np.union1d(work, new)
                    added.append(int(new.size))
        except KeyboardInterrupt:
            status = "interrupted"
        except np.linalg.LinAlgError:  # any other linear algebra that fails on a breaking iterate
            status = "breakdown"
        round_limit = status == "round_iter" and self.iterations < max_iter
        if status == "round_iter":  # the run's own iteration limit, or a round that never converged
            status = "stalled" if round_limit else "max_iter"
        breakdown = status == "breakdown"
        if breakdown:
            status = "stalled"
        state = self.last_state  # the last finished iterate, also after Ctrl-C
        if status != "optimal" and self.best_feasible is not None:
            # cut short (time, Ctrl-C, memory, rounds): the last iterate may be early in a round,
            # its value far off or its Λ infeasible; report the best iterate feasible for every
            # constraint instead (the bound is the best certificate either way)
            state = self.best_feasible
        S, PS = state["S"], state["PS"]
        if self.best is None:  # interrupted before the first iterate: certify the start
            Gam = PS[:n, 2 * n + form.d:] - form.Y
            Wm = np.zeros((2 * n, 2 * n))
            self.best_bound, self.best = form.certify(Gam, np.zeros(n), Wm).bound, (Gam, np.zeros(n), Wm)
        G_, y_, W_ = self.best
        wS, QS = np.linalg.eigh(S)
        keep = wS > 1e-10 * max(wS.max(), 1e-300)
        F = self.T @ (QS[:, keep] * np.sqrt(wS[keep]))
        info = {"reduction": form.reduction.describe(), "rank": int(keep.sum()), "rounds": rounds,
                "round_starts": kinds,
                "working_set": int(state["work"].size), "added_per_round": added,
                "inequalities": int(len(relu))}
        if status == "memory":
            info["memory"] = self.memory_note
        if status == "stalled":
            why = ""
            if round_limit:
                why = f"round {rounds} did not converge within its {round_iter} iterations; "
            elif breakdown:
                why = f"round {rounds} {BREAKDOWN_HINT}; "
            info["stall_hint"] = why + _stall_hint(form.closest_rows())
        return SolveResult("sdp-ipm-active", float(state["value"]), float(self.best_bound), status,
                           self.iterations, time.perf_counter() - self.t0, history=self.history,
                           solution={"Lambda": PS, "factor": F, "Gamma": G_, "y": y_, "W": W_,
                                     "working_set": state["work"]}, info=info)

    def round(self, work, iters, round_no, start=None):
        """One interior-point run restricted to ``work``, from the cold start or from ``start``
        (a snapshot of an earlier round); returns its last state and 'converged' (restricted gap ≤
        tol), 'violated' (μ negligible and inequalities outside ``work`` violated by more than
        tol·scale), 'stalled', 'breakdown' (the Newton matrix could not be factored twice over),
        'round_iter', 'time_limit' or 'stopped'. A cold round keeps its snapshot for later warm
        rounds. A KeyboardInterrupt propagates after the state of the last finished iterate is
        saved."""
        form, T, relu = self.form, self.T, self.relu
        n, d, c, q, p = form.n, form.d, form.c, form.q, form.p
        init_primal, init_dual, init_ineq = self.init
        scale, tol = self.scale, self.tol
        ra, rb = relu[:, 0], relu[:, 1]
        hi = np.arange(n)
        Yv = form.Y.ravel()
        S = np.eye(q) * scale * init_primal
        Z = np.eye(q) * init_dual
        PS = T @ S @ T.T
        s = np.maximum(PS[ra[work], rb[work]] + scale, scale)
        w = np.full(work.size, float(init_ineq))
        y = np.zeros(n)
        g = np.zeros(n * c)
        if start is not None:  # the snapshot's point; the inequalities it lacks start centred
            S, Z, y, g = start["S"], start["Z"], start["y"], start["g"]
            PS = T @ S @ T.T
            # slack |t_aᵀ S t_b| rather than √μ for a violated one: twice its primal residual, but
            # a multiplier μ/slack that much smaller, and the new multipliers are what make the
            # warm start's dual residual (one-off, Pima: ‖R_d‖ 0.30 → 0.038 at 4,640 new pairs)
            s = np.maximum(np.abs(PS[ra[work], rb[work]]), np.sqrt(start["mu"]))
            w = start["mu"] / s
            known = np.searchsorted(work, start["work"])
            s[known], w[known] = start["s"], start["w"]
        rows = _Rows(form, relu, work)
        m = work.size
        fill_threads = _cores() if rows.size >= SCHUR_THREADS_MIN_ROWS else 1
        bufs = (np.empty((rows.size, rows.size)),) + tuple(np.empty(k) for k in _scratch_sizes(rows.size,
                                                                                             fill_threads))
        state = {"S": S, "PS": PS, "work": work, "value": form.objective(PS)}
        self.last_state = state
        local, snapped = [], False

        def astar(lam):  # Σ λ_i sym(t_a t_bᵀ) = Tᵀ K T
            K = np.zeros((p, p))
            K[rows.a, rows.b] = 0.5 * lam
            K += K.T.copy()
            return T.T @ K @ T

        def aop(Sm):
            return (T @ Sm @ T.T)[rows.a, rows.b]

        status = "round_iter"
        if self.time_limit is not None:
            # the first iteration of a round has no predecessor whose duration bounds it: predict
            # it from the size of its Newton system, and do not start what cannot finish in time
            if self.factor_rate is None:
                self.factor_rate = factorisation_rate()
            need = ITERATION_FACTORISATIONS * factorisation_seconds(rows.size, rate=self.factor_rate)
            if time.perf_counter() - self.t0 + need > self.time_limit:
                return state, "time_limit"
        for _ in range(iters):
            t_it = time.perf_counter()
            AS = PS[rows.a, rows.b]
            R_d = self.Cs - astar(np.concatenate([y, w, g])) - Z
            r = np.concatenate([-AS[:n], s - AS[rows.g], Yv - AS[rows.l] - g])
            mu = (float(np.sum(S * Z)) + float(s @ w)) / (q + m)
            Zi = np.linalg.inv(Z)
            Zi = 0.5 * (Zi + Zi.T)
            PZ = T @ Zi @ T.T
            Dg = np.concatenate([np.zeros(n), s / w, np.ones(n * c)])

            def newton(shift):  # A𝒲Aᵀ + D, its diagonal raised by shift × its mean entry
                M_ = _schur(PS, PZ, rows.a, rows.b, bufs, lower=True, threads=fill_threads)
                M_[np.diag_indices_from(M_)] += Dg + shift * float(np.trace(M_)) / rows.size
                return M_

            # only M's lower triangle is filled; the transpose is a Fortran-ordered view whose
            # upper triangle holds it, factored (M = UᵀU) without a copy
            try:
                U = _factor_in_place(newton(1e-14), work=bufs[1:])
            except np.linalg.LinAlgError:
                # the failed factorisation has overwritten M: rebuild it with a larger shift, as
                # the full interior point does; a second failure ends the run (bound kept)
                try:
                    U = _factor_in_place(newton(1e-10), work=bufs[1:])
                except np.linalg.LinAlgError:
                    return state, "breakdown"

            def wop(K):
                Y_ = S @ K @ Zi
                return 0.5 * (Y_ + Y_.T)

            WRd = wop(R_d)

            def direction(smu, corr_S=None, corr_s=None):
                Rc, rc = _centring(smu, Zi, S, s, w, corr_S, corr_s)
                rr = r.copy()
                rr[rows.g] += rc / w
                base = Rc - WRd
                rhs = rr - aop(base)
                dl = cholesky_solve(U, rhs)
                for _ in range(self.refine):  # against the operator applied without M
                    res = rhs - (aop(wop(astar(dl))) + Dg * dl)
                    dl = dl + cholesky_solve(U, res)
                As = astar(dl)
                dZ = R_d - As
                dS = base + wop(As)
                dw = dl[rows.g]
                return (0.5 * (dS + dS.T), 0.5 * (dZ + dZ.T), rc / w - (s / w) * dw, dl[:n], dw,
                        dl[rows.l])

            dS, dZ, ds, dy, dw, dg = direction(0.0)
            ap = min(_max_step(S, dS, 1.0), _max_step_vec(s, ds, 1.0) if m else 1.0)
            ad = min(_max_step(Z, dZ, 1.0), _max_step_vec(w, dw, 1.0) if m else 1.0)
            mu_aff = (float(np.sum((S + ap * dS) * (Z + ad * dZ)))
                      + float((s + ap * ds) @ (w + ad * dw))) / (q + m)
            sigma = min(1.0, (mu_aff / mu) ** self.power) if mu > 0 else 0.0
            corr_S = 0.5 * (dS @ dZ @ Zi + Zi @ dZ @ dS)
            dS, dZ, ds, dy, dw, dg = direction(sigma * mu, corr_S, ds * dw if m else None)
            ap = min(_max_step(S, dS, self.frac), _max_step_vec(s, ds, self.frac) if m else 1.0)
            ad = min(_max_step(Z, dZ, self.frac), _max_step_vec(w, dw, self.frac) if m else 1.0)
            ap = ad = min(ap, ad)
            S = S + ap * dS
            S = 0.5 * (S + S.T)
            Z = Z + ad * dZ
            Z = 0.5 * (Z + Z.T)
            s, w, y, g = s + ap * ds, w + ad * dw, y + ad * dy, g + ad * dg
            PS = T @ S @ T.T
            self.iterations += 1
            # certify on the full problem: zeros for the inequalities outside the working set
            Wm = self.full_W(work, w)
            for Gam in (PS[:n, 2 * n + d:] - form.Y, -g.reshape(n, c)):  # primal and dual Γ
                cert = form.certify(Gam, y, Wm)
                if cert.bound > self.best_bound:
                    self.best_bound, self.best = cert.bound, (Gam, y.copy(), Wm)
            value = form.objective(PS)
            state = {"S": S, "PS": PS, "work": work, "value": value}
            self.last_state = state
            gap = relative_gap(value, self.best_bound)
            work_viol = np.minimum(PS[ra[work], rb[work]], 0.0)
            viol_E = PS[hi, n + hi]
            relu_vals = PS[ra, rb]
            # (one distinct row, e.g. a constant feature with d = 1, leaves no pair at all)
            feas_all = (max(0.0, -float(relu_vals.min())) if relu_vals.size else 0.0) + float(np.abs(viol_E).max())
            feas_work = (-float(work_viol.min()) if m else 0.0) + float(np.abs(viol_E).max())
            # how far the value of this slightly infeasible iterate can lie below the restricted
            # optimum (see ipm.py), with the current multipliers standing in for the optimal ones
            slack_err = (float(np.linalg.norm(w) * np.linalg.norm(work_viol))
                         + float(np.linalg.norm(y) * np.linalg.norm(viol_E)))
            # the iterate to report if the run is cut short: feasible to tol·scale and with the
            # lowest value + slack error (an estimated upper bound on the optimum). The lowest value
            # alone favoured the most infeasible admissible iterate: one-off, a stalled q = 30 run
            # reported 3.8397 (slack error 0.24) under a bound of 3.94327 instead of 3.94240 (8.6e-4)
            state["upper"] = value + slack_err
            if feas_all <= tol * scale and (self.best_feasible is None
                                            or state["upper"] < self.best_feasible["upper"]):
                self.best_feasible = state
            dt_iter = time.perf_counter() - t_it
            now = time.perf_counter() - self.t0
            rec = {"iteration": self.iterations, "round": round_no, "time_s": now, "value": value,
                   "lower_bound": self.best_bound, "gap": gap, "primal_residual": feas_all / scale,
                   "slack_error": slack_err, "mu": mu, "step_primal": ap, "step_dual": ad,
                   "sigma": sigma, "lambda_min": cert.lambda_min, "working_set": int(m)}
            self.history.append(rec)
            local.append(rec)
            if start is None and gap is not None and gap <= SNAPSHOT_GAP and not snapped:
                mu_now = (float(np.sum(S * Z)) + float(s @ w)) / (q + m)
                self.snapshot = {"S": S, "Z": Z, "y": y, "g": g, "s": s, "w": w, "mu": mu_now,
                                 "work": work}
                snapped = True
            if self.callback is not None and self.callback(rec):
                return state, "stopped"
            if (gap is not None and abs(gap) <= tol and feas_work <= tol * scale
                    and slack_err <= tol * max(abs(value), 1e-300)):
                return state, "converged"
            outside = relu_vals < -tol * scale
            outside[work] = False
            if mu < ROUND_END_MU * scale and outside.any():
                return state, "violated"
            if self.time_limit is not None and now + dt_iter > self.time_limit:
                return state, "time_limit"
            if (len(local) >= 4 and mu < 1e-9 * scale
                    and local[-4]["lower_bound"] >= self.best_bound - 1e-12 * abs(self.best_bound)
                    and local[-4]["value"] <= value * (1 + 1e-9)):
                return state, "stalled"
            if len(local) >= 3 and all(h_["step_primal"] < 1e-3 for h_ in local[-3:]):
                return state, "stalled"
        return state, status
