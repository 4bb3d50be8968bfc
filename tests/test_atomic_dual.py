"""The atomic-norm dual bound and its branch and bound over the sphere (convexnn.atomic_dual).

Checked against independent computations: the exact non-negative PCA oracle (enumeration of the
hyperplane arrangement, baselines/sahiner.py), brute force over a fine grid of directions, the
exact C-ReLU optimum over all activation patterns, and the NN-TRAIN objective of networks.
"""

import json
import time

import numpy as np
import pytest
from _dual_instances import dual_norm_instance

from convexnn.atomic_dual import atomic_dual_bound, atomic_dual_certificate, relu_dual_norm_bound
from convexnn.baselines.sahiner import nonneg_pca_oracle
from convexnn.errors import DataError, ParameterError
from convexnn.pipeline import fit
from convexnn.problem import TrainingProblem


def _f(X, G, u):
    return float(np.linalg.norm(G.T @ np.maximum(X @ u, 0.0)))


@pytest.mark.parametrize("inherit", [False, True])
@pytest.mark.parametrize("seed", range(80))
def test_branch_and_bound_encloses_the_exact_oracle_value(seed, inherit, monkeypatch):
    """Also with the cells inheriting their parents' ambiguous rows (the route for n ≥ 300,
    forced here on the small instances)."""
    import convexnn.atomic_dual as ad

    if inherit:
        monkeypatch.setattr(ad, "_INHERIT_MIN_ROWS", 1)
    X, G = dual_norm_instance(seed)
    _, _, sigma = nonneg_pca_oracle(X, G, method="exact")
    tol = 1e-3
    b = relu_dual_norm_bound(X, G, tol=tol)
    assert b.status == "optimal"
    assert b.upper >= sigma * (1 - 1e-12)  # certified: never below the maximum
    assert b.lower <= sigma * (1 + 1e-9)
    assert b.upper <= sigma * (1 + tol) * (1 + 1e-9) + 1e-12  # and it converged to tol
    assert np.isclose(np.linalg.norm(b.u), 1.0)
    assert _f(X, G, b.u) == pytest.approx(b.lower, rel=1e-12, abs=1e-12)  # the lower value is attained


def test_branch_and_bound_against_a_brute_force_grid_in_three_dimensions():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((40, 3))
    G = rng.standard_normal((40, 2))
    # brute force: a fine grid on the sphere (its maximum is a lower estimate of σ)
    th, ph = np.meshgrid(np.linspace(0, np.pi, 400), np.linspace(0, 2 * np.pi, 800), indexing="ij")
    U = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)]).reshape(3, -1)
    grid = np.linalg.norm(G.T @ np.maximum(X @ U, 0.0), axis=0).max()
    b = relu_dual_norm_bound(X, G, tol=1e-4)
    assert grid <= b.upper
    assert b.lower >= grid * (1 - 1e-3)  # the grid's spacing (0.008 rad) costs at most ~1e-4 here


@pytest.mark.parametrize("stop", ["max_cells", "time_limit", "callback"])
def test_a_branch_and_bound_stopped_early_still_bounds_the_maximum(stop):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 4))
    G = rng.standard_normal((40, 2))
    _, _, sigma = nonneg_pca_oracle(X, G, method="exact")
    full = relu_dual_norm_bound(X, G, tol=1e-3)
    kw = {"max_cells": {"max_cells": 200}, "time_limit": {"time_limit": 1e-9},
          "callback": {"callback": lambda rec: rec["round"] >= 2}}[stop]
    b = relu_dual_norm_bound(X, G, tol=1e-3, **kw)
    assert b.status == {"max_cells": "max_cells", "time_limit": "time_limit", "callback": "stopped"}[stop]
    assert b.upper >= sigma
    assert b.upper > full.upper  # it did stop early: the bound is looser than the finished one


def test_callback_records_narrow_monotonically_to_the_result():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((50, 3))
    G = rng.standard_normal((50, 3))
    recs = []
    b = relu_dual_norm_bound(X, G, tol=1e-3, callback=recs.append)
    assert len(recs) >= 2
    uppers = [r["sigma_upper"] for r in recs]
    assert all(a >= c - 1e-12 for a, c in zip(uppers, uppers[1:]))  # children never exceed parents
    assert uppers[-1] >= b.upper - 1e-12
    assert [r["round"] for r in recs] == list(range(1, len(recs) + 1))


def test_one_dimensional_and_degenerate_inputs():
    X = np.array([[1.0], [-2.0], [0.5], [0.0]])
    G = np.array([[1.0], [3.0], [-1.0], [7.0]])
    b = relu_dual_norm_bound(X, G)
    # u = ±1 only: f(1) = |1 − 0.5| = 0.5, f(−1) = |2·3| = 6
    assert b.lower == pytest.approx(6.0)
    assert b.upper == pytest.approx(6.0, rel=1e-9) and b.upper >= 6.0
    zero = relu_dual_norm_bound(np.zeros((5, 3)), np.ones((5, 2)))
    assert (zero.upper, zero.lower, zero.status) == (0.0, 0.0, "optimal")
    assert relu_dual_norm_bound(np.ones((5, 3)), np.zeros((5, 2))).upper == 0.0


def test_bad_arguments_get_clear_errors():
    X = np.ones((4, 2))
    with pytest.raises(DataError, match="rows"):
        relu_dual_norm_bound(X, np.ones((3, 1)))
    with pytest.raises(ParameterError, match="tol"):
        relu_dual_norm_bound(X, np.ones((4, 1)), tol=0)
    with pytest.raises(ParameterError, match="time_limit"):
        relu_dual_norm_bound(X, np.ones((4, 1)), time_limit=-1)
    with pytest.raises(ParameterError, match="callback"):
        relu_dual_norm_bound(X, np.ones((4, 1)), callback=3)
    with pytest.raises(ParameterError, match="at most 8 columns"):
        relu_dual_norm_bound(np.ones((4, 9)), np.ones((4, 1)))
    with pytest.raises(DataError, match="NaN"):
        relu_dual_norm_bound(np.array([[np.nan, 1.0]]), np.ones((1, 1)))
    with pytest.raises(DataError, match="shape"):
        atomic_dual_bound(X, np.ones((4, 2)), 0.1, np.ones((4, 1)))
    with pytest.raises(DataError, match="NaN or inf"):
        atomic_dual_bound(X, np.ones((4, 1)), 0.1, np.full((4, 1), np.inf))
    with pytest.raises(ParameterError, match="value must be a finite number"):
        atomic_dual_bound(X, np.ones((4, 1)), 0.1, np.ones((4, 1)), value="3")


@pytest.mark.parametrize("seed", range(6))
def test_dual_bound_is_tight_at_the_exact_optimum_and_never_above_it(seed):
    """At the global optimum (C-ReLU over all patterns, c = 1) σ(residual) = γ, so the bound is
    within tol of p*; it is never above p* (the exact method's certified bound, to its gap)."""
    rng = np.random.default_rng(100 + seed)
    d = 2 + seed % 2
    X = rng.standard_normal((14, d))
    Y = np.maximum(X @ rng.standard_normal((d, 3)), 0.0) @ rng.standard_normal((3, 1))
    Y += 0.1 * rng.standard_normal(Y.shape)
    reg = 0.1
    ex = fit(X, Y, reg, method="exact", dual_bound=False)
    lo, up = ex.certificate.lower, ex.certificate.upper
    assert ex.certificate.gap < 1e-6  # the exact method certified its optimum p* ∈ [lo, up]
    res = atomic_dual_bound(X, Y, reg, ex.network.predict(X), tol=1e-3, value=up)
    assert res.lower_bound <= up * (1 + 1e-9)
    assert res.lower_bound >= lo * (1 - 5e-3)
    assert res.info["sigma_upper"] <= reg * (1 + 5e-3)
    assert res.gap == pytest.approx((up - res.lower_bound) / up)


