"""scikit-learn conventions: check_estimator, clone, Pipeline and GridSearchCV."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from convexnn.errors import ParameterError
from convexnn.estimators import ConvexReLUClassifier, ConvexReLURegressor
from convexnn.problem import TrainingProblem

# an iteration cap (not a time limit) keeps fits deterministic, as check_estimator requires; the
# ADMM keeps these convention checks fast (50 interior-point iterations at q ≈ 84, one of
# check_estimator's data sets, take about 18 s); the default 'auto' is fitted in the tests below
FAST = dict(solver="native", time_limit=None, max_iter=50, width=5, restarts=1, train_iter=100, tol=1e-3)


@pytest.mark.parametrize("est", [ConvexReLUClassifier(**FAST), ConvexReLURegressor(**FAST)],
                         ids=["classifier", "regressor"])
def test_check_estimator(est):
    check_estimator(est)


def test_classifier_certificate_and_predictions():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    y = np.where(X[:, 0] * X[:, 1] > 0, "a", "b")
    # a generous limit: under a shorter one, 'auto' projects the interior point's run from its
    # second iteration and, on a loaded machine, may hand the solve to the ADMM instead
    clf = ConvexReLUClassifier(reg=0.05, time_limit=60, width=20).fit(X, y)
    cert = clf.certificate_
    assert cert.lower <= cert.upper
    # the default solver 'auto' took the interior point (q = 40 + 3 + 2) and solved to tol
    sdp = clf.fit_result_.stages["sdp"]
    assert sdp.method == "sdp-ipm" and sdp.status == "optimal" and cert.lower == sdp.lower_bound
    assert "dual" not in clf.fit_result_.stages  # the estimators' default dual_bound=False
    # the certificate's upper bound is the fitted network's recomputed objective
    Xs = (X - clf.mean_) / clf.scale_
    Y = (y[:, None] == clf.classes_[None]).astype(float)
    assert clf.network_.objective(Xs, Y, 0.05) == pytest.approx(cert.upper, rel=1e-12)
    assert set(clf.predict(X)) <= {"a", "b"}
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(clf.classes_[proba.argmax(1)] == clf.predict(X))
    assert clf.score(X, y) > 0.8


def test_regressor_objective_matches_problem():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 3))
    y = np.maximum(X @ rng.standard_normal(3), 0)
    reg = ConvexReLURegressor(reg=0.1, standardize=False, bias=False, time_limit=5, width=10).fit(X, y)
    net = reg.network_
    assert TrainingProblem(X, y[:, None], 0.1).objective(net.U, net.V) == pytest.approx(reg.objective_, rel=1e-12)
    assert reg.lower_bound_ <= reg.objective_
    assert reg.predict(X).shape == (30,)


def test_clone_pipeline_and_grid_search():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((36, 2))
    y = (X[:, 0] > 0).astype(int)
    est = ConvexReLUClassifier(time_limit=None, max_iter=200, width=5, restarts=1)
    assert clone(est).get_params() == est.get_params()
    pipe = make_pipeline(StandardScaler(), clone(est)).fit(X, y)
    assert pipe.score(X, y) > 0.8
    gs = GridSearchCV(est, {"reg": [0.1, 0.01]}, cv=2).fit(X, y)
    assert gs.best_params_["reg"] in (0.1, 0.01)
    assert len(gs.cv_results_["mean_test_score"]) == 2


def test_bad_method_is_rejected():
    with pytest.raises(ValueError, match="method"):
        ConvexReLUClassifier(method="magic").fit(np.ones((4, 2)), [0, 1, 0, 1])


def test_warm_start_refits_along_a_reg_path_from_the_previous_solution(monkeypatch):
    """warm_start=True (scikit-learn's meaning): a refit on the same data with another reg starts
    SDP-NN's solver from the previous fit's solution (here the active-set interior point's working
    set; q = 16 counts as a small problem for 'auto' with the threshold lowered) and certifies the
    cold fit's bound; new data, or warm_start=False, start cold."""
    import convexnn.sdp as sdp_mod

    monkeypatch.setattr(sdp_mod, "AUTO_SMALL_ACTIVE_MIN_Q", 10)
    monkeypatch.setattr(sdp_mod, "AUTO_SMALL_WARMUP_ITERATIONS", 150)
    rng = np.random.default_rng(59)
    X = rng.standard_normal((12, 2))
    y = np.maximum(X @ np.array([1.0, -0.5]), 0.0) + 0.1 * rng.standard_normal(12)
    kw = dict(time_limit=None, max_iter=300, width=5, restarts=1, train_iter=100, tol=1e-5)
    est = ConvexReLURegressor(reg=0.1, warm_start=True, **kw).fit(X, y)
    assert "an ADMM warm-up" in est.fit_result_.stages["sdp"].info["auto"]
    est.set_params(reg=0.07).fit(X, y)
    warm = est.fit_result_.stages["sdp"]
    cold = ConvexReLURegressor(reg=0.07, **kw).fit(X, y).fit_result_.stages["sdp"]
    assert "warm start's" in warm.info["auto"] and "an ADMM warm-up" in cold.info["auto"]
    assert warm.status == cold.status == "optimal"
    assert warm.lower_bound == pytest.approx(cold.lower_bound, rel=3e-5)
    assert est.lower_bound_ == pytest.approx(warm.lower_bound) and est.lower_bound_ <= est.objective_
    est.fit(X[::-1], y[::-1])  # another design (the rows reordered): no warm start
    assert "an ADMM warm-up" in est.fit_result_.stages["sdp"].info["auto"]
    est.set_params(warm_start=False).fit(X[::-1], y[::-1])
    assert "an ADMM warm-up" in est.fit_result_.stages["sdp"].info["auto"]
    assert warm.info["warm_started"] and not cold.info["warm_started"]
    with pytest.raises(ParameterError, match="warm_start must be True or False"):
        ConvexReLURegressor(warm_start="yes").fit(X, y)
