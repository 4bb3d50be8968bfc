"""Tests of convexnn._validation and convexnn.errors: bad input gives specific, readable errors.

Each check is exercised directly and through the public entry points (TrainingProblem,
ReLUNetwork, the lifting helpers), and the message is matched so it names the problem.
"""

from __future__ import annotations

import numpy as np
import pytest

from convexnn._validation import (
    as_float_matrix,
    as_generator,
    available_memory_bytes,
    check_flag,
    check_memory,
    check_positive_int,
    check_reg,
    check_time_limit,
    check_tol,
    check_XY,
)
from convexnn.errors import (
    ConvexNNError,
    DataError,
    MemoryEstimateError,
    ParameterError,
    SolverUnavailableError,
)
from convexnn.lifting import lift_factor
from convexnn.network import ReLUNetwork
from convexnn.problem import TrainingProblem

# ------------------------------------------------------------------------------------------------
# error hierarchy


@pytest.mark.parametrize("cls", [DataError, ParameterError, MemoryEstimateError, SolverUnavailableError])
def test_error_hierarchy(cls):
    assert issubclass(cls, ConvexNNError)
    assert issubclass(cls, ValueError)  # scikit-learn style input checks keep working
    with pytest.raises(ConvexNNError, match="boom"):
        raise cls("boom")


def test_error_types_are_distinct():
    assert not issubclass(DataError, ParameterError)
    assert not issubclass(ParameterError, DataError)


# ------------------------------------------------------------------------------------------------
# as_float_matrix