def test_dual_bound_stays_below_the_objective_of_many_networks():
    """Weak duality against random and trained networks of several widths (1,000 networks)."""
    rng = np.random.default_rng(7)
    worst = -np.inf
    for trial in range(10):
        n, d, c = 20, 1 + trial % 4, 1 + trial % 3
        X = rng.standard_normal((n, d))
        Y = rng.standard_normal((n, c))
        reg = [0.01, 0.1, 1.0][trial % 3]
        prob = TrainingProblem(X, Y, reg)
        # a residual from an arbitrary network: any residual gives a valid bound
        U0, V0 = rng.standard_normal((d, 5)), rng.standard_normal((c, 5))
        bound = atomic_dual_bound(X, Y, reg, np.maximum(X @ U0, 0.0) @ V0.T).lower_bound
        for _ in range(100):
            m = int(rng.integers(1, 12))
            U, V = rng.standard_normal((d, m)) * rng.uniform(0, 2), rng.standard_normal((c, m)) * rng.uniform(0, 2)
            worst = max(worst, bound - prob.objective(U, V))
        worst = max(worst, bound - fit(X, Y, reg, method="lbfgs", certify=False, width=8, restarts=1).certificate.upper)
    assert worst <= 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_column_generation_certifies_the_exact_optimum(seed):
    """c = 1, d = 2: C-ReLU over all activation patterns gives p*; the column generation must end
    with a bound ≤ p* and a network ≥ p*, within its tolerance of each other."""
    rng = np.random.default_rng(200 + seed)
    X = rng.standard_normal((16, 2))
    Y = np.maximum(X @ rng.standard_normal((2, 4)), 0.0) @ rng.standard_normal((4, 1))
    Y += 0.2 * rng.standard_normal(Y.shape)
    reg = [0.05, 0.1, 0.5, 1.0][seed]
    ex = fit(X, Y, reg, method="exact", dual_bound=False)
    lo, up = ex.certificate.lower, ex.certificate.upper
    res = atomic_dual_certificate(X, Y, reg, time_limit=60, tol=1e-3, seed=seed)
    assert res.status == "optimal"
    assert res.lower_bound <= up * (1 + 1e-9)
    assert res.value >= lo * (1 - 1e-9)
    assert res.value - res.lower_bound <= 1e-3 * res.value
    # the returned network's objective is the reported value, recomputed independently
    prob = TrainingProblem(X, Y, reg)
    assert prob.objective(res.solution["U"], res.solution["V"]) == pytest.approx(res.value, rel=1e-12)
    # its history is monotone: best value non-increasing, best bound non-decreasing
    vals = [h["value"] for h in res.history]
    lows = [h["lower_bound"] for h in res.history]
    assert all(a >= b for a, b in zip(vals, vals[1:])) and all(a <= b for a, b in zip(lows, lows[1:]))


def test_column_generation_bounds_stay_below_trained_networks_and_honour_limits():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((30, 3))
    Y = rng.standard_normal((30, 2))
    reg = 0.1
    net = fit(X, Y, reg, method="lbfgs", certify=False, width=10, restarts=2)
    t = __import__("time").perf_counter()
    res = atomic_dual_certificate(X, Y, reg, init=net.network.U, time_limit=1.5)
    elapsed = __import__("time").perf_counter() - t
    assert elapsed < 1.5 + 1.0
    assert res.lower_bound <= net.certificate.upper
    assert res.lower_bound <= res.value
    # started from the trained network's neurons, its first master is at least as good (to FISTA's accuracy)
    assert res.value <= net.certificate.upper * (1 + 1e-3)
    stopped = atomic_dual_certificate(X, Y, reg, time_limit=30, callback=lambda rec: True)
    assert stopped.status == "stopped" and stopped.iterations == 1
    assert stopped.lower_bound <= net.certificate.upper
    with pytest.raises(ParameterError, match="time_limit"):
        atomic_dual_certificate(X, Y, reg, time_limit=0)
    with pytest.raises(ParameterError, match="oracle_tol"):
        atomic_dual_certificate(X, Y, reg, oracle_tol=2)
    with pytest.raises(DataError, match="init has 2 rows"):
        atomic_dual_certificate(X, Y, reg, init=np.ones((2, 3)))
    with pytest.raises(ParameterError, match="at most 8 columns"):
        atomic_dual_certificate(np.ones((5, 9)), np.ones((5, 1)), reg)
    U = net.network.U
    with pytest.raises(ParameterError, match="init_output needs init"):
        atomic_dual_certificate(X, Y, reg, init_output=np.ones((2, U.shape[1])))
    with pytest.raises(DataError, match=r"init_output has shape \(3, "):
        atomic_dual_certificate(X, Y, reg, init=U, init_output=np.ones((3, U.shape[1])))
    with pytest.raises(DataError, match="init_output contains NaN"):
        atomic_dual_certificate(X, Y, reg, init=U, init_output=np.full((2, U.shape[1]), np.nan))


@pytest.mark.parametrize("c", [1, 3])
def test_column_generation_started_from_a_network_is_never_worse_than_it(c):
    """With the output weights of ``init``, the column generation starts at that network and keeps
    it as its best until something beats it, so even a very short run returns a network no worse
    than it (the neurons alone give no such guarantee: the first group lasso starts at zero)."""
    rng = np.random.default_rng(20 + c)
    X = rng.standard_normal((40, 3))
    Y = rng.standard_normal((40, c))
    reg = 0.05
    net = fit(X, Y, reg, method="lbfgs", certify=False, width=12, restarts=1).network
    upper = TrainingProblem(X, Y, reg).objective(net.U, net.V)
    V = net.V[0] if c == 1 else net.V  # a 1-D vector is accepted for one output
    for limit in (0.05, 2.0):
        res = atomic_dual_certificate(X, Y, reg, init=net.U, init_output=V, time_limit=limit)
        assert res.value <= upper * (1 + 1e-12)
        assert res.lower_bound is None or res.lower_bound <= res.value
    assert res.history[0]["round_value"] <= upper * (1 + 1e-6)  # the warm master, to FISTA's accuracy


def test_fit_adds_the_dual_bound_for_small_designs_and_keeps_the_better_of_everything():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((30, 3))
    Y = rng.standard_normal((30, 2))
    res = fit(X, Y, 0.1, method="lbfgs", width=10, restarts=1, time_limit=8)
    assert "dual" in res.stages and "sdp" in res.stages
    lows = [res.stages["dual"].lower_bound, res.stages["sdp"].lower_bound]
    assert res.certificate.lower == max(lows)
    # its networks compete with the trained one; the certificate pairs the best with the best bound
    assert "atomic-dual" in res.candidates
    assert res.certificate.upper == pytest.approx(min(res.candidates.values()), rel=1e-12)
    assert res.certificate.lower <= res.certificate.upper
    off = fit(X, Y, 0.1, method="lbfgs", width=10, restarts=1, time_limit=8, dual_bound=False)
    assert "dual" not in off.stages and "atomic-dual" not in off.candidates
    # auto runs designs of up to 5 columns (4 features and a bias) and skips wider ones; True runs them
    X6 = rng.standard_normal((20, 6))
    assert "dual" not in fit(X6, Y[:20], 0.1, method="lbfgs", width=5, restarts=0, time_limit=4).stages
    assert "dual" not in fit(X[:, :2], Y, 0.1, method="lbfgs", width=5, restarts=0, certify=False).stages
    auto5 = fit(X6[:, :4], Y[:20], 0.1, bias=True, method="lbfgs", width=5, restarts=0, time_limit=4)
    assert "dual" in auto5.stages and auto5.stages["dual"].lower_bound <= auto5.certificate.upper
    on = fit(X6[:, :5], Y[:20], 0.1, bias=True, method="lbfgs", width=5, restarts=0, dual_bound=True,
             time_limit=4)
    assert "dual" in on.stages and on.stages["dual"].lower_bound <= on.certificate.upper
    with pytest.raises(ParameterError, match="at most 8 columns"):
        fit(rng.standard_normal((20, 9)), Y[:20], 0.1, dual_bound=True)
    with pytest.raises(ParameterError, match="dual_bound"):
        fit(X, Y, 0.1, dual_bound="yes")
    with pytest.raises(ParameterError, match="dual_callback"):
        fit(X, Y, 0.1, dual_callback=1)


def test_the_handover_rule_stops_only_a_far_admm_run_after_half_its_limit():
    from convexnn.pipeline import _HANDOVER_AFTER, _HANDOVER_GAP, _Handover

    h = _Handover(10.0, None)
    admm = {"iteration": 50, "rho": 0.01, "gap": 0.5, "solver": "admm"}
    assert not h(admm) and h.fired is None  # before half the limit
    h.t0 -= _HANDOVER_AFTER * 10.0 + 0.1  # now past it
    assert not h({"iteration": 3, "mu": 1e-3, "gap": 0.9})  # an interior point's record
    assert not h({"iteration": 3, "rho": 1.0, "gap": 0.9})  # any other record that has a ρ
    assert not h({**admm, "gap": 0.5 * _HANDOVER_GAP}) and not h({**admm, "gap": -0.5 * _HANDOVER_GAP})
    assert h.fired is None
    assert h({**admm, "gap": -3.0 * _HANDOVER_GAP}) and h.fired[1] == -3.0 * _HANDOVER_GAP
    assert h.fired[0] >= _HANDOVER_AFTER * 10.0
    seen = []
    user = _Handover(10.0, lambda rec: seen.append(rec) or rec["iteration"] == 7)
    assert user({**admm, "iteration": 7, "gap": 0.0}) and user.fired is None  # the user's stop
    assert not user({**admm, "iteration": 8, "gap": 0.9}) and len(seen) == 2
    # the solvers' own records: the ADMM's say so, the interior points' do not
    from convexnn.sdp import solve_sdp

    rng = np.random.default_rng(8)
    X, Y = rng.standard_normal((10, 2)), rng.standard_normal((10, 1))
    recs = {s: [] for s in ("native", "ipm", "ipm-active")}
    for s in recs:
        res = solve_sdp(X, Y, 0.1, solver=s, max_iter=60, callback=lambda rec, s=s: recs[s].append(rec) and False)
        assert recs[s] and all(r.get("solver") == ("admm" if s == "native" else None) for r in recs[s] + res.history)


