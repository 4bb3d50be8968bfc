"""Benchmark SDP-NN solvers on the reference datasets (paper protocol, no bias).

For each data set and reg ∈ {0.1, 0.01}: the native solver's time to a certified relative gap of
1e-3 and 1e-4 (its primal value vs its certified bound, first checkpoint where both hold), the
same for the default solver (`solver="auto"`, what ``convexnn sdp`` runs; its column also gives
SCS's time over auto's, both whole solves of the same run), for the native interior point
(`solver="ipm"`) where q is small enough, the active-set
interior point (`solver="ipm-active"`, its own cap ``--active-cap``, ADMM warm-up included) from
n = 100 on, and —
where they fit the caps — CVXPY+SCS on the paper's unreduced form (eps 1e-4, ≤ 1e5 iterations,
as the reference experiments) and CVXPY+Clarabel on the facially reduced form, each with the
solver's own value and the certified bound computed from its duals.

    python benchmarks/sdp.py                  # full run (tens of minutes on 2 cores)
    python benchmarks/sdp.py --quick          # random:0-1 and iris only
    python benchmarks/sdp.py --datasets iris --regs 0.1 --native-cap 60
    python benchmarks/sdp.py --datasets pima,banknote --update   # re-run rows, keep the others
    python benchmarks/sdp.py --solvers ipm --update --native-cap 120   # re-run one solver only
    python benchmarks/sdp.py --solvers auto,scs --update --datasets iris,spiral   # default vs SCS
    python benchmarks/sdp.py --solvers ipm-active --update --datasets pima,banknote --active-cap 900
    python benchmarks/sdp.py --datasets mnist-pca --regs 0.1 --solvers native --native-cap 2400 \
        --history --out benchmarks/results/sdp_mnist_2400s.json   # one long run, with its trace
    python benchmarks/sdp.py --render         # re-print the table of the saved JSON
    python benchmarks/sdp.py --compare OLD.json NEW.json --solver ipm   # two runs, row by row

For a before/after comparison of two commits, run one right after the other on the same machine
(e.g. the old commit from a ``git worktree`` with ``PYTHONPATH=<worktree>/src``), each with its own
``--out``, then ``--compare`` prints iterations, time, ms per iteration, the speed-up and the
times to a certified gap of 1e-3 and 1e-4 side by side.

Prints a markdown table and writes JSON (default benchmarks/results/sdp.json). Every entry records
the commit and the machine it was measured on, since --update mixes runs.
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
        # interior-point records from before e1bfd48 carry no slack error (their S ⪰ 0 exactly);
        # later ones record the bound on how far their value may lie below the optimum
        slack = h.get("slack_error", 0.0 if "mu" in h else np.inf)
        if (h.get("gap") is not None and abs(h["gap"]) <= tol
                and h.get("primal_residual", np.inf) <= tol
                and slack <= tol * abs(h["value"])):
            return h["time_s"]
    return None


def run_native(split, reg, cap, solver="native", history=False):
    res = solve_sdp(split.X_train, split.Y_train, reg, solver=solver, tol=1e-4, time_limit=cap)
    out = {"commit": _commit(), "machine": machine(), "cap_s": cap, "value": res.value,
           "lower_bound": res.lower_bound, "gap": res.gap, "status": res.status,
           "iterations": res.iterations, "time_s": res.time_s,
           "t_gap_1e-3": first_time(res.history, 1e-3), "t_gap_1e-4": first_time(res.history, 1e-4)}
    if solver == "auto":  # what it ran
        out["route"] = res.info.get("auto")
    if solver == "ipm-active":  # the ADMM warm-up's share and the final working set
        out["warmup"] = res.info.get("warmup")
        out["working_set"] = res.info.get("working_set")
        out["inequalities"] = res.info.get("inequalities")
        out["round_starts"] = res.info.get("round_starts")
        out["added_per_round"] = res.info.get("added_per_round")
    out["primal_residual"] = res.info.get("primal_residual")
    if history:  # every record, for a trace of value, bound and residuals over time
        out["history"] = [{k: v for k, v in h.items() if isinstance(v, (bool, int, float, str))}
                          for h in res.history]
    return out


def run_cvxpy(split, reg, solver, cap):
    t = time.perf_counter()
    try:
        res = solve_sdp(split.X_train, split.Y_train, reg, solver=solver, time_limit=cap)
    except Exception as exc:  # report, never crash the benchmark
        return {"commit": _commit(), "machine": machine(),
                "status": f"error: {type(exc).__name__}: {exc}"[:200], "time_s": time.perf_counter() - t}
    return {"commit": _commit(), "machine": machine(), "solver_value": res.info.get("solver_value"),
            "value": res.value, "lower_bound": res.lower_bound, "status": res.status, "time_s": res.time_s,
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
    ap.add_argument("--ipm-max-q", type=int, default=90,
                    help="skip the native interior point above this q (O(q^4) memory, O(q^6) time)")
    ap.add_argument("--solvers", default="native,ipm,ipm-active,scs,clarabel",
                    help="comma-separated subset of native,ipm,ipm-active,scs,clarabel to run")
    ap.add_argument("--active-cap", type=float, default=900.0,
                    help="seconds per active-set interior-point solve, ADMM warm-up included")
    ap.add_argument("--active-min-n", type=int, default=100,
                    help="run the active-set interior point from this n on (below, 'ipm' applies)")
    ap.add_argument("--out", default="benchmarks/results/sdp.json")
    ap.add_argument("--history", action="store_true",
                    help="also store each solve's history (every certified checkpoint) in the JSON")
    ap.add_argument("--update", action="store_true",
                    help="merge into the existing --out JSON: re-run rows replace old ones, the others "
                         "are kept and marked with the commit and machine that produced them")
    ap.add_argument("--render", action="store_true",
                    help="solve nothing: print the markdown table of the existing --out JSON")
    ap.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), default=None,
                    help="solve nothing: compare two saved runs row by row (see --solver)")
    ap.add_argument("--solver", default="ipm", choices=["native", "auto", "ipm", "ipm_active"],
                    help="the solver column --compare reads")
    args = ap.parse_args(argv)
    if args.compare:
        print(compare(*args.compare, key=args.solver))
        return
    if args.render:
        with open(args.out) as fh:
            saved = json.load(fh)
        print(table(saved["rows"], saved["meta"]))
        return
    if args.datasets:
        names = args.datasets.split(",")
    elif args.quick:
        names = ["random:0", "random:1", "iris"]
    else:
        names = [f"random:{k}" for k in range(10)] + ["spiral", "iris", "ionosphere", "pima", "banknote", "mnist-pca"]
    regs = [float(r) for r in args.regs.split(",")]
    solvers = set(args.solvers.split(","))
    known = {"native", "auto", "ipm", "ipm-active", "scs", "clarabel"}
    if not solvers <= known:
        ap.error(f"--solvers: unknown {sorted(solvers - known)}")
    rows = []
    for name in names:
        split = prepare(name, protocol="paper")
        n, d, c = split.n_train, split.d, split.c
        q = n + d + c
        for reg in regs:
            cap = args.native_cap or (30.0 if n <= 100 else 300.0 if n >= 600 else 120.0)
            row = {"dataset": name, "reg": reg, "n": n, "d": d, "c": c, "q": q, "native_cap_s": cap,
                   "commit": _commit()}
            if "native" in solvers:
                row["native"] = run_native(split, reg, cap, history=args.history)
            if "auto" in solvers:
                row["auto"] = run_native(split, reg, cap, solver="auto", history=args.history)
            if "ipm" in solvers and q <= args.ipm_max_q:
                row["ipm"] = run_native(split, reg, cap, solver="ipm", history=args.history)
            if "ipm-active" in solvers and n >= args.active_min_n:
                row["ipm_active"] = run_native(split, reg, args.active_cap, solver="ipm-active",
                                               history=args.history)
            if "scs" in solvers and n <= args.scs_max_n:
                row["scs_paper"] = run_cvxpy(split, reg, "scs", args.scs_cap)
            if "clarabel" in solvers and q <= args.clarabel_max_q:
                row["clarabel_reduced"] = run_cvxpy(split, reg, "clarabel", None)
            rows.append(row)
            msg = [f"{name:<11} reg={reg:<5} n={n:<5}"]
            for key in ("native", "auto", "ipm", "ipm_active"):
                if key in row:
                    r_ = row[key]
                    msg.append(f"{key}: bound {r_['lower_bound']:.6g} value {r_['value']:.6g} gap "
                               f"{r_['gap']:.1e} {r_['status']} {r_['time_s']:.1f}s")
            for key in ("scs_paper", "clarabel_reduced"):
                if key in row:
                    msg.append(f"{key}: {row[key].get('solver_value')} bound {row[key].get('lower_bound')} "
                               f"{row[key]['time_s']:.1f}s")
            print(" | ".join(msg), file=sys.stderr, flush=True)
    meta = {"date": date.today().isoformat(), "machine": machine(), "protocol": "paper, no bias"}
    if args.update and os.path.exists(args.out):
        with open(args.out) as fh:
            old = json.load(fh)
        new = {(r["dataset"], r["reg"]): r for r in rows}
        merged = []
        for r in old.get("rows", []):
            r.setdefault("commit", "earlier")
            for key in ("native", "auto", "scs_paper", "clarabel_reduced", "ipm", "ipm_active"):
                if key in r:
                    r[key].setdefault("commit", r["commit"])
            fresh = new.pop((r["dataset"], r["reg"]), None)
            if fresh is not None:  # solvers re-run now replace their old entries, the others stay
                r.update({k: v for k, v in fresh.items()
                          if k in ("native", "auto", "ipm", "ipm_active", "scs_paper", "clarabel_reduced")})
            merged.append(r)
        kept = merged + list(new.values())
        rows = []
        order = {nm: i for i, nm in enumerate([f"random:{k}" for k in range(10)] + [
            "spiral", "iris", "ionosphere", "pima", "banknote", "mnist-pca"])}
        rows = sorted(kept, key=lambda r: (order.get(r["dataset"], 99), -r["reg"]))
    print(table(rows, meta))
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(clean({"meta": meta, "rows": rows}), fh, indent=2)
    print(f"\nJSON written to {args.out}")


def _f(x, spec=".4g"):
    return "—" if x is None else format(x, spec)


def _cpu(entry) -> str:
    """The CPU model of an entry's machine (its description up to the first comma)."""
    return entry.get("machine", "unrecorded").split(",")[0]


