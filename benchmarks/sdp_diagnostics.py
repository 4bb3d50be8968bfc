"""Diagnostics behind the SDP-NN solver notes in docs/mathematics.md §6 (paper protocol, no bias).

1. The face projection's two parts on a real iterate (the matrix 2Λ − ζ after 50 native
   iterations; median of repeats): NᵀAN by dense products with the QR basis against the
   block-orthonormal basis (``face_basis``), and the full eigendecomposition against the
   partial one ``psd_part`` takes with the iterate's rank as hint (outside the solver, so
   without its cap on scipy's BLAS threads).
2. Native ADMM per-iteration time (fixed iteration count, median of repeats; the certificate
   polish, which runs once at exit, is switched off).
3. Why the certified bound lags on Iris: after a native solve, the spectrum of the multipliers'
   slack S = NᵀDN, the generalised eigenvalue used by the Slater repair, the dual value at t = 1,
   tr Λ of the iterate against the certified trace bound τ.
4. The experimental native interior point (solver="ipm") on random:0 and Iris.
5. The ρ schedule: the same time budget on Iris (γ = 0.1 and 0.01) with and without the dual
   phases (``dual_phases``), side by side in one run.
6. The certificate polish (``refine``, :meth:`SDPFormulation.refine_y`): the same time budget with
   and without it, on Iris (30 s) and Pima (γ = 0.1, 120 s), side by side in one run.
7. Row balancing (``solve_sdp(balance_rows=...)``): the same time budget with the rows rescaled by
   powers of two and without, side by side: random:0–9 (5 s), Spiral and Iris (15 s), both γ;
   Pima and Bank Notes at γ = 0.1 (60 s). The balanced runs use relu_scale=1 (as before part 8).
8. The ReLU-block scale (``solve_sdp(relu_scale=...)``, rows balanced): the same time budget for
   the factors 1, ½, ¼, ⅛ side by side, γ = 0.1 and 0.01: Iris 15 s; Ionosphere, Pima, Bank Notes
   and MNIST-PCA 45 s each (``--relu-limit``). "(auto)" marks the factor the solver picks.
9. The interior point's step fraction (``solve_sdp(solver="ipm", step_fraction=...)``, how far
   each step goes towards the boundary of the cones): 0.98 (before e1bfd48), 0.9 (the default)
   and 0.8 side by side on random:0–3, Spiral and Iris, both γ, tol 1e-4: iterations, time and
   the time to a certified gap of 1e-3 and 1e-4 (the rule of ``benchmarks/sdp.py``).
10. Two rules for the ReLU-block scale on the data sets where they differ, side by side at the
   budgets of the targets and the benchmark: f²n ≈ 64 (the rule of 01b5e3c) against
   f ≈ 11 (d + c)/n (power of two, ≤ 1): Ionosphere 60 s (½ vs 1), Pima 120 s (½ vs ¼), Bank
   Notes 60 s (¼ vs ⅛), both γ. MNIST-PCA gets ¼ from both.
11. Nearly parallel rows and the interior point's stall (Spiral and Iris, both γ): the closest
   pairs of rows by angle; the interior point at the data scale a it uses (the power of two
   nearest the rms row norm), at 2a and at a/2 (an exact rescaling: SDP(X, Y, γ) = SDP(X/a, Y, γ/a));
   its largest inequality multipliers and the angle between the two rows each belongs to. On
   Spiral also Clarabel (reduced form) on the data as the benchmark gives them and at a and a/2:
   its value, the bound certified from its duals, its status, and how far its primal violates
   the constraints (λ_min of S, largest |diag Λ_αβ|, most negative ReLU entry).
12. The interior point's iterative refinement (``solve_sdp(solver="ipm", refine=...,
   predictor_refine=...)``), side by side on random:0–3, Spiral and Iris, both γ, tol 1e-4:
   (2, 2), the earlier setting's counts, (2, 0) and (3, 0), the default. All three refine with
   the matrix-free operator; iterations, time, gap and the times to a certified gap of 1e-3 and
   1e-4 (the rule of ``benchmarks/sdp.py``).
13. The interior point's centring power (``solve_sdp(solver="ipm", sigma_power=...)``, Mehrotra's
   σ = (μ_aff/μ)^p): p = 3 (the usual value, before this part), 4 (the default) and 4.5 side by
   side on random:0–5, Spiral and Iris, both γ, tol 1e-4, with the same measures as part 12.
14. Where the primal resumes after a dual phase (``solve_sdp(restore_primal=...)``): always
   from the point the dual phase drifted to (False, before this part) or, with 'auto' (the
   default), from the point where the primal phase stopped when the dual phase moved the primal
   value by more than the gap. The same time budget side by side: Iris 30 s and Pima 120 s, both
   γ (``--restore-limit`` scales both). Certified bound, primal value, gap, primal residual and
   the time to a certified gap of 1e-3 (the rule of ``benchmarks/sdp.py``).
15. The length of the first primal phase (``solve_sdp(phase_length=...)``; later phases grow by
   ``phase_growth``): 2000 (the default) against shorter ones, side by side at the benchmark's
   budgets — Pima 120 s, Bank Notes and MNIST-PCA 300 s, both γ (``--phase-limit`` scales them,
   ``--phase-lengths`` and ``--phase-datasets`` choose). At 210 ms per MNIST iteration the
   default's first dual phase would start after 420 s. Same measures as part 14.
16. The active-set interior point on the small sets (Iris, Spiral, both γ) from a short ADMM
   warm start (``--warm-iterations``, default 700, on the rows as given) against the full
   interior point, side by side, ``--small-repeats`` runs each: status, bound, the time to a
   certified gap of 1e-3 (the rule of ``benchmarks/sdp.py``, warm-up included), medians and
   their ratio.
17. Cholesky factorisations above ``BLAS_TILE_MAX`` rows (``convexnn._linalg``; OpenBLAS's
   threaded potrf crashed there): LAPACK's potrf on one BLAS thread (what the interior points
   did before this part) against the factorisation by tiles on all threads
   (``cholesky_in_place``, now), and the threaded potrf itself where it is safe (≤ 14,500
   rows), on random positive definite matrices G + Gᵀ + 4√N·I (G Gaussian) of
   ``--cholesky-sizes`` rows; medians of ``--cholesky-repeats``, the ratio, and each factor's
   relative residual ‖M x − b‖/‖b‖ for one solve.

Part 3 runs the plain residual-balancing schedule (``dual_phases=False``), whose certificate it
diagnoses. Running some parts updates those entries of an existing JSON and keeps the others.

    python benchmarks/sdp_diagnostics.py                 # all parts (about 60 minutes on 2 cores)
    python benchmarks/sdp_diagnostics.py --parts 1,2     # only the timings

Prints plain text and writes JSON (default benchmarks/results/sdp_diagnostics.json).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date

import numpy as np

from _common import machine  # noqa: E402  (benchmarks/ is on sys.path)
from convexnn.datasets import prepare
from convexnn.report import clean
from convexnn.sdp import solve_sdp
from convexnn.sdp.admm import solve_admm
from convexnn.sdp.formulation import SDPFormulation


def scaled_form(name, reg):
    """The formulation the native solver builds (data divided by a power of two, reg likewise)."""
    s = prepare(name, protocol="paper")
    X = s.X_train
    rms = float(np.sqrt(np.mean(np.sum(X**2, axis=1))))
    a = 2.0 ** round(np.log2(rms))
    return SDPFormulation(X / a, s.Y_train, reg / a), s


def median_time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def part_congruence(names, repeats):
    from convexnn.sdp.formulation import block_congruence, psd_part

    rows = []
    for name in names:
        form, _ = scaled_form(name, 0.1)
        res = solve_admm(form, max_iter=50, rho=0.05 * form.reg, refine=0)
        zeta, rho = res.solution["zeta"], res.solution["rho"]
        A = 2.0 * form.prox(zeta, rho) - zeta
        h, P, K = form.face_basis
        td = median_time(lambda: form.congruence(A), repeats)
        tb = median_time(lambda: block_congruence(A, form.n, form.d, h, P, K), repeats)
        C = block_congruence(A, form.n, form.d, h, P, K)
        rank = int(psd_part(C)[0].size)
        te = median_time(lambda: np.linalg.eigh(C), repeats)  # what psd_part does without a hint
        tp = median_time(lambda: psd_part(C, rank_hint=rank), repeats)
        rows.append({"dataset": name, "p": form.p, "q": form.q, "dense_s": td, "block_s": tb,
                     "congruence_ratio": td / tb, "eigh_full_s": te, "eigh_positive_s": tp,
                     "positive_rank": rank, "eigh_ratio": te / tp})
        print(f"projection {name:<10} p={form.p:<5} NᵀAN dense {td:.4f} s  block {tb:.4f} s  "
              f"ratio {td / tb:.2f} | eigh full {te:.4f} s  positive part (rank {rank}) {tp:.4f} s  "
              f"ratio {te / tp:.2f}", flush=True)
    return rows


def part_iteration(names, iters, repeats):
    rows = []
    for name in names:
        form, _ = scaled_form(name, 0.1)
        form.N
        form.slater_point()
        k = iters.get(name, 200)
        t = median_time(lambda: solve_admm(form, max_iter=k, rho=0.05 * form.reg, refine=0), repeats)
        rows.append({"dataset": name, "p": form.p, "iterations": k, "ms_per_iteration": 1e3 * t / k})
        print(f"admm       {name:<10} p={form.p:<5} {1e3 * t / k:.3f} ms/iteration "
              f"({k} iterations incl. certificates)", flush=True)
    return rows


def part_certificate(cap):
    form, _ = scaled_form("iris", 0.1)
    res = solve_admm(form, time_limit=cap, rho=0.05 * form.reg, dual_phases=False)
    zeta, rho = res.solution["zeta"], res.solution["rho"]
    Lam = form.prox(zeta, rho)
    G, y, W = form.multipliers_from_prox(zeta, Lam, rho)
    cert = form.certify(G, y, W)
    S = form.congruence(form.dual_matrix(G, y, W), structured=False)
    w = np.linalg.eigvalsh(S)
    # the face step's multipliers ρ(Z' − (2Λ − ζ)) are PSD on the face; the prox multipliers
    # differ from them by ρ·Nᵀ(Z' − Λ)N, the dual infeasibility the certificate pays for
    Zf, _ = form.face_project(2.0 * Lam - zeta)
    infeas = float(np.linalg.norm(rho * form.congruence(Zf - Lam, structured=False), 2))
    Z, _ = form.face_project(Lam)
    B = form.blocks
    out = {"time_s": res.time_s, "iterations": res.iterations, "value": res.value,
           "lower_bound": res.lower_bound, "dual_value_t1": cert.dual_value,
           "generalised_lambda_min": cert.lambda_min, "t_max": cert.t_max,
           "n_negative": int(np.sum(w < 0)), "most_negative": float(w[0]),
           "slater_mu": form.slater_point()[1], "trace": float(np.trace(Z)),
           "trace_aa_plus_bb": float(np.trace(Z[B.a, B.a]) + np.trace(Z[B.b, B.b])),
           "tau_default": form.trace_bound(), "tau_upper_175": form.trace_bound(1.75),
           "sigma_max_sq": float(np.linalg.norm(form.X, 2) ** 2),
           "rho": rho, "rho_over_reg": rho / form.reg, "prox_face_multiplier_gap": infeas}
    print("certificate iris reg 0.1 after {time_s:.0f} s ({iterations} it): value {value:.6g}, "
          "bound {lower_bound:.6g}, dual value at t=1 {dual_value_t1:.6g}".format(**out))
    print("  S: {n_negative} negative eigenvalues, most negative {most_negative:.2e}; Slater "
          "mu {slater_mu:.2e}; generalised lambda_min {generalised_lambda_min:.3f}, t_max "
          "{t_max:.3f}".format(**out))
    print("  tr Lambda {trace:.1f} (aa+bb {trace_aa_plus_bb:.1f}); certified tau {tau_default:.0f}, "
          "with U = 1.75: {tau_upper_175:.0f}; sigma_max^2 {sigma_max_sq:.1f}".format(**out))
    print("  rho {rho:.3g} = {rho_over_reg:.0f} reg; ||rho N'(Z - Lambda)N||_2 = "
          "{prox_face_multiplier_gap:.2e}".format(**out), flush=True)
    return out


def _native_row(tag, name, reg, setting, choice, res, note="", **extra):
    """One side-by-side row of parts 5, 6 and 14: the JSON fields every native run shares plus
    ``extra``, printed as one line (``note`` before the iteration count)."""
    print(f"{tag:<10} {name:<5} reg {reg:<5} {setting} {str(choice):<5}: bound {res.lower_bound:.6g}, "
          f"value {res.value:.6g}{note} after {res.iterations} it, {res.time_s:.1f} s", flush=True)
    return {"dataset": name, "reg": reg, setting: choice, "time_s": res.time_s,
            "iterations": res.iterations, "value": res.value, "lower_bound": res.lower_bound, **extra}


def part_schedule(cap):
    rows = []
    for reg in (0.1, 0.01):
        form, _ = scaled_form("iris", reg)
        for phases in (False, True):
            res = solve_admm(form, time_limit=cap, rho=0.05 * form.reg, dual_phases=phases)
            rows.append(_native_row("schedule", "iris", reg, "dual_phases", phases, res))
    return rows


def part_polish(cap):
    rows = []
    for name, reg, limit in (("iris", 0.1, cap), ("iris", 0.01, cap), ("pima", 0.1, 4 * cap)):
        form, _ = scaled_form(name, reg)
        for refine in (0, 150):
            res = solve_admm(form, time_limit=limit, rho=0.05 * form.reg, refine=refine)
            helped = sum(1 for h in res.history if h.get("refined"))
            rows.append(_native_row("polish", name, reg, "refine", refine, res,
                                    f" ({helped} polishes raised the bound)", polishes_that_helped=helped))
    return rows


def part_ipm():
    rows = []
    for name in ("random:0", "iris"):
        s = prepare(name, protocol="paper")
        res = solve_sdp(s.X_train, s.Y_train, 0.1, solver="ipm")
        rows.append({"dataset": name, "value": res.value, "lower_bound": res.lower_bound,
                     "gap": res.gap, "status": res.status, "iterations": res.iterations,
                     "time_s": res.time_s})
        print(f"ipm        {name:<10} reg 0.1: value {res.value:.6g} bound {res.lower_bound:.6g} "
              f"gap {res.gap:.2e} {res.status} after {res.iterations} it, {res.time_s:.1f} s", flush=True)
    return rows


def part_balance():
    rows = []
    cases = ([(f"random:{i}", reg, 5.0) for i in range(10) for reg in (0.1, 0.01)]
             + [(name, reg, 15.0) for name in ("spiral", "iris") for reg in (0.1, 0.01)]
             + [(name, 0.1, 60.0) for name in ("pima", "banknote")])
    for name, reg, limit in cases:
        s = prepare(name, protocol="paper")
        for balance in (False, True):
            res = solve_sdp(s.X_train, s.Y_train, reg, solver="native", time_limit=limit, balance_rows=balance,
                            relu_scale=1.0)
            rows.append({"dataset": name, "reg": reg, "balance_rows": balance, "time_s": res.time_s,
                         "iterations": res.iterations, "value": res.value,
                         "lower_bound": res.lower_bound, "status": res.status})
            print(f"balance    {name:<9} reg {reg:<5} rows {'balanced' if balance else 'as given'}: "
                  f"bound {res.lower_bound:.6g}, value {res.value:.6g} after {res.iterations} it, "
                  f"{res.time_s:.1f} s, {res.status}", flush=True)
    return rows


def part_relu_scale(limit, names):
    from convexnn.sdp.formulation import relu_block_scale

    rows = []
    cases = [(name, reg, (1.0, 0.5, 0.25, 0.125)) for name in names for reg in (0.1, 0.01)]
    for name, reg, factors in cases:
        s = prepare(name, protocol="paper")
        auto = relu_block_scale(s.n_train, s.d + s.c)
        budget = 15.0 if s.n_train <= 100 else limit
        for f in factors:
            res = solve_sdp(s.X_train, s.Y_train, reg, solver="native", time_limit=budget, relu_scale=f)
            rows.append({"dataset": name, "reg": reg, "relu_scale": f, "auto": f == auto,
                         "time_s": res.time_s, "iterations": res.iterations, "value": res.value,
                         "lower_bound": res.lower_bound, "status": res.status})
            print(f"relu scale {name:<10} reg {reg:<5} f {f:<6g}{' (auto)' if f == auto else '       '}: "
                  f"bound {res.lower_bound:.6g}, value {res.value:.6g} after {res.iterations} it, "
                  f"{res.time_s:.1f} s, {res.status}", flush=True)
    return rows


def _ipm_side_by_side(tag, cases, settings):
    """The interior point on each (data, reg) of ``cases`` under each setting, side by side:
    ``settings`` is a list of (fields recorded in the row, keyword arguments of solve_sdp, label)."""
    from sdp import first_time  # benchmarks/sdp.py: the same "time to gap" rule as its table

    rows = []
    for name, reg in cases:
        s = prepare(name, protocol="paper")
        for fields, kwargs, label in settings:
            res = solve_sdp(s.X_train, s.Y_train, reg, solver="ipm", tol=1e-4, **kwargs)
            t3, t4 = first_time(res.history, 1e-3), first_time(res.history, 1e-4)
            rows.append({"dataset": name, "reg": reg, **fields, "iterations": res.iterations,
                         "time_s": res.time_s, "value": res.value, "lower_bound": res.lower_bound,
                         "gap": res.gap, "status": res.status, "t_gap_1e-3": t3, "t_gap_1e-4": t4})
            print(f"{tag:<10} {name:<9} reg {reg:<5} {label}: {res.status} after "
                  f"{res.iterations} it, {res.time_s:.2f} s, bound {res.lower_bound:.7g}, gap {res.gap:.1e}, "
                  f"t(1e-3) {'—' if t3 is None else f'{t3:.2f}'} s, t(1e-4) {'—' if t4 is None else f'{t4:.2f}'} s",
                  flush=True)
    return rows


def _ipm_cases(n_random):
    return [(f"random:{i}", reg) for i in range(n_random) for reg in (0.1, 0.01)] + [
        (name, reg) for name in ("spiral", "iris") for reg in (0.1, 0.01)]


def part_step_fraction():
    return _ipm_side_by_side("ipm step", _ipm_cases(4), [
        ({"step_fraction": f}, {"step_fraction": f}, f"fraction {f:<5}") for f in (0.98, 0.9, 0.8)])


def part_refinement():
    return _ipm_side_by_side("ipm refine", _ipm_cases(4), [
        ({"refine": r, "predictor_refine": p}, {"refine": r, "predictor_refine": p}, f"({r}, {p})")
        for r, p in ((2, 2), (2, 0), (3, 0))])


def part_sigma_power():
    return _ipm_side_by_side("ipm sigma", _ipm_cases(6), [
        ({"sigma_power": p}, {"sigma_power": p}, f"power {p:<4}") for p in (3.0, 4.0, 4.5)])


def part_relu_rule():
    from convexnn.sdp.formulation import relu_block_scale

    rows = []
    for name, budget in (("ionosphere", 60.0), ("pima", 120.0), ("banknote", 60.0)):
        s = prepare(name, protocol="paper")
        f_old = float(min(1.0, 2.0 ** round(0.5 * np.log2(64.0 / s.n_train))))  # the rule of 01b5e3c
        f_new = relu_block_scale(s.n_train, s.d + s.c)
        for reg in (0.1, 0.01):
            for rule, f in (("f²n ≈ 64", f_old), ("f ≈ 11(d+c)/n", f_new)):
                res = solve_sdp(s.X_train, s.Y_train, reg, solver="native", time_limit=budget, relu_scale=f)
                rows.append({"dataset": name, "reg": reg, "rule": rule, "relu_scale": f, "budget_s": budget,
                             "time_s": res.time_s, "iterations": res.iterations, "value": res.value,
                             "lower_bound": res.lower_bound, "gap": res.gap, "status": res.status})
                print(f"relu rule  {name:<10} reg {reg:<5} {rule:<15} f {f:<6g}: bound {res.lower_bound:.6g}, "
                      f"value {res.value:.6g}, gap {res.gap:.1e} after {res.iterations} it, {res.time_s:.1f} s",
                      flush=True)
    return rows


def _closest_pairs(X, k=3):
    """The k smallest 1 − cos (nearly parallel) and 1 + cos (nearly antiparallel) over row pairs."""
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    C = np.clip(U @ U.T, -1.0, 1.0)
    iu = np.triu_indices(len(X), 1)
    c = C[iu]
    return np.sort(1.0 - c)[:k].tolist(), np.sort(1.0 + c)[:k].tolist(), C


def part_near_parallel():
    from convexnn.sdp import _power_of_two_scale
    from convexnn.sdp.ipm import solve_ipm

    out = {"geometry": [], "ipm": [], "clarabel": []}
    for name in ("spiral", "iris"):
        s = prepare(name, protocol="paper")
        a = _power_of_two_scale(s.X_train)
        Xr = SDPFormulation(s.X_train, s.Y_train, 0.1).X  # rows after the exact merges
        par, anti, C = _closest_pairs(Xr)
        out["geometry"].append({"dataset": name, "n_reduced": len(Xr), "one_minus_cos": par,
                                "one_plus_cos": anti, "data_scale": a})
        print(f"near-par   {name:<9} n = {len(Xr)} after merges, data scale a = {a:g}: smallest 1 − cos "
              f"{', '.join(f'{v:.1e}' for v in par)}; smallest 1 + cos {', '.join(f'{v:.1e}' for v in anti)}",
              flush=True)
        for reg in (0.1, 0.01):
            for mult in (1.0, 2.0, 0.5):
                form = SDPFormulation(s.X_train / (a * mult), s.Y_train, reg / (a * mult))
                res = solve_ipm(form, tol=1e-4)
                W = res.solution["W"]
                n = form.n
                top = []
                for flat in np.argsort(-np.triu(W).ravel())[:3]:
                    i, j = np.unravel_index(flat, W.shape)
                    top.append({"W": float(2 * W[i, j]), "rows": [int(i % n), int(j % n)],
                                "cos": float(C[i % n, j % n])})
                pos = W[W > 0]
                med = float(2 * np.median(pos)) if pos.size else 0.0
                out["ipm"].append({"dataset": name, "reg": reg, "scale": a * mult, "value": res.value,
                                   "lower_bound": res.lower_bound, "gap": res.gap, "status": res.status,
                                   "iterations": res.iterations, "time_s": res.time_s,
                                   "largest_multipliers": top, "median_multiplier": med})
                print(f"near-par   {name:<9} reg {reg:<5} IPM at scale {a * mult:<6g}: bound {res.lower_bound:.7g}, "
                      f"value {res.value:.7g}, gap {res.gap:.1e}, {res.status} after {res.iterations} it; "
                      f"largest multipliers " + ", ".join(f"{e['W']:.3g} (cos {e['cos']:+.9f})" for e in top)
                      + f"; median {med:.1e}", flush=True)
    s = prepare("spiral", protocol="paper")
    a = _power_of_two_scale(s.X_train)
    try:
        from convexnn.sdp.reference import solve_cvxpy
    except ImportError:  # pragma: no cover - the cvxpy extra is optional
        return out
    for reg in (0.1, 0.01):
        for scale in (1.0, a, a / 2):
            form = SDPFormulation(s.X_train / scale, s.Y_train, reg / scale)
            try:
                res = solve_cvxpy(form, solver="clarabel")
            except Exception as exc:  # the extra is missing, or the solver refuses: report it
                print(f"near-par   clarabel skipped: {type(exc).__name__}: {exc}")
                return out
            rec = {"dataset": "spiral", "reg": reg, "scale": scale, "status": res.status,
                   "solver_value": res.info.get("solver_value"), "lower_bound": res.lower_bound,
                   "time_s": res.time_s}
            S = res.solution.get("S")
            if S is not None:
                n = form.n
                L = res.solution["Lambda"][:2 * n, :2 * n]
                ii = np.arange(n)
                off = L.copy()
                off[ii, ii + n] = np.inf
                off[ii + n, ii] = np.inf
                rec.update(lambda_min_S=float(np.linalg.eigvalsh(0.5 * (S + S.T))[0]),
                           max_abs_diag_ab=float(np.abs(L[ii, ii + n]).max()), min_relu=float(off.min()))
            out["clarabel"].append(rec)
            extra = (f"; λ_min(S) {rec['lambda_min_S']:.1e}, max|diag Λ_αβ| {rec['max_abs_diag_ab']:.1e}, "
                     f"min ReLU entry {rec['min_relu']:.1e}") if S is not None else ""
            val = rec["solver_value"]
            print(f"near-par   spiral    reg {reg:<5} Clarabel at scale {scale:<6g}: value "
                  f"{'—' if val is None else f'{val:.7g}'}, certified bound {res.lower_bound:.7g}, "
                  f"{res.status} ({res.time_s:.1f} s){extra}", flush=True)
    return out


def _budgeted_runs(tag, runs, setting, choices):
    """Native solves side by side under a time budget, one per choice of the solver option
    ``setting``: ``runs`` lists (data set, budget in s); both γ. Parts 14 and 15."""
    from sdp import first_time  # benchmarks/sdp.py: the benchmark's rule for t(gap)

    rows = []
    for name, budget in runs:
        split = prepare(name, protocol="paper")
        for reg in (0.1, 0.01):
            for choice in choices:
                res = solve_sdp(split.X_train, split.Y_train, reg, solver="native", tol=1e-4,
                                time_limit=budget, **{setting: choice})
                t3 = first_time(res.history, 1e-3)
                resid = res.info["primal_residual"]
                note = (f", gap {res.gap:.2e}, residual {resid:.1e}, t(1e-3) "
                        f"{'—' if t3 is None else f'{t3:.1f} s'}")
                rows.append(_native_row(tag, name, reg, setting, choice, res, note, gap=res.gap,
                                        primal_residual=resid, budget_s=budget,
                                        **{"t_gap_1e-3": t3}))
    return rows


def part_restore(limit):
    return _budgeted_runs("restore", [("iris", 0.25 * limit), ("pima", limit)], "restore_primal",
                          (False, "auto"))


def part_phase_length(scale, lengths, names):
    budgets = {"pima": 120.0, "banknote": 300.0, "mnist-pca": 300.0}
    return _budgeted_runs("phase", [(name, scale * budgets.get(name, 120.0)) for name in names],
                          "phase_length", lengths)


def part_active_small(warm_iterations, repeats):
    """Part 16: on the small sets, the active-set interior point from a short ADMM warm start
    (a fixed number of iterations on the rows as given) against the full interior point, side by
    side, ``repeats`` times each: status, iterations, bound and the time to a certified gap of
    1e-3 (the rule of ``benchmarks/sdp.py``, warm-up included); the medians and their ratio."""
    from sdp import first_time  # noqa: E402  (benchmarks/ is on sys.path)

    rows = []
    for name in ("iris", "spiral"):
        s = prepare(name, protocol="paper")
        for reg in (0.1, 0.01):
            full, active = [], []
            for _ in range(repeats):
                t = time.perf_counter()
                res = solve_sdp(s.X_train, s.Y_train, reg, solver="ipm", tol=1e-4, time_limit=120)
                full.append({"time_s": time.perf_counter() - t, "status": res.status,
                             "iterations": res.iterations, "lower_bound": res.lower_bound,
                             "t_1e-3": first_time(res.history, 1e-3)})
                t = time.perf_counter()
                adm = solve_sdp(s.X_train, s.Y_train, reg, solver="native", balance_rows=False,
                                max_iter=warm_iterations)
                warm = time.perf_counter() - t
                res = solve_sdp(s.X_train, s.Y_train, reg, solver="ipm-active", warm_start=adm,
                                tol=1e-4, time_limit=120)
                hit = first_time(res.history, 1e-3)
                active.append({"time_s": time.perf_counter() - t, "warmup_s": warm,
                               "status": res.status, "iterations": res.iterations,
                               "lower_bound": res.lower_bound, "value": res.value,
                               "t_1e-3": None if hit is None else warm + hit,
                               "rounds": res.info["rounds"], "added": res.info["added_per_round"],
                               "working_set": res.info["working_set"]})

            def med(runs, key):
                vals = [r[key] for r in runs if r[key] is not None]
                return float(np.median(vals)) if len(vals) == len(runs) else None

            row = {"dataset": name, "reg": reg, "warm_iterations": warm_iterations, "ipm": full,
                   "ipm_active": active, "ipm_t_1e-3": med(full, "t_1e-3"),
                   "active_t_1e-3": med(active, "t_1e-3"), "ipm_time_s": med(full, "time_s"),
                   "active_time_s": med(active, "time_s")}
            a, b = row["ipm_t_1e-3"], row["active_t_1e-3"]
            row["ratio_t_1e-3"] = a / b if a is not None and b is not None else None
            rows.append(row)

            def fmt(v):
                return "—" if v is None else f"{v:.2f}"

            print(f"active-small {name:<7} reg={reg:<5} ipm: {full[-1]['status']:<10} "
                  f"bound {full[-1]['lower_bound']:.6g} t(1e-3) {fmt(a)} s, total {fmt(row['ipm_time_s'])} s | "
                  f"ipm-active after {warm_iterations} ADMM its: {active[-1]['status']:<10} "
                  f"bound {active[-1]['lower_bound']:.6g} t(1e-3) {fmt(b)} s, total "
                  f"{fmt(row['active_time_s'])} s, rounds {[r['rounds'] for r in active]} | "
                  f"ratio {fmt(row['ratio_t_1e-3'])} (medians of {repeats})", flush=True)
    return rows


def part_cholesky(sizes, repeats):
    """Part 17: one factorisation of N rows by potrf on one thread, by blocks on all threads and,
    where it is safe, by the threaded potrf, on the same matrix, ``repeats`` times each."""
    import scipy.linalg as sla
    from threadpoolctl import threadpool_limits

    from convexnn import _linalg

    rows = []
    for N in sizes:
        rng = np.random.default_rng(N)
        G = rng.standard_normal((N, N))
        M0 = G + G.T  # not B Bᵀ: numpy's threaded syrk crashes at these sizes too (docs §7.1)
        del G
        M0[np.diag_indices(N)] += 4.0 * np.sqrt(N)  # the spectrum of G + Gᵀ lies in ±2√(2N)
        b = rng.standard_normal(N)
        buf = np.empty_like(M0)
        work = (np.empty(N * N), np.empty(N * N // 4 + N))

        def lapack(threads):
            if threads == 1:
                with threadpool_limits(limits=1, user_api="blas"):
                    return sla.cho_factor(buf.T, lower=False, overwrite_a=True, check_finite=False)[0]
            return sla.cho_factor(buf.T, lower=False, overwrite_a=True, check_finite=False)[0]

        ways = {"one_thread": lambda: lapack(1),
                "blocked": lambda: _linalg.cholesky_in_place(buf, work=work)}
        if N <= 14_500:
            ways["threaded_potrf"] = lambda: lapack(0)
        row = {"rows": N, "block": _linalg.BLAS_TILE_MAX}
        for name, run in ways.items():
            times = []
            for _ in range(repeats):
                np.copyto(buf, M0)
                t = time.perf_counter()
                U = run()
                times.append(time.perf_counter() - t)
            x = sla.cho_solve((U, False), b, check_finite=False)
            row[name] = {"times_s": times, "median_s": float(np.median(times)),
                         "residual": float(np.linalg.norm(M0 @ x - b) / np.linalg.norm(b))}
        row["ratio"] = row["one_thread"]["median_s"] / row["blocked"]["median_s"]
        rows.append(row)
        extra = (f" | threaded potrf {row['threaded_potrf']['median_s']:.2f} s"
                 if "threaded_potrf" in row else "")
        print(f"cholesky N={N:<6} one thread {row['one_thread']['median_s']:.2f} s "
              f"(residual {row['one_thread']['residual']:.1e}) | blocked, all threads "
              f"{row['blocked']['median_s']:.2f} s (residual {row['blocked']['residual']:.1e}) | "
              f"ratio {row['ratio']:.2f}{extra} (medians of {repeats})", flush=True)
        del M0, buf, work
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17")
    ap.add_argument("--cholesky-sizes", default="13000,16500,20000", help="matrix rows in part 17")
    ap.add_argument("--cholesky-repeats", type=int, default=2, help="runs per method in part 17")
    ap.add_argument("--warm-iterations", type=int, default=700,
                    help="ADMM iterations before the active-set interior point in part 16")
    ap.add_argument("--small-repeats", type=int, default=3, help="runs per solver in part 16")
    ap.add_argument("--phase-limit", type=float, default=1.0,
                    help="factor on part 15's budgets (Pima 120 s, Bank Notes and MNIST-PCA 300 s)")
    ap.add_argument("--phase-lengths", default="2000,600", help="first primal phase lengths of part 15")
    ap.add_argument("--phase-datasets", default="pima,banknote,mnist-pca", help="data sets of part 15")
    ap.add_argument("--restore-limit", type=float, default=120.0,
                    help="seconds per Pima solve in part 14 (Iris gets a quarter)")
    ap.add_argument("--relu-limit", type=float, default=45.0, help="seconds per solve in part 8 (n > 100)")
    ap.add_argument("--relu-datasets", default="iris,ionosphere,pima,banknote,mnist-pca",
                    help="data sets of part 8")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--certificate-cap", type=float, default=30.0, help="seconds of ADMM before part 3")
    ap.add_argument("--out", default="benchmarks/results/sdp_diagnostics.json")
    args = ap.parse_args(argv)
    parts = {int(p) for p in args.parts.split(",")}
    out = {}
    if os.path.exists(args.out):  # keep the entries of parts not re-run
        with open(args.out) as fh:
            out = json.load(fh)
    out["meta"] = {"date": date.today().isoformat(), "machine": machine(), "parts_run": sorted(parts)}
    print(f"SDP-NN diagnostics, {out['meta']['date']}, {out['meta']['machine']}")
    if 1 in parts:
        out["congruence"] = part_congruence(["pima", "banknote", "mnist-pca"], args.repeats)
    if 2 in parts:
        out["iteration"] = part_iteration(["iris", "pima", "mnist-pca"],
                                          {"iris": 2000, "pima": 200, "mnist-pca": 40}, 3)
    if 3 in parts:
        out["certificate"] = part_certificate(args.certificate_cap)
    if 4 in parts:
        out["ipm"] = part_ipm()
    if 5 in parts:
        out["schedule"] = part_schedule(args.certificate_cap)
    if 6 in parts:
        out["polish"] = part_polish(args.certificate_cap)
    if 7 in parts:
        out["balance"] = part_balance()
    if 8 in parts:
        out["relu_scale"] = part_relu_scale(args.relu_limit, args.relu_datasets.split(","))
    if 9 in parts:
        out["step_fraction"] = part_step_fraction()
    if 10 in parts:
        out["relu_rule"] = part_relu_rule()
    if 11 in parts:
        out["near_parallel"] = part_near_parallel()
    if 12 in parts:
        out["refinement"] = part_refinement()
    if 13 in parts:
        out["sigma_power"] = part_sigma_power()
    if 14 in parts:
        out["restore_primal"] = part_restore(args.restore_limit)
    if 15 in parts:
        out["phase_length"] = part_phase_length(args.phase_limit,
                                                [int(v) for v in args.phase_lengths.split(",")],
                                                args.phase_datasets.split(","))
    if 16 in parts:
        out["active_small"] = part_active_small(args.warm_iterations, args.small_repeats)
    if 17 in parts:
        out["cholesky"] = part_cholesky([int(v) for v in args.cholesky_sizes.split(",")],
                                        args.cholesky_repeats)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(clean(out), fh, indent=2)
    print(f"\nJSON written to {args.out}")


if __name__ == "__main__":
    main()
