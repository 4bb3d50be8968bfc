"""The active-set interior point (`sdp/active_ipm.py`): its Schur complement against the operator
applied to every unit vector, its optimum against the full interior point and Clarabel, and
its bound's validity whatever working set it is given or stopped with."""

from __future__ import annotations

import numpy as np
import pytest

import convexnn.sdp as sdp_mod
from convexnn.errors import ParameterError
from convexnn.sdp import SDPFormulation, solve_sdp
from convexnn.sdp.active_ipm import (_schur, _scratch_sizes, relu_pairs, schur_memory_bytes, solve_active_ipm,
                                     working_set_from)
from convexnn.sdp.ipm import _SvecSDP, solve_ipm

from _faults import fails_from


def _reference(form, gap=1e-5):
    """The full interior point's optimum, to ~1e-6: its value plus the slack error of its last,
    slightly infeasible iterate is an upper estimate of the optimum (whatever its gap)."""
    ref = solve_ipm(form, tol=1e-6)
    assert (ref.value - ref.lower_bound) / ref.value <= gap
    return ref.value, ref.value + ref.history[-1]["slack_error"]


def _data(seed, n=9, d=2, c=1, bias=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if bias:
        X = np.column_stack([X, np.ones(n)])
    return X, rng.standard_normal((n, c))


@pytest.mark.parametrize("n", [1, 2, 5])
def test_relu_pairs_are_the_interior_points_inequalities(n):
    rng = np.random.default_rng(n)
    form = SDPFormulation(rng.standard_normal((n, 2)), rng.standard_normal((n, 1)), 0.1)
    pairs = relu_pairs(form.n)
    assert len(pairs) == 2 * n * (2 * n - 1) // 2 - n
    assert np.all(pairs[:, 0] < pairs[:, 1]) and not np.any(pairs[:, 1] == pairs[:, 0] + n)
    # the same set of entries as the rows of G in the full interior point
    ref = _SvecSDP(form).ineq_pairs
    assert {tuple(p) for p in pairs} == {tuple(p) for p in ref}


def test_schur_complement_matches_the_operator_on_every_unit_vector():
    """Column j of A𝒲Aᵀ is A(sym(S A_j Z⁻¹)) with A_j = sym(t_a t_bᵀ): built from dense matrices
    for each row, no gathered index formulas."""
    rng = np.random.default_rng(3)
    X, Y = _data(3, n=4, d=2, c=2)
    form = SDPFormulation(X, Y, 0.1)
    T = form.structured_basis()
    q = form.q
    A_, B_ = rng.standard_normal((q, q)), rng.standard_normal((q, q))
    S, Z = A_ @ A_.T + np.eye(q), B_ @ B_.T + np.eye(q)
    Zi = np.linalg.inv(Z)
    pairs = np.concatenate([np.array([[0, 4], [1, 5]]), relu_pairs(form.n)[:7], np.array([[0, 10], [3, 11]])])
    a, b = pairs[:, 0], pairs[:, 1]
    mats = [0.5 * (np.outer(T[i], T[j]) + np.outer(T[j], T[i])) for i, j in pairs]
    ref = np.array([[np.sum(Ai * (0.5 * (S @ Aj @ Zi + Zi @ Aj @ S))) for Aj in mats] for Ai in mats])
    M = _schur(T @ S @ T.T, T @ Zi @ T.T, a, b)
    np.testing.assert_allclose(M, ref, rtol=1e-11, atol=1e-11)
    # the lower-triangle assembly, in row blocks smaller than the matrix and into buffers that
    # hold garbage: its lower triangle is the same, bitwise
    m = len(a)
    # — also split over threads, each block group with its own part of the scratch buffers
    for block, threads in ((1, 1), (4, 1), (5, 1), (512, 1), (1, 2), (2, 3), (3, 2), (1, 4), (5, 4)):
        bufs = tuple(np.full((m, m), np.nan) for _ in range(3))
        L = _schur(T @ S @ T.T, T @ Zi @ T.T, a, b, bufs, lower=True, block=block, threads=threads)
        il = np.tril_indices(m)
        np.testing.assert_array_equal(L[il], M[il])


def test_threaded_schur_assembly_equals_the_serial_one_on_a_large_system():
    """Threads fill disjoint column groups with disjoint scratch: on 900 rows (large enough for
    the threads to overlap in time) every split gives the serial lower triangle bit for bit, with
    scratch arrays of exactly :func:`_scratch_sizes` entries (flat, not m × m). One entry fewer is
    refused with a clear error instead of a write out of bounds."""
    rng = np.random.default_rng(8)
    p, m = 60, 900
    A_, B_ = rng.standard_normal((p, p)), rng.standard_normal((p, p))
    PS, PZ = A_ @ A_.T, B_ @ B_.T
    a, b = rng.integers(0, p, m), rng.integers(0, p, m)
    il = np.tril_indices(m)
    serial = _schur(PS, PZ, a, b, lower=True, block=64)[il]
    np.testing.assert_allclose(serial, _schur(PS, PZ, a, b)[il], rtol=1e-13, atol=0)
    for block, threads in ((64, 1), (64, 2), (64, 3), (100, 2), (256, 3), (900, 2), (1024, 1)):
        k1, k2 = _scratch_sizes(m, threads, block)
        assert k1 == k2 <= threads * m * block
        for _ in range(3):
            bufs = (np.full((m, m), np.nan), np.full(k1, np.nan), np.full(k2, np.nan))
            L = _schur(PS, PZ, a, b, bufs, lower=True, block=block, threads=threads)
            np.testing.assert_array_equal(L[il], serial)
        with pytest.raises(ValueError, match="too small"):
            _schur(PS, PZ, a, b, (bufs[0], np.empty(k1 - 1), bufs[2]), lower=True, block=block, threads=threads)


def test_a_round_allocates_no_more_than_the_memory_estimate(monkeypatch):
    """The memory a round holds, measured by tracemalloc (numpy reports its allocations to it), stays
    within :func:`schur_memory_bytes` of its largest Newton system plus a small allowance for the
    O(rows + p²) arrays, also when the system is factored by tiles (the tile size lowered so that
    a test-sized system is tiled), and over several rounds of a growing set (each round's arrays
    are freed before the next allocates its own). The estimate is not loose either: at least the
    matrix itself."""
    import tracemalloc

    import convexnn._linalg as linalg

    X, Y = _data(71, n=40, d=2, c=1)
    form = SDPFormulation(X, Y, 0.1)
    pairs = len(relu_pairs(form.n))  # all of them: 3,200 rows, a matrix of 82 MB
    for tile, first, rounds, iters in ((None, np.arange(pairs), 1, 3), (1000, np.arange(pairs), 1, 3),
                                       (1000, np.arange(0, pairs, 3), 3, 40)):
        if tile is not None:
            monkeypatch.setattr(linalg, "BLAS_TILE_MAX", tile)
        tracemalloc.start()
        try:
            res = solve_active_ipm(form, working_set=first, max_rounds=rounds, round_iter=iters)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        rows = form.n * (form.c + 1) + res.info["working_set"]
        if tile is not None:
            assert rows > tile  # the tiled factorisation ran
        if rounds > 1:
            assert len(res.info["added_per_round"]) >= 2  # the set grew twice
        est = schur_memory_bytes(rows, form.p)
        small = 8.0 * (60 * form.p**2 + 200 * rows)  # T S Tᵀ, eigen-solves, vectors of the rows
        assert 8.0 * rows**2 <= peak <= est + small, (rows, peak, est, small)


@pytest.mark.parametrize("seed, c, bias, reg", [(0, 1, False, 0.1), (1, 2, False, 0.01), (2, 1, True, 0.1),
                                                (3, 3, True, 0.01)])
def test_active_ipm_matches_the_full_interior_point(seed, c, bias, reg):
    X, Y = _data(seed, n=10, d=2, c=c, bias=bias)
    form = SDPFormulation(X, Y, reg, bias=bias)
    value, upper = _reference(form)
    res = solve_active_ipm(form, tol=1e-6)
    assert res.status == "optimal"
    assert abs(res.value - value) <= 1e-5 * value
    assert res.lower_bound <= upper
    assert (value - res.lower_bound) / value <= 2e-5
    # stopped on the full problem: every ReLU-block entry of its Λ is (nearly) non-negative and
    # diag Λ_αβ = 0, not just those of its working set
    Lam = res.solution["Lambda"]
    pairs = relu_pairs(form.n)
    scale = max(1.0, float(np.abs(form.Y).max()))
    assert Lam[pairs[:, 0], pairs[:, 1]].min() >= -1e-6 * scale
    assert np.abs(Lam[np.arange(form.n), form.n + np.arange(form.n)]).max() <= 1e-6 * scale
    assert 0 < res.info["working_set"] <= len(pairs)
    np.testing.assert_allclose(res.solution["factor"] @ res.solution["factor"].T, Lam, atol=1e-6)


def test_active_ipm_agrees_with_clarabel():
    pytest.importorskip("clarabel")
    X, Y = _data(11, n=8, d=2, c=2)
    ref = solve_sdp(X, Y, 0.1, solver="clarabel").info["solver_value"]
    res = solve_sdp(X, Y, 0.1, solver="ipm-active", tol=1e-5)
    assert res.status == "optimal" and res.method == "sdp-ipm-active"
    assert res.lower_bound <= ref * (1 + 1e-6)
    assert (ref - res.lower_bound) / ref <= 1e-4


@pytest.mark.parametrize("seed", range(6))
def test_bound_is_valid_for_any_working_set_and_any_stop(seed):
    """A working set that misses binding inequalities, or a run cut short, gives a weaker bound,
    never one above the optimum: the multipliers are certified on the full problem."""
    rng = np.random.default_rng(100 + seed)
    X, Y = _data(100 + seed, n=9, d=2, c=1 + seed % 2)
    form = SDPFormulation(X, Y, 0.1 if seed % 2 else 0.01)
    _, upper = _reference(form, gap=1e-3)  # only the upper side matters here
    pairs = relu_pairs(form.n)
    work = rng.choice(len(pairs), size=int(rng.integers(0, len(pairs) // 4)), replace=False)
    for max_iter in (1, 3, 8, 20):
        res = solve_active_ipm(form, working_set=work, max_iter=max_iter, max_rounds=1)
        assert res.lower_bound <= upper
        assert res.status in ("max_iter", "optimal", "stalled", "max_rounds")


def test_violated_inequalities_join_the_working_set_round_by_round():
    """Started from an empty set, each round adds the inequalities the last one's Λ violates,
    until Λ is feasible for all of them; the certified bound never decreases."""
    X, Y = _data(21, n=8, d=2, c=1)
    form = SDPFormulation(X, Y, 0.1)
    res = solve_active_ipm(form, tol=1e-6)
    assert res.status == "optimal" and res.info["rounds"] >= 2
    rounds = [h["round"] for h in res.history]
    sizes = [h["working_set"] for h in res.history]
    assert rounds == sorted(rounds) and sizes == sorted(sizes)
    assert sizes[0] == 0 and sizes[-1] == res.info["working_set"] == sum(res.info["added_per_round"])
    bounds = [h["lower_bound"] for h in res.history]
    assert bounds == sorted(bounds)
    # only the inequalities some round violated, here strictly fewer than all of them
    assert res.info["working_set"] < res.info["inequalities"]


def test_warm_rounds_start_from_the_snapshot_and_reach_the_same_optimum():
    """A round after the first starts from the last cold round's snapshot (its μ is far below the
    cold start's), and warm or cold rounds end at the full interior point's optimum."""
    X, Y = _data(21, n=8, d=2, c=1)
    form = SDPFormulation(X, Y, 0.1)
    value, upper = _reference(form)
    warm = solve_active_ipm(form, tol=1e-6)
    cold = solve_active_ipm(form, tol=1e-6, warm_rounds=False)
    for res in (warm, cold):
        assert res.status == "optimal"
        assert abs(res.value - value) <= 1e-5 * value and res.lower_bound <= upper
        assert res.info["round_starts"][0] == "cold"
    assert set(cold.info["round_starts"]) == {"cold"}
    starts = warm.info["round_starts"]
    assert "warm" in starts
    first_mu = {}
    for h in warm.history:
        first_mu.setdefault(h["round"], h["mu"])
    for r, kind in enumerate(starts, start=1):
        if kind == "warm":
            assert first_mu[r] < 1e-3 * first_mu[1]
        else:  # a cold round restarts from S = 10·I, Z = I
            assert first_mu[r] > 0.1 * first_mu[1]


def test_a_run_cut_short_reports_its_best_feasible_iterate():
    """Stopped before 'optimal', the result's value is that of the recorded iterate feasible for
    every constraint to tol·scale with the lowest value + slack error (its Λ with it), not that of
    the last iterate, which may sit early in a restarted round; with none feasible it is the last
    one's."""
    X, Y = _data(21, n=8, d=2, c=1)
    form = SDPFormulation(X, Y, 0.1)
    tol, cases_with_feasible = 1e-6, 0
    every = np.arange(len(relu_pairs(form.n)))
    for work, max_iter in [(None, 5), (None, 20), (None, 40), (every, 12), (every, 14), (every, 15)]:
        res = solve_active_ipm(form, tol=tol, max_iter=max_iter, working_set=work)
        assert res.status == "max_iter"
        feasible = [h for h in res.history if h["primal_residual"] <= tol]
        cases_with_feasible += bool(feasible)
        best = min(feasible, key=lambda h: h["value"] + h["slack_error"]) if feasible else res.history[-1]
        assert res.value == best["value"]
        assert form.objective(res.solution["Lambda"]) == pytest.approx(res.value, rel=1e-12)
    assert cases_with_feasible >= 1


def test_a_run_cut_short_does_not_report_the_most_infeasible_admissible_iterate():
    """Nearly parallel rows (1 − cos = 9e-6): round 3 restarts cold, and its early iterates pass
    the tol·scale feasibility test with values far below the optimum (slack errors of 0.2 and
    more). Cut short there, the solver used to report the lowest such value, 3.8397, under a
    certified bound of 3.94327 (a gap of −2.6 %); now the iterate with the lowest value + slack
    error, within 1e-3 of the bound."""
    rng = np.random.default_rng(18)
    n, d, c = int(rng.integers(8, 30)), int(rng.integers(1, 5)), int(rng.integers(1, 3))
    X, Y = rng.standard_normal((n, d)) * rng.choice([0.1, 1, 10]), rng.standard_normal((n, c))
    assert (n, d, c) == (27, 2, 1)
    res = solve_sdp(X, Y, 1.0, solver="ipm-active", tol=1e-4, max_iter=90)
    assert res.status == "max_iter" and res.info["rounds"] == 3
    feasible = [h for h in res.history if h["primal_residual"] <= 1e-4]
    assert min(h["value"] for h in feasible) < 0.99 * res.lower_bound  # the trap is there
    assert res.value == min(feasible, key=lambda h: h["value"] + h["slack_error"])["value"]
    assert abs(res.gap) <= 1e-3


def test_a_round_at_its_iteration_limit_is_a_stall_not_the_runs_max_iter():
    """A round that reaches round_iter before converging used to end the run as 'max_iter' although
    the run's own limit was far away (raising max_iter changed nothing); it is now 'stalled', with
    a hint that says so and names the closest rows. The run's own limit stays 'max_iter'."""
    X, Y = _data(21, n=8, d=2, c=1)
    form = SDPFormulation(X, Y, 0.1)
    res = solve_active_ipm(form, tol=1e-6, round_iter=5)
    assert res.status == "stalled" and res.iterations == 5
    assert res.info["stall_hint"].startswith("round 1 did not converge within its 5 iterations; ")
    res = solve_active_ipm(form, tol=1e-6, max_iter=5)
    assert res.status == "max_iter" and res.iterations == 5 and "stall_hint" not in res.info


def test_a_failed_factorisation_is_retried_and_a_second_one_ends_the_run_with_its_bound(monkeypatch):
    """A factorisation that fails has overwritten the Newton matrix: the round rebuilds it with a
    larger diagonal shift and goes on (same optimum as an untroubled run). When the rebuilt matrix
    fails too, or another linear-algebra routine fails, the run ends 'stalled' with a hint that
    says so, and its bound is the one certified before, below the optimum; it used to raise out
    of the solve and lose that bound."""
    import convexnn.sdp.active_ipm as aim

    X, Y = _data(21, n=8, d=2, c=1)
    form = SDPFormulation(X, Y, 0.1)
    _, hi = _reference(form)
    reference = solve_active_ipm(form, tol=1e-6)
    real = aim._factor_in_place
    once = {"n": 0}

    def flaky(M, work=None):
        once["n"] += 1
        if once["n"] == 4:
            M[:] = np.nan  # as a failed in-place factorisation leaves it
            raise np.linalg.LinAlgError("not positive definite")
        return real(M, work=work)

    monkeypatch.setattr(aim, "_factor_in_place", flaky)
    res = solve_active_ipm(form, tol=1e-6)
    assert res.status == "optimal" and res.iterations == reference.iterations
    assert res.lower_bound == pytest.approx(reference.lower_bound, rel=1e-6)
    assert once["n"] == reference.iterations + 1

    failing = fails_from(real, 12, ruin=True)
    monkeypatch.setattr(aim, "_factor_in_place", failing)
    res = solve_active_ipm(form, tol=1e-6)
    assert res.status == "stalled" and res.iterations == 11 and failing.calls == 13
    assert "could not be factored" in res.info["stall_hint"]
    assert np.isfinite(res.lower_bound) and res.lower_bound == max(h["lower_bound"] for h in res.history)
    assert 0 < res.lower_bound <= hi * (1 + 1e-9)  # an early, weaker bound, still valid
    assert np.isfinite(res.value) and form.objective(res.solution["Lambda"]) == pytest.approx(res.value)

    # any other linear-algebra error in an iteration (here Z⁻¹ at the 15th) ends the run the same way
    monkeypatch.setattr(aim, "_factor_in_place", real)
    monkeypatch.setattr(aim.np.linalg, "inv", fails_from(np.linalg.inv, 15))
    res = solve_active_ipm(form, tol=1e-6)
    assert res.status == "stalled" and res.iterations == 14 and "broke down" in res.info["stall_hint"]
    assert 0 < res.lower_bound == max(h["lower_bound"] for h in res.history) <= hi * (1 + 1e-9)


def test_working_set_from_picks_small_entries_and_large_multipliers():
    X, Y = _data(5, n=3, d=2, c=1)
    form = SDPFormulation(X, Y, 0.1)
    pairs = relu_pairs(form.n)
    p = form.p
    Lam = np.ones((p, p))
    Lam[pairs[2, 0], pairs[2, 1]] = 1e-5          # small entry → picked
    W = np.zeros((2 * form.n, 2 * form.n))
    W[pairs[4, 0], pairs[4, 1]] = 3.0              # the largest multiplier → picked
    W[pairs[6, 0], pairs[6, 1]] = 3e-7             # below 1e-6 of the largest → not picked
    np.testing.assert_array_equal(working_set_from(form, Lam, W), [2, 4])
    np.testing.assert_array_equal(working_set_from(form, None, W), [4])
    assert working_set_from(form, None, None).size == 0


def test_the_factorisation_timing_probe_runs_once_per_solve(monkeypatch):
    """Under a time limit each round's first iteration is predicted from a timed Cholesky
    factorisation of 1,500 rows (about 40 ms). It used to be re-timed at every round and again for
    'auto''s budget (3 probes, 0.12 s of a cold Iris solve, more of a warm one); now one
    measurement per solve serves all of them, and the predictions scale it by the cube of the rows."""
    import convexnn.sdp.active_ipm as active
    from convexnn.sdp import ipm

    real, calls = ipm.factorisation_rate, []

    def counted(probe=1500):
        calls.append(probe)
        return real(probe)

    monkeypatch.setattr(ipm, "factorisation_rate", counted)
    monkeypatch.setattr(active, "factorisation_rate", counted)
    X, Y = _data(31, n=10, d=2, c=1)
    form = SDPFormulation(X, Y, 0.01)
    res = solve_active_ipm(form, time_limit=60.0)
    assert res.info["rounds"] >= 2 and len(calls) == 1
    calls.clear()
    res = solve_active_ipm(form, time_limit=60.0, factor_rate=2e-11)  # given: no probe at all
    assert res.info["rounds"] >= 2 and calls == []
    # 'auto' on 60 ≤ q ≤ 90: the same probe sets the attempt's budget and ipm-active's rounds
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 3))
    Y = np.maximum(X @ rng.standard_normal((3, 4)), 0.0) @ rng.standard_normal((4, 1))
    calls.clear()
    res = solve_sdp(X, Y, 0.1, time_limit=120.0)
    assert res.method == "sdp-ipm-active" and res.info["rounds"] >= 2, res.info.get("auto")
    assert len(calls) == 1
    # the prediction: rate · rows³, times the tiled factorisation's slowdown above its threshold
    assert ipm.factorisation_seconds(1000, rate=2e-11) == pytest.approx(2e-11 * 1e9, rel=1e-12)
    big = ipm._linalg.BLAS_TILE_MAX + 1
    assert ipm.factorisation_seconds(big, rate=1e-12) == pytest.approx(1e-12 * big**3 * ipm.TILED_SLOWDOWN)
    for bad in (0.0, -1.0, float("nan"), True, "fast"):
        with pytest.raises(ParameterError, match="factor_rate"):
            solve_active_ipm(form, factor_rate=bad)


def test_time_limit_and_interrupt_keep_a_valid_bound(monkeypatch):
    import convexnn.sdp.active_ipm as active

    X, Y = _data(31, n=10, d=2, c=1)
    form = SDPFormulation(X, Y, 0.01)
    _, upper = _reference(form)
    # a round's first iteration is not started when its predicted duration overruns the limit
    res = solve_active_ipm(form, time_limit=1e-4)
    assert res.status == "time_limit" and res.iterations == 0
    assert res.lower_bound <= upper
    monkeypatch.setattr(active, "factorisation_seconds", lambda size, **kw: 1e9)
    res = solve_active_ipm(form, time_limit=100.0)
    assert res.status == "time_limit" and res.iterations == 0 and res.time_s < 100.0
    # once an iteration has started (a prediction that always fits), the limit is checked after
    # each iteration against its duration
    monkeypatch.setattr(active, "factorisation_seconds", lambda size, **kw: -1e9)
    res = solve_active_ipm(form, time_limit=1e-4)
    assert res.status == "time_limit" and res.iterations == 1
    assert res.lower_bound <= upper
    monkeypatch.undo()

    def stop(rec):
        if rec["iteration"] == 4:
            raise KeyboardInterrupt
        return False

    res = solve_active_ipm(form, callback=stop)
    assert res.status == "interrupted" and res.iterations == 4
    assert np.isfinite(res.lower_bound) and res.lower_bound <= upper


def test_parameters_and_warm_starts_are_checked():
    X, Y = _data(41, n=6, d=2, c=1)
    form = SDPFormulation(X, Y, 0.1)
    with pytest.raises(ParameterError, match="working_set"):
        solve_active_ipm(form, working_set=[10_000])
    with pytest.raises(ParameterError, match="step_fraction"):
        solve_active_ipm(form, step_fraction=1.0)
    with pytest.raises(ParameterError, match="warm_rounds"):
        solve_active_ipm(form, warm_rounds="yes")
    with pytest.raises(ParameterError, match="max_rounds"):
        solve_active_ipm(form, max_rounds=0)
    with pytest.raises(ParameterError, match="balance_rows"):
        solve_active_ipm(SDPFormulation(X, Y, 0.1, balance_rows=True))
    with pytest.raises(ParameterError, match="working_set must be"):
        solve_active_ipm(form, working_set=[1.5, 2.0])  # not silently truncated to 1, 2
    with pytest.raises(ParameterError, match="working_set must be"):
        solve_active_ipm(form, working_set=[[1, 2]])
    with pytest.raises(ParameterError, match="warm_start"):
        solve_sdp(X, Y, 0.1, solver="ipm-active", warm_start={"Lambda": np.eye(3)})
    p = form.p
    with pytest.raises(ParameterError, match="W for the working set"):
        solve_sdp(X, Y, 0.1, solver="ipm-active", warm_start={"Lambda": np.eye(p), "W": np.ones(4)})
    with pytest.raises(ParameterError, match="warmup"):
        solve_sdp(X, Y, 0.1, solver="ipm-active", warmup=-1.0)


def test_solve_sdp_warm_up_picks_the_working_set_from_an_admm_run(monkeypatch):
    """From ACTIVE_WARMUP_MIN_N rows on, a short ADMM run picks the first working set; its time
    counts in the result's, and an ADMM result passed as warm start does the same job. The
    warm-up is cut by its iteration count here, so the working set does not depend on the
    machine's speed (a warm-up cut by ``warmup`` seconds is checked in the next test)."""
    monkeypatch.setattr(sdp_mod, "ACTIVE_WARMUP_MIN_N", 5)
    monkeypatch.setattr(sdp_mod, "ACTIVE_WARMUP_ITERATIONS", 400)
    X, Y = _data(51, n=12, d=2, c=1)
    ref = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-6)
    assert ref.status == "optimal"
    seen = []
    res = solve_sdp(X, Y, 0.1, solver="ipm-active", tol=1e-5, warmup=60.0,
                    callback=lambda rec: seen.append(rec["time_s"]) and False)
    warm = res.info["warmup"]
    assert warm["solver"] == "native" and warm["iterations"] == 400 and warm["status"] == "max_iter"
    # the callback (a progress display) hears from the warm-up too, on one clock
    assert len(seen) > len(res.history) and seen == sorted(seen)
    assert seen[-1] == pytest.approx(res.history[-1]["time_s"], abs=1e-6)
    assert res.time_s >= res.info["warmup"]["time_s"]
    assert res.status == "optimal"
    assert abs(res.value - ref.value) <= 1e-4 * ref.value
    assert res.lower_bound <= ref.value * (1 + 1e-6)
    admm = solve_sdp(X, Y, 0.1, solver="native", max_iter=400)
    res2 = solve_sdp(X, Y, 0.1, solver="ipm-active", tol=1e-5, warm_start=admm)
    assert "warmup" not in res2.info and res2.status == "optimal"
    assert abs(res2.value - ref.value) <= 1e-4 * ref.value


def test_solve_sdp_warm_up_honours_its_time_limit(monkeypatch):
    """A warm-up of ``warmup`` seconds stops at that limit, well short of its iteration count;
    whatever working set it leaves, the certified bound stays below the optimum."""
    monkeypatch.setattr(sdp_mod, "ACTIVE_WARMUP_MIN_N", 5)
    monkeypatch.setattr(sdp_mod, "ACTIVE_WARMUP_ITERATIONS", 10**7)
    X, Y = _data(51, n=12, d=2, c=1)
    ref = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-6)
    res = solve_sdp(X, Y, 0.1, solver="ipm-active", tol=1e-5, warmup=0.2)
    warm = res.info["warmup"]
    # the ADMM stops once another iteration would overrun, so just before the limit; 'optimal'
    # only on a machine fast enough to converge within it
    assert warm["status"] in ("time_limit", "optimal") and warm["time_s"] <= 1.2
    assert res.time_s >= warm["time_s"]
    assert res.lower_bound <= ref.value * (1 + 1e-6)


