"""Full-batch momentum SGD on NN-TRAIN in PyTorch (CPU or GPU): the torch twin of ``train_sgd``.

Same starts, same update rule (PyTorch's ``SGD(momentum=μ)``: buf ← μ·buf + g, θ ← θ − lr·buf), same
reduce-on-plateau schedule and the same loss — exactly NN-TRAIN, ½ × the summed squared error +
(γ/2)(‖U‖² + ‖V‖²) — with gradients from autograd. The seeds run batched (one S×d×m tensor), each
with its own learning rate. The returned ``value`` is the float64 numpy objective recomputed on the
best network, so a float32 or GPU run still reports an honest upper bound. torch is imported lazily.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import ParameterError, SolverUnavailableError
from ..problem import TrainingProblem
from ..result import SolveResult
from .gradient import (
    PAPER_MAX_EPOCHS,
    PAPER_MOMENTUM,
    PAPER_PLATEAU,
    PAPER_WIDTH,
    PlateauSchedule,
    _check_callback,
    _log_sgd,
    _sgd_args,
    _sgd_result,
)


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SolverUnavailableError(
            'the torch back-end needs PyTorch: pip install "convexnn[torch]" '
            "(or use backend='numpy', which runs the same iteration).") from exc
    return torch


def _device(torch, device):
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ParameterError(f"unknown torch device {device!r}; use 'cpu' or 'cuda'.") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SolverUnavailableError(f"device {device!r} requested but torch reports no CUDA device; "
                                     "use device='cpu'.")
    return dev


def train_sgd_torch(
    problem: TrainingProblem,
    *,
    width: int = PAPER_WIDTH,
    lr: float,
    momentum: float = PAPER_MOMENTUM,
    max_epochs: int = PAPER_MAX_EPOCHS,
    seeds: Sequence[int] | None = None,
    n_seeds: int = 5,
    plateau_patience: int = PAPER_PLATEAU["patience"],
    plateau_factor: float = PAPER_PLATEAU["factor"],
    plateau_every: int = PAPER_PLATEAU["every"],
    plateau_threshold: float = PAPER_PLATEAU["threshold"],
    min_lr: float = 0.0,
    device: str | None = "cpu",
    dtype: str = "float64",
    init=None,
    time_limit: float | None = None,
    callback: Callable[[dict], None] | None = None,
    log_every: int | None = None,
) -> SolveResult:
    """Full-batch SGD with momentum on NN-TRAIN in PyTorch, best of several seeds.

    Arguments and result as :func:`convexnn.baselines.gradient.train_sgd` (same starts drawn with
    numpy from each seed, same schedule, same stopping), plus ``device`` ('cpu', 'cuda', 'cuda:1',
    None = CUDA when available) and ``dtype`` ('float64' default, or 'float32'). With float64 on
    the CPU the iterates agree with the numpy back-end to rounding. Raises SolverUnavailableError
    (with the install hint) when torch is missing or CUDA is requested but absent.
    """
    torch = _torch()
    dev = _device(torch, device)
    if dtype not in ("float64", "float32"):
        raise ParameterError(f"dtype must be 'float64' or 'float32'; got {dtype!r}.")
    tdtype = getattr(torch, dtype)
    t0 = time.perf_counter()
    _check_callback(callback)
    lr, momentum, max_epochs, seeds, U0, V0, plateau, time_limit, log_every = _sgd_args(
        problem, width, lr, momentum, max_epochs, seeds, n_seeds, plateau_patience, plateau_factor,
        plateau_every, plateau_threshold, min_lr, init, time_limit, log_every)
    S = U0.shape[0]

    def t(A):
        return torch.as_tensor(np.ascontiguousarray(A), dtype=tdtype, device=dev)

    X, Y = t(problem.X), t(problem.Y)
    reg = problem.reg
    U = t(U0).requires_grad_(True)
    V = t(V0).requires_grad_(True)
    bufU, bufV = torch.zeros_like(U), torch.zeros_like(V)
    bestU, bestV = U.detach().clone(), V.detach().clone()
    best_t = torch.full((S,), float("inf"), dtype=tdtype, device=dev)
    sched = PlateauSchedule(np.full(S, lr), plateau["factor"], plateau["patience"], plateau["threshold"],
                            plateau["min_lr"])
    lrs = t(sched.lr).reshape(S, 1, 1)
    history: list[dict] = []
    status, epoch = "max_iter", 0

    def losses():
        R = torch.relu(X @ U) @ V.transpose(1, 2) - Y
        return 0.5 * (R * R).sum(dim=(1, 2)) + 0.5 * reg * ((U * U).sum(dim=(1, 2)) + (V * V).sum(dim=(1, 2)))

    try:
        while True:
            need_grad = epoch < max_epochs
            if need_grad:
                vals = losses()
                U.grad = V.grad = None
                vals.sum().backward()  # the seeds are independent: d(sum)/dθ_s = dF_s/dθ_s
                vals = vals.detach()
            else:
                with torch.no_grad():
                    vals = losses()
            with torch.no_grad():
                better = vals < best_t
                bestU = torch.where(better.reshape(S, 1, 1), U, bestU)
                bestV = torch.where(better.reshape(S, 1, 1), V, bestV)
                best_t = torch.where(better, vals, best_t)
            check = epoch % plateau["every"] == 0 and need_grad
            logging = epoch % log_every == 0 or epoch == max_epochs
            vals_np = vals.cpu().numpy().astype(float) if (check or logging) else None
            if logging:
                _log_sgd(history, callback, seeds, epoch, vals_np, best_t.cpu().numpy().astype(float),
                         sched.lr, t0, U.shape[2])
            if not need_grad:
                break
            if check and not np.any(np.isfinite(vals_np)):
                status = "failed"
                break
            if time_limit is not None and time.perf_counter() - t0 > time_limit:
                status = "time_limit"
                break
            with torch.no_grad():
                bufU.mul_(momentum).add_(U.grad)
                bufV.mul_(momentum).add_(V.grad)
                U.sub_(lrs * bufU)
                V.sub_(lrs * bufV)
            if check and sched.step(vals_np):
                lrs = t(sched.lr).reshape(S, 1, 1)
            epoch += 1
    except KeyboardInterrupt:
        status = "interrupted"
    as_np = lambda A: A.detach().to("cpu", torch.float64).numpy()  # noqa: E731
    return _sgd_result(problem, "sgd-torch", seeds, as_np(bestU), as_np(bestV), as_np(U), as_np(V), sched,
                       status, epoch, t0, history, lr, momentum, max_epochs, "torch",
                       {"device": str(dev), "dtype": dtype}, init=init)


__all__ = ["train_sgd_torch"]
