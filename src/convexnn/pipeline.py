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

from ._validation import as_generator, check_flag, check_positive_int, check_time_limit, check_tol
from .baselines.gradient import train_lbfgs
from .atomic_dual import ATOMIC_DUAL_AUTO_DIM, ATOMIC_DUAL_MAX_DIM, atomic_dual_certificate
from .certificate import OptimalityCertificate
from .errors import DataError, MemoryEstimateError, ParameterError
from .network import ReLUNetwork
from .problem import TrainingProblem
from .result import SolveResult
from .sdp import solve_sdp

METHODS = ("sdp", "lbfgs", "sgd", "crelu", "gated", "kim-pilanci", "exact",
           "sahiner-fw", "sahiner-cop", "nngp", "ntk")
KERNEL_METHODS = ("nngp", "ntk")
METHOD_HELP = {
    "sdp": "SDP-NN lower bound + rounding + polish (certified) [PBY25]",
    "lbfgs": "gradient training with L-BFGS restarts",
    "sgd": "gradient training, 'paper' (momentum SGD) or 'tuned' (Adam + L-BFGS) protocol",
    "crelu": "exact convex ReLU program over sampled activation patterns [PE20]",
    "gated": "gated-ReLU relaxation, cone-decomposed into a ReLU network [MSP22]",
    "kim-pilanci": "randomized polynomial-time algorithm: sampled gates, relaxation, decomposition [KP24]",
    "exact": "all activation patterns (small d): the global optimum for one output",
    "sahiner-fw": "Frank-Wolfe with the non-negative PCA oracle [S21]",
    "sahiner-cop": "copositive relaxation via CVXPY (tiny problems) [S21]",
    "nngp": "NNGP kernel regression (no network)",
    "ntk": "NTK kernel regression (no network)",
}


@dataclass
class FitResult:
    """A trained model with its certificate and the results of each stage.

    ``network`` is the trained ReLUNetwork (None for the kernel methods, whose predictor is
    ``model``). ``certificate`` pairs the best certified lower bound on p* with the returned
    network's NN-TRAIN objective.
    """

    network: ReLUNetwork | None
    certificate: OptimalityCertificate
    stages: dict[str, SolveResult] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)
    method: str = "sdp"
    candidates: dict = field(default_factory=dict)   # candidate name -> training objective
    candidate_networks: dict = field(default_factory=dict, repr=False)
    chosen: str = ""
    model: object | None = field(default=None, repr=False)
    notes: list = field(default_factory=list)

    def predict(self, X) -> np.ndarray:
        """Outputs (n×c) of the trained network (or kernel predictor) on raw inputs X."""
        return self.network.predict(X) if self.network is not None else self.model.predict(X)