def test_auto_above_the_interior_point_limit_finishes_with_ipm_active(monkeypatch):
    """solver='auto' above AUTO_IPM_MAX_Q (lowered here so a q = 15 problem counts as large): the
    ADMM warm-up, then the active-set interior point, to the full interior point's optimum, with
    the warm-up's iterations on the callback's clock; a time limit still holds for the whole."""
    monkeypatch.setattr(sdp_mod, "AUTO_IPM_MAX_Q", 10)
    monkeypatch.setattr(sdp_mod, "ACTIVE_WARMUP_ITERATIONS", 200)
    X, Y = _data(52, n=12, d=2, c=1)
    ref = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-6)
    assert ref.status == "optimal"
    seen = []
    res = solve_sdp(X, Y, 0.1, tol=1e-5, callback=lambda rec: seen.append(rec["time_s"]) and False)
    assert res.method == "sdp-ipm-active" and res.info["auto"].startswith("ipm-active (12 distinct rows, so q > 10;")
    assert "Newton rows" in res.info["auto"] and res.info["warmup"]["iterations"] == 200
    assert res.status == "optimal" and abs(res.value - ref.value) <= 1e-4 * ref.value
    assert res.lower_bound <= ref.value * (1 + 1e-6)
    assert seen == sorted(seen) and len(seen) > len(res.history)
    # after the handoff every record's bound is the best so far, the warm-up's included
    recs = []
    res = solve_sdp(X, Y, 0.1, tol=1e-5, callback=lambda rec: recs.append(rec) and False)
    pre_bound = res.info["warmup"]["lower_bound"]
    after = [r for r in recs if "round" in r]
    assert after and len(after) == len(res.history) and pre_bound > -np.inf
    for r, h in zip(after, res.history):
        assert r["lower_bound"] == h["lower_bound"] >= pre_bound and r["gap"] == h["gap"]
        if h.get("bound_from") == "warmup":
            assert h["gap"] == pytest.approx((h["value"] - pre_bound) / abs(h["value"]))
    assert any(h.get("bound_from") == "warmup" for h in res.history)
    limited = solve_sdp(X, Y, 0.1, tol=1e-12, time_limit=1.0)
    assert limited.time_s <= 1.0 + 0.5 and limited.lower_bound <= ref.value * (1 + 1e-6)


