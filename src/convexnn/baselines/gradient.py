"""Gradient training of NN-TRAIN: L-BFGS, Adam and momentum SGD, and the two protocols of SPEC §6.

Every method here minimises exactly the NN-TRAIN objective of :class:`~convexnn.problem.TrainingProblem`
(½ × the *summed* squared error + (γ/2)(‖U‖² + ‖V‖²), no biases unless the design matrix carries a
ones column) and reports the objective *recomputed* on the returned network, so that ``value`` is an
honest upper bound on the global optimum p*(m) that a certified lower bound can be compared with.

- :func:`train_lbfgs` — full-batch L-BFGS from several starts (used by the certified pipeline).
- :func:`train_adam` — full-batch Adam with early stopping on stagnation, keeps the best iterate.
- :func:`train_sgd` — full-batch SGD with heavy-ball momentum (PyTorch's convention) and a
  reduce-on-plateau schedule, best of several seeds; the numpy twin of
  :func:`convexnn.baselines.torch_sgd.train_sgd_torch`.
- :func:`train_sgd_widths` — the paper protocol's sweep over widths, best of all.
- :func:`train_gradient` — the ``paper`` (reference experiments of [PBY25]) and ``tuned`` protocols.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import minimize

from .._validation import as_float_matrix, as_generator, blas_threads, check_flag, check_memory, check_positive_int
from ..errors import DataError, ParameterError
from ..network import ReLUNetwork
from ..problem import TrainingProblem
from ..result import SolveResult

# --------------------------------------------------------------------------------------------------
# Reference settings of the paper protocol (SPEC §6, [PBY25] public experiments)
# --------------------------------------------------------------------------------------------------

#: Initial SGD learning rate per data set in the reference experiments (unnormalised data).
PAPER_LEARNING_RATES = {"spiral": 1e-2, "random": 1e-5, "iris": 1e-6, "ionosphere": 1e-6,
                        "banknote": 1e-6, "pima": 1e-8}
#: Hidden widths the reference experiments sweep on Random and Spiral (elsewhere: 300).
PAPER_WIDTHS = (5, 10, 100, 200, 300)
PAPER_WIDTH = 300
PAPER_MOMENTUM = 0.95
PAPER_SEEDS = (0, 1, 2, 3, 4)
#: Our epoch cap. The reference runs use 8 000 epochs on Spiral but 5·10⁵ (Random) to 8·10⁶
#: (MNIST) elsewhere — hours per data set; pass ``max_epochs`` to reproduce those.
PAPER_MAX_EPOCHS = 20_000
#: Reference epoch counts, for documentation and for callers who want the full protocol.
PAPER_REFERENCE_EPOCHS = {"spiral": 8_000, "random": 500_000, "iris": 2_000_000,
                          "ionosphere": 2_000_000, "banknote": 5_000_000, "pima": 5_000_000}
#: Reduce-on-plateau as in the reference code: the loss is checked every 10 epochs, and the
#: rate halves after 100 checks (≈ 1 000 epochs) without a 1e-4 relative improvement.
PAPER_PLATEAU = {"factor": 0.5, "patience": 100, "every": 10, "threshold": 1e-4}

_ALIASES = {"bank_notes": "banknote", "bank-notes": "banknote", "banknotes": "banknote",
            "pima_indians": "pima", "pima-indians": "pima", "randomized": "random"}

PROTOCOLS = ("paper", "tuned")
BACKENDS = ("numpy", "torch")


def _dataset_key(dataset) -> str:
    key = str(dataset).strip().lower().split(":", 1)[0]
    return _ALIASES.get(key, key)


def paper_max_epochs(dataset: str | None) -> int:
    """Default epoch cap of the paper protocol: the reference's count, at most PAPER_MAX_EPOCHS."""
    ref = PAPER_REFERENCE_EPOCHS.get(_dataset_key(dataset)) if dataset is not None else None
    return PAPER_MAX_EPOCHS if ref is None else min(ref, PAPER_MAX_EPOCHS)


def paper_learning_rate(dataset: str | None) -> float:
    """Learning rate of the paper protocol for a data set name ('random:3' → 'random')."""
    if dataset is None:
        raise ParameterError(
            "the paper protocol needs a learning rate: pass dataset= (one of "
            f"{', '.join(sorted(PAPER_LEARNING_RATES))}) or an explicit lr=.")
    key = _dataset_key(dataset)
    if key not in PAPER_LEARNING_RATES:
        raise ParameterError(
            f"no reference learning rate for dataset {dataset!r} (known: "
            f"{', '.join(sorted(PAPER_LEARNING_RATES))}); pass lr= explicitly.")
    return PAPER_LEARNING_RATES[key]


# --------------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------------


class _Stop(Exception):
    pass


def _check_time_limit(time_limit):
    if time_limit is None:
        return None
    if isinstance(time_limit, bool) or not isinstance(time_limit, numbers.Real) or not time_limit >= 0:
        raise ParameterError(f"time_limit must be a non-negative number of seconds or None; got {time_limit!r}.")
    return float(time_limit)


