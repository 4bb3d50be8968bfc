"""Benchmark SDP-NN solvers on the reference datasets (paper protocol, no bias).

For each data set and reg ∈ {0.1, 0.01}: the native solver's time to a certified relative gap of
1e-3 and 1e-4 (its primal value vs its certified bound, first checkpoint where both hold), and —
where they fit the caps — CVXPY+SCS on the paper's unreduced form (eps 1e-4, ≤ 1e5 iterations,
as the reference experiments) and CVXPY+Clarabel on the facially reduced form, each with the
solver's own value and the certified bound computed from its duals.

    python benchmarks/sdp.py                  # full run (tens of minutes on 2 cores)
    python benchmarks/sdp.py --quick          # random:0-1 and iris only
    python benchmarks/sdp.py --datasets iris --regs 0.1 --native-cap 60
    python benchmarks/sdp.py --datasets pima,banknote --update   # re-run rows, keep the others

Prints a markdown table and writes JSON (default benchmarks/results/sdp.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date

import numpy as np

from convexnn.datasets import prepare
from convexnn.report import clean
from _common import machine  # noqa: E402  (benchmarks/ is on sys.path)
from convexnn.sdp import solve_sdp


def _commit() -> str:
    """Short git hash of the code being measured (+ '-dirty' with uncommitted changes outside
    benchmarks/results), or 'unknown'."""
    import subprocess

    try:
        h = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                           check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":!benchmarks/results"],  # results being written are not code
                               capture_output=True, text=True, check=True).stdout.strip()
        return h + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def first_time(history, tol):
    for h in history:
        # records without residuals (certificate polish) cannot show primal accuracy: skipped
        if (h.get("gap") is not None and abs(h["gap"]) <= tol
                and h.get("primal_residual", np.inf) <= tol
                and h.get("slack_error", np.inf) <= tol * abs(h["value"])):
            return h["time_s"]
    return None


def run_native(split, reg, cap):
    res = solve_sdp(split.X_train, split.Y_train, reg, tol=1e-4, time_limit=cap)
    return {"value": res.value, "lower_bound": res.lower_bound, "gap": res.gap, "status": res.status,
            "iterations": res.iterations, "time_s": res.time_s,
            "t_gap_1e-3": first_time(res.history, 1e-3), "t_gap_1e-4": first_time(res.history, 1e-4)}


def run_cvxpy(split, reg, solver, cap):
    t = time.perf_counter()
    try:
        res = solve_sdp(split.X_train, split.Y_train, reg, solver=solver, time_limit=cap)
    except Exception as exc:  # report, never crash the benchmark
        return {"status": f"error: {type(exc).__name__}: {exc}"[:200], "time_s": time.perf_counter() - t}
    return {"solver_value": res.info.get("solver_value"), "value": res.value,
            "lower_bound": res.lower_bound, "status": res.status, "time_s": res.time_s,
            "iterations": res.iterations}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=None, help="comma-separated names (default: all reference sets)")
    ap.add_argument("--regs", default="0.1,0.01")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--native-cap", type=float, default=None, help="seconds per native solve (default by size)")
    ap.add_argument("--scs-cap", type=float, default=120.0)
    ap.add_argument("--clarabel-max-q", type=int, default=90, help="skip Clarabel above this q (O(q^4) memory)")
    ap.add_argument("--scs-max-n", type=int, default=80, help="skip SCS (paper form) above this n")
    ap.add_argument("--out", default="benchmarks/results/sdp.json")
    ap.add_argument("--update", action="store_true",
                    help="merge into the existing --out JSON: re-run rows replace old ones, the others "
                         "are kept and marked with the commit that produced them (column 'run')")
    args = ap.parse_args(argv)
    if args.datasets:
        names = args.datasets.split(",")
    elif args.quick:
        names = ["random:0", "random:1", "iris"]
    else:
        names = [f"random:{k}" for k in range(10)] + ["spiral", "iris", "ionosphere", "pima", "banknote", "mnist-pca"]
    regs = [float(r) for r in args.regs.split(",")]
    rows = []
    for name in names:
        split = prepare(name, protocol="paper")
        n, d, c = split.n_train, split.d, split.c
        q = n + d + c
        for reg in regs:
            cap = args.native_cap or (30.0 if n <= 100 else 300.0 if n >= 600 else 120.0)
            row = {"dataset": name, "reg": reg, "n": n, "d": d, "c": c, "q": q, "native_cap_s": cap,
                   "commit": _commit()}
            row["native"] = run_native(split, reg, cap)
            if n <= args.scs_max_n:
                row["scs_paper"] = run_cvxpy(split, reg, "scs", args.scs_cap)
            if q <= args.clarabel_max_q:
                row["clarabel_reduced"] = run_cvxpy(split, reg, "clarabel", None)
            rows.append(row)
            nat = row["native"]
            print(f"{name:<11} reg={reg:<5} n={n:<5} native: bound {nat['lower_bound']:.6g} value "
                  f"{nat['value']:.6g} gap {nat['gap']:.1e} {nat['status']} {nat['time_s']:.1f}s"
                  + (f" | scs {row['scs_paper'].get('solver_value')} bound {row['scs_paper'].get('lower_bound')} "
                     f"{row['scs_paper']['time_s']:.1f}s" if "scs_paper" in row else "")
                  + (f" | clarabel {row['clarabel_reduced'].get('solver_value')} "
                     f"{row['clarabel_reduced']['time_s']:.1f}s" if "clarabel_reduced" in row else ""),
                  file=sys.stderr, flush=True)
    meta = {"date": date.today().isoformat(), "machine": machine(), "protocol": "paper, no bias"}
    if args.update and os.path.exists(args.out):
        with open(args.out) as fh:
            old = json.load(fh)
        new = {(r["dataset"], r["reg"]): r for r in rows}
        kept = [r for r in old.get("rows", []) if (r["dataset"], r["reg"]) not in new]
        for r in kept:
            r.setdefault("commit", "earlier")
        order = {nm: i for i, nm in enumerate([f"random:{k}" for k in range(10)] + [
            "spiral", "iris", "ionosphere", "pima", "banknote", "mnist-pca"])}
        rows = sorted(kept + rows, key=lambda r: (order.get(r["dataset"], 99), -r["reg"]))
    print(table(rows, meta))
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(clean({"meta": meta, "rows": rows}), fh, indent=2)
    print(f"\nJSON written to {args.out}")


def _f(x, spec=".4g"):
    return "—" if x is None else format(x, spec)


def table(rows, meta) -> str:
    out = [f"SDP-NN benchmark, {meta['date']}, {meta['machine']}; {meta['protocol']}.",
           "",
           "| data | reg | n | q | native bound | native value | gap | t(1e-3) s | t(1e-4) s | native status (time) "
           "| ms/iter | SCS paper value | SCS certified bound | SCS time s | Clarabel value | Clarabel bound "
           "| Clarabel time s | run |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        nat, scs, cl = r["native"], r.get("scs_paper", {}), r.get("clarabel_reduced", {})
        out.append(
            f"| {r['dataset']} | {r['reg']} | {r['n']} | {r['q']} | {_f(nat['lower_bound'], '.6g')} | "
            f"{_f(nat['value'], '.6g')} | {_f(nat['gap'], '.1e')} | {_f(nat['t_gap_1e-3'], '.2f')} | "
            f"{_f(nat['t_gap_1e-4'], '.2f')} | {nat['status']} ({nat['time_s']:.1f}) | "
            f"{_f(1e3 * nat['time_s'] / nat['iterations'] if nat.get('iterations') else None, '.3g')} | "
            f"{_f(scs.get('solver_value'), '.6g')} | {_f(scs.get('lower_bound'), '.6g')} | {_f(scs.get('time_s'), '.1f')} | "
            f"{_f(cl.get('solver_value'), '.6g')} | {_f(cl.get('lower_bound'), '.6g')} | {_f(cl.get('time_s'), '.1f')} | "
            f"{r.get('commit', 'earlier')} |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
