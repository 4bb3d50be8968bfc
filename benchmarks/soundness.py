"""End-to-end soundness sweep: is fit's certified lower bound ever above a network's objective?

Not a timing. For random small problems (regression and one-hot targets, with and without a
bias, duplicate / parallel / constant columns, scales from 1e-3 to 1e3, reg from 1e-4 to 10,
time limits short enough to cut solves), ``convexnn.pipeline.fit`` returns a certified lower
bound (SDP-NN or the atomic-norm dual). Independently of convexnn, every case also trains
networks with scipy's L-BFGS from random starts on NN-TRAIN (SPEC §1) and evaluates the
returned network's objective with plain numpy. A certified bound above any of these objectives
(beyond 1e-9 relative) is a violation: a bug.

    python benchmarks/soundness.py [--cases 200] [--seed 0] [--max-n 14] [--verify]

With ``--verify`` every case's certificate also goes through the independent verifier
(``convexnn.verify``, code shared with no solver): its recomputed bound must confirm the claim
and lie below the same networks.

Prints a summary table by bound source and writes JSON (default benchmarks/results/soundness.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date

import numpy as np
from scipy.optimize import minimize

from convexnn.pipeline import fit
from convexnn.verify import certifiable, certificate_arrays, verify_certificate

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine  # noqa: E402  (benchmarks/ is on sys.path)


def nn_train(theta, X, Y, reg, m):
    """NN-TRAIN objective and gradient of a width-m network packed as (U, V), in plain numpy."""
    d, c = X.shape[1], Y.shape[1]
    U = theta[: d * m].reshape(d, m)
    V = theta[d * m:].reshape(c, m)
    H = X @ U
    A = np.maximum(H, 0.0)
    R = A @ V.T - Y
    f = 0.5 * np.sum(R * R) + 0.5 * reg * (np.sum(U * U) + np.sum(V * V))
    gU = X.T @ ((R @ V) * (H > 0)) + reg * U
    gV = R.T @ A + reg * V
    return f, np.concatenate([gU.ravel(), gV.ravel()])


def best_trained(X, Y, reg, rng, restarts, width):
    """The lowest NN-TRAIN objective among L-BFGS runs from random starts (and the zero network)."""
    best = 0.5 * float(np.sum(Y * Y))
    size = width * (X.shape[1] + Y.shape[1])
    for _ in range(restarts):
        theta = rng.standard_normal(size) * rng.choice([0.1, 1.0, 3.0])
        res = minimize(nn_train, theta, args=(X, Y, reg, width), jac=True, method="L-BFGS-B",
                       options={"maxiter": 2000})
        best = min(best, float(res.fun))
    return best


def make_case(rng, max_n):
    """A random problem: (X, Y, reg, bias, time_limit, description)."""
    n = int(rng.integers(2, max_n + 1))
    d = int(rng.integers(1, 6))
    X = rng.standard_normal((n, d)) * rng.choice([1e-3, 0.1, 1.0, 10.0, 1e3])
    tags = []
    if n > 1 and rng.random() < 0.3:
        X[1] = X[0] * rng.choice([1.0, 2.0, -1.0])
        tags.append("parallel rows")
    if rng.random() < 0.2:
        X[:, 0] = 1.0
        tags.append("constant column")
    if rng.random() < 0.5:
        c = int(rng.integers(2, 5))
        Y = np.eye(c)[rng.integers(0, c, n)]
        tags.append("one-hot")
    else:
        c = int(rng.integers(1, 4))
        Y = rng.standard_normal((n, c)) * rng.choice([1e-3, 1.0, 100.0])
    bias = bool(rng.random() < 0.4)
    reg = float(rng.choice([1e-4, 1e-2, 0.1, 1.0, 10.0]))
    time_limit = float(rng.choice([1.0, 3.0, 10.0]))
    return X, Y, reg, bias, time_limit, ", ".join(tags)


def verify_case(Xb, Y, reg, res) -> dict:
    """The independent verifier's bound and verdict for one fit (its SDP and atomic-dual stages)."""
    sdp, dual = certifiable(res.stages.get("sdp")), certifiable(res.stages.get("dual"))
    if sdp is None and dual is None:
        return {"verified_bound": None, "verified_confirmed": None, "verified_parts": {}}
    arrays = certificate_arrays(Xb, Y, reg, sdp=sdp, atomic=dual)
    v = verify_certificate({**arrays, "meta": json.loads(str(arrays["meta"]))}, time_limit=20.0)
    return {"verified_bound": v.bound, "verified_confirmed": v.confirmed, "verified_problems": v.problems,
            "verified_parts": {k: {"claimed": p["claimed_bound"], "bound": p["bound"], "confirmed": p["confirmed"]}
                               for k, p in v.parts.items()}}