def table(rows, meta) -> str:
    out = [f"SDP-NN benchmark, latest run {meta['date']} on {meta['machine']}; {meta['protocol']}. "
           "Rows keep the results of earlier runs: the last two columns name the commit and the "
           "CPU of each entry (2 cores throughout); compare times only within one machine.",
           "",
           "| data | reg | n | q | native bound | native value | gap | t(1e-3) s | t(1e-4) s | native status (time) "
           "| ms/iter | auto bound | auto t(1e-3) s | auto t(1e-4) s | auto status (time) | SCS time / auto time "
           "| IPM bound | IPM t(1e-3) s | IPM t(1e-4) s | IPM status (time) "
           "| active-set IPM bound | value | t(1e-3) s | status (time) "
           "| SCS paper value | SCS certified bound | SCS status (time) | Clarabel value | Clarabel bound "
           "| Clarabel status (time) | run | machine |",
           "|" + "---|" * 32]
    for r in rows:
        nat, ipm, act = r.get("native", {}), r.get("ipm", {}), r.get("ipm_active", {})
        auto, scs, cl = r.get("auto", {}), r.get("scs_paper", {}), r.get("clarabel_reduced", {})
        entries = (nat, auto, ipm, act, scs, cl)
        commits = {e.get("commit", r.get("commit", "earlier")) for e in entries if e}
        run = ", ".join(sorted(commits)) if len(commits) > 1 else (commits.pop() if commits else "—")
        cpus = ", ".join(sorted({_cpu(e) for e in entries if e})) or "—"
        out.append(
            f"| {r['dataset']} | {r['reg']} | {r['n']} | {r['q']} | {_f(nat.get('lower_bound'), '.6g')} | "
            f"{_f(nat.get('value'), '.6g')} | {_f(nat.get('gap'), '.1e')} | {_f(nat.get('t_gap_1e-3'), '.2f')} | "
            f"{_f(nat.get('t_gap_1e-4'), '.2f')} | "
            f"{_status(nat)} | "
            f"{_f(1e3 * nat['time_s'] / nat['iterations'] if nat.get('iterations') else None, '.3g')} | "
            f"{_f(auto.get('lower_bound'), '.6g')} | {_f(auto.get('t_gap_1e-3'), '.2f')} | "
            f"{_f(auto.get('t_gap_1e-4'), '.2f')} | {_status(auto)} | {_versus(scs, auto)} | "
            f"{_f(ipm.get('lower_bound'), '.6g')} | {_f(ipm.get('t_gap_1e-3'), '.2f')} | "
            f"{_f(ipm.get('t_gap_1e-4'), '.2f')} | "
            f"{_status(ipm)} | "
            f"{_f(act.get('lower_bound'), '.6g')} | {_f(act.get('value'), '.6g')} | "
            f"{_f(act.get('t_gap_1e-3'), '.1f')} | {_status(act)} | "
            f"{_f(scs.get('solver_value'), '.6g')} | {_f(scs.get('lower_bound'), '.6g')} | {_status(scs)} | "
            f"{_f(cl.get('solver_value'), '.6g')} | {_f(cl.get('lower_bound'), '.6g')} | {_status(cl)} | "
            f"{run} | {cpus} |")
    return "\n".join(out)


