"""The atomic dual's oracles: how fast they bound σ(Γ) = max_{‖u‖≤1} ‖Γᵀ(Xu)₊‖.

Each case builds one residual Γ deterministically, as column generation's first round would
(docs/mathematics.md §7.3): a dictionary of the neurons of an L-BFGS network (seed 0, 2,000
iterations) and 2,000 random directions (seed 0), the group lasso over it by FISTA for a fixed
3,000 iterations, Γ = Y − HW. A case name:protocol:reg:K continues for K rounds of pricing by
projected power iterations (2,000 random starts; the 100 best violated directions and clouds
around them join the dictionary, the group lasso is re-solved; the ascent is the library's
`convexnn.atomic_dual._power_ascent`, so such cases need a version that has it): a later,
flatter residual, like those column generation certifies at the end (minutes to build on Bank
Notes). Then
`relu_dual_norm_bound(X, Γ, tol)` runs ``--repeats`` times,
and, side by side, the exact face enumeration `relu_dual_norm_faces(X, Γ)` where the arrangement
has at most `--faces-max` faces (5·10⁶ by default; rows with tol 0; `--tols ''` runs only
those); a case ending in `:bias` has the ones column. The table gives the cells (faces), the median time,
σ̄/γ and σ̄/σ_lower.

To compare code versions side by side, run the old one from a worktree on the same machine:

    git worktree add /tmp/old <commit>
    PYTHONPATH=/tmp/old/src python benchmarks/oracle.py --out /tmp/old.json
    python benchmarks/oracle.py --out /tmp/new.json
    python benchmarks/oracle.py --compare /tmp/old.json /tmp/new.json

Every run records its commit (from the source tree it imports) and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import convexnn
from convexnn.atomic_dual import _group_lasso_fista, relu_dual_norm_bound
from convexnn.atomic_dual_faces import FACES_DEFAULT_MAX, arrangement_face_count, relu_dual_norm_faces
from convexnn.baselines.gradient import train_lbfgs
from convexnn.datasets import prepare
from convexnn.problem import TrainingProblem

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine  # noqa: E402

DEFAULT_CASES = "iris:default:0.1,iris:default:0.01,banknote:default:0.1"


def _commit() -> str:
    src = os.path.dirname(os.path.abspath(convexnn.__file__))
    try:
        head = subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", src, "status", "--porcelain", "--", "."], capture_output=True,
                               text=True, check=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def residual(name, protocol, reg, rounds=0, bias=False):
    """(X, Γ) of the case: the first-round master residual, or with ``rounds`` the residual after
    that many more rounds of pricing by ascents (2,000 random starts, the 100 best violated
    directions and small clouds around them join the dictionary; a later, flatter residual, like
    the ones column generation certifies at the end); built without any time limit."""
    split = prepare(name, protocol=protocol)
    problem = TrainingProblem.from_data(split.X_train, split.Y_train, reg, bias=bias)
    X, Y = problem.X, problem.Y
    U = train_lbfgs(problem, width=50, restarts=0, seed=np.random.default_rng(0), max_iter=2000).solution["U"]
    rng = np.random.default_rng(0)
    R = rng.standard_normal((X.shape[1], 2000))
    D = np.hstack([U / np.maximum(np.linalg.norm(U, axis=0), 1e-300), R / np.linalg.norm(R, axis=0)])
    H = np.maximum(X @ D, 0.0)
    W = _group_lasso_fista(H, Y, reg, np.zeros((D.shape[1], Y.shape[1])), 3000, float("inf"))
    if rounds:  # the library's ascent: later residuals need a version that has it (first-round ones run with any)
        from convexnn.atomic_dual import _power_ascent
    for _ in range(rounds):
        G = Y - H @ W
        S = rng.standard_normal((X.shape[1], 2000))
        v, P = _power_ascent(X, G, S / np.linalg.norm(S, axis=0), 20)
        P = P[:, np.argsort(v)[::-1][:100]][:, v[np.argsort(v)[::-1][:100]] > reg]
        C = np.repeat(P, 8, axis=1) + 0.05 * rng.standard_normal((X.shape[1], 8 * P.shape[1]))
        new = np.hstack([P, C / np.linalg.norm(C, axis=0)])
        D, H = np.hstack([D, new]), np.hstack([H, np.maximum(X @ new, 0.0)])
        W = _group_lasso_fista(H, Y, reg, np.vstack([W, np.zeros((new.shape[1], Y.shape[1]))]), 3000,
                               float("inf"))
    return X, Y - H @ W


def run(cases, tols, repeats, faces_max=FACES_DEFAULT_MAX):
    rows = []
    for case in cases.split(","):
        name, protocol, reg, *more = case.split(":")
        reg = float(reg)
        bias = "bias" in more
        more = [m for m in more if m != "bias"]
        X, G = residual(name, protocol, reg, int(more[0]) if more else 0, bias=bias)
        exact = arrangement_face_count(X) <= faces_max
        for tol in tols + ([0.0] if exact else []):
            times, last = [], None
            for _ in range(repeats):
                t = time.perf_counter()
                last = (relu_dual_norm_faces(X, G, max_faces=max(faces_max, FACES_DEFAULT_MAX)) if tol == 0 else
                        relu_dual_norm_bound(X, G, tol=tol, time_limit=600))
                times.append(time.perf_counter() - t)
            row = {"case": case, "oracle": "faces" if tol == 0 else "branch-and-bound", "tol": tol,
                   "n": int(X.shape[0]), "d": int(X.shape[1]),
                   "cells": int(last.cells), "status": last.status, "time_s": float(np.median(times)),
                   "times": times, "sigma_upper_over_reg": last.upper / reg,
                   "upper_over_lower": last.upper / last.lower if last.lower > 0 else None}
            rows.append(row)
            print(f"{case} {row['oracle']} tol {tol:g}: {row['cells']:,} {'faces' if tol == 0 else 'cells'}, "
                  f"{row['time_s']:.2f} s (median of {repeats}), σ̄/γ {row['sigma_upper_over_reg']:.5f}, "
                  f"σ̄/σ_lower {row['upper_over_lower']:.3g}, {last.status}", flush=True)
    return rows


def render(data) -> str:
    """The run as a markdown table (branch and bound and face enumeration side by side)."""
    lines = [f"Commit {data['commit']}; {data['machine']}; medians of {data['repeats']}.", "",
             "| case | oracle | tol | cells / faces | time (s) | σ̄/γ | σ̄/σ_lower |", "|---|---|---|---|---|---|---|"]
    for r in data["rows"]:
        lines.append(f"| {r['case']} | {r.get('oracle', 'branch-and-bound')} | {r['tol']:g} | {r['cells']:,} | "
                     f"{r['time_s']:.2f} | {r['sigma_upper_over_reg']:.5f} | {r['upper_over_lower']:.6f} |")
    return "\n".join(lines)


def compare(old_path, new_path) -> str:
    old, new = (json.load(open(p)) for p in (old_path, new_path))
    key = lambda r: (r["case"], r.get("oracle", "branch-and-bound"), r["tol"])  # noqa: E731
    olds = {key(r): r for r in old["rows"]}
    lines = [f"Old: {old['commit']}; new: {new['commit']}; {new['machine']}; medians of {new['repeats']}.", "",
             "| case | oracle | tol | cells / faces old → new | time old → new (s) | ratio | σ̄/γ old → new |",
             "|---|---|---|---|---|---|---|"]
    for r in new["rows"]:
        o = olds.get(key(r))
        if o is None:
            continue
        lines.append(f"| {r['case']} | {key(r)[1]} | {r['tol']:g} | {o['cells']:,} → {r['cells']:,} | "
                     f"{o['time_s']:.2f} → {r['time_s']:.2f} | {o['time_s'] / r['time_s']:.2f} | "
                     f"{o['sigma_upper_over_reg']:.5f} → {r['sigma_upper_over_reg']:.5f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=DEFAULT_CASES,
                    help="name:protocol:reg[:rounds][:bias],... — rounds: a later residual, after that many "
                         "rounds of pricing by ascents; bias: with the ones column (default: %(default)s)")
    ap.add_argument("--faces-max", type=float, default=FACES_DEFAULT_MAX,
                    help="enumerate the faces where the arrangement has at most this many "
                         "(Iris with a bias: 4.7·10⁷, about 30 s; default: %(default)g)")
    ap.add_argument("--tols", default="1e-2,1e-3", help="oracle tolerances (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "oracle.json"))
    ap.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), default=None,
                    help="solve nothing: compare two saved runs (markdown table)")
    args = ap.parse_args()
    if args.compare:
        print(compare(*args.compare))
        return
    commit = _commit()
    tols = [float(t) for t in args.tols.split(",")] if args.tols else []
    rows = run(args.cases, tols, args.repeats, int(args.faces_max))
    out = {"commit": commit, "machine": machine(), "repeats": args.repeats, "rows": rows}
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)
    print(render(out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
