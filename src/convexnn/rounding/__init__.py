"""From an SDP-NN solution Λ to a trained network (SPEC §4, [PBY25]).

- :func:`tos_round` — the reference three-operator-splitting (Davis–Yin) rounding, vectorised;
- :func:`refit_output_layer` — the closed-form optimal output layer (ridge) for fixed U;
- :func:`polish` — ridge refit alternated with L-BFGS, monotone (never worse than its input);
- :func:`round_sdp` — all candidates with their recomputed NN-TRAIN objective.

Every candidate's objective is the NN-TRAIN value of a genuine network on the original data, so
it is an upper bound on p*(m); with a certified lower bound it gives the certified gap
(F_round − L_cert)/F_round. No candidate is selected with test data (the reference code kept
the iterate with the best *test* accuracy; we never do).
"""

from __future__ import annotations

import time

import numpy as np

from .._validation import as_float_matrix, blas_threads, check_positive_int, check_time_limit
from ..errors import DataError, ParameterError
from ..network import ReLUNetwork
from ..problem import TrainingProblem
from .refine import polish, refit_output_layer
from .tos import (
    DEFAULT_STEP_FACTOR,
    STABLE_STEP_FACTOR,
    FaceProjector,
    RoundingResult,
    _tos_round_loop,
    complementarity_residual,
    face_residual,
    null_basis,
    phi,
    project_d1,
    project_d2,
    top_eigenpairs,
    top_factor,
    tos_round,
)

CANDIDATES = ("tos", "tos+refit", "tos+polish", "eig+refit+polish")


def _live(U: np.ndarray, V: np.ndarray):
    """Drop neurons with u_j = 0: they never activate, and for them the refit gives v_j = 0."""
    keep = np.any(U != 0, axis=0)
    if not np.any(keep):
        keep = np.zeros(U.shape[1], dtype=bool)
        keep[:1] = True
    return U[:, keep], V[:, keep]


def _finish(name, U, V, problem, t_start, diagnostics=None, factor=None, prune=True):
    net = ReLUNetwork(U, V, bias=problem.bias)
    if prune:
        net = net.prune()  # drops neurons with ‖u_j‖‖v_j‖ = 0: same outputs, never a larger objective
    obj = problem.objective(net.U, net.V)
    return RoundingResult(name, net, obj, net.width, time.perf_counter() - t_start,
                          dict(diagnostics or {}), factor)


def _tos_progress(progress):
    """A TOS callback that reports each record to ``progress`` and never stops the iteration."""
    def callback(k, info):
        progress({"candidate": "tos", "iteration": k})
        return False

    return callback


def _tagged(progress, candidate: str):
    """``progress`` with the candidate's name added to each record (None stays None)."""
    return None if progress is None else (lambda rec: progress({"candidate": candidate, **rec}))


