"""Gradient-training baselines: L-BFGS history, Adam, momentum SGD (numpy and torch), protocols.

Numbers are checked against independent computations: scipy's own L-BFGS-B iterates, central
finite differences, a hand-written momentum loop, ``torch.optim.SGD`` and PyTorch's
``ReduceLROnPlateau`` themselves, and published-grade SDP-NN lower bounds (Clarabel).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from convexnn.baselines.gradient import (
    PAPER_LEARNING_RATES,
    PAPER_MAX_EPOCHS,
    PAPER_WIDTHS,
    PlateauSchedule,
    batched_objective_and_gradient,
    paper_learning_rate,
    paper_max_epochs,
    torch_default_init,
    train_adam,
    train_gradient,
    train_lbfgs,
    train_sgd,
    train_sgd_widths,
)
from convexnn.datasets import load_dataset
from convexnn.errors import DataError, ParameterError
from convexnn.network import ReLUNetwork
from convexnn.problem import TrainingProblem

# SDP-NN optimal values (global lower bounds on p*(m) for every m), Clarabel, rounded to the digits shown
SDP_LOWER = {("spiral", 0.1): 16.2374, ("spiral", 0.01): 11.7677,
             ("random:0", 0.1): 8.10119, ("random:0", 0.01): 0.84818}

# lowest objectives we found with long gradient runs (Adam + L-BFGS, widths 300-1000, many seeds);
# the ratios to the SDP bounds (0.91, 0.82, 0.98, 0.78) are the approximation ratios of Table 2's kind
BEST_KNOWN_GRADIENT = {("spiral", 0.1): 16.5930, ("spiral", 0.01): 15.1573,
                       ("random:0", 0.1): 8.9050, ("random:0", 0.01): 1.0326}


def _problem(name="random:0", reg=0.1):
    ds = load_dataset(name)
    return TrainingProblem(ds.X, ds.Y, reg)


def _small(seed=0, n=12, d=3, c=2, reg=0.05):
    rng = np.random.default_rng(seed)
    return TrainingProblem(rng.standard_normal((n, d)), rng.standard_normal((n, c)), reg)


def _plain_objective(p, U, V):
    """NN-TRAIN written out independently of the library (SPEC §1)."""
    F = np.maximum(p.X @ U, 0) @ V.T
    return 0.5 * np.sum((F - p.Y) ** 2) + 0.5 * p.reg * (np.sum(U**2) + np.sum(V**2))


def _check_value(p, res):
    U, V = res.solution["U"], res.solution["V"]
    assert res.value == pytest.approx(_plain_objective(p, U, V), rel=1e-12)
    assert res.value == pytest.approx(ReLUNetwork(U, V).objective(p.X, p.Y, p.reg), rel=1e-12)
    assert res.lower_bound is None


# -- L-BFGS ---------------------------------------------------------------------------------------


def test_lbfgs_history_is_monotone_and_matches_scipy_iterates():
    p = _problem("random:0", 0.1)
    U0, V0 = torch_default_init(3, p.d, p.c, 20)
    res = train_lbfgs(p, width=20, restarts=2, init=(U0, V0), max_iter=150, seed=1)
    _check_value(p, res)
    assert {h["restart"] for h in res.history} == {0, 1, 2}
    for k in range(3):
        vals = np.array([h["value"] for h in res.history if h["restart"] == k])
        its = [h["iteration"] for h in res.history if h["restart"] == k]
        assert its == list(range(len(its))) and len(its) > 10
        # non-increasing along accepted L-BFGS iterates (line search with sufficient decrease)
        assert np.all(np.diff(vals) <= 1e-12 * np.abs(vals[:-1]))
    # independent replay of restart 0 with scipy: the recorded values are the objective at its iterates
    d, c, m = p.d, p.c, 20
    xs = []

    def fun(th):
        val, gU, gV = p.objective_and_gradient(th[: d * m].reshape(d, m), th[d * m:].reshape(c, m))
        return val, np.concatenate([gU.ravel(), gV.ravel()])

    with threadpool_limits(limits=1, user_api="blas"):  # same summation order as the library's run
        minimize(fun, np.concatenate([U0.ravel(), V0.ravel()]), jac=True, method="L-BFGS-B",
                 callback=lambda xk: xs.append(xk.copy()),
                 options={"maxiter": 150, "maxcor": 30, "gtol": 1e-10, "ftol": 1e-15})
    ref = [_plain_objective(p, U0, V0)] + [_plain_objective(p, x[: d * m].reshape(d, m), x[d * m:].reshape(c, m))
                                           for x in xs]
    ours = [h["value"] for h in res.history if h["restart"] == 0]
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
    assert res.value <= min(h["value"] for h in res.history) * (1 + 1e-12)
    assert res.status == "max_iter" and res.iterations == sum(len(h) - 1 for h in [
        [x for x in res.history if x["restart"] == k] for k in range(3)])


def test_lbfgs_keeps_pipeline_signature():
    p = _small()
    res = train_lbfgs(p, width=5, restarts=1, init=None, max_iter=50, time_limit=None,
                      seed=np.random.default_rng(0), callback=lambda rec: None)
    _check_value(p, res)
    assert res.method == "lbfgs" and res.info["width"] == 5


# -- gradients and update rules -------------------------------------------------------------------


def test_batched_gradient_matches_finite_differences_and_problem():
    p = _small(1)
    rng = np.random.default_rng(5)
    U = rng.standard_normal((3, p.d, 4))
    V = rng.standard_normal((3, p.c, 4))
    vals, gU, gV = batched_objective_and_gradient(p.X, p.Y, p.reg, U, V)
    for s in range(3):
        val, rU, rV = p.objective_and_gradient(U[s], V[s])
        assert vals[s] == pytest.approx(_plain_objective(p, U[s], V[s]), rel=1e-13)
        np.testing.assert_allclose(gU[s], rU, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gV[s], rV, rtol=1e-12, atol=1e-12)
    # central differences on seed 0 (a generic point: no pre-activation sits at a kink)
    h = 1e-6
    for A, G in ((U, gU), (V, gV)):
        for idx in np.ndindex(A.shape[1:]):
            Ap, Am = A.copy(), A.copy()
            Ap[(0,) + idx] += h
            Am[(0,) + idx] -= h
            (Up, Vp), (Um, Vm) = ((Ap, V), (Am, V)) if A is U else ((U, Ap), (U, Am))
            fd = (_plain_objective(p, Up[0], Vp[0]) - _plain_objective(p, Um[0], Vm[0])) / (2 * h)
            assert fd == pytest.approx(G[(0,) + idx], rel=1e-6, abs=1e-6)


def test_numpy_sgd_follows_the_momentum_rule():
    p = _problem("spiral", 0.1)
    lr, mu, epochs = 1e-2, 0.95, 7
    res = train_sgd(p, width=8, lr=lr, momentum=mu, max_epochs=epochs, seeds=(7,), log_every=1)
    U, V = torch_default_init(7, p.d, p.c, 8)
    bU, bV = np.zeros_like(U), np.zeros_like(V)
    values = []
    for _ in range(epochs):
        val, gU, gV = p.objective_and_gradient(U, V)
        values.append(val)
        bU, bV = mu * bU + gU, mu * bV + gV
        U, V = U - lr * bU, V - lr * bV
    values.append(p.objective(U, V))
    np.testing.assert_allclose([h["value"] for h in res.history], values, rtol=1e-12)
    np.testing.assert_allclose(res.solution["U_last"], U, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.solution["V_last"], V, rtol=1e-12, atol=1e-14)
    assert res.iterations == epochs and res.status == "max_iter"
    assert res.value == pytest.approx(min(values), rel=1e-12)
    _check_value(p, res)


def test_torch_default_init_distribution():
    U, V = torch_default_init(0, 4, 3, 50)
    assert U.shape == (4, 50) and V.shape == (3, 50)
    assert np.abs(U).max() <= 1 / np.sqrt(4) and np.abs(V).max() <= 1 / np.sqrt(50)
    np.testing.assert_array_equal(U, torch_default_init(0, 4, 3, 50)[0])


def test_plateau_schedule_matches_torch():
    torch = pytest.importorskip("torch")
    vals = [10, 9, 9, 9, 9, 9, 8.9999, 9, 9, 9, 9, 9, 9, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4]
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.1)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=3, threshold=1e-4, eps=1e-12)
    ours = PlateauSchedule([0.1, 0.1], factor=0.5, patience=3, threshold=1e-4)
    for v in vals:
        ref.step(v)
        ours.step([v, v])
        assert ours.lr[0] == pytest.approx(opt.param_groups[0]["lr"], rel=1e-15)
        assert ours.lr[1] == ours.lr[0]
    assert ours.reductions[0] >= 3


def test_numpy_and_torch_sgd_trajectories_agree():
    torch = pytest.importorskip("torch")
    from convexnn.baselines.torch_sgd import train_sgd_torch

    p = _problem("spiral", 0.01)
    kw = dict(width=30, lr=1e-2, max_epochs=12, seeds=(0, 1, 2), log_every=1, plateau_patience=2,
              plateau_every=1)
    a = train_sgd(p, **kw)
    b = train_sgd_torch(p, device="cpu", dtype="float64", **kw)
    assert b.info["backend"] == "torch" and len(a.history) == len(b.history) == 3 * 13
    for ha, hb in zip(a.history, b.history):
        assert (ha["seed"], ha["iteration"]) == (hb["seed"], hb["iteration"])
        assert hb["value"] == pytest.approx(ha["value"], rel=1e-10)
        assert hb["lr"] == pytest.approx(ha["lr"], rel=1e-12)
    np.testing.assert_allclose(b.solution["U_last"], a.solution["U_last"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.solution["V_last"], a.solution["V_last"], rtol=1e-10, atol=1e-12)
    assert b.value == pytest.approx(a.value, rel=1e-10) and b.info["best_seed"] == a.info["best_seed"]
    _check_value(p, b)

    # and both follow torch.optim.SGD itself (PyTorch's momentum convention)
    U0, V0 = torch_default_init(1, p.d, p.c, 30)
    U = torch.nn.Parameter(torch.tensor(U0))
    V = torch.nn.Parameter(torch.tensor(V0))
    X, Y = torch.tensor(p.X), torch.tensor(p.Y)
    opt = torch.optim.SGD([U, V], lr=1e-2, momentum=0.95)
    one = train_sgd(p, width=30, lr=1e-2, max_epochs=12, seeds=(1,), plateau_patience=100)
    for _ in range(12):
        opt.zero_grad()
        loss = 0.5 * ((torch.relu(X @ U) @ V.T - Y) ** 2).sum() + 0.5 * p.reg * ((U**2).sum() + (V**2).sum())
        loss.backward()
        opt.step()
    np.testing.assert_allclose(one.solution["U_last"], U.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(one.solution["V_last"], V.detach().numpy(), rtol=1e-10, atol=1e-12)

    # the protocol entry point routes to the torch back-end and gives the same answer
    kw = dict(dataset="spiral", widths=(4, 9), max_epochs=40, seeds=2)
    rn = train_gradient(p, "paper", **kw)
    rt = train_gradient(p, "paper", backend="torch", device="cpu", **kw)
    assert rt.method == "sgd-torch" and rn.method == "sgd"
    assert rt.value == pytest.approx(rn.value, rel=1e-10) and rt.info["width"] == rn.info["width"]


def test_torch_float32_reports_float64_objective():
    pytest.importorskip("torch")
    from convexnn.baselines.torch_sgd import train_sgd_torch

    p = _problem("random:0", 0.1)
    r = train_sgd_torch(p, width=10, lr=1e-5, max_epochs=30, n_seeds=2, dtype="float32")
    _check_value(p, r)
    with pytest.raises(ParameterError):
        train_sgd_torch(p, width=10, lr=1e-5, max_epochs=3, dtype="float16")


# -- Adam ----------------------------------------------------------------------------------------


def test_adam_decreases_and_stops_on_stagnation():
    p = _problem("spiral", 0.1)
    res = train_adam(p, width=40, lr=1e-2, max_epochs=4000, patience=100, tol_stagnation=1e-5, seed=2)
    _check_value(p, res)
    assert res.status == "optimal" and res.iterations < 4000
    assert res.value < 0.6 * p.zero_value
    best = [h["best_value"] for h in res.history]
    assert np.all(np.diff(best) <= 0)
    assert res.value <= best[-1] * (1 + 1e-12)  # best iterate, balanced (never a larger decay)
    capped = train_adam(p, width=40, lr=1e-2, max_epochs=50, patience=100, seed=2)
    assert capped.status == "max_iter" and capped.iterations == 50


def test_adam_update_matches_torch_adam():
    torch = pytest.importorskip("torch")
    p = _problem("spiral", 0.01)
    U0, V0 = torch_default_init(4, p.d, p.c, 12)
    ours = train_adam(p, init=(U0, V0), lr=3e-2, max_epochs=15, patience=100)
    U = torch.nn.Parameter(torch.tensor(U0))
    V = torch.nn.Parameter(torch.tensor(V0))
    X, Y = torch.tensor(p.X), torch.tensor(p.Y)
    opt = torch.optim.Adam([U, V], lr=3e-2, betas=(0.9, 0.999), eps=1e-8)
    for _ in range(15):
        opt.zero_grad()
        loss = 0.5 * ((torch.relu(X @ U) @ V.T - Y) ** 2).sum() + 0.5 * p.reg * ((U**2).sum() + (V**2).sum())
        loss.backward()
        opt.step()
    np.testing.assert_allclose(ours.solution["U_last"], U.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.solution["V_last"], V.detach().numpy(), rtol=1e-9, atol=1e-12)


# -- protocols -----------------------------------------------------------------------------------


def test_paper_learning_rates_and_errors():
    assert PAPER_WIDTHS == (5, 10, 100, 200, 300)
    assert paper_learning_rate("random:37") == 1e-5 == PAPER_LEARNING_RATES["random"]
    assert paper_learning_rate("Spiral") == 1e-2
    assert paper_learning_rate("pima") == 1e-8 and paper_learning_rate("bank_notes") == 1e-6
    # epoch caps: the reference's 8 000 on Spiral, our documented cap of 20 000 elsewhere
    assert paper_max_epochs("spiral") == 8000 and paper_max_epochs("random:3") == PAPER_MAX_EPOCHS == 20000
    assert paper_max_epochs("mnist-pca") == 20000
    p = _small()
    with pytest.raises(ParameterError, match="lr"):
        train_gradient(p, "paper")
    with pytest.raises(ParameterError, match="lr"):
        train_gradient(p, "paper", dataset="mnist-pca")
    with pytest.raises(ParameterError, match="protocol"):
        train_gradient(p, "fancy", dataset="spiral")
    with pytest.raises(ParameterError, match="backend"):
        train_gradient(p, "paper", dataset="spiral", backend="jax")
    with pytest.raises(ParameterError):
        train_gradient(p, "paper", dataset="spiral", width=5, widths=(5, 10))
    with pytest.raises(ParameterError):
        train_sgd(p, width=5, lr=-1.0)
    with pytest.raises(ParameterError):
        train_sgd(p, width=5, lr=1e-3, momentum=1.0)
    with pytest.raises(DataError):
        train_sgd(p, lr=1e-3, init=(np.zeros((p.d + 1, 4)), np.zeros((p.c, 4))))
    # an explicit lr makes any data set usable
    r = train_gradient(p, "paper", dataset="mnist-pca", lr=1e-3, width=6, max_epochs=20, seeds=2)
    assert r.info["protocol"] == "paper" and r.info["n_seeds"] == 2 and r.info["lr"] == 1e-3
    _check_value(p, r)


def test_paper_protocol_sweeps_widths_and_picks_the_best():
    p = _problem("spiral", 0.1)
    res = train_gradient(p, "paper", dataset="spiral", widths=(5, 20), max_epochs=300, seeds=2)
    _check_value(p, res)
    per = res.info["width_values"]
    assert set(per) == {5, 20} and res.value == min(per.values())
    assert res.info["width"] == min(per, key=per.get) == res.solution["U"].shape[1]
    # each width's value is exactly what a separate run at that width gives
    for w in (5, 20):
        assert per[w] == train_sgd(p, width=w, lr=1e-2, max_epochs=300, seeds=(0, 1)).value
    assert res.info["lr"] == 1e-2 and res.info["momentum"] == 0.95
    assert {h["width"] for h in res.history} == {5, 20}


def test_diverging_sgd_reports_failure_but_a_valid_network():
    p = _problem("random:0", 0.1)
    res = train_sgd(p, width=10, lr=1.0, max_epochs=200, n_seeds=2)
    assert res.status == "failed" and res.info["diverged_seeds"] == 2  # the last iterates blew up
    starts = [p.objective(*torch_default_init(s, p.d, p.c, 10)) for s in (0, 1)]
    assert res.value <= min(starts)
    _check_value(p, res)


@pytest.mark.parametrize("protocol", ["paper", "tuned"])
def test_warm_start_never_worse(protocol):
    p = _problem("spiral", 0.1)
    good = train_lbfgs(p, width=15, restarts=1, max_iter=200, seed=4)
    net = ReLUNetwork(good.solution["U"], good.solution["V"])
    init_value = p.objective(net.U, net.V)
    # a learning rate that makes SGD blow up: the warm start itself must come back
    res = train_gradient(p, protocol, dataset="spiral", lr=10.0 if protocol == "paper" else 1e-2, init=net,
                         max_epochs=100)
    assert res.value <= init_value
    assert res.info["width"] == 15 and res.info["best_seed"] == "init"
    _check_value(p, res)
    for r in (train_sgd(p, lr=1e-3, init=net, max_epochs=50),
              train_adam(p, lr=0.5, init=(net.U, net.V), max_epochs=50),
              train_lbfgs(p, restarts=0, init=net, max_iter=20)):
        assert r.value <= init_value
        _check_value(p, r)


def test_time_limits_are_honoured():
    p = _problem("spiral", 0.01)
    for run in (lambda: train_sgd(p, width=50, lr=1e-2, max_epochs=10**8, time_limit=0.3),
                lambda: train_adam(p, width=50, max_epochs=10**8, patience=10**9, time_limit=0.3),
                lambda: train_lbfgs(p, width=300, restarts=50, max_iter=10**6, time_limit=0.3),
                lambda: train_gradient(p, "tuned", seeds=50, time_limit=0.3),
                lambda: train_sgd_widths(p, widths=(5, 10, 50), lr=1e-2, max_epochs=10**8, time_limit=0.3)):
        t = time.perf_counter()
        res = run()
        assert time.perf_counter() - t < 0.3 + 0.5
        assert res.status == "time_limit", res.method
        _check_value(p, res)


def test_ctrl_c_returns_best_so_far():
    p = _problem("random:0", 0.01)

    def interrupt_after(k):
        calls = {"n": 0}

        def cb(rec):
            calls["n"] += 1
            if calls["n"] > k:
                raise KeyboardInterrupt
        return cb

    for run in (lambda cb: train_sgd(p, width=20, lr=1e-5, max_epochs=10**6, log_every=10, callback=cb),
                lambda cb: train_adam(p, width=20, max_epochs=10**6, log_every=10, callback=cb),
                lambda cb: train_lbfgs(p, width=20, restarts=3, max_iter=10**4, callback=cb),
                lambda cb: train_gradient(p, "tuned", width=20, callback=cb)):
        res = run(interrupt_after(5))
        assert res.status == "interrupted"
        _check_value(p, res)
        assert res.value < p.zero_value * 10


@pytest.mark.parametrize("name,reg", sorted(SDP_LOWER))
def test_every_upper_bound_is_above_the_sdp_lower_bound(name, reg):
    p = _problem(name, reg)
    lower = SDP_LOWER[(name, reg)] * (1 - 1e-5)  # the reference values are rounded to 6 digits
    runs = [train_lbfgs(p, width=40, restarts=1, max_iter=400),
            train_adam(p, width=40, max_epochs=1500),
            train_gradient(p, "paper", dataset=name, width=40, max_epochs=800, seeds=2),
            train_gradient(p, "tuned", width=40, max_epochs=500, seeds=1)]
    for r in runs:
        _check_value(p, r)
        assert lower <= r.value <= p.zero_value
    # even this short tuned run lands within 2% of the best gradient value we know for the case
    assert runs[-1].value <= BEST_KNOWN_GRADIENT[(name, reg)] * 1.02


def test_tuned_protocol_reports_stages():
    p = _problem("random:0", 0.1)
    res = train_gradient(p, "tuned", width=30, max_epochs=300, seeds=2)
    assert res.info["protocol"] == "tuned" and res.info["best_seed"] in (0, 1)
    assert res.info["best_stage"] in ("adam", "adam+lbfgs")
    stages = res.info["stage_values"]
    assert len(stages) == 4 and res.value <= min(s["value"] for s in stages) * (1 + 1e-12)
    assert {h["stage"] for h in res.history} == {"adam", "lbfgs"}
    assert res.status in ("optimal", "max_iter")
    summary = res.summary()
    assert summary["value"] == res.value and summary["protocol"] == "tuned"
