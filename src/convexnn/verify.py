"""Certificates anyone can check again: a certified lower bound saved with the data and the dual
certificate it rests on (``.npz``, no pickle), and a verifier that recomputes a bound from them.

Why: a certified bound is only as trustworthy as the code that certified it. The verifier here
shares no code with the solvers, with :meth:`SDPFormulation.certify` or with the atomic dual's
oracles (it imports neither). A file holds one or both of two parts:

* *SDP-NN* (dual multipliers Γ, y, W of the relaxation): the verifier rebuilds the row reduction
  from the original data and the stored grouping — groups of exact positive multiples merge
  exactly (a weighted row), every other merge is charged an explicit allowance; rescales those data into the solver's coordinates by the stored powers of two
  (exact); forms the dual slack TᵀD(Γ, y, W)T in the structured face basis T with its own dense
  products and a bound on their rounding error; and repairs a slightly infeasible point towards
  a Slater point, with t proposed from a generalised eigenvalue and then *checked directly* on
  the combination's own slack, or uses the trace bound, whichever is larger.
* *Atomic dual* (a residual Γ with σ(Γ) = max_{‖u‖=1} ‖Γᵀ(Xu)₊‖): the verifier computes σ
  exactly by enumerating the faces of the hyperplane arrangement where it is small enough
  (:func:`sigma_by_faces`), else bounds it by its own best-first branch and bound over the
  sphere (:func:`sigma_upper_bound`), to a relative 1e-5 or a time limit, and evaluates the dual
  bound at Γ scaled by min(1, γ/σ̄).

docs/mathematics.md §4 gives the derivation of every step. Every positive-semidefiniteness
decision is a proof in IEEE double arithmetic (:func:`_proves_psd`: our own Cholesky loop and its
rigorous error bound), not an eigenvalue with a margin. The other rounding allowances (the
reduction, the dual value, the σ search's cap bounds and face spans) are a-priori γ_k bounds
with room to spare.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._validation import check_memory
from .errors import DataError

FORMAT = "convexnn-certificate"
VERSION = 1
_EPS = float(np.finfo(np.float64).eps)
#: a verified SDP-NN bound within this relative distance of the claimed one confirms the claim
CONFIRM_RTOL = 1e-6
#: the same for the atomic dual, whose σ̄ the verifier bounds to ATOMIC_SIGMA_RTOL by branch and bound
ATOMIC_RTOL = 1e-4
ATOMIC_SIGMA_RTOL = 1e-5
#: the widest design whose atomic part the verifier checks (the library computes it up to 5 columns)
SIGMA_MAX_DIM = 6
#: bytes one live cell of the dual-norm search holds (two small arrays, a tuple, heap and dict entries;
#: measured about 100 per cell on Iris, 5.3 million cells in 540 MB, so this is generous)
_CELL_BYTES = 400


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------

def _sdp_arrays(result) -> tuple[dict, dict]:
    """The arrays and facts of an SDP-NN part: multipliers in the solver's coordinates, the row
    grouping of its reduction, its row scales and data scale (powers of two)."""
    # the multipliers that certify the result's bound: its own, or those of another solve of the
    # same problem whose better bound it adopted (solve_sdp's 'auto' keeps them apart)
    sol = result.solution.get("certificate", result.solution)
    form = sol.get("formulation")
    if form is None or sol.get("Gamma") is None or result.lower_bound is None:
        raise DataError("this SDP-NN result carries no dual multipliers to certify (it was interrupted "
                        "before its first certificate, its bound came from a solve without multipliers, "
                        "or it is not a solve_sdp result).")
    G = np.asarray(sol["Gamma"], dtype=np.float64)
    n_red = G.shape[0]
    W = sol.get("W")
    W = np.zeros((2 * n_red, 2 * n_red)) if W is None else np.maximum(np.asarray(W, dtype=np.float64), 0.0)
    groups = form.reduction.groups
    ptr = np.zeros(len(groups) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(g) for g in groups])
    arrays = {"Gamma": G, "y": np.asarray(sol["y"], dtype=np.float64), "group_ptr": ptr,
              "group_idx": np.array([i for g in groups for i in g], dtype=np.int64),
              "row_scale": np.asarray(form.row_scale, dtype=np.float64)}
    if n_red:  # the solver's Slater point −δ·1 in its own coordinates: a proposal the verifier checks
        arrays["slater_y"] = np.full(n_red, -float(form.slater_point()[0]))
    if np.count_nonzero(W) <= 0.3 * W.size:  # sparse: triplets of the nonzero entries
        r, c = np.nonzero(W)
        arrays.update(W_rows=r.astype(np.int32), W_cols=c.astype(np.int32), W_vals=W[r, c],
                      W_shape=np.array(W.shape, dtype=np.int64))
    else:
        arrays["W"] = W
    facts = {"claimed_bound": float(result.lower_bound), "data_scale": float(result.info.get("data_scale", 1.0)),
             "sdp_value": None if result.value is None else float(result.value),
             "status": result.status, "method": result.method}
    return arrays, facts


def _atomic_arrays(result) -> tuple[dict, dict]:
    """The arrays and facts of an atomic-dual part: the residual Γ its bound rests on, its σ̄, and
    the network's neurons as seeds for the verifier's search (they only speed it up)."""
    sol = result.solution
    if sol.get("Gamma") is None or result.lower_bound is None:
        raise DataError("this atomic-dual result carries no certified residual (no certification finished).")
    arrays = {"atomic_Gamma": np.asarray(sol["Gamma"], dtype=np.float64)}
    if sol.get("U") is not None:
        arrays["atomic_seeds"] = np.asarray(sol["U"], dtype=np.float64)
    facts = {"claimed_bound": float(result.lower_bound), "sigma_upper": float(sol["sigma_upper"]),
             "status": result.status, "method": result.method}
    return arrays, facts


def certifiable(result):
    """``result`` if it carries a certified bound with its dual certificate (an SDP-NN or
    atomic-dual result whose first certificate finished), else None: what a file can hold."""
    if result is None or result.lower_bound is None:
        return None
    sol = result.solution.get("certificate", result.solution)
    return result if sol.get("Gamma") is not None else None


def certificate_arrays(X, Y, reg: float, *, sdp=None, atomic=None, network=None, meta: dict | None = None) -> dict:
    """The arrays of a certificate file for design matrix ``X`` (with its ones column for a bias)
    and targets ``Y`` as solved: an SDP-NN part from ``sdp`` (a :func:`~convexnn.sdp.solve_sdp`
    result on them), an atomic-dual part from ``atomic`` (an
    :func:`~convexnn.atomic_dual.atomic_dual_certificate` result), at least one of the two, and
    optionally a network (``network`` = (U, V) or a ReLUNetwork) whose objective is recomputed."""
    if sdp is None and atomic is None:
        raise DataError("a certificate needs an SDP-NN result, an atomic-dual result or both.")
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    Y = Y[:, None] if Y.ndim == 1 else Y
    arrays = {"format": np.array(FORMAT), "X": X, "Y": Y}
    parts = {}
    if sdp is not None:
        a, parts["sdp"] = _sdp_arrays(sdp)
        arrays.update(a)
    if atomic is not None:
        a, parts["atomic"] = _atomic_arrays(atomic)
        arrays.update(a)
    m = {"version": VERSION, "reg": float(reg), "parts": parts,
         "claimed_bound": max(p["claimed_bound"] for p in parts.values())}
    if network is not None:
        U, V = (network.U, network.V) if hasattr(network, "U") else network
        arrays["U"] = np.asarray(U, dtype=np.float64)
        arrays["V"] = np.asarray(V, dtype=np.float64)
    m.update(meta or {})
    arrays["meta"] = np.array(json.dumps(m))
    return arrays


def save_certificate(path, X, Y, reg: float, *, sdp=None, atomic=None, network=None,
                     meta: dict | None = None) -> Path:
    """Write a certificate file (``.npz``, no pickle; see :func:`certificate_arrays`) to ``path``
    and return it. ``meta`` adds JSON-able facts (data set, protocol, the network's objective)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not parent.exists() or not os.access(parent, os.W_OK):
        raise DataError(f"cannot write the certificate to {path}: its directory does not exist, is not "
                        "writable, or the path is a directory.")
    arrays = certificate_arrays(X, Y, reg, sdp=sdp, atomic=atomic, network=network, meta=meta)
    with open(path, "wb") as fh:  # a file handle keeps numpy from appending '.npz' to the name
        np.savez_compressed(fh, **arrays)
    return path


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------

_REQUIRED = {"": ("format", "meta", "X", "Y"),
             "sdp": ("Gamma", "y", "group_ptr", "group_idx", "row_scale"),
             "atomic": ("atomic_Gamma",)}


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
            missing = [k for k in _REQUIRED[""] if k not in z.files]
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
    data["meta"] = meta
    return _check_contents(data, path)


def _check_contents(data: dict, where) -> dict:
    """DataError unless ``data`` (arrays and ``meta``) is a complete certificate of this version."""
    meta = data.get("meta")
    if not isinstance(meta, dict) or meta.get("version") != VERSION:
        raise DataError(f"{where}: unsupported certificate version {meta.get('version') if isinstance(meta, dict) else None!r} "
                        f"(this convexnn reads version {VERSION}).")
    missing = [k for k in _REQUIRED[""] if k not in data]
    if missing:
        raise DataError(f"{where} is not a complete convexnn certificate: missing {', '.join(missing)}.")
    parts = meta.get("parts")
    if not isinstance(parts, dict) or not parts or set(parts) - {"sdp", "atomic"}:
        raise DataError(f"{where}: the certificate names no known parts (expected 'sdp' and/or 'atomic').")
    for part, facts in parts.items():
        if not isinstance(facts, dict) or not isinstance(facts.get("claimed_bound"), (int, float)):
            raise DataError(f"{where}: its {part} part states no claimed bound.")
        missing = [k for k in _REQUIRED[part] if k not in data]
        if missing:
            raise DataError(f"{where} is not a complete convexnn certificate: its {part} part is missing "
                            f"{', '.join(missing)}.")
    if not isinstance(meta.get("reg"), (int, float)) or not isinstance(meta.get("claimed_bound"), (int, float)):
        raise DataError(f"{where}: the certificate states no reg or no claimed bound.")
    for key in ("group_ptr", "group_idx", "W_rows", "W_cols", "W_shape"):
        if key in data and not np.issubdtype(np.asarray(data[key]).dtype, np.integer):
            raise DataError(f"{where}: {key} must hold integers; got {np.asarray(data[key]).dtype}.")
    return data



@dataclass
class Verification:
    """What :func:`verify_certificate` found.

    ``parts`` maps each part of the file ('sdp', 'atomic') to its claimed bound, the bound the
    verifier itself certifies from it (None when that part is inconsistent), whether that
    confirms the claim (to :data:`CONFIRM_RTOL` for SDP-NN, :data:`ATOMIC_RTOL` for the atomic
    dual, whose σ̄ the verifier bounds by its own branch and bound) and the details. ``bound`` is
    the best verified bound of all parts: a lower bound on NN-TRAIN's optimum for every width.
    ``confirmed`` holds when every part is confirmed and the file has no problems.
    ``network_objective`` is the stored network's objective recomputed here (None without one).
    """

    claimed_bound: float
    bound: float | None
    confirmed: bool
    parts: dict = field(default_factory=dict)
    network_objective: float | None = None
    claimed_network_objective: float | None = None
    problems: list = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        """(network objective − verified bound) / network objective, when both exist."""
        if self.bound is None or self.network_objective is None or self.network_objective <= 0:
            return None
        return (self.network_objective - self.bound) / self.network_objective

    def to_dict(self) -> dict:
        return {"claimed_bound": self.claimed_bound, "bound": self.bound, "confirmed": self.confirmed,
                "parts": self.parts, "network_objective": self.network_objective,
                "claimed_network_objective": self.claimed_network_objective, "gap": self.gap,
                "problems": list(self.problems)}


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
    weight = np.ones(len(ptr) - 1)  # loss weight per reduced row (1 but for exact merges)
    scale = np.ones(len(ptr) - 1)   # ‖K ê‖/‖reduced row‖: how the solver's multipliers map to it
    exact_groups = 0
    for g in range(len(ptr) - 1):
        members = idx[ptr[g]:ptr[g + 1]]
        if members.size == 1:  # kept as given: nothing to allow for
            Xr[g], Yr[g] = X[members[0]], Y[members[0]]
            continue
        merged = _exact_merge(X[members], Y[members], U)
        if merged is not None:  # rows exact positive multiples of one of them: no Lipschitz allowance
            Xr[g], Yr[g], weight[g], c_g, allow_g, k_norm = merged
            scale[g] = k_norm / float(np.linalg.norm(Xr[g]))
            const += c_g
            allowance += allow_g
            exact_groups += 1
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
            "merged_groups": int(np.sum(np.diff(ptr) > 1)), "exact_merges": exact_groups,
            "largest_merge_deviation": worst}
    return Xr, Yr, weight, scale, const, allowance + err_const, info