def fit(
    X,
    Y,
    reg: float,
    *,
    bias: bool = False,
    method: str = "sdp",
    solver: str = "auto",
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
    n_gates: int = 100,
    mode: str = "nuclear",
    decomposition: str = "min-norm",
    protocol: str = "tuned",
    dataset: str | None = None,
    max_epochs: int | None = None,
    oracle: str = "exact",
    certify: bool | str = "auto",
    polish: bool = True,
    dual_bound: bool | str = "auto",
    dual_callback=None,
    rounding_callback=None,
) -> FitResult:
    """Train a two-layer ReLU network on raw features X and targets Y with weight decay ``reg``.

    ``method`` (see :data:`METHOD_HELP`): 'sdp' solves SDP-NN for a certified lower bound, then
    rounds it into candidate networks; 'lbfgs'/'sgd' train by gradient; 'crelu', 'gated',
    'kim-pilanci', 'exact' solve hyperplane-arrangement convex programs (``n_gates`` sampled
    Gaussian gates, ``mode`` 'nuclear'|'ova' for vector outputs, ``decomposition`` 'shift'|
    'min-norm'); 'sahiner-fw'/'sahiner-cop' are [S21]'s methods; 'nngp'/'ntk' kernel regression
    (no network). ``bias`` adds a first-layer bias through a ones column.

    ``certify``: 'auto' (default) also solves SDP-NN for a lower bound when the method has no
    certified bound on p* of its own; True always does; False never. The certificate combines
    the best lower bound with the returned network's objective. ``time_limit`` (seconds) and
    ``max_iter`` cap the SDP stage and the method's own solver; for 'sdp' the rounding gets a
    quarter of the time limit and the L-BFGS training half of it (at least 1 s each);
    ``warm_start`` (a previous FitResult or SDP SolveResult on the same data) warm-starts the
    native SDP solver; with ``solver='auto'`` (default: the interior point for q = n + d + c ≤ 90,
    tried first with the active-set one from q = 60 on; else the ADMM or ipm-active; see
    :func:`convexnn.sdp.solve_sdp`) a warm start from an ADMM solution selects the ADMM, and one
    from an interior point gives the active-set interior point its first working set, with no ADMM
    warm-up (along a reg path on Iris, paper protocol: about 1 s per solve instead of 4–7 s;
    ``benchmarks/sdp_path.py``).
    ``polish``: for the convex-program methods, also try L-BFGS started from the method's network
    (candidate '<method>+lbfgs'); the candidate with the lower training objective is returned and
    both values are in ``candidates``.
    ``dual_bound``: a second certified lower bound, from the atomic-norm dual by column generation
    started from the returned network's neurons (:func:`convexnn.atomic_dual.atomic_dual_certificate`,
    stage 'dual'; the dual norm σ is computed exactly by enumerating the hyperplane arrangement's
    faces where it has at most 5·10⁶ of them or they fit its time limit, else bounded by branch and
    bound over the sphere; a note names the time limit at which they would fit). Its network
    (and an L-BFGS polish of it) join the candidates. 'auto' (default) runs it when ``certify`` is
    not False, the design has at most 5 columns (bias included) and the certificate so far is
    not already within 1e-3, for at most half the time limit or what the stages before it left
    of the limit, whichever is more (at least 1 s; 30 s without one), or until its own gap is
    ≤ 1e-3; True runs it for up to 8 columns; False never. The
    certificate keeps the larger bound and the best network. When it is to run under a time
    limit, an SDP-NN solve on the first-order route (ADMM) still more than 10 % from its certified
    bound at half the limit stops there, and the dual stage gets the SDP stage's remaining time
    as well (a note says so): on Bank Notes the ADMM's bound is far below the dual's.
    ``dual_callback`` gets its progress records (per round, and while a branch and bound runs);
    ``rounding_callback`` those of the rounding (see :func:`convexnn.rounding.round_sdp`).
    """
    if method not in METHODS:
        raise ParameterError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    if certify not in (True, False, "auto"):
        raise ParameterError(f"certify must be True, False or 'auto'; got {certify!r}.")
    if not (isinstance(dual_bound, bool) or (isinstance(dual_bound, str) and dual_bound == "auto")):
        raise ParameterError(f"dual_bound must be True, False or 'auto'; got {dual_bound!r}.")
    # every number and flag is checked here, under its own name, before anything runs: further
    # down they reach solvers that call them by other names (lbfgs_iter, width) or not at all
    bias, rounding, polish = (check_flag(v, k) for k, v in
                              (("bias", bias), ("rounding", rounding), ("polish", polish)))
    check_tol(tol)
    check_time_limit(time_limit)
    if max_iter is not None:
        max_iter = check_positive_int(max_iter, "max_iter")
    if max_epochs is not None:
        max_epochs = check_positive_int(max_epochs, "max_epochs", 0)
    width, rounding_width, n_gates = (check_positive_int(v, k) for k, v in
                                      (("width", width), ("rounding_width", rounding_width),
                                       ("n_gates", n_gates)))
    restarts, train_iter, rounding_iterations = (
        check_positive_int(v, k, 0) for k, v in
        (("restarts", restarts), ("train_iter", train_iter), ("rounding_iterations", rounding_iterations)))
    rng = as_generator(seed)
    for name, cb in (("sdp_callback", sdp_callback), ("train_callback", train_callback),
                     ("dual_callback", dual_callback), ("rounding_callback", rounding_callback)):
        if cb is not None and not callable(cb):
            raise ParameterError(f"{name} must be callable or None; got {type(cb).__name__}.")
    for name, value, allowed in (("mode", mode, ("nuclear", "ova")),
                                 ("decomposition", decomposition, ("min-norm", "shift"))):
        if not isinstance(value, str) or value not in allowed:
            raise ParameterError(f"{name} must be {' or '.join(repr(a) for a in allowed)}; got {value!r}.")
    from .sdp import SOLVERS

    if solver not in SOLVERS:
        raise ParameterError(f"unknown SDP solver {solver!r}; choose one of {', '.join(SOLVERS)}.")
    if method not in KERNEL_METHODS and (method == "sdp" or certify is not False):
        if solver in ("scs", "scs-reduced", "clarabel"):  # before the stages that run first
            from .sdp.reference import require_backend

            require_backend("clarabel" if solver == "clarabel" else "scs")
    problem = TrainingProblem.from_data(X, Y, reg, bias=bias)
    if dual_bound is True and method not in KERNEL_METHODS and problem.X.shape[1] > ATOMIC_DUAL_MAX_DIM:
        raise ParameterError(
            f"dual_bound=True: the branch and bound over the sphere is offered for designs of at most "
            f"{ATOMIC_DUAL_MAX_DIM} columns (bias included); this one has {problem.X.shape[1]}. "
            "Use dual_bound='auto' or False.")
    if method in ("crelu", "gated", "exact", "kim-pilanci", "sahiner-cop") and not np.any(problem.X):
        raise DataError(
            "every training input is the zero vector, so every network outputs 0 and the zero network "
            f"is optimal (objective ½‖Y‖² = {0.5 * float(np.sum(problem.Y ** 2)):.6g}); method "
            f"{method!r} has no activation pattern to work with. Use method='sdp' or 'lbfgs'.")
    if method in KERNEL_METHODS:
        return _fit_kernel(X, Y, reg, bias=bias, kind=method)

    t_fit = time.perf_counter()
    stages: dict[str, SolveResult] = {}
    times: dict[str, float] = {}
    notes: list[str] = []
    candidates: dict[str, tuple[float, ReLUNetwork]] = {}
    cert = OptimalityCertificate(None, None)

    d_design = problem.X.shape[1]
    dual_planned = certify is not False and (
        dual_bound is True or (dual_bound == "auto" and d_design <= ATOMIC_DUAL_AUTO_DIM))
    handover = None  # the SDP stage's hand-over of its time to the dual stage (see _Handover)

    if method in ("sdp", "lbfgs"):
        if method == "sdp" and dual_planned and time_limit is not None:
            handover = _Handover(time_limit, sdp_callback)
        candidates, cert = _fit_sdp(problem, stages, times, notes, method=method, solver=solver, tol=tol,
                                    time_limit=time_limit, max_iter=max_iter, width=width,
                                    restarts=restarts, train_iter=train_iter, rounding=rounding,
                                    rounding_iterations=rounding_iterations,
                                    rounding_width=rounding_width, rng=rng, warm_start=warm_start,
                                    sdp_callback=handover or sdp_callback, train_callback=train_callback,
                                    rounding_callback=rounding_callback)
    else:
        t = time.perf_counter()
        kw = dict(time_limit=time_limit, callback=train_callback)
        if method == "sgd":
            from .baselines.gradient import train_gradient

            res = train_gradient(problem, protocol, dataset=dataset,
                                 width=None if protocol == "paper" and width == 50 else width,
                                 max_epochs=max_epochs,
                                 seeds=5 if protocol == "paper" else max(1, restarts), **kw)
            net = ReLUNetwork(res.solution["U"], res.solution["V"], bias=bias)
        elif method in ("crelu", "gated", "exact"):
            res, net, own = _fit_arrangement(problem, method, n_gates=n_gates, mode=mode,
                                             decomposition=decomposition, rng=rng,
                                             max_iter=max_iter, notes=notes, **kw)
            if own is not None:
                cert = own
        elif method == "kim-pilanci":
            from .arrangements.kim_pilanci import kim_pilanci

            res = kim_pilanci(problem.X, problem.Y, problem.reg, mode=mode, decomposition=decomposition,
                              bias=bias, seed=rng, **kw)
            net = res.solution["network"]
            notes.append(f"[KP24] relaxed (gated) value with m = {res.info['m']}: "
                         f"{res.info['relaxed_value']:.6g} (not a bound on p*)")
        elif method == "sahiner-fw":
            from .baselines.sahiner import frank_wolfe

            try:
                res = frank_wolfe(problem.X, problem.Y, problem.reg, oracle=oracle, bias=bias, seed=rng,
                                  local_steps=10, **({} if max_iter is None else {"max_iter": max_iter}),
                                  **kw)
            except ParameterError as exc:
                if oracle != "exact":
                    raise
                raise ParameterError(f"{exc} (CLI: --oracle sampled)") from exc
            net = ReLUNetwork(res.solution["U"], res.solution["V"], bias=bias)
            if res.lower_bound is not None:
                cert = OptimalityCertificate(res.lower_bound, None,
                                             "Frank-Wolfe duality gap, exact oracle [S21] (certified)")
        else:  # sahiner-cop: a bound only; the network comes from L-BFGS
            from .baselines.sahiner import copositive_relaxation

            res = copositive_relaxation(problem.X, problem.Y, problem.reg, bias=bias)
            if res.lower_bound is not None and res.info.get("all_patterns", False):
                cert = OptimalityCertificate(res.lower_bound, None,
                                             "copositive relaxation [S21], all patterns (certified)")
            lb = train_lbfgs(problem, width=width, restarts=restarts, seed=rng, max_iter=train_iter,
                             time_limit=time_limit, callback=train_callback)
            stages["train"] = lb
            net = ReLUNetwork(lb.solution["U"], lb.solution["V"], bias=bias)
            notes.append("sahiner-cop gives a bound only; the network is trained by L-BFGS")
        times[method] = time.perf_counter() - t
        stages[method] = res
        net = ReLUNetwork(net.U, net.V, bias=bias, metadata=dict(net.metadata)).prune()
        candidates[method] = (problem.objective(net.U, net.V), net)
        if res.status == "time_limit":
            notes.append(_method_time_limit_note(method, res, candidates[method][0], problem.zero_value))
        if polish and method in ("crelu", "gated", "kim-pilanci", "exact", "sahiner-fw"):
            t = time.perf_counter()
            pol = train_lbfgs(problem, width=net.width, restarts=0, init=net, max_iter=train_iter,
                              time_limit=time_limit)
            times["polish"] = time.perf_counter() - t
            stages["polish"] = pol
            pnet = ReLUNetwork(pol.solution["U"], pol.solution["V"], bias=bias).prune()
            candidates[f"{method}+lbfgs"] = (problem.objective(pnet.U, pnet.V), pnet)
    if method != "sdp" and (certify is True or (certify == "auto" and cert.lower is None)):
        t = time.perf_counter()
        if dual_planned and time_limit is not None:
            handover = _Handover(time_limit, sdp_callback)
        sdp = _solve_sdp_stage(problem.X, problem.Y, problem.reg, bias=bias, solver=solver, tol=tol,
                               time_limit=time_limit, callback=handover or sdp_callback,
                               **({} if max_iter is None else {"max_iter": max_iter}))
        times["sdp"] = time.perf_counter() - t
        stages["sdp"] = sdp
        cert = cert.combine(OptimalityCertificate(sdp.lower_bound, None,
                                                  f"SDP-NN ({sdp.method}, certified)"))

    for stage, st in stages.items():
        if st.status == "interrupted":
            notes.append(f"the {stage} stage was interrupted (Ctrl-C or a callback) and returned its best "
                         "result so far" + ("; its bound is certified" if st.lower_bound is not None else ""))
    name = min(candidates, key=lambda k: candidates[k][0])
    net = candidates[name][1]
    net = ReLUNetwork(net.U, net.V, bias=bias, metadata=dict(net.metadata))
    upper = problem.objective(net.U, net.V)
    # 'auto' leaves a certificate alone that is already within the dual stage's own tolerance
    tight = cert.lower is not None and upper - cert.lower <= _DUAL_TOL * abs(upper)
    run_dual = certify is not False and (
        dual_bound is True or (dual_bound == "auto" and d_design <= ATOMIC_DUAL_AUTO_DIM and not tight))
    handed = 0.0
    if handover is not None and handover.fired is not None:
        handed = max(0.0, float(time_limit) - times["sdp"]) if run_dual else 0.0
        elapsed, gap = handover.fired
        far = f"{abs(gap):.1%} from its certified bound" if gap is not None else "without a gap yet"
        notes.append(f"SDP-NN's first-order solver (ADMM) was still {far} after {elapsed:.1f} s, past half "
                     f"its time limit: stopped there with its certified bound, "
                     + (f"and its remaining {handed:.1f} s went to the dual stage" if run_dual else
                        "and no dual stage ran (the certificate was already within its tolerance)"))
    if run_dual:
        t = time.perf_counter()
        before = t - t_fit
        budget = _dual_time_limit(time_limit) + handed
        if time_limit is not None and not handed:
            # or what the stages before it left of the time limit, when that is more: the limit then
            # bounds the whole run (Iris with a bias: 56 s instead of 30, enough to enumerate its faces)
            budget = max(budget, float(time_limit) - before)
        dual = atomic_dual_certificate(problem.X, problem.Y, problem.reg, init=net.U, init_output=net.V,
                                       time_limit=0.8 * budget, tol=_DUAL_TOL, seed=rng,
                                       callback=dual_callback, progress=dual_callback)
        stages["dual"] = dual
        how = ("σ exactly by enumerating the arrangement's faces" if dual.info.get("oracle") == "faces"
               else "σ by branch and bound")
        cert = cert.combine(OptimalityCertificate(
            dual.lower_bound, None, f"atomic-norm dual by column generation, {how} (certified)"))
        if dual.status in ("interrupted", "stopped"):
            notes.append("the dual stage was interrupted (Ctrl-C or a callback) and returned its best "
                         "result so far; its bound is certified")
        # its network (a convex optimum over the directions it knows) competes, polished by L-BFGS
        dnet = ReLUNetwork(dual.solution["U"], dual.solution["V"], bias=bias).prune()
        if dnet.width > 0:
            candidates["atomic-dual"] = (problem.objective(dnet.U, dnet.V), dnet)
            pol = train_lbfgs(problem, width=dnet.width, restarts=0, init=dnet, max_iter=train_iter,
                              time_limit=max(0.5, 0.2 * budget))
            pnet = ReLUNetwork(pol.solution["U"], pol.solution["V"], bias=bias).prune()
            candidates["atomic-dual+lbfgs"] = (problem.objective(pnet.U, pnet.V), pnet)
        times["dual"] = time.perf_counter() - t
        name = min(candidates, key=lambda k: candidates[k][0])
        net = candidates[name][1]
        net = ReLUNetwork(net.U, net.V, bias=bias, metadata=dict(net.metadata))
        upper = problem.objective(net.U, net.V)
    cert = OptimalityCertificate(cert.lower, upper, cert.lower_source,
                                 f"NN-TRAIN objective of the returned network ({name})")
    if run_dual and dual.info.get("oracle") != "faces" and cert.lower == dual.lower_bound:
        hint = _faces_hint(problem.X, cert.gap, before)
        if hint is not None:
            notes.append(hint)
    sdp = stages.get("sdp")
    if (sdp is not None and sdp.status == "time_limit" and sdp.lower_bound is not None
            and cert.lower == sdp.lower_bound and cert.gap is not None and cert.gap > _SLOW_SDP_GAP):
        notes.append(_sdp_time_limit_note(sdp))
    res = FitResult(net, cert, stages, times, method, notes=notes)
    res.candidates = {k: v[0] for k, v in candidates.items()}
    res.candidate_networks = {k: v[1] for k, v in candidates.items()}
    res.chosen = name
    return res


