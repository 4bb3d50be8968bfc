"""SDP-NN along a path of regularisations: cold solves against warm starts, side by side.

A user sweeping γ (by hand, or with ``ConvexReLUClassifier(warm_start=True)``) solves SDP-NN once
per value on the same data. ``solve_sdp(..., warm_start=previous)`` then takes the previous
interior point's result: its Λ and multipliers mark the nearly active inequalities, which become
the active-set interior point's first working set, so the ADMM warm-up that would otherwise pick
it is skipped (docs/mathematics.md §7.2). This script solves each path twice per repeat, cold
(every γ from scratch, solver='auto') and warm (the first γ cold, every later one from the
previous warm result), alternating, and reports per γ the median time of each, the ratio, the
statuses and the certified bounds (tol 1e-4). The first γ is solved cold either way, so its ratio
shows the noise of the timings; one untimed solve per case comes first.

    python benchmarks/sdp_path.py                                  # Iris, both protocols (~4 min)
    python benchmarks/sdp_path.py --cases ionosphere:paper --regs 0.1,0.05 --repeats 1
    python benchmarks/sdp_path.py --render                         # re-print the saved table

Prints a markdown table and writes JSON (default benchmarks/results/sdp_path.json, the table next
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
from sdp import _commit  # noqa: E402

from convexnn.datasets import prepare  # noqa: E402
from convexnn.sdp import solve_sdp  # noqa: E402

DEFAULT_CASES = "iris:paper,iris:default"
DEFAULT_REGS = "0.1,0.063,0.04,0.025,0.016,0.01"


def solve(split, reg, cap, warm):
    t = time.perf_counter()
    res = solve_sdp(split.X_train, split.Y_train, reg, tol=1e-4, time_limit=cap, warm_start=warm)
    wall = time.perf_counter() - t
    rec = {"status": res.status, "lower_bound": res.lower_bound, "value": res.value, "gap": res.gap,
           "iterations": res.iterations, "rounds": res.info.get("rounds"), "auto": res.info.get("auto"),
           "time_s": wall}
    return res, rec


def render(out):
    lines = [f"SDP-NN along a γ path, solver='auto', tol 1e-4, cap {out['cap_s']:g} s per solve, cold (each γ "
             f"from scratch) against warm (from the previous γ's result), {out['repeats']} runs each, "
             f"alternating, on {out['machine']} (commit {out['commit']}, {out['date']}); times are medians.", "",
             "| data | protocol | γ | cold s | warm s | ratio | cold statuses | warm statuses | cold bound | "
             "warm bound |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in out["rows"]:
        c, w = r["cold"], r["warm"]
        lines.append(f"| {r['data']} | {r['protocol']} | {r['reg']:g} | {_f(r['cold_s'])} | {_f(r['warm_s'])} "
                     f"| {_f(r['ratio'])} | {', '.join(x['status'] for x in c)} | "
                     f"{', '.join(x['status'] for x in w)} | {c[0]['lower_bound']:.6g} | {w[0]['lower_bound']:.6g} |")
    for t in out["totals"]:
        lines.append(f"| {t['data']} | {t['protocol']} | whole path | {_f(t['cold_s'])} | {_f(t['warm_s'])} "
                     f"| {_f(t['ratio'])} | | | | |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_case_args(ap, DEFAULT_CASES, DEFAULT_REGS, f"the path, in order (default {DEFAULT_REGS})")
    add_output_args(ap, "sdp_path")
    args = ap.parse_args(argv)
    if start(ap, args, render):
        return
    regs = [float(x) for x in args.regs.split(",")]
    out = {"date": date.today().isoformat(), "commit": _commit(), "machine": machine(), "cap_s": args.cap,
           "repeats": args.repeats, "regs": regs, "rows": [], "totals": []}
    for name, protocol in parse_cases(args.cases):
        split = prepare(name, protocol=protocol)
        runs = {mode: [[] for _ in regs] for mode in ("cold", "warm")}
        solve(split, regs[0], args.cap, None)  # untimed: the process's first solve pays one-off set-up costs
        for _ in range(args.repeats):
            for mode in ("cold", "warm"):
                prev = None
                for k, reg in enumerate(regs):
                    res, rec = solve(split, reg, args.cap, prev if mode == "warm" else None)
                    prev = res
                    runs[mode][k].append(rec)
                    print(f"{name:10s} {protocol:8s} γ={reg:<6g} {mode}  {rec['status']:9s} bound "
                          f"{rec['lower_bound']:.6g} gap {_f(rec['gap'], '.1e')} {rec['time_s']:.2f} s", flush=True)
        for k, reg in enumerate(regs):
            cold = float(np.median([r["time_s"] for r in runs["cold"][k]]))
            warm = float(np.median([r["time_s"] for r in runs["warm"][k]]))
            out["rows"].append({"data": name, "protocol": protocol, "reg": reg, "cold": runs["cold"][k],
                                "warm": runs["warm"][k], "cold_s": cold, "warm_s": warm, "ratio": cold / warm})
        # the whole path per repeat, then the median over repeats
        tot = {mode: float(np.median([sum(runs[mode][k][i]["time_s"] for k in range(len(regs)))
                                      for i in range(args.repeats)])) for mode in ("cold", "warm")}
        out["totals"].append({"data": name, "protocol": protocol, "cold_s": tot["cold"], "warm_s": tot["warm"],
                              "ratio": tot["cold"] / tot["warm"]})
    save_results(out, args.out, render(out))


if __name__ == "__main__":
    main()