def test_auto_goes_on_with_the_admm_when_the_working_set_is_too_large(monkeypatch):
    """When the warm-up's working set would make ipm-active's Newton system too large, the ADMM
    goes on undisturbed: one run, whose iterate is that of the ADMM alone, and a bound below the
    optimum; when the equality and loss rows alone are too many, no warm-up is offered at all."""
    monkeypatch.setattr(sdp_mod, "AUTO_IPM_MAX_Q", 10)
    monkeypatch.setattr(sdp_mod, "ACTIVE_WARMUP_ITERATIONS", 100)
    X, Y = _data(53, n=12, d=2, c=1)
    ref = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-6)
    n_rows = 12 * 2  # n·(c + 1): every row of this data is distinct and none is parallel to another
    assert SDPFormulation(X, Y, 0.1).n == 12
    monkeypatch.setattr(sdp_mod, "AUTO_ACTIVE_MAX_ROWS", n_rows + 1)
    seen = []
    res = solve_sdp(X, Y, 0.1, tol=1e-12, max_iter=300,
                    callback=lambda rec: seen.append((rec["iteration"], rec["time_s"])) and False)
    assert res.method == "sdp-admm" and "Newton system of" in res.info["auto"]
    assert res.iterations == 300  # the warm-up's 100 and the ADMM's 200 that follow
    its = [h["iteration"] for h in res.history]
    assert its == sorted(its) and its[0] <= 100 < its[-1]
    assert [h["time_s"] for h in res.history] == sorted(h["time_s"] for h in res.history)
    # the callback heard both runs, numbered and timed as in the history
    assert seen == sorted(seen) and seen[0][0] <= 100 < seen[-1][0]
    assert {i for i, _ in seen} <= set(its)
    assert res.lower_bound <= ref.value * (1 + 1e-6)
    assert res.lower_bound >= max(h["lower_bound"] for h in res.history) - 1e-12
    # one ADMM run, not a restart: the iterate is the ADMM's alone after as many iterations
    alone = solve_sdp(X, Y, 0.1, solver="native", tol=1e-12, max_iter=300)
    np.testing.assert_array_equal(res.solution["zeta"], alone.solution["zeta"])
    assert res.value == alone.value and res.lower_bound == alone.lower_bound  # 100: a checkpoint anyway
    monkeypatch.setattr(sdp_mod, "AUTO_ACTIVE_MAX_ROWS", n_rows - 1)
    res = solve_sdp(X, Y, 0.1, tol=1e-12, max_iter=50)
    assert res.method == "sdp-admm" and "rows alone exceed" in res.info["auto"]
    assert res.iterations == 50 and "warmup" not in res.info