_DUAL_TOL = 1e-3  # the dual stage stops once its bound and its best network are this close
# an SDP-NN solve on the first-order route (ADMM) whose relative gap is still above _HANDOVER_GAP
# after _HANDOVER_AFTER of its time limit stops there when the dual stage is to run, which gets
# the rest. One-off on Bank Notes (default protocol, γ = 0.1, 2026-12-06, AMD EPYC): the SDP
# stage's 60 s certified 1.55 against the dual's 10.70 in 24 s; the dual alone, from the same
# L-BFGS network, certified 10.775 / 10.901 / 10.910 with 24 / 48 / 80 s
_HANDOVER_AFTER = 0.5
_HANDOVER_GAP = 0.1
# a certificate whose bound is an SDP-NN solve cut by its time limit, with a certified gap above
# this, gets a note saying that more time would raise the bound
_SLOW_SDP_GAP = 0.1


class _Handover:
    """The SDP stage's callback in ``fit`` when a dual stage follows under a time limit: stops an
    ADMM run (its records say ``solver: 'admm'``) still above a relative gap of ``_HANDOVER_GAP`` once
    ``_HANDOVER_AFTER`` of the limit has passed, and records when (``fired``), so that ``fit`` hands
    the unused time to the dual stage. The interior points' records (and the ADMM's warm-ups,
    which end by a quarter of the limit) are left alone; the user's callback is called first."""

    def __init__(self, time_limit, callback):
        self.limit, self.user = float(time_limit), callback
        self.t0 = time.perf_counter()
        self.fired = None  # (seconds, gap) when it stopped the solve

    def __call__(self, rec):
        if self.user is not None and self.user(rec):
            return True
        elapsed = time.perf_counter() - self.t0
        if rec.get("solver") == "admm" and elapsed >= _HANDOVER_AFTER * self.limit:
            gap = rec.get("gap")
            if gap is None or not abs(gap) <= _HANDOVER_GAP:
                self.fired = (elapsed, gap)
                return True
        return False


