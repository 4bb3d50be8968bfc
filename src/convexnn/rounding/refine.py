"""Cheap, sound improvements of a rounded network (SPEC §4, "our suggestion").

- :func:`refit_output_layer`: for fixed first-layer weights U the optimal output layer of NN-TRAIN
  is a ridge regression on the hidden features H = (XU)_+, solved in closed form.
- :func:`polish`: alternate that refit with L-BFGS on (U, V) jointly, keeping the best point seen,
  so the returned objective is never above the input's.
"""

from __future__ import annotations

import numbers
import time

import numpy as np
import scipy.linalg as sla
from scipy.optimize import minimize

from .._validation import as_float_matrix, check_positive_int, check_reg, check_time_limit
from ..errors import DataError, ParameterError
from ..problem import TrainingProblem


def refit_output_layer(X, Y, U, reg: float) -> np.ndarray:
    """Optimal V (c×m) for fixed U: argmin_V ½‖H Vᵀ − Y‖² + (reg/2)‖V‖², H = (X U)_+.

    Vᵀ = (HᵀH + reg I)⁻¹ HᵀY, solved by Cholesky (never inverted). When m > n the equivalent
    dual form Vᵀ = Hᵀ (H Hᵀ + reg I)⁻¹ Y (an n×n system) is used instead.
    (The ‖U‖² term of NN-TRAIN does not depend on V, so this is the exact minimiser over V.)
    Where those normal equations overflow or are numerically singular (H huge next to reg), the
    same minimiser comes from least squares on [H; √reg I]; a U whose X U overflows is refused.
    """
    X = as_float_matrix(X, "X")
    Y = as_float_matrix(Y, "Y", allow_1d_as_column=True)
    U = as_float_matrix(U, "U")
    reg = check_reg(reg)
    if X.shape[0] != Y.shape[0]:
        raise DataError(f"X has {X.shape[0]} rows but Y has {Y.shape[0]}.")
    if U.shape[0] != X.shape[1]:
        raise DataError(f"U has {U.shape[0]} rows but X has {X.shape[1]} columns.")
    with np.errstate(over="ignore", invalid="ignore"):
        H = np.maximum(X @ U, 0.0)
    if not np.all(np.isfinite(H)):
        raise DataError("U gives non-finite hidden activations (X U overflows); no output "
                        "layer can be fitted to it.")
    n, m = H.shape
    Vt = None
    with np.errstate(over="ignore", invalid="ignore"):
        try:
            if m <= n:
                A = H.T @ H
                A[np.diag_indices_from(A)] += reg
                if np.all(np.isfinite(A)):
                    Vt = sla.solve(A, H.T @ Y, assume_a="pos", check_finite=False)
            else:
                A = H @ H.T
                A[np.diag_indices_from(A)] += reg
                if np.all(np.isfinite(A)):
                    Vt = H.T @ sla.solve(A, Y, assume_a="pos", check_finite=False)
        except np.linalg.LinAlgError:
            Vt = None
    if Vt is None or not np.all(np.isfinite(Vt)):
        # the normal equations overflow or are numerically singular when H is huge next to reg
        # (e.g. the U of a diverged rounding run): the same ridge problem as least squares on
        # [H; √reg I], by SVD
        A = np.vstack([H, np.sqrt(reg) * np.eye(m)])
        B = np.vstack([Y, np.zeros((m, Y.shape[1]))])
        Vt = np.linalg.lstsq(A, B, rcond=None)[0]
    return np.ascontiguousarray(Vt.T)


def polish(problem: TrainingProblem, U, V, *, rounds: int = 3, lbfgs_iter: int = 200,
           tol: float = 1e-12, time_limit: float | None = None,
           progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Alternate the ridge refit of V with ``lbfgs_iter`` L-BFGS-B steps on (U, V) jointly.

    Monotone by construction: every stage starts from the best point so far and a stage's
    output is kept only if its (recomputed) objective is lower, so the returned (U, V) never has
    a larger NN-TRAIN objective than the input. Stops early when a round improves by less than
    ``tol`` relative, or once ``time_limit`` seconds have passed (an L-BFGS run stops at its next
    iteration and its last point is compared like any other). ``rounds=0`` returns copies of the
    input. ``progress(record)``, if given, gets {'iteration', 'value'} after each L-BFGS step
    (its return value is ignored).
    """
    t0 = time.perf_counter()
    check_time_limit(time_limit)
    rounds = check_positive_int(rounds, "rounds", minimum=0)
    lbfgs_iter = check_positive_int(lbfgs_iter, "lbfgs_iter", minimum=0)
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 <= tol < np.inf:
        raise ParameterError(f"tol must be a non-negative number; got {tol!r}.")
    U, V = problem._check_weights(U, V)
    U, V = U.copy(), V.copy()
    best = problem.objective(U, V)
    d, m = U.shape
    c = problem.c

    def fun(theta):
        val, gU, gV = problem.objective_and_gradient(theta[:d * m].reshape(d, m), theta[d * m:].reshape(c, m))
        return val, np.concatenate([gU.ravel(), gV.ravel()])

    def out_of_time() -> bool:
        return time_limit is not None and time.perf_counter() - t0 >= time_limit

    steps = 0

    def after_step(intermediate_result):  # scipy ends the run at StopIteration
        nonlocal steps
        steps += 1
        if progress is not None:
            progress({"iteration": steps, "value": float(intermediate_result.fun)})
        if out_of_time():
            raise StopIteration

    for _ in range(rounds):
        if out_of_time():
            break
        start = best
        Vr = refit_output_layer(problem.X, problem.Y, U, problem.reg)
        val = problem.objective(U, Vr)
        if val < best:
            V, best = Vr, val
        if lbfgs_iter > 0 and m > 0:
            theta0 = np.concatenate([U.ravel(), V.ravel()])
            res = minimize(fun, theta0, jac=True, method="L-BFGS-B",
                           options={"maxiter": lbfgs_iter, "maxfun": 2 * lbfgs_iter + 20},
                           callback=None if time_limit is None and progress is None else after_step)
            U2 = res.x[:d * m].reshape(d, m).copy()
            V2 = res.x[d * m:].reshape(c, m).copy()
            val = problem.objective(U2, V2)
            if val < best:
                U, V, best = U2, V2, val
        if start - best <= tol * max(abs(start), 1e-300):
            break
    return U, V
