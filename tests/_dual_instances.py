"""Small random instances (X, G) of the dual norm σ = max_{‖u‖≤1} ‖Gᵀ(Xu)_+‖, shared by the tests of
its two oracles (the branch and bound and the face enumeration): d = 1–4 columns, 1–3 outputs,
and by ``seed`` modulo ``kinds`` the degenerate cases that either oracle must survive."""

import numpy as np


def dual_norm_instance(seed: int, kinds: int = 4, max_rows: int = 30):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 5))
    n = int(rng.integers(3, max_rows))
    c = int(rng.integers(1, 4))
    X = rng.standard_normal((n, d))
    G = rng.standard_normal((n, c))
    kind = seed % kinds
    if kind == 1 and n > 3:  # an exactly parallel, an antiparallel and a duplicate row
        X[1] = 3.0 * X[0]
        X[2] = -0.5 * X[0]
        X[3] = X[0]
    elif kind == 2:  # a zero row and nearly parallel rows
        X[0] = 0.0
        X[-1] = X[-2] + 1e-9 * rng.standard_normal(d)
    elif kind == 3 and d > 1:  # a constant feature (a bias column)
        X[:, -1] = 1.0
    elif kind == 4:  # small integers: many hyperplanes through one vertex
        X = rng.integers(-2, 3, size=(n, d)).astype(float)
    return X, G


def nested_quotient_instance(seed: int = 5):
    """(X, G, rng) with ten rows through ±e₄ (all orthogonal to it), nine of them also through ±e₁,
    and ten random rows: a vertex whose faces need a quotient level, and a quotient inside it.
    ``rng`` continues the stream (for random directions)."""
    rng = np.random.default_rng(seed)
    plane = rng.standard_normal((9, 2))
    X = np.vstack([np.c_[np.zeros(9), plane, np.zeros(9)], np.r_[1.0, rng.standard_normal(2), 0.0],
                   rng.standard_normal((10, 4))])
    return X, rng.standard_normal((len(X), 2)), rng