def _sdp_time_limit_note(sdp: SolveResult) -> str:
    """What a bound from an SDP-NN solve cut by its time limit means, and how far more time can
    take it: up to the solver's primal estimate when that lies above the bound."""
    own, lead = sdp.gap, f"SDP-NN's solver stopped at its time limit after {sdp.time_s:.3g} s"
    if own is not None and own >= 0:
        below = f"{own:.1%}" if own >= 5e-4 else f"{own:.1e} (relative)"  # not '0.0%'
        return (f"{lead} with its certified bound {below} below its primal estimate {sdp.value:.6g}: "
                "more time (or fewer samples) can raise the bound to about that estimate, not further; "
                "the rest of the gap lies between SDP-NN's optimum and the network")
    value = "none" if sdp.value is None else f"{sdp.value:.6g}"
    return (f"{lead} with its iterate still infeasible (primal estimate {value} below the bound): more "
            "time (or fewer samples) would raise the bound, by how much is not known yet")


def _solve_sdp_stage(*args, **kwargs):
    """``solve_sdp`` for fit's SDP stage; a refusal for memory also names the way to train without it."""
    try:
        return solve_sdp(*args, **kwargs)
    except MemoryEstimateError as exc:
        raise MemoryEstimateError(
            f"{exc} To train a network without SDP-NN's bound: method='lbfgs' with certify=False "
            "(CLI: --method lbfgs --no-certify).") from exc