@pytest.mark.parametrize("method", ["sdp", "lbfgs"])
def test_fit_hands_a_far_sdp_stage_s_remaining_time_to_the_dual_stage(monkeypatch, method):
    """Both routes to an SDP stage: method 'sdp', and the certification that follows another
    method ('lbfgs' has no bound of its own, so certify='auto' solves SDP-NN after training)."""
    import convexnn.pipeline as pl

    limits = []
    real = pl.atomic_dual_certificate

    def spy(*args, **kw):
        limits.append(kw["time_limit"])
        return real(*args, **kw)

    monkeypatch.setattr(pl, "atomic_dual_certificate", spy)
    monkeypatch.setattr(pl, "_HANDOVER_GAP", 1e-12)  # no ADMM gets there in 1.5 s
    rng = np.random.default_rng(21)
    X = rng.standard_normal((40, 2))
    Y = rng.standard_normal((40, 1))
    T = 3.0
    res = fit(X, Y, 0.1, method=method, solver="admm", width=5, restarts=0, rounding_iterations=20,
              time_limit=T)
    sdp = res.stages["sdp"]
    assert sdp.status == "stopped" and sdp.lower_bound is not None
    assert pl._HANDOVER_AFTER * T <= res.times["sdp"] < T
    handed = T - res.times["sdp"]
    assert limits == [pytest.approx(0.8 * (0.5 * T + handed), rel=1e-9)]
    assert any("went to the dual stage" in note for note in res.notes)
    assert res.certificate.lower == max(sdp.lower_bound, res.stages["dual"].lower_bound)
    # without a dual stage the SDP stage keeps its whole limit
    off = fit(X, Y, 0.1, method=method, solver="admm", width=5, restarts=0, rounding_iterations=20,
              time_limit=T, dual_bound=False)
    assert off.stages["sdp"].status == "time_limit" and off.times["sdp"] >= 0.9 * T
    assert not any("dual stage" in note for note in off.notes)


