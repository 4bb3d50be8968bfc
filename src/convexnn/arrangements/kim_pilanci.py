"""Kim & Pilanci's randomized polynomial-time training algorithm [KP24] (SPEC §5).

Sample m/2 Gaussian gates, form their activation patterns (deduplicated, empty ones dropped),
solve the gated-ReLU relaxation (C-GReLU), cone-decompose every gated neuron into two ReLU
neurons and return the ReLU network. Their theorem: for Gaussian data and
m = κ·max{m*, 320(√c+1)² log(n/δ)} the decomposed network's relative optimality gap is
O(√log n) with high probability. ``adaptive=True`` doubles m until the relaxed value stabilises
(the practical reading of their Figure 1: a few tens of neurons already give a good objective).

The relaxed value with *sampled* patterns is not a bound on p*: it is reported as the relaxation's
own value, next to the NN-TRAIN value of the returned network (always an honest upper bound).
"""

from __future__ import annotations

import time

import numpy as np

from .._validation import as_generator, check_flag, check_positive_int, check_reg, check_time_limit, check_XY
from ..errors import ParameterError
from ..problem import TrainingProblem
from ..result import SolveResult
from .gated import solve_gated
from .mapping import gated_to_network
from .patterns import sample_patterns


def kim_pilanci(
    X,
    Y,
    reg: float,
    *,
    width: int | None = None,
    adaptive: bool = True,
    min_width: int = 8,
    max_width: int = 1024,
    stable_tol: float = 1e-3,
    mode: str = "nuclear",
    decomposition: str = "min-norm",
    bias: bool = False,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    time_limit: float | None = None,
    seed: int | np.random.Generator | None = 0,
    callback=None,
) -> SolveResult:
    """Run the [KP24] pipeline on design matrix ``X`` (ones column last when ``bias``).

    ``width`` = m fixes the number of sampled gates to m/2 (adaptive off); otherwise m starts at
    ``min_width`` and doubles until the relaxed optimum changes by less than ``stable_tol``
    (relative) or m exceeds ``max_width``. Returns a SolveResult (method 'kim-pilanci') whose
    ``value`` is the NN-TRAIN objective of the decomposed network after the best rescaling of its
    outputs (closed form; ``history`` also has the value before it), ``info['relaxed_value']`` the
    gated optimum, ``solution['network']`` the ReLUNetwork and ``history`` one row per m. Under a
    ``time_limit`` a larger m is not started when less than twice the last m's time is left.
    """
    t0 = time.perf_counter()
    X, Y = check_XY(X, Y)
    reg = check_reg(reg)
    if mode not in ("nuclear", "ova"):
        raise ParameterError(f"mode must be 'nuclear' or 'ova'; got {mode!r}.")
    adaptive = check_flag(adaptive, "adaptive")
    stable_tol = check_reg(stable_tol, "stable_tol")
    check_time_limit(time_limit)
    if width is not None:
        width = check_positive_int(width, "width", minimum=2)
        widths = [width]
    else:
        min_width = check_positive_int(min_width, "min_width", minimum=2)
        max_width = check_positive_int(max_width, "max_width", minimum=min_width)
        widths = []
        m = min_width
        while m <= max_width:
            widths.append(m)
            m *= 2
        if not adaptive:
            widths = widths[-1:]
    rng = as_generator(seed)
    problem = TrainingProblem(X, Y, reg, bias=bias)

    history: list[dict] = []
    best = None  # the last solved width (the largest pattern set) is the one returned
    prev_value = None
    status = "optimal"
    iterations = 0
    warm = None
    gates_all = np.empty((X.shape[1], 0))
    last_cost = 0.0  # seconds of the last width: its gated solve and its cone decomposition
    for m in widths:
        remaining = None if time_limit is None else time_limit - (time.perf_counter() - t0)
        # a width doubles the patterns, and roughly the cost; the decomposition has no time limit
        # of its own (one-off, Pima with a 3 s limit: 3.0 s for m = 128 after 0.14 s remained,
        # 6.1 s in all), so a width that would not end in time is not started once one has been
        if remaining is not None and (remaining <= 0 or (best is not None and remaining < 2.0 * last_cost)):
            status = "time_limit"
            break
        t_m = time.perf_counter()
        # nested gate sets: keep the gates of smaller m and add fresh ones (warm starts stay valid)
        need = max(1, m // 2) - gates_all.shape[1]
        if need > 0:
            gates_all = np.hstack([gates_all, rng.standard_normal((X.shape[1], need))])
        patterns = sample_patterns(X, gates=gates_all)
        try:
            res = solve_gated(X, Y, reg, patterns, mode=mode, tol=tol, max_iter=max_iter,
                              time_limit=remaining, warm_start=_carry(warm, patterns))
        except KeyboardInterrupt:
            status = "interrupted"
            break
        iterations += res.iterations
        net, dinfo = gated_to_network(X, res.solution["W"], patterns, mode=mode, method=decomposition,
                                      bias=bias)
        raw_value = problem.objective(net.U, net.V)
        net, scale = _rescale(problem, net.prune())
        value = problem.objective(net.U, net.V)
        row = {"m": m, "n_patterns": patterns.n_patterns, "relaxed_value": res.value,
               "relaxed_lower_bound": res.lower_bound, "network_value": value,
               "decomposed_value": raw_value, "output_scale": scale, "width": net.width,
               "inflation": dinfo.get("inflation"), "status": res.status,
               "time_s": time.perf_counter() - t0}
        history.append(row)
        if callback is not None:
            callback({"iteration": len(history), "value": value, **row})
        best = (m, patterns, res, net, dinfo, value)
        warm = (patterns, res)
        last_cost = time.perf_counter() - t_m
        if res.status in ("time_limit", "interrupted"):
            status = res.status
            break
        if prev_value is not None and abs(prev_value - res.value) <= stable_tol * max(abs(res.value), 1e-300):
            break
        prev_value = res.value
    else:
        if width is None and adaptive and len(history) == len(widths) and len(widths) > 1:
            status = "max_iter"  # m reached max_width before the relaxed value stabilised
    if best is None:
        raise ParameterError("the time limit expired before the first relaxation was solved; "
                             "raise time_limit.")
    m, patterns, res, net, dinfo, value = best
    return SolveResult(
        method="kim-pilanci",
        value=float(value),
        lower_bound=None,
        status=status,
        iterations=iterations,
        time_s=time.perf_counter() - t0,
        history=history,
        solution={"network": net, "W": res.solution["W"], "masks": patterns.masks, "gates": patterns.gates},
        info={"m": int(m), "n_patterns": int(patterns.n_patterns), "relaxed_value": float(res.value),
              "relaxed_lower_bound": None if res.lower_bound is None else float(res.lower_bound),
              "inflation": dinfo.get("inflation"), "width": int(net.width), "mode": mode,
              "decomposition": decomposition},
    )


def _rescale(problem: TrainingProblem, net):
    """Best positive rescaling of the whole network (never worse than the network or zero).

    Scaling predictions by s costs weight decay γ·s·Σ‖u_j‖‖v_j‖ at balance, so
    s* = max(0, (⟨P, Y⟩ − γΣ‖u_j‖‖v_j‖)/‖P‖²) minimises ½‖sP − Y‖² + γsΣ‖u_j‖‖v_j‖. The cone
    decomposition inflates the norms, and this undoes part of the damage in closed form.
    """
    net = net.balanced()
    P = np.maximum(problem.X @ net.U, 0.0) @ net.V.T
    pen = float(np.sum(np.linalg.norm(net.U, axis=0) * np.linalg.norm(net.V, axis=0)))
    pp = float(np.vdot(P, P))
    s = max(0.0, (float(np.vdot(P, problem.Y)) - problem.reg * pen) / pp) if pp > 0 else 0.0
    r = np.sqrt(s)
    return type(net)(net.U * r, net.V * r, net.bias, dict(net.metadata)), s


def _carry(warm, patterns):
    """Warm start for a larger nested pattern set: old blocks kept, new patterns start at zero."""
    if warm is None:
        return None
    old_patterns, old = warm
    W_old = old.solution["W"]
    index = {m.tobytes(): i for i, m in enumerate(np.packbits(old_patterns.masks, axis=0).T)}
    W = np.zeros((W_old.shape[0], patterns.n_patterns, W_old.shape[2]))
    for j, key in enumerate(np.packbits(patterns.masks, axis=0).T):
        i = index.get(key.tobytes())
        if i is not None:
            W[:, j] = W_old[:, i]
    return W
