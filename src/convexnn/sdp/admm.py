"""Native SDP-NN solver: Douglas–Rachford / ADMM "entrywise prox ↔ face projection" with
Anderson acceleration (SPEC §3.1).

Splitting: min g(Λ) + h(Λ) with g = f + ι_C (C: ReLU block ≥ 0, diag Λ_αβ = 0; prox is closed
form entry by entry) and h = ι_F, F = {N S Nᵀ : S ⪰ 0} the face of the PSD cone in null(M)
(projection = one q×q eigendecomposition). The Douglas–Rachford fixed-point map on ζ,

    Λ = prox_{g/ρ}(ζ),   Z = Π_F(2Λ − ζ),   ζ⁺ = ζ + θ (Z − Λ),

is accelerated with safeguarded type-II Anderson acceleration. The prox step's optimality
condition gives exact multipliers (Γ, y, W ≥ 0) at every iterate, which the formulation turns
into a *certified* lower bound (Slater-point repair) — valid whenever the loop stops.
"""

from __future__ import annotations

import time

import numpy as np

from .._validation import blas_threads, check_positive_int
from ..result import SolveResult, relative_gap
from .formulation import SDPFormulation, block_congruence, block_factor


class _NumpyBackend:
    """Array operations of the solver loop on numpy (the tested default)."""

    name = "numpy"

    def __init__(self, form: SDPFormulation | None = None):
        self.form = form

    def zeros(self, p):
        return np.zeros((p, p))

    def asarray(self, A):
        return np.array(A, dtype=np.float64)

    def to_numpy(self, A):
        return A

    def copy(self, A):
        return A.copy()

    def norm(self, A) -> float:
        return float(np.linalg.norm(A))

    def inner(self, a, b) -> float:
        return float(a @ b)

    def buffer(self, m, size):
        return np.zeros((m, size))

    def sub(self, a, b, out):
        """out = a − b in place (no temporary of size p²)."""
        return np.subtract(a, b, out=out)

    def matvec(self, B, v) -> np.ndarray:
        return B @ v

    def rmatvec(self, B, w):
        return w @ B

    def prox(self, A, rho):
        return self.form.prox(A, rho)

    def face_project(self, A, rank_hint=None):
        return self.form.face_project(A, rank_hint)

    def objective(self, L) -> float:
        return self.form.objective(L)


class _TorchBackend(_NumpyBackend):
    """The same operations with torch tensors (float64) on ``device`` — e.g. a CUDA GPU."""

    name = "torch"

    def __init__(self, form: SDPFormulation, device=None):
        import torch

        self.torch = torch
        self.form = form
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        B = form.blocks
        t = lambda A: torch.as_tensor(np.ascontiguousarray(A), dtype=torch.float64, device=self.device)  # noqa: E731
        h, P, K = form.face_basis
        self.h, self.P, self.K = h, t(P), t(K)
        self.Y = t(form.Y)
        self.w = t(form.weights)
        self.n, self.B = B.n, B
        self.ii = torch.arange(B.n, device=self.device)
        self.du = torch.arange(B.u.start, B.v.stop, device=self.device)

    def zeros(self, p):
        return self.torch.zeros((p, p), dtype=self.torch.float64, device=self.device)

    def asarray(self, A):
        return self.torch.as_tensor(np.asarray(A, dtype=np.float64), device=self.device).clone()

    def to_numpy(self, A):
        return A.detach().cpu().numpy()

    def copy(self, A):
        return A.clone()

    def norm(self, A) -> float:
        return float(self.torch.linalg.norm(A))

    def inner(self, a, b) -> float:
        return float(self.torch.dot(a, b))

    def buffer(self, m, size):
        return self.torch.zeros((m, size), dtype=self.torch.float64, device=self.device)

    def sub(self, a, b, out):
        return self.torch.sub(a, b, out=out)

    def matvec(self, B, v) -> np.ndarray:
        return (B @ v).cpu().numpy()

    def rmatvec(self, B, w):
        return self.torch.as_tensor(w, dtype=self.torch.float64, device=self.device) @ B

    def prox(self, A, rho):
        n, B, ii, du = self.n, self.B, self.ii, self.du
        L = A.clone()
        L[: 2 * n, : 2 * n].clamp_(min=0.0)
        L[ii, ii + n] = 0.0
        L[ii + n, ii] = 0.0
        av = (self.w * self.Y + 2.0 * rho * A[B.a, B.v]) / (self.w + 2.0 * rho)
        L[B.a, B.v] = av
        L[B.v, B.a] = av.T
        L[du, du] = A[du, du] - self.form.reg / (2.0 * rho)
        return L

    def face_project(self, A, rank_hint=None):  # torch.linalg.eigh has no subset option
        n, d = self.n, self.B.d
        try:
            w, Q = self.torch.linalg.eigh(block_congruence(A, n, d, self.h, self.P, self.K))
        except getattr(self.torch.linalg, "LinAlgError", RuntimeError) as exc:  # the solver's one kind
            raise np.linalg.LinAlgError(str(exc)) from exc
        keep = w > 0
        F = block_factor(Q[:, keep] * self.torch.sqrt(w[keep]), n, d, self.h, self.P, self.K)
        return F @ F.T, F

    def objective(self, L) -> float:
        B = self.B
        R = L[B.a, B.v] - self.Y
        return (0.5 * float((self.w * R * R).sum())
                + 0.5 * self.form.reg * (float(self.torch.trace(L[B.u, B.u])) + float(self.torch.trace(L[B.v, B.v])))
                + self.form.constant)