# under a time limit T, fit's rounding gets T/4 and its L-BFGS training T/2 (at least 1 s each),
# after the SDP stage's T and before the dual stage's T/2: so a certified fit ends after about
# 2.25 T at most (plus what cannot be interrupted: one eigendecomposition, one L-BFGS step).
# Until 2026-12-07 neither was limited; a fit of 1,500 rows (d = 8, c = 2, T = 30 s) took 253 s,
# 188 s of it L-BFGS from a 1,289-neuron SDP factor, and takes 54 s now (one-off; docs §7)
_ROUNDING_SHARE = 0.25
_TRAIN_SHARE = 0.5


def _count(k: int, noun: str) -> str:
    """'1 iteration', '12 iterations'."""
    return f"{k} {noun}" if k == 1 else f"{k} {noun}s"


def _method_time_limit_note(method: str, res: SolveResult, objective: float, zero_value: float) -> str:
    """What a method's solve cut by its time limit left: iterations, own gap, a useless network."""
    note = f"the {method} solve stopped at its time limit after {_count(res.iterations, 'iteration')}"
    if res.gap is not None and np.isfinite(res.gap):
        note += f" with its own relative gap at {res.gap:.2e}"
    if objective >= zero_value * (1.0 - 1e-12):
        note += f"; its network is no better than the zero network (objective {objective:.6g})"
    hint = " or fewer activation patterns (method 'crelu' with n_gates)" if method == "exact" else ""
    return note + f"; a longer time limit{hint} can improve it"


