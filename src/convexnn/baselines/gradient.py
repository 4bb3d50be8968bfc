"""Gradient training of NN-TRAIN with full-batch L-BFGS (numpy/scipy only, SPEC §6 "tuned").

Each returned network's objective is recomputed on the problem, so it is an honest upper bound
on the global optimum p*(m) that a certified lower bound can be compared with.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import minimize

from .._validation import blas_threads, check_positive_int
from ..network import ReLUNetwork
from ..problem import TrainingProblem
from ..result import SolveResult


class _Stop(Exception):
    pass


def train_lbfgs(problem: TrainingProblem, **kwargs) -> SolveResult:
    """Gradient training with L-BFGS; see :func:`_train_lbfgs` (threads tuned to size)."""
    with blas_threads(problem.n):
        return _train_lbfgs(problem, **kwargs)


def _train_lbfgs(
    problem: TrainingProblem,
    *,
    width: int = 50,
    restarts: int = 3,
    init=None,
    max_iter: int = 3000,
    time_limit: float | None = None,
    seed: int | np.random.Generator | None = 0,
    callback=None,
) -> SolveResult:
    """Minimise NN-TRAIN with L-BFGS from ``restarts`` random starts (plus ``init`` if given).

    ``init`` is a (U, V) pair or a ReLUNetwork used as an extra warm start (its width wins).
    Returns the best network found; ``value`` is its recomputed NN-TRAIN objective and
    ``lower_bound`` is None (gradient training certifies nothing). Stops at ``time_limit``
    seconds or on Ctrl-C with the best network so far.
    """
    t0 = time.perf_counter()
    width = check_positive_int(width, "width")
    restarts = check_positive_int(restarts, "restarts", minimum=0)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    d, c = problem.d, problem.c
    starts = []
    if init is not None:
        U0, V0 = (init.U, init.V) if isinstance(init, ReLUNetwork) else init
        starts.append((np.array(U0, dtype=float), np.array(V0, dtype=float)))
    # scale random starts so the initial output has the size of the targets
    xs = float(np.sqrt(np.mean(np.sum(problem.X**2, axis=1)))) or 1.0
    ys = float(np.sqrt(np.mean(problem.Y**2))) or 1.0
    for _ in range(restarts):
        U0 = rng.standard_normal((d, width)) / (xs * np.sqrt(width)) * np.sqrt(ys * xs)
        V0 = rng.standard_normal((c, width)) / np.sqrt(width) * np.sqrt(ys / max(xs, 1e-12)) ** 0
        starts.append((U0, V0 * np.sqrt(ys)))
    if not starts:
        starts.append((np.zeros((d, width)), np.zeros((c, width))))

    best = None
    history: list[dict] = []
    total_iter = 0
    status = "optimal"

    for k, (U0, V0) in enumerate(starts):
        m = U0.shape[1]

        def fun(theta, m=m):
            U = theta[: d * m].reshape(d, m)
            V = theta[d * m:].reshape(c, m)
            val, gU, gV = problem.objective_and_gradient(U, V)
            return val, np.concatenate([gU.ravel(), gV.ravel()])

        def cb(theta, k=k):
            nonlocal total_iter
            total_iter += 1
            if time_limit is not None and time.perf_counter() - t0 > time_limit:
                raise _Stop

        theta0 = np.concatenate([U0.ravel(), V0.ravel()])
        last = {"theta": theta0}

        def fun_track(theta):
            last["theta"] = theta
            return fun(theta)

        try:
            res = minimize(fun_track, theta0, jac=True, method="L-BFGS-B", callback=cb,
                           options={"maxiter": max_iter, "maxcor": 30, "gtol": 1e-10, "ftol": 1e-15})
            theta = res.x
        except _Stop:
            theta = last["theta"]
            status = "time_limit"
        except KeyboardInterrupt:
            theta = last["theta"]
            status = "interrupted"
        U = theta[: d * m].reshape(d, m).copy()
        V = theta[d * m:].reshape(c, m).copy()
        val = problem.objective(U, V)
        history.append({"restart": k, "value": val, "time_s": time.perf_counter() - t0})
        if callback is not None:
            callback(history[-1])
        if best is None or val < best[0]:
            best = (val, U, V)
        if status in ("time_limit", "interrupted"):
            break
    val, U, V = best
    net = ReLUNetwork(U, V, bias=False).balanced()
    return SolveResult(
        method="lbfgs",
        value=float(problem.objective(net.U, net.V)),
        lower_bound=None,
        status=status,
        iterations=total_iter,
        time_s=time.perf_counter() - t0,
        history=history,
        solution={"U": net.U, "V": net.V},
        info={"restarts": len(starts), "width": int(U.shape[1])},
    )
