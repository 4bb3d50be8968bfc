"""Infinite-width kernel baselines: NNGP and NTK regression (SPEC §6).

Both kernels belong to the network Dense(W_std=1, no bias) → ReLU → Dense(c, W_std=1, no bias)
in the NTK parametrisation, i.e. f(x) = (1/√m) Σ_j a_j relu(w_jᵀx/√d) with a_j, w_j standard
normal. With Σ = ⟨x,x′⟩/d, q = ‖x‖²/d, q′ = ‖x′‖²/d and θ the angle between x and x′:

    K_NNGP(x, x′) = √(qq′)/(2π) · (sin θ + (π − θ) cos θ)      (arc-cosine kernel of degree 1)
    Θ_NTK(x, x′)  = K_NNGP(x, x′) + Σ · (π − θ)/(2π)

Prediction ("infinite-time" kernel ridge regression, ridge relative to the mean diagonal):
μ(X*) = K(X*, X) [K(X, X) + ρ (tr K(X, X)/n) I]⁻¹ Y, solved in float64 by Cholesky. Because the
ridge is relative, predictions do not change when the kernel is multiplied by a constant.

Bias variant: ``bias=True`` appends a ones column to every input *before* the kernel is
evaluated (so d → d + 1). This is the input-feature trick the library uses for NN-TRAIN, not the
``b_std`` bias parameter of neural-tangents' Dense layers.
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from .._linalg import cholesky_in_place, gram
from .._validation import as_float_matrix, check_flag, check_memory, check_XY
from ..errors import DataError, ParameterError

__all__ = [
    "nngp_kernel",
    "ntk_kernel",
    "kernel_matrix",
    "kernel_regression",
    "kernel_fit",
    "KernelModel",
    "KINDS",
]

KINDS = ("nngp", "ntk")

# |cos θ| above this is recomputed from unit-vector differences: arccos loses half the digits there.
_NEAR_PARALLEL = 1.0 - 1e-6
# bytes per kernel entry that the solve and the prediction may hold at once (K, factor, temporaries)
_BYTES_PER_ENTRY = 8 * 4
_PREDICT_CHUNK_BYTES = 256 * 1024**2


def _angles(A: np.ndarray, B: np.ndarray, same: bool):
    """Row norms of A and B and the matrix of angles θ_ij ∈ [0, π] (0 where a row is zero)."""
    na = np.sqrt(np.einsum("ij,ij->i", A, A))
    nb = na if same else np.sqrt(np.einsum("ij,ij->i", B, B))
    denom = np.multiply.outer(na, nb)
    ok = denom > 0
    cos = np.zeros_like(denom)
    np.divide(gram(A, None if same else B), denom, out=cos, where=ok)  # tiled when large
    np.clip(cos, -1.0, 1.0, out=cos)
    theta = np.arccos(cos)
    near = ok & (np.abs(cos) > _NEAR_PARALLEL)
    if np.any(near):
        # θ = 2·atan2(‖â − b̂‖, ‖â + b̂‖) is accurate for nearly (anti-)parallel pairs
        i, j = np.nonzero(near)
        ua = A[i] / na[i, None]
        ub = B[j] / nb[j, None]
        theta[i, j] = 2.0 * np.arctan2(
            np.linalg.norm(ua - ub, axis=1), np.linalg.norm(ua + ub, axis=1)
        )
    if same:
        theta = 0.5 * (theta + theta.T)
        np.fill_diagonal(theta, 0.0)
    return na, nb, theta, ok


def _pair(A, B, name_a="A", name_b="B"):
    A = as_float_matrix(A, name_a)
    same = B is None or B is A
    if same:
        return A, A, True
    B = as_float_matrix(B, name_b)
    if B.shape[1] != A.shape[1]:
        raise DataError(
            f"{name_a} has {A.shape[1]} features but {name_b} has {B.shape[1]}; they must match."
        )
    return A, B, False


def _check_kernel_memory(n_rows: int, n_cols: int, what: str) -> None:
    check_memory(float(n_rows) * float(n_cols) * _BYTES_PER_ENTRY, what)


def _nngp_from_angles(na, nb, theta, d):
    scale = np.multiply.outer(na, nb) / d
    return scale / (2.0 * np.pi) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)), scale


def nngp_kernel(A, B=None) -> np.ndarray:
    """NNGP kernel matrix K(A, B) of the one-hidden-layer ReLU network (rows are inputs).

    ``B=None`` means K(A, A), returned exactly symmetric. Rows of zeros give zero rows/columns.
    """
    A, B, same = _pair(A, B)
    _check_kernel_memory(A.shape[0], B.shape[0], "the NNGP kernel matrix")
    na, nb, theta, _ = _angles(A, B, same)
    K, _ = _nngp_from_angles(na, nb, theta, A.shape[1])
    return 0.5 * (K + K.T) if same else K


def ntk_kernel(A, B=None) -> np.ndarray:
    """NTK matrix Θ(A, B) = K_NNGP + Σ (π − θ)/(2π) of the same network (rows are inputs)."""
    A, B, same = _pair(A, B)
    _check_kernel_memory(A.shape[0], B.shape[0], "the NTK kernel matrix")
    na, nb, theta, _ = _angles(A, B, same)
    K, scale = _nngp_from_angles(na, nb, theta, A.shape[1])
    T = K + scale * np.cos(theta) * (np.pi - theta) / (2.0 * np.pi)
    return 0.5 * (T + T.T) if same else T


def _check_kind(kind) -> str:
    if not isinstance(kind, str) or kind.lower() not in KINDS:
        raise ParameterError(f"kind must be one of {KINDS}; got {kind!r}.")
    return kind.lower()


def kernel_matrix(A, B=None, kind: str = "nngp") -> np.ndarray:
    """K(A, B) for ``kind`` 'nngp' or 'ntk'."""
    kind = _check_kind(kind)
    return nngp_kernel(A, B) if kind == "nngp" else ntk_kernel(A, B)


def _check_ridge(reg) -> float:
    if isinstance(reg, bool) or not isinstance(reg, numbers.Real) or not np.isfinite(reg) or reg < 0:
        raise ParameterError(f"reg (the relative ridge ρ) must be a finite number >= 0; got {reg!r}.")
    return float(reg)


def _factor(K: np.ndarray, reg: float):
    """Cholesky factor of K + ρ (tr K / n) I, the ridge actually used and an estimate of cond."""
    n = K.shape[0]
    trace = float(np.trace(K))
    if not trace > 0:
        raise DataError("the training kernel matrix is zero (all training inputs are zero vectors).")
    ridge = reg * trace / n
    Kr = K.copy()
    Kr.flat[:: n + 1] += ridge
    anorm = float(np.max(np.sum(np.abs(Kr), axis=0)))
    try:
        # in Kr's memory; by tiles above BLAS_TILE_MAX rows, where OpenBLAS's potrf crashed
        U = cholesky_in_place(Kr)
    except np.linalg.LinAlgError as exc:
        raise DataError(
            "the regularised kernel matrix is not numerically positive definite "
            f"(relative ridge ρ = {reg:g}); increase reg or remove duplicate training inputs."
        ) from exc
    # LAPACK's 1-norm reciprocal condition estimate from the Cholesky factor (O(n²))
    try:
        rcond, info = scipy.linalg.lapack.dpocon(U, anorm, uplo="U")
        cond = float(1.0 / rcond) if info == 0 and rcond > 0 else float("inf")
    except Exception:  # pragma: no cover - very old SciPy without dpocon
        cond = float("nan")
    return (U, False), ridge, cond


def kernel_regression(K_train, K_cross, Y, reg: float) -> np.ndarray:
    """μ = K_cross [K_train + ρ (tr K_train / n) I]⁻¹ Y for precomputed kernel matrices."""
    K_train = as_float_matrix(K_train, "K_train")
    K_cross = as_float_matrix(K_cross, "K_cross")
    Y = as_float_matrix(Y, "Y", allow_1d_as_column=True)
    n = K_train.shape[0]
    if K_train.shape != (n, n):
        raise DataError(f"K_train must be square; got shape {K_train.shape}.")
    if Y.shape[0] != n or K_cross.shape[1] != n:
        raise DataError(
            f"shapes do not match: K_train {K_train.shape}, K_cross {K_cross.shape}, Y {Y.shape}."
        )
    fac, _, _ = _factor(0.5 * (K_train + K_train.T), _check_ridge(reg))
    return K_cross @ scipy.linalg.cho_solve(fac, Y, check_finite=False)


@dataclass
class KernelModel:
    """A fitted NNGP/NTK kernel-regression predictor (``alpha`` = [K + ridge·I]⁻¹ Y)."""

    kind: str
    X_train: np.ndarray  # design matrix used inside the kernel (ones column included if bias)
    alpha: np.ndarray
    reg: float
    bias: bool = False
    info: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        """Number of raw input features (the bias column is not counted)."""
        return self.X_train.shape[1] - int(self.bias)

    def _design(self, X) -> np.ndarray:
        X = as_float_matrix(X, "X")
        if X.shape[1] != self.n_features:
            raise DataError(f"X has {X.shape[1]} features but the model was fitted on {self.n_features}.")
        if self.bias:
            X = np.hstack([X, np.ones((X.shape[0], 1))])
        return X

    def predict(self, X) -> np.ndarray:
        """Posterior mean μ(X) = K(X, X_train) α, computed in row chunks to bound memory."""
        Xd = self._design(X)
        n = self.X_train.shape[0]
        rows = max(1, int(_PREDICT_CHUNK_BYTES // (_BYTES_PER_ENTRY * max(n, 1))))
        _check_kernel_memory(min(rows, Xd.shape[0]), n, "the test-versus-train kernel block")
        out = np.empty((Xd.shape[0], self.alpha.shape[1]))
        for s in range(0, Xd.shape[0], rows):
            out[s:s + rows] = kernel_matrix(Xd[s:s + rows], self.X_train, self.kind) @ self.alpha
        return out


def kernel_fit(X, Y, reg: float, kind: str = "nngp", bias: bool = False) -> KernelModel:
    """Fit NNGP (``kind='nngp'``) or NTK (``'ntk'``) kernel regression with relative ridge ρ = reg.

    X are raw inputs (n×d), Y targets (n×c, or a vector). ``bias=True`` appends a ones column
    before the kernel (our input-feature bias variant). ``info`` holds the ridge actually added,
    LAPACK's condition-number estimate of the regularised matrix and the fit time.
    """
    t0 = time.perf_counter()
    kind = _check_kind(kind)
    reg = _check_ridge(reg)
    bias = check_flag(bias, "bias")
    X, Y = check_XY(X, Y)
    if bias:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
    n = X.shape[0]
    _check_kernel_memory(n, n, f"the {n}×{n} training kernel matrix")
    K = kernel_matrix(X, None, kind)
    fac, ridge, cond = _factor(K, reg)
    alpha = scipy.linalg.cho_solve(fac, Y, check_finite=False)
    info = {
        "kind": kind,
        "reg": reg,
        "ridge": ridge,
        "condition_estimate": cond,
        "n_train": n,
        "time_s": time.perf_counter() - t0,
    }
    return KernelModel(kind, X, alpha, reg, bool(bias), info)
