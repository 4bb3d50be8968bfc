"""What the atomic-norm dual stage adds to `fit`'s certificate (docs/mathematics.md §7.3).

For each case, one `fit(..., time_limit=T)` run with the dual stage on. The same run holds the
certificate without it: the SDP-NN stage's bound and the best candidate network trained before
the dual stage (its own networks are the candidates named 'atomic-dual*'). Side by side:

    SDP bound, best network before, gap before  |  dual bound, best network after, gap after

    python benchmarks/dual.py [--time-limit 60] [--cases iris:default:0.1,spiral:default:0.01] [--repeats 3]

With --repeats N every case runs N times (the cases interleaved, so that a drift of the machine's
speed spreads over all of them); a row shows the run with the median gap, and the range of the N gaps.

Prints a markdown table and writes JSON (default benchmarks/results/dual.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date

from convexnn.datasets import prepare
from convexnn.pipeline import fit
from convexnn.result import relative_gap

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine  # noqa: E402  (benchmarks/ is on sys.path)

DEFAULT_CASES = ("random:0:default:0.1,random:1:default:0.1,random:2:default:0.1,spiral:default:0.1,"
                 "spiral:default:0.01,iris:default:0.1,iris:default:0.01,iris:paper:0.1,iris:default:0.1:bias,"
                 "banknote:default:0.1")


def parse_case(text: str):
    """name:protocol:reg[:bias] (random:K:protocol:reg[:bias]) → (name, protocol, reg, bias)."""
    parts = text.split(":")
    if parts[0] == "random":
        parts = ["random:" + parts[1]] + parts[2:]
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "bias"):
        raise SystemExit(f"bad case {text!r}: expected name:protocol:reg or name:protocol:reg:bias")
    return parts[0], parts[1], float(parts[2]), len(parts) == 4


def run(name, protocol, reg, time_limit, bias=False):
    split = prepare(name, protocol=protocol)
    t = time.perf_counter()
    res = fit(split.X_train, split.Y_train, reg, time_limit=time_limit, dual_bound=True, bias=bias)
    total = time.perf_counter() - t
    before = {k: v for k, v in res.candidates.items() if not k.startswith("atomic-dual")}
    up_before = min(before.values())
    sdp_lb = res.stages["sdp"].lower_bound
    dual = res.stages["dual"]
    cert = res.certificate
    return {"dataset": name, "protocol": protocol, "reg": reg, "bias": bias, "n": split.n_train,
            "d": split.d + int(bias),  # columns of the design, the ones column included
            "c": split.c, "sdp_bound": sdp_lb, "network_before": up_before,
            "gap_before": relative_gap(up_before, sdp_lb), "dual_bound": dual.lower_bound,
            "dual_status": dual.status, "dual_rounds": dual.iterations, "dual_time_s": res.times["dual"],
            "dual_certifications": dual.info.get("certifications"), "dual_oracle": dual.info.get("oracle"),
            "lower_bound": cert.lower, "objective": cert.upper, "gap": cert.gap, "chosen": res.chosen,
            "time_s": total, "times": res.times}


def fmt(x, spec=".6g"):
    return "—" if x is None else format(x, spec)


def render(data) -> str:
    lines = [f"`fit(..., time_limit={data['time_limit']:g})` with the atomic dual stage; {data['machine']}; "
             f"{data['date']}, commit {data['commit']}.", "",
             "| data | protocol | γ | n | d (columns) | SDP bound | best network before | gap before | dual bound "
             "(rounds, status, time) | best network after | gap after | total |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in data["rows"]:
        lines.append(
            f"| {r['dataset']}{' + bias' if r.get('bias') else ''} | {r['protocol']} | {r['reg']:g} | {r['n']} | {r['d']} | {fmt(r['sdp_bound'])} | "
            f"{fmt(r['network_before'])} | {fmt(100 * r['gap_before'], '.3g')} % | {fmt(r['dual_bound'])} "
            f"({r['dual_rounds']}, {r['dual_status']}, {r['dual_time_s']:.1f} s) | {fmt(r['objective'])} "
            f"({r['chosen']}) | **{fmt(100 * r['gap'], '.3g')} %**{_spread(r)} | {r['time_s']:.1f} s |")
    return "\n".join(lines)


def _spread(r) -> str:
    """' (min–max of N runs)' for a row of repeated runs, else nothing."""
    gaps = r.get("gaps") or []
    if len(gaps) < 2:
        return ""
    return f" ({fmt(100 * min(gaps), '.3g')}–{fmt(100 * max(gaps), '.3g')} % over {len(gaps)})"


def _median_run(runs):
    """The run with the median gap (the lower middle one for an even count), with all the gaps."""
    order = sorted(range(len(runs)), key=lambda i: runs[i]["gap"])
    row = dict(runs[order[(len(runs) - 1) // 2]])
    row["gaps"] = [r["gap"] for r in runs]
    return row


def _commit() -> str:
    import subprocess

    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                             text=True, cwd=os.path.dirname(__file__)).stdout.strip()
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(__file__)).stdout.strip()
    except OSError:
        return "unknown"
    return head + ("-dirty" if out else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--cases", default=DEFAULT_CASES,
                    help="comma-separated name:protocol:reg[:bias] (random:K:protocol:reg for Random members)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "dual.json"))
    ap.add_argument("--repeats", type=int, default=1, help="runs per case (the median-gap run is shown)")
    ap.add_argument("--render", action="store_true", help="re-print the table of the saved JSON")
    args = ap.parse_args()
    if args.render:
        with open(args.out) as fh:
            print(render(json.load(fh)))
        return
    if args.repeats < 1:
        raise SystemExit("--repeats must be at least 1")
    commit = _commit()  # the code that runs, recorded before it runs
    cases = [parse_case(case) for case in args.cases.split(",")]
    runs = [[] for _ in cases]
    for _ in range(args.repeats):
        for i, (name, protocol, reg, bias) in enumerate(cases):
            runs[i].append(run(name, protocol, reg, args.time_limit, bias))
            r = runs[i][-1]
            print(f"{name} {protocol} γ={reg:g}: gap {100 * r['gap_before']:.3g} % → {100 * r['gap']:.3g} % "
                  f"({r['time_s']:.1f} s)", file=sys.stderr, flush=True)
    rows = [_median_run(rs) if args.repeats > 1 else rs[0] for rs in runs]
    data = {"machine": machine(), "date": date.today().isoformat(), "commit": commit,
            "time_limit": args.time_limit, "repeats": args.repeats, "rows": rows}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(data, fh, indent=1, default=float)
    print(render(data))


if __name__ == "__main__":
    main()