def test_admm_handoff_offers_the_result_of_a_stop_there_and_a_declined_offer_changes_nothing():
    """solve_admm's handoff: the offer is the result of a run stopped at that iteration, short of
    its final polish; an accepted one is returned polished, as that run; a declined one leaves the
    iterates exactly those of a run without an offer (no restart of the ρ schedule or the
    acceleration), and its bound too when the offer falls on a checkpoint; a zero-second offer
    comes after the first iteration."""
    from convexnn.sdp import solve_admm

    X, Y = _data(55, n=12, d=2, c=1)
    form = SDPFormulation(X, Y, 0.1)
    ref = solve_ipm(form, tol=1e-7)
    short = solve_admm(form, tol=1e-12, max_iter=120)
    offers = []
    taken = solve_admm(form, tol=1e-12, max_iter=400,
                       handoff=(120, np.inf, lambda offer: offers.append(offer) or True))
    assert len(offers) == 1 and taken.info["handoff"] is True
    assert taken.status == "max_iter" == short.status == offers[0].status and taken.iterations == 120
    for key in ("Lambda", "W"):
        np.testing.assert_array_equal(taken.solution[key], short.solution[key])
        np.testing.assert_array_equal(offers[0].solution[key], short.solution[key])
    # the taken offer is polished as at any exit; the offer itself was not (the polish costs time)
    assert taken.value == short.value and taken.lower_bound == short.lower_bound
    assert offers[0].lower_bound < taken.lower_bound <= ref.value * (1 + 1e-6)
    plain = solve_admm(form, tol=1e-12, max_iter=400)
    offers.clear()
    declined = solve_admm(form, tol=1e-12, max_iter=400,
                          handoff=(120, np.inf, lambda offer: offers.append(offer) and False))
    assert len(offers) == 1 and offers[0].iterations == 120 and "handoff" not in declined.info
    assert declined.iterations == plain.iterations == 400
    for key in ("zeta", "Lambda"):
        np.testing.assert_array_equal(declined.solution[key], plain.solution[key])
    assert declined.value == plain.value and declined.lower_bound <= ref.value * (1 + 1e-6)
    assert declined.lower_bound == plain.lower_bound  # 120 is a checkpoint anyway: nothing added
    # the offer's arrays are copies: the run that went on did not overwrite them
    np.testing.assert_array_equal(offers[0].solution["Lambda"], short.solution["Lambda"])
    assert [h["iteration"] for h in declined.history] == sorted(h["iteration"] for h in declined.history)
    # an offer between checkpoints certifies its iterate (a 'handoff' record); the iterates still agree
    between = solve_admm(form, tol=1e-12, max_iter=400, handoff=(125, np.inf, lambda offer: False))
    np.testing.assert_array_equal(between.solution["zeta"], plain.solution["zeta"])
    assert [h["iteration"] for h in between.history if h.get("handoff")] == [125]
    assert between.lower_bound <= ref.value * (1 + 1e-6)
    early = solve_admm(form, tol=1e-12, max_iter=50, handoff=(10**6, 0.0, lambda offer: True))
    assert early.iterations == 1 and early.status == "time_limit" and early.info["handoff"] is True


