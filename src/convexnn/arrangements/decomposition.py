"""Cone decomposition: turn gated-ReLU neurons into ReLU neurons with identical training predictions.

A gated neuron (u, v, D_i) contributes (D_i X u) vᵀ to the predictions (SPEC §5, C-GReLU). Writing
u = a − b with a, b in the cone K_i = {z : (2D_i − I) X z ≥ 0} gives (X a)_+ = D_i X a and
(X b)_+ = D_i X b, so the two ReLU neurons (a, v) and (b, −v) reproduce (D_i X u) vᵀ exactly on the
training data. Two ways to choose a, b:

- :func:`shift_decomposition` — closed form along the generating gate g_i (strictly inside K_i):
  t* = max(0, max_j −[(2D_i − I) X u]_j / [(2D_i − I) X g_i]_j), a = u + t* g_i, b = t* g_i [KP24].
- :func:`min_norm_decomposition` — minimise ‖a‖ + ‖b‖ subject to a − b = u, a, b ∈ K_i, a small
  second-order cone program per neuron, solved natively (SLSQP on the smooth reduced problem in b,
  exact repair along an interior direction, fallback to the shift solution).

The weight-decay cost grows from ‖u‖‖v‖ to (‖a‖ + ‖b‖)‖v‖; :func:`decompose` reports this
inflation. Triangle inequality: ‖a‖ + ‖b‖ ≥ ‖u‖, with equality iff u ∈ K_i or −u ∈ K_i.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linprog, minimize

from .._validation import as_float_matrix
from ..errors import DataError, ParameterError, SolverUnavailableError
from ..network import ReLUNetwork

__all__ = ["shift_decomposition", "min_norm_decomposition", "interior_direction", "decompose"]


# --------------------------------------------------------------------------- validation helpers
def _vec(x, name: str, size: int) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).reshape(-1)
    if arr.shape != (size,):
        raise DataError(f"{name} must be a vector of length {size}; got shape {np.shape(x)}.")
    if not np.all(np.isfinite(arr)):
        raise DataError(f"{name} contains NaN or infinite values.")
    return arr


def _mask(mask, n: int) -> np.ndarray:
    m = np.asarray(mask).reshape(-1)
    if m.shape != (n,):
        raise DataError(f"mask must have length n = {n}; got shape {np.shape(mask)}.")
    if m.dtype != bool:
        if m.dtype.kind not in "biuf" or not np.all((m == 0) | (m == 1)):
            raise DataError("mask must be boolean (or 0/1 numbers).")
        m = m.astype(bool)
    return m


def _signed_rows(X: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """C = (2D − I) X, so that K = {z : C z ≥ 0}."""
    return (2.0 * mask - 1.0)[:, None] * X


def _in_cone(C: np.ndarray, z: np.ndarray) -> bool:
    return bool(np.all(C @ z >= 0))


# --------------------------------------------------------------------------- shift
def _repair(C: np.ndarray, u: np.ndarray, b: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Smallest shift b ← b + τ g (τ ≥ 0) with C(u + b) ≥ 0 and C b ≥ 0 *as computed*: (a, b, τ).

    τ* = max over violated rows of −(C z)_j / (C g)_j for z ∈ {u + b, b}; then τ = τ* + κ(τ* + s) with
    s = (‖u + b‖ + ‖b‖)/‖g‖ and the smallest κ ∈ {0, 1e-15, …, 1e-5} that verifies in floating point.
    """
    e = C @ g
    a = u + b
    ra, rb = C @ a, C @ b
    if np.all(ra >= 0) and np.all(rb >= 0):
        return a, b, 0.0
    need_a, need_b = ra < 0, rb < 0
    if np.any(e[need_a] <= 0) or np.any(e[need_b] <= 0):
        raise DataError("the gate does not lie strictly inside the cone of its pattern "
                        "((2D − I) X g must be > 0 on every row that needs fixing).")
    tau0 = max(float(np.max(-ra[need_a] / e[need_a], initial=0.0)),
               float(np.max(-rb[need_b] / e[need_b], initial=0.0)))
    scale = (np.linalg.norm(a) + np.linalg.norm(b)) / np.linalg.norm(g)
    for kappa in (0.0, 1e-15, 1e-13, 1e-11, 1e-9, 1e-7, 1e-5):
        tau = tau0 + kappa * (tau0 + scale)
        b2 = b + tau * g
        a2 = u + b2
        if np.all(C @ a2 >= 0) and np.all(C @ b2 >= 0):
            return a2, b2, tau
    raise DataError("could not move the point into the cone in floating point: the gate is "
                    "numerically on the cone's boundary.")


