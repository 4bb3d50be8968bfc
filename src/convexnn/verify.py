"""Certificates anyone can check again: an SDP-NN lower bound saved with the data and the dual
multipliers it rests on (``.npz``, no pickle), and a verifier that recomputes a bound from them.

Why: a certified bound is only as trustworthy as the code that certified it. The verifier here
shares no code with the solvers or with :meth:`SDPFormulation.certify` (it imports neither): it
rebuilds the row reduction from the original data and the stored grouping, charging every
inexact merge an explicit allowance; rescales those data into the solver's coordinates by the
stored powers of two (exact); forms the dual slack TᵀD(Γ, y, W)T in the structured face basis T with its own dense
products and a bound on their rounding error; and repairs a slightly infeasible point with the
closed-form Slater point of SPEC §3.1 (the simpler μ-rule, not the generalised eigenvalue) or the
trace bound, whichever is larger. Its bound is therefore a little lower than the solver's on
ill-conditioned data, and rests on a second implementation. docs/mathematics.md §4 gives the
derivation of every step.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError

FORMAT = "convexnn-certificate"
VERSION = 1
_EPS = float(np.finfo(np.float64).eps)
#: a verified bound within this relative distance of the claimed one confirms the claim
CONFIRM_RTOL = 1e-6


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------

def sdp_certificate_arrays(X, Y, reg: float, result, *, network=None, meta: dict | None = None) -> dict:
    """The arrays of a certificate for ``result`` (a :func:`~convexnn.sdp.solve_sdp` result on
    design matrix ``X`` and targets ``Y``, as passed to it) and optionally a network with its
    NN-TRAIN objective (``network`` = (U, V) or a :class:`~convexnn.network.ReLUNetwork`)."""
    sol = result.solution
    form = sol.get("formulation")
    if form is None or sol.get("Gamma") is None or result.lower_bound is None:
        raise DataError("this SDP-NN result carries no dual multipliers to certify (it was interrupted "
                        "before its first certificate, or is not a solve_sdp result).")
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    Y = Y[:, None] if Y.ndim == 1 else Y
    G = np.asarray(sol["Gamma"], dtype=np.float64)
    n_red = G.shape[0]
    y = np.asarray(sol["y"], dtype=np.float64)
    W = sol.get("W")
    W = np.zeros((2 * n_red, 2 * n_red)) if W is None else np.maximum(np.asarray(W, dtype=np.float64), 0.0)
    groups = form.reduction.groups
    ptr = np.zeros(len(groups) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(g) for g in groups])
    idx = np.array([i for g in groups for i in g], dtype=np.int64)
    arrays = {
        "format": np.array(FORMAT), "X": X, "Y": Y, "Gamma": G, "y": y,
        "group_ptr": ptr, "group_idx": idx,
        "row_scale": np.asarray(form.row_scale, dtype=np.float64),
    }
    if n_red:  # the solver's Slater point −δ·1 in its own coordinates: a proposal the verifier checks
        arrays["slater_y"] = np.full(n_red, -float(form.slater_point()[0]))
    nnz = int(np.count_nonzero(W))
    if nnz <= 0.3 * W.size:  # sparse: triplets of the nonzero entries
        r, c = np.nonzero(W)
        arrays.update(W_rows=r.astype(np.int32), W_cols=c.astype(np.int32), W_vals=W[r, c],
                      W_shape=np.array(W.shape, dtype=np.int64))
    else:
        arrays["W"] = W
    m = {"version": VERSION, "kind": "sdp-nn-dual", "reg": float(reg),
         "data_scale": float(result.info.get("data_scale", 1.0)),
         "claimed_bound": float(result.lower_bound),
         "sdp_value": None if result.value is None else float(result.value),
         "status": result.status, "method": result.method}
    if network is not None:
        U, V = (network.U, network.V) if hasattr(network, "U") else network
        arrays["U"] = np.asarray(U, dtype=np.float64)
        arrays["V"] = np.asarray(V, dtype=np.float64)
    m.update(meta or {})
    arrays["meta"] = np.array(json.dumps(m))
    return arrays


def save_sdp_certificate(path, X, Y, reg: float, result, *, network=None, meta: dict | None = None) -> Path:
    """Write the certificate of an SDP-NN solve to ``path`` (``.npz``, no pickle); returns the path.
    ``meta`` adds JSON-able facts (data set, protocol, the claimed network objective, ...)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not parent.exists() or not os.access(parent, os.W_OK):
        raise DataError(f"cannot write the certificate to {path}: its directory does not exist, is not "
                        "writable, or the path is a directory.")
    arrays = sdp_certificate_arrays(X, Y, reg, result, network=network, meta=meta)
    with open(path, "wb") as fh:  # a file handle keeps numpy from appending '.npz' to the name
        np.savez_compressed(fh, **arrays)
    return path


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------