def test_auto_returns_the_warm_up_when_it_solves_the_problem_or_is_stopped(monkeypatch):
    """An ADMM that reaches tol before its warm-up ends is the answer ('native', no interior point
    after it); a callback that asks to stop during the warm-up stops the whole solve."""
    monkeypatch.setattr(sdp_mod, "AUTO_IPM_MAX_Q", 10)
    X, Y = _data(54, n=12, d=2, c=1)
    ref = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-6)
    res = solve_sdp(X, Y, 0.1, tol=1e-2)
    assert res.method == "sdp-admm" and res.status == "optimal"
    assert res.info["auto"].endswith("the ADMM ended optimal before its warm-up did)") and abs(res.gap) <= 1e-2
    assert res.lower_bound <= ref.value * (1 + 1e-6)
    calls = []
    res = solve_sdp(X, Y, 0.1, tol=1e-9, callback=lambda rec: calls.append(rec) or True)
    assert res.status == "stopped" and len(calls) == 1
    assert res.info["auto"].endswith("the ADMM ended stopped before its warm-up did)")
    assert res.lower_bound <= ref.value * (1 + 1e-6)
    # Ctrl-C while the offer is weighed: the ADMM's result so far, its bound certified, no interior point
    import convexnn.sdp.active_ipm as active_mod

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sdp_mod, "ACTIVE_WARMUP_ITERATIONS", 50)
    monkeypatch.setattr(active_mod, "working_set_from", interrupted)
    res = solve_sdp(X, Y, 0.1, tol=1e-9)
    assert res.method == "sdp-admm" and res.status == "interrupted" and res.iterations == 50
    assert res.info["auto"].endswith("the ADMM was interrupted during its warm-up)")
    assert res.lower_bound is not None and res.lower_bound <= ref.value * (1 + 1e-6)