# the dual stage's hint names a time limit only where the enumeration would take at most about this
# long (Iris with a bias: 24 s; Bank Notes, 8.6·10⁸ faces: about 9 minutes, never run, so no hint)
_FACES_HINT_MAX_S = 300.0


def _faces_hint(X, gap, before: float = 0.0) -> str | None:
    """A note for a gap the branch and bound left open (above 10·_DUAL_TOL) where the arrangement's
    faces could be enumerated exactly with a longer time limit: the dual stage (0.8 of half the
    time limit, or of what the stages before it, ``before`` seconds, left of it if more)
    enumerates once the expected time is at most _CG_FACES_SHARE of its own."""
    from .atomic_dual import _CG_FACES_SHARE, _FACE_SECONDS
    from .atomic_dual_faces import arrangement_face_count

    if gap is None or gap <= 10 * _DUAL_TOL:
        return None
    faces = arrangement_face_count(X)
    expected = faces * _FACE_SECONDS
    if expected > _FACES_HINT_MAX_S:
        return None
    work = 1.2 * expected / (_CG_FACES_SHARE * 0.8)  # the dual stage's time that covers it
    need = 10.0 * np.ceil(min(work / 0.5, work + before) / 10.0)
    return (f"the dual norm was bounded by branch and bound, which leaves most of this gap; its "
            f"arrangement ({faces:.2g} faces) can be enumerated exactly in about {expected:.0f} s: a time "
            f"limit of {need:.0f} s or more (--time-limit {need:.0f}, time_limit={need:.0f}) lets the dual stage do that")


