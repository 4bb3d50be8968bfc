"""The certified training pipeline: data → SDP-NN bound → network → optimality certificate.

Until the rounding of SPEC §4 lands, the network comes from the SDP solution's factor (its u and
v rows read as neurons) polished by L-BFGS on NN-TRAIN, plus random L-BFGS restarts; the best
objective wins. Whatever produced it, the network's recomputed objective is the upper bound and
the SDP certificate the lower bound, so the reported gap is honest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .baselines.gradient import train_lbfgs
from .certificate import OptimalityCertificate
from .errors import ParameterError
from .network import ReLUNetwork
from .problem import TrainingProblem
from .result import SolveResult
from .sdp import solve_sdp

METHODS = ("sdp", "lbfgs")


@dataclass
class FitResult:
    """A trained network with its certificate and the results of each stage."""

    network: ReLUNetwork
    certificate: OptimalityCertificate
    stages: dict[str, SolveResult] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)
    method: str = "sdp"


def fit(
    X,
    Y,
    reg: float,
    *,
    bias: bool = False,
    method: str = "sdp",
    solver: str = "native",
    tol: float = 1e-4,
    time_limit: float | None = None,
    max_iter: int | None = None,
    width: int = 50,
    restarts: int = 3,
    train_iter: int = 3000,
    seed: int | np.random.Generator | None = 0,
    sdp_callback=None,
    train_callback=None,
) -> FitResult:
    """Train a two-layer ReLU network on raw features X and targets Y with weight decay ``reg``.

    ``method='sdp'`` solves SDP-NN for a certified lower bound, then builds the network from the
    SDP factor and L-BFGS restarts; ``method='lbfgs'`` only trains (no certificate). ``bias``
    adds a first-layer bias through a ones column. ``time_limit`` (seconds) and ``max_iter`` cap the
    SDP stage; an iteration cap makes the result reproducible, a time limit does not.
    """
    if method not in METHODS:
        raise ParameterError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    problem = TrainingProblem.from_data(X, Y, reg, bias=bias)
    stages: dict[str, SolveResult] = {}
    times: dict[str, float] = {}
    init = None
    lower, lower_src = None, ""
    if method == "sdp":
        t = time.perf_counter()
        sdp = solve_sdp(problem.X, problem.Y, problem.reg, bias=bias, solver=solver, tol=tol,
                        time_limit=time_limit, callback=sdp_callback,
                        **({} if max_iter is None else {"max_iter": max_iter}))
        times["sdp"] = time.perf_counter() - t
        stages["sdp"] = sdp
        lower, lower_src = sdp.lower_bound, f"SDP-NN ({sdp.method}, certified)"
        Uf = sdp.solution.get("U_factor")
        if Uf is not None and Uf.shape[1] > 0:
            init = (Uf.copy(), sdp.solution["V_factor"].copy())
    t = time.perf_counter()
    train = train_lbfgs(problem, width=width, restarts=restarts, init=init, seed=rng, max_iter=train_iter,
                        callback=train_callback)
    times["train"] = time.perf_counter() - t
    stages["train"] = train
    net = ReLUNetwork(train.solution["U"], train.solution["V"], bias=bias).prune()
    upper = problem.objective(net.U, net.V)
    cert = OptimalityCertificate(lower, upper, lower_src, "NN-TRAIN objective of the returned network")
    return FitResult(net, cert, stages, times, method)
