"""Every training method behind one interface: pipeline.fit, the estimators and their certificates."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from convexnn.datasets import load_dataset
from convexnn.errors import DataError, ParameterError
from convexnn.estimators import ConvexReLUClassifier, ConvexReLURegressor
from convexnn.pipeline import KERNEL_METHODS, METHODS, fit
from convexnn.problem import TrainingProblem


def _toy(n=24, d=2, c=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    Y = np.maximum(X @ rng.standard_normal((d, 3)), 0) @ rng.standard_normal((3, c))
    return X, Y


QUICK = dict(time_limit=20, max_iter=300, certify=False)


@pytest.mark.parametrize("method", [m for m in METHODS if m not in KERNEL_METHODS + ("sdp", "sahiner-cop")])
def test_network_methods_report_their_own_objective(method):
    X, Y = _toy(n=12 if method == "exact" else 24, c=2)  # all patterns: keep n small
    res = fit(X, Y, 0.1, bias=True, method=method, width=10, restarts=1, train_iter=200, n_gates=20,
              **QUICK)
    prob = TrainingProblem.from_data(X, Y, 0.1, bias=True)
    net = res.network
    assert net.bias
    # the certificate's upper bound is the returned network's NN-TRAIN objective, recomputed
    assert prob.objective(net.U, net.V) == pytest.approx(res.certificate.upper, rel=1e-12)
    assert res.certificate.upper <= prob.zero_value * (1 + 1e-12)
    assert res.chosen in (method, method + "+lbfgs")
    assert res.candidates[res.chosen] == min(res.candidates.values())


def test_exact_scalar_output_certifies_the_global_optimum():
    X, Y = _toy(n=14, c=1, seed=3)
    res = fit(X, Y, 0.05, method="exact", time_limit=60, tol=1e-8, certify="auto")
    cert = res.certificate
    assert "C-ReLU over all activation patterns" in cert.lower_source
    assert cert.lower <= cert.upper
    assert cert.gap < 1e-4
    # no gradient-trained network beats the certified optimum
    g = fit(X, Y, 0.05, method="lbfgs", width=20, restarts=10, certify=False)
    assert g.certificate.upper >= cert.lower * (1 - 1e-9)


def test_certify_adds_sdp_bound_and_combines():
    X, Y = _toy(n=16, c=2, seed=4)
    res = fit(X, Y, 0.1, method="gated", n_gates=20, certify=True, time_limit=20, solver="clarabel")
    assert "sdp" in res.stages and "dual" in res.stages
    assert res.certificate.lower == max(res.stages["sdp"].lower_bound, res.stages["dual"].lower_bound)
    assert res.certificate.lower <= res.certificate.upper


def test_sahiner_fw_bound_is_certified_on_d2():
    X, Y = _toy(n=12, c=2, seed=5)
    res = fit(X, Y, 0.1, method="sahiner-fw", time_limit=30, certify=False)
    assert "Frank-Wolfe" in res.certificate.lower_source
    g = fit(X, Y, 0.1, method="lbfgs", width=20, restarts=5, certify=False)
    assert res.certificate.lower <= g.certificate.upper * (1 + 1e-9)
    assert res.certificate.lower <= res.certificate.upper


@pytest.mark.parametrize("kind", KERNEL_METHODS)
def test_kernel_methods_have_no_network_but_predict(kind):
    X, y = load_dataset("iris").X, load_dataset("iris").Y.argmax(1)
    clf = ConvexReLUClassifier(method=kind, reg=0.01).fit(X, y)
    assert clf.network_ is None and clf.objective_ is None and clf.lower_bound_ is None
    assert clf.score(X, y) > 0.9


def test_unknown_method_and_certify_values():
    X, Y = _toy()
    with pytest.raises(ParameterError, match="unknown method"):
        fit(X, Y, 0.1, method="magic")
    with pytest.raises(ParameterError, match="certify"):
        fit(X, Y, 0.1, method="gated", certify="yes")


def test_the_sdp_solver_is_checked_before_the_stages_that_run_first(monkeypatch):
    """fit(method='gated', solver='clarabel') without cvxpy trained the gated network and then
    failed in the certifying SDP stage (an unknown solver name likewise); both now fail first."""
    import sys

    import convexnn.pipeline as pipeline
    from convexnn.errors import SolverUnavailableError

    def boom(*args, **kwargs):
        raise AssertionError("a stage ran before the solver was checked")

    monkeypatch.setattr(pipeline.TrainingProblem, "from_data", boom)
    X, Y = _toy()
    with pytest.raises(ParameterError, match="unknown SDP solver 'mosek'"):
        fit(X, Y, 0.1, method="gated", solver="mosek")
    monkeypatch.setitem(sys.modules, "cvxpy", None)  # import cvxpy raises ImportError
    for method in ("sdp", "gated", "lbfgs"):
        with pytest.raises(SolverUnavailableError, match=r'pip install "convexnn\[cvxpy\]"'):
            fit(X, Y, 0.1, method=method, solver="clarabel")
    with pytest.raises(AssertionError, match="a stage ran"):  # no SDP stage: nothing to check
        fit(X, Y, 0.1, method="gated", solver="clarabel", certify=False)


def test_an_interrupted_stage_is_named_in_the_notes(monkeypatch):
    """Ctrl-C in the SDP stage: fit goes on with rounding and training from its last iterate, and
    the result now says that the bound came from an interrupted solve (it said nothing)."""
    import convexnn.sdp.ipm as ipm
    from test_sdp_ipm import ctrl_c_at_factorisation

    real = ctrl_c_at_factorisation(monkeypatch, 4)
    X, Y = _toy(n=20)
    res = fit(X, Y, 0.1)
    assert res.stages["sdp"].status == "interrupted" and res.stages["sdp"].iterations == 3
    assert res.notes == ["the sdp stage was interrupted (Ctrl-C or a callback) and returned its best "
                         "result so far; its bound is certified"]
    assert res.certificate.lower <= res.certificate.upper
    monkeypatch.setattr(ipm, "_factor_in_place", real)
    assert fit(X, Y, 0.1).notes == []


@pytest.mark.parametrize("method", ["crelu", "exact"])
def test_a_method_solve_cut_by_its_time_limit_is_named_in_the_notes(method, monkeypatch):
    """`fit --method exact` on Iris returned the zero network after its 60 s (12 iterations over
    134,784 patterns) with no word about it. A solve cut by its time limit is now named, with its
    iterations and whether its network beats the zero network. Deterministic: a real solve of 3
    iterations (its network kept, or zeroed as on Iris) stands in for one cut by the clock."""
    import dataclasses

    import convexnn.arrangements.crelu as crelu_mod

    from convexnn.network import ReLUNetwork

    real = crelu_mod.solve_crelu

    def cut(*args, max_iter=3, zero=False, **kwargs):
        res = real(*args, max_iter=max_iter, **kwargs)
        net = res.solution["network"]
        if zero:  # what Iris's cut solve returned
            net = ReLUNetwork(np.zeros_like(net.U), np.zeros_like(net.V), bias=net.bias)
        return dataclasses.replace(res, status="time_limit", solution={**res.solution, "network": net})

    X, Y = _toy(n=10, c=1)
    problem = TrainingProblem(X, Y, 0.1)
    for zero in (False, True):
        monkeypatch.setattr(crelu_mod, "solve_crelu", lambda *a, zero=zero, **k: cut(*a, zero=zero, **k))
        res = fit(X, Y, 0.1, method=method, certify=False, n_gates=20, polish=False)
        [note] = [n for n in res.notes if "time limit" in n]
        assert note.startswith(f"the {method} solve stopped at its time limit after 3 iterations")
        assert (res.candidates[method] >= problem.zero_value) == zero  # independent of the note
        assert ("no better than the zero network (objective "
                f"{problem.zero_value:.6g})" in note) == zero
        assert ("method 'crelu' with n_gates" in note) == (method == "exact")
    monkeypatch.setattr(crelu_mod, "solve_crelu", real)
    assert not any("time limit" in n for n in fit(X, Y, 0.1, method=method, certify=False,
                                                   n_gates=20, polish=False).notes)


def test_ctrl_c_in_the_rounding_ends_that_stage_and_fit_goes_on(monkeypatch):
    """The rounding had no Ctrl-C handling: a KeyboardInterrupt there ended the whole fit and lost
    the SDP bound already certified. Now it ends the rounding stage only, as in the others."""
    import convexnn.rounding as rounding

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    real = rounding.tos_round
    monkeypatch.setattr(rounding, "tos_round", ctrl_c)
    X, Y = _toy(n=20)
    try:
        res = fit(X, Y, 0.1, dual_bound=False)
    except KeyboardInterrupt:  # (not left to propagate: it would stop the whole test run)
        pytest.fail("Ctrl-C in the rounding ended the whole fit")
    assert res.notes == ["the rounding stage was interrupted (Ctrl-C); its candidates were skipped"]
    assert set(res.candidates) == {"lbfgs"} and res.stages["sdp"].status == "optimal"
    assert res.certificate.lower == res.stages["sdp"].lower_bound <= res.certificate.upper
    monkeypatch.setattr(rounding, "tos_round", real)
    assert set(fit(X, Y, 0.1, dual_bound=False).candidates) == {"lbfgs", *rounding.CANDIDATES}


@pytest.mark.parametrize("method", ["crelu", "gated", "exact", "kim-pilanci", "sahiner-cop"])
def test_all_zero_inputs_are_refused_by_the_pattern_methods_with_the_known_optimum(method):
    """With X = 0 every sampled pattern is empty; the methods failed with 'gates has 0 columns' or
    'masks has no columns'. The message now names the cause and the optimum, which 'sdp' certifies."""
    X, Y = np.zeros((10, 2)), np.ones((10, 1))
    with pytest.raises(DataError, match=r"every training input is the zero vector.*objective ½‖Y‖² = 5\b"):
        fit(X, Y, 0.1, method=method, n_gates=8)
    cert = fit(X, Y, 0.1, method="sdp").certificate
    assert cert.lower == pytest.approx(5.0, rel=1e-9) and cert.upper == pytest.approx(5.0, rel=1e-9)


@pytest.mark.parametrize("name, bad, msg", [
    ("max_iter", 0, "max_iter must be >= 1; got 0"),  # used to run with it
    ("max_iter", 2.5, "max_iter must be an integer >= 1; got 2.5"),  # a TypeError from the solver
    ("train_iter", 2.5, "train_iter must be an integer"),  # was reported as lbfgs_iter
    ("rounding_iterations", -1, "rounding_iterations must be >= 0"),  # was 'iterations'
    ("rounding_width", 0, "rounding_width must be >= 1"),  # was 'width'
    ("width", 0, "width must be >= 1"),
    ("restarts", -1, "restarts must be >= 0"),
    ("n_gates", 2.5, "n_gates must be an integer"),
    ("max_epochs", -1, "max_epochs must be >= 0"),
    ("tol", 0, r"tol must be in \(0, 1\)"),
    ("time_limit", -1, "time_limit must be a positive number"),
    ("seed", "a", "seed must be a non-negative integer"),  # a TypeError from numpy
    ("seed", 1.5, "seed must be a non-negative integer"),
    ("bias", "no", "bias must be True or False"),  # 'no' is truthy: it used to add a bias
    ("rounding", "yes", "rounding must be True or False"),
    ("polish", "no", "polish must be True or False"),
    ("train_callback", "x", "train_callback must be callable or None"),  # a TypeError after the SDP
    ("sdp_callback", 3, "sdp_callback must be callable or None"),
    ("rounding_callback", "x", "rounding_callback must be callable or None"),
    ("mode", "x", "mode must be 'nuclear' or 'ova'"),  # crelu ignored it
    ("decomposition", 3, "decomposition must be 'min-norm' or 'shift'"),  # was called 'method'
    ("solver", "x", "unknown SDP solver 'x'"),  # the kernel methods ignored it
])
@pytest.mark.parametrize("method", ["sdp", "kim-pilanci", "nngp"])
def test_fit_checks_every_argument_under_its_own_name_before_running(method, name, bad, msg, monkeypatch):
    import convexnn.pipeline as pipeline

    def boom(*args, **kwargs):
        raise AssertionError("the problem was set up before the arguments were checked")

    monkeypatch.setattr(pipeline.TrainingProblem, "from_data", boom)
    X, Y = _toy()
    with pytest.raises(ParameterError, match=msg):
        fit(X, Y, 0.1, method=method, **{name: bad})


@pytest.mark.parametrize("method", ["gated", "nngp"])
def test_check_estimator_other_methods(method):
    est = ConvexReLURegressor(method=method, certify=False, n_gates=10, time_limit=None, max_iter=200)
    check_estimator(est)
    assert clone(est).get_params()["method"] == method


def test_regressor_crelu_matches_problem_objective():
    X, Y = _toy(n=20, d=3, c=1, seed=7)
    reg = ConvexReLURegressor(method="crelu", reg=0.1, standardize=False, bias=False, certify=False,
                              n_gates=30).fit(X, Y[:, 0])
    net = reg.network_
    assert TrainingProblem(X, Y, 0.1).objective(net.U, net.V) == pytest.approx(reg.objective_, rel=1e-12)
    assert reg.predict(X).shape == (20,)


def test_exact_and_fw_refuse_large_problems_with_advice():
    rng = np.random.default_rng(8)
    X, Y = rng.standard_normal((60, 12)), rng.standard_normal((60, 1))
    with pytest.raises(ParameterError, match="method 'crelu'"):
        fit(X, Y, 0.1, method="exact", certify=False)
    with pytest.raises(ParameterError, match="oracle sampled"):
        fit(X, Y, 0.1, method="sahiner-fw", certify=False)


def test_fit_gives_its_rounding_and_training_stages_a_share_of_the_time_limit(monkeypatch):
    """Under a time limit T the rounding gets T/4 and the L-BFGS training T/2 (at least 1 s each),
    so a fit ends after about 2.25 T; until 2026-12-07 neither stage had a limit (1,500 rows with
    T = 30 s took 253 s, most of it L-BFGS on a 1,289-neuron start from an unconverged SDP factor)."""
    import time

    import convexnn.pipeline as pl
    import convexnn.rounding as rounding

    seen = {}
    real_round, real_train = rounding.round_sdp, pl.train_lbfgs

    def spy_round(*a, **kw):
        seen["rounding"] = kw["time_limit"]
        return real_round(*a, **kw)

    def spy_train(*a, **kw):
        seen.setdefault("train", []).append(kw.get("time_limit"))
        return real_train(*a, **kw)

    monkeypatch.setattr(rounding, "round_sdp", spy_round)
    monkeypatch.setattr(pl, "train_lbfgs", spy_train)
    X, Y = _toy(n=30, d=3, c=2, seed=4)
    fit(X, Y, 0.1, time_limit=12.0, dual_bound=False, width=5, restarts=1, rounding_iterations=20)
    assert seen == {"rounding": 3.0, "train": [6.0]}
    seen.clear()
    fit(X, Y, 0.1, time_limit=2.0, dual_bound=False, width=5, restarts=1, rounding_iterations=20)
    assert seen == {"rounding": 1.0, "train": [1.0]}  # at least 1 s each
    seen.clear()
    fit(X, Y, 0.1, dual_bound=False, width=5, restarts=1, rounding_iterations=20)
    assert seen == {"rounding": None, "train": [None]}  # no limit, none for the stages either
    seen.clear()
    fit(X, Y, 0.1, method="lbfgs", certify=False, time_limit=2.0, width=5, restarts=1)
    assert seen == {"train": [2.0]}  # L-BFGS is the method itself there: the whole limit
    # and the shares hold: 200 restarts of 20,000 iterations would take minutes
    rng = np.random.default_rng(5)
    Xb, Yb = rng.standard_normal((150, 6)), rng.standard_normal((150, 3))
    t = time.perf_counter()
    res = fit(Xb, Yb, 0.01, time_limit=2.0, dual_bound=False, solver="admm", width=40, restarts=200,
              train_iter=20_000, rounding_iterations=10**6, rounding_width=60)
    assert res.times["rounding"] < 1.0 + 1.5 and res.times["train"] < 1.0 + 1.5
    assert res.stages["train"].status == "time_limit"
    assert time.perf_counter() - t < 2.0 + 1.0 + 1.0 + 4.0
    assert res.certificate.lower <= res.certificate.upper


def test_fit_says_when_the_bound_comes_from_an_sdp_solve_cut_by_its_time_limit(monkeypatch):
    """The note is decided from the SDP stage's result alone, so real solves are stood in for
    solves cut by a time limit (status replaced): no dependence on how far a solver gets in time."""
    import dataclasses

    import convexnn.pipeline as pl
    from convexnn.pipeline import _sdp_time_limit_note
    from convexnn.result import SolveResult
    from convexnn.sdp import solve_sdp

    X, Y = _toy(n=40, d=3, c=2, seed=6)
    kw = dict(dual_bound=False, width=5, restarts=0, rounding=False)
    far = solve_sdp(X, Y, 0.01, solver="admm", max_iter=3)  # a poor bound: the gap stays large
    tight = solve_sdp(X, Y, 0.01)  # solved to 1e-4
    assert tight.status == "optimal"
    for stage, noted in ((far, True), (tight, False)):
        cut = dataclasses.replace(stage, status="time_limit")
        monkeypatch.setattr(pl, "_solve_sdp_stage", lambda *a, cut=cut, **k: cut)
        res = fit(X, Y, 0.01, **kw)
        assert (res.certificate.gap > 0.1) == noted and res.certificate.lower == stage.lower_bound
        notes = [n for n in res.notes if "stopped at its time limit" in n]
        assert notes == ([_sdp_time_limit_note(cut)] if noted else [])
        monkeypatch.setattr(pl, "_solve_sdp_stage", lambda *a, stage=stage, **k: stage)
        assert not any("stopped at its time limit" in n for n in fit(X, Y, 0.01, **kw).notes)  # not cut
    # both readings: how far more time can take the bound (up to the solver's primal estimate), or
    # that the iterate is still infeasible; tiny gaps are not printed as 0.0%
    ahead = _sdp_time_limit_note(SolveResult("sdp-admm", 1.4, 1.3, "time_limit", 10, 60.0))
    assert ahead.startswith("SDP-NN's solver stopped at its time limit after 60 s with its certified bound "
                            "7.1% below its primal estimate 1.4: ") and "not further" in ahead
    close = _sdp_time_limit_note(SolveResult("sdp-admm", 1.0, 1.0 - 3e-5, "time_limit", 10, 60.0))
    assert "bound 3.0e-05 (relative) below its primal estimate 1:" in close
    behind = _sdp_time_limit_note(SolveResult("sdp-admm", 1.2, 1.3, "time_limit", 10, 60.0))
    assert "still infeasible (primal estimate 1.2 below the bound)" in behind
