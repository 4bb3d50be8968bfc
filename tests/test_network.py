"""Tests of convexnn.network.ReLUNetwork: evaluation, NN-TRAIN objective, rescaling, pruning, I/O.

Every number is checked against an independent reference written with explicit Python loops over
samples, neurons and outputs (SPEC §1 scaling: ½ × summed squared error + (reg/2)(‖U‖² + ‖V‖²)).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convexnn.errors import ConvexNNError, DataError, ParameterError
from convexnn.network import ReLUNetwork

# ------------------------------------------------------------------------------------------------
# independent references (plain loops, no vectorised network code)


def ref_predict(X, U, V, bias):
    """f(X)_io = Σ_j max(0, Σ_k X_ik U_kj [+ U_dj]) V_oj, by loops."""
    X, U, V = np.asarray(X, float), np.asarray(U, float), np.asarray(V, float)
    n, d = X.shape
    m = U.shape[1]
    c = V.shape[0]
    out = np.zeros((n, c))
    for i in range(n):
        for j in range(m):
            z = 0.0
            for k in range(d):
                z += X[i, k] * U[k, j]
            if bias:
                z += U[d, j]  # ones column times the bias row
            h = z if z > 0 else 0.0
            for o in range(c):
                out[i, o] += h * V[o, j]
    return out


def ref_objective(X, Y, U, V, reg, bias):
    """½ Σ_io (f_io − Y_io)² + (reg/2)(Σ U² + Σ V²), by loops."""
    F = ref_predict(X, U, V, bias)
    Y = np.asarray(Y, float).reshape(F.shape)
    loss = 0.0
    for i in range(F.shape[0]):
        for o in range(F.shape[1]):
            loss += (F[i, o] - Y[i, o]) ** 2
    wd = 0.0
    for a in np.asarray(U, float).ravel():
        wd += a * a
    for b in np.asarray(V, float).ravel():
        wd += b * b
    return 0.5 * loss + 0.5 * reg * wd


def ref_weight_decay(U, V):
    return sum(float(a) ** 2 for a in np.ravel(U)) + sum(float(b) ** 2 for b in np.ravel(V))


def random_net(rng, n=9, d=3, m=5, c=2, bias=False):
    X = rng.standard_normal((n, d))
    U = rng.standard_normal((d + int(bias), m))
    V = rng.standard_normal((c, m))
    Y = rng.standard_normal((n, c))
    return X, Y, ReLUNetwork(U, V, bias=bias)


CASES = [
    pytest.param(bias, c, m, id=f"bias={bias}-c={c}-m={m}")
    for bias in (False, True)
    for c in (1, 3)
    for m in (1, 4)
]

# ------------------------------------------------------------------------------------------------
# construction and sizes


def test_sizes_and_dtype():
    U = np.arange(12).reshape(4, 3)  # ints: must become float64
    V = np.ones((2, 3), dtype=np.float32)
    net = ReLUNetwork(U, V, bias=True)
    assert net.width == 3
    assert net.n_features == 3  # 4 rows of U minus the bias row
    assert net.n_outputs == 2
    assert net.U.dtype == np.float64 and net.V.dtype == np.float64
    assert net.bias is True
    assert net.metadata == {}
    net2 = ReLUNetwork(U, V)
    assert net2.n_features == 4 and net2.bias is False


def test_mismatched_hidden_units_rejected():
    with pytest.raises(DataError, match=r"U has 3 hidden units.*V has 4"):
        ReLUNetwork(np.ones((2, 3)), np.ones((1, 4)))


def test_one_dimensional_V_rejected():
    with pytest.raises(DataError, match=r"V must be a 2-D array"):
        ReLUNetwork(np.ones((2, 3)), np.ones(3))


def test_bias_needs_a_feature_row():
    with pytest.raises(DataError, match=r"bias needs at least one input feature"):
        ReLUNetwork(np.ones((1, 3)), np.ones((1, 3)), bias=True)


def test_nan_weights_rejected():
    U = np.ones((2, 3))
    U[1, 2] = np.nan
    with pytest.raises(DataError, match=r"U contains NaN or infinite values \(first at row 1, column 2\)"):
        ReLUNetwork(U, np.ones((1, 3)))


# ------------------------------------------------------------------------------------------------
# evaluation against loops


@pytest.mark.parametrize("bias, c, m", CASES)
def test_predict_matches_loop(bias, c, m):
    rng = np.random.default_rng(10 + 7 * c + m + 100 * bias)
    X, _, net = random_net(rng, m=m, c=c, bias=bias)
    F = net.predict(X)
    assert F.shape == (X.shape[0], c)
    np.testing.assert_allclose(F, ref_predict(X, net.U, net.V, bias), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bias, c, m", CASES)
def test_objective_matches_loop(bias, c, m):
    rng = np.random.default_rng(20 + 7 * c + m + 100 * bias)
    X, Y, net = random_net(rng, m=m, c=c, bias=bias)
    reg = 0.37
    val = net.objective(X, Y, reg)
    assert isinstance(val, float)
    ref = ref_objective(X, Y, net.U, net.V, reg, bias)
    assert val == pytest.approx(ref, rel=1e-12)


def test_objective_is_summed_not_averaged():
    # one neuron, identity-like: f(x) = 2·max(x, 0); data chosen so every number is exact.
    X = np.array([[1.0], [-1.0], [3.0]])
    Y = np.array([[0.0], [1.0], [2.0]])
    net = ReLUNetwork(np.array([[1.0]]), np.array([[2.0]]))
    # predictions 2, 0, 6; residuals 2, -1, 4 -> ½(4+1+16) = 10.5; weight decay (0.5/2)(1+4)=1.25
    assert net.objective(X, Y, 0.5) == pytest.approx(11.75, abs=1e-15)
    np.testing.assert_array_equal(net.predict(X), [[2.0], [0.0], [6.0]])
    np.testing.assert_array_equal(net.hidden(X), [[1.0], [0.0], [3.0]])


def test_bias_row_acts_on_ones_column():
    # f(x) = max(0, x·1 + b) with b = -2: only inputs above 2 activate.
    net = ReLUNetwork(np.array([[1.0], [-2.0]]), np.array([[1.0]]), bias=True)
    X = np.array([[0.0], [1.0], [2.0], [5.0]])
    np.testing.assert_array_equal(net.predict(X).ravel(), [0.0, 0.0, 0.0, 3.0])
    D = net.design(X)
    np.testing.assert_array_equal(D[:, -1], np.ones(4))
    np.testing.assert_array_equal(D[:, :1], X)


def test_objective_accepts_1d_targets_for_single_output():
    rng = np.random.default_rng(3)
    X, Y, net = random_net(rng, c=1)
    assert net.objective(X, Y[:, 0], 0.2) == pytest.approx(net.objective(X, Y, 0.2), rel=1e-15)


def test_predict_wrong_number_of_features():
    net = ReLUNetwork(np.ones((4, 2)), np.ones((1, 2)))
    with pytest.raises(DataError, match=r"X has 3 features but the network expects 4"):
        net.predict(np.ones((5, 3)))
    netb = ReLUNetwork(np.ones((4, 2)), np.ones((1, 2)), bias=True)
    # the design matrix (with ones already appended) is not a valid raw input
    with pytest.raises(DataError, match=r"X has 4 features but the network expects 3"):
        netb.predict(np.ones((5, 4)))


def test_objective_wrong_target_columns():
    rng = np.random.default_rng(4)
    X, Y, net = random_net(rng, c=2)
    with pytest.raises(DataError, match=r"Y has 3 columns but the network has 2 outputs"):
        net.objective(X, np.ones((X.shape[0], 3)), 0.1)


def test_objective_bad_reg_and_rows():
    rng = np.random.default_rng(5)
    X, Y, net = random_net(rng)
    for bad in (0.0, -1.0, float("nan"), True):
        with pytest.raises(ParameterError, match=r"reg must be a positive"):
            net.objective(X, Y, bad)
    with pytest.raises(DataError, match=r"X has 9 rows but Y has 8"):
        net.objective(X, Y[:8], 0.1)


# ------------------------------------------------------------------------------------------------
# rescaling, balancing, pruning (property-based)

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, s=st.floats(min_value=1e-2, max_value=1e2), bias=st.booleans(), c=st.integers(1, 3))
def test_positive_rescaling_keeps_predictions(seed, s, bias, c):
    rng = np.random.default_rng(seed)
    X, _, net = random_net(rng, n=7, d=3, m=4, c=c, bias=bias)
    j = int(rng.integers(net.width))
    U2, V2 = net.U.copy(), net.V.copy()
    U2[:, j] *= s
    V2[:, j] /= s
    net2 = ReLUNetwork(U2, V2, bias=bias)
    F, F2 = net.predict(X), net2.predict(X)
    np.testing.assert_allclose(F2, F, rtol=1e-10, atol=1e-10 * (1 + np.abs(F).max()))


def test_negative_rescaling_changes_predictions():
    # the ReLU is only positively homogeneous: s < 0 must change the function (test can fail).
    rng = np.random.default_rng(6)
    X, _, net = random_net(rng, m=1, c=1)
    net2 = ReLUNetwork(-net.U, -net.V)
    assert not np.allclose(net.predict(X), net2.predict(X))


@settings(max_examples=40, deadline=None)
@given(seed=seeds, bias=st.booleans(), c=st.integers(1, 3), m=st.integers(1, 6),
       log_scale=st.floats(min_value=-3, max_value=3))
def test_balanced_keeps_predictions_and_never_increases_weight_decay(seed, bias, c, m, log_scale):
    rng = np.random.default_rng(seed)
    X, Y, net = random_net(rng, n=6, d=2, m=m, c=c, bias=bias)
    # unbalance the layers by per-neuron positive factors
    f = np.exp(log_scale * rng.standard_normal(m))
    net = ReLUNetwork(net.U * f, net.V / f, bias=bias, metadata={"k": 1})
    bal = net.balanced()
    F = net.predict(X)
    np.testing.assert_allclose(bal.predict(X), F, rtol=1e-9, atol=1e-9 * (1 + np.abs(F).max()))
    wd_before = ref_weight_decay(net.U, net.V)
    wd_after = ref_weight_decay(bal.U, bal.V)
    assert wd_after <= wd_before * (1 + 1e-12) + 1e-300
    # AM-GM equality: balanced weight decay is 2 Σ_j ‖u_j‖‖v_j‖ (SPEC §1 equivalent form)
    two_sum = 0.0
    for j in range(m):
        nu = math.sqrt(sum(net.U[k, j] ** 2 for k in range(net.U.shape[0])))
        nv = math.sqrt(sum(net.V[o, j] ** 2 for o in range(c)))
        two_sum += 2 * nu * nv
        bu = math.sqrt(sum(bal.U[k, j] ** 2 for k in range(bal.U.shape[0])))
        bv = math.sqrt(sum(bal.V[o, j] ** 2 for o in range(c)))
        assert bu == pytest.approx(bv, rel=1e-10)
    assert wd_after == pytest.approx(two_sum, rel=1e-10)
    assert bal.objective(X, Y, 0.3) <= net.objective(X, Y, 0.3) * (1 + 1e-12)
    assert bal.bias == bias and bal.metadata == {"k": 1}
    assert bal.metadata is not net.metadata


def test_balanced_leaves_dead_neurons_alone():
    U = np.array([[0.0, 2.0, 1.0], [0.0, 0.0, 1.0]])
    V = np.array([[3.0, 0.0, 4.0]])
    bal = ReLUNetwork(U, V).balanced()
    np.testing.assert_array_equal(bal.U[:, :2], U[:, :2])
    np.testing.assert_array_equal(bal.V[:, :2], V[:, :2])
    # third neuron: ‖u‖ = √2, ‖v‖ = 4 -> scale √(4/√2)
    s = math.sqrt(4 / math.sqrt(2))
    np.testing.assert_allclose(bal.U[:, 2], U[:, 2] * s, rtol=1e-14)
    np.testing.assert_allclose(bal.V[:, 2], V[:, 2] / s, rtol=1e-14)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, bias=st.booleans(), c=st.integers(1, 3), m=st.integers(2, 7))
def test_prune_keeps_predictions(seed, bias, c, m):
    rng = np.random.default_rng(seed)
    X, Y, net = random_net(rng, n=6, d=2, m=m, c=c, bias=bias)
    U, V = net.U.copy(), net.V.copy()
    dead = rng.random(m) < 0.5
    kill_u = rng.random(m) < 0.5
    for j in range(m):
        if dead[j]:
            if kill_u[j]:
                U[:, j] = 0.0
            else:
                V[:, j] = 0.0
    net = ReLUNetwork(U, V, bias=bias, metadata={"a": [1, 2]})
    pr = net.prune()
    expected_width = max(1, int(np.sum(~dead)))
    assert pr.width == expected_width
    F = net.predict(X)
    np.testing.assert_allclose(pr.predict(X), F, rtol=1e-12, atol=1e-12 * (1 + np.abs(F).max()))
    assert pr.objective(X, Y, 0.1) <= net.objective(X, Y, 0.1) * (1 + 1e-12)
    assert pr.bias == bias and pr.metadata == {"a": [1, 2]}
    # surviving columns are copied in their original order
    alive = [j for j in range(m) if not dead[j]]
    if alive:
        np.testing.assert_array_equal(pr.U, U[:, alive])
        np.testing.assert_array_equal(pr.V, V[:, alive])


def test_prune_with_tolerance_and_all_dead():
    U = np.array([[1.0, 0.1, 3.0]])
    V = np.array([[1.0, 0.1, 1.0]])  # products ‖u‖‖v‖: 1, 0.01, 3
    pr = ReLUNetwork(U, V).prune(tol=0.5)
    np.testing.assert_array_equal(pr.U, [[1.0, 3.0]])
    np.testing.assert_array_equal(pr.V, [[1.0, 1.0]])
    dead = ReLUNetwork(np.zeros((2, 3)), np.zeros((1, 3))).prune()
    assert dead.width == 1
    np.testing.assert_array_equal(dead.predict(np.ones((2, 2))), np.zeros((2, 1)))


# ------------------------------------------------------------------------------------------------
# persistence


def _nested_metadata():
    return {
        "name": "spiral-net",
        "reg": 0.01,
        "labels": ["a", "b", "c"],
        "preprocessing": {"mean": [0.5, -1.25], "scale": {"kind": "std", "values": [1.0, 2.0]}},
        "flags": {"bias": True, "none": None},
        "count": 3,
    }


@pytest.mark.parametrize("bias", [False, True])
def test_save_load_round_trip_exact(tmp_path, bias):
    rng = np.random.default_rng(7)
    U = rng.standard_normal((4, 5))
    V = rng.standard_normal((3, 5))
    meta = _nested_metadata()
    net = ReLUNetwork(U, V, bias=bias, metadata=meta)
    path = net.save(tmp_path / "model.npz")
    assert path == tmp_path / "model.npz" and path.exists()
    back = ReLUNetwork.load(path)
    assert back.U.dtype == np.float64 and back.V.dtype == np.float64
    assert back.U.tobytes() == U.tobytes() and back.U.shape == U.shape
    assert back.V.tobytes() == V.tobytes() and back.V.shape == V.shape
    assert back.bias is bias
    assert back.metadata == meta
    X = rng.standard_normal((6, 4 - int(bias)))
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_saved_file_is_plain_npz_without_pickle(tmp_path):
    net = ReLUNetwork(np.ones((2, 3)), np.ones((1, 3)), bias=True, metadata={"x": {"y": [1, 2]}})
    path = net.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as z:
        assert set(z.files) == {"format", "U", "V", "bias", "metadata"}
        for key in z.files:
            assert z[key].dtype != object
        assert str(z["format"]).startswith("convexnn.network/")
        assert bool(z["bias"]) is True
        assert json.loads(str(z["metadata"])) == {"x": {"y": [1, 2]}}
        np.testing.assert_array_equal(z["U"], np.ones((2, 3)))


def test_save_appends_npz_suffix(tmp_path):
    net = ReLUNetwork(np.ones((2, 1)), np.ones((1, 1)))
    p1 = net.save(tmp_path / "model")
    assert p1.name == "model.npz" and p1.exists()
    p2 = net.save(str(tmp_path / "model.v2"))
    assert p2.name == "model.v2.npz" and p2.exists()
    assert ReLUNetwork.load(p2).width == 1


def test_metadata_numpy_values_become_lists(tmp_path):
    meta = {"mean": np.array([1.5, 2.5]), "n": np.int64(4), "ok": np.bool_(True), "s": np.float32(0.5)}
    net = ReLUNetwork(np.ones((2, 1)), np.ones((1, 1)), metadata=meta)
    back = ReLUNetwork.load(net.save(tmp_path / "m.npz"))
    assert back.metadata == {"mean": [1.5, 2.5], "n": 4, "ok": True, "s": 0.5}


def test_unserialisable_metadata_fails_without_writing(tmp_path):
    net = ReLUNetwork(np.ones((2, 1)), np.ones((1, 1)), metadata={"f": object()})
    with pytest.raises((TypeError, ValueError), match=r"not JSON-serialisable"):
        net.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_load_non_convexnn_npz(tmp_path):
    p = tmp_path / "other.npz"
    np.savez(p, a=np.arange(3))
    with pytest.raises(DataError, match=r"is not a convexnn network file"):
        ReLUNetwork.load(p)
    q = tmp_path / "wrongtag.npz"
    np.savez(q, format=np.array("something/else"), U=np.ones((1, 1)), V=np.ones((1, 1)))
    with pytest.raises(DataError, match=r"format tag 'something/else'"):
        ReLUNetwork.load(q)


def test_load_truncated_convexnn_npz(tmp_path):
    p = tmp_path / "partial.npz"
    np.savez(p, format=np.array("convexnn.network/1"), U=np.ones((2, 2)))
    with pytest.raises(DataError, match=r"could not read model file"):
        ReLUNetwork.load(p)


def test_load_garbage_and_npy_and_missing(tmp_path):
    t = tmp_path / "text.npz"
    t.write_text("this is not a zip archive\n")
    # numpy's own message for this file spoke of pickled data and allow_pickle
    with pytest.raises(DataError, match=r"text.npz is not a convexnn network file \(not an .npz archive\)"):
        ReLUNetwork.load(t)
    a = tmp_path / "array.npy"
    np.save(a, np.ones(3))
    with pytest.raises(DataError, match=r"not a convexnn network file"):
        ReLUNetwork.load(a)
    with pytest.raises(DataError, match=r"does not exist"):
        ReLUNetwork.load(tmp_path / "nothing.npz")


def test_load_refuses_pickled_arrays(tmp_path):
    p = tmp_path / "pickled.npz"
    np.savez(p, format=np.array("convexnn.network/1"), U=np.array([[1.0]], dtype=object),
             V=np.ones((1, 1)), bias=np.array(False), metadata=np.array("{}"))
    with pytest.raises(DataError, match=r"could not read model file"):
        ReLUNetwork.load(p)


def test_save_into_missing_directory(tmp_path):
    net = ReLUNetwork(np.ones((2, 1)), np.ones((1, 1)))
    target = tmp_path / "no" / "such" / "dir" / "m.npz"
    with pytest.raises(DataError, match=r"directory .* does not exist"):
        net.save(target)
    assert not target.parent.exists()


def test_errors_are_value_errors():
    with pytest.raises(ValueError):
        ReLUNetwork(np.ones((2, 3)), np.ones((1, 4)))
    with pytest.raises(ConvexNNError):
        ReLUNetwork(np.ones((2, 3)), np.ones((1, 4)))