def _exact_merge(Xg, Yg, U):
    """A group whose rows are all exact positive multiples of its first, x_k = c_k x_0 (checked
    in rational arithmetic): f(x_k) = c_k f(x_0) for every network, so
    Σ½‖f(x_k) − y_k‖² = ½ω‖f(x_0) − y'‖² + c_g exactly, ω = Σc_k², y' = Σc_k y_k/ω. Returns
    (x_0, ỹ, ω̃, c̃_g, allowance, K) with ω̃ ≤ ω and c̃_g ≤ c_g rounded down and ỹ rounded, whose
    error the allowance pays for with the residual bound ‖f(x_0) − y'‖ ≤ √(2U/ω) (no Lipschitz
    constant: nothing is moved); K = √Σ‖x_k‖² for the solver's scale. None otherwise."""
    from fractions import Fraction

    x0 = Xg[0]
    j = int(np.argmax(np.abs(x0)))
    if x0[j] == 0.0:
        return None
    F0 = [Fraction(float(a)) for a in x0]
    coef = []
    for row in Xg:
        c = Fraction(float(row[j])) / F0[j]
        if c <= 0 or any(Fraction(float(a)) != c * b for a, b in zip(row, F0)):
            return None
        coef.append(c)
    omega = sum(c * c for c in coef)
    Yf = [[Fraction(float(a)) for a in row] for row in Yg]
    cdim = len(Yf[0])
    yp = [sum(c * row[t] for c, row in zip(coef, Yf)) / omega for t in range(cdim)]
    cg = sum(sum(a * a for a in row) for row in Yf) / 2 - omega * sum(a * a for a in yp) / 2
    w_down = float(omega)
    if Fraction(w_down) > omega:
        w_down = float(np.nextafter(w_down, 0.0))
    c_down = float(cg)
    if Fraction(c_down) > cg:
        c_down = float(np.nextafter(c_down, -np.inf))
    y_t = np.array([float(a) for a in yp])
    dy = float(np.sqrt(float(sum((Fraction(float(a)) - b) ** 2 for a, b in zip(y_t, yp))))) * (1.0 + 1e-9)
    # ½ω̃‖h − y'‖² ≥ ½ω̃‖h − ỹ‖² − ω̃·dy·‖h − ỹ‖ and ‖h − ỹ‖ ≤ √(2U/ω̃) + dy for the optimum's h
    allow = w_down * dy * (np.sqrt(2.0 * U / w_down) + dy) * (1.0 + 1e-9) + 4.0 * _EPS * abs(c_down)
    K = float(np.sqrt(float(sum(c * c for c in coef)))) * float(np.linalg.norm(x0))
    return x0.copy(), y_t, w_down, c_down, allow, K


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


#: the smallest positive subnormal double: underflow's absolute error per operation is at most half of it
_ETA = 2.0 ** -1074


def _cholesky_completes(B) -> bool:
    """Whether Cholesky's method runs to completion on the lower triangle of B (every pivot > 0).

    Our own loop, so that each entry is computed the way the error analysis assumes: an inner
    product in some order (a BLAS matrix-vector product), one subtraction, then a true division or
    a square root — never a multiplication by a reciprocal. LAPACK's blocked routines may invert
    triangular blocks, for which the bound below is not proven. O(q³/3) flops."""
    q = B.shape[0]
    L = np.zeros((q, q))
    for j in range(q):
        col = B[j:, j] - L[j:, :j] @ L[j, :j]
        if not col[0] > 0.0:  # also catches NaN
            return False
        r = np.sqrt(col[0])
        L[j, j] = r
        L[j + 1:, j] = col[1:] / r
    return bool(np.all(np.isfinite(L)))


def _proves_psd(A, shift: float) -> bool:
    """True only if A − shift·I ⪰ 0 holds in exact arithmetic, A symmetric (the stored doubles).

    Rigorous in IEEE double arithmetic (round to nearest, underflow included): if Cholesky runs to
    completion on B = fl(A − s·I), its computed factor satisfies R̂ᵀR̂ = B + ΔB with
    |ΔB| ≤ γ_{q+1}|R̂ᵀ||R̂| [Higham, Accuracy and Stability, Thm 10.3], hence
    ‖ΔB‖₂ ≤ γ_{q+1}‖R̂‖_F² ≤ γ_{q+1}/(1 − γ_{q+1})·tr B and λ_min(B) ≥ −that. The shift s exceeds
    ``shift`` by c, which pays for this term, for the rounding of s and of B's diagonal, and for
    underflow (an absolute 2q(q + 2)η, after [Rump 2006, BIT 46:433]). A False says nothing."""
    A = np.asarray(A, dtype=np.float64)
    q = A.shape[0]
    if q == 0:
        return bool(shift <= 0.0)
    if not (np.isfinite(shift) and np.all(np.isfinite(A))):
        return False
    g = _gamma(q + 1)
    g = g / (1.0 - g)
    diag = np.diagonal(A) - shift
    top = float(np.max(np.abs(diag)))
    tiny = 2.0 * q * (q + 2) * _ETA * (1.0 + top)
    c = 1.01 * (g * float(np.sum(np.maximum(diag, 0.0))) * (1.0 + 2.0 * _gamma(q))
                + 2.0 * _EPS * (abs(shift) + top) + tiny) + tiny
    s = shift + c
    B = np.array(A)
    i = np.arange(q)
    B[i, i] -= s
    if not _cholesky_completes(B):
        return False
    # A − shift·I = B + (s − shift)·I + E,  |E_ii| ≤ ε|B_ii|,  s − shift ≥ c − ε(|shift| + c)
    trB = float(np.sum(np.diagonal(B))) * (1.0 + 2.0 * _gamma(q))
    need = g * trB + _EPS * (abs(shift) + c) + _EPS * float(np.max(np.abs(np.diagonal(B)))) + tiny
    return bool(c >= need)


def _norm_up(A) -> float:
    """An upper bound on ‖A‖_F, safe from underflow and overflow: computed on A scaled by a power
    of two (exact) so that its largest entry lies in [½, 1), then raised by its rounding; entries
    the scaling pushes below the subnormal range are paid for by an absolute term."""
    A = np.asarray(A, dtype=np.float64)
    m = float(np.max(np.abs(A))) if A.size else 0.0
    if m == 0.0:
        return 0.0
    if not np.isfinite(m):
        return np.inf
    e = int(np.frexp(m)[1])
    Z = np.ldexp(A, -e)
    return float(np.ldexp(float(np.linalg.norm(Z)) * (1.0 + 2.0 * _gamma(A.size + 2)) + A.size * _ETA, e))


def _slack(D, T):
    """(S, e): the computed slack fl(TᵀDT), symmetrised (exactly symmetric as stored), and
    e ≥ ‖S − TᵀDT‖₂ in exact arithmetic. The products' error is at most 2.01·γ_p·|T|ᵀ|D||T|
    entrywise (γ_p = pε/(1 − pε), any summation order) plus, for underflow, an absolute
    2pη(1 + p·max|T|) per entry; the symmetrisation's is ε|S|."""
    p, q = T.shape
    S = T.T @ (D @ T)
    absS = np.abs(T).T @ (np.abs(D) @ np.abs(T))
    S = 0.5 * (S + S.T)
    under = 2.0 * p * _ETA * (1.0 + p * float(np.max(np.abs(T))))
    e = 2.01 * _gamma(p) * _norm_up(absS) * (1.0 + 2.0 * _gamma(p)) + q * under \
        + 1.01 * _EPS * _norm_up(S)
    return S, e


def _proves_slack_psd(D, T) -> bool:
    """True only if TᵀDT ⪰ 0 in exact arithmetic (:func:`_slack`, then :func:`_proves_psd`)."""
    S, e = _slack(D, T)
    return _proves_psd(S, e)


def _lambda_min(D, T):
    """(ℓ, computed λ_min, ‖TᵀDT‖_F) with ℓ ≤ λ_min(TᵀDT) *proven* (−inf if no proof was found):
    ℓ is proposed below the eigensolver's value and accepted only once S − (ℓ + e)·I ⪰ 0 is
    proven by :func:`_proves_psd`."""
    S, e = _slack(D, T)
    q = S.shape[0]
    nS = float(np.linalg.norm(S))
    lam = float(np.linalg.eigvalsh(S)[0])
    step = e + (q + 2) * _EPS * (nS + q * abs(lam)) + _gamma(q + 1) * abs(float(np.trace(S)))
    for k in range(8):
        ell = lam - e - (4.0 ** k) * step
        if _proves_psd(S, ell + e):  # λ_min(S) ≥ fl(ℓ + e), which may lie ε|ℓ + e| below ℓ + e
            return ell - 2.0 * _EPS * (abs(ell) + e), lam, nS
    return -np.inf, lam, nS