class _Anderson:
    """Type-II Anderson acceleration for a fixed-point map, memory ``m``.

    Keeps the last ``m`` differences of residuals and of map values as rows of two preallocated
    m×size buffers (a ring) and their Gram matrix, updated incrementally: one matrix–vector
    product per step instead of m separate dot products (Python overhead dominated on small
    problems). The differences are written straight into the ring and the residuals into two
    alternating buffers, without temporaries of the iterate's size. One-off, 2 cores, the same
    iterates: 22.3 → 17.2 ms per step at p = 1,362, m = 10; whole ADMM iterations (median of 3,
    side by side) Pima 24.3 → 20.9 ms, Bank Notes 70.9 → 70.0 ms, MNIST-PCA 216.7 → 210.8 ms."""

    def __init__(self, m: int, reg: float = 1e-10, backend=None):
        self.m, self.reg = m, reg
        self.be = backend or _NumpyBackend()
        self.DG = self.DT = None
        self.reset()

    def reset(self):
        self.k = 0          # number of stored pairs
        self.slot = 0       # next ring position
        self.H = np.zeros((self.m, self.m))
        self.rhs = np.zeros(self.m)
        self.prev_g = self.prev_T = None

    def step(self, x, Tx):
        """Given x and T(x), return the extrapolated next point (T(x) when memory is empty)."""
        be = self.be
        size = Tx.numel() if hasattr(Tx, "numel") else Tx.size
        if self.DG is None:
            self.DG = be.buffer(self.m, size)
            self.DT = be.buffer(self.m, size)
            G2 = be.buffer(2, size)
            self.gbufs = (G2[0], G2[1])  # g and the previous g, alternately (kept views)
        g = self.gbufs[1] if self.prev_g is self.gbufs[0] else self.gbufs[0]
        be.sub(Tx.reshape(-1), x.reshape(-1), out=g)
        if self.prev_g is not None:
            j = self.slot
            dg = self.DG[j]
            be.sub(g, self.prev_g, out=dg)
            be.sub(Tx.reshape(-1), self.prev_T.reshape(-1), out=self.DT[j])
            self.k = min(self.k + 1, self.m)
            self.slot = (j + 1) % self.m
            row = be.matvec(self.DG[: self.k], dg)
            self.H[j, : self.k] = row
            self.H[: self.k, j] = row
            # rhs = DG·g updated in place: DG_i·g = DG_i·g_prev + DG_i·dg; the new row directly
            self.rhs[: self.k] += row
            self.rhs[j] = row[j] + be.inner(dg, self.prev_g)
        self.prev_g, self.prev_T = g, Tx
        if self.k == 0:
            return Tx
        k = self.k
        rhs = self.rhs[:k]
        H = self.H[:k, :k] + (self.reg * np.trace(self.H[:k, :k]) / k + 1e-300) * np.eye(k)
        try:
            gamma = np.linalg.solve(H, rhs)
        except np.linalg.LinAlgError:
            self.reset()
            return Tx
        out = be.rmatvec(self.DT[:k], gamma)
        return be.sub(Tx.reshape(-1), out, out=out).reshape(Tx.shape)