_REQUIRED = ("format", "meta", "X", "Y", "Gamma", "y", "group_ptr", "group_idx", "row_scale")


def load_certificate(path) -> dict:
    """Read a certificate file (never unpickles); DataError with the reason when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"certificate file {path} does not exist.")
    with open(path, "rb") as fh:
        if fh.read(4) != b"PK\x03\x04":
            raise DataError(f"{path} is not a convexnn certificate (not an .npz archive).")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in _REQUIRED if k not in z.files]
            if "format" not in missing and str(z["format"]) != FORMAT:
                raise DataError(f"{path} is not a convexnn certificate (format tag {str(z['format'])!r}).")
            if missing:
                raise DataError(f"{path} is not a complete convexnn certificate: missing {', '.join(missing)}.")
            data = {k: z[k] for k in z.files}
        meta = json.loads(str(data.pop("meta")))
    except (OSError, ValueError, KeyError) as exc:  # ValueError: object arrays (pickles), bad JSON
        if isinstance(exc, DataError):
            raise
        raise DataError(f"could not read certificate {path}: {exc}") from exc
    if meta.get("kind") != "sdp-nn-dual" or meta.get("version") != VERSION:
        raise DataError(f"{path}: unsupported certificate kind/version {meta.get('kind')!r}/{meta.get('version')!r} "
                        f"(this convexnn reads 'sdp-nn-dual' version {VERSION}).")
    data["meta"] = meta
    return data


# ---------------------------------------------------------------------------------------------
# verifying
# ---------------------------------------------------------------------------------------------

@dataclass
class Verification:
    """What :func:`verify_certificate` found.

    ``bound`` is the lower bound on NN-TRAIN's optimum (every width) that the verifier itself
    certifies from the stored multipliers, or None when the file is inconsistent (``problems``
    says why). ``confirmed`` is True when it reaches the claimed bound to :data:`CONFIRM_RTOL`.
    ``network_objective`` is the stored network's objective recomputed here (None without one).
    """

    claimed_bound: float
    bound: float | None
    confirmed: bool
    network_objective: float | None = None
    claimed_network_objective: float | None = None
    details: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        """(network objective − verified bound) / network objective, when both exist."""
        if self.bound is None or self.network_objective is None or self.network_objective <= 0:
            return None
        return (self.network_objective - self.bound) / self.network_objective

    def to_dict(self) -> dict:
        return {"claimed_bound": self.claimed_bound, "bound": self.bound, "confirmed": self.confirmed,
                "network_objective": self.network_objective,
                "claimed_network_objective": self.claimed_network_objective, "gap": self.gap,
                "details": self.details, "problems": list(self.problems)}


def _is_power_of_two(v: np.ndarray) -> bool:
    v = np.asarray(v, dtype=np.float64)
    if not np.all(np.isfinite(v)) or np.any(v <= 0):
        return False
    return bool(np.all(np.frexp(v)[0] == 0.5))


def _gamma(k: int) -> float:
    """γ_k = kε/(1 − kε): the relative error bound of a k-term dot product (Higham)."""
    return k * _EPS / (1.0 - k * _EPS)


def _reduce(X, Y, ptr, idx, gamma: float):
    """The reduced problem built from the stored grouping, and its allowance.

    Returns (Xr, Yr, constant, allowance, info). For *any* grouping, every network f with objective
    at most U = ½‖Y‖² (so ‖f(x) − f(x')‖ ≤ L‖x − x'‖ with L = U/γ, and residuals at most √(2U))
    satisfies obj_original(f) ≥ obj_reduced(f) + constant − allowance; the allowance is O(ε) for
    rows that are truly parallel and large for a wrong grouping, so no grouping can fake a bound.
    """
    n = X.shape[0]
    U = 0.5 * float(np.sum(Y * Y)) * (1.0 + 4.0 * _gamma(Y.size))
    L = U / gamma
    root = np.sqrt(2.0 * U)
    in_group = np.zeros(n, dtype=bool)
    in_group[idx] = True
    zero = np.flatnonzero(~in_group)
    const, err_const, allowance = 0.0, 0.0, 0.0
    # rows in no group count as zero rows: obj_k ≥ ½‖y_k‖² − ‖y_k‖·L‖x_k‖
    for k in zero:
        nx = float(np.linalg.norm(X[k])) * (1.0 + _gamma(X.shape[1] + 2))
        ny = float(np.linalg.norm(Y[k])) * (1.0 + _gamma(Y.shape[1] + 2))
        v = 0.5 * float(Y[k] @ Y[k])
        const += v
        err_const += _gamma(Y.shape[1] + 2) * v
        allowance += ny * L * nx
    Xr = np.zeros((len(ptr) - 1, X.shape[1]))
    Yr = np.zeros((len(ptr) - 1, Y.shape[1]))
    worst = 0.0
    for g in range(len(ptr) - 1):
        members = idx[ptr[g]:ptr[g + 1]]
        if members.size == 1:  # kept as given: nothing to allow for
            Xr[g], Yr[g] = X[members[0]], Y[members[0]]
            continue
        m = members.size
        kappa = np.linalg.norm(X[members], axis=1)
        if np.any(kappa == 0):
            raise DataError(f"merged group {g} contains a zero row; zero rows belong to no group.")
        dirs = X[members] / kappa[:, None]
        e = dirs.mean(axis=0)
        e = e / np.linalg.norm(e)
        ne = float(np.linalg.norm(e)) * (1.0 + _gamma(X.shape[1] + 2))
        K = float(np.sqrt(np.sum(kappa ** 2)))
        Xr[g] = K * e
        Yr[g] = (kappa[:, None] * Y[members]).sum(axis=0) / K
        slack = 8.0 * _gamma(m + X.shape[1] + 8)  # rounding in κ, K, e and the products below
        # rows: x_k versus κ_k e (their f differ by ≤ L Δ_k)
        delta = np.linalg.norm(X[members] - kappa[:, None] * e, axis=1) \
            + slack * (np.linalg.norm(X[members], axis=1) + kappa * ne)
        worst = max(worst, float(np.max(delta / kappa)))
        allowance += float(np.sum((root + L * delta) * L * delta))
        # the reduced row and target versus their exact values K* e and Σκ_k y_k / K*
        d_row = slack * K * ne
        d_y = slack * float(np.sum(kappa * np.linalg.norm(Y[members], axis=1))) / K
        R = float(np.sqrt(np.sum((root + L * delta) ** 2)))
        eta = L * d_row + d_y
        allowance += R * eta + 0.5 * eta * eta
        sy = float(np.sum(Y[members] ** 2))
        yy = float(Yr[g] @ Yr[g])
        const += 0.5 * sy - 0.5 * yy
        err_const += slack * (sy + yy) + d_y * (np.sqrt(yy) + d_y)
    info = {"rows": n, "reduced_rows": int(len(ptr) - 1), "zero_rows": int(zero.size),
            "merged_groups": int(np.sum(np.diff(ptr) > 1)),
            "largest_merge_deviation": worst}
    return Xr, Yr, const, allowance + err_const, info


def _slater_mu(sigma_up: float, gamma: float):
    """(δ, μ): y_D = −δ·1 and a lower bound on λ_min of its slack in the T basis,
    [[δI, −δX/2, 0], [−δXᵀ/2, (γ/2)I, 0], [0, 0, (γ/2)I]], maximised over δ by golden section."""
    g = 0.5 * gamma
    if sigma_up == 0.0:
        return g, g * (1.0 - 1e-12)

    def mu(delta):
        a = 0.5 * (delta + g)
        r = np.hypot(0.5 * (delta - g), 0.5 * delta * sigma_up)
        return (a - r) - 8.0 * _EPS * (delta + g + delta * sigma_up)  # cancellation margin

    lo, hi = np.log(1e-14 * 2 * gamma / sigma_up ** 2), np.log(2 * gamma / sigma_up ** 2)
    phi = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - phi * (b - a), a + phi * (b - a)
    for _ in range(200):
        if mu(np.exp(c)) > mu(np.exp(d)):
            b, d = d, c
            c = b - phi * (b - a)
        else:
            a, c = c, d
            d = a + phi * (b - a)
    delta = float(np.exp(0.5 * (a + b)))
    return delta, float(min(mu(delta), delta, g))


def _basis(Xr, c):
    """The structured face basis T: (α, u, v) ↦ (α, α − Xu, u, v); exact entries."""
    n, d = Xr.shape
    p, q = 2 * n + d + c, n + d + c
    T = np.zeros((p, q))
    i = np.arange(n)
    T[i, i] = 1.0
    T[n + i, i] = 1.0
    T[n:2 * n, n:n + d] = -Xr
    T[2 * n:, n:] = np.eye(d + c)
    return T


def _dual_matrix(n, d, Gamma, free, W, gamma):
    """D = C₀ + E(Γ) − B*(W) with the αβ-diagonal entries set to ``free`` (the multiplier of
    diag Λ_αβ = 0 is free, so any value there is a valid choice); W symmetric and ≥ 0."""
    c = Gamma.shape[1]
    p = 2 * n + d + c
    D = np.zeros((p, p))
    D[:2 * n, :2 * n] = -W
    i = np.arange(n)
    D[i, n + i] = free
    D[n + i, i] = free
    v0 = 2 * n + d
    D[:n, v0:] = 0.5 * Gamma
    D[v0:, :n] = 0.5 * Gamma.T
    u = np.arange(2 * n, p)
    D[u, u] = 0.5 * gamma
    return D


def _lambda_min(D, T):
    """(lower bound on λ_min(TᵀDT) in exact arithmetic, computed λ_min, ‖TᵀDT‖_F).

    The products' error is at most 2.01·γ_p·|T|ᵀ|D||T| entrywise (γ_p = pε/(1 − pε), any
    summation order), and a backward-stable symmetric eigensolver's at most a modest multiple of
    qε‖S‖; both are subtracted (10qε is a generous multiple)."""
    p, q = T.shape
    S = T.T @ (D @ T)
    absS = np.abs(T).T @ (np.abs(D) @ np.abs(T))
    Ss = 0.5 * (S + S.T)
    nS = float(np.linalg.norm(Ss))
    err = 2.01 * _gamma(p) * float(np.linalg.norm(absS)) * (1.0 + 2.0 * _gamma(p)) + (10.0 * q + 2.0) * _EPS * nS
    lam = float(np.linalg.eigvalsh(Ss)[0])
    return lam - err, lam, nS


def _slater_matrix(Xr, c, delta, gamma):
    """The slack of y_D = −δ·1 (Γ = 0, W = 0) in the T basis, for proposing t only."""
    n, d = Xr.shape
    q = n + d + c
    S = np.zeros((q, q))
    S[:n, :n] = delta * np.eye(n)
    S[:n, n:n + d] = -0.5 * delta * Xr
    S[n:n + d, :n] = -0.5 * delta * Xr.T
    S[n:, n:] += 0.5 * gamma * np.eye(d + c)
    return S


def _generalised_t(S, SD) -> float:
    """The largest t with t·S + (1 − t)·S_D ⪰ 0 as computed (no margins: a proposal that
    :func:`verify_certificate` then checks directly), via s = λ_min(L⁻¹SL⁻ᵀ), S_D = LLᵀ."""
    from scipy.linalg import cholesky, eigvalsh, solve_triangular

    try:
        L = cholesky(SD, lower=True)
    except np.linalg.LinAlgError:
        return 0.0
    C = solve_triangular(L, S, lower=True)
    C = solve_triangular(L, C.T, lower=True)
    s = float(eigvalsh(0.5 * (C + C.T), subset_by_index=[0, 0])[0])
    return 1.0 if s >= 0 else 1.0 / (1.0 - s)


def _round_down(value: float, magnitude: float, terms: int) -> float:
    return value - 8.0 * _gamma(terms + 8) * magnitude


def _dual_value(G, Yb, w, const, allowance) -> float:
    """−½Σ‖Γ_i‖²/w_i − ⟨Γ, Y⟩ + const − allowance, rounded down by its floating-point error."""
    gg, gy = float(np.vdot(G, G / w[:, None])), float(np.vdot(G, Yb))
    mag = 0.5 * gg + float(np.linalg.norm(G)) * float(np.linalg.norm(Yb)) + abs(const) + allowance
    return _round_down(-0.5 * gg - gy + const - allowance, mag, G.size)


#: shrink factors (1 − η) tried, in order, below the proposed t until the combination checks out;
#: between the last failure and the first success, :data:`_BISECT` more steps (in log η)
_SHRINK = (0.0, 1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 0.1, 0.3, 0.6, 0.9)
_BISECT = 6


def _sdp_bound(Xr, Yr, w, G, y, W, gamma, const, allowance, slater_y=None):
    """The verified bound on the problem ½Σ w_i‖f(x_i) − y_i‖² + (γ/2)(‖U‖² + ‖V‖²) (rows Xr,
    targets Yr, loss weights w) from multipliers (Γ, y, W), and how it was got; its dual
    objective is −½Σ‖Γ_i‖²/w_i − ⟨Γ, Y⟩, the rest as in SPEC §3.1.

    Two rules, the larger wins. (1) Slater: the combination (tΓ, ty + (1 − t)y_D, tW) with a
    strictly feasible y_D: the closed-form −δ·1 of SPEC §3.1 or the solver's own (``slater_y``,
    checked like everything else). t is *proposed* from the generalised eigenvalue of the pencil
    (S, S_D), capped at the parabola's maximiser, and then *checked* directly: the combination's
    own dual matrix is formed and its slack's λ_min bounded below by :func:`_lambda_min` (≥ 0 is
    required); on failure t shrinks (factors of _SHRINK, then a bisection). t = 0 with y_D = −δ·1
    (PSD in closed form for 0 < δ < 2γ/σ²) always holds and gives const − allowance.
    (2) The trace bound: dual(Γ) + τ·min(0, λ_min(S)) with τ ≥ tr of the optimum in the T basis.
    """
    n, d = Xr.shape
    c = G.shape[1]
    T = _basis(Xr, c)
    Wsym = 0.5 * (W + W.T)  # a valid W ≥ 0 in itself: the certificate is for this one, exactly
    diag = np.arange(n)
    free = -(Wsym[diag, n + diag] + 0.5 * y)
    D = _dual_matrix(n, d, G, free, Wsym, gamma)
    lam, lam_raw, nS = _lambda_min(D, T)
    sigma_up = float(np.linalg.norm(Xr, 2)) * (1.0 + 1e-10) + 100.0 * max(Xr.shape) * _EPS * float(np.linalg.norm(Xr))
    delta, mu = _slater_mu(sigma_up, gamma)
    gg, gy = float(np.vdot(G, G / w[:, None])), float(np.vdot(G, Yr))
    t_opt = 1.0 if gg == 0 else min(max(-gy / gg, 0.0), 1.0)
    zeroG = np.zeros_like(G)
    candidates = [("closed-form", np.full(n, -delta))] if mu > 0 else []
    if slater_y is not None:
        candidates.append(("solver's", np.asarray(slater_y, dtype=np.float64)))
    S = None
    b_slater, t_used, checks, used = _dual_value(zeroG, Yr, w, const, allowance), 0.0, 0, "closed-form"

    def check(t, yD):
        Gt = 0.5 * (t * G)  # Γ' = tΓ as computed; halving is exact
        free_t = t * free + (1.0 - t) * (-0.5 * yD)
        return _lambda_min(_dual_matrix(n, d, 2.0 * Gt, free_t, t * Wsym, gamma), T)[0] >= 0, 2.0 * Gt

    for name, yD in candidates:
        if lam >= 0:
            t_prop = t_opt
        else:
            if S is None:
                S = T.T @ (D @ T)
                S = 0.5 * (S + S.T)
            SD = T.T @ (_dual_matrix(n, d, zeroG, -0.5 * yD, np.zeros_like(Wsym), gamma) @ T)
            t_prop = min(t_opt, _generalised_t(S, 0.5 * (SD + SD.T)))
        if t_prop <= t_used:
            continue
        fail, best = None, None
        for eta in _SHRINK:
            checks += 1
            ok, Gt = check(t_prop * (1.0 - eta), yD)
            if ok:
                best = (eta, Gt)
                break
            fail = eta
        if best is None:
            continue
        if fail is not None and best[0] > 0:  # bisect in log η between the failure and the success
            lo = np.log(max(fail, 1e-16))
            hi = np.log(best[0])
            for _ in range(_BISECT):
                mid = 0.5 * (lo + hi)
                checks += 1
                ok, Gt = check(t_prop * (1.0 - np.exp(mid)), yD)
                if ok:
                    hi, best = mid, (float(np.exp(mid)), Gt)
                else:
                    lo = mid
        value = _dual_value(best[1], Yr, w, const, allowance)
        if value > b_slater:
            b_slater, t_used, used = value, t_prop * (1.0 - best[0]), name
    # (2) τ ≥ tr Λ_αα + tr Λ_uu + tr Λ_vv at the optimum: tr Λ_αα ≤ σ² tr Λ_uu (trace identity) and
    # (γ/2)(tr Λ_uu + tr Λ_vv) ≤ ½Σ w_i‖y_i‖² (Λ = 0 is feasible)
    tau = (1.0 + sigma_up ** 2) * float(np.sum(w[:, None] * Yr * Yr)) / gamma * (1.0 + 8.0 * _gamma(Yr.size + 4))
    pen = tau * min(0.0, lam)
    b_trace = _round_down(_dual_value(G, Yr, w, const, allowance) + pen, abs(pen), G.size)
    more = {"lambda_min": lam, "lambda_min_computed": lam_raw, "slack_norm": nS, "slater_delta": delta,
            "slater_mu": mu, "slater_point": used, "t": t_used, "checks": checks,
            "rule": "slater" if b_slater >= b_trace else "trace",
            "slater_bound": b_slater, "trace_bound": b_trace}
    return max(b_slater, b_trace), more


def verify_certificate(source) -> Verification:
    """Recompute a lower bound from a certificate (a path or the dict of :func:`load_certificate`)
    with the independent routine described in the module docstring."""
    data = load_certificate(source) if not isinstance(source, dict) else source
    meta = data["meta"]
    claimed = float(meta["claimed_bound"])
    problems = []
    X, Y = np.asarray(data["X"], dtype=np.float64), np.asarray(data["Y"], dtype=np.float64)
    G_f, y_f = np.asarray(data["Gamma"], dtype=np.float64), np.asarray(data["y"], dtype=np.float64)
    ptr, idx = np.asarray(data["group_ptr"]), np.asarray(data["group_idx"])
    s, a, gamma = np.asarray(data["row_scale"], dtype=np.float64), float(meta["data_scale"]), float(meta["reg"])
    n_red = len(ptr) - 1
    # -- structure of the file --------------------------------------------------------------
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0] or X.shape[0] == 0:
        problems.append(f"X {X.shape} and Y {Y.shape} are not data of n rows")
    elif not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        problems.append("X or Y holds NaN or inf")
    if not (np.isfinite(gamma) and gamma > 0):
        problems.append(f"reg {gamma} is not positive")
    if ptr.ndim != 1 or n_red < 0 or ptr[0] != 0 or np.any(np.diff(ptr) < 1) or ptr[-1] != idx.size:
        problems.append("the grouping (group_ptr) is malformed")
    elif idx.size and (idx.min() < 0 or idx.max() >= X.shape[0] or np.unique(idx).size != idx.size):
        problems.append("the grouping names a row twice or a row that does not exist")
    if G_f.shape != (n_red, Y.shape[1]) or y_f.shape != (n_red,) or s.shape != (n_red,):
        problems.append(f"multipliers of shapes Γ {G_f.shape}, y {y_f.shape}, row scales {s.shape} do not "
                        f"fit {n_red} reduced rows and {Y.shape[1]} outputs")
    if not (_is_power_of_two(s) and _is_power_of_two(np.array([a]))):
        problems.append("the row scales and the data scale must be powers of two (exact rescaling)")
    if "W" in data:
        W_f = np.asarray(data["W"], dtype=np.float64)
    elif "W_vals" in data:
        shape = tuple(int(v) for v in data["W_shape"])
        W_f = np.zeros(shape)
        try:
            W_f[data["W_rows"], data["W_cols"]] = data["W_vals"]
        except IndexError:
            problems.append("the sparse W has indices outside its shape")
    else:
        W_f = np.zeros((2 * n_red, 2 * n_red))
    if W_f.shape != (2 * n_red, 2 * n_red):
        problems.append(f"W has shape {W_f.shape}, not {(2 * n_red, 2 * n_red)}")
    for name, arr in (("Γ", G_f), ("y", y_f), ("W", W_f)):
        if not np.all(np.isfinite(arr)):
            problems.append(f"{name} holds NaN or inf")
    if problems:
        return Verification(claimed, None, False, problems=problems)
    negative = int(np.count_nonzero(W_f < 0))
    W_f = np.maximum(W_f, 0.0)
    # -- the reduced problem and its allowance -------------------------------------------------
    Xr, Yr, const, allowance, red = _reduce(X, Y, ptr, idx, gamma)
    details = {"reduction": red, "allowance": allowance, "W_entries_clipped": negative}
    if n_red == 0:
        bound = _round_down(const - allowance, abs(const) + allowance, X.shape[0])
    else:
        # -- the solver's coordinates: rows times s_i, all data divided by a, loss weights 1/s_i²
        # (powers of two, so these data are exact; the problem is the same for every network, and
        # its SDP-NN is the reduced one's up to a diagonal congruence)
        Xb, Yb = (Xr * s[:, None]) / a, Yr * s[:, None]
        yD = data.get("slater_y")
        yD = None if yD is None or np.shape(yD) != (n_red,) or not np.all(np.isfinite(yD)) \
            else np.asarray(yD, dtype=np.float64)
        bound, more = _sdp_bound(Xb, Yb, 1.0 / (s * s), G_f, y_f, W_f, gamma / a, const, allowance,
                                 slater_y=yD)
        details.update(more)
    confirmed = bool(bound >= claimed - CONFIRM_RTOL * max(1.0, abs(claimed)))
    out = Verification(claimed, float(bound), confirmed, details=details)
    if "U" in data and "V" in data:
        U, V = np.asarray(data["U"], dtype=np.float64), np.asarray(data["V"], dtype=np.float64)
        if U.ndim != 2 or V.ndim != 2 or U.shape[0] != X.shape[1] or V.shape[0] != Y.shape[1] \
                or U.shape[1] != V.shape[1]:
            problems.append(f"the network's U {U.shape} and V {V.shape} do not fit d = {X.shape[1]}, "
                            f"c = {Y.shape[1]}")
        else:
            R = np.maximum(X @ U, 0.0) @ V.T - Y
            out.network_objective = 0.5 * float(np.sum(R * R)) + 0.5 * gamma * (float(np.sum(U * U))
                                                                                 + float(np.sum(V * V)))
            claimed_obj = meta.get("network_objective")
            out.claimed_network_objective = None if claimed_obj is None else float(claimed_obj)
            if out.network_objective < bound:
                problems.append(f"the network's objective {out.network_objective:.9g} is below the verified "
                                f"bound {bound:.9g}: the certificate contradicts itself")
    out.problems = problems
    return out