def test_cli_fit_prints_and_reports_the_dual_bound(tmp_path, capsys):
    from convexnn.cli import main

    out = tmp_path / "r.json"
    assert main(["fit", "random:1", "--quiet", "--time-limit", "10", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "atomic dual" in text
    rep = json.loads(out.read_text())
    assert rep["dual"]["lower_bound"] <= rep["objective"]
    assert rep["lower_bound"] == pytest.approx(max(rep["dual"]["lower_bound"], rep["sdp"]["lower_bound"]))
    assert rep["objective"] <= rep["dual"]["value"] * (1 + 1e-12)
    assert rep["dual"]["sigma_lower"] <= rep["dual"]["sigma_upper"]
    # random:1 (n = 25, d = 2) is small enough for the exact oracle, and the report says so
    assert rep["dual"]["oracle"] == "faces" and rep["dual"]["certifications"] >= 1
    if rep["lower_bound"] == rep["dual"]["lower_bound"]:
        assert "enumerating the arrangement's faces" in rep["lower_source"]
    assert main(["fit", "random:1", "--quiet", "--time-limit", "10", "--dual-bound", "off"]) == 0
    assert "atomic dual" not in capsys.readouterr().out


@pytest.mark.parametrize("shape", [(1, 4), (2, 4), (3, 4), (5, 2), (4, 1), (2, 2), (3, 3)])
def test_top_eigenvalue_rounds_up_and_its_vector_is_a_top_singular_vector(shape):
    from convexnn.atomic_dual import _top_eigen

    rng = np.random.default_rng(12)
    M = rng.standard_normal((200,) + shape)
    M[0] = 0.0  # a zero matrix
    M[1, ..., 0] = M[1, ..., -1]  # a repeated column
    lam, v = _top_eigen(M, need_vector=True)
    exact = np.linalg.eigvalsh(np.swapaxes(M, -1, -2) @ M)[:, -1]
    # rounded up by at most 1e-9·trace ≤ 3e-9·λ_max (the 3 × 3 closed form's margin), else 1e-12·trace
    assert np.all(lam >= exact) and np.allclose(lam, exact, rtol=1e-8, atol=1e-300)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
    Mv = np.linalg.norm(np.einsum("kij,kj->ki", M, v), axis=1) ** 2
    assert np.allclose(Mv, exact, rtol=1e-9, atol=1e-12)
    lam2 = _top_eigen(M, need_vector=False)[0]
    assert np.all(lam2 >= exact) and np.allclose(lam2, lam, rtol=1e-8, atol=1e-300)


def test_merging_nearby_atoms_keeps_the_features_and_never_raises_the_cost():
    from convexnn.atomic_dual import _merge_atoms

    rng = np.random.default_rng(13)
    base = rng.standard_normal((3, 4))
    base /= np.linalg.norm(base, axis=0)
    D = np.repeat(base, 5, axis=1) + 1e-4 * rng.standard_normal((3, 20))
    D /= np.linalg.norm(D, axis=0)
    W = rng.standard_normal((20, 2))
    Dm, Wm = _merge_atoms(D, W, 0.02)
    assert Dm.shape == (3, 4) and Wm.shape == (4, 2)
    assert np.linalg.norm(Wm, axis=1).sum() <= np.linalg.norm(W, axis=1).sum()
    X = rng.standard_normal((30, 3))
    before = np.maximum(X @ D, 0.0) @ W
    after = np.maximum(X @ Dm, 0.0) @ Wm
    assert np.abs(after - before).max() <= 1e-2 * np.abs(before).max()
    # atoms further apart than the angle stay separate
    Dm2, _ = _merge_atoms(base, rng.standard_normal((4, 2)), 1e-3)
    assert Dm2.shape == (3, 4)


def test_a_dual_stage_stopped_by_its_callback_keeps_a_valid_bound_and_says_so():
    rng = np.random.default_rng(14)
    X = rng.standard_normal((25, 2))
    Y = rng.standard_normal((25, 1))
    seen = []

    def stop(rec):
        seen.append(rec)
        return True

    res = fit(X, Y, 0.1, method="lbfgs", width=5, restarts=1, time_limit=20, dual_callback=stop)
    dual = res.stages["dual"]
    assert dual.status == "stopped" and dual.iterations == 1 and len(seen) == 1
    assert {"iteration", "value", "lower_bound", "sigma_upper", "time_s"} <= set(seen[0])
    assert any("dual stage was interrupted" in note for note in res.notes)
    assert dual.lower_bound <= res.certificate.upper
    assert res.certificate.lower == max(dual.lower_bound, res.stages["sdp"].lower_bound)


def test_auto_skips_the_dual_stage_when_the_certificate_is_already_tight():
    rng = np.random.default_rng(15)
    X = rng.standard_normal((14, 2))
    Y = np.maximum(X @ rng.standard_normal((2, 3)), 0.0) @ rng.standard_normal((3, 1))
    ex = fit(X, Y, 0.1, method="exact")  # C-ReLU over all patterns certifies p* to ~1e-9
    assert ex.certificate.gap < 1e-3 and "dual" not in ex.stages
    forced = fit(X, Y, 0.1, method="exact", dual_bound=True, time_limit=4)
    assert "dual" in forced.stages
    assert forced.stages["dual"].lower_bound <= ex.certificate.upper * (1 + 1e-9)
    with pytest.raises(ParameterError, match="dual_bound"):
        fit(X, Y, 0.1, dual_bound=1)


def test_atomic_dual_bound_reports_rounds_whose_bounds_rise_to_the_result():
    rng = np.random.default_rng(16)
    X = rng.standard_normal((40, 3))
    Y = rng.standard_normal((40, 2))
    recs = []
    bnb = "branch-and-bound"  # the rounds are the branch and bound's (the face enumeration has none)
    res = atomic_dual_bound(X, Y, 0.1, np.zeros_like(Y), value=0.5 * float(np.sum(Y * Y)), callback=recs.append,
                            oracle=bnb)
    assert recs and all(r["value"] == res.value for r in recs)
    lows = [r["lower_bound"] for r in recs]
    assert all(a <= b + 1e-12 for a, b in zip(lows, lows[1:])) and lows[-1] <= res.lower_bound + 1e-12
    stopped = atomic_dual_bound(X, Y, 0.1, np.zeros_like(Y), callback=lambda rec: True, oracle=bnb)
    assert stopped.status == "stopped" and stopped.lower_bound <= res.lower_bound
    # by default this small arrangement is enumerated: σ exactly, so a bound at least as high
    exact = atomic_dual_bound(X, Y, 0.1, np.zeros_like(Y))
    assert exact.info["sigma_upper"] <= res.info["sigma_upper"] * (1 + 1e-12)
    assert exact.info["sigma_upper"] >= res.info["sigma_lower"] * (1 - 1e-12)
    assert exact.lower_bound >= res.lower_bound - 1e-12


def test_ctrl_c_during_the_final_merge_keeps_the_result(monkeypatch):
    import convexnn.atomic_dual as ad

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ad, "_compact", interrupted)
    rng = np.random.default_rng(17)
    X = rng.standard_normal((20, 2))
    Y = rng.standard_normal((20, 1))
    res = atomic_dual_certificate(X, Y, 0.1, time_limit=3)
    assert res.status == "interrupted" and res.lower_bound is not None
    prob = TrainingProblem(X, Y, 0.1)
    assert prob.objective(res.solution["U"], res.solution["V"]) == pytest.approx(res.value, rel=1e-12)
    assert res.lower_bound <= res.value


@pytest.mark.parametrize("d, aligned", [(3, False), (4, False), (3, True), (4, True)])
def test_cell_bounds_enclose_sampled_values_with_many_ambiguous_rows(d, aligned):
    """The bound of one cap (u0, r) against f at 4,000 points of the cap, on caps wide enough that
    many hyperplanes cut them (so the secant split, the exact rows and the cross terms of the
    other ambiguous rows are all used). With ``aligned`` every g_i points nearly the same way, so
    every cross term g_iᵀ(Mu) is positive, the exact rows' parts included."""
    from convexnn.atomic_dual import _Evaluator

    rng = np.random.default_rng(40 + d + 10 * aligned)
    X = rng.standard_normal((60, d))
    X[:5] = X[5] + 1e-3 * rng.standard_normal((5, d))  # a crowded bundle of nearly parallel rows
    G = rng.standard_normal((60, 2))
    if aligned:
        G = np.array([1.0, 0.5]) + 0.05 * G
    ev = _Evaluator(X, G)
    u0 = rng.standard_normal((150, d))
    u0 /= np.linalg.norm(u0, axis=1, keepdims=True)
    u0[:20] = X[5] / np.linalg.norm(X[5]) + 0.05 * rng.standard_normal((20, d))  # near the bundle
    u0 /= np.linalg.norm(u0, axis=1, keepdims=True)
    r = rng.uniform(0.02, 0.8, 150)
    ub, lb, arg = ev.bounds(u0, r)
    amb = (np.abs(u0 @ ev.Xn.T) <= np.sin(r)[:, None]).sum(axis=1)
    assert amb.max() >= 10 and np.mean(amb > 2) > 0.5  # the triangle path is exercised
    for k in range(150):
        W = rng.standard_normal((4000, d))
        W -= np.outer(W @ u0[k], u0[k])
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        theta = r[k] * np.sqrt(rng.uniform(0, 1, 4000))
        theta[:100] = r[k]  # the rim, where the secant's slack is largest
        U = np.cos(theta)[:, None] * u0[k] + np.sin(theta)[:, None] * W
        vals = np.linalg.norm(G.T @ np.maximum(X @ U.T, 0.0), axis=0)
        assert vals.max() <= ub[k] * (1 + 1e-12)
        assert _f(X, G, arg[k]) == pytest.approx(lb[k], rel=1e-12)  # attained (anywhere on the sphere)


def test_peaks_are_separated_capped_and_keep_the_best():
    from convexnn.atomic_dual import _Peaks

    rng = np.random.default_rng(5)
    peaks = _Peaks(3, size=20, sep=0.1)
    best = None
    for _ in range(30):
        U = rng.standard_normal((500, 3))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        v = rng.uniform(0, 1, 500)
        peaks.add(U, v)
        j = np.argmax(v)
        if best is None or v[j] > best[1]:
            best = (U[j], v[j])
    first = np.array([1.0, 0.0, 0.0])
    P = peaks.directions(first)
    assert P.shape == (3, 21) and np.array_equal(P[:, 0], first)
    cos = P.T @ P
    np.fill_diagonal(cos, -1.0)
    assert cos[1:, 1:].max() < np.cos(0.1) and cos[0, 1:].max() < np.cos(0.1)
    # the best candidate seen survives unless it is within sep of ``first``
    assert np.max(P.T @ best[0]) > 1 - 1e-12 or best[0] @ first >= np.cos(0.1)


def test_three_by_three_determinants_and_top_eigen_pairs_match_lapack():
    from convexnn.atomic_dual import _det_sym3, _top_eigen

    rng = np.random.default_rng(2)
    B = rng.standard_normal((500, 3, 3))
    A = B + np.swapaxes(B, -1, -2)
    got = _det_sym3(A[:, 0, 0], A[:, 1, 1], A[:, 2, 2], A[:, 0, 1], A[:, 0, 2], A[:, 1, 2])
    assert np.allclose(got, np.linalg.det(A), rtol=1e-10, atol=1e-12)
    # the closed-form top eigenvalue of MMᵀ (3 × 3) is an upper bound within 1e-9·trace, and the
    # candidate direction attains it (a top right singular vector of M)
    M = rng.standard_normal((500, 3, 4))
    M[:50, 2] = M[:50, 1]  # repeated singular values (rank 2)
    lam, v = _top_eigen(M, need_vector=True)
    ref = np.linalg.svd(M, compute_uv=False)[:, 0] ** 2
    trace = np.einsum("kij,kij->k", M, M)
    assert np.all(lam >= ref * (1 - 1e-12)) and np.all(lam <= ref + 2e-9 * trace)
    assert np.allclose(np.linalg.norm(np.einsum("kcd,kd->kc", M, v), axis=1) ** 2, ref, rtol=1e-7)


def test_cell_bound_counts_the_exact_rows_in_the_cross_terms():
    """A cap whose value comes only from ambiguous rows, all pushing the same output the same way:
    six hyperplanes through the cap's centre, the two heaviest (entered exactly) carrying most
    of the weight. Bounding the cross terms without the exact rows' part falls below f here."""
    from convexnn.atomic_dual import _Evaluator

    phi = np.linspace(-0.3, 0.3, 6)
    X = np.vstack([np.stack([np.cos(phi), np.sin(phi), np.zeros(6)], axis=1), [[0.0, 0.0, -1.0]]])
    G = np.outer([3.0, 3.0, 1.0, 1.0, 1.0, 1.0, 1.0], [1.0, 0.5])  # rows 0 and 1 are the heaviest
    ev = _Evaluator(X, G)
    u0 = np.array([[0.0, 0.0, 1.0]])
    rng = np.random.default_rng(3)
    for r in (0.05, 0.2, 0.6):
        ub = ev.bounds(u0, np.array([r]))[0][0]
        W = rng.standard_normal((20000, 3))
        W[:, 2] = 0.0
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        theta = np.full(20000, r)
        theta[:10000] *= np.sqrt(rng.uniform(0, 1, 10000))
        U = np.cos(theta)[:, None] * u0 + np.sin(theta)[:, None] * W
        assert np.linalg.norm(G.T @ np.maximum(X @ U.T, 0.0), axis=0).max() <= ub * (1 + 1e-12)


def _random_caps(seed, *, n, c, cells, radii, d=4):
    """Gaussian data X (n × d), outputs G (n × c), and random caps: unit centres, radii in ``radii``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    G = rng.standard_normal((n, c))
    u0 = rng.standard_normal((cells, d))
    u0 /= np.linalg.norm(u0, axis=1, keepdims=True)
    return X, G, u0, rng.uniform(*radii, cells)


def test_cell_bounds_do_not_depend_on_the_chunk_size(monkeypatch):
    """Cells and (cell, row) pairs are processed in chunks to bound the temporaries' memory; tiny
    chunks must give the same bounds as one chunk."""
    import convexnn.atomic_dual as ad

    X, G, u0, r = _random_caps(8, n=40, c=3, cells=300, radii=(0.05, 0.6))
    whole = ad._Evaluator(X, G).bounds(u0, r)
    monkeypatch.setattr(ad, "_CHUNK_ENTRIES", 97)  # 2 cells, and 8 pairs, at a time
    parts = ad._Evaluator(X, G).bounds(u0, r)
    assert np.allclose(parts[0], whole[0], rtol=1e-12, atol=0)
    # the lower values and their directions too, up to the rounding of differently shaped products
    assert np.allclose(parts[1], whole[1], rtol=1e-12, atol=0)
    assert np.allclose(parts[2], whole[2], rtol=1e-9, atol=1e-12)


def test_cells_split_between_threads_give_the_same_bounds():
    from concurrent.futures import ThreadPoolExecutor

    from convexnn.atomic_dual import _Evaluator

    X, G, u0, r = _random_caps(9, n=50, c=2, cells=1500, radii=(0.01, 0.5))
    alone = _Evaluator(X, G).bounds(u0, r)
    with ThreadPoolExecutor(3) as pool:
        shared = _Evaluator(X, G, pool, 3).bounds(u0, r)
    for a, b in zip(alone, shared):
        assert np.allclose(a, b, rtol=1e-12, atol=1e-15)


def test_ctrl_c_inside_a_threaded_batch_returns_a_valid_bound(monkeypatch):
    """A KeyboardInterrupt raised in a worker thread reaches the loop like a Ctrl-C: the bound of
    the cells evaluated so far is returned, and it still encloses the maximum."""
    import convexnn.atomic_dual as ad

    rng = np.random.default_rng(10)
    X = rng.standard_normal((30, 3))
    G = rng.standard_normal((30, 2))
    _, _, sigma = nonneg_pca_oracle(X, G, method="exact")
    original = ad._Evaluator._bounds_tail
    calls = {"n": 0}

    def flaky(self, *args):
        calls["n"] += 1
        if calls["n"] > 12:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(ad, "_PARALLEL_MIN_CELLS", 4)
    monkeypatch.setattr(ad, "cpu_cores", lambda: 2)
    monkeypatch.setattr(ad._Evaluator, "_bounds_tail", flaky)
    b = relu_dual_norm_bound(X, G, tol=1e-6)
    assert b.status == "interrupted" and calls["n"] > 12
    assert b.upper >= sigma * (1 - 1e-12) and b.lower <= sigma * (1 + 1e-9)


@pytest.mark.parametrize("inherit", [False, True])
@pytest.mark.parametrize("seed", [3, 17, 41])
def test_branch_and_bound_with_frequent_compactions_matches_the_exact_oracle(seed, inherit, monkeypatch):
    """The live cells are kept in place and compacted only now and then; compacting every few
    cells (and with the inherited rows' buffers overflowing) changes neither the enclosure nor
    the accuracy."""
    import convexnn.atomic_dual as ad

    X, G = dual_norm_instance(seed)
    _, _, sigma = nonneg_pca_oracle(X, G, method="exact")
    if inherit:
        monkeypatch.setattr(ad, "_INHERIT_MIN_ROWS", 1)
    monkeypatch.setattr(ad, "_COMPACT_MIN", 8)
    compactions = {"n": 0}
    keep = ad._LiveCells.keep

    def counted(self, mask):
        compactions["n"] += 1
        return keep(self, mask)

    monkeypatch.setattr(ad._LiveCells, "keep", counted)
    b = relu_dual_norm_bound(X, G, tol=1e-3)
    assert compactions["n"] >= 3
    assert b.status == "optimal"
    assert sigma * (1 - 1e-12) <= b.upper <= sigma * (1 + 1e-3) * (1 + 1e-9) + 1e-12


@pytest.mark.parametrize("kind", ["normal", "ties", "sorted", "reversed", "spike"])
def test_the_cells_to_split_are_the_k_largest_bounds(kind, monkeypatch):
    """The selection through a sample's threshold returns k distinct indices whose values are
    exactly the k largest (as a multiset, ties included), also when the sample misleads it."""
    import convexnn.atomic_dual as ad

    monkeypatch.setattr(ad, "_TOP_SAMPLE_MIN", 1000)
    rng = np.random.default_rng(7)
    n = 200_000
    v = {"normal": rng.standard_normal(n), "ties": rng.integers(0, 5, n).astype(float),
         "sorted": np.sort(rng.standard_normal(n)), "reversed": np.sort(rng.standard_normal(n))[::-1].copy(),
         "spike": np.where(np.arange(n) % 997 == 0, 10.0, rng.random(n))}[kind]
    for k in (1, 17, 1024, 3000):
        idx = ad._top_indices(v, k)
        assert len(idx) == k and len(np.unique(idx)) == k
        assert np.array_equal(np.sort(v[idx]), np.sort(v)[-k:])


@pytest.mark.parametrize("where", ["remove", "append"])
def test_ctrl_c_between_a_round_s_parents_and_children_returns_a_valid_bound(where, monkeypatch):
    """A round takes its parents out of the store before its children are in: a Ctrl-C in
    between must not lose their part of the sphere (the parents' bound stands for it)."""
    import convexnn.atomic_dual as ad

    rng = np.random.default_rng(12)
    X = rng.standard_normal((30, 3))
    G = rng.standard_normal((30, 2))
    _, _, sigma = nonneg_pca_oracle(X, G, method="exact")
    full = relu_dual_norm_bound(X, G, tol=1e-6)
    original = getattr(ad._LiveCells, where)
    calls = {"n": 0}

    def interrupted(self, *args):
        calls["n"] += 1
        if calls["n"] == 3:
            if where == "remove":
                original(self, *args)  # the parents are out, the children not yet in
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(ad._LiveCells, where, interrupted)
    b = relu_dual_norm_bound(X, G, tol=1e-6)
    assert b.status == "interrupted" and calls["n"] == 3
    assert b.upper >= sigma * (1 - 1e-12)
    assert b.upper > full.upper  # stopped after two rounds: cruder than the full run, still valid


def test_branch_and_bound_stops_when_its_live_cells_would_outgrow_their_memory(monkeypatch):
    import convexnn.atomic_dual as ad

    rng = np.random.default_rng(13)
    X = rng.standard_normal((30, 3))
    G = rng.standard_normal((30, 2))
    _, _, sigma = nonneg_pca_oracle(X, G, method="exact")
    monkeypatch.setattr(ad, "_LIVE_MAX_BYTES", 3 * 50 * 72)  # 50 cells of 72 bytes (d = 3), three times
    b = relu_dual_norm_bound(X, G, tol=1e-9)
    assert b.status == "max_cells"
    assert b.upper >= sigma * (1 - 1e-12) and b.lower <= sigma * (1 + 1e-9)


@pytest.mark.parametrize("aligned", [False, True])
def test_the_first_bound_of_a_cell_that_will_be_dropped_encloses_sampled_values(aligned):
    """With ``drop`` a cell whose first bound (exact rows by the triangle inequality) is already
    ≤ drop keeps it and skips the sign enumeration and the cross terms. That first bound must
    still enclose f on the cap; cells above ``drop`` get exactly the full bound."""
    from convexnn.atomic_dual import _Evaluator

    rng = np.random.default_rng(70 + aligned)
    X = rng.standard_normal((60, 4))
    G = rng.standard_normal((60, 2))
    if aligned:  # every g_i nearly parallel: the exact rows' parts add up, none cancels
        G = np.array([1.0, 0.5]) + 0.05 * G
    u0 = rng.standard_normal((200, 4))
    u0 /= np.linalg.norm(u0, axis=1, keepdims=True)
    r = rng.uniform(0.02, 0.5, 200)
    ev = _Evaluator(X, G)
    full = ev.bounds(u0, r)
    drop = float(np.median(full[0]))
    fast = ev.bounds(u0, r, drop=drop)
    kept = fast[0] > drop
    assert np.array_equal(fast[0][kept], full[0][kept])
    assert np.all(fast[0] >= full[0] * (1 - 1e-12))
    looser = fast[0] > full[0] * (1 + 1e-9)
    assert looser.sum() >= 20  # the first bound is used, and is looser than the full one there
    for k in np.flatnonzero(~kept):
        W = rng.standard_normal((3000, 4))
        W -= np.outer(W @ u0[k], u0[k])
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        theta = r[k] * np.sqrt(rng.uniform(0, 1, 3000))
        theta[:100] = r[k]
        U = np.cos(theta)[:, None] * u0[k] + np.sin(theta)[:, None] * W
        vals = np.linalg.norm(G.T @ np.maximum(X @ U.T, 0.0), axis=0)
        assert vals.max() <= fast[0][k] * (1 + 1e-12)


def _group_lasso_kkt(H, Y, W, reg):
    """Largest violation of the group lasso's optimality conditions, relative to γ: for a used
    atom H_jᵀ(Y − HW) = γW_j/‖W_j‖, for an unused one ‖H_jᵀ(Y − HW)‖ ≤ γ."""
    S = H.T @ (Y - H @ W)
    nw = np.linalg.norm(W, axis=1)
    used = nw > 0
    err = np.linalg.norm(S[used] - reg * W[used] / nw[used, None], axis=1).max(initial=0.0)
    over = np.maximum(np.linalg.norm(S[~used], axis=1) - reg, 0.0).max(initial=0.0)
    return max(err, over) / reg


@pytest.mark.parametrize("atoms", [8, 40])  # fewer atoms than rows (Gram form) and more
def test_group_lasso_master_meets_its_optimality_conditions(atoms):
    from convexnn.atomic_dual import _group_lasso_fista, _solve_master, _solve_master_fista

    rng = np.random.default_rng(18)
    X = rng.standard_normal((25, 3))
    D = rng.standard_normal((3, atoms))
    H = np.maximum(X @ D, 0.0)
    Y = rng.standard_normal((25, 2))
    W = _group_lasso_fista(H, Y, 0.5, np.zeros((atoms, 2)), 20000, np.inf)
    assert np.linalg.norm(W, axis=1).min() == 0 < np.linalg.norm(W, axis=1).max()  # both kinds of atom
    assert _group_lasso_kkt(H, Y, W, 0.5) < 1e-5
    # the working-set solver on a dictionary much larger than its set: atoms it drops at zero
    # must still satisfy their conditions at the end
    D = rng.standard_normal((3, 3000))
    H = np.maximum(X @ D, 0.0)
    W = _solve_master(H, Y, 0.5, np.zeros((3000, 2)), time.perf_counter() + 30)
    assert _group_lasso_kkt(H, Y, W, 0.5) < 1e-3
    # and by FISTA alone, as for more than _CG_NEWTON_MAX_ROWS rows
    W = _solve_master_fista(H, Y, 0.5, np.zeros((3000, 2)), time.perf_counter() + 30)
    assert _group_lasso_kkt(H, Y, W, 0.5) < 1e-3


def _clouded_dictionary(seed, n=30, d=3, base=40, cloud=40, reg=0.01):
    """A master problem like column generation's late ones: clouds of nearly equal atoms (spread
    0.02) around a few directions, a bias column, small γ: far more atoms than rows, and features
    so correlated that FISTA's step 1/L is tiny."""
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.standard_normal((n, d - 1)), np.ones((n, 1))])
    Y = np.sign(rng.standard_normal((n, 2)))
    B = rng.standard_normal((d, base))
    D = np.repeat(B, cloud, axis=1) + 0.02 * rng.standard_normal((d, base * cloud))
    D /= np.linalg.norm(D, axis=0)
    return np.maximum(X @ D, 0.0), Y, reg


@pytest.mark.parametrize("seed", [0, 1])
def test_newton_master_reaches_clarabel_s_optimum_where_fista_stalls(seed):
    """The master's optimum against Clarabel on its dual, the projection of Y onto
    {Γ : ‖H_jᵀΓ‖ ≤ γ for all j}: the Newton solver's network is within 10⁻⁶ of it (relative),
    where FISTA's working set (the solver before 2026-12-07) stays more than 1 % above."""
    cp = pytest.importorskip("cvxpy")
    from convexnn.atomic_dual import _solve_master, _solve_master_fista

    H, Y, reg = _clouded_dictionary(seed)
    G = cp.Variable(Y.shape)
    prob = cp.Problem(cp.Maximize(cp.sum(cp.multiply(G, Y)) - 0.5 * cp.sum_squares(G)),
                      [cp.norm(H.T @ G, 2, axis=1) <= reg])
    prob.solve(solver="CLARABEL")
    best = prob.value  # = the master's optimum (strong duality)

    def objective(W):
        R = Y - H @ W
        return 0.5 * float(np.sum(R * R)) + reg * float(np.sum(np.linalg.norm(W, axis=1)))

    W0 = np.zeros((H.shape[1], 2))
    W = _solve_master(H, Y, reg, W0, time.perf_counter() + 60)
    assert abs(objective(W) - best) <= 1e-6 * best
    assert _group_lasso_kkt(H, Y, W, reg) < 1e-3
    assert objective(_solve_master_fista(H, Y, reg, W0, time.perf_counter() + 60)) > 1.01 * best
    # warm: from a perturbed copy of its own solution, the same optimum
    W1 = _solve_master(H, Y, reg, W * 1.5, time.perf_counter() + 60)
    assert abs(objective(W1) - best) <= 1e-6 * best


def test_the_variational_form_of_the_master_matches_its_derivatives_and_its_network():
    """g(η) = ½⟨Y, Γ⟩ + ½γΣ η_j with Γ = γ(H diag η Hᵀ + γI)⁻¹Y: its gradient against central
    differences, Γ = Y − HW for the network W_j = η_j H_jᵀΓ/γ it defines, and g(η) ≥ that
    network's objective (γ‖w‖ ≤ ½γ(‖w‖²/η + η)), with equality at the optimum."""
    from convexnn.atomic_dual import _eta_value, _group_lasso_newton

    H, Y, reg = _clouded_dictionary(3, base=5, cloud=4, reg=0.3)
    rng = np.random.default_rng(5)
    eta = rng.uniform(0.0, 2.0, H.shape[1])
    value, grad, G, S, _ = _eta_value(H, Y, reg, eta)
    h = 1e-6
    for j in rng.choice(H.shape[1], 6, replace=False):
        e = np.zeros_like(eta)
        e[j] = h
        fd = (_eta_value(H, Y, reg, eta + e)[0] - _eta_value(H, Y, reg, eta - e)[0]) / (2 * h)
        assert abs(fd - grad[j]) <= 1e-6 * max(1.0, abs(grad[j]))
    W = eta[:, None] * S / reg
    assert np.allclose(Y - H @ W, G, atol=1e-10)
    R = Y - H @ W
    objective = 0.5 * float(np.sum(R * R)) + reg * float(np.sum(np.linalg.norm(W, axis=1)))
    assert value >= objective - 1e-12
    eta, G, S, _ = _group_lasso_newton(H, Y, reg, eta, np.inf, tol=1e-10, iterations=500)
    W = eta[:, None] * S / reg
    R = Y - H @ W
    objective = 0.5 * float(np.sum(R * R)) + reg * float(np.sum(np.linalg.norm(W, axis=1)))
    assert abs(_eta_value(H, Y, reg, eta)[0] - objective) <= 1e-8 * objective
    assert _group_lasso_kkt(H, Y, W, reg) < 1e-4


def test_master_uses_fista_alone_above_the_newton_row_limit(monkeypatch):
    """Newton's n × n systems are for at most _CG_NEWTON_MAX_ROWS rows, its k × k ones for at
    most _CG_NEWTON_MAX_ATOMS atoms; beyond, FISTA alone."""
    import convexnn.atomic_dual as ad

    H, Y, reg = _clouded_dictionary(5, base=5, cloud=4, reg=0.3)
    called = []
    real = ad._group_lasso_newton
    monkeypatch.setattr(ad, "_group_lasso_newton", lambda *a, **k: called.append(1) or real(*a, **k))
    ad._solve_master(H, Y, reg, np.zeros((H.shape[1], 2)), time.perf_counter() + 10)
    assert called
    called.clear()
    monkeypatch.setattr(ad, "_CG_NEWTON_MAX_ROWS", H.shape[0] - 1)
    W = ad._solve_master(H, Y, reg, np.zeros((H.shape[1], 2)), time.perf_counter() + 10)
    assert not called and _group_lasso_kkt(H, Y, W, reg) < 1e-3
    # and where the working set outgrows _CG_NEWTON_MAX_ATOMS (k × k systems)
    monkeypatch.setattr(ad, "_CG_NEWTON_MAX_ROWS", H.shape[0])
    monkeypatch.setattr(ad, "_CG_NEWTON_MAX_ATOMS", 5)
    W = ad._solve_master(H, Y, reg, np.zeros((H.shape[1], 2)), time.perf_counter() + 10)
    assert not called and _group_lasso_kkt(H, Y, W, reg) < 1e-3


@pytest.mark.parametrize("oracle, enumerations, expect", [
    ("faces", 5, True),  # a small arrangement: time for many enumerations
    ("faces", 10**12, False),  # not enough time for that many: FISTA's inexact master
    ("branch-and-bound", 5, False),  # the branch and bound certifies: FISTA's master
])
def test_column_generation_takes_the_exact_master_only_with_time_for_several_enumerations(
        monkeypatch, oracle, enumerations, expect):
    import convexnn.atomic_dual as ad

    rng = np.random.default_rng(7)
    X = rng.standard_normal((20, 3))
    Y = rng.standard_normal((20, 2))
    seen = []
    real = ad._solve_master
    monkeypatch.setattr(ad, "_solve_master", lambda *a, exact=True, **k: seen.append(exact) or real(*a, exact=exact, **k))
    monkeypatch.setattr(ad, "_CG_NEWTON_ENUMERATIONS", enumerations)
    res = atomic_dual_certificate(X, Y, 0.1, time_limit=20, oracle=oracle)
    assert res.lower_bound is not None and seen and set(seen) == {expect}


def test_newton_master_handles_atoms_whose_features_vanish_without_warnings():
    """An atom inactive on every row has a zero feature column, hence a zero row of the Hessian;
    the master must still reach its optimality conditions, silently (no LinAlgWarning)."""
    import warnings

    from convexnn.atomic_dual import _solve_master

    H, Y, reg = _clouded_dictionary(6, base=5, cloud=4, reg=0.3)
    H = np.hstack([H, np.zeros((H.shape[0], 3))])
    W0 = np.zeros((H.shape[1], 2))
    W0[-3:] = 1.0  # weight on the dead atoms: η > 0 where the Hessian's rows vanish
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        W = _solve_master(H, Y, reg, W0, time.perf_counter() + 30)
    assert _group_lasso_kkt(H, Y, W, reg) < 1e-3 and np.all(W[-3:] == 0)


def test_newton_master_stops_at_its_deadline_with_the_network_it_started_from():
    from convexnn.atomic_dual import _eta_value, _group_lasso_newton

    H, Y, reg = _clouded_dictionary(4, base=5, cloud=4, reg=0.3)
    eta0 = np.full(H.shape[1], 0.1)
    eta, G, _, done = _group_lasso_newton(H, Y, reg, eta0, time.perf_counter() - 1.0)
    assert not done and np.array_equal(eta, eta0) and np.allclose(G, _eta_value(H, Y, reg, eta0)[2])


def test_the_dual_stage_of_fit_gets_half_the_time_limit():
    """30 s without a limit, half the limit otherwise (at least 1 s): a longer limit buys more
    rounds of column generation (it was capped at 30 s until 2026-12-06)."""
    from convexnn.pipeline import _dual_time_limit

    assert _dual_time_limit(None) == 30.0
    assert _dual_time_limit(60) == 30.0 and _dual_time_limit(300) == 150.0
    assert _dual_time_limit(0.5) == 1.0


@pytest.mark.parametrize("d", [2, 3, 4, 5, 8])
def test_cell_radii_cover_the_corners_in_extended_precision(d):
    """Every corner of a cell's box lies within the angular radius of its cap, checked with the
    corners and angles recomputed in long double; tiny cells included, where an inverse cosine of
    a float64 dot product loses ~10⁻¹⁶/sin r (it missed by 2.6·10⁻¹³ rad once, beyond the margin)."""
    from convexnn.atomic_dual import _Evaluator

    rng = np.random.default_rng(90 + d)
    ev = _Evaluator(rng.standard_normal((10, d)), rng.standard_normal((10, 2)))
    k = 400
    axis = rng.integers(0, d, k)
    sign = rng.choice([-1.0, 1.0], k)
    half = 2.0 ** -rng.integers(0, 16, k).astype(float)
    centre = rng.uniform(-1, 1, (k, d - 1)) * (1 - half[:, None])
    u0, r = ev.geometry(axis, sign, centre, half)
    u = u0.astype(np.longdouble)
    u /= np.sqrt(np.sum(u * u, axis=1))[:, None]
    widest = np.zeros(k, dtype=np.longdouble)
    for off in ev.offsets:
        W = np.zeros((k, d), dtype=np.longdouble)
        for i in range(k):
            others = [b for b in range(d) if b != axis[i]]
            W[i, others] = centre[i].astype(np.longdouble) + np.longdouble(half[i]) * off
            W[i, axis[i]] = sign[i]
        W /= np.sqrt(np.sum(W * W, axis=1))[:, None]
        angle = 2 * np.arcsin(np.sqrt(np.sum((W - u) ** 2, axis=1)) / 2)
        assert np.all(angle <= r.astype(np.longdouble))
        widest = np.maximum(widest, angle)
    assert np.all(r - widest.astype(float) <= 1e-11 * (1 + r))  # and no looser than its margin


def test_a_round_of_the_branch_and_bound_splits_a_bounded_number_of_cells():
    """At d = 8 a cell has 128 children: a round splits at most _BATCH_CHILDREN // 128 cells, so
    time limits and callbacks are checked as often as at d = 4 (with 2,048 cells per round, one
    round at d = 8 evaluated 262,144 cells and a 1 s limit ended after 20 s, one-off)."""
    import convexnn.atomic_dual as ad

    rng = np.random.default_rng(19)
    X = rng.standard_normal((60, 8))
    G = rng.standard_normal((60, 2))
    seen = []

    def stop(rec):
        seen.append(rec["cells"])
        return len(seen) >= 2

    b = relu_dual_norm_bound(X, G, tol=1e-3, callback=stop)
    assert b.status == "stopped" and len(seen) == 2
    first_faces = 2 * 8
    assert seen[0] - first_faces <= ad._BATCH_CHILDREN and seen[1] - seen[0] <= ad._BATCH_CHILDREN
    assert seen[1] - seen[0] == (ad._BATCH_CHILDREN // 128) * 128  # full rounds: the cap binds


@pytest.mark.parametrize("seed", range(5))
def test_pricing_ascents_find_maxima_that_the_vertices_miss(seed):
    """Where the branch and bound certifies, pricing climbs by projected power iterations: with
    a single candidate vertex and no faces, the ascents still come within 1 % of the exact σ
    (the face enumeration's), never above it, where the vertex alone is far below."""
    from convexnn.atomic_dual import _Pricer
    from convexnn.atomic_dual_faces import relu_dual_norm_faces

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 3))
    G = rng.standard_normal((40, 2))
    exact = relu_dual_norm_faces(X, G).lower
    tops = {}
    for ascent in (False, True):
        pricer = _Pricer(X, np.random.default_rng(1), ascent=ascent)
        k = len(pricer.T)
        pricer.C, pricer.T = pricer.C[:, [0, k]], None  # one vertex (±v), no faces around it
        tops[ascent], P = pricer.violated(G, 0.0)
        vals = np.linalg.norm(G.T @ np.maximum(X @ P, 0.0), axis=0)
        assert vals[0] == pytest.approx(tops[ascent], rel=1e-12)  # the best comes first, attained
    assert tops[False] < 0.8 * exact
    assert 0.99 * exact <= tops[True] <= exact * (1 + 1e-9)
    # the ascents never end below their starts
    S = np.random.default_rng(2).standard_normal((3, 50))
    S /= np.linalg.norm(S, axis=0)
    v, U = pricer._ascend(G, S)
    assert np.all(v >= np.linalg.norm(G.T @ np.maximum(X @ S, 0.0), axis=0) - 1e-12)
    assert np.allclose(v, np.linalg.norm(G.T @ np.maximum(X @ U, 0.0), axis=0), rtol=1e-12)