def shift_decomposition(X, u, mask, gate) -> tuple[np.ndarray, np.ndarray, float]:
    """Closed-form cone decomposition u = a − b along the gate: returns (a, b, t).

    t = t* + κ(t* + ‖u‖/‖g‖) with t* = max(0, max_j −[(2D − I)Xu]_j / [(2D − I)X g]_j) and the
    smallest safety margin κ ∈ {0, 1e-15, …, 1e-5} for which (2D − I) X a ≥ 0 and (2D − I) X b ≥ 0
    hold *as computed in floating point*; a = u + t g, b = t g (b = 0 and t = 0 when u ∈ K).
    """
    X = as_float_matrix(X, "X")
    n, d = X.shape
    u = _vec(u, "u", d)
    g = _vec(gate, "gate", d)
    C = _signed_rows(X, _mask(mask, n))
    e = C @ g
    if np.any(e < 0):
        raise DataError("gate is inconsistent with mask: (2D − I) X g has negative entries.")
    if _in_cone(C, u):
        return u.copy(), np.zeros(d), 0.0
    a, b, t = _repair(C, u, np.zeros(d), g)
    return a, b, float(t)


# --------------------------------------------------------------------------- interior direction
def interior_direction(X, mask) -> np.ndarray:
    """A unit vector g with (2D − I) X g > 0 (an LP: max τ s.t. (2D − I) X g ≥ τ, ‖g‖_∞ ≤ 1).

    Raises DataError when the cone has an empty interior (the pattern is not realisable strictly).
    """
    X = as_float_matrix(X, "X")
    n, d = X.shape
    C = _signed_rows(X, _mask(mask, n))
    scale = np.maximum(np.linalg.norm(C, axis=1), 1e-300)
    Cn = C / scale[:, None]
    nz = np.linalg.norm(C, axis=1) > 0
    # variables (g, τ): minimise −τ s.t. −Cn g + τ ≤ 0, −1 ≤ g ≤ 1, τ ≤ 1
    A = np.hstack([-Cn[nz], np.ones((int(nz.sum()), 1))])
    res = linprog(np.r_[np.zeros(d), -1.0], A_ub=A, b_ub=np.zeros(A.shape[0]),
                  bounds=[(-1, 1)] * d + [(None, 1.0)], method="highs")
    if res.status != 0 or -res.fun <= 1e-12:
        raise DataError("the cone of this activation pattern has an empty interior.")
    g = res.x[:d]
    return g / np.linalg.norm(g)


# --------------------------------------------------------------------------- minimum norm
def _cvxpy_min_norm(C, u):
    try:
        import cvxpy as cp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SolverUnavailableError("method='cvxpy' needs cvxpy: pip install 'convexnn[cvxpy]'.") from exc
    a = cp.Variable(u.size)
    b = cp.Variable(u.size)
    prob = cp.Problem(cp.Minimize(cp.norm(a, 2) + cp.norm(b, 2)), [a - b == u, C @ a >= 0, C @ b >= 0])
    prob.solve(solver="CLARABEL")
    if a.value is None:
        raise DataError(f"cvxpy could not solve the min-norm decomposition (status {prob.status}).")
    return np.asarray(b.value, dtype=np.float64)


