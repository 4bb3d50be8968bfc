"""Exact global optima on d = 2 scalar-output data, the [KP24] pipeline and the gated mapping.

The C-ReLU program over ALL activation patterns equals p* for one output [PE20]. So its certified
interval [lower_bound, value] must lie below every gradient-trained network and above the SDP-NN
certified lower bound (an independent relaxation).
"""

from __future__ import annotations

import numpy as np
import pytest

from convexnn.arrangements import (enumerate_patterns, gated_predict, gated_to_network, kim_pilanci,
                                   sample_patterns, solve_crelu, solve_gated)
from convexnn.baselines.gradient import train_lbfgs
from convexnn.problem import TrainingProblem


def _scalar_problem(seed, n=12, bias=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    y = np.maximum(X @ rng.standard_normal((2, 3)), 0) @ rng.standard_normal(3) + 0.1 * rng.standard_normal(n)
    return TrainingProblem.from_data(X, y[:, None], 0.1, bias=bias)


@pytest.mark.parametrize("seed,bias", [(0, False), (1, True), (2, False)])
def test_exact_optimum_between_sdp_bound_and_trained_networks(seed, bias):
    pytest.importorskip("cvxpy")
    from convexnn.sdp import solve_sdp

    prob = _scalar_problem(seed, bias=bias)
    pats = enumerate_patterns(prob.X)
    assert pats.exact
    ex = solve_crelu(prob.X, prob.Y, prob.reg, pats.masks, pats.gates, tol=1e-8, bias=bias)
    assert ex.status == "optimal"
    lo, up = ex.lower_bound, ex.value
    assert lo <= up and (up - lo) <= 1e-6 * up
    # every trained network (L-BFGS from many seeds and widths) is at least the global optimum
    for s in range(8):
        tr = train_lbfgs(prob, width=int(4 + 4 * s), restarts=1, seed=s, max_iter=2000)
        assert tr.value >= lo * (1 - 1e-9)
    # SDP-NN (Clarabel) is a relaxation: its certified bound is below the exact optimum
    sdp = solve_sdp(prob.X, prob.Y, prob.reg, bias=bias, solver="clarabel")
    assert sdp.lower_bound <= up * (1 + 1e-9)


def test_gated_network_reproduces_gated_predictions():
    rng = np.random.default_rng(3)
    X = np.hstack([rng.standard_normal((30, 3)), np.ones((30, 1))])
    Y = rng.standard_normal((30, 2))
    pats = sample_patterns(X, 25, seed=1)
    for mode in ("nuclear", "ova"):
        res = solve_gated(X, Y, 0.05, pats, mode=mode)
        P_gated = gated_predict(X, res.solution["W"], pats)
        for method in ("shift", "min-norm"):
            net, info = gated_to_network(X, res.solution["W"], pats, mode=mode, method=method, bias=True)
            P_net = net.predict(X[:, :-1])
            scale = np.abs(P_gated).max()
            np.testing.assert_allclose(P_net, P_gated, rtol=0, atol=1e-9 * scale)
            assert info["inflation"] >= 1 - 1e-12


def test_kim_pilanci_fixed_and_adaptive_width():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 5))
    Y = np.maximum(X @ rng.standard_normal((5, 4)), 0) @ rng.standard_normal((4, 1))
    prob = TrainingProblem(X, Y, 0.1)
    fixed = kim_pilanci(X, Y, 0.1, width=16, seed=0)
    assert fixed.info["m"] == 16 and fixed.info["n_patterns"] <= 8
    net = fixed.solution["network"]
    assert prob.objective(net.U, net.V) == pytest.approx(fixed.value, rel=1e-12)
    # the gated relaxation on the same patterns is never above its own decomposed network
    assert fixed.info["relaxed_value"] <= fixed.value * (1 + 1e-9)
    ada = kim_pilanci(X, Y, 0.1, seed=0, min_width=4, max_width=256, stable_tol=1e-3)
    ms = [h["m"] for h in ada.history]
    assert ms == [4 * 2 ** k for k in range(len(ms))]
    relaxed = [h["relaxed_value"] for h in ada.history]
    # nested gate sets: the relaxed optimum can only decrease as patterns are added (up to tolerance)
    assert all(b <= a * (1 + 1e-5) for a, b in zip(relaxed, relaxed[1:]))
    if ada.status == "optimal":
        assert abs(relaxed[-1] - relaxed[-2]) <= 1e-3 * relaxed[-1]


def test_kim_pilanci_time_limit():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((80, 4))
    Y = rng.standard_normal((80, 2))
    res = kim_pilanci(X, Y, 0.01, seed=0, min_width=8, max_width=4096, time_limit=1.0)
    assert res.status in ("time_limit", "optimal")
    assert res.time_s < 10


def test_kim_pilanci_does_not_start_a_width_that_cannot_end_in_time(monkeypatch):
    """The cone decomposition of each width has no time limit of its own, and its cost doubles with
    the width (Pima, 3 s limit: 6.1 s in all, 3.0 s of it for m = 128 begun with 0.14 s left). Here
    the decomposition of width m is made to take m/100 s: with a 1 s limit, m = 8, 16 and 32 end
    after about 0.56 s, and m = 64 (about 0.64 s more) is not started; before, it was, and the run
    ended after about 1.2 s."""
    import importlib
    import time

    kp_mod = importlib.import_module("convexnn.arrangements.kim_pilanci")
    real = kp_mod.gated_to_network

    def slow(X, W, patterns, **kwargs):
        time.sleep(0.02 * patterns.n_patterns)  # n_patterns ≤ m/2 distinct patterns (4, 8, 15, ...)
        return real(X, W, patterns, **kwargs)

    monkeypatch.setattr(kp_mod, "gated_to_network", slow)
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((80, 4)), rng.standard_normal((80, 2))
    res = kim_pilanci(X, Y, 0.01, seed=0, min_width=8, max_width=4096, stable_tol=1e-12, time_limit=1.0)
    ms = [h["m"] for h in res.history]
    assert res.status == "time_limit" and ms == [8, 16, 32]
    assert res.time_s < 1.0
    net = res.solution["network"]
    assert TrainingProblem(X, Y, 0.01).objective(net.U, net.V) == pytest.approx(res.value, rel=1e-12)


def test_kim_pilanci_rescaling_never_worse_than_decomposition_or_zero():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((50, 4))
    Y = np.maximum(X @ rng.standard_normal((4, 3)), 0) @ rng.standard_normal((3, 1))
    prob = TrainingProblem(X, Y, 5.0)  # large γ: the decomposition's norm inflation hurts most
    res = kim_pilanci(X, Y, 5.0, width=32, seed=0)
    row = res.history[-1]
    assert res.value <= row["decomposed_value"] * (1 + 1e-12)
    assert res.value <= prob.zero_value * (1 + 1e-12)
    # the closed-form scale is a minimiser: nearby scales are no better
    net = res.solution["network"]
    for f in (0.9, 1.1):
        r = np.sqrt(f)
        assert prob.objective(net.U * r, net.V * r) >= res.value * (1 - 1e-12)
