"""SDP-NN, the doubly non-negative relaxation of CP-NN, and its certified dual bound (SPEC §3).

    L_SDP = min ½‖Λ_αv − Y‖² + (reg/2)(tr Λ_uu + tr Λ_vv)
            s.t. Λ ⪰ 0, MΛMᵀ = 0, diag Λ_αβ = 0, Λ_[αβ][αβ] ≥ 0,

a lower bound on the NN-TRAIN optimum p*(m) for every width m. This module knows the problem
(objective, entrywise prox, face projection, dual map and certificate); solvers live beside it.

Exact degeneracies are removed before solving (SPEC §3.1 "Degeneracy"): rows that are zero add
the constant ½‖y_i‖²; rows that are positively parallel, x_k = κ_k e (κ_k > 0, duplicates included)
are merged into the single row K e with target Σ κ_k y_k / K, K² = Σ κ_k², plus the constant
½Σ‖y_k‖² − ½‖Σ κ_k y_k / K‖². Because the network is positively homogeneous this leaves the NN-TRAIN
objective of *every* network unchanged, so bounds on the reduced problem plus the constant are
bounds on the original one. Antiparallel pairs cannot be merged this way; they are counted and
left in (the certificate stays valid; only convergence may be slower).

Optional row balancing (``balance_rows``) then rescales each remaining row by a power of two s_i,
an exact reformulation: with S = diag(s, s, 1, 1), Λ′ = SΛS maps the feasible set onto that of
the data x̃_i = s_i x_i, and the loss becomes the weighted Σ_i (w_i/2)‖Λ′_{α_i v} − s_i y_i‖² with
w_i = s_i⁻². Powers of two keep the scaled data exact in floating point, so a certificate of the
balanced problem is a certificate of the original one. ``relu_scale`` multiplies every s_i by one
more common power of two f (the same reformulation; ``'auto'``: :func:`relu_block_scale`), which
shrinks the ReLU block relative to the rest for the first-order solver on large n.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
from scipy.optimize import minimize_scalar

from .._validation import check_flag, check_memory, check_reg, check_XY
from ..lifting import Blocks
from ..result import round_down

_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class Reduction:
    """How the data rows were merged before solving (see module docstring)."""

    n_original: int
    n_reduced: int
    n_zero_rows: int
    n_merged_groups: int
    n_antiparallel_pairs: int
    constant: float
    groups: tuple = field(repr=False, default=())  # per reduced row: indices of original rows

    def describe(self) -> str:
        parts = [f"{self.n_original} rows -> {self.n_reduced}"]
        if self.n_zero_rows:
            parts.append(f"{self.n_zero_rows} zero rows removed")
        if self.n_merged_groups:
            parts.append(f"{self.n_merged_groups} groups of parallel/duplicate rows merged")
        if self.n_antiparallel_pairs:
            parts.append(f"{self.n_antiparallel_pairs} antiparallel pairs kept (degenerate)")
        return "; ".join(parts)


def reduce_rows(X: np.ndarray, Y: np.ndarray, rel_tol: float = 1e-12):
    """Merge zero, duplicate and positively parallel rows exactly; return (X', Y', Reduction)."""
    n = X.shape[0]
    norms = np.linalg.norm(X, axis=1)
    scale = max(float(norms.max()), 1e-300)
    zero = norms <= rel_tol * scale
    const = 0.5 * float(np.sum(Y[zero] ** 2))
    idx = np.flatnonzero(~zero)
    if idx.size == 0:
        return X[:0], Y[:0], Reduction(n, 0, int(zero.sum()), 0, 0, const, ())
    E = X[idx] / norms[idx, None]
    digits = max(1, int(-np.log10(rel_tol)))
    key = np.round(E, digits) + 0.0  # +0.0 folds -0.0 into 0.0
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    order = np.argsort(first)  # keep the original order of first appearances
    Xr, Yr, groups = [], [], []
    merged = 0
    for g in order:
        members = idx[inverse == g]
        if members.size == 1:
            Xr.append(X[members[0]])
            Yr.append(Y[members[0]])
        else:
            merged += 1
            kappa = norms[members]
            K = float(np.sqrt(np.sum(kappa**2)))
            e = E[inverse == g].mean(axis=0)
            e /= np.linalg.norm(e)
            y_new = (kappa[:, None] * Y[members]).sum(axis=0) / K
            const += 0.5 * float(np.sum(Y[members] ** 2)) - 0.5 * float(np.sum(y_new**2))
            Xr.append(K * e)
            Yr.append(y_new)
        groups.append(tuple(int(i) for i in members))
    Xr = np.array(Xr)
    Yr = np.array(Yr)
    # antiparallel pairs among the reduced rows
    Er = Xr / np.linalg.norm(Xr, axis=1, keepdims=True)
    keys = {tuple(np.round(r, digits) + 0.0) for r in Er}
    anti = sum(1 for r in Er if tuple(np.round(-r, digits) + 0.0) in keys) // 2
    return Xr, Yr, Reduction(n, Xr.shape[0], int(zero.sum()), merged, anti, const, tuple(groups))


@dataclass(frozen=True)
class Certificate:
    """A certified lower bound from dual multipliers (SPEC §3.1), with its ingredients."""

    bound: float            # certified lower bound on L_SDP (and on p*), original scale
    dual_value: float       # dual objective at the unrepaired multipliers (not a bound if s < 0)
    lambda_min: float       # λ_min(S(Γ, y, W)) after the safety margin
    t: float                # interpolation weight towards the multipliers (1 = unrepaired)
    t_max: float


def dense_memory_bytes(n: int, d: int, c: int, n_dense=10) -> float:
    """Bytes for ``n_dense`` dense p×p float64 arrays (an int, or a function of p), p = 2n + d + c,
    plus three p×q ones: the memory model of :meth:`SDPFormulation.check_memory`."""
    p, q = 2 * n + d + c, n + d + c
    k = n_dense(p) if callable(n_dense) else n_dense
    return 8.0 * k * p**2 + 8.0 * 3 * p * q


class SDPFormulation:
    """SDP-NN for design matrix X (n×d, include the ones column for a bias), targets Y, and reg.

    Holds the (row-reduced) data, the orthonormal face basis N of null(M), the Slater point of
    the dual, and the operators solvers need: objective, entrywise prox, face projection,
    multipliers and certificate. All values are reported on the original problem's scale.
    """

    def __init__(self, X, Y, reg: float, *, bias: bool = False, reduce: bool = True,
                 balance_rows: bool = False, relu_scale: float | str = 1.0):
        X, Y = check_XY(X, Y)
        self.reg = check_reg(reg)
        self.bias = check_flag(bias, "bias")
        self.X_original, self.Y_original = X, Y
        if reduce:
            Xr, Yr, red = reduce_rows(X, Y)
        else:
            Xr, Yr = X, Y
            red = Reduction(X.shape[0], X.shape[0], 0, 0, 0, 0.0, tuple((i,) for i in range(X.shape[0])))
        self.reduction = red
        auto = isinstance(relu_scale, str) and relu_scale == "auto"
        if auto:  # k = d + c: the columns of u and v (the bias column counts in d)
            f = relu_block_scale(Xr.shape[0], Xr.shape[1] + Y.shape[1])
        else:
            f = check_power_of_two(relu_scale)
        self.relu_scale = f
        self.row_scale = (row_scale(Xr) if balance_rows else np.ones(Xr.shape[0])) * f
        self.weights = 1.0 / self.row_scale[:, None] ** 2  # w_i of the loss, exact powers of two
        self.X, self.Y = Xr * self.row_scale[:, None], Yr * self.row_scale[:, None]
        self.constant = red.constant
        n, d = Xr.shape
        c = Y.shape[1]
        self.blocks = Blocks(n, d, c)
        self._N = None
        self._face_basis = None
        self._slater = None

    # -- sizes ------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.blocks.n

    @property
    def weighted(self) -> bool:
        """True when row balancing or ``relu_scale`` changed some row (the loss then carries
        weights w_i ≠ 1; the interior point and the CVXPY back-ends refuse such forms)."""
        return bool(np.any(self.row_scale != 1.0))

    @property
    def d(self) -> int:
        return self.blocks.d

    @property
    def c(self) -> int:
        return self.blocks.c

    @property
    def p(self) -> int:
        return self.blocks.p

    @property
    def q(self) -> int:
        return self.blocks.q

    def memory_estimate(self, n_dense=10, n: int | None = None) -> float:
        """Bytes for ``n_dense`` dense p×p float64 arrays (what the ADMM solver keeps; an int, or a
        function of p); ``n``: for that many rows instead of this problem's."""
        return dense_memory_bytes(self.n if n is None else n, self.d, self.c, n_dense)

    def check_memory(self, n_dense=10) -> None:
        """Refuse (MemoryEstimateError) when ``n_dense`` p×p arrays (an int, or a function of p)
        would not fit, saying how many distinct samples would."""
        def advice(budget: float) -> str:
            lo, hi = 0, self.n  # the largest n within budget, by bisection (the estimate grows with n)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if self.memory_estimate(n_dense, mid) <= budget else (lo, mid - 1)
            # (lo fits and lo + 1 does not, even where n_dense(p) steps down and the estimate is
            # not monotone)
            return (f"about {lo} distinct samples would fit in memory; use fewer samples or a "
                    "lower-memory method." if lo > 0 else "use a lower-memory method.")

        check_memory(self.memory_estimate(n_dense), f"SDP-NN with p = {self.p} (n = {self.n})", advice=advice)

    # -- face -------------------------------------------------------------------------------
    def structured_basis(self) -> np.ndarray:
        """T (p×q): (α, u, v) ↦ (α, α − Xu, u, v), whose range is exactly null(M)."""
        n, d, c = self.n, self.d, self.c
        T = np.zeros((self.p, self.q))
        T[:n, :n] = np.eye(n)
        T[n:2 * n, :n] = np.eye(n)
        T[n:2 * n, n:n + d] = -self.X
        T[2 * n:, n:] = np.eye(d + c)
        return T

    @property
    def N(self) -> np.ndarray:
        """Orthonormal basis (p×q) of null(M) = range(T) from the QR factorisation T = N R; the
        certificate's basis (the solver's face projection uses :attr:`face_basis`)."""
        if self._N is None:
            self._N = np.ascontiguousarray(np.linalg.qr(self.structured_basis())[0])
        return self._N

    def congruence(self, A: np.ndarray) -> np.ndarray:
        """Nᵀ A N for symmetric p×p A by dense products with the QR basis N. The certificate
        uses this form: its rounding-error margin is derived for these products."""
        N = self.N
        S = N.T @ (A @ N)
        return 0.5 * (S + S.T)

    @property
    def face_basis(self):
        """(h, P, K) of the block-orthonormal basis of null(M) used by the face projection:

            columns α′: (h·I, h·I, 0, 0),  u′: (P, −P, K, 0),  v′: (0, 0, 0, I)   (rows α, β, u, v)

        with h = 1/√2, K = (I + XᵀX/2)^(−1/2) and P = XK/2. The α′ columns are orthonormal, the
        u′ columns are orthogonal to them (the α and β rows cancel) and have Gram
        K(I + XᵀX/2)K = I. Only the d×d matrix K is dense, so Nᵀ A N costs O(p·n·d) flops
        instead of O(p²q) (see :func:`block_congruence`)."""
        if self._face_basis is None:
            lam, V = np.linalg.eigh(np.eye(self.d) + 0.5 * (self.X.T @ self.X))
            K = (V / np.sqrt(lam)) @ V.T
            K = 0.5 * (K + K.T)
            self._face_basis = (1.0 / np.sqrt(2.0), 0.5 * (self.X @ K), K)
        return self._face_basis

    def face_project(self, A: np.ndarray, rank_hint: int | None = None):
        """Frobenius projection N [Nᵀ A N]_+ Nᵀ of symmetric A onto the face; returns (Z, F) with
        Z = F Fᵀ and F (p×r) the factor of the positive part. Any orthonormal basis of null(M)
        gives the same projection; the block basis (:attr:`face_basis`) makes it cheap.
        ``rank_hint`` (e.g. the previous iterate's r) lets :func:`psd_part` skip most of the
        eigenvectors; the result does not depend on it."""
        if self.p < 100:  # tiny: two dense products cost less than the block operations' overhead
            w, Q = psd_part(self.congruence(A), rank_hint)
            F = self.N @ (Q * np.sqrt(w))
            return F @ F.T, F
        h, P, K = self.face_basis
        w, Q = psd_part(block_congruence(A, self.n, self.d, h, P, K), rank_hint)
        F = block_factor(Q * np.sqrt(w), self.n, self.d, h, P, K)
        return F @ F.T, F

    # -- objective and prox -----------------------------------------------------------------
    def objective(self, Lam: np.ndarray) -> float:
        """SDP-NN objective at Λ (reduced coordinates) plus the reduction constant."""
        B = self.blocks
        R = Lam[B.a, B.v] - self.Y
        return (
            0.5 * float(np.vdot(R, self.weights * R))
            + 0.5 * self.reg * (float(np.trace(Lam[B.u, B.u])) + float(np.trace(Lam[B.v, B.v])))
            + self.constant
        )

    def prox(self, A: np.ndarray, rho: float, out: np.ndarray | None = None) -> np.ndarray:
        """argmin_Λ f(Λ) + ι_C(Λ) + (ρ/2)‖Λ − A‖²_F for symmetric A, entry by entry.

        C = {ReLU block ≥ 0, diag Λ_αβ = 0}. An off-diagonal αv entry appears twice in the
        Frobenius norm but once in the loss (weight w_i), hence (w_i Y + 2ρA)/(w_i + 2ρ).
        """
        B = self.blocks
        if out is None:
            L = A.copy()
        else:
            np.copyto(out, A)
            L = out
        n = B.n
        np.maximum(L[:2 * n, :2 * n], 0.0, out=L[:2 * n, :2 * n])
        ii = np.arange(n)
        L[ii, ii + n] = 0.0
        L[ii + n, ii] = 0.0
        w = self.weights
        av = (w * self.Y + 2.0 * rho * A[B.a, B.v]) / (w + 2.0 * rho)
        L[B.a, B.v] = av
        L[B.v, B.a] = av.T
        du = np.arange(B.u.start, B.v.stop)
        L[du, du] = A[du, du] - self.reg / (2.0 * rho)
        return L

    def multipliers_from_prox(self, A: np.ndarray, Lam: np.ndarray, rho: float):
        """Dual multipliers (Γ, y, W) read from a prox step Λ = prox(A): by its optimality
        condition ρ(A − Λ) = C₀ + E(Γ) − A*(y) − B*(W) with Γ = w ⊙ (Λ_αv − Y) and W ≥ 0."""
        B = self.blocks
        n = B.n
        G = self.weights * (Lam[B.a, B.v] - self.Y)
        Sig = rho * (A[:2 * n, :2 * n] - Lam[:2 * n, :2 * n])
        Sig = 0.5 * (Sig + Sig.T)
        ii = np.arange(n)
        y = -(Sig[ii, ii + n] + Sig[ii + n, ii])  # −y_i/2 at both symmetric positions
        W = np.maximum(-Sig, 0.0)
        W[ii, ii + n] = 0.0
        W[ii + n, ii] = 0.0
        return G, y, W

    # -- dual -------------------------------------------------------------------------------
    def dual_matrix(self, G: np.ndarray, y: np.ndarray, W: np.ndarray | None) -> np.ndarray:
        """C₀ + E(Γ) − A*(y) − B*(W) as a dense symmetric p×p matrix."""
        B = self.blocks
        n = B.n
        D = np.zeros((self.p, self.p))
        du = np.arange(B.u.start, B.v.stop)
        D[du, du] = 0.5 * self.reg
        D[B.a, B.v] = 0.5 * G
        D[B.v, B.a] = 0.5 * G.T
        if W is not None:
            D[:2 * n, :2 * n] -= 0.5 * (W + W.T)
        ii = np.arange(n)
        D[ii, ii + n] -= 0.5 * y
        D[ii + n, ii] -= 0.5 * y
        return D

    def dual_objective(self, G: np.ndarray) -> float:
        """−½Σ‖Γ_i‖²/w_i − ⟨Γ, Y⟩ plus the reduction constant (a bound only if Γ is dual
        feasible; w = 1 without row balancing)."""
        return -0.5 * float(np.vdot(G, G / self.weights)) - float(np.vdot(G, self.Y)) + self.constant

    def _best_scaling(self, G: np.ndarray, t_max: float):
        """(t, value) maximising dual(tΓ) = −½t²Σ‖Γ_i‖²/w_i − t⟨Γ, Y⟩ + const over t ∈ [0, t_max];
        the value is rounded down by :meth:`_rounded`."""
        gg = float(np.vdot(G, G / self.weights))
        gy = float(np.vdot(G, self.Y))
        t = 0.0 if gg == 0 else min(max(-gy / gg, 0.0), t_max)
        return t, self._rounded(-0.5 * t * t * gg - t * gy + self.constant, G, t, gg)

    def _rounded(self, value: float, G: np.ndarray, t: float, gg: float, extra: float = 0.0) -> float:
        """dual(tΓ) (+ a term ``extra``) as evaluated, rounded down by :func:`round_down`
        (|⟨Γ, Y⟩| ≤ ‖Γ‖‖Y‖); unrounded, a bound tight at p* = 5 read 5.000000000000001 in
        ``benchmarks/soundness.py``."""
        cross = t * float(np.linalg.norm(G)) * float(np.linalg.norm(self.Y))
        return round_down(value, 0.5 * t * t * gg + cross + abs(self.constant) + abs(extra), G.size)

    def repair_ceiling(self, G: np.ndarray) -> float:
        """The most :meth:`certify` can give for this Γ whatever (y, W) are: the repair only
        shrinks t ≤ 1, so max over t ∈ [0, 1] of dual(tΓ) (≥ the dual value at t = 1)."""
        return self._best_scaling(np.asarray(G, dtype=np.float64), 1.0)[1]

    def closest_rows(self, block: int = 1024) -> dict:
        """The most nearly parallel and the most nearly antiparallel pair of (reduced) rows:
        ``{'parallel': (1 − cos, i, j), 'antiparallel': (1 + cos, i, j)}`` with i, j original row
        indices (the first of each merged group); empty for fewer than two rows. Such pairs make
        the feasible set thin (SPEC §3.1, degeneracy) and the multipliers of their sign
        constraints large, which is where the interior point stalls (docs §7.1). O(n²d) flops in
        blocks of ``block`` rows, O(block·n) memory."""
        n = self.n
        if n < 2:
            return {}
        U = self.X / np.linalg.norm(self.X, axis=1, keepdims=True)
        best = {"parallel": (np.inf, -1, -1), "antiparallel": (np.inf, -1, -1)}
        for start in range(0, n, block):
            C = U[start:start + block] @ U.T
            rows = np.arange(start, min(start + block, n))
            C[np.arange(n)[None, :] <= rows[:, None]] = np.nan  # each pair i < j once
            for key, vals in (("parallel", 1.0 - C), ("antiparallel", 1.0 + C)):
                if np.all(np.isnan(vals)):
                    continue
                k = int(np.nanargmin(vals))
                v = float(vals.flat[k])
                if v < best[key][0]:
                    best[key] = (max(v, 0.0), int(rows[k // n]), int(k % n))
        groups = self.reduction.groups
        first = (lambda i: groups[i][0]) if len(groups) == n else (lambda i: i)
        return {key: (v, first(i), first(j)) for key, (v, i, j) in best.items() if i >= 0}

    def slater_point(self):
        """(δ, μ): the strictly feasible dual point Γ = 0, W = 0, y = −δ·1 and μ = λ_min(S_D) in
        the orthonormal face basis, with δ chosen (from the singular values of X) to make μ large."""
        if self._slater is None:
            g2 = 0.5 * self.reg
            if self.n == 0:
                self._slater = (0.0, g2)
                return self._slater
            smax = float(np.linalg.norm(self.X, 2))
            hi = 2.0 * self.reg / max(smax**2, 1e-300)

            def neg_lmin_T(delta):  # λ_min of the 2×2 blocks of S_D in the structured basis
                a, b, o = delta, g2, delta * smax / 2.0
                return -((a + b) / 2 - np.sqrt(((a - b) / 2) ** 2 + o**2))

            delta = float(minimize_scalar(neg_lmin_T, bounds=(1e-12 * hi, hi), method="bounded").x)
            SD = self._face_matrix(self.dual_matrix(np.zeros((self.n, self.c)), -delta * np.ones(self.n), None))
            mu = float(np.linalg.eigvalsh(SD)[0])
            L = np.linalg.cholesky(SD)
            self._slater = (delta, mu)
            self._slater_chol = (L, float(np.linalg.norm(SD)))
        return self._slater

    def _face_matrix(self, D: np.ndarray) -> np.ndarray:
        return self.congruence(D)  # the certificate's margin assumes these dense products

    def trace_bound(self, upper: float | None = None) -> float:
        """τ ≥ tr Λ* for every optimal Λ* (SPEC §3.1): (1 + σ_max(X)²)·2U/reg with U ≥ L_SDP
        (default U = ½‖Y‖², the zero network; any network objective is a valid U)."""
        zero = 0.5 * float(np.sum(self.Y_original ** 2))
        U = zero if upper is None else min(float(upper), zero)
        U = max(U - self.constant, 0.0)
        smax2 = float(np.linalg.norm(self.X, 2)) ** 2 if self.n else 0.0
        return (1.0 + smax2) * 2.0 * U / self.reg

    def certify(self, G: np.ndarray, y: np.ndarray, W: np.ndarray | None,
                upper: float | None = None) -> Certificate:
        """Certified lower bound from approximate multipliers (Γ, y, W) by Slater-point repair.

        With S = Nᵀ D(Γ, y, W) N and S_D the slack of the Slater point, the combination
        t·(Γ, y, W) + (1 − t)·(0, y_D, 0) is dual feasible iff t·S + (1 − t)·S_D ⪰ 0, i.e. for
        t ≤ t_max = 1/(1 − s) where s = λ_min(S_D^{-1/2} S S_D^{-1/2}) is the generalised
        eigenvalue (the exact largest t, better than the μ-based rule of SPEC §3.1). s is reduced
        by a floating-point safety margin covering the products, the Cholesky factor of S_D and
        the eigensolver. The dual objective is then maximised over t ∈ [0, t_max] in closed form.
        """
        G = np.asarray(G, dtype=np.float64)
        if self.n == 0:
            return Certificate(self.constant, self.constant, 0.0, 0.0, 0.0)
        if W is not None:
            W = np.maximum(W, 0.0)
        delta, mu = self.slater_point()
        L, sd_norm = self._slater_chol
        D = self.dual_matrix(G, y, W)
        S = self._face_matrix(D)
        C = sla.solve_triangular(L, S, lower=True, check_finite=False)
        C = sla.solve_triangular(L, C.T, lower=True, check_finite=False)
        C = 0.5 * (C + C.T)
        s_raw = float(sla.eigvalsh(C, subset_by_index=[0, 0])[0])
        k = 10.0 * (self.p + self.q) * _EPS
        err_c = k * (float(np.linalg.norm(D)) + float(np.linalg.norm(S))) / mu + k * float(np.linalg.norm(C))
        eps_d = k * sd_norm / mu
        if eps_d >= 0.5:  # the Slater slack is too ill-conditioned to certify anything else
            return Certificate(self.constant, self.dual_objective(G), s_raw, 0.0, 0.0)
        s = s_raw - err_c
        one = 1.0 - eps_d
        t_max = 1.0 if s >= 0 else one / (one - s)
        t, bound = self._best_scaling(G, t_max)
        # second certificate: the trace bound τ ≥ tr Λ*, f(Λ*) ≥ dual(Γ) + τ·min(0, λ_min(S))
        s_std = float(sla.eigvalsh(S, subset_by_index=[0, 0])[0]) - k * float(np.linalg.norm(D))
        penalty = self.trace_bound(upper) * min(0.0, s_std)
        bound_tr = self._rounded(self.dual_objective(G) + penalty, G, 1.0,
                                 float(np.vdot(G, G / self.weights)), penalty)
        if bound_tr > bound:
            return Certificate(bound_tr, self.dual_objective(G), s, 1.0, t_max)
        return Certificate(bound, self.dual_objective(G), s, t, t_max)

    def refine_y(self, G: np.ndarray, y: np.ndarray, W: np.ndarray | None, *,
                 evaluations: int = 150, deadline: float | None = None) -> np.ndarray:
        """A better multiplier y for the same (Γ, W): y is a free variable that does not enter the
        dual objective, so any y − κ keeps −½‖Γ‖² − ⟨Γ, Y⟩ and only moves S = S(Γ, y − κ, W).

        Maximises a soft minimum of the generalised eigenvalues of (S, S_D) over κ ∈ Rⁿ — the
        quantity s that limits the Slater repair in :meth:`certify` — with L-BFGS on three
        sharpening temperatures, ``evaluations`` eigendecompositions of size q in all (or until
        ``time.perf_counter()`` passes ``deadline``). Only a heuristic: soundness comes from
        certifying the returned y, which is why callers keep the better of the two certificates.
        """
        return self.refine_multipliers(G, y, W, evaluations=evaluations, deadline=deadline)[0]

    def refine_multipliers(self, G: np.ndarray, y: np.ndarray, W: np.ndarray | None, *, pairs=None,
                           evaluations: int = 150, deadline: float | None = None):
        """(y, W) re-chosen for the same Γ: like :meth:`refine_y`, and with ``pairs`` (index pairs
        (a, b), a < b, of the ReLU block, e.g. :func:`~convexnn.sdp.active_ipm.relu_pairs`) the
        multipliers W_ab of those inequalities free as well, kept ≥ 0 (L-BFGS-B bounds). W does
        not enter the dual objective either (the inequalities Λ_ab ≥ 0 have no constant), so only
        the Slater repair changes. Where an interior point's dual iterates lose accuracy (nearly
        parallel rows), the W of its best certificate is what keeps S from being positive
        semidefinite, and y alone cannot make up for it. Returns (y, W), W a new array (or
        ``W`` unchanged without pairs); soundness again comes from certifying them."""
        import time

        from scipy.optimize import minimize

        G = np.asarray(G, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        n = self.n
        pairs = np.zeros((0, 2), dtype=np.intp) if pairs is None else np.asarray(pairs)
        if (pairs.ndim != 2 or pairs.shape[1] != 2 or not np.issubdtype(pairs.dtype, np.integer)
                or (pairs.size and (pairs.min() < 0 or pairs.max() >= 2 * n
                                    or np.any(pairs[:, 0] >= pairs[:, 1])))):
            from ..errors import ParameterError

            raise ParameterError(f"pairs must be integer index pairs (a, b), 0 ≤ a < b < 2n = {2 * n}, one "
                                 f"per row (e.g. active_ipm.relu_pairs(n)); got shape {pairs.shape}, "
                                 f"dtype {pairs.dtype}.")
        pairs = pairs.astype(np.intp, copy=False)
        if n == 0 or evaluations <= 0:
            return y, W
        if W is not None:
            W = np.maximum(W, 0.0)
        elif len(pairs):
            W = np.zeros((2 * n, 2 * n))
        self.slater_point()
        L, _ = self._slater_chol
        C0 = sla.solve_triangular(L, self._face_matrix(self.dual_matrix(G, y, W)), lower=True,
                                  check_finite=False)
        C0 = sla.solve_triangular(L, C0.T, lower=True, check_finite=False)
        C0 = 0.5 * (C0 + C0.T)
        # rows α_i and β_i of N in the generalised coordinates: (L⁻¹ Nᵀ)ᵀ restricted to the ReLU block
        Mr = sla.solve_triangular(L, self.N[:2 * n].T, lower=True, check_finite=False).T
        Ma, Mb = Mr[:n], Mr[n:]
        pa, pb = pairs[:, 0], pairs[:, 1]
        budget = [int(evaluations)]
        best = [-np.inf, np.zeros(n + len(pairs))]  # largest λ_min seen and its (κ, ω)

        class _Stop(Exception):
            pass

        def soft_min(z, temp):
            # C(κ, ω) = C₀ + sym(M_αᵀ diag(κ) M_β) − sym(M_rᵀ Ω M_r): the −A*(−κ) term and the
            # −B*(ω) term (ω at the free pairs) in generalised coordinates
            if budget[0] <= 0 or (deadline is not None and time.perf_counter() > deadline):
                raise _Stop
            budget[0] -= 1
            kappa = z[:n]
            K = (Ma.T * kappa) @ Mb
            C = C0 + 0.5 * (K + K.T)
            if len(pairs):
                Om = np.zeros((2 * n, 2 * n))
                Om[pa, pb] = z[n:]
                Kw = Mr.T @ Om @ Mr
                C -= 0.5 * (Kw + Kw.T)
            w, V = np.linalg.eigh(C)
            if w[0] > best[0]:
                best[0], best[1] = float(w[0]), np.array(z, dtype=np.float64)
            e = np.exp(-(w - w[0]) / temp)
            s = float(e.sum())
            U = Mr @ V
            grad = (U[:n] * U[n:]) @ (e / s)  # ∂λ_j/∂κ_i = (M_α v_j)_i (M_β v_j)_i
            if len(pairs):  # ∂λ_j/∂ω_ab = −(M_r v_j)_a (M_r v_j)_b
                grad = np.concatenate([grad, -(U[pa] * U[pb]) @ (e / s)])
            return -(w[0] - temp * np.log(s)), -grad

        bounds = None if not len(pairs) else [(None, None)] * n + [(-float(v), None) for v in W[pa, pb]]
        try:
            soft_min(best[1], 1.0)
            if best[0] >= 0:
                return y, W
            for frac, share in ((0.1, 0.4), (0.01, 0.35), (0.001, 0.25)):
                temp = frac * abs(best[0])
                minimize(lambda z, t=temp: soft_min(z, t), best[1], jac=True, method="L-BFGS-B",
                         bounds=bounds, options={"maxfun": max(2, int(share * evaluations)),
                                                 "maxiter": 10 * evaluations})
        except _Stop:
            pass
        if not len(pairs):
            return y - best[1], W
        W_new = W.copy()
        W_new[pa, pb] += best[1][n:]
        return y - best[1][:n], np.maximum(W_new, 0.0)


#: :func:`relu_block_scale` brings f·n/(d + c) to about this value (see its docstring).
RELU_BLOCK_RATIO = 11.0


def relu_block_scale(n: int, k: int) -> float:
    """The common power of two f ≤ 1 by which the native solver multiplies every α and β row
    (:class:`SDPFormulation` ``relu_scale='auto'``) for n rows and k = d + c columns of u and v:
    2^round(log₂(11·k/n)), at most 1 — so 1 on the random sets, Spiral, Iris and Ionosphere, ¼ on
    Pima and MNIST-PCA, ⅛ on Bank Notes.

    An exact change of variables like row balancing (Λ′ = SΛS with S = diag(f, f, 1, 1); the loss
    weights become f⁻²): the problem and its certificate are unchanged, only the Frobenius metric
    of the first-order solver is. Scaling by f multiplies the 2n×2n ReLU block (4n² entries) by f²
    and the blocks coupling α and β to u and v (4nk entries, those that carry the loss and the
    constraint Xu = α − β) by f; their Frobenius weights balance when f²n² ≈ κ·f·nk, i.e.
    f ≈ κk/n. κ = 11 (:data:`RELU_BLOCK_RATIO`) is fitted, not derived: in the equal-time sweep of
    ``benchmarks/sdp_diagnostics.py`` part 8 the best f among 1, ½, ¼, ⅛ was 1 on Iris, ½ on
    Ionosphere, ½ or ¼ on Pima (by γ), ¼ on MNIST-PCA and ⅛ on Bank Notes, and κ between 10.1 and
    11.8 gives ¼ on MNIST-PCA and ⅛ on Bank Notes at once. Part 10 compares it side by side with
    the earlier rule f²n ≈ 64 where the two differ (Ionosphere, Pima, Bank Notes)."""
    if n <= 0 or k <= 0:
        return 1.0
    return float(min(1.0, 2.0 ** round(np.log2(RELU_BLOCK_RATIO * k / n))))


def check_power_of_two(f) -> float:
    """``f`` as a float if it is a positive power of two (an exact scaling), else ParameterError."""
    from ..errors import ParameterError

    ok = isinstance(f, (int, float, np.integer, np.floating)) and not isinstance(f, bool)
    if ok:
        f = float(f)
        ok = np.isfinite(f) and f > 0 and np.frexp(f)[0] == 0.5
    if not ok:
        raise ParameterError(f"relu_scale must be 'auto' or a positive power of two (exact scaling); got {f!r}.")
    return f


def row_scale(X: np.ndarray) -> np.ndarray:
    """Powers of two s_i ≈ rms/‖x_i‖ that bring every row norm of diag(s)·X within a factor √2 of
    the root-mean-square norm (zero rows keep s_i = 1). Exact in floating point."""
    r = np.linalg.norm(X, axis=1)
    if r.size == 0 or not np.any(r > 0):
        return np.ones(X.shape[0])
    rms = float(np.sqrt(np.mean(r**2)))
    e = np.zeros(X.shape[0])
    pos = r > 0
    e[pos] = np.clip(np.round(np.log2(rms / r[pos])), -60, 60)
    return np.ldexp(1.0, e.astype(int))


def psd_part(S: np.ndarray, rank_hint: int | None = None):
    """Positive eigenpairs (w > 0, Q) of a symmetric matrix, computing only what is needed.

    With ``rank_hint`` (the positive rank at the previous DR iterate, which is low near a
    solution) and q ≥ 200, LAPACK's syevr computes only the k = 2·hint + 10 largest eigenpairs
    when k ≤ q/10; if all k are positive the rank may be larger and the full decomposition is
    taken. syevr's cost grows with the number of vectors, so it beats the full divide-and-conquer
    decomposition only for a small positive part (1.3–1.8× for ranks 5–46 at q = 394–1,030,
    ``benchmarks/sdp_diagnostics.py`` part 1) and is slower for a large one."""
    q = S.shape[0]
    if rank_hint is not None and q >= 200:
        k = 2 * int(rank_hint) + 10
        if k <= q // 10:
            w, Q = sla.eigh(S, subset_by_index=(q - k, q - 1), driver="evr", check_finite=False)
            if w[0] <= 0:  # the whole positive part is among the k computed
                keep = w > 0
                return w[keep], Q[:, keep]
    w, Q = np.linalg.eigh(S)
    keep = w > 0
    return w[keep], Q[:, keep]


def block_congruence(A, n: int, d: int, h: float, P, K):
    """Nᵀ A N for the block-orthonormal basis (h, P, K) of :attr:`SDPFormulation.face_basis`:
    block sums and products with the n×d matrix P and the d×d matrix K, O(p·n·d) flops. Works
    on numpy arrays and torch tensors alike (slicing, ``@`` and arithmetic only)."""
    a, b, u, v = slice(0, n), slice(n, 2 * n), slice(2 * n, 2 * n + d), slice(2 * n + d, None)

    def right(B):  # B N for the rows of B, column blocks α′, u′, v′
        return (h * (B[:, a] + B[:, b]), (B[:, a] - B[:, b]) @ P + B[:, u] @ K, B[:, v])

    AN = right(A)
    blocks = []
    for C in AN:  # Nᵀ C for each column block: row blocks α′, u′, v′
        blocks.append((h * (C[a] + C[b]), P.T @ (C[a] - C[b]) + K.T @ C[u], C[v]))
    # assemble the q×q matrix row block by row block
    rows = [[blocks[j][i] for j in range(3)] for i in range(3)]
    if hasattr(A, "new_empty"):  # torch
        import torch

        S = torch.cat([torch.cat(r, dim=1) for r in rows], dim=0)
    else:
        S = np.block(rows)
    return 0.5 * (S + S.T)


def block_factor(G, n: int, d: int, h: float, P, K):
    """N G for the block-orthonormal basis and a q×r matrix G (rows α′, u′, v′): the p×r factor."""
    Ga, Gu, Gv = G[:n], G[n:n + d], G[n + d:]
    hGa, PGu = h * Ga, P @ Gu
    parts = [hGa + PGu, hGa - PGu, K @ Gu, Gv]
    if hasattr(G, "new_empty"):
        import torch

        return torch.cat(parts, dim=0)
    return np.concatenate(parts, axis=0)
