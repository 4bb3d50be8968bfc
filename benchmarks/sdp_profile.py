"""Where a cold ``solver="auto"`` solve of a small set spends its time (what limits Iris ≤ 2 s).

Times, for each case, the parts of one whole solve by wrapping the functions that do them with
wall-clock timers (less overhead than cProfile, and nothing else changes):

* the ADMM warm-up that picks ipm-active's working set (``admm._solve_admm``);
* the Cholesky factorisations of the interior points' Newton matrices (``_factor_in_place`` in
  ``sdp/active_ipm.py`` and ``sdp/ipm.py``), with their count and mean;
* the assembly of those matrices (``active_ipm._schur``; ``_SvecSDP.skron`` for the full
  interior point, which runs when the active-set attempt fails);
* the solves with the factor (``active_ipm.cholesky_solve``);
* the interior points' certificates (``SDPFormulation.certify``; the warm-up's own count as
  warm-up: a call inside another timed part is that part's time);
* the rest (set-up, the interior point's small dense products, the rounds' bookkeeping).

    python benchmarks/sdp_profile.py                      # Iris (both protocols), Spiral; 3 runs each
    python benchmarks/sdp_profile.py --cases iris:paper --regs 0.1 --repeats 5
    python benchmarks/sdp_profile.py --render             # re-print the saved table

One untimed solve of the first case comes first (the process's one-off set-up costs); then the
runs alternate between the cases; each column is the median over the runs (so the parts need not
add up to the total exactly). Prints a markdown table and writes JSON (default
benchmarks/results/sdp_profile.json, the table next to it as .md) with the commit and the machine.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from datetime import date

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import add_case_args, add_output_args, machine, parse_cases, save_results, start  # noqa: E402
from _common import dash as _f  # noqa: E402
from sdp import _commit, first_time  # noqa: E402

from convexnn.datasets import prepare  # noqa: E402
from convexnn.sdp import solve_sdp  # noqa: E402

DEFAULT_CASES = "iris:paper,iris:default,spiral:paper"
PARTS = ("warmup", "factor", "assembly", "solves", "certify")


def _timed(owner, name, part, clock, active):
    """Replace ``owner.name`` by a wrapper adding its wall time (and one call) to ``clock[part]``,
    unless another timed part is running (``active``), whose time it then is; returns the
    original, to put back."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        if active:
            return original(*args, **kwargs)
        active.append(part)
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            clock[part][0] += time.perf_counter() - t
            clock[part][1] += 1
            active.pop()

    setattr(owner, name, wrapper)
    return original


def profile(split, reg, cap):
    """One cold solve with the parts timed; returns the totals per part and the solve's record."""
    from convexnn.sdp import active_ipm, admm, ipm
    from convexnn.sdp.formulation import SDPFormulation

    clock = {p: [0.0, 0] for p in PARTS}
    active: list[str] = []
    targets = [(admm, "_solve_admm", "warmup"), (active_ipm, "_factor_in_place", "factor"),
               (ipm, "_factor_in_place", "factor"), (active_ipm, "_schur", "assembly"),
               (ipm._SvecSDP, "skron", "assembly"), (active_ipm, "cholesky_solve", "solves"),
               (SDPFormulation, "certify", "certify")]
    saved = [(owner, name, _timed(owner, name, part, clock, active)) for owner, name, part in targets]
    try:
        t = time.perf_counter()
        res = solve_sdp(split.X_train, split.Y_train, reg, solver="auto", tol=1e-4, time_limit=cap)
        wall = time.perf_counter() - t
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
    out = {"time_s": wall, "t_gap_1e-3": first_time(res.history, 1e-3), "status": res.status,
           "lower_bound": res.lower_bound, "iterations": res.iterations, "method": res.method,
           "rounds": res.info.get("rounds"), "attempt_failed": res.info.get("attempt") is not None}
    for p in PARTS:
        out[p + "_s"], out[p + "_calls"] = clock[p]
    out["other_s"] = wall - sum(clock[p][0] for p in PARTS)
    return out


def _median(runs, key):
    vals = [r[key] for r in runs]
    return None if any(v is None for v in vals) else float(np.median(vals))


def render(out):
    lines = [f"Where a cold solver='auto' solve spends its time: {out['repeats']} runs per case, "
             f"alternating, on {out['machine']} (commit {out['commit']}, {out['date']}); medians "
             "(the parts need not add up to the total). 'factorisations' gives their number and "
             "mean; the warm-up's own certificates count as warm-up.", "",
             "| data | protocol | reg | ran | status | total s | t(1e-3) s | warm-up s | factorisations "
             "| assembly s | solves s | certificates s | other s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in out["rows"]:
        m = r["median"]
        n_fact = int(m["factor_calls"])
        per = 1e3 * m["factor_s"] / n_fact if n_fact else None
        lines.append(
            f"| {r['data']} | {r['protocol']} | {r['reg']:g} | {r['ran']} | {r['statuses']} "
            f"| {_f(m['time_s'])} | {_f(m['t_gap_1e-3'])} | {_f(m['warmup_s'])} "
            f"| {_f(m['factor_s'])} ({n_fact} × {_f(per, '.1f')} ms) | {_f(m['assembly_s'])} "
            f"| {_f(m['solves_s'])} | {_f(m['certify_s'])} | {_f(m['other_s'])} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_case_args(ap, DEFAULT_CASES)
    add_output_args(ap, "sdp_profile")
    args = ap.parse_args(argv)
    if start(ap, args, render):
        return
    cases = []
    for name, protocol in parse_cases(args.cases):
        split = prepare(name, protocol=protocol)
        for reg in [float(x) for x in args.regs.split(",")]:
            cases.append((name, protocol, reg, split))
    runs = {k: [] for k in range(len(cases))}
    for name, protocol, reg, split in cases[:1]:  # untimed: the process's first solve pays one-off set-up costs
        solve_sdp(split.X_train, split.Y_train, reg, solver="auto", tol=1e-4, time_limit=args.cap)
    for _ in range(args.repeats):
        for k, (name, protocol, reg, split) in enumerate(cases):
            r = profile(split, reg, args.cap)
            runs[k].append(r)
            print(f"{name:7s} {protocol:8s} reg={reg:<5g} {r['method']:15s} {r['status']:9s} total {r['time_s']:.2f} s "
                  f"warm-up {r['warmup_s']:.2f} factor {r['factor_s']:.2f} ({r['factor_calls']}) "
                  f"assembly {r['assembly_s']:.2f} solves {r['solves_s']:.2f} certify {r['certify_s']:.2f} "
                  f"other {r['other_s']:.2f}", flush=True)
    out = {"date": date.today().isoformat(), "commit": _commit(), "machine": machine(), "cap_s": args.cap,
           "repeats": args.repeats, "rows": []}
    keys = [k for k in runs[0][0] if k.endswith("_s") or k.endswith("_calls") or k == "t_gap_1e-3"]
    for k, (name, protocol, reg, _) in enumerate(cases):
        rs = runs[k]
        ran = sorted({r["method"].removeprefix("sdp-") + (" after ipm-active" if r["attempt_failed"] else "")
                      for r in rs})
        out["rows"].append({"data": name, "protocol": protocol, "reg": reg, "runs": rs, "ran": " / ".join(ran),
                            "statuses": ", ".join(sorted({r["status"] for r in rs})),
                            "median": {key: _median(rs, key) for key in keys}})
    save_results(out, args.out, render(out))


if __name__ == "__main__":
    main()