def _rescale(be, zeta, rho, rho_new):
    """The DR point for penalty ρ_new with the same prox point Λ and multipliers ρ(ζ − Λ)."""
    L = be.prox(zeta, rho)
    return L + (zeta - L) * (rho / rho_new)


def _default_anderson(p: int) -> int:
    """Anderson memory: 30, or 10 when p > 600 (each stored difference is a p × p matrix)."""
    return 30 if p <= 600 else 10


def admm_dense_arrays(p: int, anderson: int | None = None) -> int:
    """Dense p × p arrays the ADMM keeps: 11 (the kept primal point of restore_primal included)
    + 2 per Anderson step."""
    return 11 + 2 * (_default_anderson(p) if anderson is None else anderson)


def solve_admm(form: SDPFormulation, *, device: str | None = None, **kwargs) -> SolveResult:
    """Solve SDP-NN natively; see :func:`_solve_admm` for the options.

    ``device=None`` runs on numpy (BLAS threads tuned to the size); ``device='cuda'``/'cpu'
    runs the same iteration with torch tensors (needs the ``torch`` extra); certificates are
    always computed in float64 numpy.
    """
    if device is not None:
        try:
            backend = _TorchBackend(form, device)
        except ImportError as exc:
            from ..errors import SolverUnavailableError

            raise SolverUnavailableError(
                'device= needs PyTorch: pip install "convexnn[torch]"') from exc
        return _solve_admm(form, backend=backend, **kwargs)
    with blas_threads(form.p, scipy_threads=1):  # psd_part's partial eigensolver is scipy's
        return _solve_admm(form, backend=_NumpyBackend(form), **kwargs)