def test_the_branch_and_bound_certifies_when_pricing_settles_not_every_round(monkeypatch):
    """The branch and bound costs seconds per call: column generation calls it only once pricing
    has settled or the time left comes down to its reserve, not in the rounds in between."""
    import convexnn.atomic_dual as ad

    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 3))
    Y = rng.standard_normal((50, 2))
    calls = []
    real = ad.relu_dual_norm_bound
    monkeypatch.setattr(ad, "relu_dual_norm_bound", lambda *a, **k: calls.append(1) or real(*a, **k))
    res = atomic_dual_certificate(X, Y, 0.01, time_limit=1000, oracle="branch-and-bound",
                                  callback=lambda rec: rec["iteration"] >= 3)
    assert res.status == "stopped" and res.iterations == 3
    priced = [h["sigma_priced"] for h in res.history]
    assert all(s > 0.01 * 1.01 for s in priced)  # pricing found violated directions in each round
    assert calls == [] and res.lower_bound is None  # so none certified (a run stopped early may have no bound)
    # with a time limit, the reserve brings a certification; its bound holds below the network
    calls.clear()
    res = atomic_dual_certificate(X, Y, 0.1, time_limit=20, oracle="branch-and-bound")
    assert 1 <= len(calls) < res.iterations and res.history[0]["oracle"] == "pricing"
    assert res.lower_bound is not None and res.lower_bound <= res.value


