"""Tests of the NNGP/NTK kernel baselines (convexnn.baselines.kernels), SPEC §6.

Checks: closed-form identities (diagonal, homogeneity, symmetry, PSD) with hypothesis; Monte-Carlo
convergence of wide random networks to the closed forms (NNGP by feature averages, NTK by
gradient inner products, derivatives checked independently); regression properties.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import convexnn._validation as validation
from convexnn.baselines.kernels import (
    kernel_fit,
    kernel_matrix,
    kernel_regression,
    nngp_kernel,
    ntk_kernel,
)
from convexnn.errors import DataError, MemoryEstimateError, ParameterError

KINDS = ("nngp", "ntk")

_coord = st.one_of(
    st.just(0.0),
    st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False, allow_subnormal=False),
)


def _matrices(max_n=7, max_d=4):
    return st.integers(1, max_d).flatmap(
        lambda d: st.integers(1, max_n).flatmap(lambda n: arrays(np.float64, (n, d), elements=_coord))
    )


# ---------------------------------------------------------------- closed-form identities


@settings(max_examples=60, deadline=None)
@given(_matrices())
def test_diagonal_identities(X):
    d = X.shape[1]
    K = nngp_kernel(X)
    T = ntk_kernel(X)
    sq = np.sum(X**2, axis=1)
    np.testing.assert_allclose(np.diag(K), sq / (2 * d), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(np.diag(T), 2 * np.diag(K), rtol=1e-12, atol=1e-300)
    # the single-argument and two-argument calls agree (the latter never assumes symmetry)
    np.testing.assert_allclose(nngp_kernel(X, X.copy()), K, rtol=1e-9, atol=1e-12 * (1 + sq.max()))
    np.testing.assert_allclose(ntk_kernel(X, X.copy()), T, rtol=1e-9, atol=1e-12 * (1 + sq.max()))


@settings(max_examples=60, deadline=None)
@given(_matrices(max_n=5), _matrices(max_n=5), st.floats(0.05, 20.0), st.floats(0.05, 20.0))
def test_positive_homogeneity_and_symmetry(A, B, alpha, beta):
    if A.shape[1] != B.shape[1]:
        B = np.resize(B, (B.shape[0], A.shape[1]))
    for kind in KINDS:
        K = kernel_matrix(A, B, kind)
        K2 = kernel_matrix(alpha * A, beta * B, kind)
        scale = 1e-12 * (1 + np.abs(K).max()) * alpha * beta
        np.testing.assert_allclose(K2, alpha * beta * K, rtol=1e-9, atol=scale)
        np.testing.assert_allclose(kernel_matrix(B, A, kind), K.T, rtol=1e-12, atol=1e-14 * (1 + np.abs(K).max()))
        KA = kernel_matrix(A, None, kind)
        assert np.array_equal(KA, KA.T)


@settings(max_examples=80, deadline=None)
@given(_matrices(max_n=9, max_d=3), st.booleans())
def test_psd(X, duplicate):
    if duplicate:  # exact duplicates and negated copies are the delicate cases for θ
        X = np.vstack([X, X[:1], -X[-1:], 3.0 * X[:1]])
    for kind in KINDS:
        K = kernel_matrix(X, None, kind)
        scale = max(float(np.abs(K).max()), 1e-300)
        assert np.linalg.eigvalsh(K).min() >= -1e-10 * scale


def test_known_values():
    # orthogonal unit vectors in d = 2: θ = π/2 → K = 1/(2π·2), Σ = 0
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    K = nngp_kernel(X)
    T = ntk_kernel(X)
    assert K[0, 1] == pytest.approx(1 / (4 * np.pi), rel=1e-14)
    assert T[0, 1] == pytest.approx(1 / (4 * np.pi), rel=1e-14)
    # antiparallel: θ = π → both kernels vanish
    assert abs(K[0, 2]) < 1e-16 and abs(T[0, 2]) < 1e-16


def test_zero_rows_give_zero_kernel():
    X = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    for kind in KINDS:
        K = kernel_matrix(X, None, kind)
        assert np.all(K[0] == 0) and np.all(K[:, 0] == 0)
        assert np.all(np.isfinite(K))


def test_nearly_parallel_is_accurate():
    # arccos would lose half the digits here; the kernel's derivative in θ is O(θ) for NNGP and O(1) for NTK
    x = np.array([[1.0, 0.0]])
    eps = 1e-9
    y = np.array([[np.cos(eps), np.sin(eps)]])
    T = ntk_kernel(x, y)[0, 0]
    nngp = 1 / (2 * np.pi * 2) * (np.sin(eps) + (np.pi - eps) * np.cos(eps))
    exact = nngp + np.cos(eps) / 2 * (np.pi - eps) / (2 * np.pi)
    assert T == pytest.approx(exact, rel=1e-14)


# ---------------------------------------------------------------- Monte Carlo: wide networks

M_WIDE = 200_000


def _mc_points():
    rng = np.random.default_rng(11)
    d = 3
    X = rng.standard_normal((4, d))
    X[1] = X[0] + 0.3 * rng.standard_normal(d)  # a close pair (small θ) and a wide-angle pair
    X[3] = -X[2] + 0.8 * rng.standard_normal(d)
    return X


def test_nngp_monte_carlo():
    X = _mc_points()
    n, d = X.shape
    rng = np.random.default_rng(2024)
    W = rng.standard_normal((d, M_WIDE)) / np.sqrt(d)  # W ~ N(0, 1/d)
    H = np.maximum(X @ W, 0.0)
    emp = H @ H.T / M_WIDE
    prod = H[:, None, :] * H[None, :, :]
    se = prod.std(axis=2) / np.sqrt(M_WIDE)
    K = nngp_kernel(X)
    diag = np.sqrt(np.outer(np.diag(K), np.diag(K)))
    err = np.abs(emp - K)
    # statistically calibrated: every entry within 4.5 standard errors of the closed form ...
    assert np.all(err <= 4.5 * se + 1e-15), (err / se).max()
    # ... which at m = 2e5 means a few 1e-3 relative (the standard error of a diagonal entry is
    # √(5/m) ≈ 5e-3 of it, of an off-diagonal one less)
    assert (err / diag).max() < 2e-2


def _ntk_jacobian_numpy(X, a, W):
    """Per-parameter gradients of f(x) = (1/√m) Σ a_j relu(w_jᵀx/√d): rows = inputs."""
    d, m = W.shape
    Z = X @ W / np.sqrt(d)
    da = np.maximum(Z, 0.0) / np.sqrt(m)  # ∂f/∂a_j
    gate = (Z > 0) * a / np.sqrt(m)  # ∂f/∂w_j = gate_j · x/√d
    dW = gate[:, None, :] * X[:, :, None] / np.sqrt(d)
    return np.concatenate([da, dW.reshape(X.shape[0], -1)], axis=1)


def _net(X, a, W):
    d, m = W.shape
    return np.maximum(X @ W / np.sqrt(d), 0.0) @ a / np.sqrt(m)


def test_ntk_jacobian_matches_finite_differences():
    # the analytic gradients used below are themselves checked against central differences
    rng = np.random.default_rng(5)
    X = _mc_points()
    d, m = X.shape[1], 7
    a = rng.standard_normal(m)
    W = rng.standard_normal((d, m))
    J = _ntk_jacobian_numpy(X, a, W)
    theta = np.concatenate([a, W.ravel()])
    h = 1e-6
    Jfd = np.empty_like(J)
    for k in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[k] += h
        tm[k] -= h
        fp = _net(X, tp[:m], tp[m:].reshape(d, m))
        fm = _net(X, tm[:m], tm[m:].reshape(d, m))
        Jfd[:, k] = (fp - fm) / (2 * h)
    np.testing.assert_allclose(J, Jfd, atol=1e-7)


def test_ntk_monte_carlo_numpy():
    X = _mc_points()
    n, d = X.shape
    rng = np.random.default_rng(7)
    a = rng.standard_normal(M_WIDE)
    W = rng.standard_normal((d, M_WIDE))
    emp = np.zeros((n, n))
    for s in range(0, M_WIDE, 50_000):  # chunks keep the Jacobian small
        J = _ntk_jacobian_numpy(X, a[s:s + 50_000], W[:, s:s + 50_000]) * np.sqrt(50_000 / M_WIDE)
        emp += J @ J.T
    T = ntk_kernel(X)
    diag = np.sqrt(np.outer(np.diag(T), np.diag(T)))
    assert (np.abs(emp - T) / diag).max() < 1e-2
    # the NNGP part alone must not match (guards against comparing the wrong kernel)
    K = nngp_kernel(X)
    assert (np.abs(emp - K) / diag).max() > 0.1


def test_ntk_monte_carlo_autograd():
    torch = pytest.importorskip("torch")
    X = _mc_points()
    n, d = X.shape
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors; shared CI cores
    try:
        g = torch.Generator().manual_seed(3)
        a = torch.randn(M_WIDE, generator=g, dtype=torch.float64, requires_grad=True)
        W = torch.randn(d, M_WIDE, generator=g, dtype=torch.float64, requires_grad=True)
        Xt = torch.tensor(X)
        out = torch.relu(Xt @ W / np.sqrt(d)) @ a / np.sqrt(M_WIDE)
        rows = []
        for i in range(n):  # one backward pass per input: rows of the Jacobian
            ga, gW = torch.autograd.grad(out[i], (a, W), retain_graph=True)
            rows.append(torch.cat([ga, gW.reshape(-1)]).numpy())
    finally:
        torch.set_num_threads(threads)
    J = np.stack(rows)
    emp = J @ J.T
    T = ntk_kernel(X)
    diag = np.sqrt(np.outer(np.diag(T), np.diag(T)))
    assert (np.abs(emp - T) / diag).max() < 1e-2


# ---------------------------------------------------------------- regression


def _data(seed=0, n=12, d=5, c=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((n, c)), rng.standard_normal((6, d))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bias", [False, True])
def test_prediction_matches_direct_solve(kind, bias):
    X, Y, Xs = _data()
    reg = 0.1
    model = kernel_fit(X, Y, reg, kind=kind, bias=bias)
    Xd = np.hstack([X, np.ones((len(X), 1))]) if bias else X
    Xsd = np.hstack([Xs, np.ones((len(Xs), 1))]) if bias else Xs
    K = kernel_matrix(Xd, None, kind)
    Ks = kernel_matrix(Xsd, Xd, kind)
    ref = Ks @ np.linalg.solve(K + reg * np.trace(K) / len(X) * np.eye(len(X)), Y)
    np.testing.assert_allclose(model.predict(Xs), ref, rtol=1e-9, atol=1e-12)
    assert model.info["condition_estimate"] >= 1.0
    assert model.info["ridge"] == pytest.approx(reg * np.trace(K) / len(X))


def test_vector_and_1d_targets():
    X, Y, Xs = _data(c=1)
    m1 = kernel_fit(X, Y[:, 0], 0.01)
    m2 = kernel_fit(X, Y, 0.01)
    assert m1.predict(Xs).shape == (len(Xs), 1)
    np.testing.assert_allclose(m1.predict(Xs), m2.predict(Xs))


@pytest.mark.parametrize("kind", KINDS)
def test_scale_invariance(kind):
    X, Y, Xs = _data(1)
    K = kernel_matrix(X, None, kind)
    Ks = kernel_matrix(Xs, X, kind)
    mu = kernel_regression(K, Ks, Y, 0.01)
    mu7 = kernel_regression(7.0 * K, 7.0 * Ks, Y, 0.01)
    np.testing.assert_allclose(mu7, mu, rtol=1e-10, atol=1e-12)
    # and scaling the inputs (which scales both kernels by the same factor) changes nothing
    np.testing.assert_allclose(kernel_fit(3.0 * X, Y, 0.01, kind).predict(3.0 * Xs), mu, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_interpolation_as_ridge_vanishes(kind):
    X, Y, _ = _data(2, n=10, d=6)
    for reg in (1e-10, 0.0):
        model = kernel_fit(X, Y, reg, kind)
        assert model.info["condition_estimate"] < 1e6  # well conditioned instance
        np.testing.assert_allclose(model.predict(X), Y, atol=1e-6 * np.abs(Y).max())
    # with a real ridge the fit is not an interpolation
    assert np.abs(kernel_fit(X, Y, 0.1, kind).predict(X) - Y).max() > 1e-3


def test_bad_input():
    X, Y, _ = _data()
    with pytest.raises(ParameterError):
        kernel_fit(X, Y, -1.0)
    with pytest.raises(ParameterError):
        kernel_fit(X, Y, 0.1, kind="rbf")
    with pytest.raises(DataError):
        kernel_fit(X, Y[:-1], 0.1)
    with pytest.raises(DataError):
        nngp_kernel(X, X[:, :2])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError):
        ntk_kernel(bad)
    with pytest.raises(DataError):  # all-zero training inputs: the kernel is zero
        kernel_fit(np.zeros((4, 2)), np.ones((4, 1)), 0.1)
    with pytest.raises(DataError):  # exact duplicates with no ridge are singular
        kernel_fit(np.vstack([X, X[:1]]), np.vstack([Y, Y[:1] + 1]), 0.0)
    model = kernel_fit(X, Y, 0.1)
    with pytest.raises(DataError):
        model.predict(X[:, :3])


def test_memory_guard(monkeypatch):
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 1024**3)
    X = np.ones((20_000, 1))
    with pytest.raises(MemoryEstimateError):
        kernel_fit(X, np.ones(20_000), 0.1)
    with pytest.raises(MemoryEstimateError):
        nngp_kernel(X)