def _check_positive_float(x, name: str, *, allow_zero: bool = False) -> float:
    ok = not isinstance(x, bool) and isinstance(x, numbers.Real) and np.isfinite(x) and x >= 0
    if not ok or (x == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ParameterError(f"{name} must be a {kind} finite number; got {x!r}.")
    return float(x)


def _check_unit(x, name: str, *, closed: bool = False) -> float:
    x = _check_positive_float(x, name, allow_zero=True)
    if x > 1 or (x == 1 and not closed):
        raise ParameterError(f"{name} must lie in [0, 1{']' if closed else ')'}; got {x}.")
    return x


def _check_callback(callback) -> None:
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback must be callable or None; got {type(callback).__name__}.")


def _check_width_memory(problem: TrainingProblem, width: int, runs: int, what: str) -> None:
    """Refuse a width whose arrays cannot fit, before allocating them: per run (a restart or a
    batched seed) the weights and their optimiser state (about 80 copies of the N = (d + c)·width
    weights: scipy's L-BFGS-B workspace with 30 correction pairs alone is 65·N; momentum and Adam
    need fewer) and the hidden activations with their gradients (about 6 n × width arrays)."""
    per_run = 80.0 * (problem.d + problem.c) * width + 6.0 * problem.n * width
    check_memory(8.0 * max(1, runs) * per_run, f"{what} with width {width}")


def _init_pair(init, problem: TrainingProblem) -> tuple[np.ndarray, np.ndarray]:
    """(U, V) float64 copies from a ReLUNetwork or a pair, checked against the problem's shapes."""
    if isinstance(init, ReLUNetwork):
        U0, V0 = init.U, init.V
    else:
        try:
            U0, V0 = init
        except (TypeError, ValueError) as exc:
            raise DataError("init must be a ReLUNetwork or a (U, V) pair of arrays.") from exc
    U0 = as_float_matrix(U0, "init U").copy()
    V0 = as_float_matrix(V0, "init V").copy()
    if U0.shape[0] != problem.d:
        raise DataError(f"init U has {U0.shape[0]} rows but the design matrix has d = {problem.d} columns "
                        "(bias column included).")
    if V0.shape != (problem.c, U0.shape[1]):
        raise DataError(f"init V must have shape ({problem.c}, {U0.shape[1]}); got {V0.shape}.")
    return U0, V0


def _scaled_init(rng: np.random.Generator, problem: TrainingProblem, width: int):
    """Gaussian start whose output has roughly the size of the targets (the L-BFGS default)."""
    d, c = problem.d, problem.c
    xs = float(np.sqrt(np.mean(np.sum(problem.X**2, axis=1)))) or 1.0
    ys = float(np.sqrt(np.mean(problem.Y**2))) or 1.0
    U0 = rng.standard_normal((d, width)) * np.sqrt(ys / xs) / np.sqrt(width)
    V0 = rng.standard_normal((c, width)) * np.sqrt(ys) / np.sqrt(width)
    return U0, V0


def torch_default_init(seed, d: int, c: int, width: int):
    """PyTorch ``nn.Linear(bias=False)`` default init, drawn with numpy: U(±1/√fan_in) per layer.

    This is the distribution of the reference model (two bias-free Linear layers); the draws
    themselves come from ``numpy.random.default_rng(seed)`` so numpy and torch back-ends start from
    the same weights.
    """
    rng = as_generator(seed)
    U = rng.uniform(-1.0, 1.0, (d, width)) / np.sqrt(d)
    V = rng.uniform(-1.0, 1.0, (c, width)) / np.sqrt(width)
    return U, V


def _seed_list(seeds, n_seeds) -> tuple[int, ...]:
    if seeds is None:
        return tuple(range(check_positive_int(n_seeds, "n_seeds")))
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        return (int(seeds),)
    try:
        out = tuple(seeds)
    except TypeError:
        raise ParameterError(f"seeds must be a non-negative integer or a sequence of them; got {seeds!r}.") from None
    if not out:
        raise ParameterError("seeds must not be empty.")
    for s in out:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise ParameterError(f"seeds must be non-negative integers; got {s!r}.")
    return tuple(int(s) for s in out)


class _BatchedObjective:
    """NN-TRAIN values and gradients of S independent networks at once (U: S×d×m, V: S×c×m).

    Same formulas as :meth:`TrainingProblem.objective_and_gradient` (ReLU derivative 0 at 0),
    batched over the leading axis so several seeds cost one set of array operations; the
    work arrays are allocated once (large temporaries re-allocated every epoch cost page faults).
    The returned gradients are views of internal buffers, overwritten by the next call.
    """

    def __init__(self, X, Y, reg, S, m):
        n, d = X.shape
        c = Y.shape[1]
        self.X, self.Y, self.reg = X, Y, float(reg)
        self.XT = np.ascontiguousarray(X.T)
        self.Z, self.H, self.G = (np.empty((S, n, m)) for _ in range(3))
        self.mask = np.empty((S, n, m), dtype=bool)
        self.R = np.empty((S, n, c))
        self.gU, self.gV = np.empty((S, d, m)), np.empty((S, c, m))

    def __call__(self, U, V, need_grad: bool = True):
        Z, H, R, G = self.Z, self.H, self.R, self.G
        np.matmul(self.X, U, out=Z)
        np.maximum(Z, 0.0, out=H)
        np.matmul(H, V.transpose(0, 2, 1), out=R)
        R -= self.Y
        vals = 0.5 * np.einsum("snc,snc->s", R, R) + 0.5 * self.reg * (
            np.einsum("sdm,sdm->s", U, U) + np.einsum("scm,scm->s", V, V))
        if not need_grad:
            return vals, None, None
        np.matmul(R.transpose(0, 2, 1), H, out=self.gV)
        self.gV += self.reg * V
        np.matmul(R, V, out=G)
        np.greater(Z, 0.0, out=self.mask)
        G *= self.mask
        np.matmul(self.XT, G, out=self.gU)
        self.gU += self.reg * U
        return vals, self.gU, self.gV


def batched_objective_and_gradient(X, Y, reg, U, V, need_grad: bool = True):
    """NN-TRAIN values (S,) and gradients (S×d×m, S×c×m) of S networks stacked along axis 0."""
    U = np.asarray(U, dtype=float)
    V = np.asarray(V, dtype=float)
    vals, gU, gV = _BatchedObjective(X, Y, reg, U.shape[0], U.shape[2])(U, V, need_grad)
    return (vals, None, None) if not need_grad else (vals, gU.copy(), gV.copy())


class PlateauSchedule:
    """ReduceLROnPlateau (mode 'min', relative threshold, no cooldown) for S runs at once.

    Mirrors ``torch.optim.lr_scheduler.ReduceLROnPlateau``: a value counts as an improvement when
    it is below ``best·(1 − threshold)``; after more than ``patience`` checks without one the rate
    is multiplied by ``factor`` (not below ``min_lr``, and only if it changes by more than ``eps``).
    """

    def __init__(self, lr, factor=0.5, patience=100, threshold=1e-4, min_lr=0.0, eps=1e-12):
        self.lr = np.array(lr, dtype=float).copy()
        self.factor, self.patience, self.threshold = float(factor), int(patience), float(threshold)
        self.min_lr, self.eps = float(min_lr), float(eps)
        self.best = np.full(self.lr.shape, np.inf)
        self.bad = np.zeros(self.lr.shape, dtype=int)
        self.reductions = np.zeros(self.lr.shape, dtype=int)

    def step(self, values) -> bool:
        """Feed the latest values (one per run); True when some learning rate changed."""
        values = np.asarray(values, dtype=float)
        improved = values < self.best * (1.0 - self.threshold)
        self.best = np.where(improved, values, self.best)
        self.bad = np.where(improved, 0, self.bad + 1)
        due = self.bad > self.patience
        if not np.any(due):
            return False
        new = np.maximum(self.lr * self.factor, self.min_lr)
        change = due & (self.lr - new > self.eps)
        self.lr = np.where(change, new, self.lr)
        self.reductions += change
        self.bad = np.where(due, 0, self.bad)
        return bool(np.any(change))


def _finish(problem, method, candidates, status, iterations, t0, history, info, solution_extra=None,
            balance=False):
    """Pick the candidate (U, V) with the lowest *recomputed* objective and build the SolveResult."""
    best = None
    for tag, U, V in candidates:
        U = np.ascontiguousarray(U, dtype=float)
        V = np.ascontiguousarray(V, dtype=float)
        val = problem.objective(U, V)
        if balance:
            net = ReLUNetwork(U, V, bias=False).balanced()
            bval = problem.objective(net.U, net.V)
            if bval <= val:  # same function, never larger weight decay; guard against rounding
                U, V, val = net.U, net.V, bval
        if np.isfinite(val) and (best is None or val < best[0]):
            best = (val, U, V, tag)
    if best is None:  # every candidate non-finite: report the zero network, which is always valid
        m = candidates[0][1].shape[1] if candidates else 1
        U, V = np.zeros((problem.d, m)), np.zeros((problem.c, m))
        best = (problem.objective(U, V), U, V, None)
        status = "failed"
    val, U, V, tag = best
    info = dict(info)
    if tag is not None:
        info.update(tag)
    solution = {"U": U, "V": V}
    if solution_extra:
        solution.update(solution_extra)
    return SolveResult(method=method, value=float(val), lower_bound=None, status=status,
                       iterations=int(iterations), time_s=time.perf_counter() - t0, history=history,
                       solution=solution, info=info)


# --------------------------------------------------------------------------------------------------
# L-BFGS
# --------------------------------------------------------------------------------------------------


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
    Returns the best network found, balanced (‖u_j‖ = ‖v_j‖: same function, no larger decay);
    ``value`` is its recomputed NN-TRAIN objective and ``lower_bound`` is None (gradient training
    certifies nothing). ``history`` has one dict per accepted L-BFGS iterate (restart, iteration,
    value, time_s; iteration 0 is the start), non-increasing within a restart because L-BFGS-B's
    line search only accepts points with sufficient decrease. Status: 'max_iter' when the best
    restart stopped at ``max_iter``, 'time_limit' / 'interrupted' (Ctrl-C) with the best network so
    far, else 'optimal' (scipy's convergence test). ``callback`` gets each history dict.
    """
    t0 = time.perf_counter()
    width = check_positive_int(width, "width")
    restarts = check_positive_int(restarts, "restarts", minimum=0)
    max_iter = check_positive_int(max_iter, "max_iter", minimum=0)
    time_limit = _check_time_limit(time_limit)
    _check_callback(callback)
    rng = as_generator(seed)
    d, c = problem.d, problem.c
    _check_width_memory(problem, width, 1, "L-BFGS training")  # one restart at a time
    starts = []
    if init is not None:
        starts.append(_init_pair(init, problem))
        candidates_init = [({"best_restart": "init"}, *starts[0])]
    else:
        candidates_init = []
    for _ in range(restarts):
        starts.append(_scaled_init(rng, problem, width))
    if not starts:
        starts.append((np.zeros((d, width)), np.zeros((c, width))))

    history: list[dict] = []
    restart_values: list[float] = []
    candidates = []
    total_iter = 0
    status = "optimal"
    best_status, best_val = "optimal", np.inf

    for k, (U0, V0) in enumerate(starts):
        m = U0.shape[1]

        def fun(theta, m=m):
            U = theta[: d * m].reshape(d, m)
            V = theta[d * m:].reshape(c, m)
            val, gU, gV = problem.objective_and_gradient(U, V)
            return val, np.concatenate([gU.ravel(), gV.ravel()])

        theta0 = np.concatenate([U0.ravel(), V0.ravel()])
        state = {"theta": theta0, "it": 0, "restart": k}

        def record(value):
            rec = {"restart": state["restart"], "iteration": state["it"], "value": float(value),
                   "time_s": time.perf_counter() - t0}
            history.append(rec)
            if callback is not None:
                callback(dict(rec))

        # scipy passes an OptimizeResult (x, fun) when the only parameter is named intermediate_result
        def cb(intermediate_result):
            nonlocal total_iter
            total_iter += 1
            state["it"] += 1
            state["theta"] = np.array(intermediate_result.x, copy=True)
            record(intermediate_result.fun)
            if time_limit is not None and time.perf_counter() - t0 > time_limit:
                raise _Stop

        run_status = "optimal"
        try:
            if time_limit is not None and time.perf_counter() - t0 > time_limit:
                raise _Stop
            record(problem.objective(U0, V0))
            res = minimize(fun, theta0, jac=True, method="L-BFGS-B", callback=cb,
                           options={"maxiter": max_iter, "maxcor": 30, "gtol": 1e-10, "ftol": 1e-15})
            theta = res.x
            if res.nit >= max_iter:
                run_status = "max_iter"
        except _Stop:
            theta = state["theta"]
            status = run_status = "time_limit"
        except KeyboardInterrupt:
            theta = state["theta"]
            status = run_status = "interrupted"
        U = theta[: d * m].reshape(d, m).copy()
        V = theta[d * m:].reshape(c, m).copy()
        val = problem.objective(U, V)
        restart_values.append(float(val))
        candidates.append(({"best_restart": k}, U, V))
        if val < best_val:
            best_val, best_status = val, run_status
        if status in ("time_limit", "interrupted"):
            break
    if status not in ("time_limit", "interrupted"):
        status = best_status
    res = _finish(problem, "lbfgs", candidates + candidates_init, status, total_iter, t0, history,
                  {"restarts": len(starts), "width": int(candidates[0][1].shape[1])}, balance=True)
    res.info["width"] = int(res.solution["U"].shape[1])
    res.info["restart_values"] = restart_values
    return res


# --------------------------------------------------------------------------------------------------
# Adam
# --------------------------------------------------------------------------------------------------


def train_adam(
    problem: TrainingProblem,
    *,
    width: int = 300,
    lr: float = 1e-2,
    max_epochs: int = 20_000,
    seed: int | np.random.Generator | None = 0,
    init=None,
    time_limit: float | None = None,
    tol_stagnation: float = 1e-7,
    patience: int = 500,
    callback: Callable[[dict], None] | None = None,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    log_every: int | None = None,
    balance: bool = True,
) -> SolveResult:
    """Full-batch Adam on NN-TRAIN, stopped when the best objective stagnates; keeps the best iterate.

    Starts from ``init`` (ReLUNetwork or (U, V); its width wins) or from a scaled Gaussian draw of
    width ``width`` with ``seed``. Stops with status 'optimal' when the best value improved by less
    than ``tol_stagnation`` (relative) over the last ``patience`` epochs, 'max_iter' at
    ``max_epochs``, 'time_limit' / 'interrupted' (Ctrl-C) with the best network so far. The
    returned network is the best iterate seen (balanced if ``balance``), so a warm start never
    gets worse. ``history``/``callback``: one dict every ``log_every`` epochs.
    """
    with blas_threads(problem.n):
        t0 = time.perf_counter()
        width = check_positive_int(width, "width")
        lr = _check_positive_float(lr, "lr")
        max_epochs = check_positive_int(max_epochs, "max_epochs", minimum=0)
        patience = check_positive_int(patience, "patience")
        tol = _check_positive_float(tol_stagnation, "tol_stagnation", allow_zero=True)
        time_limit = _check_time_limit(time_limit)
        if isinstance(betas, (str, bytes)) or not (hasattr(betas, "__len__") and len(betas) == 2):
            raise ParameterError(f"betas must be a pair (β₁, β₂) of numbers in [0, 1); got {betas!r}.")
        b1, b2 = (_check_unit(b, "betas") for b in betas)
        balance = check_flag(balance, "balance")
        _check_callback(callback)
        eps = _check_positive_float(eps, "eps")
        log_every = max(1, max_epochs // 200) if log_every is None else check_positive_int(log_every, "log_every")
        if init is not None:
            U0, V0 = _init_pair(init, problem)
        else:
            rng = as_generator(seed)
            _check_width_memory(problem, width, 1, "Adam training")
            U0, V0 = _scaled_init(rng, problem, width)
        X, Y, reg = problem.X, problem.Y, problem.reg
        U, V = U0[None].copy(), V0[None].copy()
        objective = _BatchedObjective(X, Y, reg, 1, U.shape[2])
        mU, mV, vU, vV = (np.zeros_like(A) for A in (U, V, U, V))
        bestU, bestV, best = U[0].copy(), V[0].copy(), np.inf
        stagnation = patience < max_epochs  # otherwise the criterion can never fire
        best_trace = np.full(patience + 1 if stagnation else 1, np.inf)
        history: list[dict] = []
        status, epoch = "max_iter", 0
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                while True:
                    vals, gU, gV = objective(U, V)
                    val = float(vals[0])
                    if val < best:
                        bestU[...] = U[0]
                        bestV[...] = V[0]
                        best = val
                    best_trace[epoch % best_trace.size] = best
                    if epoch % log_every == 0:
                        rec = {"iteration": epoch, "value": val, "best_value": best,
                               "time_s": time.perf_counter() - t0}
                        history.append(rec)
                        if callback is not None:
                            callback(dict(rec))
                    if not np.isfinite(val):
                        status = "failed"
                        break
                    if stagnation and epoch >= patience:
                        old = best_trace[(epoch - patience) % (patience + 1)]
                        if old - best <= tol * max(abs(old), 1e-300):
                            status = "optimal"
                            break
                    if epoch >= max_epochs:
                        break
                    if time_limit is not None and time.perf_counter() - t0 > time_limit:
                        status = "time_limit"
                        break
                    epoch += 1
                    for P, G, M, S in ((U, gU, mU, vU), (V, gV, mV, vV)):
                        M *= b1
                        M += (1 - b1) * G
                        S *= b2
                        S += (1 - b2) * G * G
                        step = lr / (1 - b1**epoch)
                        P -= step * M / (np.sqrt(S / (1 - b2**epoch)) + eps)
        except KeyboardInterrupt:
            status = "interrupted"
        cands = [({}, bestU, bestV)] + ([] if init is None else [({}, U0, V0)])
        return _finish(problem, "adam", cands, status, epoch, t0, history,
                       {"width": int(U0.shape[1]), "lr": lr, "epochs": epoch},
                       {"U_last": U[0].copy(), "V_last": V[0].copy()}, balance=balance)


# --------------------------------------------------------------------------------------------------
# Momentum SGD (paper protocol)
# --------------------------------------------------------------------------------------------------


def _sgd_args(problem, width, lr, momentum, max_epochs, seeds, n_seeds, plateau_patience, plateau_factor,
              plateau_every, plateau_threshold, min_lr, init, time_limit, log_every):
    """Validate the SGD arguments shared by the numpy and torch back-ends; build the starts."""
    lr = _check_positive_float(lr, "lr")
    momentum = _check_unit(momentum, "momentum")
    max_epochs = check_positive_int(max_epochs, "max_epochs", minimum=0)
    plateau_patience = check_positive_int(plateau_patience, "plateau_patience", minimum=0)
    plateau_factor = _check_unit(plateau_factor, "plateau_factor", closed=True)
    plateau_every = check_positive_int(plateau_every, "plateau_every")
    plateau_threshold = _check_positive_float(plateau_threshold, "plateau_threshold", allow_zero=True)
    min_lr = _check_positive_float(min_lr, "min_lr", allow_zero=True)
    time_limit = _check_time_limit(time_limit)
    log_every = max(1, max_epochs // 100) if log_every is None else check_positive_int(log_every, "log_every")
    if init is not None:
        U0, V0 = _init_pair(init, problem)
        seeds = ("init",)
        U0s, V0s = U0[None].copy(), V0[None].copy()
    else:
        width = check_positive_int(width, "width")
        seeds = _seed_list(seeds, n_seeds)
        _check_width_memory(problem, width, len(seeds), "SGD training (seeds batched)")
        pairs = [torch_default_init(s, problem.d, problem.c, width) for s in seeds]
        U0s = np.stack([p[0] for p in pairs])
        V0s = np.stack([p[1] for p in pairs])
    plateau = {"factor": plateau_factor, "patience": plateau_patience, "every": plateau_every,
               "threshold": plateau_threshold, "min_lr": min_lr}
    return lr, momentum, max_epochs, seeds, U0s, V0s, plateau, time_limit, log_every


def _sgd_result(problem, method, seeds, bestU, bestV, lastU, lastV, sched, status, epochs, t0, history,
                lr, momentum, max_epochs, backend, extra_info=None, init=None):
    """Best seed by recomputed objective, as a SolveResult (shared by both back-ends).

    A warm start ``init`` is itself a candidate, so the result is never worse than it.
    """
    cands = [] if init is None else [({"best_seed": "init", "final_lr": float(sched.lr[0]),
                                        "lr_reductions": int(sched.reductions[0])}, *_init_pair(init, problem))]
    cands += [({"best_seed": s, "final_lr": float(sched.lr[i]), "lr_reductions": int(sched.reductions[i])},
              bestU[i], bestV[i]) for i, s in enumerate(seeds)]
    seed_values = np.array([problem.objective(bestU[i], bestV[i]) for i in range(len(seeds))])
    i_best = int(np.nanargmin(np.where(np.isfinite(seed_values), seed_values, np.nan))) \
        if np.any(np.isfinite(seed_values)) else 0
    info = {"width": int(bestU.shape[2]), "lr": lr, "momentum": momentum, "n_seeds": len(seeds),
            "max_epochs": max_epochs, "epochs": int(epochs), "backend": backend,
            "diverged_seeds": int(sum(not (np.all(np.isfinite(lastU[i])) and np.all(np.isfinite(lastV[i])))
                                      for i in range(len(seeds))))}
    if extra_info:
        info.update(extra_info)
    return _finish(problem, method, cands, status, epochs, t0, history, info,
                   {"seed_values": seed_values, "U_last": np.array(lastU[i_best]),
                    "V_last": np.array(lastV[i_best])})


def train_sgd(
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
    init=None,
    time_limit: float | None = None,
    callback: Callable[[dict], None] | None = None,
    log_every: int | None = None,
) -> SolveResult:
    """Full-batch SGD with momentum on NN-TRAIN, best of several seeds (numpy; paper protocol).

    Update (PyTorch ``SGD(momentum=μ)`` convention, no dampening/Nesterov, weight decay inside the
    loss): buf ← μ·buf + ∇F(θ); θ ← θ − lr·buf, buf starting at 0. Every ``plateau_every`` epochs
    the current loss feeds a reduce-on-plateau schedule (×``plateau_factor`` after more than
    ``plateau_patience`` checks without a ``plateau_threshold`` relative improvement), as in the
    reference code. Starts: PyTorch's default ``nn.Linear`` init drawn from
    ``numpy.random.default_rng(seed)`` for each of ``seeds`` (default ``range(n_seeds)``); the seeds
    run batched. With ``init`` (ReLUNetwork or (U, V)) a single run starts from it (seeds ignored).
    Returns the best iterate of the best seed (``info['best_seed']``), value recomputed in float64;
    ``iterations`` = epochs run. Status 'max_iter', 'time_limit', 'interrupted' (Ctrl-C; best so
    far) or 'failed' (every seed diverged: lower ``lr``).
    """
    with blas_threads(problem.n):
        t0 = time.perf_counter()
        _check_callback(callback)
        lr, momentum, max_epochs, seeds, U, V, plateau, time_limit, log_every = _sgd_args(
            problem, width, lr, momentum, max_epochs, seeds, n_seeds, plateau_patience, plateau_factor,
            plateau_every, plateau_threshold, min_lr, init, time_limit, log_every)
        X, Y, reg = problem.X, problem.Y, problem.reg
        S = U.shape[0]
        objective = _BatchedObjective(X, Y, reg, S, U.shape[2])
        bufU, bufV = np.zeros_like(U), np.zeros_like(V)
        bestU, bestV = U.copy(), V.copy()
        best = np.full(S, np.inf)
        sched = PlateauSchedule(np.full(S, lr), plateau["factor"], plateau["patience"], plateau["threshold"],
                                plateau["min_lr"])
        history: list[dict] = []
        status, epoch = "max_iter", 0
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                while True:
                    vals, gU, gV = objective(U, V, need_grad=epoch < max_epochs)
                    better = vals < best
                    if np.any(better):
                        bestU[better] = U[better]
                        bestV[better] = V[better]
                        best = np.where(better, vals, best)
                    if epoch % log_every == 0 or epoch == max_epochs:
                        _log_sgd(history, callback, seeds, epoch, vals, best, sched.lr, t0, U.shape[2])
                    if epoch >= max_epochs:
                        break
                    check = epoch % plateau["every"] == 0
                    if check and not np.any(np.isfinite(vals)):
                        status = "failed"
                        break
                    if time_limit is not None and time.perf_counter() - t0 > time_limit:
                        status = "time_limit"
                        break
                    lrs = sched.lr[:, None, None]
                    bufU *= momentum
                    bufU += gU
                    bufV *= momentum
                    bufV += gV
                    U -= lrs * bufU
                    V -= lrs * bufV
                    if check:
                        sched.step(vals)
                    epoch += 1
        except KeyboardInterrupt:
            status = "interrupted"
        return _sgd_result(problem, "sgd", seeds, bestU, bestV, U, V, sched, status, epoch, t0, history,
                           lr, momentum, max_epochs, "numpy", init=init)


def _log_sgd(history, callback, seeds, epoch, vals, best, lrs, t0, width):
    now = time.perf_counter() - t0
    for i, s in enumerate(seeds):
        history.append({"width": int(width), "seed": s, "iteration": int(epoch), "value": float(vals[i]),
                        "best_value": float(best[i]), "lr": float(lrs[i]), "time_s": now})
    if callback is not None:
        callback({"iteration": int(epoch), "width": int(width), "value": float(np.min(best)), "time_s": now})


def train_sgd_widths(
    problem: TrainingProblem,
    *,
    widths: Sequence[int] = PAPER_WIDTHS,
    backend: str = "numpy",
    device: str = "cpu",
    time_limit: float | None = None,
    callback: Callable[[dict], None] | None = None,
    **kwargs,
) -> SolveResult:
    """Run momentum SGD (``kwargs`` as in :func:`train_sgd`) at each width; return the best network.

    The paper sweeps widths 5, 10, 100, 200, 300 on Random and Spiral and reports the best loss.
    ``time_limit`` is shared by all widths (later widths get what is left). ``info['width_values']``
    maps width → best value; ``history`` concatenates the runs (each record has its width).
    """
    t0 = time.perf_counter()
    time_limit = _check_time_limit(time_limit)
    widths = tuple(check_positive_int(w, "width") for w in widths)
    if not widths:
        raise ParameterError("widths must not be empty.")
    if kwargs.get("init") is not None:
        raise ParameterError("a warm start fixes the width; call train_sgd / train_gradient with init instead.")
    runs = {}
    history: list[dict] = []
    status = "max_iter"
    run = _sgd_backend(backend, device)
    try:
        for w in widths:
            left = None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - t0))
            r = run(problem, width=w, time_limit=left, callback=callback, **kwargs)
            runs[w] = r
            history.extend(r.history)
            if r.status in ("time_limit", "interrupted"):
                status = r.status
                break
    except KeyboardInterrupt:  # between two runs: keep what is done
        status = "interrupted"
    if not runs:
        raise KeyboardInterrupt
    best_w = min(runs, key=lambda w: runs[w].value)
    best = runs[best_w]
    if status not in ("time_limit", "interrupted"):
        status = best.status
    info = dict(best.info)
    info.update({"width": best_w, "widths": ",".join(str(w) for w in runs),
                 "width_values": {int(w): float(r.value) for w, r in runs.items()},
                 "total_epochs": int(sum(r.iterations * r.info.get("n_seeds", 1) for r in runs.values()))})
    return SolveResult(method=best.method, value=best.value, lower_bound=None, status=status,
                       iterations=best.iterations, time_s=time.perf_counter() - t0, history=history,
                       solution=best.solution, info=info)


def _sgd_backend(backend: str, device: str = "cpu"):
    if backend == "numpy":
        if device not in (None, "cpu"):
            raise ParameterError(f"the numpy back-end runs on the CPU only; got device={device!r} "
                                 "(use backend='torch' for a GPU).")
        return train_sgd
    if backend == "torch":
        from .torch_sgd import train_sgd_torch

        def run(problem, **kw):
            return train_sgd_torch(problem, device=device, **kw)

        return run
    raise ParameterError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}.")


# --------------------------------------------------------------------------------------------------
# Protocols
# --------------------------------------------------------------------------------------------------

#: Defaults of the tuned protocol (see :func:`train_gradient`).
TUNED_DEFAULTS = {"width": 300, "adam_lr": 1e-2, "adam_epochs": 3000, "adam_patience": 300,
                  "lbfgs_iter": 3000}


def train_gradient(
    problem: TrainingProblem,
    protocol: str = "paper",
    *,
    dataset: str | None = None,
    width: int | None = None,
    widths: Sequence[int] | None = None,
    lr: float | None = None,
    max_epochs: int | None = None,
    seeds: int | Sequence[int] = 5,
    time_limit: float | None = None,
    backend: str = "numpy",
    device: str = "cpu",
    init=None,
    callback: Callable[[dict], None] | None = None,
) -> SolveResult:
    """Gradient training of NN-TRAIN under the ``paper`` or the ``tuned`` protocol (SPEC §6).

    ``paper`` — the reference experiments of [PBY25]: full-batch SGD, momentum 0.95, learning rate
    from :data:`PAPER_LEARNING_RATES` by ``dataset`` name ('random:3' → 'random'; an unknown name
    needs ``lr``), reduce-on-plateau ×0.5 (checked every 10 epochs, patience 100 checks), PyTorch
    default init, best of ``seeds`` (an int n means seeds 0..n−1), width 300 or ``width``, or the
    best over ``widths`` (e.g. :data:`PAPER_WIDTHS` for Random/Spiral). Inputs are used as given
    (the reference used unnormalised data). Epoch cap ``max_epochs`` per width and seed, default
    :func:`paper_max_epochs`: the reference's count capped at :data:`PAPER_MAX_EPOCHS` = 20 000,
    i.e. 8 000 on Spiral (as the reference) but 20 000 instead of 5·10⁵ to 6·10⁶ epochs on Random
    and the UCI sets, so there our paper numbers are *worse* (higher) than a full reference run
    would give; pass ``max_epochs`` to run the full count. ``backend='torch'`` (``device='cuda'`` for a GPU) runs
    the identical iteration in PyTorch.

    ``tuned`` — a modern baseline: for each seed, full-batch Adam (lr 1e-2, early stop when the
    best value stagnates) from a scaled Gaussian start, then L-BFGS from Adam's best iterate; plus
    L-BFGS from ``init`` when given; best of all, balanced. Width 300 by default. Runs on numpy/
    scipy (``backend`` is ignored). Standardise the inputs first where the task allows it (it
    changes the problem, so it is the caller's decision; Random/Spiral are used as given).

    ``init`` (ReLUNetwork or (U, V)) warm-starts either protocol (its width wins, seeds are
    ignored by ``paper``); since the best iterate is kept the result is never worse than ``init``.
    ``time_limit`` (seconds) and Ctrl-C return the best network so far with status 'time_limit' /
    'interrupted'. ``info`` holds the protocol, best seed and width; ``iterations`` counts epochs
    (paper) or Adam epochs + L-BFGS iterations (tuned).
    """
    if protocol not in PROTOCOLS:
        raise ParameterError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}.")
    if backend not in BACKENDS:
        raise ParameterError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}.")
    if dataset is not None and not isinstance(dataset, str):
        raise ParameterError(f"dataset must be a data set name or None; got {dataset!r}.")
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        seed_tuple = tuple(range(check_positive_int(seeds, "seeds")))
    else:
        seed_tuple = _seed_list(seeds, None)
    if protocol == "paper":
        lr = paper_learning_rate(dataset) if lr is None else _check_positive_float(lr, "lr")
        kw = dict(lr=lr, max_epochs=paper_max_epochs(dataset) if max_epochs is None else max_epochs,
                  seeds=seed_tuple, time_limit=time_limit, callback=callback)
        if init is None and widths is not None:
            if width is not None:
                raise ParameterError("pass either width or widths, not both.")
            res = train_sgd_widths(problem, widths=widths, backend=backend, device=device, **kw)
        else:
            res = _sgd_backend(backend, device)(problem, width=PAPER_WIDTH if width is None else width,
                                                init=init, **kw)
        res.info["protocol"] = "paper"
        res.info["dataset"] = dataset
        return res
    return _train_tuned(problem, width=TUNED_DEFAULTS["width"] if width is None else width,
                        max_epochs=TUNED_DEFAULTS["adam_epochs"] if max_epochs is None else max_epochs,
                        seeds=seed_tuple, time_limit=time_limit, init=init, callback=callback,
                        lr=TUNED_DEFAULTS["adam_lr"] if lr is None else lr, dataset=dataset)


def _train_tuned(problem, *, width, max_epochs, seeds, time_limit, init, callback, lr, dataset):
    """Adam (early-stopped) then L-BFGS per seed, plus L-BFGS from ``init``; best of all."""
    t0 = time.perf_counter()
    time_limit = _check_time_limit(time_limit)
    width = check_positive_int(width, "width")
    max_epochs = check_positive_int(max_epochs, "max_epochs", minimum=0)
    lbfgs_iter = TUNED_DEFAULTS["lbfgs_iter"]
    candidates, history, runs = [], [], []
    status, iterations = "optimal", 0

    def left():
        return None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - t0))

    def note(stage, seed):
        def cb(rec):
            rec = dict(rec, stage=stage, seed=seed)
            history.append(rec)
            if callback is not None:
                callback(rec)
        return cb

    def take(res, stage, seed):
        nonlocal status, iterations
        iterations += res.iterations
        runs.append((stage, seed, res.value))
        candidates.append(({"best_seed": seed, "best_stage": stage, "stage_status": res.status},
                           res.solution["U"], res.solution["V"]))
        if res.status in ("time_limit", "interrupted"):
            status = res.status
        return res.status not in ("time_limit", "interrupted")

    # a warm start replaces the random starts: L-BFGS straight from it, and Adam → L-BFGS from it
    starts = [("init", "init", True), ("init", "init", False)] if init is not None else \
        [("random", s, False) for s in seeds]
    try:
        for kind, seed, lbfgs_only in starts:
            if lbfgs_only:
                r = train_lbfgs(problem, width=width, restarts=0, init=init, max_iter=lbfgs_iter,
                                time_limit=left(), callback=note("lbfgs", seed))
                if not take(r, "lbfgs", seed):
                    break
                continue
            a = train_adam(problem, width=width, lr=lr, max_epochs=max_epochs, seed=seed, time_limit=left(),
                           init=init if kind == "init" else None, patience=TUNED_DEFAULTS["adam_patience"],
                           callback=note("adam", seed), log_every=max(1, max_epochs // 50) if max_epochs else 1)
            if not take(a, "adam", seed):
                break
            r = train_lbfgs(problem, width=width, restarts=0, init=(a.solution["U"], a.solution["V"]),
                            max_iter=lbfgs_iter, time_limit=left(), callback=note("lbfgs", seed))
            if not take(r, "adam+lbfgs", seed):
                break
    except KeyboardInterrupt:  # between two stages: keep what is done
        status = "interrupted"
    if not candidates:  # nothing ran (time limit spent, or Ctrl-C at once): report the start
        status = "interrupted" if status == "interrupted" else "time_limit"
        U0, V0 = (_init_pair(init, problem) if init is not None
                  else _scaled_init(np.random.default_rng(seeds[0]), problem, width))
        candidates.append(({"best_seed": seeds[0] if init is None else "init", "best_stage": "start"}, U0, V0))
    info = {"protocol": "tuned", "dataset": dataset, "width": width, "n_seeds": len(seeds),
            "adam_lr": lr, "adam_max_epochs": max_epochs, "lbfgs_iter": lbfgs_iter,
            "stage_values": [{"stage": s, "seed": k, "value": float(v)} for s, k, v in runs]}
    res = _finish(problem, "tuned", candidates, status, iterations, t0, history, info, balance=True)
    stage_status = res.info.pop("stage_status", None)
    if res.status not in ("time_limit", "interrupted", "failed") and stage_status is not None:
        res.status = stage_status  # 'optimal' or 'max_iter' of the run that produced the winner
    res.info["width"] = int(res.solution["U"].shape[1])
    return res


__all__ = [
    "PAPER_LEARNING_RATES",
    "PAPER_WIDTHS",
    "PAPER_MAX_EPOCHS",
    "PAPER_MOMENTUM",
    "PAPER_PLATEAU",
    "PAPER_REFERENCE_EPOCHS",
    "PlateauSchedule",
    "batched_objective_and_gradient",
    "paper_learning_rate",
    "paper_max_epochs",
    "torch_default_init",
    "train_adam",
    "train_gradient",
    "train_lbfgs",
    "train_sgd",
    "train_sgd_widths",
]