def _stage_time_limit(time_limit, share: float) -> float | None:
    """``share`` of the time limit for one stage of ``fit``, at least 1 s; None without a limit."""
    return None if time_limit is None else max(1.0, share * float(time_limit))


def _dual_time_limit(time_limit) -> float:
    """Time for the atomic-dual stage: half the time limit (at least 1 s), 30 s without one. A
    longer limit buys more rounds of column generation, whose bound keeps rising with them."""
    return 30.0 if time_limit is None else _stage_time_limit(time_limit, 0.5)


def _fit_kernel(X, Y, reg, *, bias, kind) -> FitResult:
    """NNGP/NTK kernel regression: a predictor without network, objective or bound."""
    from .baselines.kernels import kernel_fit

    t = time.perf_counter()
    model = kernel_fit(X, Y, reg, kind=kind, bias=bias)
    cert = OptimalityCertificate(None, None, "", "kernel regression has no NN-TRAIN objective")
    return FitResult(None, cert, {}, {kind: time.perf_counter() - t}, kind, model=model,
                     chosen=kind, notes=[f"{kind.upper()} kernel regression, relative ridge {reg}"])


def _fit_arrangement(problem, method, *, n_gates, mode, decomposition, rng, max_iter, time_limit,
                     callback, notes):
    """C-ReLU / gated / exact: patterns, convex program, mapping to a ReLU network.

    Returns (SolveResult, network, certificate-or-None). Only 'exact' can certify p*: the gated
    relaxation over ALL patterns (nuclear form) is a lower bound on p* for any number of outputs
    (every ReLU neuron is a gated neuron of its own pattern, and the nuclear norm of a sum of
    rank-one terms is at most the sum of their norms), and for one output the C-ReLU program
    over all patterns equals p* [PE20].
    """
    from .arrangements.crelu import solve_crelu
    from .arrangements.gated import solve_gated
    from .arrangements.mapping import gated_to_network
    from .arrangements.patterns import enumerate_patterns, sample_patterns

    X, Y, reg = problem.X, problem.Y, problem.reg
    caps = {} if max_iter is None else {"max_iter": max_iter}
    t0 = time.perf_counter()

    def left():
        return None if time_limit is None else max(1e-3, time_limit - (time.perf_counter() - t0))

    if method == "exact":
        try:
            patterns = enumerate_patterns(X)
        except ParameterError as exc:
            raise ParameterError(f"method 'exact' needs every activation pattern, which is infeasible "
                                 f"here: {exc} Use method 'crelu' (sampled patterns) instead.") from exc
    else:
        patterns = sample_patterns(X, n_gates, seed=rng)
    if method == "gated":
        res = solve_gated(X, Y, reg, patterns, mode=mode, time_limit=left(), callback=callback, **caps)
        net, dinfo = gated_to_network(X, res.solution["W"], patterns, mode=mode, method=decomposition,
                                      bias=problem.bias)
        res.info["inflation"] = dinfo.get("inflation")
        notes.append(f"gated relaxation value {res.value:.6g} with {patterns.n_patterns} sampled "
                     f"patterns (not a bound on p*); cone decomposition ({decomposition}) norm "
                     f"inflation {dinfo.get('inflation', float('nan')):.3g}")
        return res, net, None
    res = solve_crelu(X, Y, reg, patterns.masks, patterns.gates, time_limit=left(), callback=callback,
                      bias=problem.bias, **caps)
    net = res.solution["network"]
    if method != "exact":
        return res, net, None
    own = None
    if Y.shape[1] == 1 and res.lower_bound is not None:
        own = OptimalityCertificate(res.lower_bound, None,
                                    "C-ReLU over all activation patterns, dual bound [PE20] (certified)")
        notes.append(f"all {patterns.n_patterns} activation patterns: the C-ReLU optimum is the "
                     "global optimum p* (one output)")
    else:
        g = solve_gated(X, Y, reg, patterns, mode="nuclear", time_limit=left(), **caps)
        res.info["gated_all_patterns_lower_bound"] = g.lower_bound
        if g.status == "time_limit":
            notes.append(f"the gated relaxation over all patterns, which gives the bound for "
                         f"{Y.shape[1]} outputs, stopped at the time limit after "
                         f"{_count(g.iterations, 'iteration')}: its bound is valid but can be far below p*")
        if g.lower_bound is not None:
            own = OptimalityCertificate(g.lower_bound, None,
                                        "gated relaxation over all activation patterns, dual bound (certified)")
        notes.append(f"all {patterns.n_patterns} activation patterns; {Y.shape[1]} outputs, so the "
                     "one-vs-all C-ReLU network is feasible but not necessarily optimal")
    return res, net, own


