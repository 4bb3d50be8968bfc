"""Lifting networks to the completely positive program CP-NN (SPEC §2).

Each neuron j lifts to λ_j = [α_j; β_j; u_j; v_j] ∈ R^p, p = 2n + d + c, with α_j = (X u_j)_+ and
β_j = (−X u_j)_+, and Λ = Σ_j λ_j λ_jᵀ. Blocks are ordered α (n), β (n), u (d), v (c).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import as_float_matrix, check_reg
from .errors import DataError


@dataclass(frozen=True)
class Blocks:
    """Index ranges of the α, β, u, v blocks of a lifted p×p matrix for sizes (n, d, c)."""

    n: int
    d: int
    c: int

    @property
    def p(self) -> int:
        return 2 * self.n + self.d + self.c

    @property
    def q(self) -> int:
        """Dimension of null(M) = n + d + c (the face of the PSD cone containing feasible Λ)."""
        return self.n + self.d + self.c

    @property
    def a(self) -> slice:
        return slice(0, self.n)

    @property
    def b(self) -> slice:
        return slice(self.n, 2 * self.n)

    @property
    def ab(self) -> slice:
        """The ReLU block (α and β together)."""
        return slice(0, 2 * self.n)

    @property
    def u(self) -> slice:
        return slice(2 * self.n, 2 * self.n + self.d)

    @property
    def v(self) -> slice:
        return slice(2 * self.n + self.d, self.p)

    def block(self, L: np.ndarray, row: str, col: str) -> np.ndarray:
        """View of block (row, col) of L, with names among 'a', 'b', 'u', 'v', 'ab'."""
        return L[getattr(self, row), getattr(self, col)]


def lift_matrix(X, c: int) -> np.ndarray:
    """M = [−I_n, I_n, X, 0] ∈ R^{n×p}: Mλ = 0 encodes α − β = X u for every lifted neuron."""
    X = as_float_matrix(X, "X")
    n, d = X.shape
    return np.hstack([-np.eye(n), np.eye(n), X, np.zeros((n, c))])


def lift_factor(X, U, V) -> np.ndarray:
    """The p×m factor L = [ (XU)_+ ; (−XU)_+ ; U ; V ] whose columns are the lifted neurons λ_j."""
    X = as_float_matrix(X, "X")
    U = as_float_matrix(U, "U")
    V = as_float_matrix(V, "V")
    if U.shape[0] != X.shape[1]:
        raise DataError(f"U has {U.shape[0]} rows but X has {X.shape[1]} columns.")
    if V.shape[1] != U.shape[1]:
        raise DataError(f"U has {U.shape[1]} columns but V has {V.shape[1]}.")
    Z = X @ U
    return np.vstack([np.maximum(Z, 0.0), np.maximum(-Z, 0.0), U, V])


def lift(X, network_or_U, V=None) -> np.ndarray:
    """Lifted matrix Λ = L Lᵀ (p×p) of a network on design matrix X (include the ones column
    yourself when the network has a bias, or pass a ReLUNetwork which does it)."""
    if V is None:
        net = network_or_U
        U, V = net.U, net.V
        X = as_float_matrix(X, "X")
        if getattr(net, "bias", False) and X.shape[1] == U.shape[0] - 1:
            X = np.hstack([X, np.ones((X.shape[0], 1))])
    else:
        U = network_or_U
    L = lift_factor(X, U, V)
    return L @ L.T


def cp_objective(Lam, Y, reg: float, blocks: Blocks) -> float:
    """CP-NN / SDP-NN objective ½‖Λ_αv − Y‖² + (reg/2)(tr Λ_uu + tr Λ_vv)."""
    reg = check_reg(reg)
    Y = as_float_matrix(Y, "Y", allow_1d_as_column=True)
    if Y.shape != (blocks.n, blocks.c):
        raise DataError(f"Y has shape {Y.shape} but the blocks expect ({blocks.n}, {blocks.c}).")
    R = blocks.block(Lam, "a", "v") - Y
    return 0.5 * float(np.vdot(R, R)) + 0.5 * reg * (
        float(np.trace(blocks.block(Lam, "u", "u"))) + float(np.trace(blocks.block(Lam, "v", "v")))
    )


def cp_residuals(Lam, X, blocks: Blocks) -> dict:
    """Constraint violations of Λ for the CP-NN/SDP-NN constraints (all 0 when feasible).

    Keys: ``face`` ‖MΛMᵀ‖_F, ``complementarity`` ‖diag Λ_αβ‖_2, ``relu_negativity`` largest
    negative part of the ReLU block, ``psd`` largest negative eigenvalue part, ``symmetry``.
    """
    Mmat = lift_matrix(X, blocks.c)
    relu = Lam[blocks.ab, blocks.ab]
    eig_min = float(np.linalg.eigvalsh(0.5 * (Lam + Lam.T))[0])
    return {
        "face": float(np.linalg.norm(Mmat @ Lam @ Mmat.T)),
        "complementarity": float(np.linalg.norm(np.diag(blocks.block(Lam, "a", "b")))),
        "relu_negativity": float(max(0.0, -relu.min())),
        "psd": float(max(0.0, -eig_min)),
        "symmetry": float(np.linalg.norm(Lam - Lam.T)),
    }