def test_memory_is_estimated_before_the_schur_complement_is_allocated(monkeypatch):
    """A first working set whose Schur complement cannot fit is refused with a clear message; a
    round that would outgrow memory ends the solve with status 'memory' and a valid bound."""
    import convexnn._validation as val
    from convexnn.errors import MemoryEstimateError

    X, Y = _data(61, n=9, d=2, c=1)
    form = SDPFormulation(X, Y, 0.1)
    _, upper = _reference(form)
    monkeypatch.setattr(val, "available_memory_bytes", lambda: 1e5)
    with pytest.raises(MemoryEstimateError, match="active-set interior point"):
        solve_active_ipm(form, working_set=np.arange(40))
    # room for the first round (18 rows) but not for the second
    monkeypatch.setattr(val, "available_memory_bytes", lambda: schur_memory_bytes(40, form.p) / 0.8)
    res = solve_active_ipm(form)
    assert res.status == "memory" and res.info["rounds"] == 1
    assert res.lower_bound <= upper
    # the reason names the system that did not fit: the first round's 18 rows and the pairs added
    added = int(res.info["memory"].split("would add the ")[1].split()[0])
    assert added > 40 - 18
    assert (f"{res.info['working_set'] + added} pairs, a Newton system of {18 + res.info['working_set'] + added} rows"
            in res.info["memory"])


def test_a_warm_up_set_that_does_not_fit_returns_the_warm_ups_certified_result(monkeypatch):
    """solver='ipm-active' under a short time limit: the shortened ADMM warm-up picks a working set
    whose Newton system does not fit (Pima with 2 s: 54,219 pairs, about 28 GiB). That raised a
    MemoryEstimateError after the warm-up's time was spent; now the warm-up's certified result is
    returned with status 'memory' and the reason."""
    import convexnn.sdp.active_ipm as active_mod

    from convexnn.problem import TrainingProblem
    from test_sdp import _trained_objective

    X, Y = _data(62, n=110, d=3, c=1)
    upper = _trained_objective(TrainingProblem(X, Y, 0.1), np.random.default_rng(0))  # ≥ p* ≥ L_SDP
    monkeypatch.setattr(active_mod, "schur_memory_bytes", lambda rows, p: 1e30)  # no working set fits
    res = solve_sdp(X, Y, 0.1, solver="ipm-active", time_limit=2.0)
    assert res.method == "sdp-admm" and res.status == "memory" and res.iterations > 0
    assert res.info["memory"].startswith(f"ipm-active not started: the working set picked by the "
                                         f"{res.iterations}-iteration ADMM warm-up")
    assert res.time_s < 2.0
    assert res.lower_bound is not None and 0 < res.lower_bound <= upper
    # without a warm-up (n < ACTIVE_WARMUP_MIN_N) the refusal stays an error
    from convexnn.errors import MemoryEstimateError

    with pytest.raises(MemoryEstimateError, match="active-set interior point"):
        solve_sdp(*_data(61, n=9, d=2, c=1), 0.1, solver="ipm-active", warm_start={
            "Lambda": np.zeros((21, 21)), "W": np.zeros((18, 18))})


