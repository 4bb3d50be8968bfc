"""The synthetic optimisation benchmarks of [PBY25]: the "Random" teacher sets and the Spiral."""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_positive_int
from ..errors import ParameterError
from ._containers import Dataset


def _check_seed(seed) -> int:
    """Return ``seed`` as an int accepted by ``np.random.RandomState`` or raise ParameterError."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise ParameterError(f"seed must be an integer in 0..2**32-1; got {seed!r}.")
    return int(seed)


def make_random(index: int = 0, *, seed: int = 100, n: int = 25, d: int = 2, c: int = 5,
                width: int = 100) -> Dataset:
    """Generate member ``index`` of the "Random" family: Y = relu(X U) Vᵀ with Gaussian X, U, V.

    One ``RandomState(seed)`` stream is shared by the whole family: for each member 0..index in
    turn it draws U = randn(d, width), then V = randn(c, width), then X = randn(n, d). With the
    defaults this reproduces the 100 regression sets (n=25, d=2, c=5, teacher width 100) of the
    reference experiments. The result is a regression :class:`Dataset` flagged ``synthetic``.
    """
    index = check_positive_int(index, "index", minimum=0)
    seed = _check_seed(seed)
    n = check_positive_int(n, "n")
    d = check_positive_int(d, "d")
    c = check_positive_int(c, "c")
    width = check_positive_int(width, "width")
    rng = np.random.RandomState(seed)
    for _ in range(index + 1):
        U = rng.randn(d, width)
        V = rng.randn(c, width)
        X = rng.randn(n, d)
    Y = np.maximum(X @ U, 0.0) @ V.T
    return Dataset(
        name=f"random:{index}",
        X=X,
        Y=Y,
        y=Y,
        task="regression",
        label_names=None,
        feature_names=tuple(f"x{j}" for j in range(d)),
        source=(
            f"synthetic teacher network Y = relu(XU)V^T, member {index} of the RandomState({seed}) "
            f"stream (n={n}, d={d}, c={c}, width={width}) [PBY25]"
        ),
        synthetic=True,
    )


def make_spiral(*, seed: int = 100, n_per_class: int = 20, n_classes: int = 3,
                noise: float = 0.15) -> Dataset:
    """Generate the 2-D spiral classification set: ``n_classes`` noisy arms of ``n_per_class`` points.

    With ``rng = RandomState(seed)``, class k = 0, 1, ... gets r = linspace(0, 1, n_per_class)/2,
    t = linspace(4k, 4(k+1), n_per_class) + noise·rng.randn(n_per_class) and points
    (r sin t, r cos t). The defaults reproduce the 60-point, 3-class set of the reference
    experiments. The result is a classification :class:`Dataset` flagged ``synthetic``.
    """
    seed = _check_seed(seed)
    n_per_class = check_positive_int(n_per_class, "n_per_class", minimum=2)
    n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not np.isfinite(noise) or noise < 0:
        raise ParameterError(f"noise must be a finite number >= 0; got {noise!r}.")
    rng = np.random.RandomState(seed)
    X = np.empty((n_per_class * n_classes, 2))
    y = np.repeat(np.arange(n_classes), n_per_class)
    for k in range(n_classes):
        r = np.linspace(0.0, 1.0, n_per_class) / 2
        t = np.linspace(4 * k, 4 * (k + 1), n_per_class) + float(noise) * rng.randn(n_per_class)
        rows = slice(k * n_per_class, (k + 1) * n_per_class)
        X[rows, 0] = r * np.sin(t)
        X[rows, 1] = r * np.cos(t)
    Y = np.zeros((X.shape[0], n_classes))
    Y[np.arange(X.shape[0]), y] = 1.0
    return Dataset(
        name="spiral",
        X=X,
        Y=Y,
        y=y,
        task="classification",
        label_names=tuple(str(k) for k in range(n_classes)),
        feature_names=("x0", "x1"),
        source=(
            f"synthetic spiral, {n_classes} classes x {n_per_class} points, noise {noise}, "
            f"RandomState({seed}) [PBY25]"
        ),
        synthetic=True,
    )
