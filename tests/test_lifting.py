"""Tests of convexnn.lifting: the lifting of a network to CP-NN (SPEC §2) and its identities.

λ_j = [(Xu_j)_+; (−Xu_j)_+; u_j; v_j], Λ = Σ_j λ_j λ_jᵀ, M = [−I, I, X, 0]. Lifting any network
gives a CP-NN-feasible Λ with the same objective; the references here are built with loops.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convexnn.errors import DataError, ParameterError
from convexnn.lifting import Blocks, cp_objective, cp_residuals, lift, lift_factor, lift_matrix
from convexnn.network import ReLUNetwork

# ------------------------------------------------------------------------------------------------
# loop references


def ref_lambda(X, u, v):
    """λ = [α; β; u; v] for one neuron, by loops."""
    n, d = X.shape
    alpha, beta = [], []
    for i in range(n):
        z = 0.0
        for k in range(d):
            z += X[i, k] * u[k]
        alpha.append(z if z > 0 else 0.0)
        beta.append(-z if z < 0 else 0.0)
    return np.array(alpha + beta + list(u) + list(v), dtype=float)


def ref_Lambda(X, U, V):
    p = 2 * X.shape[0] + U.shape[0] + V.shape[0]
    Lam = np.zeros((p, p))
    for j in range(U.shape[1]):
        lam = ref_lambda(X, U[:, j], V[:, j])
        for a in range(p):
            for b in range(p):
                Lam[a, b] += lam[a] * lam[b]
    return Lam


def ref_M(X, c):
    n, d = X.shape
    M = np.zeros((n, 2 * n + d + c))
    for i in range(n):
        M[i, i] = -1.0
        M[i, n + i] = 1.0
        for k in range(d):
            M[i, 2 * n + k] = X[i, k]
    return M


def ref_cp_objective(Lam, Y, reg, n, d, c):
    loss = 0.0
    for i in range(n):
        for o in range(c):
            loss += (Lam[i, 2 * n + d + o] - Y[i, o]) ** 2
    tr = 0.0
    for k in range(d + c):
        tr += Lam[2 * n + k, 2 * n + k]
    return 0.5 * loss + 0.5 * reg * tr


def ref_predict(X, U, V):
    n, m, c = X.shape[0], U.shape[1], V.shape[0]
    F = np.zeros((n, c))
    for i in range(n):
        for j in range(m):
            h = max(float(sum(X[i, k] * U[k, j] for k in range(X.shape[1]))), 0.0)
            for o in range(c):
                F[i, o] += h * V[o, j]
    return F


def make(seed, n=7, d=3, c=2, m=4, bias=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    Y = rng.standard_normal((n, c))
    net = ReLUNetwork(rng.standard_normal((d + int(bias), m)), rng.standard_normal((c, m)), bias=bias)
    Xd = np.hstack([X, np.ones((n, 1))]) if bias else X
    return X, Xd, Y, net


CASES = [
    pytest.param(bias, c, m, id=f"bias={bias}-c={c}-m={m}")
    for bias in (False, True)
    for c in (1, 3)
    for m in (1, 3, 8)
]

# ------------------------------------------------------------------------------------------------
# blocks and building blocks


def test_blocks_layout():
    b = Blocks(3, 2, 4)
    assert b.p == 12 and b.q == 9
    assert (b.a, b.b, b.ab, b.u, b.v) == (slice(0, 3), slice(3, 6), slice(0, 6), slice(6, 8), slice(8, 12))
    L = np.arange(144.0).reshape(12, 12)
    np.testing.assert_array_equal(b.block(L, "u", "v"), L[6:8, 8:12])
    np.testing.assert_array_equal(b.block(L, "ab", "a"), L[0:6, 0:3])
    # the four blocks tile 0..p-1 without overlap
    idx = np.concatenate([np.arange(12)[s] for s in (b.a, b.b, b.u, b.v)])
    np.testing.assert_array_equal(idx, np.arange(12))


def test_lift_matrix_matches_definition():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 3))
    np.testing.assert_array_equal(lift_matrix(X, 2), ref_M(X, 2))
    assert lift_matrix(X, 1).shape == (5, 14)


def test_lift_factor_columns_are_lifted_neurons():
    X, _, _, net = make(1, m=5)
    L = lift_factor(X, net.U, net.V)
    assert L.shape == (2 * 7 + 3 + 2, 5)
    for j in range(5):
        np.testing.assert_allclose(L[:, j], ref_lambda(X, net.U[:, j], net.V[:, j]), rtol=1e-14, atol=1e-14)
    assert np.all(L[: 2 * 7] >= 0)


def test_lift_factor_shape_errors():
    X = np.ones((4, 3))
    with pytest.raises(DataError, match=r"U has 2 rows but X has 3 columns"):
        lift_factor(X, np.ones((2, 5)), np.ones((1, 5)))
    with pytest.raises(DataError, match=r"U has 5 columns but V has 4"):
        lift_factor(X, np.ones((3, 5)), np.ones((1, 4)))


# ------------------------------------------------------------------------------------------------
# the lifting identities (SPEC §2, §3.1)


@pytest.mark.parametrize("bias, c, m", CASES)
def test_lifting_identities(bias, c, m):
    X, Xd, Y, net = make(100 + 10 * m + c + 1000 * bias, n=7, d=3, c=c, m=m, bias=bias)
    n, d = Xd.shape
    blocks = Blocks(n, d, c)
    reg = 0.21
    Lam = lift(X, net)  # the network appends the ones column itself
    assert Lam.shape == (blocks.p, blocks.p)

    # Λ = Σ_j λ_j λ_jᵀ, built independently
    ref = ref_Lambda(Xd, net.U, net.V)
    np.testing.assert_allclose(Lam, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    # explicit (U, V) with the design matrix gives the same matrix
    np.testing.assert_allclose(lift(Xd, net.U, net.V), Lam, rtol=0, atol=1e-13 * np.abs(ref).max())

    # objective identity, to machine precision
    val = cp_objective(Lam, Y, reg, blocks)
    nn = net.objective(X, Y, reg)
    assert val == pytest.approx(nn, rel=1e-12)
    assert val == pytest.approx(ref_cp_objective(ref, Y, reg, n, d, c), rel=1e-12)

    # Λ_αv are the predictions; tr Λ_uu + tr Λ_vv = ‖U‖² + ‖V‖²
    np.testing.assert_allclose(blocks.block(Lam, "a", "v"), ref_predict(Xd, net.U, net.V), rtol=1e-12, atol=1e-12)
    wd = sum(float(x) ** 2 for x in net.U.ravel()) + sum(float(x) ** 2 for x in net.V.ravel())
    assert np.trace(blocks.block(Lam, "u", "u")) + np.trace(blocks.block(Lam, "v", "v")) == pytest.approx(wd, rel=1e-12)

    # trace identity tr Λ_αα + tr Λ_ββ = tr(X Λ_uu Xᵀ)
    lhs = np.trace(blocks.block(Lam, "a", "a")) + np.trace(blocks.block(Lam, "b", "b"))
    rhs = 0.0
    Luu = blocks.block(Lam, "u", "u")
    for i in range(n):
        for k in range(d):
            for l in range(d):
                rhs += Xd[i, k] * Luu[k, l] * Xd[i, l]
    assert lhs == pytest.approx(rhs, rel=1e-12)

    # feasibility residuals
    res = cp_residuals(Lam, Xd, blocks)
    assert set(res) == {"face", "complementarity", "relu_negativity", "psd", "symmetry"}
    scale = np.linalg.norm(Lam) * (1.0 + np.linalg.norm(Xd, 2)) ** 2
    assert res["face"] <= 1e-9 * scale
    assert res["complementarity"] == 0.0
    assert res["relu_negativity"] == 0.0
    assert res["psd"] <= 1e-9 * np.linalg.norm(Lam)
    assert res["symmetry"] <= 1e-12 * np.linalg.norm(Lam)

    # M λ_j = 0 for every neuron
    M = ref_M(Xd, c)
    L = lift_factor(Xd, net.U, net.V)
    for j in range(m):
        lam = L[:, j]
        assert np.linalg.norm(M @ lam) <= 1e-12 * (1 + np.linalg.norm(lam)) * (1 + np.linalg.norm(Xd))
        # complementarity neuron by neuron, exactly
        assert all(lam[i] * lam[n + i] == 0.0 for i in range(n))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), bias=st.booleans(), c=st.integers(1, 4), m=st.integers(1, 10),
       n=st.integers(1, 8), reg=st.floats(min_value=1e-4, max_value=10.0))
def test_lifting_objective_identity_property(seed, bias, c, m, n, reg):
    X, Xd, Y, net = make(seed, n=n, d=2, c=c, m=m, bias=bias)
    blocks = Blocks(n, Xd.shape[1], c)
    Lam = lift(X, net)
    assert cp_objective(Lam, Y, reg, blocks) == pytest.approx(net.objective(X, Y, reg), rel=1e-12)
    res = cp_residuals(Lam, Xd, blocks)
    assert res["complementarity"] == 0.0 and res["relu_negativity"] == 0.0
    nL = np.linalg.norm(Lam)
    assert res["face"] <= 1e-9 * nL * (1 + np.linalg.norm(Xd, 2)) ** 2
    assert res["psd"] <= 1e-9 * nL


def test_recovery_from_factor_reproduces_network():
    """Reading u, v rows of the factor gives back the network and its value (SPEC §2 recovery)."""
    X, Xd, Y, net = make(5, bias=True, m=6)
    L = lift_factor(Xd, net.U, net.V)
    blocks = Blocks(Xd.shape[0], Xd.shape[1], net.n_outputs)
    rec = ReLUNetwork(L[blocks.u], L[blocks.v], bias=True)
    assert rec.objective(X, Y, 0.3) == pytest.approx(cp_objective(L @ L.T, Y, 0.3, blocks), rel=1e-12)


# ------------------------------------------------------------------------------------------------
# cp_objective on general matrices


def test_cp_objective_matches_loop_on_random_matrix():
    rng = np.random.default_rng(3)
    n, d, c = 4, 3, 2
    blocks = Blocks(n, d, c)
    A = rng.standard_normal((blocks.p, blocks.p))
    Lam = A + A.T
    Y = rng.standard_normal((n, c))
    assert cp_objective(Lam, Y, 0.7, blocks) == pytest.approx(ref_cp_objective(Lam, Y, 0.7, n, d, c), rel=1e-13)


def test_cp_objective_accepts_1d_targets_for_single_output():
    X, Xd, Y, net = make(4, c=1)
    blocks = Blocks(7, 3, 1)
    Lam = lift(X, net)
    assert cp_objective(Lam, Y[:, 0], 0.2, blocks) == pytest.approx(cp_objective(Lam, Y, 0.2, blocks), rel=1e-15)
    assert cp_objective(Lam, Y[:, 0], 0.2, blocks) == pytest.approx(net.objective(X, Y, 0.2), rel=1e-12)


def test_cp_objective_rejects_bad_inputs():
    blocks = Blocks(3, 2, 2)
    Lam = np.eye(blocks.p)
    with pytest.raises(ParameterError, match=r"reg must be a positive"):
        cp_objective(Lam, np.zeros((3, 2)), -1.0, blocks)
    with pytest.raises(DataError, match=r"Y has shape \(3, 3\) but the blocks expect \(3, 2\)"):
        cp_objective(Lam, np.zeros((3, 3)), 0.1, blocks)


# ------------------------------------------------------------------------------------------------
# negative tests: violated constraints are detected


def _feasible(seed=11):
    X, Xd, Y, net = make(seed, n=6, d=3, c=2, m=4)
    blocks = Blocks(6, 3, 2)
    Lam = lift(Xd, net.U, net.V)
    return Xd, blocks, 0.5 * (Lam + Lam.T)  # exactly symmetric whatever the BLAS


def test_complementarity_violation_detected():
    Xd, blocks, Lam = _feasible()
    n = blocks.n
    Lam[2, n + 2] = Lam[n + 2, 2] = 0.3
    res = cp_residuals(Lam, Xd, blocks)
    assert res["complementarity"] == pytest.approx(0.3, rel=1e-15)
    Lam[4, n + 4] = Lam[n + 4, 4] = 0.4
    assert cp_residuals(Lam, Xd, blocks)["complementarity"] == pytest.approx(0.5, rel=1e-14)


def test_relu_negativity_violation_detected():
    Xd, blocks, Lam = _feasible()
    n = blocks.n
    Lam[0, n + 1] = Lam[n + 1, 0] = -0.7
    res = cp_residuals(Lam, Xd, blocks)
    assert res["relu_negativity"] == pytest.approx(0.7, rel=1e-15)
    assert res["symmetry"] == 0.0
    # negative entries outside the ReLU block are allowed
    _, _, Lam2 = _feasible()
    Lam2[blocks.u, blocks.v] = -5.0
    Lam2[blocks.v, blocks.u] = -5.0
    assert cp_residuals(Lam2, Xd, blocks)["relu_negativity"] == 0.0


def test_face_violation_detected():
    Xd, blocks, Lam = _feasible()
    E = np.zeros((3, 3))
    E[0, 0] = 1.0
    Lam[blocks.u, blocks.u] += E  # M Λ Mᵀ gains X E Xᵀ = x_0 x_0ᵀ (first column of X)
    face = cp_residuals(Lam, Xd, blocks)["face"]
    expected = np.linalg.norm(np.outer(Xd[:, 0], Xd[:, 0]))
    assert face == pytest.approx(expected, rel=1e-9)


def test_psd_violation_detected():
    Xd, blocks, Lam = _feasible()
    w, Q = np.linalg.eigh(Lam)
    q = Q[:, 0]  # Λ has rank ≤ 4 < p, so its smallest eigenvalue is ~0
    Lam = Lam - (w[0] + 0.5) * np.outer(q, q)
    assert cp_residuals(Lam, Xd, blocks)["psd"] == pytest.approx(0.5, rel=1e-8)


def test_symmetry_violation_detected():
    Xd, blocks, Lam = _feasible()
    Lam[blocks.p - 1, 0] += 0.25
    assert cp_residuals(Lam, Xd, blocks)["symmetry"] == pytest.approx(0.25 * np.sqrt(2), rel=1e-14)


def test_wrong_lift_is_not_feasible():
    """Using |Xu| for both α and β (no ReLU split) must break the face and complementarity."""
    Xd, blocks, _ = _feasible()
    rng = np.random.default_rng(12)
    U = rng.standard_normal((3, 2))
    V = rng.standard_normal((2, 2))
    Z = Xd @ U
    L = np.vstack([np.abs(Z), np.abs(Z), U, V])
    res = cp_residuals(L @ L.T, Xd, blocks)
    assert res["face"] > 1e-3
    assert res["complementarity"] > 1e-3