def test_as_float_matrix_converts_and_copies_to_contiguous_float64():
    A = np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3))
    out = as_float_matrix(A, "A")
    assert out.dtype == np.float64 and out.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(out, [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(as_float_matrix([[1, 2], [3, 4]], "A"), [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(as_float_matrix(np.array([[True, False]]), "A"), [[1.0, 0.0]])
    # numeric strings and numeric objects are accepted
    np.testing.assert_array_equal(as_float_matrix([["1.5", "2"]], "A"), [[1.5, 2.0]])
    np.testing.assert_array_equal(as_float_matrix(np.array([[1, 2.5]], dtype=object), "A"), [[1.0, 2.5]])


def test_as_float_matrix_1d_handling():
    with pytest.raises(DataError, match=r"Z must be a 2-D array \(samples x features\); got shape \(3,\)"):
        as_float_matrix(np.ones(3), "Z")
    col = as_float_matrix(np.arange(3), "Z", allow_1d_as_column=True)
    assert col.shape == (3, 1)
    with pytest.raises(DataError, match=r"Z must be a 2-D array .* got shape \(2, 2, 2\)"):
        as_float_matrix(np.ones((2, 2, 2)), "Z")
    with pytest.raises(DataError, match=r"Z must be a 2-D array .* got shape \(\)"):
        as_float_matrix(5.0, "Z")


def test_as_float_matrix_missing_and_empty():
    with pytest.raises(DataError, match=r"X is missing \(got None\)"):
        as_float_matrix(None, "X")
    with pytest.raises(DataError, match=r"X is empty: it has 0 rows"):
        as_float_matrix(np.zeros((0, 3)), "X")
    with pytest.raises(DataError, match=r"X has 0 columns"):
        as_float_matrix(np.zeros((3, 0)), "X")
    with pytest.raises(DataError, match=r"X is empty|X must be a 2-D array"):
        as_float_matrix([], "X")


def test_as_float_matrix_non_numeric():
    with pytest.raises(DataError, match=r"X must be numeric; it holds non-numeric values"):
        as_float_matrix([["a", "b"], ["c", "d"]], "X")
    with pytest.raises(DataError, match=r"X must be numeric; it holds non-numeric values"):
        as_float_matrix(np.array([[1.0, "x"]], dtype=object), "X")
    # None in an object array is a missing value: numpy reads it as NaN, which is then reported
    with pytest.raises(DataError, match=r"X contains NaN or infinite values \(first at row 0, column 1\)"):
        as_float_matrix(np.array([[1.0, None]], dtype=object), "X")
    with pytest.raises(DataError, match=r"X must be numeric; got dtype datetime64"):
        as_float_matrix(np.array([["2020-01-01"]], dtype="datetime64[D]"), "X")


def test_as_float_matrix_ragged():
    with pytest.raises(DataError, match=r"X (could not be read as a numeric array|must be numeric)"):
        as_float_matrix([[1.0, 2.0], [3.0]], "X")


def test_as_float_matrix_complex():
    with pytest.raises(DataError, match=r"X must be real-valued; got complex dtype complex128"):
        as_float_matrix(np.array([[1 + 0j, 2]]), "X")
    with pytest.raises(DataError, match=r"real-valued"):
        as_float_matrix(np.array([[1, 2]], dtype=np.complex64), "X")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_as_float_matrix_non_finite(bad):
    A = np.ones((4, 3))
    A[2, 1] = bad
    with pytest.raises(DataError, match=r"X contains NaN or infinite values \(first at row 2, column 1\)"):
        as_float_matrix(A, "X")


def test_as_float_matrix_does_not_mutate_input():
    A = np.arange(4.0).reshape(2, 2)
    out = as_float_matrix(A, "A")
    out[0, 0] = 99.0
    assert A[0, 0] in (0.0, 99.0)  # may be a view of float64 input; conversion never raises
    B = np.arange(4).reshape(2, 2)
    as_float_matrix(B, "B")[0, 0] = 99
    assert B[0, 0] == 0  # integer input is copied


# ------------------------------------------------------------------------------------------------
# check_XY


def test_check_XY_shapes_and_names():
    X, Y = check_XY(np.ones((4, 2)), np.arange(4))
    assert X.shape == (4, 2) and Y.shape == (4, 1)
    with pytest.raises(DataError, match=r"X has 4 rows but Y has 3; they must match"):
        check_XY(np.ones((4, 2)), np.ones((3, 1)))
    with pytest.raises(DataError, match=r"features has 4 rows but labels has 5"):
        check_XY(np.ones((4, 2)), np.ones(5), X_name="features", Y_name="labels")
    with pytest.raises(DataError, match=r"X must be a 2-D array"):
        check_XY(np.ones(4), np.ones(4))  # X is never promoted from 1-D
    with pytest.raises(DataError, match=r"Y contains NaN"):
        check_XY(np.ones((2, 1)), [1.0, np.nan])


# ------------------------------------------------------------------------------------------------
# check_reg, check_positive_int


@pytest.mark.parametrize("good, value", [(0.1, 0.1), (1, 1.0), (np.float32(0.5), 0.5), (np.int64(3), 3.0), (1e-12, 1e-12)])
def test_check_reg_good(good, value):
    out = check_reg(good)
    assert type(out) is float and out == value


@pytest.mark.parametrize("bad", [0, 0.0, -0.0, -1e-3, -5, float("nan"), float("inf"), np.float64("nan")])
def test_check_reg_bad_values(bad):
    with pytest.raises(ParameterError, match=r"reg must be a positive, finite number"):
        check_reg(bad)


@pytest.mark.parametrize("bad", [True, False, np.bool_(True), "0.1", None, 1j, [0.1], np.array([0.1])])
def test_check_reg_bad_types(bad):
    with pytest.raises(ParameterError, match=r"reg must be a positive number; got"):
        check_reg(bad)


def test_check_reg_custom_name():
    with pytest.raises(ParameterError, match=r"gamma must be a positive, finite number; got -1.0"):
        check_reg(-1.0, "gamma")


@pytest.mark.parametrize("good", [1e-4, 0.5, np.float32(1e-3), np.float64(0.999)])
def test_check_tol_accepts_open_unit_interval(good):
    check_tol(good)


@pytest.mark.parametrize("bad", [0, 0.0, 1, 1.0, -1e-4, 2.0, float("nan"), True, "1e-4", None])
def test_check_tol_rejects(bad):
    with pytest.raises(ParameterError, match=r"tol must be in \(0, 1\)"):
        check_tol(bad)


@pytest.mark.parametrize("good", [None, 1e-3, 60, np.float64(2.5), float("inf")])
def test_check_time_limit_accepts_none_positive_and_inf(good):
    check_time_limit(good)


@pytest.mark.parametrize("bad", [0, 0.0, -1, -np.inf, float("nan"), True, "60"])
def test_check_time_limit_rejects(bad):
    with pytest.raises(ParameterError, match=r"time_limit must be a positive number of seconds"):
        check_time_limit(bad)


@pytest.mark.parametrize("good, expected", [(True, True), (False, False), (np.bool_(True), True)])
def test_check_flag_accepts_booleans(good, expected):
    assert check_flag(good, "bias") is expected


@pytest.mark.parametrize("bad", ["no", "yes", 1, 0, 1.0, None, [True]])
def test_check_flag_rejects_everything_else(bad):
    with pytest.raises(ParameterError, match=r"bias must be True or False; got"):
        check_flag(bad, "bias")


def test_check_flag_may_allow_none():
    assert check_flag(None, "standardize", allow_none=True) is None
    with pytest.raises(ParameterError, match=r"standardize must be True or False or None; got 'x'"):
        check_flag("x", "standardize", allow_none=True)


def test_as_generator():
    g = np.random.default_rng(3)
    assert as_generator(g) is g  # used as it is: its stream goes on
    for seed in (0, 7, np.int64(7), 2**40):
        np.testing.assert_array_equal(as_generator(seed).random(3), np.random.default_rng(int(seed)).random(3))
    assert isinstance(as_generator(None), np.random.Generator)
    for bad in (-1, 1.5, "a", True, [1, 2], float("nan")):
        with pytest.raises(ParameterError, match=r"seed must be a non-negative integer, a numpy Generator or None"):
            as_generator(bad)


def test_check_positive_int():
    assert check_positive_int(3, "m") == 3
    assert type(check_positive_int(np.int64(5), "m")) is int
    assert check_positive_int(0, "m", minimum=0) == 0
    with pytest.raises(ParameterError, match=r"m must be >= 1; got 0"):
        check_positive_int(0, "m")
    for bad in (True, 2.0, "3", None):
        with pytest.raises(ParameterError, match=r"m must be an integer >= 1"):
            check_positive_int(bad, "m")


# ------------------------------------------------------------------------------------------------
# memory checks


def test_memory_checks():
    avail = available_memory_bytes()
    assert isinstance(avail, int) and avail > 0
    check_memory(1024, "a tiny array")
    with pytest.raises(MemoryEstimateError, match=r"the Gram matrix needs about .* GiB but only .* GiB"):
        check_memory(10 * avail + 1, "the Gram matrix")


# ------------------------------------------------------------------------------------------------
# through the public entry points


def _bad_inputs():
    nan = np.ones((4, 2))
    nan[1, 1] = np.nan
    inf = np.ones((4, 2))
    inf[3, 0] = np.inf
    return [
        pytest.param(nan, r"X contains NaN or infinite values \(first at row 1, column 1\)", id="nan"),
        pytest.param(inf, r"X contains NaN or infinite values \(first at row 3, column 0\)", id="inf"),
        pytest.param(np.zeros((0, 2)), r"X is empty: it has 0 rows", id="empty"),
        pytest.param(np.ones(4), r"X must be a 2-D array", id="1d"),
        pytest.param(np.array([["a", "b"]] * 4), r"X must be numeric", id="strings"),
        pytest.param(np.array([[object(), 1.0]] * 4, dtype=object), r"X must be numeric", id="objects"),
        pytest.param(np.ones((4, 2), dtype=complex), r"X must be real-valued", id="complex"),
        pytest.param(None, r"X is missing", id="none"),
    ]


@pytest.mark.parametrize("X, msg", _bad_inputs())
def test_training_problem_rejects_bad_X(X, msg):
    Y = np.ones((4, 1))
    with pytest.raises(DataError, match=msg):
        TrainingProblem(X, Y, 0.1)
    with pytest.raises(DataError, match=msg):
        TrainingProblem.from_data(X, Y, 0.1, bias=True)


@pytest.mark.parametrize("X, msg", _bad_inputs())
def test_network_rejects_bad_X(X, msg):
    net = ReLUNetwork(np.ones((2, 3)), np.ones((1, 3)))
    with pytest.raises(DataError, match=msg):
        net.predict(X)
    with pytest.raises(DataError, match=msg):
        net.objective(X, np.ones((4, 1)), 0.1)


@pytest.mark.parametrize("X, msg", _bad_inputs())
def test_lifting_rejects_bad_X(X, msg):
    with pytest.raises(DataError, match=msg):
        lift_factor(X, np.ones((2, 3)), np.ones((1, 3)))


def test_mismatched_rows_through_entry_points():
    with pytest.raises(DataError, match=r"X has 5 rows but Y has 4"):
        TrainingProblem(np.ones((5, 2)), np.ones((4, 1)), 0.1)
    net = ReLUNetwork(np.ones((2, 3)), np.ones((1, 3)))
    with pytest.raises(DataError, match=r"X has 5 rows but Y has 4"):
        net.objective(np.ones((5, 2)), np.ones(4), 0.1)


@pytest.mark.parametrize("reg", [-1.0, 0, float("nan"), True])
def test_bad_reg_through_entry_points(reg):
    with pytest.raises(ParameterError, match=r"reg must be a positive"):
        TrainingProblem(np.ones((3, 2)), np.ones((3, 1)), reg)
    net = ReLUNetwork(np.ones((2, 3)), np.ones((1, 3)))
    with pytest.raises(ParameterError, match=r"reg must be a positive"):
        net.objective(np.ones((3, 2)), np.ones((3, 1)), reg)


def test_wrong_weight_shapes_through_entry_points():
    with pytest.raises(DataError, match=r"U has 3 hidden units \(columns\) but V has 2"):
        ReLUNetwork(np.ones((2, 3)), np.ones((1, 2)))
    with pytest.raises(DataError, match=r"U must be a 2-D array"):
        ReLUNetwork(np.ones(3), np.ones((1, 3)))
    prob = TrainingProblem(np.ones((3, 2)), np.ones((3, 1)), 0.1)
    with pytest.raises(DataError, match=r"U must have shape \(2, m\)"):
        prob.objective(np.ones((3, 4)), np.ones((1, 4)))
    with pytest.raises(DataError, match=r"V must have shape \(1, 4\)"):
        prob.objective(np.ones((2, 4)), np.ones((1, 3)))


def test_network_predict_wrong_feature_count():
    net = ReLUNetwork(np.ones((3, 2)), np.ones((2, 2)))
    with pytest.raises(DataError, match=r"X has 2 features but the network expects 3"):
        net.predict(np.ones((4, 2)))
    with pytest.raises(DataError, match=r"X has 2 features but the network expects 3"):
        net.objective(np.ones((4, 2)), np.ones((4, 2)), 0.1)


def test_blas_threads_caps_only_the_blas_scipy_brings_besides_numpys():
    """With scipy_threads=1 a separate scipy OpenBLAS gets one thread, numpy's keeps its count,
    small sizes give every BLAS one thread, and everything is restored on exit."""
    import os

    import scipy.linalg  # noqa: F401  (load scipy's BLAS)
    from threadpoolctl import threadpool_info

    from convexnn._validation import blas_threads

    def counts():
        return {i["filepath"]: i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before = counts()
    with blas_threads(10_000, scipy_threads=1):
        during = counts()
    assert counts() == before
    for path, k in during.items():
        scipys_own = ("scipy" in os.path.basename(os.path.dirname(path)).lower()
                      and "numpy" not in path.lower())
        assert k == (1 if scipys_own else before[path]), path
    with blas_threads(10):
        assert all(k == 1 for k in counts().values())
    with blas_threads(10_000):
        assert counts() == before
    assert counts() == before


def test_blas_threads_numpy_threads_caps_numpys_blas_and_leaves_scipys():
    """numpy_threads=1 gives numpy's BLAS one thread while scipy's separate one keeps its count
    (the interior point's dense factorisations run in scipy's); restored on exit."""
    import os

    import scipy.linalg  # noqa: F401  (load scipy's BLAS)
    from threadpoolctl import threadpool_info

    from convexnn._validation import blas_threads

    def counts():
        return {i["filepath"]: i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    def scipys_own(path):
        return "scipy" in os.path.basename(os.path.dirname(path)).lower() and "numpy" not in path.lower()

    before = counts()
    if not any(scipys_own(p) for p in before) or all(scipys_own(p) for p in before):
        pytest.skip("numpy and scipy share one BLAS here: nothing to cap")
    with blas_threads(10_000, numpy_threads=1):
        during = counts()
    assert counts() == before
    for path, k in during.items():
        assert k == (before[path] if scipys_own(path) else 1), path


# -- bad arguments of the public functions --------------------------------------------------------
# Each case used to pass silently (a truthy string taken as True, an unused argument never looked
# at) or to fail inside numpy/Python with a message that did not name the argument.
def _entry_point_cases():
    from convexnn.arrangements import kim_pilanci, sample_patterns, solve_gated
    from convexnn.baselines import frank_wolfe, kernel_fit, train_adam, train_gradient, train_lbfgs, train_sgd
    from convexnn.rounding import polish, tos_round
    from convexnn.sdp import SDPFormulation, solve_sdp

    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((12, 2)), rng.standard_normal((12, 1))
    prob = TrainingProblem(X, Y, 0.1)
    pats = sample_patterns(X, n_gates=6, seed=0)
    Lam = np.eye(2 * 12 + 2 + 1)
    net = (np.ones((2, 3)), np.ones((1, 3)))
    return [
        (lambda: ReLUNetwork(*net, bias="x"), "bias must be True or False"),
        (lambda: TrainingProblem(X, Y, 0.1, bias="no"), "bias must be True or False"),
        (lambda: TrainingProblem.from_data(X, Y, 0.1, bias="no"), "bias must be True or False"),
        (lambda: SDPFormulation(X, Y, 0.1, bias="no"), "bias must be True or False"),
        (lambda: kernel_fit(X, Y, 0.1, bias="no"), "bias must be True or False"),
        (lambda: tos_round(Lam, X, c=1, bias="no"), "bias must be True or False"),
        (lambda: tos_round(Lam, X, c=1, seed="x"), "seed must be a non-negative integer"),
        (lambda: tos_round(Lam, X, c=1, pad_noise="x"), "pad_noise must be a non-negative number"),
        (lambda: tos_round(Lam, X, c=1, data_scale=None), "data_scale must be a positive number"),
        (lambda: polish(prob, *net, tol=None), "tol must be a non-negative number"),
        (lambda: solve_gated(X, Y, 0.1, pats, warm_start="x"), "warm_start must be a SolveResult"),
        (lambda: solve_gated(X, Y, 0.1, pats, screening="no"), "screening must be True or False"),
        (lambda: kim_pilanci(X, Y, 0.1, adaptive="no"), "adaptive must be True or False"),
        (lambda: kim_pilanci(X, Y, 0.1, stable_tol=None), "stable_tol must be a positive"),
        (lambda: kim_pilanci(X, Y, 0.1, time_limit="x"), "time_limit must be a positive number"),
        (lambda: train_sgd(prob, lr=0.01, seeds=2.5), "seeds must be a non-negative integer or a sequence"),
        (lambda: train_gradient(prob, lr=0.01, seeds=2.5), "seeds must be a non-negative integer or a sequence"),
        (lambda: train_gradient(prob, lr=0.01, dataset=[1]), "dataset must be a data set name or None"),
        (lambda: train_adam(prob, betas=0.9), r"betas must be a pair"),
        (lambda: train_adam(prob, balance="no"), "balance must be True or False"),
        (lambda: frank_wolfe(X, Y, 0.1, n_samples="x"), "n_samples must be an integer"),
        (lambda: solve_sdp(X, Y, 0.1, warm_start="x"), "warm_start must be a SolveResult"),
        (lambda: solve_sdp(X, Y, 0.1, callback="x"), "callback must be callable"),
        (lambda: train_lbfgs(prob, width=3, max_iter=5, callback="x"), "callback must be callable"),
        (lambda: train_adam(prob, width=3, max_epochs=5, callback="x"), "callback must be callable"),
        (lambda: train_sgd(prob, width=3, lr=0.01, max_epochs=5, callback="x"), "callback must be callable"),
    ]


@pytest.mark.parametrize("k", range(26))
def test_public_functions_reject_bad_arguments_by_name(k):
    cases = _entry_point_cases()
    assert len(cases) == 26
    call, msg = cases[k]
    with pytest.raises(ParameterError, match=msg):
        call()


def test_huge_widths_are_refused_before_anything_is_allocated(monkeypatch):
    """fit(width=10**7) on 12 samples made scipy's L-BFGS-B allocate a 14.5 GiB workspace (65 × the
    (d + c)·width weights), which ended in a raw MemoryError, or with enough memory in swapping
    (the fuzz run grew to 18 GB); rounding_width=2**40 asked numpy for 216 TiB. Every width now
    goes through the memory estimate first."""
    from convexnn import _validation as val
    from convexnn.baselines import train_adam, train_lbfgs, train_sgd
    from convexnn.rounding import tos_round

    monkeypatch.setattr(val, "available_memory_bytes", lambda: 200 * 1024**2)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((12, 2)), rng.standard_normal((12, 1))
    prob = TrainingProblem(X, Y, 0.1)
    for call, what in ((lambda w: train_lbfgs(prob, width=w, max_iter=5), "L-BFGS training"),
                       (lambda w: train_adam(prob, width=w, max_epochs=5), "Adam training"),
                       (lambda w: train_sgd(prob, width=w, lr=0.01, max_epochs=5, n_seeds=2),
                        r"SGD training \(seeds batched\)"),
                       (lambda w: tos_round(np.eye(2 * 12 + 3), X, c=1, width=w, iterations=5),
                        r"the rounding's p × width factors")):
        with pytest.raises(MemoryEstimateError, match=f"{what} with width|{what} \\(width"):
            call(10**6)
        call(5)  # an ordinary width still runs under the same limit