def min_norm_decomposition(X, u, mask, gate=None, *, method: str = "socp",
                           max_iter: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Decomposition u = a − b, a, b ∈ K, of least ‖a‖ + ‖b‖: returns (a, b).

    Reduced problem in b (a = u + b):  min ‖u + b‖ + ‖b‖  s.t.  (2D − I) X b ≥ ℓ := max(0, −(2D − I) X u),
    which encodes b ∈ K and u + b ∈ K. If u ∈ K (resp. −u ∈ K) the answer is (u, 0) (resp. (0, −u))
    with ‖a‖ + ‖b‖ = ‖u‖. Otherwise neither norm vanishes on the feasible set, the objective is
    smooth there, and ``method='socp'`` solves it natively with SLSQP (problem rescaled to ‖u‖ = 1,
    unit constraint rows) started from the shift solution; the result is made exactly feasible by
    a verified shift along an interior direction (``gate`` or :func:`interior_direction`), and the
    shift solution is returned instead if it is better. ``method='cvxpy'`` uses CVXPY/Clarabel.
    """
    X = as_float_matrix(X, "X")
    n, d = X.shape
    u = _vec(u, "u", d)
    m = _mask(mask, n)
    C = _signed_rows(X, m)
    if method not in ("socp", "cvxpy"):
        raise ParameterError(f"method must be 'socp' or 'cvxpy'; got {method!r}.")
    if _in_cone(C, u):
        return u.copy(), np.zeros(d)
    if _in_cone(C, -u):
        return np.zeros(d), -u.copy()
    if gate is None:
        g = interior_direction(X, m)
    else:
        g = _vec(gate, "gate", d)
        if np.any(C @ g < 0):
            raise DataError("gate is inconsistent with mask: (2D − I) X g has negative entries.")
    a_s, b_s, _ = shift_decomposition(X, u, m, g)
    best_b, best_val = b_s, float(np.linalg.norm(a_s) + np.linalg.norm(b_s))
    lower = np.maximum(0.0, -(C @ u))

    if method == "cvxpy":
        b = _cvxpy_min_norm(C, u)
    else:
        un = float(np.linalg.norm(u))
        rows = np.linalg.norm(C, axis=1)
        keep = rows > 0
        Cs = C[keep] / rows[keep, None]
        ls = lower[keep] / rows[keep] / un
        uh = u / un

        def fun(bh):
            r1 = uh + bh
            n1, n2 = np.linalg.norm(r1), np.linalg.norm(bh)
            grad = (r1 / n1 if n1 > 0 else 0.0 * r1) + (bh / n2 if n2 > 0 else 0.0 * bh)
            return n1 + n2, grad

        cons = {"type": "ineq", "fun": lambda bh: Cs @ bh - ls, "jac": lambda bh: Cs}
        try:
            res = minimize(fun, b_s / un, jac=True, method="SLSQP", constraints=[cons],
                           options={"maxiter": max_iter, "ftol": 1e-15})
            b = res.x * un if np.all(np.isfinite(res.x)) else None
        except (ValueError, ArithmeticError):  # pragma: no cover - defensive
            b = None
    if b is not None:
        try:
            a, b, _ = _repair(C, u, b, g)  # exact feasibility of a = u + b and b, as computed
            val = float(np.linalg.norm(a) + np.linalg.norm(b))
            if val < best_val:
                best_b, best_val = b, val
        except DataError:
            pass
    b = best_b
    a = u + b
    return a, b


# --------------------------------------------------------------------------- networks
def decompose(
    neurons: Sequence,
    X,
    masks,
    gates=None,
    *,
    method: str = "shift",
    bias: bool = False,
    n_outputs: int | None = None,
) -> tuple[ReLUNetwork, dict]:
    """ReLU network (width ≤ 2·len(neurons)) with the same training predictions as gated neurons.

    ``neurons`` is a sequence of (u (d,), v (c,), i): the gated term (D_i X u) vᵀ with D_i = diag of
    ``masks[:, i]`` (n×P) and generating gate ``gates[:, i]`` (d×P; required for ``method='shift'``,
    optional for ``'min-norm'``). ``X`` is the design matrix (last column ones when ``bias``).
    Each neuron becomes (a, v) and, when b ≠ 0, (b, −v), each rescaled so ‖a‖ = ‖v‖ (same
    predictions, weight decay ½(‖a‖² + ‖v‖²) = ‖a‖‖v‖). ``info`` holds 'inflation'
    Σ(‖a‖ + ‖b‖)/Σ‖u‖, 'max_inflation' (per neuron), 'gated_penalty' Σ‖u‖‖v‖, 'relu_penalty'
    Σ(‖a‖ + ‖b‖)‖v‖ (= ½(‖U‖² + ‖V‖²) of the returned network), 'n_split' and 'width'.
    """
    X = as_float_matrix(X, "X")
    n, d = X.shape
    if bias and not np.all(X[:, -1] == 1.0):
        raise DataError("bias=True but the last column of X is not all ones.")
    M = np.asarray(masks)
    if M.ndim != 2 or M.shape[0] != n:
        raise DataError(f"masks must be an n×P array with n = {n}; got shape {M.shape}.")
    P = M.shape[1]
    key = str(method).replace("_", "-").lower()
    if key in ("min-norm", "minnorm", "socp"):
        key = "min-norm"
    elif key != "shift":
        raise ParameterError(f"method must be 'shift' or 'min-norm'; got {method!r}.")
    G = None
    if gates is not None:
        G = as_float_matrix(gates, "gates")
        if G.shape != (d, P):
            raise DataError(f"gates must have shape (d, P) = {(d, P)}; got {G.shape}.")
    elif key == "shift":
        raise ParameterError("method='shift' needs the gates (d×P).")

    cols_u, cols_v = [], []
    sum_u = sum_ab = gated_pen = relu_pen = 0.0
    max_infl = 1.0
    n_split = 0
    c = n_outputs
    for j, item in enumerate(neurons):
        try:
            u, v, i = item
        except (TypeError, ValueError) as exc:
            raise DataError(f"neuron {j} must be a (u, v, pattern_index) triple.") from exc
        u = _vec(u, f"u of neuron {j}", d)
        v = np.atleast_1d(np.asarray(v, dtype=np.float64)).reshape(-1)
        if c is None:
            c = v.size
        if v.size != c or not np.all(np.isfinite(v)):
            raise DataError(f"v of neuron {j} must be a finite vector of length {c}.")
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= int(i) < P:
            raise DataError(f"pattern index of neuron {j} must be an integer in [0, {P}); got {i!r}.")
        i = int(i)
        nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
        if nu == 0 or nv == 0:
            continue
        g = None if G is None else G[:, i]
        if key == "shift":
            a, b, _ = shift_decomposition(X, u, M[:, i], g)
        else:
            a, b = min_norm_decomposition(X, u, M[:, i], g)
        na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
        sum_u += nu
        sum_ab += na + nb
        max_infl = max(max_infl, (na + nb) / nu)
        gated_pen += nu * nv
        relu_pen += (na + nb) * nv
        for z, sign, nz in ((a, 1.0, na), (b, -1.0, nb)):
            if nz == 0:
                continue
            s = np.sqrt(nv / nz)
            cols_u.append(z * s)
            cols_v.append(sign * v / s)
        n_split += int(nb > 0 and na > 0)
    if c is None:
        c = 1
    if cols_u:
        net = ReLUNetwork(np.array(cols_u).T, np.array(cols_v).T, bias=bias)
    else:
        net = ReLUNetwork(np.zeros((d, 1)), np.zeros((c, 1)), bias=bias)
    info = {
        "method": key,
        "inflation": sum_ab / sum_u if sum_u > 0 else 1.0,
        "max_inflation": max_infl,
        "gated_penalty": gated_pen,
        "relu_penalty": relu_pen,
        "n_split": n_split,
        "width": len(cols_u),
    }
    return net, info