def _fit_sdp(problem, stages, times, notes, *, method, solver, tol, time_limit, max_iter, width,
             restarts, train_iter, rounding, rounding_iterations, rounding_width, rng, warm_start,
             sdp_callback, train_callback, rounding_callback=None):
    """The certified SDP pipeline (method 'sdp') or plain L-BFGS ('lbfgs')."""
    bias = problem.bias
    init = None
    lower, lower_src = None, ""
    if method == "sdp":
        t = time.perf_counter()
        sdp = _solve_sdp_stage(problem.X, problem.Y, problem.reg, bias=bias, solver=solver, tol=tol,
                               time_limit=time_limit, callback=sdp_callback,
                               warm_start=(warm_start.stages.get("sdp") if isinstance(warm_start, FitResult)
                                           else warm_start) if solver in ("auto", "native", "admm") else None,
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
        try:
            rounds = round_sdp(sdp.solution["Lambda"], problem, width=rounding_width,
                               iterations=rounding_iterations, seed=rng, X_lifted=form.X,
                               data_scale=sdp.info.get("data_scale", 1.0), step="stable",
                               lbfgs_iter=min(200, train_iter),
                               time_limit=_stage_time_limit(time_limit, _ROUNDING_SHARE),
                               progress=rounding_callback)
        except KeyboardInterrupt:  # like every other stage: Ctrl-C ends it, and fit goes on
            rounds = []
            notes.append("the rounding stage was interrupted (Ctrl-C); its candidates were skipped")
        times["rounding"] = time.perf_counter() - t
        for r in rounds:
            candidates[r.name] = (r.objective, r.network)
    t = time.perf_counter()
    train = train_lbfgs(problem, width=width, restarts=restarts, init=init, seed=rng, max_iter=train_iter,
                        callback=train_callback,
                        time_limit=_stage_time_limit(time_limit, _TRAIN_SHARE) if method == "sdp" else time_limit)
    times["train"] = time.perf_counter() - t
    stages["train"] = train
    lb_net = ReLUNetwork(train.solution["U"], train.solution["V"], bias=bias).prune()
    # best of L-BFGS from the SDP factor (when there is one) and from random starts
    candidates["lbfgs"] = (problem.objective(lb_net.U, lb_net.V), lb_net)
    return candidates, OptimalityCertificate(lower, None, lower_src)