def compare(old_path, new_path, key="ipm") -> str:
    """Markdown table of two saved runs of one solver, matched by (data, reg)."""
    runs = []
    for path in (old_path, new_path):
        with open(path) as fh:
            saved = json.load(fh)
        runs.append({(r["dataset"], r["reg"]): r.get(key) for r in saved["rows"]})
    old, new = runs
    label = {"ipm": "interior point", "native": "native (ADMM)", "auto": "auto (the default)",
             "ipm_active": "active-set interior point"}[key]
    commits = [sorted({e.get("commit", "?") for e in run.values() if e}) for run in runs]
    cpus = sorted({_cpu(e) for run in runs for e in run.values() if e})
    out = [f"{label}: {', '.join(commits[0])} → {', '.join(commits[1])} on {', '.join(cpus)}", "",
           "| data | reg | iterations | time s | ms/iter | speed-up | t(1e-3) s | t(1e-4) s "
           "| certified bound | gap | status |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for k, b in old.items():
        a = new.get(k)
        if not a or not b:
            continue

        def pair(field, spec):
            return f"{_f(b.get(field), spec)} → {_f(a.get(field), spec)}"

        ms = [1e3 * e["time_s"] / e["iterations"] if e.get("iterations") else None for e in (b, a)]
        out.append(f"| {k[0]} | {k[1]} | {b['iterations']} → {a['iterations']} | {pair('time_s', '.2f')} | "
                   f"{_f(ms[0], '.0f')} → {_f(ms[1], '.0f')} | ×{b['time_s'] / a['time_s']:.2f} | "
                   f"{pair('t_gap_1e-3', '.2f')} | {pair('t_gap_1e-4', '.2f')} | "
                   f"{pair('lower_bound', '.6g')} | {pair('gap', '.1e')} | {b['status']} → {a['status']} |")
    return "\n".join(out)


def _versus(scs, auto) -> str:
    """SCS's whole solve over auto's, when both ran in the same run (same commit and machine) and
    SCS ended without an error."""
    same = scs and auto and scs.get("commit") == auto.get("commit") and scs.get("machine") == auto.get("machine")
    if not same or str(scs.get("status", "")).startswith("error") or not auto.get("time_s"):
        return "—"
    return f"{scs['time_s'] / auto['time_s']:.1f}×"


def _status(entry) -> str:
    return f"{entry['status']} ({entry['time_s']:.1f})" if entry else "—"


if __name__ == "__main__":
    main()
