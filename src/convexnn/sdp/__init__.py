"""SDP-NN: the semidefinite relaxation of two-layer ReLU training and its certified lower bound.

- :mod:`.formulation` — the problem (objective, prox, face, dual map, certificate);
- :mod:`.admm` — the native first-order solver (Douglas–Rachford/ADMM with Anderson
  acceleration), for every size;
- :mod:`.ipm` — the native interior point, accurate for q = n + d + c ≲ 90;
- :mod:`.reference` — CVXPY back-ends (SCS on the paper's form, Clarabel/SCS on the reduced form).

:func:`solve_sdp` is the front door used by the estimators and the CLI.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_flag, check_positive_int, check_time_limit, check_tol, check_XY
from ..errors import DataError, ParameterError
from ..result import SolveResult, relative_gap
from .admm import solve_admm
from .formulation import Certificate, SDPFormulation, check_power_of_two

SOLVERS = ("auto", "native", "admm", "ipm", "ipm-active", "scs", "scs-reduced", "clarabel")

#: ``solver='auto'`` takes the interior point up to this q = n + d + c (after the exact data
#: reductions). From ``benchmarks/sdp.py``: it certifies gaps ≤ 1e-4 where the ADMM does not
#: (random, Spiral, Iris), while its O(q⁶) time (7.3 s to 1e-4 on Iris, q = 82, run bee22fe)
#: grows too fast beyond.
AUTO_IPM_MAX_Q = 90
#: with a time limit, 'auto' projects this many interior-point iterations from the measured
#: duration of the second and switches to the ADMM when they do not fit. It is where the interior
#: point's certified bound overtook the ADMM's in one-off Iris runs (paper protocol, no script):
#: at 6 s (13 iterations) 0.259 against the ADMM's 1.057 (γ = 0.1), at 10 s (23 iterations) 1.586
#: against 1.339 and, for γ = 0.01, 0.243 against 0.183; it needs 32–47 iterations in all.
AUTO_IPM_ITERATIONS = 25
# from this many (reduced) rows on, solver='ipm-active' picks its first working set from an ADMM run
ACTIVE_WARMUP_MIN_N = 100
#: the ADMM warm-up of solver='ipm-active' runs this many iterations — its first primal phase
#: (``phase_length`` = 2,000) and first dual phase (1,000), so the first working set does not
#: depend on the machine's speed — unless ACTIVE_WARMUP_MAX_S (or a quarter of the time limit)
#: comes first. Its set reads Λ and the multipliers at the end of that dual phase (on Pima,
#: γ = 0.1, that Λ's value is 0.0380526 against 0.0380478 where the primal phase ended, with the
#: same residual 1.7e-4: the primal barely drifts there). Measured one-off (paper
#: protocol, γ = 0.1, docs §7.2): on Pima, 640 iterations (15 s) left the first set 9,721 pairs
#: short, 2,000 left it 5,097 short (1e-3 certified after 468 s in the benchmark), 3,000 left it
#: 2,659 short; on Ionosphere 5 s (≈ 420 iterations) already sufficed.
ACTIVE_WARMUP_ITERATIONS = 3000
ACTIVE_WARMUP_MAX_S = 120.0
#: above AUTO_IPM_MAX_Q, 'auto' runs ipm-active's ADMM warm-up and continues with the active-set
#: interior point when the Newton system of its first working set has at most this many rows (an
#: O(rows³) Cholesky per iteration: about 4 s at 8,000 rows on the 2-core reference machine), else
#: the ADMM run that served as warm-up goes on (:func:`_auto_active`). From ``benchmarks/sdp.py``
#: (paper protocol): the interior point certifies Ionosphere (n = 175, first set ≈ 3,000 rows)
#: and Pima γ = 0.1 (n = 384, ≈ 4,200 rows), where the ADMM's bounds stay below in the same
#: time; on Bank Notes (≈ 23,000 rows, ~1 min per iteration) the ADMM's bound is the better one.
AUTO_ACTIVE_MAX_ROWS = 10_000
#: from this q on (and up to AUTO_IPM_MAX_Q), 'auto' first tries the active-set interior point
#: from a short ADMM warm-up and falls back to the full interior point when that attempt does not
#: end 'optimal' (:func:`_auto_small_active`). ``benchmarks/sdp_small.py`` (Intel Xeon, 2 cores,
#: 2026-12-05, 28d6b8d, medians of 3, whole solves, auto against 'ipm'): Iris (q = 82) default
#: protocol 2.33 s against 7.42 s (γ = 0.1) and 2.92 s against 8.44 s (γ = 0.01); paper protocol
#: 5.57 s against 7.84 s and 5.41 s ('optimal') against 9.78 s ('stalled'); Spiral (q = 62)
#: γ = 0.1 1.84 s against 4.24 s; Spiral γ = 0.01 (nearly parallel rows) fails the attempt, 9.92 s
#: against 8.01 s. Below q ≈ 60 the full interior point takes a second or two anyway.
AUTO_SMALL_ACTIVE_MIN_Q = 60
#: ADMM iterations of that attempt's warm-up (balanced rows), and its interior-point iterations
AUTO_SMALL_WARMUP_ITERATIONS = 700
AUTO_SMALL_ACTIVE_MAX_ITER = 150
#: the attempt's time budget, warm-up included: this many seconds at least, else the full interior
#: point's own predicted time (AUTO_IPM_ITERATIONS × ITERATION_FACTORISATIONS factorisations of its
#: Newton matrix), and at most half of a time limit — what a failed attempt may cost on top
AUTO_SMALL_ACTIVE_MIN_S = 3.0


#: a warm start from an ipm-active result gives the next solve the pairs its solution marks as
#: nearly active, joined by the pairs its last working set held when the joined Newton system has
#: at most WARM_UNION_MAX_ROWS rows or WARM_UNION_GROWTH times the marked set's: where Newton
#: systems are small, a round saved is worth more than a larger system (``benchmarks/sdp_path.py``)
WARM_UNION_MAX_ROWS = 1000
WARM_UNION_GROWTH = 1.25

#: an interior-point solve that ends short of its tolerance (a stall on nearly parallel rows, a time
#: or iteration limit) gets a final polish of its best multipliers: y and the W of at most this many
#: ReLU-block pairs (all of them up to n ≈ 100, else those with a positive multiplier), with
#: POLISH_EVALUATIONS eigendecompositions of size q (:func:`_polish`)
POLISH_MAX_PAIRS = 20_000
POLISH_EVALUATIONS = 150


def _power_of_two_scale(X: np.ndarray) -> float:
    """The power of two nearest the root-mean-square row norm of X (1 for an all-zero X)."""
    rms = float(np.sqrt(np.mean(np.sum(X**2, axis=1)))) if X.size else 0.0
    return 2.0 ** round(np.log2(rms)) if rms > 0 else 1.0


def solve_sdp(
    X,
    Y,
    reg: float,
    *,
    bias: bool = False,
    solver: str = "auto",
    tol: float = 1e-4,
    time_limit: float | None = None,
    max_iter: int = 10_000_000,
    warm_start=None,
    callback=None,
    device: str | None = None,
    balance_rows: bool = True,
    relu_scale: float | str = "auto",
    **options,
) -> SolveResult:
    """Solve SDP-NN for design matrix X (ones column included when ``bias``), targets Y, reg.

    Returns a :class:`~convexnn.result.SolveResult` whose ``lower_bound`` is certified (SPEC
    §3.1) whatever the solver: for the CVXPY back-ends it is recomputed from their duals, and the
    solver's own objective is kept in ``info['solver_value']``; an interior-point solve that ends
    short of ``tol`` (not by Ctrl-C or a callback) gets a final polish of its best multipliers y
    and W within the time limit (``info['polish']``, :func:`_polish`). ``solver``: 'auto' (default:
    'ipm' when q = n + d + c ≤ :data:`AUTO_IPM_MAX_Q`, no ADMM options, warm start or device
    are asked for, its memory fits and, under a ``time_limit``, its projected run fits too —
    from q = :data:`AUTO_SMALL_ACTIVE_MIN_Q` on after a first attempt with a short ADMM warm-up and
    'ipm-active', whose result is returned when it is 'optimal' (``info['attempt']`` records a
    failed one, whose bound is kept when it is the better one); above that q, ipm-active's ADMM
    warm-up and then 'ipm-active' when the first working set keeps its Newton system
    ≤ :data:`AUTO_ACTIVE_MAX_ROWS` rows, else the same ADMM run goes on; otherwise 'native'; ``info['auto']`` says which and why), 'native' = 'admm' (first-order,
    scales to large n),
    'ipm' (native interior point, the accurate choice for q ≲ 90; O(q⁴) memory),
    'ipm-active' (active-set interior point over a growing working set of inequalities, memory
    O((n(c + 1) + working set)²), for mid-size problems; its working set comes from ``warm_start``
    (an ADMM result) or, for n ≥ :data:`ACTIVE_WARMUP_MIN_N`, from an ADMM run of
    :data:`ACTIVE_WARMUP_ITERATIONS` iterations or ``warmup`` seconds, whichever ends first,
    default min(:data:`ACTIVE_WARMUP_MAX_S`, time_limit/4)), 'scs' (the
    paper's unreduced form, eps 1e-4 like the reference), 'scs-reduced', or 'clarabel'
    (facially reduced form; O(q⁴) memory). ``device`` ('cuda', 'cpu') runs the native
    iteration with torch tensors (optional ``torch`` extra); the default is numpy.
    ``balance_rows`` (native solver only) solves the exactly equivalent problem whose rows are
    rescaled by powers of two to nearly equal norms (:class:`SDPFormulation`); the returned Λ,
    factor and formulation are then in those balanced coordinates (α_i, β_i rows times
    ``formulation.row_scale[i]``), and U/V factors are those of the original problem.
    ``relu_scale`` (native solver only; 'auto' or a power of two) multiplies every row by one
    more common power of two, the same exact reformulation; 'auto' takes
    :func:`~convexnn.sdp.formulation.relu_block_scale` (≈ 11(d + c)/n as a power of two, ≤ 1)
    when rows are balanced, and 1 otherwise.
    ``warm_start``: a previous result (or its solution dict) of the same data, e.g. at the previous
    reg of a path. An ADMM result resumes the ADMM (and makes 'auto' take it); an interior point's
    result (``ipm``, ``ipm-active``, or 'auto' that ran one) gives 'auto' and 'ipm-active' their
    first working set instead of an ADMM warm-up (for q ≥ :data:`AUTO_SMALL_ACTIVE_MIN_Q`; the full
    interior point below that starts cold). Any working set gives the same certified answer (the
    rounds add what it lacks); a good one saves time. ``info['warm_started']`` says whether the
    warm start was used.
    ``max_iter`` (a whole number ≥ 1) caps the iterations of every solver, the CVXPY back-ends'
    included (SCS keeps its own cap of 1e5 below it unless ``max_iters`` is passed).
    """
    import time

    t_call = time.perf_counter()
    if solver not in SOLVERS:
        raise ParameterError(f"unknown SDP solver {solver!r}; choose one of {', '.join(SOLVERS)}.")
    check_tol(tol)
    bias, balance_rows = check_flag(bias, "bias"), check_flag(balance_rows, "balance_rows")
    max_iter = check_positive_int(max_iter, "max_iter")
    if warm_start is not None and not isinstance(warm_start, (SolveResult, dict)):
        raise ParameterError("warm_start must be a SolveResult of solve_sdp or its solution dict; "
                             f"got {type(warm_start).__name__}.")
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback must be callable or None; got {type(callback).__name__}.")
    if not (isinstance(relu_scale, str) and relu_scale == "auto"):
        relu_scale = check_power_of_two(relu_scale)
        if relu_scale != 1.0 and solver not in ("auto", "native", "admm"):
            raise ParameterError(f"relu_scale applies to the native (ADMM) solver only; got solver={solver!r}.")
    check_time_limit(time_limit)
    if bias and not np.all(check_XY(X, Y)[0][:, -1] == 1.0):  # the flag alone would change nothing
        raise DataError("bias=True but the last column of X is not all ones: solve_sdp takes the design "
                        "matrix (append the ones column, e.g. TrainingProblem.from_data(X, Y, reg, "
                        "bias=True).X).")
    if solver in ("auto", "ipm", "ipm-active", "native", "admm"):
        from .._validation import check_reg

        # Exact rescaling (SPEC §1 homogeneity): SDP(X, Y, reg) = SDP(X/a, Y, reg/a). With a a
        # power of two the scaled data are exact in floating point, so the certificate of the
        # scaled problem is a certificate of the original; a ≈ rms row norm balances the blocks.
        Xc, Yc = check_XY(X, Y)
        reg = check_reg(reg)
        a = _power_of_two_scale(Xc)
        if solver == "auto":
            res, form = _solve_auto(Xc / a, Yc, reg / a, bias=bias, tol=tol, time_limit=time_limit,
                                    max_iter=max_iter, warm_start=warm_start, callback=callback,
                                    device=device, balance_rows=balance_rows, relu_scale=relu_scale,
                                    options=options)
        elif solver == "ipm":
            res, form = _solve_ipm(Xc / a, Yc, reg / a, bias=bias, tol=tol, time_limit=time_limit,
                                   max_iter=max_iter, callback=callback, options=options)
        elif solver == "ipm-active":
            res, form = _solve_ipm_active(Xc / a, Yc, reg / a, bias=bias, tol=tol, time_limit=time_limit,
                                          max_iter=max_iter, warm_start=warm_start, callback=callback,
                                          options=options)
        else:
            res, form = _solve_native(Xc / a, Yc, reg / a, bias=bias, tol=tol, time_limit=time_limit,
                                      max_iter=max_iter, warm_start=warm_start, callback=callback,
                                      device=device, balance_rows=balance_rows, relu_scale=relu_scale,
                                      options=options)
        _polish(res, form, tol, None if time_limit is None else t_call + time_limit)
        res.info["data_scale"] = a
        F = res.solution.get("factor")
        if F is not None:
            B = form.blocks
            # network weights of the original problem: U = U'/√a, V = V'/√a
            res.solution["U_factor"] = F[B.u] / np.sqrt(a)
            res.solution["V_factor"] = F[B.v] / np.sqrt(a)
    else:
        from .reference import solve_cvxpy

        form = SDPFormulation(X, Y, reg, bias=bias)
        name, reduced = {"scs": ("scs", False), "scs-reduced": ("scs", True),
                         "clarabel": ("clarabel", True)}[solver]
        # max_iter caps the back-end too, below its own default cap (SCS's 1e5, the paper's)
        options.setdefault("max_iters", min(max_iter, 100_000))
        res = solve_cvxpy(form, solver=name, reduced=reduced, time_limit=time_limit, **options)
        Lam = res.solution.get("Lambda")
        if Lam is not None:
            B = form.blocks
            w, Q = np.linalg.eigh(0.5 * (Lam + Lam.T))
            keep = w > 1e-9 * max(w.max(), 1e-300)
            F = Q[:, keep] * np.sqrt(w[keep])
            res.solution["factor"] = F
            res.solution["U_factor"] = F[B.u]
            res.solution["V_factor"] = F[B.v]
    res.info.setdefault("n_reduced", form.n)
    res.info.setdefault("warm_started", False)  # whether ``warm_start`` was used (see above)
    res.info.setdefault("p", form.p)
    res.info.setdefault("q", form.q)
    res.solution["formulation"] = form
    return res


def _polish(res: SolveResult, form: SDPFormulation, tol: float, deadline: float | None) -> None:
    """Raise the certified bound of an interior-point solve that ended short of ``tol`` (not on
    Ctrl-C or a callback's stop) by re-choosing its best multipliers y and W for the same Γ
    (:meth:`SDPFormulation.refine_multipliers`), before ``deadline``. The interior points' dual
    iterates lose accuracy on nearly parallel rows while their primal ones converge, and their W
    is then what keeps the certificate from the dual value of its Γ. One-off (2026-12-07, AMD
    EPYC, docs §7.1): Iris γ = 0.01 with ``solver='ipm'`` stalled at a gap of 2.2e-4, 4.4e-5 after
    the polish (2.0 s); Spiral γ = 0.01 4.35e-4 → 3.84e-4; of 23 stalled random sets with d = 2,
    the gaps fell by up to 60 % (0.5–1.4 s each). Updates ``res`` in place: bound, multipliers,
    time, a history record and ``info['polish']``. The status becomes 'optimal' only when the
    reported point then passes the solvers' own test (gap, primal residual and slack error within
    ``tol``); the old one is kept in ``info['polish']['status_before']``."""
    import time

    from .active_ipm import relu_pairs

    if (res.method not in ("sdp-ipm", "sdp-ipm-active")  # the ADMM polishes y itself
            or res.status in ("optimal", "interrupted", "stopped") or res.lower_bound is None or res.value is None):
        return
    gap = relative_gap(res.value, res.lower_bound)
    if gap is not None and 0.0 <= gap <= tol:
        return
    sol, n, c = res.solution, form.n, form.c
    G, y, W = sol.get("Gamma"), sol.get("y"), sol.get("W")
    if (G is None or y is None or np.shape(G) != (n, c) or np.shape(y) != (n,)
            or (W is not None and np.shape(W) != (2 * n, 2 * n))):
        return
    pairs = relu_pairs(n)
    if len(pairs) > POLISH_MAX_PAIRS:
        pairs = pairs[np.asarray(W)[pairs[:, 0], pairs[:, 1]] > 0] if W is not None else pairs[:0]
    if not len(pairs) or len(pairs) > POLISH_MAX_PAIRS:
        return  # (the interior points run on sets of at most a few thousand pairs)
    t = time.perf_counter()
    if deadline is not None and t >= deadline:
        return
    before = res.lower_bound
    try:
        y2, W2 = form.refine_multipliers(G, y, W, pairs=pairs, evaluations=POLISH_EVALUATIONS,
                                         deadline=deadline)
        cert = form.certify(G, y2, W2)
    except KeyboardInterrupt:  # the solver's result stands
        res.status = "interrupted"
        return
    dt = time.perf_counter() - t
    res.time_s += dt
    res.info["polish"] = {"bound_before": before, "bound_after": float(max(before, cert.bound)),
                          "free_pairs": int(len(pairs)), "time_s": dt}
    if cert.bound > before:
        res.lower_bound = float(cert.bound)
        sol["y"], sol["W"] = y2, W2
        sol.pop("certificate", None)  # its own multipliers certify the bound again
        # the reported point's record (its residuals), next to the polished bound
        own = [h for h in res.history if h.get("value") == res.value and "primal_residual" in h]
        rec = dict(own[-1] if own else res.history[-1] if res.history else {})
        gap = relative_gap(res.value, res.lower_bound)
        rec.update({"iteration": res.iterations, "time_s": res.time_s, "value": res.value,
                    "lower_bound": res.lower_bound, "gap": gap, "lambda_min": cert.lambda_min,
                    "polished": True})
        res.history.append(rec)
        # the solvers' own test for 'optimal': the gap, the reported point's residual (all the
        # inequalities for ipm-active) and its slack error, each within tol
        if (own and gap is not None and abs(gap) <= tol and own[-1]["primal_residual"] <= tol
                and own[-1].get("slack_error", np.inf) <= tol * max(abs(res.value), 1e-300)):
            res.info["polish"]["status_before"] = res.status
            if "stall_hint" in res.info:
                res.info["polish"]["stall_hint"] = res.info.pop("stall_hint")
            res.status = "optimal"


def _solve_ipm(X, Y, reg, *, bias, tol, time_limit, max_iter, callback, options, form=None):
    """The interior point on (already scaled) data; it converges far better on unit-scale rows
    (Iris, paper protocol, one-off: a 4.25 % gap after 100 iterations unscaled, 4.75e-5 after 96
    scaled, other settings unchanged). Row balancing does not apply to it."""
    from .ipm import solve_ipm

    if form is None:
        form = SDPFormulation(X, Y, reg, bias=bias)
    res = solve_ipm(form, tol=tol, time_limit=time_limit, callback=callback,
                    max_iter=min(max_iter, 500), **options)
    return res, form


def _check_warmup(warmup):
    if warmup is not None and (isinstance(warmup, bool) or not isinstance(warmup, (int, float))
                               or not 0 < warmup < np.inf):
        raise ParameterError(f"warmup must be a positive number of seconds; got {warmup!r}.")


def _active_warmup(X, Y, reg, *, bias, tol, time_limit, max_iter, callback, warmup=None):
    """The ADMM run that picks ipm-active's first working set: ACTIVE_WARMUP_ITERATIONS
    iterations or ``warmup`` seconds (default min(ACTIVE_WARMUP_MAX_S, time_limit/4)), whichever
    ends first. Returns its result and formulation (row-balanced, the native solver's defaults)."""
    _check_warmup(warmup)
    if warmup is None:
        warmup = ACTIVE_WARMUP_MAX_S if time_limit is None else min(ACTIVE_WARMUP_MAX_S, 0.25 * time_limit)
    return _solve_native(X, Y, reg, bias=bias, tol=tol, time_limit=warmup,
                         max_iter=min(max_iter, ACTIVE_WARMUP_ITERATIONS), warm_start=None,
                         callback=callback, device=None, balance_rows=True, relu_scale="auto",
                         options={})


def _solve_ipm_active(X, Y, reg, *, bias, tol, time_limit, max_iter, warm_start, callback, options,
                      form=None, pre=None, t0=None, work=None):
    """The active-set interior point on (already scaled) data. Its first working set comes from
    ``warm_start`` (a result or solution with 'Lambda' and 'W' of the same reduced problem), else,
    for n ≥ ACTIVE_WARMUP_MIN_N, from the ADMM warm-up ``pre`` or, without it, from an
    :func:`_active_warmup` run (``options['warmup']`` seconds at most); small problems start from an
    empty set; a ``work`` given without ``pre`` is the first set as it is. ``t0`` (perf_counter)
    starts the clock, the time limit included, when the warm-up ran before the call. The callback hears from the warm-up too, on one clock. The ADMM's certified
    bound is kept when it is the better one (``info['bound_from'] = 'warmup'``; its own record is
    ``info['warmup']``); the multipliers in the solution stay the interior point's, and the
    ADMM's, which certify the adopted bound, go to ``solution['certificate']`` with their own
    (row-balanced) formulation (:func:`_adopt_bound`)."""
    import time

    from .._validation import MEMORY_FRACTION, available_memory_bytes
    from .active_ipm import schur_memory_bytes, solve_active_ipm, working_set_from

    t0 = time.perf_counter() if t0 is None else t0
    options = dict(options)
    warmup = options.pop("warmup", None)
    _check_warmup(warmup)
    if form is None:
        form = SDPFormulation(X, Y, reg, bias=bias)
    ws = warm_start.solution if isinstance(warm_start, SolveResult) else warm_start
    if ws is not None:
        work = _warm_set(form, ws)
        pre = None
    elif pre is not None or (work is None and form.n >= ACTIVE_WARMUP_MIN_N):
        pre_form = None
        if pre is None:
            pre, pre_form = _active_warmup(X, Y, reg, bias=bias, tol=tol, time_limit=time_limit,
                                           max_iter=max_iter, callback=callback, warmup=warmup)
        if work is None:
            work = working_set_from(form, pre.solution.get("Lambda"), pre.solution.get("W"))
        rows = form.n * (form.c + 1) + work.size
        need, avail = schur_memory_bytes(rows, form.p), available_memory_bytes()
        if pre_form is not None and need > MEMORY_FRACTION * avail:
            # e.g. a warm-up cut short by a time limit (Pima with 2 s: ~54,000 pairs, ~28 GiB): the time
            # is spent, so the warm-up's certified result is worth more than an error
            pre.status = "memory"
            pre.info["memory"] = (f"ipm-active not started: the working set picked by the "
                                  f"{pre.iterations}-iteration ADMM warm-up ({work.size} pairs) makes a "
                                  f"Newton system of {rows} rows, about {need / 1024**3:.1f} GiB, with "
                                  f"{avail / 1024**3:.1f} GiB available; the warm-up's result is returned")
            pre.time_s = time.perf_counter() - t0
            return pre, pre_form
    left = None if time_limit is None else max(time_limit - (time.perf_counter() - t0), 1e-3)
    offset = time.perf_counter() - t0  # the warm-up's share, added to the times a callback sees
    pre_bound = pre.lower_bound if pre is not None and pre.lower_bound is not None else -np.inf

    def on_clock(rec):
        """A record on the clock of the whole solve, its bound the best so far, the warm-up's
        included (the interior point's own early bounds are far below it)."""
        rec["time_s"] += offset
        if rec.get("lower_bound") is not None and pre_bound > rec["lower_bound"]:
            rec["lower_bound"], rec["bound_from"] = pre_bound, "warmup"
            rec["gap"] = relative_gap(rec["value"], pre_bound) if rec.get("value") is not None else None
        return rec

    cb = None if callback is None else (lambda rec: callback(on_clock(dict(rec))))
    res = solve_active_ipm(form, working_set=work, tol=tol, time_limit=left, callback=cb,
                           max_iter=min(max_iter, 500), **options)
    if ws is not None:
        res.info["warm_started"] = True
    for rec in res.history:  # what the callback saw
        on_clock(rec)
    res.time_s = time.perf_counter() - t0
    if pre is not None:
        res.info["warmup"] = {"solver": "native", "time_s": pre.time_s, "iterations": pre.iterations,
                              "lower_bound": pre.lower_bound, "value": pre.value, "status": pre.status}
        if pre.lower_bound is not None and pre.lower_bound > res.lower_bound:
            _adopt_bound(res, pre)
            res.info["bound_from"] = "warmup"
    return res, form


def _warm_set(form, ws) -> np.ndarray:
    """ipm-active's first working set from a solution ``ws`` of the same data (e.g. at the previous
    reg of a path): the pairs its Λ and multipliers mark as nearly active, joined by its own last
    working set (an ipm-active solution's) while the Newton system stays small."""
    from .active_ipm import working_set_from

    Lam = ws.get("Lambda")
    if Lam is None or np.shape(Lam) != (form.p, form.p):
        raise ParameterError(f"warm_start needs 'Lambda' of shape ({form.p}, {form.p}) from a solve of the same "
                             f"data (bias included); got {'none' if Lam is None else f'shape {np.shape(Lam)}'}.")
    marked = working_set_from(form, Lam, ws.get("W"))
    used = ws.get("working_set")  # the previous solve's own last set, when it was ipm-active's
    if used is None:
        return marked
    used = np.asarray(used)
    if used.ndim != 1 or (used.size and not np.issubdtype(used.dtype, np.integer)):
        raise ParameterError("warm_start's 'working_set' must be a one-dimensional array of integer pair "
                             f"indices (an ipm-active solution's); got shape {used.shape}, dtype {used.dtype}.")
    union = np.union1d(marked, used.astype(marked.dtype))
    fixed = form.n * (form.c + 1)  # the equality and loss rows of every Newton system
    if fixed + union.size <= max(WARM_UNION_MAX_ROWS, WARM_UNION_GROWTH * (fixed + marked.size)):
        return union
    return marked


def _solve_native(X, Y, reg, *, bias, tol, time_limit, max_iter, warm_start, callback, device,
                  balance_rows, relu_scale, options):
    """The ADMM on (already scaled) data, rows balanced unless ``balance_rows`` is False; the ReLU
    block scaled by ``relu_scale`` ('auto': by :func:`relu_block_scale` with balanced rows)."""
    if relu_scale == "auto" and not balance_rows:
        relu_scale = 1.0
    form = SDPFormulation(X, Y, reg, bias=bias, balance_rows=bool(balance_rows), relu_scale=relu_scale)
    options = dict(options)
    options.setdefault("rho", 0.05 * form.reg)
    res = solve_admm(form, tol=tol, time_limit=time_limit, max_iter=max_iter,
                     warm_start=warm_start, callback=callback, device=device, **options)
    res.info["relu_scale"] = form.relu_scale
    res.solution["formulation"] = form  # (its multipliers belong to it, e.g. to its balanced rows)
    return res, form


def _solve_auto(X, Y, reg, *, bias, tol, time_limit, max_iter, warm_start, callback, device,
                balance_rows, relu_scale, options):
    """solver='auto': the interior point where it is the better choice, else the ADMM.

    The interior point is taken when q ≤ AUTO_IPM_MAX_Q, no solver options (they are the
    ADMM's), ADMM warm start or device are given and its memory fits; from
    AUTO_SMALL_ACTIVE_MIN_Q on it is preceded by an attempt with the active-set interior point
    (:func:`_auto_small_active`), which is the answer when it ends 'optimal' (or was stopped), and
    otherwise leaves its bound and its time to what follows (:func:`_merge_attempt`). Under a
    time limit the interior point's run is projected once, at the second iteration, from that
    iteration's duration (AUTO_IPM_ITERATIONS in all); when that overruns the limit it is
    abandoned (its early bounds are weak) and the ADMM gets the time left. Above AUTO_IPM_MAX_Q (no options, warm start or
    device given, rows balanced) the ADMM runs and, at the end of ipm-active's warm-up, hands over
    to the active-set interior point when its first working set is small enough
    (:func:`_auto_active`); otherwise it simply goes on. ``info['auto']`` records the choice and
    why."""
    import time

    from .._validation import available_memory_bytes

    t0 = time.perf_counter()
    reason, too_big = None, False
    ws = warm_start.solution if isinstance(warm_start, SolveResult) else warm_start
    if options:
        reason = f"options {', '.join(sorted(options))} given (the ADMM's; solver='ipm' takes its own)"
    elif ws is not None and ws.get("zeta") is not None:
        reason = "warm start from an ADMM solution"
    elif device is not None:
        reason = f"device {device!r} (the ADMM's)"
    elif relu_scale != "auto" and relu_scale != 1.0:
        reason = f"relu_scale {relu_scale:g} given (the ADMM's)"
    else:
        n_distinct = len(np.unique(X, axis=0))  # q ≥ distinct rows: skip building large formulations
        form = SDPFormulation(X, Y, reg, bias=bias) if n_distinct <= AUTO_IPM_MAX_Q else None
        q = form.q if form is not None else None
        if form is None:
            reason = f"{n_distinct} distinct rows, so q > {AUTO_IPM_MAX_Q}"
            too_big = True
        elif q > AUTO_IPM_MAX_Q:
            reason = f"q = {q} > {AUTO_IPM_MAX_Q}"
            too_big = True
        else:
            from .ipm import IPM_MEMORY_FACTOR

            nsv = q * (q + 1) // 2
            if IPM_MEMORY_FACTOR * 8.0 * nsv**2 > 0.5 * available_memory_bytes():
                reason = f"the interior point's memory at q = {q} does not fit"
    # an interior point's solution (no ADMM state) seeds ipm-active's first working set instead of
    # an ADMM warm-up, e.g. at the next reg of a path
    warm = ws if ws is not None and ws.get("zeta") is None else None
    total_limit = time_limit  # the whole solve's; time_limit below is what is left of it
    attempt, offset, tried, a_form = None, 0.0, None, None
    if reason is None and q >= AUTO_SMALL_ACTIVE_MIN_Q:
        attempt, a_form, tried = _auto_small_active(X, Y, reg, bias=bias, tol=tol, time_limit=time_limit,
                                                    max_iter=max_iter, callback=callback, form=form, t0=t0,
                                                    warm=warm)
        if attempt.status in ("optimal", "interrupted", "stopped"):
            ran = "ipm-active" if attempt.method == "sdp-ipm-active" else "native"
            attempt.info["auto"] = f"{ran} (q = {q}: {tried})"
            attempt.time_s = time.perf_counter() - t0
            return attempt, a_form
        offset = time.perf_counter() - t0
        if time_limit is not None:
            time_limit = max(total_limit - offset, 1e-3)
    if reason is None:
        state = {"prev": None, "abandon": False}

        def guard(rec):
            if time_limit is not None and rec["iteration"] == 2 and state["prev"] is not None:
                it0, t_0 = state["prev"]
                per_iter = (rec["time_s"] - t_0) / max(rec["iteration"] - it0, 1)
                if rec["time_s"] + per_iter * (AUTO_IPM_ITERATIONS - rec["iteration"]) > time_limit:
                    state["abandon"] = True
                    return True
            state["prev"] = (rec["iteration"], rec["time_s"])
            return bool(callback(_after(attempt, offset, dict(rec)))) if callback is not None else False

        res, form = _solve_ipm(X, Y, reg, bias=bias, tol=tol, time_limit=time_limit, max_iter=max_iter,
                               callback=guard, options=options, form=form)
        if res.iterations == 0 and res.status == "time_limit":
            state["abandon"] = True  # not even its first iteration fitted: the ADMM's do
        if not state["abandon"]:
            res.info["auto"] = f"ipm (q = {q} ≤ {AUTO_IPM_MAX_Q})"
            if warm is not None and attempt is None:
                res.info["auto"] += "; the warm start is not used (the full interior point starts cold)"
            if attempt is not None:
                res.info["auto"] += f"; first {tried}, which ended {attempt.status}"
                res, form = _merge_attempt(res, form, attempt, a_form, offset)
            res.time_s = time.perf_counter() - t0
            return res, form
        spent = time.perf_counter() - t0
        reason = (f"the interior point's projected {AUTO_IPM_ITERATIONS} iterations at q = {q} "
                  f"exceed the time limit ({spent:.1f} s spent)")
        time_limit = max(total_limit - spent, 1e-3)
    if too_big and warm is not None and balance_rows:
        res, form, why = _auto_active_warm(X, Y, reg, bias=bias, tol=tol, time_limit=time_limit,
                                           max_iter=max_iter, callback=callback, warm=warm, t0=t0)
        if res is not None:
            res.info["auto"] = f"ipm-active ({reason}; {why})"
            res.time_s = time.perf_counter() - t0
            return res, form
        reason = f"{reason}; {why}"
        ws = warm_start = None  # the ADMM route below starts cold, as without a warm start
    if too_big and ws is None and balance_rows:
        res, form, why = _auto_active(X, Y, reg, bias=bias, tol=tol, time_limit=time_limit,
                                      max_iter=max_iter, callback=callback, relu_scale=relu_scale, t0=t0)
        if res is not None:
            ran = "ipm-active" if res.method == "sdp-ipm-active" else "native"
            res.info["auto"] = f"{ran} ({reason}; {why})"
            res.time_s = time.perf_counter() - t0
            return res, form
        reason = f"{reason}; {why}"
    if attempt is not None:
        reason = f"{reason}; first {tried}, which ended {attempt.status}"
        offset = time.perf_counter() - t0
    cb = callback if attempt is None or callback is None else (
        lambda rec: callback(_after(attempt, offset, dict(rec))))
    res, form = _solve_native(X, Y, reg, bias=bias, tol=tol, time_limit=time_limit, max_iter=max_iter,
                              warm_start=warm_start, callback=cb, device=device,
                              balance_rows=balance_rows, relu_scale=relu_scale, options=options)
    res.info["auto"] = f"native ({reason})"
    if attempt is not None:
        res, form = _merge_attempt(res, form, attempt, a_form, offset)
    res.time_s = time.perf_counter() - t0
    return res, form


def _after(attempt, offset, rec):
    """A record of the solve that follows a failed attempt, on the clock of the whole solve and
    with the best certified bound so far (the attempt's when it is the better one)."""
    if attempt is None:
        return rec
    rec["time_s"] = rec.get("time_s", 0.0) + offset
    best = attempt.lower_bound
    if best is not None and rec.get("lower_bound") is not None and best > rec["lower_bound"]:
        rec["lower_bound"], rec["bound_from"] = best, "attempt"
        rec["gap"] = relative_gap(rec.get("value"), best)
    return rec


def _merge_attempt(res, form, attempt, a_form, offset):
    """The result of 'auto' after a failed attempt of :func:`_auto_small_active` and the solve that
    followed it (``res`` on ``form``): the latter when it is 'optimal', else the one of the two with
    the smaller gap (the attempt's only when its value is not below its bound), with its
    formulation, its bound raised to the better of both (each certifies the same problem), the
    other's record in ``info['attempt']`` or ``info['fallback']`` and both histories on one clock."""
    history = attempt.history + [_after(attempt, offset, dict(r)) for r in res.history]
    a_gap, r_gap = attempt.gap, res.gap
    if (res.status != "optimal" and a_gap is not None and a_gap >= 0
            and (r_gap is None or a_gap < abs(r_gap))):
        # the attempt's iterate is the better answer (the fallback was cut short, e.g. by the time
        # limit); a value below the certified bound belongs to an infeasible iterate, never kept
        keep, keep_form, other, key = attempt, a_form, res, "fallback"
        attempt.info["auto"] = res.info["auto"]
    else:
        keep, keep_form, other, key = res, form, attempt, "attempt"
    keep.info[key] = {"method": other.method, "status": other.status, "value": other.value,
                      "lower_bound": other.lower_bound, "iterations": other.iterations}
    keep.info["attempt_time_s"] = offset
    keep.history = history
    if other.lower_bound is not None and (keep.lower_bound is None or other.lower_bound > keep.lower_bound):
        _adopt_bound(keep, other, form if other is res else a_form)
        keep.info["bound_from"] = key
    return keep, keep_form


def _adopt_bound(res: SolveResult, other: SolveResult, other_form=None) -> None:
    """Give ``res`` the better certified bound of ``other`` (a solve of the same problem), and
    with it the multipliers that certify it: ``solution['certificate']`` holds other's Γ, y, W
    and formulation, which a certificate file must store instead of ``res``'s own (before
    2026-12-07 only the number was taken, and the file's multipliers certified less). Should
    ``other`` have none to show (no real solve does), the bound is taken all the same and the
    certificate marked empty, so that no file claims it with the wrong multipliers."""
    src = other.solution.get("certificate") or other.solution
    form = src.get("formulation") or other_form
    res.lower_bound = other.lower_bound
    res.solution["certificate"] = {"Gamma": src.get("Gamma") if form is not None else None, "y": src.get("y"),
                                   "W": src.get("W"), "formulation": form}
    # (both were solved on the same data, so solve_sdp's data scale, set afterwards, is theirs)


def _auto_small_active(X, Y, reg, *, bias, tol, time_limit, max_iter, callback, form, t0, warm=None):
    """'auto' for AUTO_SMALL_ACTIVE_MIN_Q ≤ q ≤ AUTO_IPM_MAX_Q: an ADMM warm-up of
    AUTO_SMALL_WARMUP_ITERATIONS iterations (balanced rows), then the active-set interior point from
    the working set it picks, within a budget (AUTO_SMALL_ACTIVE_MIN_S or the full interior point's
    predicted time, at most half the time limit). Returns (result, form, what was tried): the
    warm-up's own result when it ended the solve, ran out of the budget or picked a working set
    whose Newton system would be no smaller than the full interior point's. The caller falls back
    to the full interior point unless the result is 'optimal', 'interrupted' or 'stopped'. With
    ``warm`` (an interior point's solution of the same data) its working set replaces the ADMM
    warm-up."""
    import time

    from .active_ipm import working_set_from
    from .ipm import ITERATION_FACTORISATIONS, factorisation_rate, factorisation_seconds

    nsv = form.q * (form.q + 1) // 2
    try:
        rate = factorisation_rate()  # one timing probe for the budget and ipm-active's rounds
        budget = max(AUTO_SMALL_ACTIVE_MIN_S,
                     AUTO_IPM_ITERATIONS * ITERATION_FACTORISATIONS * factorisation_seconds(nsv, rate=rate))
    except KeyboardInterrupt:  # Ctrl-C in the timing probe, before any iterate: the trivial bound
        c0 = form.constant  # (the reduced objective is ≥ 0)
        return (SolveResult("sdp-admm", None, c0, "interrupted", 0, time.perf_counter() - t0),
                form, "interrupted before the ADMM warm-up")
    if time_limit is not None:
        budget = min(budget, 0.5 * time_limit)
    skipped = ""
    if warm is not None:
        work = _warm_set(form, warm)
        if form.n * (form.c + 1) + work.size >= nsv:  # no smaller than the full interior point's system
            skipped = f"the warm start's {work.size} pairs not used (no smaller a Newton system than ipm's); "
            warm = None
    if warm is not None:
        tried = f"ipm-active on the warm start's {work.size} pairs (budget {budget:.1f} s)"
        res, form = _solve_ipm_active(X, Y, reg, bias=bias, tol=tol, time_limit=budget,
                                      max_iter=min(max_iter, AUTO_SMALL_ACTIVE_MAX_ITER), warm_start=None,
                                      callback=callback, options={"factor_rate": rate}, form=form, t0=t0,
                                      work=work)
        res.info["warm_started"] = True
        return res, form, tried
    # without the ADMM's final polish of its certificate (refine=0): it leaves Λ and W, hence the
    # working set, unchanged and cost 0.2 s of the 1.6 s warm-up on Iris (one-off, 3 runs each)
    adm, adm_form = _solve_native(X, Y, reg, bias=bias, tol=tol, time_limit=0.5 * budget,
                                  max_iter=min(max_iter, AUTO_SMALL_WARMUP_ITERATIONS), warm_start=None,
                                  callback=callback, device=None, balance_rows=True, relu_scale="auto",
                                  options={"refine": 0})
    tried = f"{skipped}an ADMM warm-up of {adm.iterations} iterations"
    if adm.status in ("optimal", "interrupted", "stopped"):
        return adm, adm_form, f"{tried} ended {adm.status}"
    try:
        work = working_set_from(form, adm.solution.get("Lambda"), adm.solution.get("W"))
    except KeyboardInterrupt:  # Ctrl-C between the two solvers: the warm-up's certified result
        adm.status = "interrupted"
        return adm, adm_form, f"{tried}, interrupted after it"
    rows = form.n * (form.c + 1) + work.size
    if rows >= nsv:
        return adm, adm_form, (f"{tried}, whose {work.size} pairs would make ipm-active's Newton system "
                               f"({rows} rows) no smaller than the full interior point's ({nsv})")
    tried += f" and ipm-active on its {work.size} pairs (budget {budget:.1f} s)"
    if time.perf_counter() - t0 >= budget:
        return adm, adm_form, tried
    res, form = _solve_ipm_active(X, Y, reg, bias=bias, tol=tol, time_limit=budget,
                                  max_iter=min(max_iter, AUTO_SMALL_ACTIVE_MAX_ITER), warm_start=None,
                                  callback=callback, options={"factor_rate": rate}, form=form, pre=adm, t0=t0,
                                  work=work)
    return res, form, tried


def _first_set_refused(form, work, source) -> str | None:
    """Why 'auto' does not start ipm-active on the first working set ``work`` (``source`` names where
    it came from), or None: its Newton system must have ≤ AUTO_ACTIVE_MAX_ROWS rows and fit in
    half the available memory."""
    from .._validation import available_memory_bytes
    from .active_ipm import schur_memory_bytes

    rows = form.n * (form.c + 1) + work.size
    if rows > AUTO_ACTIVE_MAX_ROWS:
        return (f"{source} ({work.size} pairs) would make a Newton system of {rows} > {AUTO_ACTIVE_MAX_ROWS} "
                "rows for ipm-active")
    if schur_memory_bytes(rows, form.p) > 0.5 * available_memory_bytes():
        return f"ipm-active's Newton system of {rows} rows from {source} would not fit in memory"
    return None


def _auto_active_warm(X, Y, reg, *, bias, tol, time_limit, max_iter, callback, warm, t0):
    """'auto' above AUTO_IPM_MAX_Q with an interior point's solution of the same data as warm start:
    ipm-active from the working set it marks, without an ADMM warm-up, when that Newton system has
    ≤ AUTO_ACTIVE_MAX_ROWS rows and fits in half the memory. Returns (result, form, why); the
    result is None when it does not (the caller then runs the cold route)."""
    form = SDPFormulation(X, Y, reg, bias=bias)
    work = _warm_set(form, warm)
    refused = _first_set_refused(form, work, "the warm start's working set")
    if refused is not None:
        return None, None, f"{refused}, so it is not used"
    rows = form.n * (form.c + 1) + work.size
    res, form = _solve_ipm_active(X, Y, reg, bias=bias, tol=tol, time_limit=time_limit, max_iter=max_iter,
                                  warm_start=None, callback=callback, options={}, form=form, t0=t0, work=work)
    res.info["warm_started"] = True
    return res, form, f"first working set {work.size} pairs from the warm start, {rows} Newton rows"


def _auto_active(X, Y, reg, *, bias, tol, time_limit, max_iter, callback, relu_scale, t0):
    """'auto' above AUTO_IPM_MAX_Q: the ADMM, offered for handoff (see :func:`solve_admm`) at the
    end of ipm-active's warm-up (ACTIVE_WARMUP_ITERATIONS iterations or min(ACTIVE_WARMUP_MAX_S,
    time_limit/4) seconds). The active-set interior point takes over when the working set picked
    from the offer makes a Newton system of ≤ AUTO_ACTIVE_MAX_ROWS rows that fits in half the
    memory; otherwise the ADMM goes on as if nothing had happened (one run: no restart of its ρ
    schedule or acceleration). Returns (result, form, why); the result is None when the n(c + 1)
    rows alone exceed the limit, so no offer is worth making."""
    from .active_ipm import working_set_from

    form = SDPFormulation(X, Y, reg, bias=bias)
    if form.n * (form.c + 1) > AUTO_ACTIVE_MAX_ROWS:
        return None, None, (f"the n·(c + 1) = {form.n * (form.c + 1)} equality and loss rows alone "
                            f"exceed ipm-active's {AUTO_ACTIVE_MAX_ROWS}")
    verdict = {}

    def decide(offer):
        work = working_set_from(form, offer.solution.get("Lambda"), offer.solution.get("W"))
        refused = _first_set_refused(form, work, "the working set after the ADMM's warm-up")
        if refused is not None:
            verdict["why"] = refused
            return False
        rows = form.n * (form.c + 1) + work.size
        verdict.update(work=work, why=f"first working set {work.size} pairs, {rows} Newton rows "
                                      f"≤ {AUTO_ACTIVE_MAX_ROWS}")
        return True

    seconds = ACTIVE_WARMUP_MAX_S if time_limit is None else min(ACTIVE_WARMUP_MAX_S, 0.25 * time_limit)
    adm, adm_form = _solve_native(X, Y, reg, bias=bias, tol=tol, time_limit=time_limit, max_iter=max_iter,
                                  warm_start=None, callback=callback, device=None, balance_rows=True,
                                  relu_scale=relu_scale,
                                  options={"handoff": (ACTIVE_WARMUP_ITERATIONS, seconds, decide)})
    if "work" not in verdict:  # no offer (the ADMM ended first), declined, or Ctrl-C while deciding
        ended = ("was interrupted during its warm-up" if adm.status == "interrupted"
                 else f"ended {adm.status} before its warm-up did")
        return adm, adm_form, verdict.get("why", f"the ADMM {ended}")
    if adm.status == "interrupted":  # Ctrl-C in the taken offer's final polish
        return adm, adm_form, f"{verdict['why']}, but the ADMM was interrupted at the handoff"
    res, form = _solve_ipm_active(X, Y, reg, bias=bias, tol=tol, time_limit=time_limit, max_iter=max_iter,
                                  warm_start=None, callback=callback, options={}, form=form, pre=adm,
                                  t0=t0, work=verdict["work"])
    return res, form, verdict["why"]


__all__ = ["SDPFormulation", "Certificate", "solve_sdp", "solve_admm", "SOLVERS"]