def test_a_certification_stops_at_its_round_s_precision_only_if_another_fits_after_it(monkeypatch):
    """Column generation runs the branch and bound to a fifth of its tol; its callback stops it
    at the round's precision (or the cell cap) while the time left holds another certification
    (1.6 times the time it took and a round), and otherwise lets it refine its bound."""
    import convexnn.atomic_dual as ad

    rng = np.random.default_rng(4)
    X = rng.standard_normal((40, 3))
    Y = rng.standard_normal((40, 2))
    out = []
    real = ad.relu_dual_norm_bound

    def spy(*a, **k):
        out.append((k, real(*a, **k)))
        return out[-1][1]

    monkeypatch.setattr(ad, "relu_dual_norm_bound", spy)

    def first_certification():
        out.clear()
        res = atomic_dual_certificate(X, Y, 0.1, time_limit=600, tol=1e-3, oracle="branch-and-bound",
                                      callback=lambda rec: "sigma_upper" in rec)  # stop after it
        assert res.status == "stopped" and len(out) == 1
        k, nb = out[0]
        assert k["tol"] <= 0.2 * 1e-3 * (1 + 1e-12) and k["max_cells"] >= 10**8
        return nb

    nb = first_certification()  # 600 s left: room for many more
    assert nb.status == "stopped" and nb.upper <= nb.lower * (1 + 1e-2) * (1 + 1e-9)
    assert nb.upper > nb.lower * (1 + 2e-4)  # it did not go on to the final precision
    monkeypatch.setattr(ad, "_CG_BNB_MARGIN", 1e9)  # no room for another, ever
    nb = first_certification()
    assert nb.status == "optimal" and nb.upper <= nb.lower * (1 + 2e-4) * (1 + 1e-9)


