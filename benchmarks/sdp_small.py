"""What ``solver="auto"`` gives against the full interior point on the small sets, side by side.

For q = n + d + c between ``AUTO_SMALL_ACTIVE_MIN_Q`` (60) and ``AUTO_IPM_MAX_Q`` (90) the default
solver first tries the active-set interior point from a short ADMM warm-up and falls back to the
full interior point (``solver="ipm"``) when that attempt does not end 'optimal'. This script runs
both on Spiral and Iris (paper protocol, as in ``benchmarks/sdp.py``) and Iris under the default
protocol (what ``convexnn fit iris`` solves), γ ∈ {0.1, 0.01}, alternating auto, ipm, auto, ... for
``--repeats`` runs each, and reports for each the median time to a certified gap of 1e-3 (the rule
of ``benchmarks/sdp.py``: gap, primal residual and slack error together) and of the whole solve,
the status and bound of the median run, what auto ran, and the ratio of the median times.

    python benchmarks/sdp_small.py                       # 6 cases, 3 runs each (~5 min on 2 cores)
    python benchmarks/sdp_small.py --cases iris:paper --regs 0.1 --repeats 5
    python benchmarks/sdp_small.py --render              # re-print the saved table
    python benchmarks/sdp_small.py --warmups 400,700,1000 --out /tmp/warmups.json   # the warm-up's length

With ``--warmups`` auto runs once per listed ADMM warm-up length (``AUTO_SMALL_WARMUP_ITERATIONS``,
set for the run) in each round of the alternation, instead of being compared with the full
interior point; the table then has one row per case and length.

Prints a markdown table and writes JSON (default benchmarks/results/sdp_small.json, the table next
to it as .md) with the commit and the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import dash as _f, add_case_args, add_output_args, machine, parse_cases, save_results, start  # noqa: E402
from sdp import _commit, first_time  # noqa: E402

from convexnn.datasets import prepare  # noqa: E402
from convexnn.sdp import SDPFormulation, solve_sdp  # noqa: E402

DEFAULT_CASES = "spiral:paper,iris:paper,iris:default"


def run(split, reg, solver, cap, warmup=None):
    import convexnn.sdp as sdp_mod

    default = sdp_mod.AUTO_SMALL_WARMUP_ITERATIONS
    if warmup is not None:
        sdp_mod.AUTO_SMALL_WARMUP_ITERATIONS = warmup
    try:
        t = time.perf_counter()
        res = solve_sdp(split.X_train, split.Y_train, reg, solver=solver, tol=1e-4, time_limit=cap)
    finally:
        sdp_mod.AUTO_SMALL_WARMUP_ITERATIONS = default
    wall = time.perf_counter() - t
    return {"method": res.method, "auto": res.info.get("auto"), "status": res.status,
            "value": res.value, "lower_bound": res.lower_bound, "gap": res.gap,
            "iterations": res.iterations, "time_s": wall, "t_gap_1e-3": first_time(res.history, 1e-3),
            "attempt": res.info.get("attempt"), "rounds": res.info.get("rounds")}


def median(runs, key):
    """The median of ``key`` over the runs, or None when any run lacks it (never reached)."""
    vals = [r[key] for r in runs]
    return None if any(v is None for v in vals) else float(np.median(vals))


def render_warmups(out):
    lines = [f"solver='auto' with ADMM warm-ups of different lengths, tol 1e-4, cap {out['cap_s']:g} s, "
             f"{out['repeats']} runs each, alternating, on {out['machine']} (commit {out['commit']}, "
             f"{out['date']}); times are medians.", "",
             "| data | protocol | reg | warm-up iterations | ran | statuses | t(1e-3) s | total s | rounds |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in out["rows"]:
        lines.append(f"| {r['data']} | {r['protocol']} | {r['reg']:g} | {r['warmup']} | {r['auto_ran']} "
                     f"| {', '.join(x['status'] for x in r['runs'])} | {_f(r['t_1e-3'])} | {_f(r['time_s'])} "
                     f"| {', '.join(str(x['rounds']) for x in r['runs'])} |")
    return "\n".join(lines)


def render(out):
    if "warmups" in out:
        return render_warmups(out)
    lines = [f"solver='auto' against the full interior point (solver='ipm'), tol 1e-4, cap {out['cap_s']:g} s, "
             f"{out['repeats']} runs each, alternating, on {out['machine']} (commit {out['commit']}, "
             f"{out['date']}); times are medians, status and bound those of the median-time run.", "",
             "| data | protocol | reg | q | auto ran | auto status | auto bound | auto t(1e-3) s | auto total s "
             "| ipm status | ipm bound | ipm t(1e-3) s | ipm total s | ratio t(1e-3) | ratio total |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in out["rows"]:
        a, b = r["auto_median"], r["ipm_median"]
        lines.append(
            f"| {r['data']} | {r['protocol']} | {r['reg']:g} | {r['q']} | {r['auto_ran']} | {a['status']} "
            f"| {a['lower_bound']:.6g} | {_f(r['auto_t_1e-3'])} | {_f(r['auto_time_s'])} | {b['status']} "
            f"| {b['lower_bound']:.6g} | {_f(r['ipm_t_1e-3'])} | {_f(r['ipm_time_s'])} "
            f"| {_f(r['ratio_t_1e-3'])} | {_f(r['ratio_time'])} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_case_args(ap, DEFAULT_CASES)
    ap.add_argument("--warmups", default=None,
                    help="comma-separated ADMM warm-up lengths to compare (auto only, no ipm baseline)")
    add_output_args(ap, "sdp_small")
    args = ap.parse_args(argv)
    if start(ap, args, render):
        return
    out = {"date": date.today().isoformat(), "commit": _commit(), "machine": machine(), "cap_s": args.cap,
           "repeats": args.repeats, "rows": []}
    if args.warmups:
        warmups = [int(x) for x in args.warmups.split(",")]
        out["warmups"] = warmups
    for name, protocol in parse_cases(args.cases):
        split = prepare(name, protocol=protocol)
        for reg in [float(x) for x in args.regs.split(",")]:
            if args.warmups:
                runs = {w: [] for w in warmups}
                for _ in range(args.repeats):
                    for w in warmups:
                        r = run(split, reg, "auto", args.cap, warmup=w)
                        runs[w].append(r)
                        print(f"{name:7s} {protocol:8s} reg={reg:<5g} warm-up {w:5d} {r['method']:15s} "
                              f"{r['status']:9s} rounds {r['rounds']} t(1e-3) {_f(r['t_gap_1e-3'])} "
                              f"total {r['time_s']:.2f} s", flush=True)
                for w in warmups:
                    ran = sorted({r["method"].removeprefix("sdp-") + ("" if r["attempt"] is None else " after ipm-active")
                                  for r in runs[w]})
                    out["rows"].append({"data": name, "protocol": protocol, "reg": reg, "warmup": w,
                                        "runs": runs[w], "auto_ran": " / ".join(ran),
                                        "t_1e-3": median(runs[w], "t_gap_1e-3"),
                                        "time_s": median(runs[w], "time_s")})
                continue
            runs = {"auto": [], "ipm": []}
            for _ in range(args.repeats):
                for solver in ("auto", "ipm"):
                    r = run(split, reg, solver, args.cap)
                    runs[solver].append(r)
                    print(f"{name:7s} {protocol:8s} reg={reg:<5g} {solver:5s} {r['method']:15s} {r['status']:9s} "
                          f"bound {r['lower_bound']:.6g} value {r['value']:.6g} t(1e-3) {_f(r['t_gap_1e-3'])} "
                          f"total {r['time_s']:.2f} s", flush=True)
            row = {"data": name, "protocol": protocol, "reg": reg, "runs": runs}
            for solver in ("auto", "ipm"):
                rs = runs[solver]
                row[f"{solver}_t_1e-3"] = median(rs, "t_gap_1e-3")
                row[f"{solver}_time_s"] = median(rs, "time_s")
                row[f"{solver}_median"] = sorted(rs, key=lambda x: x["time_s"])[(len(rs) - 1) // 2]
            row["q"] = SDPFormulation(split.X_train, split.Y_train, reg).q
            ran = sorted({r["method"].removeprefix("sdp-") + ("" if r["attempt"] is None else " after ipm-active")
                          for r in runs["auto"]})
            row["auto_ran"] = " / ".join(ran)
            a, b = row["auto_t_1e-3"], row["ipm_t_1e-3"]
            row["ratio_t_1e-3"] = b / a if a and b else None
            row["ratio_time"] = row["ipm_time_s"] / row["auto_time_s"]
            out["rows"].append(row)
    save_results(out, args.out, render(out))


if __name__ == "__main__":
    main()
