"""The certified training pipeline: data → SDP-NN bound → rounding → polish → certificate.

Candidate networks: the rounding routes of :mod:`convexnn.rounding` (TOS as in [PBY25], with
ridge refit of the output layer and L-BFGS polish; neurons from the eigen-factor), the SDP
factor polished by L-BFGS, and random L-BFGS restarts. The candidate with the lowest *training*
objective wins (never chosen on test data). Its recomputed objective is the upper bound and the
SDP certificate the lower bound, so the reported gap is honest.
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
    candidates: dict = field(default_factory=dict)   # candidate name -> training objective
    candidate_networks: dict = field(default_factory=dict, repr=False)
    chosen: str = ""


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
    rounding: bool = True,
    rounding_iterations: int = 300,
    rounding_width: int = 100,
    seed: int | np.random.Generator | None = 0,
    warm_start=None,
    sdp_callback=None,
    train_callback=None,
) -> FitResult:
    """Train a two-layer ReLU network on raw features X and targets Y with weight decay ``reg``.

    ``method='sdp'`` solves SDP-NN for a certified lower bound, then rounds it into candidate
    networks (see the module docstring); ``method='lbfgs'`` only trains (no certificate).
    ``bias`` adds a first-layer bias through a ones column. ``warm_start``: a previous FitResult
    (or SDP SolveResult) of the same data, e.g. along a reg path, for the native SDP solver.
    ``time_limit`` (seconds) and ``max_iter`` cap the SDP stage; an iteration cap makes the
    result reproducible, a time limit does not.
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
                        warm_start=(warm_start.stages.get("sdp") if isinstance(warm_start, FitResult)
                                    else warm_start) if solver in ("native", "admm") else None,
                        **({} if max_iter is None else {"max_iter": max_iter}))
        times["sdp"] = time.perf_counter() - t
        stages["sdp"] = sdp
        lower, lower_src = sdp.lower_bound, f"SDP-NN ({sdp.method}, certified)"
        Uf = sdp.solution.get("U_factor")
        if Uf is not None and Uf.shape[1] > 0:
            init = (Uf.copy(), sdp.solution["V_factor"].copy())
    candidates: dict[str, tuple[float, ReLUNetwork]] = {}
    if method == "sdp" and rounding and sdp.solution.get("Lambda") is not None:
        from .rounding import round_sdp

        t = time.perf_counter()
        form = sdp.solution["formulation"]
        Lam = sdp.solution["Lambda"]
        lam_max = float(np.linalg.eigvalsh(0.5 * (Lam + Lam.T))[-1])
        step = 0.25 / lam_max if lam_max > 0 else None  # locally stable (see rounding.tos)
        rounds = round_sdp(Lam, problem, width=rounding_width, iterations=rounding_iterations,
                           seed=rng, X_lifted=form.X, data_scale=sdp.info.get("data_scale", 1.0),
                           step=step, lbfgs_iter=min(200, train_iter))
        times["rounding"] = time.perf_counter() - t
        for r in rounds:
            candidates[r.name] = (r.objective, r.network)
    t = time.perf_counter()
    train = train_lbfgs(problem, width=width, restarts=restarts, init=init, seed=rng, max_iter=train_iter,
                        callback=train_callback)
    times["train"] = time.perf_counter() - t
    stages["train"] = train
    lb_net = ReLUNetwork(train.solution["U"], train.solution["V"], bias=bias).prune()
    # best of L-BFGS from the SDP factor (when there is one) and from random starts
    candidates["lbfgs"] = (problem.objective(lb_net.U, lb_net.V), lb_net)
    name = min(candidates, key=lambda k: candidates[k][0])
    net = candidates[name][1]
    net = ReLUNetwork(net.U, net.V, bias=bias, metadata=dict(net.metadata))
    upper = problem.objective(net.U, net.V)
    cert = OptimalityCertificate(lower, upper, lower_src, f"NN-TRAIN objective of the returned network ({name})")
    res = FitResult(net, cert, stages, times, method)
    res.candidates = {k: v[0] for k, v in candidates.items()}
    res.candidate_networks = {k: v[1] for k, v in candidates.items()}
    res.chosen = name
    return res
