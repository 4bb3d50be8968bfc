"""The training problem NN-TRAIN: data, targets and reg, with objective and gradient (SPEC §1).

    p*(m) = min_{U,V} ½‖(XU)_+ Vᵀ − Y‖² + (reg/2)(‖U‖² + ‖V‖²)

``X`` here is the *design matrix*: when ``bias`` is true its last column is the ones column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import check_flag, check_reg, check_XY
from .errors import DataError


@dataclass(frozen=True)
class TrainingProblem:
    """Data (design matrix X, targets Y) and regularisation ``reg`` of NN-TRAIN."""

    X: np.ndarray
    Y: np.ndarray
    reg: float
    bias: bool = False

    def __post_init__(self):
        X, Y = check_XY(self.X, self.Y)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "Y", Y)
        object.__setattr__(self, "reg", check_reg(self.reg))
        object.__setattr__(self, "bias", check_flag(self.bias, "bias"))
        if self.bias and not np.all(X[:, -1] == 1.0):
            raise DataError("bias=True but the last column of X is not all ones.")

    @classmethod
    def from_data(cls, X, Y, reg: float, *, bias: bool = False) -> "TrainingProblem":
        """Build the problem from raw features, appending the ones column when ``bias``."""
        X, Y = check_XY(X, Y)
        if check_flag(bias, "bias"):
            X = np.hstack([X, np.ones((X.shape[0], 1))])
        return cls(X, Y, reg, bias)

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        """Number of columns of the design matrix (including the bias column)."""
        return self.X.shape[1]

    @property
    def c(self) -> int:
        return self.Y.shape[1]

    @property
    def zero_value(self) -> float:
        """Objective of the zero network, ½‖Y‖² — an upper bound on p*."""
        return 0.5 * float(np.vdot(self.Y, self.Y))

    def _check_weights(self, U, V):
        U = np.asarray(U, dtype=np.float64)
        V = np.asarray(V, dtype=np.float64)
        if U.ndim != 2 or U.shape[0] != self.d:
            raise DataError(f"U must have shape ({self.d}, m); got {U.shape}.")
        if V.ndim != 2 or V.shape[0] != self.c or V.shape[1] != U.shape[1]:
            raise DataError(f"V must have shape ({self.c}, {U.shape[1]}); got {V.shape}.")
        return U, V

    def objective(self, U, V) -> float:
        """NN-TRAIN value at first-layer weights U (d×m) and output weights V (c×m)."""
        return self.objective_and_gradient(U, V, need_grad=False)[0]

    def gradient(self, U, V) -> tuple[np.ndarray, np.ndarray]:
        """Gradient (∂/∂U, ∂/∂V) of NN-TRAIN (the ReLU's derivative is taken as 0 at 0)."""
        _, gU, gV = self.objective_and_gradient(U, V)
        return gU, gV

    def objective_and_gradient(self, U, V, need_grad: bool = True):
        """Objective and, if ``need_grad``, its gradient, sharing one forward pass."""
        U, V = self._check_weights(U, V)
        Z = self.X @ U
        H = np.maximum(Z, 0.0)
        R = H @ V.T - self.Y
        val = 0.5 * float(np.vdot(R, R)) + 0.5 * self.reg * (
            float(np.vdot(U, U)) + float(np.vdot(V, V))
        )
        if not need_grad:
            return val, None, None
        gV = R.T @ H + self.reg * V
        gZ = (R @ V) * (Z > 0)
        gU = self.X.T @ gZ + self.reg * U
        return val, gU, gV

    def network_objective(self, network) -> float:
        """NN-TRAIN value of a :class:`~convexnn.network.ReLUNetwork` on this problem's data."""
        if network.U.shape[0] != self.d:
            raise DataError(
                f"network has {network.U.shape[0]} input rows (incl. bias) but the problem has d = {self.d}."
            )
        return self.objective(network.U, network.V)