def _spectral_upper(X) -> float:
    """A proven upper bound on ‖X‖₂. X is scaled by a power of two (exact) to a largest entry in
    [½, 1); the computed norm, slightly raised, is accepted once s̄²I − XᵀX ⪰ 0 is proven
    (:func:`_proves_psd`, with the product's rounding and underflow bounded as in :func:`_slack`);
    otherwise the Frobenius norm (:func:`_norm_up`)."""
    X = np.asarray(X, dtype=np.float64)
    fro = _norm_up(X)
    if fro == 0.0 or not np.isfinite(fro):
        return fro
    k = int(np.frexp(float(np.max(np.abs(X))))[1])
    Z = np.ldexp(X, -k)
    if np.any((Z != 0) & (np.abs(Z) < np.finfo(np.float64).tiny)):  # the scaling lost bits
        return fro
    n = Z.shape[0]
    G = Z.T @ Z
    G = 0.5 * (G + G.T)
    e = 2.01 * _gamma(n) * _norm_up(np.abs(Z).T @ np.abs(Z)) + 2.0 * G.shape[0] * n * _ETA \
        + 1.01 * _EPS * _norm_up(G)
    s = float(np.linalg.norm(Z, 2))
    for i in range(4):
        cand = s * (1.0 + 1e-9 * 100.0 ** i)
        s2 = cand * cand * (1.0 - 2.0 * _EPS)  # ≤ cand² in exact arithmetic
        if _proves_psd(-G, -(s2 - e)):  # s2·I − G − e·I ⪰ 0, so λ_max(ZᵀZ) ≤ s2 ≤ cand²
            return min(float(np.ldexp(cand, k)), fro)
    return fro


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


def _sdp_bound(Xr, Yr, w, G, y, W, gamma, const, allowance, slater_y=None, progress=None):
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
    zeroG = np.zeros_like(G)
    # Γ = 0 with the closed-form Slater point always holds: the fallback if interrupted
    b_slater, t_used, checks, used = _dual_value(zeroG, Yr, w, const, allowance), 0.0, 0, "closed-form"
    lam = lam_raw = nS = delta = mu = np.nan
    interrupted = False
    sigma_up = np.inf
    try:
        sigma_up = _spectral_upper(Xr)
        lam, lam_raw, nS = _lambda_min(D, T)
        delta, mu = _slater_mu(sigma_up, gamma)
        gg, gy = float(np.vdot(G, G / w[:, None])), float(np.vdot(G, Yr))
        t_opt = 1.0 if gg == 0 else min(max(-gy / gg, 0.0), 1.0)
        candidates = [("closed-form", np.full(n, -delta))] if mu > 0 else []
        if slater_y is not None:
            candidates.append(("solver's", np.asarray(slater_y, dtype=np.float64)))
        S = None

        def check(t, yD):
            Gt = 0.5 * (t * G)  # Γ' = tΓ as computed; halving is exact
            free_t = t * free + (1.0 - t) * (-0.5 * yD)
            ok = _proves_slack_psd(_dual_matrix(n, d, 2.0 * Gt, free_t, t * Wsym, gamma), T)
            if progress is not None:
                progress({"iteration": checks, "lower_bound": b_slater})
            return ok, 2.0 * Gt

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
    except KeyboardInterrupt:  # Ctrl-C: the best bound checked so far stands
        interrupted = True
    # (2) τ ≥ tr Λ_αα + tr Λ_uu + tr Λ_vv at the optimum: tr Λ_αα ≤ σ² tr Λ_uu (trace identity) and
    # (γ/2)(tr Λ_uu + tr Λ_vv) ≤ ½Σ w_i‖y_i‖² (Λ = 0 is feasible)
    tau = (1.0 + sigma_up ** 2) * float(np.sum(w[:, None] * Yr * Yr)) / gamma * (1.0 + 8.0 * _gamma(Yr.size + 4))
    pen = 0.0 if lam >= 0 else (tau * lam if np.isfinite(lam) else -np.inf)
    b_trace = _round_down(_dual_value(G, Yr, w, const, allowance) + pen, abs(pen), G.size) \
        if np.isfinite(pen) else -np.inf
    more = {"lambda_min": lam, "lambda_min_computed": lam_raw, "slack_norm": nS, "slater_delta": delta,
            "slater_mu": mu, "slater_point": used, "t": t_used, "checks": checks,
            "rule": "slater" if b_slater >= b_trace else "trace",
            "slater_bound": b_slater, "trace_bound": b_trace, "interrupted": interrupted}
    return max(b_slater, b_trace), more


# ---------------------------------------------------------------------------------------------
# the atomic-norm dual: σ(Γ) = max over unit u of ‖Γᵀ(Xu)₊‖, bounded by branch and bound
# ---------------------------------------------------------------------------------------------

def _sigma_at(X, G, U):
    """‖Γᵀ(XU)₊‖ per column of U, each column normalised (lower bounds on σ)."""
    U = U / np.maximum(np.linalg.norm(U, axis=0), 1e-300)
    return np.linalg.norm(G.T @ np.maximum(X @ U, 0.0), axis=0), U


def _angle(A, B):
    """Angles between the unit rows of A (k×d) and the unit columns of B (d×m): 2·atan2(‖a − b‖,
    ‖a + b‖), accurate near 0 and π alike."""
    diff = np.linalg.norm(A[:, :, None] - B[None, :, :], axis=1)
    summ = np.linalg.norm(A[:, :, None] + B[None, :, :], axis=1)
    return 2.0 * np.arctan2(diff, summ)


def _cell_bounds(X, G, K, xn, gn, axis, sign, lo, hi):
    """Upper bounds of ‖Γᵀ(Xu)₊‖ on the cells (boxes [lo, hi] on the cube face x_axis = sign,
    projected onto the sphere), and their centres.

    Each cell lies in the cap of its centre u0 and angular radius r (the largest angle to a
    corner: the cap is convex and holds the corners). A row whose hyperplane misses the cap is
    linear there; a row it cuts has x̂ᵀu in [z_lo, z_hi] ∋ 0, where (z)₊ = θz + e with
    θ = z_hi/(z_hi − z_lo) and 0 ≤ e ≤ θ|z_lo| (the secant of the convex (·)₊). So on the cap
    ‖Γᵀ(Xu)₊‖ ≤ ‖M u‖ + Σ_cut ‖g_i‖‖x_i‖θ_i|z_lo,i| with M = Σ w_i g_i x_iᵀ (w = 1 linear,
    θ_i cut, 0 off), and for u = cos φ·u0 + sin φ·w (w ⊥ u0, φ ≤ r), with Q = MᵀM, a = u0ᵀQu0,
    b = ‖(I − u0u0ᵀ)Qu0‖ and λ = λ_max(Q): uᵀQu ≤ a cos²φ + 2b sin φ cos φ + λ sin²φ, maximised
    over [0, r] in closed form."""
    B, dm1 = lo.shape
    d = dm1 + 1
    corners = np.array(np.meshgrid(*[[0, 1]] * dm1, indexing="ij")).reshape(dm1, -1).T  # 2^(d−1)×(d−1)

    def to_dirs(P):  # P: B×k×(d−1) points on the faces → B×k×d unit directions
        out = np.empty(P.shape[:2] + (d,))
        for k0 in range(d):
            m = axis == k0
            if m.any():
                others = [t for t in range(d) if t != k0]
                sub = np.empty((int(m.sum()), P.shape[1], d))
                sub[:, :, k0] = sign[m][:, None]
                sub[:, :, others] = P[m]
                out[m] = sub
        return out / np.linalg.norm(out, axis=2, keepdims=True)

    centre = to_dirs(0.5 * (lo + hi)[:, None, :])[:, 0, :]  # B×d
    corner_pts = np.where(corners[None, :, :] == 0, lo[:, None, :], hi[:, None, :])
    cdirs = to_dirs(corner_pts)  # B×2^(d−1)×d
    r = 2.0 * np.arctan2(np.linalg.norm(cdirs - centre[:, None, :], axis=2),
                         np.linalg.norm(cdirs + centre[:, None, :], axis=2)).max(axis=1)
    r = r * (1.0 + 1e-10) + 1e-12  # rounding margin on angles
    xhat = X / np.maximum(xn, 1e-300)[:, None]
    # angles from cosines: c = x̂ᵀu0 is accurate to δ = 8(d + 2)ε absolutely, so arccos(c) is
    # accurate to √(2δ) (its worst case, at c = ±1); that is the angle margin
    alpha = np.arccos(np.clip(centre @ xhat.T, -1.0, 1.0))  # B×n
    alpha_margin = np.sqrt(2.0 * 8.0 * (d + 2) * _EPS) + 1e-12
    z_hi = np.cos(np.clip(alpha - r[:, None] - alpha_margin, 0.0, np.pi))
    z_lo = np.cos(np.clip(alpha + r[:, None] + alpha_margin, 0.0, np.pi))
    zero_x = xn == 0
    lin = (z_lo >= 0) & ~zero_x
    cut = (z_lo < 0) & (z_hi > 0) & ~zero_x
    theta = np.where(cut, z_hi / np.where(cut, z_hi - z_lo, 1.0), 0.0)
    w = np.where(lin, 1.0, theta)
    rem = (np.where(cut, theta * -z_lo, 0.0) * xn[None, :]) @ gn
    M = (w @ K).reshape(B, G.shape[1], d)
    Q = np.einsum("bci,bcj->bij", M, M)
    Qu = np.einsum("bij,bj->bi", Q, centre)
    a = np.einsum("bi,bi->b", centre, Qu)
    b = np.linalg.norm(Qu - a[:, None] * centre, axis=1)
    lam = np.linalg.eigvalsh(Q)[:, -1]
    lam = np.maximum(lam, a) + 1e-12 * np.einsum("bii->b", Q)  # eigensolver margin
    A, Bc = 0.5 * (a + lam), 0.5 * (a - lam)  # h(φ) = A + Bc cos 2φ + b sin 2φ, Bc ≤ 0
    phi_star = np.arctan2(b, Bc)  # in [π/2, π]: h grows on [0, φ*]
    h = np.where(phi_star <= 2.0 * r, A + np.hypot(Bc, b), A + Bc * np.cos(2.0 * r) + b * np.sin(2.0 * r))
    ub = np.sqrt(np.maximum(h, 0.0)) + rem
    return ub * (1.0 + 1e-11) + 1e-300, centre