@pytest.mark.parametrize("d", [3, 4])
def test_children_bounds_from_inherited_rows_enclose_f_on_their_boxes(d):
    """A child cell starts from its parent's ambiguous rows and fixed map: a row of fixed sign on
    the parent's cap keeps it on the parent's box, hence on the child's. Its bound must enclose f
    at points sampled in its box (the cell proper), and its lower value must be attained."""
    from convexnn.atomic_dual import _Evaluator

    rng = np.random.default_rng(40 + d)
    X = rng.standard_normal((60, d))
    X[1] = 3.0 * X[0]  # a parallel pair, and a zero row
    X[2] = 0.0
    G = rng.standard_normal((60, 2))
    ev = _Evaluator(X, G)
    axis = np.repeat(np.arange(d), 2)
    sign = np.tile([1.0, -1.0], d)
    centre, half = np.zeros((2 * d, d - 1)), np.ones(2 * d)
    nc = len(ev.offsets)
    for level in range(3):  # roots, their children, grandchildren: each level from the one before
        u0, r = ev.geometry(axis, sign, centre, half)
        box = (axis, sign, centre, half)
        if level == 0:
            ub, lb, arg, cand = ev.bounds(u0, r, box=box, keep=True)
        else:
            ub, lb, arg, cand = ev.bounds(u0, r, cand=cand, box=box, keep=True, group=nc)
        f = lambda U: np.linalg.norm(G.T @ np.maximum(X @ U, 0.0), axis=0)  # noqa: E731
        assert np.allclose(lb, f(arg.T), rtol=1e-12, atol=1e-12)  # attained
        for i in range(len(ub)):
            y = centre[i] + half[i] * rng.uniform(-1.0, 1.0, (400, d - 1))
            W = np.empty((400, d))
            W[:, axis[i]] = sign[i]
            W[:, [b for b in range(d) if b != axis[i]]] = y
            W /= np.linalg.norm(W, axis=1, keepdims=True)
            assert f(W.T).max() <= ub[i] * (1 + 1e-12) + 1e-12
        # every cell splits into its 2^(d−1) children, which start from its rows (cand)
        centre = (centre[:, None, :] + half[:, None, None] * 0.5 * ev.offsets[None]).reshape(-1, d - 1)
        axis, sign, half = np.repeat(axis, nc), np.repeat(sign, nc), np.repeat(half * 0.5, nc)
    # the inherited lists shrink: a grandchild has at most its parent's candidates
    assert np.diff(cand[0]).mean() < X.shape[0] / 2