def _solve_admm(
    form: SDPFormulation,
    *,
    tol: float = 1e-4,
    max_iter: int = 10_000_000,
    time_limit: float | None = None,
    rho: float | None = None,
    relaxation: float = 1.0,
    anderson: int | None = None,
    check_every: int | None = None,
    adapt: float = 5.0,
    adapt_every: int = 50,
    dual_phases: bool = True,
    rho_dual: float = 0.5,
    phase_length: int = 2000,
    phase_growth: float = 1.5,
    refine: int = 150,
    restore_primal: bool | str = "auto",
    warm_start=None,
    callback=None,
    handoff=None,
    backend=None,
) -> SolveResult:
    """Solve SDP-NN to relative gap ``tol`` between the primal value and a certified bound.

    Stops at the tolerance (status 'optimal'), at ``max_iter`` or ``time_limit`` seconds, on
    Ctrl-C ('interrupted'), or when a step breaks down numerically ('stalled': an eigensolver that
    does not converge, a non-finite iterate; ``info['stall_hint']`` says which); every exit returns
    the best certified lower bound found and the last finite iterate. ``warm_start``
    is a previous result (or dict with 'zeta' and 'rho') of a problem with the same sizes.
    ``callback(info)`` receives a dict (iteration, time_s, value, lower_bound, gap, ...) at each
    checkpoint; returning True stops the solve. ``anderson`` = memory of the acceleration (0 = off;
    default 30, or 10 when p > 600, where each stored pair is a p×p matrix and the acceleration's
    memory traffic would rival the eigendecomposition). ``check_every`` = iterations between
    certificates (default max(10, p/100): certificates then take ≲ 20 % of the time).

    ρ schedule. Residual balancing (``adapt``) drives the primal iterate towards the optimum but
    typically raises ρ far above ``reg``, and the prox multipliers then violate dual feasibility
    by ρ·‖Z − Λ‖, which the certificate has to pay for. With ``dual_phases`` the solver alternates
    a *primal phase* (residual balancing; the first lasts ``phase_length`` iterations, each later
    one ``phase_growth`` times longer) with a *dual phase* of half that length at the fixed small
    ρ = min(ρ, ``rho_dual``·reg), in which the multipliers settle from a nearly converged primal
    point; the primal-phase ρ is restored afterwards. Effect measured in ``benchmarks/sdp.py`` and
    part 5 of ``benchmarks/sdp_diagnostics.py``. Switches depend on iteration counts only, never on
    timings, so runs are reproducible. A solve that ends in a dual phase reports the primal
    iterate of the last primal phase when its residual is smaller (the primal drifts while ρ is
    small); ``solution['rho_primal']`` lets a warm start resume in a primal phase.

    Where the primal resumes (``restore_primal``). A dual phase moves the primal iterate too, and
    on badly scaled sets (Pima, Bank Notes) ruinously: the next primal phase spends minutes
    undoing it. The DR point at the end of each primal phase is kept (one p×p copy), and the next
    primal phase resumes from it — always (True), never (False), or with 'auto' (default) when the
    dual phase moved the primal value by more than the gap between the primal phase's value and
    the best certified bound; a solve stopped inside such a dual phase reports, and hands on to a
    warm start, that primal point. Measured in part 14 of ``benchmarks/sdp_diagnostics.py``.

    Certificate polish. At the end of every dual phase, and at an exit short of the tolerance, the
    latest and the best multipliers are polished by :meth:`SDPFormulation.refine_y` (``refine``
    eigendecompositions of size q each; 0 = off): the free multiplier y is re-chosen to shrink the
    dual infeasibility the Slater repair pays for. With a ``time_limit`` the loop stops early
    enough to leave the final polish about one iteration's time per evaluation (≤ 10 % of it).

    Handoff. ``handoff = (iterations, seconds, decide)`` offers, once, after that many iterations
    or seconds (whichever comes first), the result the solve would return had it stopped there
    (status 'max_iter' or 'time_limit', arrays copied) to ``decide``; if it returns True that is
    the result (``info['handoff']``), else the solve goes on from the same iterate, ρ schedule and
    acceleration memory (the offer's certificate of the last iterate can only raise the best bound,
    on which the stopping test and ``restore_primal='auto'`` depend; the offer is not polished).
    ``solver='auto'`` uses it to hand an ADMM run to the active-set interior point, or to go on
    with it, without a restart.
    """
    t0 = time.perf_counter()
    max_iter = check_positive_int(max_iter, "max_iter")
    if isinstance(refine, bool) or not isinstance(refine, (int, np.integer)) or refine < 0:
        from ..errors import ParameterError

        raise ParameterError(f"refine must be a non-negative integer (evaluations); got {refine!r}.")
    if isinstance(restore_primal, np.bool_):
        restore_primal = bool(restore_primal)
    if not (restore_primal is True or restore_primal is False or restore_primal == "auto"):
        from ..errors import ParameterError

        raise ParameterError(f"restore_primal must be True, False or 'auto'; got {restore_primal!r}.")
    form.check_memory(n_dense=lambda p: admm_dense_arrays(p, anderson))
    if anderson is None:
        anderson = _default_anderson(form.p)
    p = form.p
    if form.n == 0:  # every row was zero: Λ = 0 is optimal, value = bound = constant
        c = form.constant
        return SolveResult("sdp-admm", c, c, "optimal", 0, time.perf_counter() - t0,
                           solution={"Lambda": np.zeros((p, p)), "factor": np.zeros((p, 0))},
                           info={"reduction": form.reduction.describe()})
    be = backend or _NumpyBackend(form)
    form.slater_point()

    zeta = be.zeros(p)
    if rho is None:
        rho = 1.0
    warm_used = False  # whether the warm start's DR point was taken
    if warm_start is not None:
        state = warm_start.solution if isinstance(warm_start, SolveResult) else warm_start
        z0 = state.get("zeta")
        if z0 is not None and z0.shape == (p, p):
            warm_used = True
            zeta = be.asarray(z0)
            rho = float(state.get("rho", rho))
            rho_p = state.get("rho_primal")
            if rho_p is not None and float(rho_p) != rho:  # resume in a primal phase
                zeta = _rescale(be, zeta, rho, float(rho_p))
                rho = float(rho_p)
    if check_every is None:
        # a certificate costs a few dense p×p×q products: ≈ 4.5 iterations at p ≈ 2,000 (MNIST),
        # < 1 below p ≈ 600. Chosen from the sizes, not from timings, so runs are reproducible.
        check_every = max(10, round(10 * form.p / 1000))
    last_check = 0  # iteration of the last certificate
    last_adapt = 0
    # ρ schedule: alternate primal phases (residual balancing) and dual phases (ρ = rho_dual·reg)
    phase, phase_start, phase_len, rho_primal = "primal", 0, int(phase_length), rho
    snapshot = None  # (value, residual, Z, F, slack error) at the end of the last primal phase
    zeta_primal = None  # the DR point at the end of the last primal phase (restore_primal)

    def spoilt(value_):
        """Whether to resume from ``zeta_primal``: always (True), or ('auto') when the dual phase
        moved the primal value by more than the gap between the primal phase's value and the
        best certified bound."""
        if restore_primal is True:
            return True
        v0 = snapshot[0]
        return abs(value_ - v0) > abs(v0 - best_bound)
    acc = _Anderson(anderson, backend=be) if anderson > 0 else None

    history: list[dict] = []
    best = None
    best_bound = -np.inf
    status = "max_iter"
    it = 0
    value = np.nan
    r_p_rel = np.inf
    F = be.zeros(p)[:, :0]
    Lam = Z = None
    res_prev = np.inf

    latest = None  # (cert, Γ, y, W) of the latest checkpoint

    polished = []  # the (cert, Γ, y, W) tuples already polished (kept alive: ids are not reused)

    def was_polished(cand):
        return any(c is cand for c in polished)

    def polish(cand, it_, value_, phase_, deadline=None):
        """Re-choose the free multiplier y of ``cand`` (:meth:`SDPFormulation.refine_y`); keep
        the result if it certifies a better bound. Skipped when even a perfect repair could not
        beat the best bound (:meth:`SDPFormulation.repair_ceiling`)."""
        nonlocal best_bound, best
        if cand is None or was_polished(cand) or form.repair_ceiling(cand[1]) <= best_bound:
            return
        _, G, y, W = cand
        y = form.refine_y(G, y, W, evaluations=refine, deadline=deadline)
        cert = form.certify(G, y, W)
        polished.append(cand)
        del polished[:-4]  # each holds p×p-sized multipliers
        if cert.bound > best_bound:
            best_bound, best = cert.bound, (cert, G, y, W)
            polished.append(best)
            history.append({"iteration": it_, "time_s": time.perf_counter() - t0, "value": value_,
                            "lower_bound": best_bound, "gap": relative_gap(value_, best_bound),
                            "lambda_min": cert.lambda_min, "rho": rho, "refined": True, "solver": "admm",
                            "phase": phase_})

    def reserve(it_):
        """Seconds kept for the final polish: ≈ one mean iteration per evaluation, ≤ 10 %."""
        if refine <= 0 or it_ <= 0 or (phase == "primal" and best is not None and was_polished(best)):
            return 0.0  # nothing left to polish at an exit in this phase
        return min(0.1 * time_limit, refine * (time.perf_counter() - t0) / it_)

    def checkpoint(zeta_, Lam_, rho_):
        nonlocal best_bound, best, latest
        G, y, W = form.multipliers_from_prox(be.to_numpy(zeta_), be.to_numpy(Lam_), rho_)
        cert = form.certify(G, y, W)
        latest = (cert, G, y, W)
        if cert.bound > best_bound:
            best_bound, best = cert.bound, latest
        return cert

    certified_at = [0]  # iteration of the last certificate taken by finish()

    def finish(status_, final=True):
        """The result at an exit with ``status_``: a certificate of the last iterate, the final
        polish, and the primal point to report (and hand on). With ``final`` False (a handoff
        offer, after which the loop may go on) the iteration's state is left as it is, the arrays
        are copies and nothing is polished (the polish is paid for when the offer is taken)."""
        v, rp, Z_, F_, zp = value, r_p_rel, Z, F, zeta_primal
        se = last[2] * be.norm(last[0] - last[1]) * res if last is not None else np.inf
        if last is not None and status_ != "optimal" and it not in (last_check, certified_at[0]):
            certified_at[0] = it
            try:
                cert = checkpoint(*last)
                history.append({"iteration": it, "time_s": time.perf_counter() - t0, "value": v,
                                "lower_bound": best_bound, "gap": relative_gap(v, best_bound),
                                "primal_residual": rp, "rho": rho, "rank": int(F_.shape[1]), "solver": "admm",
                                "lambda_min": cert.lambda_min, "slack_error": se,
                                ("final" if final else "handoff"): True, "phase": phase})
            except (KeyboardInterrupt, np.linalg.LinAlgError):  # the bound so far stands
                pass
        bound_before = best_bound  # a raise after this is the polish's, recorded without residuals
        if final and refine > 0 and status_ not in ("optimal", "interrupted", "stopped") and latest is not None:
            # final certificate: polish the multipliers of an unfinished dual phase, else the best ones
            try:
                deadline = None if time_limit is None else t0 + time_limit
                if phase == "dual":
                    polish(latest, it, v, phase, deadline)
                polish(best, it, v, phase, deadline)
            except KeyboardInterrupt:
                status_ = "interrupted"
        if status_ == "optimal" or (zp is not None and not spoilt(v)):
            zp = None  # hand on (and report) the dual phase's own point
        if (phase == "dual" and snapshot is not None and status_ != "optimal"
                and (zp is not None or snapshot[1] <= rp)):
            v, rp, Z_, F_, se = snapshot  # report the primal iterate of the last primal phase
            swapped = True
        else:
            swapped = False
        if final and last is not None and status_ != "optimal" and (swapped or best_bound > bound_before):
            # what is reported: its value and residuals next to the final (polished) bound, so
            # that the history shows the exit's gap with the primal accuracy it rests on
            history.append({"iteration": it, "time_s": time.perf_counter() - t0, "value": v,
                            "lower_bound": best_bound, "gap": relative_gap(v, best_bound),
                            "primal_residual": rp, "slack_error": se, "rho": rho, "solver": "admm",
                            "final": True, "reported": True, "phase": phase})

        def out(a):  # an offer's arrays must survive the iterations that may follow
            return a if final else np.array(a, copy=True)

        cert, G, y, W = best if best is not None else (None, None, None, None)
        return SolveResult(
            method="sdp-admm",
            value=float(v) if np.isfinite(v) else None,
            lower_bound=float(best_bound) if np.isfinite(best_bound) else None,
            status=status_,
            iterations=it,
            time_s=time.perf_counter() - t0,
            history=history if final else list(history),
            solution={"Lambda": None if Z_ is None else out(be.to_numpy(Z_)),
                      "factor": out(be.to_numpy(F_)),
                      "zeta": out(be.to_numpy(zeta if zp is None else zp)),
                      "rho": rho if zp is None else rho_primal,
                      "rho_primal": rho_primal if phase == "dual" else rho,
                      "Gamma": G, "y": y, "W": W},
            info={"primal_residual": rp, "rank": int(F_.shape[1]), "warm_started": warm_used,
                  "reduction": form.reduction.describe(), "backend": be.name,
                  "device": str(getattr(be, "device", "cpu")),
                  **({"stall_hint": f"the ADMM broke down numerically after iteration {it} ({breakdown}); "
                                    "the bound certified before it stands"} if breakdown else {})},
        )

    last = None
    breakdown = None  # what ended the solve as 'stalled', if a step broke down numerically
    completed = 0  # the last iteration whose primal iterate was computed
    try:
        for it in range(1, max_iter + 1):
            Lam = be.prox(zeta, rho)
            Z_prev, F_prev = Z, F
            Z, F = be.face_project(2.0 * Lam - zeta, int(F.shape[1]))
            diff = Z - Lam
            res = be.norm(diff)
            if not np.isfinite(res):  # the last finite iterate is what is reported
                Z, F = Z_prev, F_prev
                raise np.linalg.LinAlgError("a non-finite iterate")
            nrm = max(be.norm(Lam), be.norm(Z), 1e-300)
            r_p_rel = res / nrm
            value = be.objective(Lam)
            last, completed = (zeta, Lam, rho), it
            T = zeta + relaxation * diff
            # safeguard: accept the accelerated point only while the residual keeps shrinking
            if acc is not None and res <= 1.5 * res_prev:
                zeta_new = acc.step(zeta, T)
            else:
                if acc is not None:
                    acc.reset()
                zeta_new = T
            res_prev = res
            if time_limit is not None and time.perf_counter() - t0 >= time_limit - reserve(it):
                status = "time_limit"  # the certificate of this iterate is taken after the loop
                break
            if it - last_check >= check_every or it == 1:
                dual_norm = be.norm(zeta - Lam)
                r_d_rel = be.norm(Z - Z_prev) / max(dual_norm, 1e-300) if Z_prev is not None else np.inf
                cert = checkpoint(zeta, Lam, rho)
                last_check = it
                gap = relative_gap(value, best_bound)
                elapsed = time.perf_counter() - t0
                rec = {"iteration": it, "time_s": elapsed, "value": value,
                       "lower_bound": best_bound, "gap": gap, "primal_residual": r_p_rel,
                       "dual_residual": r_d_rel, "rho": rho, "rank": int(F.shape[1]), "solver": "admm",
                       "lambda_min": cert.lambda_min, "slack_error": rho * dual_norm * res,
                       "phase": phase}
                history.append(rec)
                if callback is not None and callback(rec):
                    status = "stopped"
                    break
                # primal accuracy: |f(Λ) − L_SDP| can be as large as ‖D‖·‖Λ − Z‖ for infeasible Λ
                slack_err = rho * dual_norm * res
                if (gap is not None and abs(gap) <= tol and r_p_rel <= tol
                        and slack_err <= tol * max(abs(value), 1e-300)):
                    status = "optimal"
                    break
                if time_limit is not None and elapsed >= time_limit - reserve(it):
                    status = "time_limit"
                    break
                # ρ schedule: switch phases (see the docstring), else balance the residuals
                switch = None
                if dual_phases and phase == "primal" and it - phase_start >= phase_len:
                    switch = "dual"
                elif phase == "dual" and it - phase_start >= phase_len // 2:
                    switch = "primal"
                    phase_len = int(phase_len * phase_growth)
                if switch == "dual":
                    phase, phase_start, rho_primal = "dual", it, rho
                    # the primal drifts while ρ is small
                    snapshot = (value, r_p_rel, Z, F, rho * dual_norm * res)
                    if restore_primal is not False:
                        zeta_primal = be.copy(zeta_new)
                    rho_new = min(rho, rho_dual * form.reg)
                elif switch == "primal":
                    if refine > 0:  # the multipliers are best at the end of a dual phase
                        # under a time limit it stops in time to leave the final polish its share
                        deadline = None if time_limit is None else t0 + time_limit - reserve(it)
                        polish(latest, it, value, phase, deadline)
                        polish(best, it, value, phase, deadline)
                    phase, phase_start, last_adapt = "primal", it, it
                    rho_new = rho_primal
                else:
                    rho_new = rho
                    ratio = np.sqrt(r_p_rel / max(r_d_rel, 1e-300))
                    if (phase == "primal" and it - last_adapt >= adapt_every
                            and (ratio > adapt or ratio < 1.0 / adapt)):
                        last_adapt = it
                        rho_new = rho * float(np.clip(ratio, 1e-2, 1e2))
                restore = switch == "primal" and zeta_primal is not None and spoilt(value)
                if restore:
                    zeta_new = zeta_primal  # resume where the primal phase left off
                elif rho_new != rho:
                    zeta_new = _rescale(be, zeta_new, rho, rho_new)
                if switch == "primal":
                    zeta_primal = None
                if restore or rho_new != rho:
                    rho = rho_new
                    if acc is not None:
                        acc.reset()
                    res_prev = np.inf
            zeta = zeta_new
            if handoff is not None and (it >= handoff[0] or time.perf_counter() - t0 >= handoff[1]):
                h_iter, _, decide = handoff
                handoff = None  # offered once
                status = "max_iter" if it >= h_iter else "time_limit"
                if decide(finish(status, final=False)):
                    taken = finish(status)  # as at any exit there, the final polish included
                    taken.info["handoff"] = True
                    return taken
                status = "max_iter"
    except KeyboardInterrupt:
        status = "interrupted"
    except np.linalg.LinAlgError as exc:  # an eigensolver that did not converge, a non-finite iterate
        status, breakdown, it = "stalled", str(exc) or type(exc).__name__, completed
    return finish(status)