def sigma_upper_bound(X, G, *, seeds=None, rtol: float = 1e-6, time_limit: float = 60.0,
                      max_cells: int = 20_000_000, batch: int = 1024, enough: float | None = None,
                      callback=None):
    """(σ̄, σ_low, info): an upper bound σ̄ on σ(Γ) = max_{‖u‖=1} ‖Γᵀ(Xu)₊‖ by best-first branch
    and bound over boxes on the faces of the cube [−1, 1]^d (children: each side halved), and the
    best value found, σ_low ≤ σ. Stops when σ̄ ≤ (1 + rtol)·σ_low, at ``time_limit`` seconds or
    after ``max_cells`` cells; σ̄ is valid whenever it stops (the largest bound of the cells left
    and of those dropped). ``seeds`` (d×k directions) only raise σ_low sooner; with ``enough`` it
    also stops as soon as σ̄ ≤ ``enough`` (all a caller that needs σ ≤ enough must know).
    ``callback`` gets a dict (iteration, value = σ̄ so far, lower_bound = σ_low, cells, time_s)
    after every batch. Ctrl-C stops the search with status 'interrupted' and a σ̄ that counts the
    cells being split, so it stays valid; so does status 'memory', when the live cells would take
    more than half the memory an estimate may ask for."""
    import heapq
    import time

    t0 = time.perf_counter()
    n, d = X.shape
    if d > SIGMA_MAX_DIM:
        raise DataError(f"the verifier's branch and bound over the sphere splits each cell into 2^(d−1) "
                        f"children and is offered for d ≤ {SIGMA_MAX_DIM} columns; this design has d = {d}.")
    xn = np.linalg.norm(X, axis=1)
    gn = np.linalg.norm(G, axis=1)
    if d == 1:  # the sphere is {−1, +1}
        vals = np.linalg.norm(G.T @ np.maximum(np.hstack([X, -X]), 0.0), axis=0)
        top = float(vals.max())
        return top * (1.0 + 16.0 * _gamma(n + 2)), top, {"cells": 2, "status": "exact", "time_s": 0.0}
    probe = [np.eye(d), -np.eye(d), (X / np.maximum(xn, 1e-300)[:, None]).T]
    if seeds is not None and np.size(seeds):
        probe.append(np.asarray(seeds, dtype=np.float64).reshape(d, -1))
    vals, dirs = _sigma_at(X, G, np.hstack(probe))
    low = float(vals.max())
    K = np.einsum("ic,id->icd", G, X).reshape(n, -1)
    # the 2d faces, each split once per side to start from caps of moderate radius
    axis, sign, lo, hi = [], [], [], []
    edges = [(-1.0, 0.0), (0.0, 1.0)]
    for k in range(d):
        for sg in (-1.0, 1.0):
            for combo in np.array(np.meshgrid(*[[0, 1]] * (d - 1), indexing="ij")).reshape(d - 1, -1).T:
                axis.append(k)
                sign.append(sg)
                lo.append([edges[c][0] for c in combo])
                hi.append([edges[c][1] for c in combo])
    axis, sign, lo, hi = np.array(axis), np.array(sign), np.array(lo, dtype=float), np.array(hi, dtype=float)
    ub, centre = _cell_bounds(X, G, K, xn, gn, axis, sign, lo, hi)
    low = max(low, float(_sigma_at(X, G, centre.T)[0].max()))
    heap = [(-float(u), i) for i, u in enumerate(ub)]
    heapq.heapify(heap)
    from ._validation import MEMORY_FRACTION, available_memory_bytes

    cell_budget = 0.5 * MEMORY_FRACTION * available_memory_bytes()
    store = {i: (axis[i], sign[i], lo[i], hi[i]) for i in range(len(ub))}
    next_id, cells, dropped, status = len(ub), len(ub), 0.0, "optimal"
    kids = np.array(np.meshgrid(*[[0, 1]] * (d - 1), indexing="ij")).reshape(d - 1, -1).T
    inflight, iteration = 0.0, 0  # the largest bound among cells popped and not yet replaced
    try:
        while heap:
            top = -heap[0][0]
            if top <= (1.0 + rtol) * low:
                break
            if enough is not None and max(top, dropped) <= enough:
                status = "enough"
                break
            if time.perf_counter() - t0 >= time_limit:
                status = "time_limit"
                break
            if cells >= max_cells:
                status = "max_cells"
                break
            if len(store) * _CELL_BYTES > cell_budget:  # the live cells would outgrow the memory
                status = "memory"
                break
            inflight = top  # ≥ every bound popped below, until their children are in the heap
            take = [heapq.heappop(heap) for _ in range(min(batch, len(heap)))]
            pb = np.array([-v for v, _ in take])
            parents = [store.pop(i) for _, i in take]
            ax = np.repeat([p[0] for p in parents], len(kids))
            sg = np.repeat([p[1] for p in parents], len(kids))
            plo = np.repeat(np.array([p[2] for p in parents]), len(kids), axis=0)
            phi = np.repeat(np.array([p[3] for p in parents]), len(kids), axis=0)
            mid = 0.5 * (plo + phi)
            kk = np.tile(kids, (len(parents), 1))
            clo = np.where(kk == 0, plo, mid)
            chi = np.where(kk == 0, mid, phi)
            cub, ccen = _cell_bounds(X, G, K, xn, gn, ax, sg, clo, chi)
            cub = np.minimum(cub, np.repeat(pb, len(kids)))  # a child lies inside its parent
            low = max(low, float(_sigma_at(X, G, ccen.T)[0].max()))
            keep = cub > (1.0 + rtol) * low
            if np.any(~keep):
                dropped = max(dropped, float(cub[~keep].max()))
            for j in np.flatnonzero(keep):
                store[next_id] = (ax[j], sg[j], clo[j], chi[j])
                heapq.heappush(heap, (-float(cub[j]), next_id))
                next_id += 1
            inflight = 0.0
            cells += cub.size
            iteration += 1
            if callback is not None:
                callback({"iteration": iteration, "value": max(dropped, -heap[0][0] if heap else 0.0, low),
                          "lower_bound": low, "cells": cells, "time_s": time.perf_counter() - t0})
    except KeyboardInterrupt:
        status = "interrupted"
    upper = max(dropped, -heap[0][0] if heap else 0.0, low, inflight)
    return upper, low, {"cells": int(cells), "status": status, "time_s": time.perf_counter() - t0}


# ---------------------------------------------------------------------------------------------
# σ exactly, by enumerating the faces of the hyperplane arrangement (small designs)
# ---------------------------------------------------------------------------------------------

#: the most faces :func:`sigma_by_faces` visits; beyond, σ is left to the branch and bound
FACES_MAX = 200_000_000
#: rows whose unit directions differ by less are one hyperplane (the difference is paid for)
_MERGE_TOL = 1e-7
#: more hyperplanes than this through one vertex: the enumeration gives way to the branch and bound
_MAX_THROUGH = 8
#: singular values of unit normals below this count as zero; a set with one is checked in exact
#: arithmetic, and where its exact rank is larger the face's span is taken too large (counted,
#: never skipped)
_RANK_CLEAR = 1e-8
#: subsets of d − 1 unit normals whose cofactor vector is shorter are treated in exact arithmetic
_ILL_POSED = 1e-8
#: exact-arithmetic checks one enumeration may make before it gives way
_EXACT_BUDGET = 50_000
#: vertices where at least this many hyperplanes meet: their faces by a quotient level, not 3^k patterns
_QUOTIENT_MIN = 7
#: the slice order (:func:`_claims`): its seed, the relative size of φᵀy_j below which both sides
#: are taken, and |aᵀv| below which a vertex takes every face around it
_SLICE_SEED = 1_000_003
_SLICE_TIE = 1e-8
_SLICE_NEAR = 1e-6
#: seconds per face the enumeration is expected to need (Iris with a bias: 46.6·10⁶ faces in 53.1 s on
#: two cores, 1.1·10⁻⁶ per face, one-off, 2026-12-07; twice that leaves room for a slower machine);
#: larger arrangements than the time limit allows go to the branch and bound at once
_FACE_SECONDS = 2.5e-6


def _row_space(X, G):
    """None when X has full column rank (smallest singular value above 1e-8 of the largest);
    else (X', pay, qn) with X' = fl(XQ) in an orthonormal basis Q (d × r) of the numerical row
    space, such that σ(X, G) ≤ qn·σ(X', G) + pay: for unit u and z = Qᵀu, ‖z‖ ≤ qn and
    |x_i·u − x'_i·z| ≤ ‖x_i − Qx'_i‖ =: δ_i, so f(u) ≤ f'(z) + Σ‖g_i‖δ_i (δ_i with its rounding)."""
    n, d = X.shape
    if n == 0:
        return None
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    if s.size == d and s[-1] >= 1e-8 * s[0]:
        return None
    r = int(np.sum(s >= 1e-8 * s[0]))
    if r == 0:
        return None
    Q = Vt[:r].T
    Xr = X @ Q
    back = Xr @ Q.T
    xn = np.linalg.norm(X, axis=1)
    delta = np.linalg.norm(X - back, axis=1) + 8.0 * (d + r + 4) * _EPS * (xn + np.linalg.norm(Xr, axis=1))
    pay = float(np.sum(np.linalg.norm(G, axis=1) * delta)) * (1.0 + 1e-9)
    E = Q.T @ Q - np.eye(r)
    qn = float(np.sqrt(1.0 + float(np.linalg.norm(E)) + 4.0 * (d + 2) * _EPS * r))
    return Xr, pay, qn


def _hyperplanes(X, G, deadline=None):
    """The design's distinct hyperplanes: (H, Hn, P, M, margin). H holds one row of X as given
    per hyperplane (so its arrangement is X's, exactly, and exact-arithmetic checks see the data),
    Hn the same rows normalised (for numerical decisions only); P_k = ĝ⁺_k H_kᵀ and
    M_k = −ĝ⁻_k H_kᵀ (flattened to c·d) act on the sides H_k·u > 0 and < 0, so that
    f_H(u) = ‖Σ_k [H_k·u > 0]P_k u + [H_k·u < 0]M_k u‖ is f itself where no rows merged. Rows whose
    unit directions agree (or are opposite) to _MERGE_TOL join one hyperplane, with their weights
    rescaled to its row; then |f(u) − f_H(u)| ≤ margin for every unit u, margin summing
    ‖g_i‖‖x_i‖ times the directions' distance (plus rounding) over the merged rows."""
    norms = np.linalg.norm(X, axis=1)
    rows = np.flatnonzero(norms > 0)
    xh = X[rows] / norms[rows, None]
    m, d = xh.shape
    c = G.shape[1]
    group = np.full(m, -1)
    reps, gplus, gminus, margin = [], [], [], 0.0
    for i in range(m):
        if group[i] >= 0:
            continue
        if deadline is not None and i % 256 == 0 and time.perf_counter() > deadline:
            return None
        dp = np.linalg.norm(xh - xh[i], axis=1)
        dm = np.linalg.norm(xh + xh[i], axis=1)
        same = (dp <= _MERGE_TOL) & (group < 0)
        opp = (dm <= _MERGE_TOL) & (group < 0) & ~same
        group[same | opp] = len(reps)
        reps.append(rows[i])
        gp, gm = np.zeros(c), np.zeros(c)
        for j, side in [(j, 1) for j in np.flatnonzero(same)] + [(j, -1) for j in np.flatnonzero(opp)]:
            gj = G[rows[j]]
            if j == i:
                gp = gp + gj  # the row itself: its weight exactly
                continue
            w = gj * (norms[rows[j]] / norms[rows[i]])
            if side > 0:
                gp = gp + w
            else:
                gm = gm + w
            dist = dp[j] if side > 0 else dm[j]
            # the directions' distance and the rescaling's rounding
            margin += float(np.linalg.norm(gj)) * norms[rows[j]] * (dist + 8.0 * (d + 4) * _EPS)
        members = np.flatnonzero(same | opp)
        if members.size > 1:  # the group sums' rounding: at most (size)·ε of the members' weights
            margin += 2.0 * members.size * _EPS * float(np.sum(np.linalg.norm(G[rows[members]], axis=1)
                                                               * norms[rows[members]]))
        gplus.append(gp)
        gminus.append(gm)
    H = X[np.array(reps, dtype=np.int64)].reshape(-1, d)
    Hn = H / np.linalg.norm(H, axis=1, keepdims=True)
    P = np.einsum("kc,kd->kcd", np.array(gplus).reshape(-1, c), H).reshape(len(H), c * d)
    M = -np.einsum("kc,kd->kcd", np.array(gminus).reshape(-1, c), H).reshape(len(H), c * d)
    return H, Hn, P, M, margin * (1.0 + 1e-9)