def run_case(k, rng, max_n, restarts, width, verify=False):
    X, Y, reg, bias, time_limit, tags = make_case(rng, max_n)
    n, d = X.shape
    res = fit(X, Y, reg, bias=bias, time_limit=time_limit, seed=int(rng.integers(1 << 30)))
    Xb = np.hstack([X, np.ones((n, 1))]) if bias else X
    net = res.network
    own = nn_train(np.concatenate([net.U.ravel(), net.V.ravel()]), Xb, Y, reg, net.width)[0]
    trained = best_trained(Xb, Y, reg, rng, restarts, width)
    lower, upper = res.certificate.lower, res.certificate.upper
    scale = max(1.0, 0.5 * float(np.sum(Y * Y)))
    tol = 1e-9 * scale
    extra = {}
    if verify:
        extra = verify_case(Xb, Y, reg, res)
        vb = extra["verified_bound"]
        extra["verified_violation"] = vb is not None and bool(vb > min(trained, own) + tol)
    return {**extra,
        "case": k, "n": n, "d": d, "c": Y.shape[1], "bias": bias, "reg": reg, "time_limit": time_limit,
        "tags": tags, "lower_bound": lower, "objective": upper, "objective_numpy": own,
        "trained": trained, "source": "atomic dual" if res.certificate.lower_source.startswith("atomic")
        else "SDP-NN", "sdp_status": res.stages["sdp"].status, "gap": res.certificate.gap,
        # the certified bound must lie below every network objective, and the reported objective
        # must be the returned network's
        "violation": lower is not None and bool(lower > min(trained, own) + tol),
        "objective_mismatch": bool(abs(own - upper) > 1e-7 * max(1.0, abs(own))),
        "margin": None if lower is None else (min(trained, own) - lower) / scale,
    }


def render(rows, meta) -> str:
    lines = [f"Soundness sweep: {meta['cases']} random problems (seed {meta['seed']}, n ≤ {meta['max_n']}), "
             f"{meta['machine']}, {meta['date']}, {meta['wall_s']:.0f} s. A violation is a certified bound "
             "above the objective of the returned network or of an independently trained one.", "",
             "| bound from | cases | violations | objective mismatches | smallest margin (relative) | median gap |",
             "|---|---|---|---|---|---|"]
    for src in ("SDP-NN", "atomic dual"):
        sel = [r for r in rows if r["source"] == src and r["lower_bound"] is not None]
        if not sel:
            continue
        lines.append(f"| {src} | {len(sel)} | {sum(r['violation'] for r in sel)} | "
                     f"{sum(r['objective_mismatch'] for r in sel)} | {min(r['margin'] for r in sel):.2e} | "
                     f"{np.median([r['gap'] for r in sel]):.2e} |")
    checked = [r for r in rows if r.get("verified_confirmed") is not None]
    if checked:
        parts = [p for r in checked for p in r["verified_parts"].values()]
        lines.append(f"\nIndependent verifier (`--verify`): {len(checked)} certificates ({len(parts)} parts), "
                     f"{sum(r['verified_confirmed'] for r in checked)} confirmed in full, "
                     f"{sum(p['confirmed'] for p in parts)} parts confirmed; "
                     f"{sum(r['verified_violation'] for r in checked)} verified bounds above a network.")
        worst = [p for p in parts if not p["confirmed"]]
        for p in worst[:5]:
            lines.append(f"  not confirmed: claimed {p['claimed']:.9g}, verified {p['bound']}")
    unbounded = sum(r["lower_bound"] is None for r in rows)
    if unbounded:
        lines.append(f"\n{unbounded} case(s) without a certified bound.")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-n", type=int, default=14, help="largest number of samples")
    ap.add_argument("--restarts", type=int, default=6, help="independent L-BFGS starts per case")
    ap.add_argument("--width", type=int, default=20, help="width of the independently trained networks")
    ap.add_argument("--json", default=os.path.join(os.path.dirname(__file__), "results", "soundness.json"))
    ap.add_argument("--verify", action="store_true",
                    help="also check every certificate with the independent verifier (convexnn.verify)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = []
    for k in range(args.cases):
        rng = np.random.default_rng([args.seed, k])
        row = run_case(k, rng, args.max_n, args.restarts, args.width, verify=args.verify)
        rows.append(row)
        if row["violation"] or row["objective_mismatch"] or row.get("verified_violation"):
            print("PROBLEM", json.dumps(row), flush=True)
        elif k % 25 == 0:
            print(f"case {k}: {time.perf_counter() - t0:.0f} s", flush=True)
    meta = {"cases": args.cases, "seed": args.seed, "max_n": args.max_n, "machine": machine(),
            "date": date.today().isoformat(), "wall_s": time.perf_counter() - t0}
    print(render(rows, meta))
    with open(args.json, "w") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1)
    return 1 if any(r["violation"] or r["objective_mismatch"] or r.get("verified_violation") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