def round_sdp(
    Lam,
    problem: TrainingProblem,
    *,
    width: int = 300,
    iterations: int = 1000,
    seed: int | np.random.Generator | None = 0,
    polish_rounds: int = 3,
    lbfgs_iter: int = 200,
    X_lifted=None,
    data_scale: float = 1.0,
    step: float | str | None = None,
    time_limit: float | None = None,
    progress=None,
) -> list[RoundingResult]:
    """Round an SDP-NN solution Λ into networks; returns the candidates in this order:

    (a) ``'tos'`` — TOS rounding as is (network (W_u, W_v) of the final TOS iterate, unpruned);
    (b) ``'tos+refit'`` — (a) with the output layer refit by ridge regression;
    (c) ``'tos+polish'`` — (a) polished (ridge refit alternated with L-BFGS, ``polish_rounds``);
    (d) ``'eig+refit+polish'`` — neurons read from the eigen-factor F of Λ (top ``width``
        positive eigenpairs; U = F_u, V = F_v), refit, then polished.

    ``X_lifted`` is the design matrix Λ was computed with (default ``problem.X``): the SDP may
    have merged duplicate/parallel rows (:class:`~convexnn.sdp.formulation.SDPFormulation`,
    whose ``.X`` to pass here) and the native solver rescales X by a power of two a (pass
    ``data_scale=a`` from ``SolveResult.info['data_scale']``, and X_lifted = the formulation's X,
    already divided by a; weights are then divided by √a). It only defines the TOS constraint
    set; every ``objective`` is ``problem.objective(network.U, network.V)`` on the original
    data. ``time_s`` of a candidate includes the stages it builds on (b, c include the TOS time).

    ``step``: the TOS step η; None is the reference's 0.75/‖Λ̃‖_F, ``'stable'`` the locally
    stable 0.25/λ_max(Λ̃) that ``fit`` uses (see :mod:`convexnn.rounding.tos`). The top
    eigenpairs of Λ̃ are computed once, for the TOS start, that step and candidate (d).
    ``time_limit`` (seconds): TOS stops after half of it, (c)'s polish after half of what is
    left and (d)'s at the end (each after at least one step; the eigendecomposition itself is
    not interrupted), so every candidate is still returned. ``progress(record)``, if given, gets
    {'candidate', 'iteration'} from TOS and {'candidate', 'iteration', 'value'} (the objective)
    from the polishes, for a progress display.
    """
    if not isinstance(problem, TrainingProblem):
        raise ParameterError("problem must be a convexnn.problem.TrainingProblem.")
    width = check_positive_int(width, "width")
    polish_rounds = check_positive_int(polish_rounds, "polish_rounds", minimum=0)
    if isinstance(data_scale, bool) or not isinstance(data_scale, (int, float)) or not data_scale > 0:
        raise ParameterError(f"data_scale must be a positive number; got {data_scale!r}.")
    Xl = problem.X if X_lifted is None else as_float_matrix(X_lifted, "X_lifted")
    if Xl.shape[1] != problem.d:
        raise DataError(f"X_lifted has {Xl.shape[1]} columns but the problem's design matrix has {problem.d}.")
    Lam = as_float_matrix(Lam, "Lam")
    p = 2 * Xl.shape[0] + problem.d + problem.c
    if Lam.shape != (p, p):
        raise DataError(f"Lam has shape {Lam.shape}; with X_lifted of {Xl.shape[0]} rows it must be {p}×{p}.")
    if isinstance(step, str) and step != "stable":
        raise ParameterError(f"step must be a positive number, None or 'stable'; got {step!r}.")
    check_time_limit(time_limit)
    s = 1.0 / np.sqrt(float(data_scale))
    out: list[RoundingResult] = []
    t_start = time.perf_counter()

    def share(fraction: float) -> float | None:  # that fraction of the time left, at least 1 µs
        if time_limit is None:
            return None
        return max(fraction * (time_limit - (time.perf_counter() - t_start)), 1e-6)

    with blas_threads(p):
        t0 = time.perf_counter()
        pairs = top_eigenpairs(Lam, width)
        F = top_factor(Lam, width, eigenpairs=pairs)
        t_eig = time.perf_counter() - t0
        if step == "stable":
            lam_max = float(pairs[0][0]) if pairs[0].size else 0.0
            step = STABLE_STEP_FACTOR / lam_max if lam_max > 0 else None
        tos = tos_round(Lam, Xl, c=problem.c, width=width, step=step, iterations=iterations, start=F, seed=seed,
                        bias=problem.bias, data_scale=data_scale, time_limit=share(0.5),
                        callback=None if progress is None else _tos_progress(progress))
        t_tos = time.perf_counter() - t0
        diag = tos.diagnostics
        U0, V0 = tos.network.U, tos.network.V
        out.append(_finish("tos", U0, V0, problem, t0, diag, tos.factor, prune=False))

        t1 = time.perf_counter()
        Ul, _ = _live(U0, V0)
        Vr = refit_output_layer(problem.X, problem.Y, Ul, problem.reg)
        r = _finish("tos+refit", Ul, Vr, problem, t1, diag)
        r.time_s += t_tos
        out.append(r)

        t2 = time.perf_counter()
        Uc, Vc = _live(U0, V0)
        Uc, Vc = polish(problem, Uc, Vc, rounds=polish_rounds, lbfgs_iter=lbfgs_iter, time_limit=share(0.5),
                        progress=_tagged(progress, "tos+polish"))
        r = _finish("tos+polish", Uc, Vc, problem, t2, diag)
        r.time_s += t_tos
        out.append(r)

        t3 = time.perf_counter()
        Ue, Ve = _live(F[2 * Xl.shape[0]:2 * Xl.shape[0] + problem.d] * s, F[2 * Xl.shape[0] + problem.d:] * s)
        Ve = refit_output_layer(problem.X, problem.Y, Ue, problem.reg)
        Ue, Ve = polish(problem, Ue, Ve, rounds=polish_rounds, lbfgs_iter=lbfgs_iter, time_limit=share(1.0),
                        progress=_tagged(progress, "eig+refit+polish"))
        r = _finish("eig+refit+polish", Ue, Ve, problem, t3,
                    {"eigen_rank": int(np.count_nonzero(np.any(F != 0, axis=0)))})
        r.time_s += t_eig
        out.append(r)
    return out


def best_candidate(results: list[RoundingResult]) -> RoundingResult:
    """The candidate with the lowest (training) objective — no test data involved."""
    if not results:
        raise ParameterError("no rounding candidates given.")
    return min(results, key=lambda r: np.inf if r.objective is None else r.objective)


__all__ = [
    "RoundingResult",
    "tos_round",
    "refit_output_layer",
    "polish",
    "round_sdp",
    "best_candidate",
    "CANDIDATES",
    "DEFAULT_STEP_FACTOR",
    "FaceProjector",
    "null_basis",
    "project_d1",
    "project_d2",
    "phi",
    "face_residual",
    "complementarity_residual",
    "top_eigenpairs",
    "top_factor",
]