@pytest.mark.parametrize("seed", range(6))
def test_inherited_rows_over_their_memory_cap_fall_back_to_all_rows(seed, monkeypatch):
    """When the live cells' row lists would outgrow their memory cap the branch and bound goes
    on from all rows; the bound still encloses the exact oracle's value and converges."""
    import convexnn.atomic_dual as ad

    monkeypatch.setattr(ad, "_INHERIT_MIN_ROWS", 1)
    X, G = dual_norm_instance(seed)
    _, _, sigma = nonneg_pca_oracle(X, G, method="exact")
    full = relu_dual_norm_bound(X, G, tol=1e-3)
    monkeypatch.setattr(ad, "_INHERIT_MAX_BYTES", 20_000)  # a few rounds' worth, then all rows
    b = relu_dual_norm_bound(X, G, tol=1e-3)
    assert b.status == "optimal"
    assert sigma * (1 - 1e-12) <= b.upper <= sigma * (1 + 1e-3) * (1 + 1e-9) + 1e-12
    assert b.upper == pytest.approx(full.upper, rel=2e-3)


def test_progress_records_arrive_while_the_branch_and_bound_runs_and_change_nothing():
    """``progress`` gets records during each branch and bound (for the CLI's display); its return
    value is ignored, and the run is the same as without it."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 3))
    Y = np.maximum(X @ rng.standard_normal((3, 2)), 0.0) + 0.1 * rng.standard_normal((60, 2))
    kw = dict(time_limit=1000, oracle="branch-and-bound", seed=0, oracle_tol=1e-4)
    recs = []
    with_progress = atomic_dual_certificate(X, Y, 0.05, progress=lambda r: recs.append(r) or True, **kw)
    plain = atomic_dual_certificate(X, Y, 0.05, **kw)
    assert with_progress.status == plain.status == "optimal"
    assert with_progress.lower_bound == plain.lower_bound and with_progress.iterations == plain.iterations
    oracle_recs = [r for r in recs if r.get("oracle") == "branch-and-bound"]
    assert oracle_recs and all(r["sigma_lower"] <= r["sigma_upper"] for r in oracle_recs)
    times = [r["time_s"] for r in oracle_recs]
    assert times == sorted(times)
    with pytest.raises(ParameterError, match="progress must be callable"):
        atomic_dual_certificate(X, Y, 0.05, progress=3)


def _slow_bnb(monkeypatch, seconds, cap=0.3):
    """relu_dual_norm_bound as column generation sees it, run for at most ``cap`` s (no callback),
    but reporting that it took ``seconds`` and ended 'optimal' (its bound is the real one, so it
    stays valid); returns the list of (call time, time_limit) it records."""
    import dataclasses

    import convexnn.atomic_dual as ad

    calls, real = [], ad.relu_dual_norm_bound

    def fake(*a, **k):
        calls.append((time.perf_counter(), k["time_limit"]))
        nb = real(*a, **{**k, "callback": None, "time_limit": min(k["time_limit"], cap)})
        return dataclasses.replace(nb, time_s=seconds, status="optimal")

    monkeypatch.setattr(ad, "relu_dual_norm_bound", fake)
    return calls


def test_a_certification_with_less_time_left_than_the_last_took_still_runs(monkeypatch):
    """Once a branch and bound has taken longer than the stage has left, every later round
    certifies (the reserve exceeds what is left) and each certification still runs, within the
    time left, instead of the stage ending with that time unused (Bank Notes' stage ended 12–17 s
    early in half of twelve runs that broke off there, docs §7.3)."""
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((40, 3)), rng.standard_normal((40, 2))
    calls = _slow_bnb(monkeypatch, seconds=1e4)
    t = time.perf_counter()
    res = atomic_dual_certificate(X, Y, 0.1, time_limit=3.0, tol=1e-9, oracle="branch-and-bound")
    assert len(calls) >= 2, "the stage ended after the first certification"
    # within the time left: each limit below the stage's, the later ones below what was left
    assert all(limit <= 3.0 for _, limit in calls) and calls[-1][1] < 3.0 - (calls[0][0] - t)
    assert res.time_s >= 2.5  # the stage used its time
    assert res.lower_bound is not None and res.lower_bound <= res.value


def test_the_master_leaves_the_next_certification_its_reserve(monkeypatch):
    """A master pass may take 30 % of the time left, but not the time reserved for the next
    branch-and-bound certification (at least 5 % of the time left, and all of the 30 % once the
    reserve exceeds the time left). Column generation reserves 1.6 times what the last
    certification took, plus a mean round."""
    import convexnn.atomic_dual as ad
    from convexnn.atomic_dual import _master_budget

    assert _master_budget(10.0, None) == pytest.approx(3.0)
    assert _master_budget(10.0, 5.0) == pytest.approx(3.0)  # the reserve is not reached
    assert _master_budget(10.0, 8.0) == pytest.approx(2.0)  # up to the reserve
    assert _master_budget(10.0, 9.9) == pytest.approx(0.5)  # at least 5 %
    assert _master_budget(10.0, 12.0) == pytest.approx(3.0)  # a reserve that cannot be kept
    rng = np.random.default_rng(6)
    X, Y = rng.standard_normal((40, 3)), rng.standard_normal((40, 2))
    calls = _slow_bnb(monkeypatch, seconds=1.0, cap=0.05)
    seen, real = [], ad._master_budget
    monkeypatch.setattr(ad, "_master_budget", lambda remaining, keep: seen.append(
        (time.perf_counter(), keep)) or real(remaining, keep))
    atomic_dual_certificate(X, Y, 0.1, time_limit=3.0, tol=1e-9, oracle="branch-and-bound")
    assert calls and seen[0][1] is None  # the first pass: no round yet, no reserve
    after = [keep for at, keep in seen if at > calls[0][0]]
    assert after and all(keep is not None and keep >= 1.6 for keep in after)


def test_the_dual_stage_gets_what_the_stages_before_it_left_of_the_time_limit(monkeypatch):
    # half the time limit at least; when the stages before it were quick, the rest of the limit (so
    # a time limit bounds the whole run), of which column generation gets 0.8
    import time

    import convexnn.pipeline as pipeline

    seen = []
    real = pipeline.atomic_dual_certificate

    def spy(*args, **kwargs):
        seen.append((time.perf_counter(), kwargs["time_limit"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "atomic_dual_certificate", spy)
    rng = np.random.default_rng(8)
    X = rng.standard_normal((30, 3))
    Y = rng.standard_normal((30, 2))
    t0 = time.perf_counter()
    res = fit(X, Y, 0.1, method="lbfgs", width=10, restarts=1, time_limit=40)
    (t_dual, limit), = seen
    before = t_dual - t0
    assert before < 20  # quick first stages on this small problem
    assert limit == pytest.approx(0.8 * (40 - before), abs=0.5)
    assert limit > 0.8 * 0.5 * 40
    assert res.times["dual"] <= 40 - before + 1.0
    # without a time limit the stage keeps its 30 s
    seen.clear()
    fit(X, Y, 0.1, method="lbfgs", width=10, restarts=1, max_iter=50)
    assert seen[0][1] == pytest.approx(0.8 * 30.0)