def test_auto_tries_ipm_active_on_small_problems_and_falls_back_to_the_full_interior_point(monkeypatch):
    """For AUTO_SMALL_ACTIVE_MIN_Q ≤ q ≤ AUTO_IPM_MAX_Q (the threshold lowered here so that q = 15
    counts), 'auto' first runs a short ADMM warm-up and the active-set interior point, which reaches
    the full interior point's optimum. When that attempt fails (forced by a one-iteration limit) the
    full interior point follows: its optimum, a bound at least the attempt's, both runs in the
    history on one clock and a callback that never sees the bound fall below the attempt's."""
    monkeypatch.setattr(sdp_mod, "AUTO_SMALL_ACTIVE_MIN_Q", 10)
    monkeypatch.setattr(sdp_mod, "AUTO_SMALL_WARMUP_ITERATIONS", 150)
    X, Y = _data(56, n=12, d=2, c=1)
    ref = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-6)
    assert ref.status == "optimal" and ref.solution["formulation"].q == 15
    res = solve_sdp(X, Y, 0.1, tol=1e-5)
    assert res.method == "sdp-ipm-active" and res.status == "optimal"
    assert res.info["auto"].startswith("ipm-active (q = 15: an ADMM warm-up of 150 iterations and "
                                       "ipm-active on its ")
    assert abs(res.value - ref.value) <= 1e-4 * ref.value and res.lower_bound <= ref.value * (1 + 1e-6)
    assert res.lower_bound >= ref.value * (1 - 2e-5)
    monkeypatch.setattr(sdp_mod, "AUTO_SMALL_ACTIVE_MAX_ITER", 1)
    recs = []
    res = solve_sdp(X, Y, 0.1, tol=1e-5, callback=lambda rec: recs.append(dict(rec)) and False)
    att = res.info["attempt"]
    assert res.method == "sdp-ipm" and res.status == "optimal" and att["method"] == "sdp-ipm-active"
    assert att["status"] == "max_iter" and att["iterations"] == 1
    auto = res.info["auto"]
    assert auto.startswith("ipm (q = 15 ≤ 90); first an ADMM warm-up of 150 iterations and ipm-active on its ")
    assert auto.endswith(" s), which ended max_iter") and " pairs (budget " in auto
    assert abs(res.value - ref.value) <= 1e-4 * ref.value
    assert att["lower_bound"] <= res.lower_bound <= ref.value * (1 + 1e-6)
    times = [h["time_s"] for h in res.history]
    assert times == sorted(times) and times[-1] <= res.time_s
    assert any(h.get("round") == 1 for h in res.history) and res.history[-1].get("round") is None
    # after the attempt, every record the callback saw carries at least the attempt's bound
    k = max(i for i, r in enumerate(recs) if r.get("round") is not None)
    assert all(r["lower_bound"] >= att["lower_bound"] for r in recs[k + 1:])
    assert [r["time_s"] for r in recs] == sorted(r["time_s"] for r in recs)
    # a time limit holds for attempt and fallback together, with a valid bound
    limited = solve_sdp(X, Y, 0.1, tol=1e-12, time_limit=1.0)
    assert limited.time_s <= 1.0 + 0.5 and limited.lower_bound <= ref.value * (1 + 1e-6)


def test_auto_attempt_is_returned_when_it_beats_its_fallback_and_never_when_infeasible():
    """The merge after a failed attempt keeps an 'optimal' fallback, else the result with the
    smaller gap, raises its bound to the better of the two and records the other; an attempt whose
    value lies below its certified bound (an infeasible iterate) is never the one kept."""
    from convexnn.result import SolveResult

    def results(a_value, r_value):
        attempt = SolveResult("sdp-ipm-active", a_value, 0.99, "max_iter", 60, 2.0,
                              history=[{"time_s": 1.0, "lower_bound": 0.99, "value": a_value}])
        res = SolveResult("sdp-ipm", r_value, 0.95, "time_limit", 5, 1.0,
                          history=[{"time_s": 0.5, "lower_bound": 0.5, "value": r_value, "gap": 0.5}],
                          info={"auto": "ipm (…)"})
        return attempt, res

    attempt, res = results(1.0, 1.2)  # gaps 1 % and about 21 %: the attempt's
    keep, form = sdp_mod._merge_attempt(res, "ipm form", attempt, "active form", 2.0)
    assert keep is attempt and form == "active form" and keep.lower_bound == 0.99
    assert keep.info["fallback"]["status"] == "time_limit" and keep.info["auto"] == "ipm (…)"
    assert [h["time_s"] for h in keep.history] == [1.0, 2.5] and keep.history[1]["lower_bound"] == 0.99
    assert keep.history[1]["gap"] == pytest.approx((1.2 - 0.99) / 1.2)
    attempt, res = results(0.98, 1.2)  # the attempt's value lies below its own bound: infeasible
    keep, form = sdp_mod._merge_attempt(res, "ipm form", attempt, "active form", 2.0)
    assert keep is res and form == "ipm form" and keep.lower_bound == 0.99
    assert keep.info["bound_from"] == "attempt" and keep.info["attempt"]["status"] == "max_iter"
    attempt, res = results(1.1, 1.0)  # the fallback's gap (5 %) is the smaller one
    keep, _ = sdp_mod._merge_attempt(res, "ipm form", attempt, "active form", 2.0)
    assert keep is res and keep.lower_bound == 0.99 and keep.gap == pytest.approx(0.01)
    attempt, res = results(1.0, 0.9899999)  # an 'optimal' fallback is kept, even a hair below the bound
    res.status = "optimal"
    keep, _ = sdp_mod._merge_attempt(res, "ipm form", attempt, "active form", 2.0)
    assert keep is res and keep.lower_bound == 0.99 and keep.info["bound_from"] == "attempt"


def _no_admm(*args, **kwargs):
    raise AssertionError("the ADMM ran although an interior point's warm start was given")


