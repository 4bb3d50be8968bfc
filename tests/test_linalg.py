"""The tiled products and factorisations of ``convexnn._linalg`` (used above BLAS_TILE_MAX rows,
where OpenBLAS's threaded potrf and syrk crashed), checked with the threshold lowered so that
small matrices take the tiled paths, against plain numpy/scipy and against the callers' results
with the plain paths."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla

from convexnn import _linalg


@pytest.mark.parametrize("rows_a, rows_b, tile", [(30, None, 7), (30, 17, 7), (9, None, 9), (5, 23, 4)])
def test_gram_by_tiles_equals_the_product(rows_a, rows_b, tile, monkeypatch):
    rng = np.random.default_rng(rows_a * 100 + tile)
    A = rng.standard_normal((rows_a, 6))
    B = None if rows_b is None else rng.standard_normal((rows_b, 6))
    expected = A @ (A if B is None else B).T
    monkeypatch.setattr(_linalg, "BLAS_TILE_MAX", tile)
    got = _linalg.gram(A, B)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)
    if B is None:
        assert np.array_equal(got, got.T)  # A Aᵀ exactly symmetric, as numpy's syrk makes it


@pytest.mark.parametrize("N, block", [(1, 1), (7, 3), (30, 7), (30, 29), (64, 16), (45, 100)])
def test_blocked_cholesky_matches_lapack_in_place(N, block, monkeypatch):
    """The blocked factorisation used above BLAS_TILE_MAX rows (lowered here) gives
    LAPACK's factor in the input's own memory, for equal and unequal blocks, and reports a
    matrix that is not positive definite as LinAlgError, as cho_factor does."""
    rng = np.random.default_rng(N + block)
    B = rng.standard_normal((N, N + 3))
    M = B @ B.T + 0.1 * np.eye(N)
    ref = sla.cholesky(M, lower=False)
    monkeypatch.setattr(_linalg, "BLAS_TILE_MAX", block)
    buf = np.tril(M) + np.triu(np.full((N, N), np.nan), 1)  # upper part unread: NaN
    U = _linalg.cholesky_in_place(buf)
    assert np.shares_memory(U, buf)
    np.testing.assert_allclose(np.triu(U), ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
    if N > 1:
        bad = M.copy()
        bad[N - 1, N - 1] = -1.0  # the last leading minor is indefinite
        with pytest.raises(np.linalg.LinAlgError):
            _linalg.cholesky_in_place(np.tril(bad))


@pytest.mark.parametrize("N, block", [(1, 1), (30, 7), (45, 100), (64, 16)])
@pytest.mark.parametrize("rhs", [None, 1, 3])
def test_cholesky_solve_solves_with_the_factor_in_place(N, block, rhs, monkeypatch):
    """``cholesky_solve`` with the factor of ``cholesky_in_place`` (plain and by tiles, the
    other triangle of its memory left NaN as the solvers leave it stale) solves M x = b as a
    dense LU solve does, for a vector and for columns, and leaves b as it was."""
    rng = np.random.default_rng(N * 10 + block)
    B = rng.standard_normal((N, N + 4))
    M = B @ B.T + 0.1 * np.eye(N)
    b = rng.standard_normal(N if rhs is None else (N, rhs))
    b0 = b.copy()
    monkeypatch.setattr(_linalg, "BLAS_TILE_MAX", block)
    buf = np.tril(M) + np.triu(np.full((N, N), np.nan), 1)
    U = _linalg.cholesky_in_place(buf)
    x = _linalg.cholesky_solve(U, b)
    expected = np.linalg.solve(M, b)
    assert x.shape == b.shape
    np.testing.assert_allclose(x, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())
    np.testing.assert_allclose(M @ x, b, rtol=1e-9, atol=1e-11 * np.abs(b).max())
    assert np.array_equal(b, b0)


@pytest.mark.parametrize("N, block", [(13, 12), (30, 7), (31, 10), (64, 16), (100, 33)])
def test_cholesky_work_sizes_are_enough_and_tight(N, block, monkeypatch):
    """Scratch arrays of exactly :func:`cholesky_work_sizes` entries give the tiled factorisation
    LAPACK's factor; one entry fewer in either is refused (so the sizes are not padded either). In
    all b·N entries for tiles of b ≤ ⌈N/2⌉ rows, where the callers' estimates once counted 1.25 N²."""
    rng = np.random.default_rng(N * block)
    B = rng.standard_normal((N, N + 2))
    M = B @ B.T + 0.1 * np.eye(N)
    ref = sla.cholesky(M, lower=False)
    monkeypatch.setattr(_linalg, "BLAS_TILE_MAX", block)
    k1, k2 = _linalg.cholesky_work_sizes(N)
    b = -(-N // -(-N // block))  # the tiles' rows: N split into ⌈N / block⌉ equal parts
    assert k1 + k2 == b * N <= -(-N // 2) * N
    buf = np.tril(M)
    U = _linalg.cholesky_in_place(buf, work=(np.empty(k1), np.empty(k2)))
    np.testing.assert_allclose(np.triu(U), ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
    for short in ((k1 - 1, k2), (k1, k2 - 1)):
        with pytest.raises(ValueError, match="too small"):
            _linalg.cholesky_in_place(np.tril(M), work=tuple(np.empty(k) for k in short))
    assert _linalg.cholesky_work_sizes(block) == (0, 0)  # untiled: LAPACK in place, no scratch


def test_scratch_arrays_that_are_too_small_are_refused():
    A = np.eye(10)
    with pytest.raises(ValueError, match="too small"):
        _linalg.blocked_cholesky(A.T, (np.empty(10), np.empty(10)), 4)


def test_kernel_regression_by_tiles_matches_the_plain_path(monkeypatch):
    """NNGP/NTK fits whose kernel product and Cholesky factorisation run by tiles predict what
    the plain products and LAPACK's factorisation predict, with the same condition estimate."""
    from convexnn.baselines.kernels import kernel_fit

    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((40, 5)), rng.standard_normal((40, 2))
    Xt = rng.standard_normal((7, 5))
    plain = {k: kernel_fit(X, Y, 0.1, kind=k) for k in ("nngp", "ntk")}
    monkeypatch.setattr(_linalg, "BLAS_TILE_MAX", 9)
    for kind, ref in plain.items():
        tiled = kernel_fit(X, Y, 0.1, kind=kind)
        np.testing.assert_allclose(tiled.alpha, ref.alpha, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(tiled.predict(Xt), ref.predict(Xt), rtol=1e-9, atol=1e-12)
        assert tiled.info["condition_estimate"] == pytest.approx(ref.info["condition_estimate"], rel=1e-6)


@pytest.mark.parametrize("n", [12, 60])  # n ≤ k·d: the n×n (dual) system; n > k·d: the k·d one
def test_gated_admm_by_tiles_matches_the_plain_path(n, monkeypatch):
    from convexnn.arrangements.gated import solve_gated
    from convexnn.arrangements.patterns import sample_patterns

    rng = np.random.default_rng(n)
    X, Y = rng.standard_normal((n, 3)), rng.standard_normal((n, 1))
    ps = sample_patterns(X, 4, seed=1)
    ref = solve_gated(X, Y, 0.05, ps, tol=1e-8, max_iter=3000, algorithm="admm")
    monkeypatch.setattr(_linalg, "BLAS_TILE_MAX", 5)
    got = solve_gated(X, Y, 0.05, ps, tol=1e-8, max_iter=3000, algorithm="admm")
    assert got.status == ref.status == "optimal"
    # both solved to a relative duality gap of 1e-8; a wrong Gram matrix or factor would not be
    assert got.value == pytest.approx(ref.value, rel=1e-7)
    assert got.lower_bound == pytest.approx(ref.lower_bound, rel=1e-7)