def _exact_null_basis(A):
    """(rank, basis) of a small matrix A of doubles in exact rational arithmetic (every double is a
    rational number): Gauss–Jordan elimination gives a basis of the null space, and Gram–Schmidt
    without square roots makes it orthogonal; the basis vectors are lists of Fractions."""
    from fractions import Fraction

    A = np.asarray(A, dtype=np.float64)
    d = A.shape[1]
    rows = [[Fraction(float(x)) for x in row] for row in A]
    pivots, r = [], 0
    for col in range(d):
        piv = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if piv is None:
            continue
        rows[r], rows[piv] = rows[piv], rows[r]
        p = rows[r][col]
        rows[r] = [a / p for a in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                f = rows[i][col]
                rows[i] = [a - f * b for a, b in zip(rows[i], rows[r])]
        pivots.append(col)
        r += 1
    basis = []
    for free in (j for j in range(d) if j not in pivots):
        vec = [Fraction(0)] * d
        vec[free] = Fraction(1)
        for i, col in enumerate(pivots):
            vec[col] = -rows[i][free]
        for b in basis:  # orthogonal to the earlier ones, exactly
            f = sum(x * y for x, y in zip(vec, b)) / sum(y * y for y in b)
            vec = [x - f * y for x, y in zip(vec, b)]
        basis.append(vec)
    return r, basis


def _rounded_unit(vec) -> np.ndarray:
    """An exact rational vector rounded once (after scaling by its largest entry) and normalised."""
    big = max(abs(x) for x in vec)
    v = np.array([float(x / big) for x in vec])
    return v / np.linalg.norm(v)


def _exact_null(A):
    """(rank, N): :func:`_exact_null_basis` with each vector rounded once and normalised, so
    N (d × (d − rank)) is orthonormal and spans the exact null space to rounding."""
    r, basis = _exact_null_basis(A)
    N = np.zeros((np.shape(A)[1], len(basis)))
    for k, vec in enumerate(basis):
        N[:, k] = _rounded_unit(vec)
    return r, N


def _exact_rank(A) -> int:
    """The rank of a small matrix of doubles in exact rational arithmetic."""
    return _exact_null_basis(A)[0]


def _exact_vertex(A, H):
    """For d − 1 rows A of doubles: None if they are exactly dependent, else (v, through) with v the
    unit float direction of their exact null vector (rounded once) and ``through`` the rows of H
    exactly orthogonal to it."""
    from fractions import Fraction

    rank, basis = _exact_null_basis(A)
    if rank < np.shape(A)[0]:
        return None
    vec = basis[0]
    through = [i for i, row in enumerate(np.asarray(H, dtype=np.float64))
               if sum(Fraction(float(a)) * b for a, b in zip(row, vec)) == 0]
    return _rounded_unit(vec), through


def _null_bases(Hn, H, K, mask, cache):
    """Orthonormal bases of null(H[K_v, mask]) for a batch of vertices (K (V, k), mask of the zero
    rows): a list of (rows of the batch, N (len, d, d − rank), bound on the span's angle error,
    numerically sound?) per rank. Singular values of the unit normals below _RANK_CLEAR count as
    zero; where there is such a one, the null space is computed in exact rational arithmetic on
    the rows as given instead (:func:`_exact_null`, cached per set of rows), so every span is the
    exact one to rounding."""
    V = K.shape[0]
    d = Hn.shape[1]
    sub = np.sort(K[:, mask], axis=1)
    k = sub.shape[1]
    if k == 0:
        return [(np.arange(V), np.broadcast_to(np.eye(d), (V, d, d)), np.zeros(V))]
    table = cache.get(("svd", k))
    if table is not None:  # the same subsets of rows meet at many vertices: their SVDs, once
        idx = _subset_rank(sub, Hn.shape[0], cache.get("comb"))
        s, Vt = table[0][idx], table[1][idx]
    else:
        _, s, Vt = np.linalg.svd(Hn[sub], full_matrices=True)
    rank = np.sum(s >= _RANK_CLEAR, axis=1)
    # the span's angle error: ≤ 100dε/s_min from the SVD, ≤ 100dε from the exact route
    angle = 100.0 * d * _EPS / np.where(rank > 0, s[np.arange(V), np.maximum(rank - 1, 0)], 1.0)
    N_all = {}
    # (numerically) dependent zero sets: exactly, instead — unless their rows clearly span d − 1
    # dimensions: the exact null space is then a ray within the SVD's angle of its last vector
    # (exact rank d − 1, Wedin's bound as for independent rows) or nothing (exact rank d: no
    # face, and bounding a ray there only adds a value f attains); most dependent sets are those,
    # five rows nearly through one vertex
    for i in np.flatnonzero((rank < k) & (rank != d - 1)):
        key = tuple(sorted(sub[i]))
        # (under the enumeration's lock: slices run on threads, and each set is counted and
        # decomposed once, whatever the threads)
        with cache.get("lock", contextlib.nullcontext()):
            if key not in cache:
                if cache["checks"] >= _EXACT_BUDGET:
                    return None
                cache["checks"] += 1
                cache[key] = _exact_null(H[list(key)])
        rank[i], N_all[i] = cache[key]
        angle[i] = 100.0 * d * _EPS
    out = []
    for r in np.unique(rank):
        rows = np.flatnonzero(rank == r)
        N = np.transpose(Vt[rows, r:, :], (0, 2, 1)).copy()
        for i, Ni in N_all.items():
            if rank[i] == r:
                N[np.searchsorted(rows, i)] = Ni
        out.append((rows, N, angle[rows]))
    return out


#: subsets of rows whose SVDs are tabulated once per enumeration (:func:`_svd_tables`): at most this many
_SVD_TABLE = 300_000


def _binomials(h, k):
    """C(x, i) for x < h, i ≤ k (h × (k + 1), int64)."""
    import math

    return np.array([[math.comb(x, i) for i in range(k + 1)] for x in range(h)], dtype=np.int64)


def _subset_rank(sub, h, comb=None):
    """Positions of the sorted k-subsets ``sub`` (V × k) of range(h) in the lexicographic order of
    itertools.combinations: C(h, k) − 1 minus the colexicographic rank Σ_i C(b_i, i) of the
    complemented subset b = h − 1 − (reversed sub). ``comb``: :func:`_binomials` (h, ≥ k), if at hand."""
    import math

    V, k = sub.shape
    b = (h - 1 - sub)[:, ::-1]
    if comb is None or comb.shape[1] <= k:
        comb = _binomials(h, k)
    return math.comb(h, k) - 1 - np.sum(comb[b, np.arange(1, k + 1)], axis=1)


def _svd_tables(Hn, cache):
    """The SVDs of the unit normals of every subset of k ≤ d − 2 rows, in ``cache`` (where there are
    at most _SVD_TABLE subsets): a face's span is the null space of its zero rows, and a subset of
    rows is the zero set of faces around many vertices (on Iris with a bias each set of 3 of the 75 rows
    at the 72 vertices of 4 that hold it), which :func:`_null_bases` otherwise decomposed again at each."""
    import itertools
    import math

    h, d = Hn.shape
    cache["comb"] = _binomials(h, d)  # for :func:`_subset_rank`, computed once
    for k in range(1, d - 1):
        if math.comb(h, k) > _SVD_TABLE:
            break
        rows = np.array(list(itertools.combinations(range(h), k)), dtype=np.int64).reshape(-1, k)
        _, s, Vt = np.linalg.svd(Hn[rows], full_matrices=True)
        cache[("svd", k)] = (s, Vt)


def _face_bounds(H, Hn, P, M, K, v, patterns, c, floor, W, cache, fixed=None, claimed=None):
    """For vertices v (V, d), the hyperplanes K (V, k) through each and the sign patterns
    (n_p, k) ∈ {−1, 0, 1}^k on K, at v and at −v: per face an upper bound on the top eigenvalue of
    its quadratic form compressed to its span, or −inf where the face needs no count — its bound
    is at most ``floor`` (a value of f² already attained), or it is *skippable*: its top
    eigenvalue clearly separated, and both signs of its top eigenvector clearly break the
    face's signs, so no maximiser of f lies inside it. Also (best λ, its unit vector) over the
    faces whose top eigenvector keeps their signs (candidates for the lower bound). None when the
    exact checks run out (:func:`_null_bases`). Rows where ``fixed`` (h) is nonzero keep that sign at
    both v and −v (a quotient level's vertices stand for faces around the vertex it came from);
    ``claimed`` (V, n_p), if given, names the (vertex, pattern) pairs to bound, for both signs of
    the vertex (:func:`_claims`); the others are left at −inf."""
    V, d = v.shape
    n_p = patterns.shape[0]
    keys = {}
    for j in range(n_p):
        keys.setdefault((patterns[j] == 0).tobytes(), []).append(j)
    spans = {}  # the faces' spans depend on the zero set only: shared by v and −v
    for key in keys:
        spans[key] = _null_bases(Hn, H, K, np.frombuffer(key, dtype=bool), cache)
        if spans[key] is None:
            return None
    plus, minus = (patterns == 1).astype(float), (patterns == -1).astype(float)
    # the (vertex, pattern) pairs to bound, per zero set and rank, with their patterns' part of
    # the forms (shared by v and −v): only the claimed pairs, 2^(d−1) of the 3^(d−1) patterns
    jobs = []
    for key, js in keys.items():
        js = np.array(js)
        for rows, N, angle in spans[key]:
            if N.shape[2] == 0:  # only the origin: no face
                continue
            if claimed is None:
                pr, pj = np.divmod(np.arange(rows.size * js.size), js.size)
            else:
                pr, pj = np.nonzero(claimed[np.ix_(rows, js)])
            if pr.size == 0:
                continue
            vr, jp = rows[pr], js[pj]
            around = (np.einsum("lk,lkx->lx", plus[jp], P[K[vr]])
                      + np.einsum("lk,lkx->lx", minus[jp], M[K[vr]]))  # (L, c·d)
            jobs.append((vr, jp, N[pr], angle[pr], around))
    # one job per span dimension: fewer, larger batches for the numpy calls of each
    by_dim = {}
    for job in jobs:
        by_dim.setdefault(job[2].shape[2], []).append(job)
    jobs = [same[0] if len(same) == 1 else tuple(np.concatenate([job[i] for job in same]) for i in range(5))
            for same in by_dim.values()]
    counted = np.full((2, V, n_p), -np.inf)
    best = (-np.inf, None)
    for side, sg in enumerate((1.0, -1.0)):
        sign_v = np.sign(sg * (v @ Hn.T)).astype(np.int8)  # (V, h)
        if fixed is not None:
            sign_v[:, fixed != 0] = fixed[fixed != 0]
        sign_v[np.arange(V)[:, None], K] = 0.0  # the hyperplanes through v take the pattern's sign
        base = (sign_v > 0) @ P + (sign_v < 0) @ M  # (V, c·d): the rows off the vertex
        best = _count_faces(Hn, K, patterns, jobs, sign_v, base, c, floor, W, counted[side], best)
    return counted, best


#: hyperplanes that each face's eigenvector is checked against first (:func:`_count_faces`)
_PRE_ROWS = 16


def _count_faces(Hn, K, patterns, jobs, sign_v, base, c, floor, W, counted, best):
    """The work of :func:`_face_bounds` for one side (v or −v): fills ``counted``, returns the
    best (λ, u) among faces whose top eigenvector keeps their signs."""
    d = Hn.shape[1]
    h = Hn.shape[0]
    sub = np.unique(np.linspace(0, h - 1, _PRE_ROWS).astype(np.intp)) if h > _PRE_ROWS else None
    for vr, jp, N, angle, around in jobs:  # vertices, patterns, spans, their angle errors, the patterns' forms
        dim = N.shape[2]
        A = (base[vr] + around).reshape(len(vr), c, d) @ N  # (L, c, dim)
        if c < dim:  # the same nonzero eigenvalues from the smaller c × c Gram matrix A Aᵀ
            w, vl = np.linalg.eigh(A @ np.swapaxes(A, -1, -2))
            vtop = np.einsum("rcm,rc->rm", A, vl[:, :, -1])  # Aᵀ w₁ = √λ₁ times the top eigenvector
            vtop /= np.maximum(np.linalg.norm(vtop, axis=1, keepdims=True), 1e-300)
        else:
            w, vecs = np.linalg.eigh(np.swapaxes(A, -1, -2) @ A)  # (L, dim), (L, dim, dim)
            vtop = vecs[:, :, -1]
        top = w[:, -1]
        fro = np.sqrt(np.sum(A * A, axis=(-1, -2)))
        # rounding: the forms' sums (≤ (h + d + 4)ε·W, W = Σ‖P_k‖ + ‖M_k‖), the products and
        # the eigensolver, and the span's angle (:func:`_null_bases`) — as λ ≤ (‖A‖ + ‖E‖)²
        e = (h + d + 4) * _EPS * W + 16.0 * (c + d + 2) * _EPS * fro + fro * angle
        err = 2.0 * fro * e + e * e
        ub = top + err
        look = np.flatnonzero(ub > floor)
        if look.size == 0:
            continue
        u = np.einsum("rdk,rk->rd", N[look], vtop[look])  # (L, d) top eigenvectors
        gap = top[look] - (w[look, -2] if w.shape[1] > 1 else 0.0)
        delta = 1e-10 + 10.0 * err[look] / np.maximum(gap, 1e-300) + 10.0 * angle[look]
        separated = gap > 1e-10 * np.abs(top[look])
        if sub is not None:
            # most eigenvectors break a few hyperplanes by far: a spread subset of them, with
            # the hyperplanes through the vertex left free (a weaker test, as sound: a face
            # broken on a subset is broken), settles those before the check on all h
            # (hyperplanes × faces, so that the minima run along contiguous rows: several times
            # faster than along rows of 16)
            S = np.multiply(sign_v[vr[look]][:, sub].T, Hn[sub] @ u.T, order="C")
            out = separated & (np.min(S, axis=0) < -delta) & (np.max(S, axis=0) > delta)
            rest = np.flatnonzero(~out)
            look, u, delta, separated = look[rest], u[rest], delta[rest], separated[rest]
        rv, rj = vr[look], jp[look]
        req = np.array(sign_v[rv])  # (L, h): the face's signs
        req[np.arange(look.size)[:, None], K[rv]] = patterns[rj]
        zu = u @ Hn.T
        keep_p = np.min(req * zu, axis=1) if h else np.zeros(look.size)
        keep_m = np.min(-req * zu, axis=1) if h else np.zeros(look.size)
        skip = separated & (keep_p < -delta) & (keep_m < -delta)
        counted[rv[~skip], rj[~skip]] = ub[look[~skip]]
        inside = np.maximum(keep_p, keep_m) >= 0.0
        if np.any(inside):
            t = int(np.argmax(np.where(inside, top[look], -np.inf)))
            if top[look[t]] > best[0]:
                best = (float(top[look[t]]), u[t] if keep_p[t] >= 0 else -u[t])
    return best


def _claims(Hn, K, E, a, phi, v):
    """Which faces around the vertices v (V, d) of a level (extra rows E: the level's space is
    their orthogonal complement) each vertex takes, for the slice aᵀu = ±1 and the order φ: the
    edge y_j of the slice leaving v along hyperplane K_j (Hn_K y_j = e_j, E y_j = 0, aᵀy_j = 0), the
    side g_j = sign(φᵀy_j) along which φ grows, and where both sides are taken (near ties, and
    vertices near aᵀu = 0, which take every face). See :func:`sigma_by_faces`."""
    V, d = v.shape
    m = K.shape[1]
    Mx = np.concatenate([Hn[K], np.broadcast_to(E, (V,) + E.shape), np.broadcast_to(a, (V, 1, d))], axis=1)
    near = np.abs(v @ a) <= _SLICE_NEAR
    Mx[near] = np.eye(d)
    Y = np.linalg.inv(Mx)[:, :, :m]
    dots = np.einsum("d,vdj->vj", phi, Y)
    # the inverse is backward stable: its error in y_j is about dε·cond(Mx)·‖y_j‖ ≤ dε‖Mx‖‖Y‖·‖y_j‖
    size = np.sqrt(np.sum(Mx * Mx, axis=(1, 2)) * np.sum(Y * Y, axis=(1, 2)))
    tie = np.abs(dots) <= _SLICE_TIE * np.linalg.norm(Y, axis=1) * (1.0 + size[:, None])
    return np.sign(dots), tie | near[:, None]


def _level_vertices(H, Hn, S, E, deadline, cache):
    """The vertices of the arrangement of the rows S restricted to E⊥ (E: extra rows, the level's
    space is their orthogonal complement): subsets of d − 1 − len(E) rows of S whose hyperplanes
    meet E⊥ in a ray. Returns ((K, v) of the vertices where exactly those meet, {rows through:
    vertex} of the others) or None (time, or the exact checks ran out); nearly dependent subsets
    are settled in exact rational arithmetic on the rows as given (E's rows are doubles, exact too)."""
    import itertools
    import time

    d = Hn.shape[1]
    m = d - 1 - len(E)
    Sset = np.asarray(S, dtype=np.int64)
    Ks, vs, degenerate = [], [], {}
    it = itertools.combinations(Sset.tolist(), m)
    while True:
        Sub = np.fromiter(itertools.chain.from_iterable(itertools.islice(it, 20_000)), dtype=np.int64)
        if Sub.size == 0:
            break
        if time.perf_counter() > deadline:
            return None
        Sub = Sub.reshape(-1, m)
        A = np.concatenate([Hn[Sub], np.broadcast_to(E, (len(Sub),) + E.shape)], axis=1)
        cof = np.stack([(-1) ** j * np.linalg.det(np.delete(A, j, axis=2)) for j in range(d)], axis=1)
        r = np.linalg.norm(cof, axis=1)
        ill = r < _ILL_POSED
        for i in np.flatnonzero(ill):  # settled exactly: dependent (no vertex) or an exact vertex
            if cache["checks"] >= _EXACT_BUDGET or time.perf_counter() > deadline:
                return None
            cache["checks"] += 1
            ex = _exact_vertex(np.vstack([H[Sub[i]], E]), H)
            if ex is None:
                continue
            vx, exact_through = ex
            near = Sset[np.abs(Hn[Sset] @ vx) <= 1e-9]
            K = np.union1d(np.intersect1d(exact_through, Sset), near).astype(np.int64)
            degenerate.setdefault(tuple(K), vx)
        Sub, cof, r = Sub[~ill], cof[~ill], r[~ill]
        v = cof / r[:, None]
        z = v @ Hn[Sset].T
        tau = 1e-11 + 200.0 * d * _EPS / r
        through = np.abs(z) <= tau[:, None]
        plain = through.sum(axis=1) == m
        Ks.append(Sub[plain])
        vs.append(v[plain])
        for i in np.flatnonzero(~plain):  # met by more rows: once, every pattern, both signs
            degenerate.setdefault(tuple(Sset[through[i]]), v[i])
    K = np.concatenate(Ks) if Ks else np.zeros((0, m), dtype=np.int64)
    v = np.concatenate(vs) if vs else np.zeros((0, d))
    return (K, v), degenerate


def _faces_estimate(h: int, d: int) -> int:
    """Faces :func:`sigma_by_faces` bounds with h hyperplanes in general position: 2^(k−1) around each
    of the 2·C(h, k − 1) vertices of its levels k = d, …, 3, and 3 around those of the circle k = 2."""
    import math

    total = 2 * h * 3
    for k in range(3, d + 1):
        total += 2 * math.comb(h, k - 1) * 2 ** (k - 1)
    return total


def _around_vertex(Hn, S, E, fixed, K, v, k, groups):
    """The faces around a degenerate vertex v of a level (rows S on E⊥, ``fixed`` the signs of the
    others) where the rows K meet: with fewer than _QUOTIENT_MIN, every sign pattern of K (a group
    appended to ``groups``); else, for each of ±v, a quotient level — the rows K on (E, v)⊥, every
    other row of S with its sign at that ray (returned) — and the ray itself (all of K zero).
    None where the patterns would be too many (the branch and bound decides)."""
    h, d = Hn.shape
    if len(K) < _QUOTIENT_MIN or k < 3:
        if len(K) > _MAX_THROUGH:
            return None
        groups.append((K[None, :], v[None, :], _patterns_all(len(K)), fixed, None))
        return []
    levels = []
    for w in (v, -v):
        fx = np.zeros(h) if fixed is None else fixed.copy()
        rest = np.setdiff1d(S, K)
        fx[rest] = np.sign(Hn[rest] @ w)
        levels.append((np.vstack([E, w]), K, fx))
    # the rays ±v themselves: every row of K zero, the others with their signs there
    groups.append((K[None, :], v[None, :], np.zeros((1, len(K)), dtype=np.int64), fixed, None))
    return levels


def _batched(groups):
    """The groups with every pattern of their rows (degenerate vertices, one group each, and the
    rays of quotient levels) merged where they share the number of rows, the patterns and the
    fixed signs, so that they are bounded in batches: one by one, their many small eigenvalue
    problems cost more than the level's own faces (Iris with a bias: hundreds of such vertices)."""
    merged, out = {}, []
    for g in groups:
        Kg, vg, pt, fx, cl = g
        if cl is not None:
            out.append(g)
            continue
        key = (Kg.shape[1], pt.tobytes(), None if fx is None else fx.tobytes())
        merged.setdefault(key, []).append(g)
    for gs in merged.values():
        out.append((np.vstack([g[0] for g in gs]), np.vstack([g[1] for g in gs]), gs[0][2], gs[0][3], None))
    return out


def _patterns_all(k):
    """All 3^k sign patterns (−1, 0, 1) on k hyperplanes."""
    import itertools

    return np.array(list(itertools.product((-1, 0, 1), repeat=k)), dtype=np.int64).reshape(-1, k)


def sigma_by_faces(X, G, *, time_limit: float = 60.0, max_faces: int | None = None, callback=None):
    """(σ̄, σ_low, info) with σ(Γ) = max_{‖u‖=1} ‖Γᵀ(Xu)₊‖ ≤ σ̄ by enumerating the arrangement's
    faces, or None where it does not apply (fewer than 2 or more than SIGMA_MAX_DIM columns, rank
    below d, more than ``max_faces`` (default :data:`FACES_MAX`) faces or an expected time
    (_FACE_SECONDS per face) beyond the time limit, more than _MAX_THROUGH hyperplanes through a
    vertex outside a quotient level, more than _EXACT_BUDGET exact checks, or the time limit), and
    the branch and bound is the way.

    Why it is exact (docs §4): a maximiser u* lies inside one face F (fixed signs of every H_k·u,
    zeros on a set Z), where f = ‖A_F u‖ is a quadratic form, so u* is a top eigenvector of A_F
    compressed to null(H_Z), within F. Every face has a vertex (a ray where d − 1 independent
    hyperplanes meet) in its closure, and around it is one of the 3^k sign patterns of the k
    hyperplanes through the vertex. So σ² is at most the largest λ_max over the faces that cannot
    be skipped, and a face whose top eigenvector (of either sign) lies clearly outside it can be;
    so can a face whose bound lies below f² at a point already evaluated (:func:`_face_bounds`).
    Vertices from nearly dependent normals, and ranks of nearly dependent zero sets, are settled
    in exact rational arithmetic on the rows as given.

    Each face is bounded once (docs §4, "each face once"): a face on one side of a generic
    hyperplane aᵀu = 0, cut by aᵀu = ±1, is a polytope whose vertices are arrangement vertices, and
    a generic φ is lowest at exactly one of them — the one where φ grows along every edge of the face
    leaving it (:func:`_claims`), so a vertex takes 2^(d−1) of its 3^(d−1) patterns. The faces
    that cross aᵀu = 0 are those of the arrangement on a⊥ (a *level*, extra rows E = [a]), walked
    the same way down to a circle. Around a vertex where at least _QUOTIENT_MIN hyperplanes meet,
    the faces are those of these hyperplanes on v⊥ (a quotient level, E = [v], the other rows with
    their signs at v), and the ray v itself."""
    import time

    t0 = time.perf_counter()
    X = np.asarray(X, dtype=np.float64)
    G = np.asarray(G, dtype=np.float64)
    if X.ndim != 2 or G.ndim != 2 or G.shape[0] != X.shape[0] or not (np.all(np.isfinite(X))
                                                                     and np.all(np.isfinite(G))):
        raise DataError(f"sigma_by_faces needs finite X (n × d) and G (n × c) with the same rows; got shapes "
                        f"{X.shape} and {G.shape}.")
    n, d = X.shape
    c = G.shape[1]
    max_faces = FACES_MAX if max_faces is None else max_faces
    if d < 2 or d > SIGMA_MAX_DIM:
        return None
    reduced = _row_space(X, G)
    if reduced is not None:  # rank r < d: σ of the data in r coordinates of the row space
        Xr, pay, qn = reduced
        if Xr.shape[1] == 1:
            vals = np.linalg.norm(G.T @ np.maximum(np.hstack([Xr, -Xr]), 0.0), axis=0)
            res = float(vals.max()) * (1.0 + 16.0 * _gamma(n + 2)), float(vals.max()), {
                "method": "faces", "status": "exact", "cells": 2, "degenerate_vertices": 0, "exact_checks": 0,
                "hyperplanes": 1, "time_s": 0.0}
        else:
            res = sigma_by_faces(Xr, G, time_limit=time_limit, max_faces=max_faces, callback=callback)
        if res is None:
            return None
        up, lo, info = res
        info = {**info, "row_space_rank": int(Xr.shape[1]), "time_s": time.perf_counter() - t0}
        return up * qn * (1.0 + 4.0 * _EPS) + pay, max(0.0, (lo - pay) / qn), info
    planes = _hyperplanes(X, G, deadline=t0 + time_limit)
    if planes is None:
        return None
    H, Hn, P, M, margin = planes
    h = len(H)
    if h < d:
        return None
    if _faces_estimate(h, d) > max_faces or _faces_estimate(h, d) * _FACE_SECONDS > time_limit:
        return None
    W = float(np.sum(np.linalg.norm(P, axis=1) + np.linalg.norm(M, axis=1)))
    cache = {"checks": 0, "lock": threading.Lock()}
    _svd_tables(Hn, cache)
    deadline = t0 + time_limit
    rng = np.random.default_rng(_SLICE_SEED)
    pats = {}

    def patterns(k):
        if k not in pats:
            pats[k] = _patterns_all(k)
        return pats[k]

    # Levels (E: extra rows, the level's space is E⊥; S: its rows; fixed: the signs of the others).
    # Groups: (K, v, patterns, fixed, claims) — faces around the vertices v, those claimed only.
    levels = [(np.zeros((0, d)), np.arange(h), None)]
    groups = []
    shared = {}  # degenerate vertices of the levels on all rows: the whole arrangement's faces around them
    n_degenerate = 0
    while levels or shared:
        if not levels:  # the levels on all rows are done: around their degenerate vertices (merged)
            for Kd, vd in shared.items():
                more = _around_vertex(Hn, np.arange(h), np.zeros((0, d)), None, np.array(Kd, dtype=np.int64),
                                      vd, d, groups)
                if more is None:
                    return None
                levels += more
            shared = {}
            continue
        E, S, fixed = levels.pop(0)
        k = d - len(E)  # the level's dimension
        found = _level_vertices(H, Hn, S, E, deadline, cache)
        if found is None:
            return None
        (K, v), degenerate = found
        if len(K) == 0 and not degenerate:
            return None  # a level without vertices (not expected): the branch and bound decides
        if len(K):
            if k >= 3:
                a, phi = rng.standard_normal((2, d))
                a, phi = a / np.linalg.norm(a), phi / np.linalg.norm(phi)
                g, free = _claims(Hn, K, E, a, phi, v)
                levels.append((np.vstack([E, a]), S, fixed))  # the faces that cross aᵀu = 0
            else:  # a circle: every face around every vertex (an arc is seen from both its ends)
                g, free = np.zeros(K.shape), np.ones(K.shape, bool)
            groups.append((K, v, patterns(K.shape[1]), fixed, (g, free)))
        n_degenerate += len(degenerate)
        if fixed is None:
            shared.update(degenerate)
            continue
        for Kd, vd in degenerate.items():
            more = _around_vertex(Hn, S, E, fixed, np.array(Kd, dtype=np.int64), vd, k, groups)
            if more is None:
                return None
            levels += more
    groups = _batched(groups)
    faces = 0
    for Kg, vg, pt, fx, cl in groups:
        if cl is None:
            faces += 2 * len(vg) * len(pt)
        else:
            g, free = cl
            faces += 2 * int(np.sum(np.prod(np.where(free, 3, 2), axis=1)))
    if faces > max_faces or not groups:
        return None
    # a floor attained by f (at the normals and at every vertex): faces bounded below it need no count
    # (the vertices of a level stand for directions of the sphere all the same)
    dirs = np.vstack([g[1] for g in groups] + [Hn])
    low = 0.0
    for a0 in range(0, len(dirs), 50_000):  # in slices: n × (vertices) values would be gigabytes
        vals, _ = _sigma_at(X, G, np.hstack([dirs[a0:a0 + 50_000].T, -dirs[a0:a0 + 50_000].T]))
        low = max(low, float(vals.max()))
    floor = low * low * (1.0 - 1e-9)
    top, done = floor, 0

    def bound(Kg, vg, pt, fx, cl, sl):  # one slice of a group's vertices
        claimed = None
        if cl is not None:
            g, free = cl[0][sl], cl[1][sl]
            claimed = np.all((pt[None, :, :] == 0) | (pt[None, :, :] == g[:, None, :]) | free[:, None, :], axis=2)
        res = _face_bounds(H, Hn, P, M, Kg[sl], vg[sl], pt, c, floor, W, cache, fixed=fx, claimed=claimed)
        n_faces = 2 * (len(vg[sl]) * len(pt) if claimed is None else int(claimed.sum()))
        return res, n_faces

    tasks = ((Kg, vg, pt, fx, cl, slice(a0, a0 + step)) for Kg, vg, pt, fx, cl in groups
             for step in [max(1, int(1.6e7 // (len(pt) * h)))]  # slices of (vertices × patterns × h) ≤ 1.6·10⁷
             for a0 in range(0, len(vg), step))
    # the slices run on every core (numpy's batched eigensolvers release the GIL), at most two
    # per core in flight; results are taken in order, and top and low are maxima, so the
    # outcome does not depend on the threads
    import itertools
    from concurrent.futures import ThreadPoolExecutor

    from ._validation import blas_threads, cpu_cores

    threads = cpu_cores()
    pending = []
    pool = ThreadPoolExecutor(threads)
    try:  # one BLAS thread per worker: the products are small, and idle BLAS threads spin against them
        with blas_threads(0):
            for task in itertools.chain(tasks, [None]):
                if task is not None:
                    if time.perf_counter() - t0 > time_limit:
                        return None
                    pending.append(pool.submit(bound, *task))
                    if len(pending) < 2 * threads:
                        continue
                while pending and (task is None or len(pending) >= 2 * threads):
                    res, n_faces = pending.pop(0).result()
                    if res is None:
                        return None
                    counted, (lam, u) = res
                    top = max(top, float(counted.max()))
                    if u is not None and lam > low * low:
                        low = max(low, float(_sigma_at(X, G, u[:, None])[0][0]))
                    done += n_faces
                    if callback is not None:
                        callback({"iteration": done, "value": float(np.sqrt(max(top, 0.0))), "lower_bound": low,
                                  "faces": done, "time_s": time.perf_counter() - t0})
    finally:  # a Ctrl-C (or an early return) need not wait for the slices still queued
        pool.shutdown(wait=True, cancel_futures=True)
    # faces left below the floor have f_H ≤ low, so the margin applies to low as well
    upper = max(float(np.sqrt(max(top, 0.0))), low) * (1.0 + 4.0 * _EPS) + margin
    info = {"method": "faces", "status": "exact", "cells": int(done), "degenerate_vertices": n_degenerate,
            "exact_checks": int(cache["checks"]), "hyperplanes": h, "time_s": time.perf_counter() - t0}
    return upper, low, info


def _sigma_enough(G, Y, reg, claim) -> float | None:
    """The σ̄ at which the atomic bound reaches (1 − ATOMIC_RTOL/2)·claim, so the search can stop
    there (the claim only sets when to stop, never the bound): on the rising branch of
    s⟨Γ, Y⟩ − ½s²‖Γ‖², the smaller root s of that value, and σ̄ = γ/s."""
    gg, gy = float(np.vdot(G, G)), float(np.vdot(G, Y))
    target = claim - 0.5 * ATOMIC_RTOL * max(1.0, abs(claim))
    disc = gy * gy - 2.0 * gg * target
    if gg <= 0 or gy <= 0 or target <= 0 or disc < 0:
        return None
    s = (gy - np.sqrt(disc)) / gg
    return reg / s if s > 0 else None


def _atomic_bound(G, Y, reg, sigma):
    """max over 0 ≤ s ≤ min(1, γ/σ̄) of s⟨Γ, Y⟩ − ½s²‖Γ‖², rounded down: a lower bound on p*
    (every width) whenever σ̄ ≥ σ(Γ), by Fenchel–Young and ⟨Γ, (Xu)₊vᵀ⟩ ≤ σ(Γ)‖u‖‖v‖."""
    gg, gy = float(np.vdot(G, G)), float(np.vdot(G, Y))
    if gg == 0:
        return 0.0, 0.0
    smax = 1.0 if sigma <= reg else reg / sigma
    s = min(max(gy / gg, 0.0), smax)
    mag = 0.5 * s * s * gg + s * float(np.linalg.norm(G)) * float(np.linalg.norm(Y))
    return _round_down(s * gy - 0.5 * s * s * gg, mag, G.size), s


def _verify_sdp(data, X, Y, gamma, facts, progress=None) -> dict:
    """The SDP-NN part: checks, then the bound (see :func:`_sdp_bound`)."""
    problems = []
    G_f, y_f = np.asarray(data["Gamma"], dtype=np.float64), np.asarray(data["y"], dtype=np.float64)
    ptr, idx = np.asarray(data["group_ptr"]), np.asarray(data["group_idx"])
    s, a = np.asarray(data["row_scale"], dtype=np.float64), float(facts.get("data_scale", np.nan))
    n_red = len(ptr) - 1
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
        if tuple(np.ravel(data["W_shape"])) != (2 * n_red, 2 * n_red):
            return {"bound": None, "details": {}, "problems": problems + [
                f"the sparse W has shape {tuple(np.ravel(data['W_shape']))}, not {(2 * n_red, 2 * n_red)}"]}
        W_f = np.zeros((2 * n_red, 2 * n_red))
        try:
            if not np.ndim(data["W_rows"]) == np.ndim(data["W_cols"]) == np.ndim(data["W_vals"]) == 1 \
                    or not len(data["W_rows"]) == len(data["W_cols"]) == len(data["W_vals"]):
                raise ValueError("different lengths")
            W_f[data["W_rows"], data["W_cols"]] = data["W_vals"]
        except (IndexError, ValueError):  # indices outside the shape, or arrays of different lengths
            problems.append("the sparse W has indices outside its shape or index and value arrays of different lengths")
    else:
        W_f = np.zeros((2 * n_red, 2 * n_red))
    if W_f.shape != (2 * n_red, 2 * n_red):
        problems.append(f"W has shape {W_f.shape}, not {(2 * n_red, 2 * n_red)}")
    for name, arr in (("Γ", G_f), ("y", y_f), ("W", W_f)):
        if not np.all(np.isfinite(arr)):
            problems.append(f"{name} holds NaN or inf")
    if problems:
        return {"bound": None, "details": {}, "problems": problems}
    negative = int(np.count_nonzero(W_f < 0))
    W_f = np.maximum(W_f, 0.0)
    p, q = 2 * n_red + X.shape[1] + Y.shape[1], n_red + X.shape[1] + Y.shape[1]
    # D, |D|, two p×q products and their absolute values, S and its copies, W and its copies
    check_memory(8.0 * (2 * p * p + 4 * p * q + 4 * q * q + 3 * (2 * n_red) ** 2),
                 "verifying the SDP-NN part (dense p × p dual matrices)")
    # the reduced problem and its allowance
    Xr, Yr, weight, beta, const, allowance, red = _reduce(X, Y, ptr, idx, gamma)
    details = {"reduction": red, "allowance": allowance, "W_entries_clipped": negative}
    if n_red == 0:
        return {"bound": _round_down(const - allowance, abs(const) + allowance, X.shape[0]),
                "details": details, "problems": []}
    # the solver's coordinates: rows times s_i, all data divided by a, loss weights 1/s_i² (powers
    # of two, so these data are exact; the problem is the same for every network, and its SDP-NN is
    # the reduced one's up to a diagonal congruence)
    # An exactly merged group's row is one of its rows, ‖K ê‖/β long, where the solver's was K ê:
    # the solver's multipliers map to it by the diagonal congruence with β on its α and β rows
    # (Γ_g·β_g, y_g·β_g², W_ab·β_a β_b; any multipliers are admissible, so this only has to be close)
    Xb, Yb = (Xr * s[:, None]) / a, Yr * s[:, None]
    b2 = np.concatenate([beta, beta])
    G_f, y_f, W_f = G_f * beta[:, None], y_f * beta * beta, W_f * np.outer(b2, b2)
    yD = data.get("slater_y")
    yD = None if yD is None or np.shape(yD) != (n_red,) or not np.all(np.isfinite(yD)) \
        else np.asarray(yD, dtype=np.float64) * beta * beta
    bound, more = _sdp_bound(Xb, Yb, weight / (s * s), G_f, y_f, W_f, gamma / a, const, allowance, slater_y=yD,
                             progress=progress)
    details.update(more)
    return {"bound": bound, "details": details, "problems": []}


def _verify_atomic(data, X, Y, gamma, facts, time_limit, progress=None) -> dict:
    """The atomic-dual part: σ̄ by :func:`sigma_by_faces` or :func:`sigma_upper_bound`, then
    :func:`_atomic_bound`."""
    G = np.asarray(data["atomic_Gamma"], dtype=np.float64)
    if G.shape != Y.shape or not np.all(np.isfinite(G)):
        return {"bound": None, "details": {}, "problems": [f"the atomic residual Γ {G.shape} does not fit Y "
                                                            f"{Y.shape} or holds NaN/inf"]}
    if X.shape[1] > SIGMA_MAX_DIM:
        return {"bound": None, "details": {}, "problems": [f"the design has d = {X.shape[1]} columns; the "
                                                            f"verifier's dual-norm search handles d ≤ {SIGMA_MAX_DIM}"]}
    import time

    t0 = time.perf_counter()
    seeds = data.get("atomic_seeds")
    seeds = None if seeds is None or np.ndim(seeds) != 2 or np.shape(seeds)[0] != X.shape[1] else seeds
    # small arrangements exactly, by their faces (most of the time limit); otherwise, or if that
    # gives way, the branch and bound with the time left
    try:
        exact = sigma_by_faces(X, G, time_limit=0.75 * time_limit, callback=progress)
    except KeyboardInterrupt:  # the crude bound Σ‖x_i‖‖g_i‖ ≥ σ stands
        crude = float(np.sum(np.linalg.norm(X, axis=1) * np.linalg.norm(G, axis=1))) * (1.0 + 8.0 * _gamma(X.size + 4))
        exact = (crude, 0.0, {"method": "crude", "status": "interrupted", "cells": 0,
                              "time_s": time.perf_counter() - t0})
    if exact is not None:
        sigma, sigma_low, info = exact
    else:
        sigma, sigma_low, info = sigma_upper_bound(
            X, G, seeds=seeds, rtol=ATOMIC_SIGMA_RTOL, time_limit=max(time_limit - (time.perf_counter() - t0), 0.0),
            enough=_sigma_enough(G, Y, gamma, float(facts["claimed_bound"])), callback=progress)
        info = {"method": "branch-and-bound", **info}
        # the time limit at which the enumeration would run instead (three quarters of it go there)
        need = _faces_estimate(X.shape[0], X.shape[1]) * _FACE_SECONDS / 0.75
        if time_limit < need <= 3600.0:
            info["faces_time_limit"] = float(10.0 * np.ceil(need / 10.0))
    bound, scale = _atomic_bound(G, Y, gamma, sigma)
    details = {"sigma_upper": sigma, "sigma_lower": sigma_low, "claimed_sigma_upper": facts.get("sigma_upper"),
               "scale": scale, **info}
    return {"bound": bound, "details": details, "problems": []}


def verify_certificate(source, *, time_limit: float = 60.0, progress=None) -> Verification:
    """Recompute a lower bound from a certificate (a path or the dict of :func:`load_certificate`)
    with the independent routines described in the module docstring; ``time_limit`` caps the
    branch and bound of the atomic part (its σ̄ stays valid when cut short or interrupted, only
    looser); ``progress`` gets records of the SDP-NN checks (iteration, lower_bound) and of the
    search (see :func:`sigma_upper_bound`)."""
    data = load_certificate(source) if not isinstance(source, dict) else _check_contents(source, "the certificate")
    meta = data["meta"]
    claimed = float(meta["claimed_bound"])
    problems = []
    X, Y = np.asarray(data["X"], dtype=np.float64), np.asarray(data["Y"], dtype=np.float64)
    gamma = float(meta.get("reg", np.nan))
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0] or X.shape[0] == 0:
        problems.append(f"X {X.shape} and Y {Y.shape} are not data of n rows")
    elif not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        problems.append("X or Y holds NaN or inf")
    if not (np.isfinite(gamma) and gamma > 0):
        problems.append(f"reg {gamma} is not positive")
    if problems:
        return Verification(claimed, None, False, problems=problems)
    parts = {}
    for name, facts in meta["parts"].items():
        part = _verify_sdp(data, X, Y, gamma, facts, progress) if name == "sdp" else \
            _verify_atomic(data, X, Y, gamma, facts, time_limit, progress)
        part_claim = float(facts["claimed_bound"])
        tol = CONFIRM_RTOL if name == "sdp" else ATOMIC_RTOL
        part["claimed_bound"] = part_claim
        part["confirmed"] = part["bound"] is not None and bool(
            part["bound"] >= part_claim - tol * max(1.0, abs(part_claim)))
        problems += [f"{name}: {p}" for p in part.pop("problems")]
        parts[name] = part
    best_claim = max(p["claimed_bound"] for p in parts.values())
    if claimed != best_claim:
        problems.append(f"the overall claimed bound {claimed:.9g} is not the best part's claim {best_claim:.9g}")
    bounds = [p["bound"] for p in parts.values() if p["bound"] is not None]
    bound = max(bounds) if bounds else None
    confirmed = bool(parts) and all(p["confirmed"] for p in parts.values()) and not problems
    out = Verification(claimed, None if bound is None else float(bound), confirmed, parts=parts)
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
            if bound is not None and out.network_objective < bound:
                problems.append(f"the network's objective {out.network_objective:.9g} is below the verified "
                                f"bound {bound:.9g}: the certificate contradicts itself")
    out.problems = problems
    out.confirmed = out.confirmed and not problems
    return out
