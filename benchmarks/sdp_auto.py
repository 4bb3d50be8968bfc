"""What ``solver="auto"`` gives against the ADMM alone, at the same time cap (default protocol).

``convexnn sdp DATA`` runs ``solver="auto"``. Above q = n + d + c = 90 it runs an ADMM warm-up
and then either the active-set interior point (when the working set the warm-up picks keeps its
Newton system ≤ 10,000 rows) or the ADMM from the warm-up's iterate. This script runs, for each
data set (the library's default protocol: stratified 50/50 split, standardised features), the
default solver and ``solver="native"`` (the ADMM alone) with the same time cap, one after the
other, and reports each one's certified bound, value, gap, status and time to a certified gap
of 1e-3 and 1e-4 (as in ``benchmarks/sdp.py``), plus the ratio of the two bounds.

    python benchmarks/sdp_auto.py                              # the five default sets, 120 s each
    python benchmarks/sdp_auto.py --datasets ionosphere --cap 60
    python benchmarks/sdp_auto.py --datasets banknote --repeats 3 --update   # re-run one row
    python benchmarks/sdp_auto.py --render                     # re-print the saved table

With ``--repeats R`` each solver runs R times (alternating auto, ADMM, auto, ...) and the table
shows the run with the median certified bound, the range of the bounds and R; every run is in
the JSON. Runs stopped by the cap vary from run to run with the iterations that fit in it.
Prints a markdown table and writes JSON (default benchmarks/results/sdp_auto.json), with the
commit and the machine of each row (``--update`` keeps the rows of the sets not re-run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import dash as _f, add_output_args, machine, save_results, start  # noqa: E402
from sdp import _commit, first_time  # noqa: E402

from convexnn.datasets import prepare  # noqa: E402
from convexnn.sdp import solve_sdp  # noqa: E402

DEFAULT_SETS = "diabetes,ionosphere,breast-cancer,pima,banknote"


def median_run(runs):
    """The run with the median certified bound (the lower middle one for an even count)."""
    order = sorted(runs, key=lambda r: -np.inf if r["lower_bound"] is None else r["lower_bound"])
    return order[(len(order) - 1) // 2]


def run(split, reg, cap, solver):
    res = solve_sdp(split.X_train, split.Y_train, reg, solver=solver, tol=1e-4, time_limit=cap)
    return {"method": res.method, "choice": res.info.get("auto"), "value": res.value,
            "lower_bound": res.lower_bound, "gap": res.gap, "status": res.status,
            "time_s": res.time_s, "iterations": res.iterations,
            "t_gap_1e-3": first_time(res.history, 1e-3), "t_gap_1e-4": first_time(res.history, 1e-4)}


def render(out):
    lines = [f"solver='auto' against the ADMM alone, default protocol, cap {out['cap_s']:g} s each, "
             f"on {out['machine']}; with several runs, the one with the median bound and the range "
             f"of the bounds.", "",
             "| data | reg | n | runs | auto ran | auto bound | auto value | gap | t(1e-3) s | t(1e-4) s "
             "| status (time) | ADMM bound | ADMM value | gap | t(1e-3) s | status (time) "
             "| bound ratio auto/ADMM | commit, date |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def spread(key, r):
        runs = r.get("runs", {}).get(key, [])
        if len(runs) < 2:
            return ""
        bounds = [x["lower_bound"] for x in runs if x["lower_bound"] is not None]
        return f" [{min(bounds):.6g}–{max(bounds):.6g}]"

    for r in out["rows"]:
        a, b = r["auto"], r["native"]
        nruns = len(r.get("runs", {}).get("auto", [])) or 1
        ratio = a["lower_bound"] / b["lower_bound"] if b["lower_bound"] and b["lower_bound"] > 0 else None
        lines.append(
            f"| {r['data']} | {r['reg']:g} | {r['n']} | {nruns} | {a['method'].removeprefix('sdp-')} "
            f"| {a['lower_bound']:.6g}{spread('auto', r)} | {a['value']:.6g} | {_f(a['gap'], '.1e')} "
            f"| {_f(a['t_gap_1e-3'], '.1f')} | {_f(a['t_gap_1e-4'], '.1f')} | {a['status']} ({a['time_s']:.1f}) "
            f"| {b['lower_bound']:.6g}{spread('native', r)} | {b['value']:.6g} | {_f(b['gap'], '.1e')} "
            f"| {_f(b['t_gap_1e-3'], '.1f')} | {b['status']} ({b['time_s']:.1f}) | {_f(ratio, '.4f')} "
            f"| {r.get('commit', out.get('commit'))}, {r.get('date', out.get('date'))} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=DEFAULT_SETS, help=f"comma-separated names (default {DEFAULT_SETS})")
    ap.add_argument("--reg", type=float, default=0.1)
    ap.add_argument("--cap", type=float, default=120.0, help="seconds per solve (default 120)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per solver (default 1); the median is shown")
    ap.add_argument("--update", action="store_true",
                    help="keep the saved rows of the sets not re-run (each row records its commit)")
    add_output_args(ap, "sdp_auto")
    args = ap.parse_args(argv)
    if start(ap, args, render):
        return
    commit, today = _commit(), date.today().isoformat()
    out = {"date": today, "commit": commit, "machine": machine(), "cap_s": args.cap, "rows": []}
    if args.update and os.path.exists(args.out):
        with open(args.out) as fh:
            old = json.load(fh)
        if old.get("cap_s") != args.cap or old.get("machine") != out["machine"]:
            ap.error(f"--update: the saved rows were run with cap {old.get('cap_s')} s on {old.get('machine')}")
        for row in old["rows"]:
            row.setdefault("commit", old.get("commit"))
            row.setdefault("date", old.get("date"))
        out["rows"] = old["rows"]
    for name in [s.strip() for s in args.datasets.split(",") if s.strip()]:
        split = prepare(name)
        row = {"data": name, "reg": args.reg, "n": int(split.X_train.shape[0]), "commit": commit,
               "date": today, "runs": {"auto": [], "native": []}}
        for _ in range(args.repeats):
            for solver in ("auto", "native"):
                r = run(split, args.reg, args.cap, solver)
                row["runs"][solver].append(r)
                print(f"{name:14s} {solver:7s} {r['method']:15s} bound {r['lower_bound']:.6g} value {r['value']:.6g} "
                      f"gap {_f(r['gap'], '.1e')} {r['status']} {r['time_s']:.1f}s", flush=True)
        for solver in ("auto", "native"):
            row[solver] = median_run(row["runs"][solver])
        out["rows"] = [x for x in out["rows"] if (x["data"], x["reg"]) != (name, args.reg)] + [row]
    known = DEFAULT_SETS.split(",")  # the default sets in their order, others after them
    out["rows"].sort(key=lambda x: (known.index(x["data"]) if x["data"] in known else len(known), x["reg"]))
    save_results(out, args.out, render(out))


if __name__ == "__main__":
    main()