def test_auto_warm_start_from_an_interior_point_replaces_the_admm_warm_up(monkeypatch):
    """Along a reg path, an interior point's result at the previous reg gives 'auto' its first
    working set (q = 15 counts as a small problem here): no ADMM runs, and the answer is the full
    interior point's optimum at the new reg. Data of another shape are refused clearly."""
    monkeypatch.setattr(sdp_mod, "AUTO_SMALL_ACTIVE_MIN_Q", 10)
    monkeypatch.setattr(sdp_mod, "AUTO_SMALL_WARMUP_ITERATIONS", 150)
    X, Y = _data(56, n=12, d=2, c=1)
    first = solve_sdp(X, Y, 0.1, tol=1e-5)
    assert first.method == "sdp-ipm-active" and first.status == "optimal"
    for reg in (0.08, 0.3):
        ref = solve_sdp(X, Y, reg, solver="ipm", tol=1e-6)
        with monkeypatch.context() as m:
            m.setattr(sdp_mod, "_solve_native", _no_admm)
            warm = solve_sdp(X, Y, reg, tol=1e-5, warm_start=first)
        assert warm.method == "sdp-ipm-active" and warm.status == "optimal", warm.info["auto"]
        assert warm.info["auto"].startswith("ipm-active (q = 15: ipm-active on the warm start's ")
        assert "warmup" not in warm.info and warm.info["warm_started"] is True
        assert abs(warm.value - ref.value) <= 1e-4 * ref.value
        assert ref.value * (1 - 2e-5) <= warm.lower_bound <= ref.value * (1 + 1e-6)
    # the full interior point's result (Λ and multipliers, no ADMM state) serves as well
    ipm = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-6)
    with monkeypatch.context() as m:
        m.setattr(sdp_mod, "_solve_native", _no_admm)
        warm = solve_sdp(X, Y, 0.08, tol=1e-5, warm_start=ipm.solution)
    assert warm.status == "optimal" and "warm start's" in warm.info["auto"]
    assert first.info["warm_started"] is False and ipm.info["warm_started"] is False
    # a warm start marking every pair (Λ = 0) would make a Newton system no smaller than the full
    # interior point's: it is not used, and the ADMM warm-up picks the set as in a cold solve
    p = first.solution["Lambda"].shape[0]
    flat = solve_sdp(X, Y, 0.08, tol=1e-5, warm_start={"Lambda": np.zeros((p, p)), "W": np.zeros((24, 24))})
    assert "the warm start's 264 pairs not used (no smaller a Newton system than ipm's); an ADMM warm-up" \
        in flat.info["auto"] and flat.info["warm_started"] is False
    assert abs(flat.value - solve_sdp(X, Y, 0.08, solver="ipm", tol=1e-6).value) <= 1e-4 * flat.value
    other = solve_sdp(*_data(57, n=11, d=2, c=1), 0.1, solver="ipm")
    with pytest.raises(ParameterError, match="same data"):
        solve_sdp(X, Y, 0.1, warm_start=other)
    with pytest.raises(ParameterError, match="integer pair indices"):
        solve_sdp(X, Y, 0.1, warm_start={**first.solution, "working_set": np.array([0.5, 1.5])})


def test_auto_above_the_interior_point_limit_uses_an_interior_point_warm_start(monkeypatch):
    """Above AUTO_IPM_MAX_Q (lowered here) an interior point's warm start sends 'auto' straight to
    ipm-active on the set it marks; when that set's Newton system is over AUTO_ACTIVE_MAX_ROWS the
    warm start is not used and the cold route runs (here the ADMM, since the equality and loss
    rows alone are over the lowered limit too)."""
    X, Y = _data(59, n=12, d=2, c=1)  # (seed 58 has nearly parallel rows: ipm-active stalls, cold or warm)
    first = solve_sdp(X, Y, 0.1, solver="ipm", tol=1e-6)
    ref = solve_sdp(X, Y, 0.07, solver="ipm", tol=1e-6)
    monkeypatch.setattr(sdp_mod, "AUTO_IPM_MAX_Q", 10)
    with monkeypatch.context() as m:
        m.setattr(sdp_mod, "_solve_native", _no_admm)
        warm = solve_sdp(X, Y, 0.07, tol=1e-5, warm_start=first)
    assert warm.method == "sdp-ipm-active" and warm.status == "optimal"
    assert warm.info["auto"].startswith("ipm-active (12 distinct rows, so q > 10; first working set ")
    assert " pairs from the warm start" in warm.info["auto"]
    assert abs(warm.value - ref.value) <= 1e-4 * ref.value
    assert ref.value * (1 - 2e-5) <= warm.lower_bound <= ref.value * (1 + 1e-6)
    monkeypatch.setattr(sdp_mod, "AUTO_ACTIVE_MAX_ROWS", 20)
    cold = solve_sdp(X, Y, 0.07, tol=1e-5, max_iter=200, warm_start=first)
    assert cold.method == "sdp-admm" and "so it is not used" in cold.info["auto"]
    assert warm.info["warm_started"] is True and cold.info["warm_started"] is False
    assert cold.lower_bound <= ref.value * (1 + 1e-6)


def test_a_warm_start_joins_the_previous_working_set_only_while_newton_systems_stay_small(monkeypatch):
    """From an ipm-active result the next solve's first set is what its solution marks (nearly
    active pairs), joined by the pairs its last working set held when the joined Newton system
    stays within WARM_UNION_MAX_ROWS rows or WARM_UNION_GROWTH times the marked set's."""
    X, Y = _data(59, n=12, d=2, c=1)
    first = solve_sdp(X, Y, 0.1, solver="ipm-active", tol=1e-5)
    form = first.solution["formulation"]
    marked = working_set_from(form, first.solution["Lambda"], first.solution["W"])
    extra = np.setdiff1d(np.arange(len(relu_pairs(form.n))), marked)[:7]  # pairs it does not mark
    ws = dict(first.solution, working_set=np.union1d(first.solution["working_set"], extra))
    union = np.union1d(marked, ws["working_set"])
    assert union.size > marked.size
    fixed = form.n * (form.c + 1)
    monkeypatch.setattr(sdp_mod, "WARM_UNION_GROWTH", 1.0)
    monkeypatch.setattr(sdp_mod, "WARM_UNION_MAX_ROWS", fixed + union.size)  # just fits
    np.testing.assert_array_equal(sdp_mod._warm_set(form, ws), union)
    monkeypatch.setattr(sdp_mod, "WARM_UNION_MAX_ROWS", fixed + union.size - 1)  # one row too many
    np.testing.assert_array_equal(sdp_mod._warm_set(form, ws), marked)
    monkeypatch.setattr(sdp_mod, "WARM_UNION_GROWTH", (fixed + union.size) / (fixed + marked.size))
    np.testing.assert_array_equal(sdp_mod._warm_set(form, ws), union)
    # a solution without a working set of its own (the full interior point's): the marked pairs
    np.testing.assert_array_equal(sdp_mod._warm_set(form, {k: v for k, v in ws.items() if k != "working_set"}),
                                  marked)
