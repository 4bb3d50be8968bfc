"""The `convexnn` command: train two-layer ReLU networks with a certified optimality gap.

Sub-commands: datasets, info, sdp, path, fit, compare, predict. Every command that computes results accepts
``--json PATH``; errors are one clear line on stderr with exit status 2; Ctrl-C during a solve
returns the best result so far (its bound is still certified).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from . import __version__
from .errors import ConvexNNError
from .pipeline import METHOD_HELP

EPILOG = """\
examples:
  convexnn datasets                       list the built-in data sets
  convexnn info iris --protocol paper     split sizes and class counts
  convexnn fit iris --reg 0.1             certified training on Iris
  convexnn sdp iris --reg 0.1 --json out.json
                                          the SDP-NN lower bound alone, as JSON
  convexnn sdp iris --certificate cert.npz && convexnn verify cert.npz
                                          save the bound's certificate and check it again
                                          with code independent of the solvers
  convexnn path iris --regs 0.1,0.05,0.01 --protocol paper
                                          certified bounds along a reg path (warm starts)
  convexnn compare iris --time-limit 20  SDP-NN, SGD, L-BFGS, convex programs, NTK side by side,
                                          every network's gap against one certified bound
  convexnn fit data.csv --target label --bias --save model.npz
  convexnn predict model.npz data.csv     predictions of a saved model

The objective is NN-TRAIN = 1/2 ||(XU)_+ V^T - Y||^2 + (reg/2)(||U||^2 + ||V||^2), summed
over samples and outputs. The SDP-NN value is a certified lower bound on its global optimum for
every network width; the gap is (network objective - lower bound) / network objective.
"""


# ----------------------------------------------------------------------------------------------
# progress display
class Progress:
    """One-line progress on stderr: redrawn in place on a terminal, sparse lines otherwise."""

    def __init__(self, label: str, enabled: bool = True, every_s: float = 0.5):
        self.label = label
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.every = every_s if self.tty else 5.0
        self.t0 = time.perf_counter()
        self.last = -1e9
        self.shown = False

    def __call__(self, rec: dict):
        if not self.enabled:
            return None
        now = time.perf_counter()
        if now - self.last < self.every:
            return None
        self.last = now
        parts = [f"{self.label}", f"{now - self.t0:6.1f}s"] + ([rec["candidate"]] if "candidate" in rec else [])
        if "iteration" in rec:
            # the active-set interior point numbers its own iterations after the ADMM warm-up's
            parts.append(f"it {rec['iteration']}" + (f" (ipm-active round {rec['round']})" if "round" in rec else ""))
        if rec.get("value") is not None:
            parts.append(f"value {rec['value']:.6g}")
        if rec.get("lower_bound") is not None and np.isfinite(rec["lower_bound"]):
            parts.append(f"bound {rec['lower_bound']:.6g}")
        if rec.get("gap") is not None:
            parts.append(f"gap {rec['gap']:.2e}")
        line = "  ".join(parts)
        if self.tty:
            sys.stderr.write("\r\033[K" + line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
        self.shown = True
        return None

    def done(self):
        if self.enabled and self.tty and self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


# ----------------------------------------------------------------------------------------------
# argument helpers
def _add_data_args(p: argparse.ArgumentParser):
    p.add_argument("data", help="built-in data set name (see `convexnn datasets`) or a CSV file path "
                   "(fields separated by commas, semicolons, tabs or '|', detected)")
    p.add_argument("--protocol", choices=["default", "paper"], default="default",
                   help="default: stratified split, standardisation fitted on the training part; "
                        "paper: the reference experiments' 50/50 unstratified split "
                        "(random_state=42), raw features (comparison only)")
    p.add_argument("--test-size", type=float, default=None, metavar="F",
                   help="fraction of rows held out for testing (0 = train on all rows, no test metrics)")
    p.add_argument("--test", dest="test_path", default=None, metavar="PATH",
                   help="evaluate on this CSV file (same columns) instead of splitting")
    p.add_argument("--seed", type=int, default=None, help="random seed of the split")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--standardize", dest="standardize", action="store_true", default=None,
                   help="standardise features (statistics of the training part)")
    g.add_argument("--no-standardize", dest="standardize", action="store_false",
                   help="keep raw features")
    p.add_argument("--target", default=None,
                   help="CSV only: target column name or index (default: last column)")
    p.add_argument("--task", choices=["classification", "regression"], default=None,
                   help="CSV only: override the inferred task")
    p.add_argument("--bias", action="store_true",
                   help="add a first-layer bias (a column of ones, weight-decayed like the rest)")
    p.add_argument("--standardize-target", action="store_true",
                   help="regression only: fit targets centred and scaled by their training mean and "
                        "standard deviation (NN-TRAIN has no output bias and its weight decay is not "
                        "scale-free); predictions and metrics stay in the original units")


def _add_solver_args(p: argparse.ArgumentParser, default_time: float | None = None, single: bool = True,
                     time_help: str | None = None):
    """The SDP solve's options; ``single`` adds --reg and --plot (one solve); ``time_help``
    replaces the help of --time-limit."""
    if single:
        p.add_argument("--reg", type=float, default=0.1, help="weight decay gamma (default 0.1)")
    p.add_argument("--solver", choices=["auto", "native", "admm", "ipm", "ipm-active", "scs", "scs-reduced", "clarabel"],
                   default="auto",
                   help="SDP back-end: auto (default) = ipm when q = n+d+c <= 90 and its projected "
                        "run fits the time limit (from q = 60 on after a first try with a short ADMM "
                        "warm-up and ipm-active, kept when it ends optimal); above, an ADMM warm-up, "
                        "then ipm-active when the "
                        "working set it picks keeps the Newton system <= 10,000 rows (Ionosphere, "
                        "Pima), else the ADMM goes on; native = admm (first-order, scales "
                        "to large n); ipm (native interior point: accurate to 1e-4 on small "
                        "problems such as Iris or Spiral; O(q^4) memory); ipm-active (interior point over a "
                        "growing working set of the ReLU inequalities, for mid-size problems such "
                        "as Pima: an ADMM run picks the first set); scs (the paper's form), "
                        "scs-reduced or clarabel (facially reduced; need the cvxpy extra)")
    p.add_argument("--tol", type=float, default=1e-4,
                   help="stop when the relative gap between the SDP value and its certified bound "
                        "is below this (default 1e-4)")
    p.add_argument("--time-limit", type=float, default=default_time, metavar="SECONDS",
                   help=time_help or "stop the SDP solve after this many seconds, keeping the best certified bound "
                        + (f"(default {default_time:g})" if default_time is not None else
                           "(default: none; Ctrl-C also stops it with the best certified bound so far)"))
    p.add_argument("--json", dest="json_path", default=None, metavar="PATH",
                   help="also write the report as one JSON object to PATH")
    if single:
        p.add_argument("--plot", default=None, metavar="PATH",
                       help="write a PNG of the certified lower bound (and upper bounds) per iteration")
    p.add_argument("--quiet", action="store_true", help="no progress display")


def _add_certificate_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--certificate", default=None, metavar="PATH",
                   help="also write the certified bound's certificate to PATH (.npz, no pickle): the data, "
                        "the dual certificate (SDP-NN multipliers; for fit also the atomic dual's residual) "
                        "and the claimed bounds, which `convexnn verify PATH` checks again with code "
                        "independent of the solvers")


def _write_certificate(path, split, reg, sdp=None, atomic=None, network=None, claimed_objective=None) -> str | None:
    """Write the certificate of the SDP-NN and atomic-dual results that carry one (``--certificate``);
    returns the path written, or None (with a note) when there is nothing to certify."""
    from .verify import certifiable, save_certificate

    sdp, atomic = certifiable(sdp), certifiable(atomic)
    if sdp is None and atomic is None:
        print("note: --certificate not written: no certified bound with its dual certificate was computed "
              "(the SDP and dual stages did not run or were stopped before their first certificate)")
        return None
    meta = {"dataset": split.dataset, "protocol": split.protocol, "bias": bool(split.bias),
            "network_objective": claimed_objective}
    save_certificate(path, split.X_train, split.Y_train, reg, sdp=sdp, atomic=atomic, network=network, meta=meta)
    print(f"certificate written to {path} ({' and '.join(n for n, r in (('SDP-NN', sdp), ('atomic dual', atomic)) if r)}"
          f"; check it with: convexnn verify {path})")
    return str(path)


def _check_numbers(args) -> None:
    """Reject out-of-range numeric options before any data is loaded or anything is printed, with
    the same messages as the library's own checks (they would otherwise come after the header)."""
    from ._validation import check_positive_int, check_reg, check_time_limit, check_tol
    from .errors import ParameterError

    if getattr(args, "reg", None) is not None:
        check_reg(args.reg)
    if getattr(args, "tol", None) is not None:
        check_tol(args.tol)
    check_time_limit(getattr(args, "time_limit", None))
    size = getattr(args, "test_size", None)
    if size is not None and not 0 <= size < 1:
        raise ParameterError(f"test_size must be a number in [0, 1); got {size!r}.")
    for name, least in (("width", 1), ("restarts", 0), ("n_gates", 1), ("max_epochs", 1)):
        if getattr(args, name, None) is not None:
            check_positive_int(getattr(args, name), name, minimum=least)


def _load_split(args, writable=()):
    """The data set and its split as the data options ask; the output ``writable`` paths (None
    skipped) are checked first, so that a bad path fails before any work."""
    from .datasets import load_dataset, prepare
    from .report import check_writable

    for path in writable:
        if path:
            check_writable(path)

    ds = load_dataset(args.data, target=getattr(args, "target", None), task=getattr(args, "task", None))
    split = prepare(ds, protocol=args.protocol, test_size=args.test_size, test_path=args.test_path,
                    seed=args.seed, standardize=args.standardize, bias=args.bias,
                    standardize_target=args.standardize_target)
    for note in split.notes:  # the others are informational (they go to --json)
        if note.startswith("warning:"):
            print(f"convexnn: {note}", file=sys.stderr)
    return ds, split


def _base_report(split, reg, method) -> dict:
    return {"dataset": split.dataset, "task": split.task, "n_train": split.n_train,
            "n_test": split.n_test, "d": split.d, "c": split.c, "reg": reg, "bias": split.bias,
            "method": method, "protocol": split.protocol, "notes": list(split.notes)}


def _metrics(split, res):
    """Train/test metrics of a FitResult (network or kernel predictor) or a bare network."""
    from .report import classification_metrics, regression_metrics

    net = getattr(res, "network", res)
    if net is not None:
        # the split already holds the bias column; evaluate the network on its design matrices
        P_tr = np.maximum(split.X_train @ net.U, 0) @ net.V.T
        P_te = None if split.X_test is None else np.maximum(split.X_test @ net.U, 0) @ net.V.T
    else:  # kernel predictor on raw inputs
        raw = (lambda A: A[:, :-1]) if split.bias else (lambda A: A)
        P_tr = res.predict(raw(split.X_train))
        P_te = None if split.X_test is None else res.predict(raw(split.X_test))
    if split.task == "classification":
        return classification_metrics(split.Y_train, P_tr, split.Y_test, P_te)
    back = split.original_targets  # in the data's units when the targets were standardised
    return regression_metrics(back(split.Y_train), back(P_tr), None if P_te is None else back(split.Y_test),
                              None if P_te is None else back(P_te))


def _fmt(x, spec=".6g"):
    return "—" if x is None else format(x, spec)


def _fmt_gap(gap):
    """Relative gap as a percentage; tiny gaps in scientific notation so they do not read as 0."""
    if gap is None:
        return "— (no lower bound)"
    return f"{gap:.3%}" if gap >= 1e-3 else f"{gap:.2e} ({gap * 100:.2e} %)"


# ----------------------------------------------------------------------------------------------
# commands
def cmd_datasets(args) -> int:
    from .datasets import dataset_table

    rows = dataset_table()
    print(f"{'name':<14}{'n':>11}{'d':>5}{'c':>4}{'classes':>9}  {'task':<15}source")
    for r in rows:
        ncls = r.get("n_classes")
        print(f"{r['name']:<14}{str(r['n']):>11}{r['d']:>5}{r['c']:>4}{('—' if ncls is None else ncls):>9}  "
              f"{r['task']:<15}{r['source']}")
    print("\nAlso: any CSV file path (numeric features; label = last column or --target; "
          "separated by commas, semicolons, tabs or '|', detected from the file).")
    if args.json_path:
        from .report import write_json
        write_json({"datasets": rows}, args.json_path)
    return 0


def cmd_info(args) -> int:
    ds, split = _load_split(args)
    print(f"data set   {split.dataset}  ({split.task})")
    print(f"protocol   {split.protocol}")
    print(f"train      {split.n_train} rows")
    print(f"test       {split.n_test} rows")
    print(f"features   d = {split.d}" + ("  (incl. bias column)" if split.bias else ""))
    print(f"outputs    c = {split.c}")
    info = {"dataset": split.dataset, "task": split.task, "protocol": split.protocol,
            "n_train": split.n_train, "n_test": split.n_test, "d": split.d, "c": split.c,
            "bias": split.bias, "standardize": split.standardize,
            "standardize_target": split.target_mean is not None, "notes": list(split.notes)}
    if split.task == "classification":
        names = split.label_names
        tr = np.bincount(split.y_train, minlength=split.c)
        te = np.bincount(split.y_test, minlength=split.c) if split.y_test is not None else None
        print("classes    " + ", ".join(
            f"{names[k]}: {tr[k]}" + (f"/{te[k]}" if te is not None else "") for k in range(split.c))
            + ("   (train/test)" if te is not None else "   (train)"))
        info["class_counts_train"] = {names[k]: int(tr[k]) for k in range(split.c)}
        if te is not None:
            info["class_counts_test"] = {names[k]: int(te[k]) for k in range(split.c)}
    else:  # the targets' scale decides how much reg regularises (see --standardize-target)
        raw = split.original_targets(split.Y_train)
        mean, std = raw.mean(axis=0), raw.std(axis=0)
        shown = (", ".join(f"mean {m:.4g}, std {s:.4g}" for m, s in zip(mean, std)) if len(mean) <= 3 else
                 f"means {mean.min():.4g} to {mean.max():.4g}, stds {std.min():.4g} to {std.max():.4g} "
                 f"({len(mean)} columns)")
        print(f"targets    {shown}   (training part" + (", fitted standardised)" if split.target_mean is not None else ")"))
        info["target_mean_train"], info["target_std_train"] = mean.tolist(), std.tolist()
    from ._validation import MEMORY_FRACTION, available_memory_bytes
    from .sdp.admm import admm_dense_arrays
    from .sdp.formulation import dense_memory_bytes

    form_n = split.n_train
    print(f"SDP size   p = 2n+d+c = {2 * form_n + split.d + split.c}, q = n+d+c = {form_n + split.d + split.c}")
    need = dense_memory_bytes(form_n, split.d, split.c, admm_dense_arrays)
    avail = available_memory_bytes()
    info["sdp_memory_bytes"], info["available_memory_bytes"] = need, avail
    print(f"SDP memory about {need / 1024**3:.2g} GiB for the ADMM (before merging duplicate rows), "
          f"{avail / 1024**3:.3g} GiB available" + ("" if need <= MEMORY_FRACTION * avail else
                                                       ": too large, SDP-NN would be refused"))
    for note in split.notes:
        if not note.startswith("warning:"):  # those went to stderr already (_load_split)
            print(f"note       {note}")
    if args.json_path:
        from .report import write_json
        write_json(info, args.json_path)
    return 0


def cmd_sdp(args) -> int:
    from .report import check_writable, write_json
    from .result import relative_gap
    from .sdp import solve_sdp

    for path in (args.json_path, args.plot, args.certificate):
        if path:
            check_writable(path)
    if args.plot:  # before the solve, not after it
        from .plotting import require_matplotlib

        require_matplotlib()
    ds, split = _load_split(args)
    print(f"SDP-NN on {split.dataset}: n = {split.n_train}, d = {split.d}, c = {split.c}, "
          f"reg = {args.reg}, bias = {split.bias}, solver = {args.solver}")
    prog = Progress("sdp", not args.quiet)
    res = solve_sdp(split.X_train, split.Y_train, args.reg, bias=split.bias, solver=args.solver,
                    tol=args.tol, time_limit=args.time_limit, callback=prog,
                    balance_rows=args.balance_rows)
    prog.done()
    print(f"status            {res.status} after {res.iterations} iterations, {res.time_s:.2f} s")
    print(f"SDP value         {_fmt(res.value)}   (solver's primal estimate)")
    print(f"certified bound   {_fmt(res.lower_bound)}   (lower bound on the training optimum, any width)")
    print(f"relative gap      {_fmt(res.gap, '.2e')}")
    if res.gap is not None and res.gap < 0:
        rp = res.info.get("primal_residual")
        rp = f" (relative primal residual {rp:.1e})" if rp is not None and np.isfinite(rp) else ""
        print(f"                  (negative: the primal iterate is not feasible{rp}, so its value is no "
              "upper bound; the certified bound holds)")
    zero = 0.5 * float(np.sum(split.Y_train ** 2))
    if res.value is not None and res.lower_bound is not None and res.value > zero:
        # Λ = 0, the zero network lifted, is feasible with value ½‖Y‖²: a better primal point than
        # an iterate that diverged (an interior point on data where the zero network is optimal)
        print(f"                  (Λ = 0, the zero network, is feasible with value {zero:.6g}, below this "
              f"estimate: gap {relative_gap(zero, res.lower_bound):.2e} to it)")
    pol = res.info.get("polish")
    if pol and pol["bound_after"] > pol["bound_before"]:
        print(f"final polish      y and W re-chosen: certified bound {pol['bound_before']:.6g} -> "
              f"{pol['bound_after']:.6g} ({pol['time_s']:.1f} s)")
    if res.info.get("solver_value") is not None:
        print(f"solver's own value {res.info['solver_value']:.6g} (not a bound)")
    if res.info.get("stall_hint"):
        print(f"why it stalled    {res.info['stall_hint']}")
    if res.info.get("memory"):
        print(f"memory            {res.info['memory']}")
    if res.info.get("reduction"):
        print(f"data reduction    {res.info['reduction']}")
    if res.info.get("auto"):
        print(f"solver chosen     {res.info['auto']}")
    if res.info.get("working_set") is not None:
        warm = res.info.get("warmup")
        print(f"working set       {res.info['working_set']} of {res.info['inequalities']} inequalities, "
              f"{res.info['rounds']} round(s) ({', '.join(res.info.get('round_starts', []))})"
              + (f", first set from {warm['time_s']:.1f} s of ADMM" if warm else ""))
    report = _base_report(split, args.reg, res.method)
    report.update({"objective": None, "lower_bound": res.lower_bound, "gap": None,
                   "time_s": res.time_s, "metrics": None, "network": None, "sdp": _sdp_report(res, args.solver)})
    if args.plot and res.history:
        from .plotting import plot_bounds

        plot_bounds(res.history, args.plot, title=f"SDP-NN on {split.dataset}, reg = {args.reg}")
        print(f"plot written to {args.plot}")
    if args.certificate:
        report["certificate_file"] = _write_certificate(args.certificate, split, args.reg, sdp=res)
    if args.json_path:
        write_json(report, args.json_path)
        print(f"report written to {args.json_path}")
    return 0


def cmd_verify(args) -> int:
    from .report import check_writable, write_json
    from .verify import load_certificate, verify_certificate

    if args.json_path:
        check_writable(args.json_path)
    data = load_certificate(args.certificate)
    meta = data["meta"]
    X, Y = data["X"], data["Y"]
    where = ", ".join(f"{k} {meta[k]}" for k in ("dataset", "protocol") if meta.get(k) is not None)
    names = {"sdp": "SDP-NN dual", "atomic": "atomic-norm dual"}
    print(f"certificate {args.certificate}: {' + '.join(names[p] for p in meta['parts'])}; n = {X.shape[0]}, "
          f"d = {X.shape[1]} (design), c = {Y.shape[1]}, reg = {meta['reg']:g}" + (f"; {where}" if where else ""))
    t0 = time.perf_counter()
    prog = Progress("verify", not args.quiet)
    v = verify_certificate(data, time_limit=args.time_limit, progress=prog)
    prog.done()
    elapsed = time.perf_counter() - t0
    for problem in v.problems:
        print(f"problem           {problem}")
    for name, part in v.parts.items():
        claim, b, d = part["claimed_bound"], part["bound"], part["details"]
        print(f"{names[name]}")
        print(f"  claimed bound   {claim:.9g}   ({meta['parts'][name].get('method')}, "
              f"{meta['parts'][name].get('status')})")
        if b is None:
            print("  verified bound  none: this part is inconsistent (see above)")
            continue
        rel = (claim - b) / max(abs(claim), 1e-300)
        print(f"  verified bound  {b:.9g}   ({'confirmed' if part['confirmed'] else 'NOT confirmed'}: "
              f"{'above' if rel <= 0 else 'below'} the claim by a relative {abs(rel):.1e})")
        if name == "sdp":
            red = d["reduction"]
            print(f"  how             {d.get('rule', 'reduction constant')} rule"
                  + (f", t = {d['t']:.9f} towards the {d['slater_point']} Slater point, {d['checks']} direct "
                     "PSD checks" if d.get("rule") == "slater" else "")
                  + (f"; slack lambda_min {d['lambda_min']:.2e} before the repair" if "lambda_min" in d else ""))
            exact = f", {red['exact_merges']} of them exact multiples" if red.get("exact_merges") else ""
            print(f"  data reduction  {red['rows']} rows -> {red['reduced_rows']} ({red['merged_groups']} merged "
                  f"groups{exact}, {red['zero_rows']} zero rows; largest merge deviation "
                  f"{red['largest_merge_deviation']:.1e}; allowance {d['allowance']:.1e} subtracted)")
            if d["W_entries_clipped"]:
                print(f"  note            {d['W_entries_clipped']} negative entries of W clipped to 0")
        else:
            cs = d.get("claimed_sigma_upper")
            how = {"faces": "enumerating the arrangement's faces", "crude": "the crude bound sum |x_i||g_i|"}.get(
                d.get("method"), "branch and bound over the sphere")
            unit = "faces" if d.get("method") == "faces" else "cells"
            print(f"  how             sigma(Gamma) <= {d['sigma_upper']:.9g} by {how} "
                  f"({d['cells']:,} {unit}, {d['status']}, {d['time_s']:.1f} s; largest value found "
                  f"{d['sigma_lower']:.9g}" + (f", the solver's bound {cs:.9g}" if cs is not None else "")
                  + f"); Gamma scaled by {d['scale']:.9g}")
            if d.get("faces_time_limit") is not None:
                print(f"  note            with --time-limit {d['faces_time_limit']:.0f} or more, sigma is computed exactly "
                      "by enumerating the arrangement's faces instead")
    if v.bound is not None:
        print(f"verified bound    {v.bound:.9g}   (the best part; claimed {v.claimed_bound:.9g})")
    if v.network_objective is not None:
        claimed = v.claimed_network_objective
        print(f"network objective {v.network_objective:.9g}   (recomputed"
              + (f"; claimed {claimed:.9g}" if claimed is not None else "") + ")")
        if v.gap is not None:
            print(f"verified gap      {_fmt_gap(v.gap)}")
    print(f"result            {'confirmed' if v.confirmed else 'NOT confirmed'} ({elapsed:.2f} s)")
    if args.json_path:
        write_json({"certificate": str(args.certificate), "meta": meta, **v.to_dict(), "time_s": elapsed},
                   args.json_path)
        print(f"report written to {args.json_path}")
    return 0 if v.confirmed else 1


def _sdp_report(res, solver) -> dict:
    """The ``sdp`` sub-object of a JSON report: one SDP-NN solve."""
    return {"value": res.value, "lower_bound": res.lower_bound, "gap": res.gap, "status": res.status,
            "iterations": res.iterations, "time_s": res.time_s, "solver": solver, "method": res.method,
            **{k: v for k, v in res.info.items()
               if k in ("solver_value", "reduction", "rank", "primal_residual", "auto", "closest_rows",
                        "stall_hint", "memory", "working_set", "inequalities", "rounds", "round_starts",
                        "added_per_round", "warmup", "warm_started", "polish")}}


def _parse_regs(text: str) -> list[float]:
    """'0.1,0.05,0.01' → [0.1, 0.05, 0.01]: positive and finite, in the order given."""
    from .errors import ParameterError

    try:
        regs = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ParameterError(f"--regs must be comma-separated numbers, e.g. 0.1,0.05,0.01; got {text!r}.") from None
    bad = [r for r in regs if not (np.isfinite(r) and r > 0)]
    if not regs or bad:
        raise ParameterError(f"--regs needs positive finite values, e.g. 0.1,0.05,0.01; got {text!r}.")
    return regs


def cmd_path(args) -> int:
    from .report import write_json
    from .sdp import solve_sdp

    regs = _parse_regs(args.regs)
    ds, split = _load_split(args, writable=(args.json_path,))
    print(f"SDP-NN path on {split.dataset}: n = {split.n_train}, d = {split.d}, c = {split.c}, "
          f"bias = {split.bias}, solver = {args.solver}, {len(regs)} values of reg; each solve starts from "
          "the previous one's solution where its solver can use it ('warm'), and every time limit is per solve")
    rows, prev, t0 = [], None, time.perf_counter()
    print(f"{'reg':>10}  {'certified bound':>15}  {'SDP value':>12}  {'gap':>9}  {'status':<11}{'time s':>7}  warm")
    for reg in regs:
        prog = Progress(f"reg {reg:g}", not args.quiet)
        res = solve_sdp(split.X_train, split.Y_train, reg, bias=split.bias, solver=args.solver, tol=args.tol,
                        time_limit=args.time_limit, callback=prog, warm_start=prev)
        prog.done()
        warm = bool(res.info.get("warm_started"))  # ('ipm', scs and clarabel start cold)
        print(f"{reg:>10g}  {_fmt(res.lower_bound):>15}  {_fmt(res.value):>12}  {_fmt(res.gap, '.2e'):>9}  "
              f"{res.status:<11}{res.time_s:>7.2f}  {'yes' if warm else 'no'}", flush=True)
        rows.append({"reg": reg, "warm_started": bool(warm), "sdp": _sdp_report(res, args.solver)})
        # an interrupted solve ends the path (its bound is still certified and reported)
        if res.status == "interrupted":
            print("interrupted: the path stops here")
            break
        prev = res
    print(f"total {time.perf_counter() - t0:.2f} s")
    if args.json_path:
        report = _base_report(split, None, "sdp-path")  # one reg per entry of "path"
        report.update({"regs": regs, "path": rows, "time_s": time.perf_counter() - t0})
        write_json(report, args.json_path)
        print(f"report written to {args.json_path}")
    return 0


def cmd_fit(args) -> int:
    from .pipeline import fit
    from .report import check_writable, write_json

    for path in (args.json_path, args.save, args.plot, args.certificate):
        if path:
            check_writable(path)
    if args.plot:  # before the solve, not after it
        from .plotting import require_matplotlib

        require_matplotlib()
    ds, split = _load_split(args)
    t0 = time.perf_counter()
    print(f"convexnn fit on {split.dataset} ({split.task}): n_train = {split.n_train}, "
          f"n_test = {split.n_test}, d = {split.d}, c = {split.c}, reg = {args.reg}, "
          f"bias = {split.bias}, protocol = {split.protocol}")
    prog = Progress("sdp", not args.quiet)
    tprog = Progress(args.method if args.method != "sdp" else "train", not args.quiet)
    dprog = Progress("dual bound", not args.quiet)
    rprog = Progress("rounding", not args.quiet)
    X_raw = split.X_train[:, :-1] if split.bias else split.X_train
    res = fit(X_raw, split.Y_train, args.reg, bias=split.bias, method=args.method, solver=args.solver,
              tol=args.tol, time_limit=args.time_limit, width=args.width, restarts=args.restarts,
              seed=args.seed if args.seed is not None else 0, sdp_callback=prog, train_callback=tprog,
              n_gates=args.n_gates, mode=args.mode, decomposition=args.decomposition,
              protocol=args.train_protocol, dataset=split.dataset, max_epochs=args.max_epochs,
              oracle=args.oracle, certify=args.certify, dual_callback=dprog, rounding_callback=rprog,
              dual_bound={"auto": "auto", "on": True, "off": False}[args.dual_bound])
    for pg in (prog, rprog, tprog, dprog):
        pg.done()
    total = time.perf_counter() - t0
    net, cert = res.network, res.certificate
    metrics = _metrics(split, res)
    main = res.stages.get(args.method)
    if main is not None and args.method != "sdp":  # the SDP stage has its own line below
        print(f"{args.method:<18}{main.status}, {main.iterations} iterations, {main.time_s:.2f} s")
    sdp = res.stages.get("sdp")
    if sdp is not None:
        print(f"SDP-NN            {sdp.status}, {sdp.iterations} iterations, {res.times['sdp']:.2f} s")
    dual = res.stages.get("dual")
    if dual is not None:
        print(f"atomic dual       {dual.status}, {dual.iterations} rounds ({dual.info['certifications']} "
              f"certified; best bound by {dual.info['oracle'] or 'none'}), bound {_fmt(dual.lower_bound)}, "
              f"network {_fmt(dual.value)}, {res.times['dual']:.2f} s")
    for note in res.notes:
        print(f"note: {note}")
    if len(res.candidates) > 1:
        print("candidates (training objective): " + ", ".join(
            f"{k} {v:.6g}" for k, v in sorted(res.candidates.items(), key=lambda kv: kv[1])))
    if net is None:
        print(f"{args.method.upper()} kernel regression: no network, no NN-TRAIN objective, no bound")
    else:
        print(f"certified lower bound   {_fmt(cert.lower)}"
              + (f"   ({cert.lower_source})" if cert.lower is not None else ""))
        print(f"network objective       {_fmt(cert.upper)}   (width {net.width}, {res.chosen}; NN-TRAIN on the training set)")
        print(f"certified gap           {_fmt_gap(cert.gap)}")
    for k, v in metrics.items():
        print(f"{k:<24}{_fmt(v, '.4f')}")
    print("times                   " + ", ".join(f"{k} {v:.2f} s" for k, v in res.times.items())
          + f", total {total:.2f} s")
    paper_metrics = None
    if (split.protocol == "paper" and split.task == "classification" and split.X_test is not None
            and net is not None):
        from .report import paper_protocol_selection

        paper_metrics = paper_protocol_selection(split.Y_test, res.candidate_networks or {"chosen": net},
                                                 split.X_test)
        print(f"paper-protocol test accuracy (exact match; candidate {paper_metrics['candidate']} and "
              f"threshold {paper_metrics['threshold']:.3g} chosen ON THE TEST SET): "
              f"{paper_metrics['test_accuracy_exact_match']:.4f}, F1 {paper_metrics['test_f1_weighted']:.4f}"
              "  [comparison only]")
    if split.protocol == "paper":
        print("note: paper protocol (reference experiments' split and raw features), for comparison only")
    report = _base_report(split, args.reg, args.method)
    report.update({"objective": cert.upper, "lower_bound": cert.lower, "gap": cert.gap,
                   "approximation_ratio": cert.ratio if net is not None else None,
                   "lower_source": cert.lower_source or None,
                   "time_s": total, "metrics": metrics,
                   "network": None if net is None else {"width": net.width},
                   "times": res.times, "candidates": res.candidates, "chosen": res.chosen,
                   "notes": list(report["notes"]) + list(res.notes)})
    if main is not None:
        report["solver"] = main.summary()
    if paper_metrics is not None:
        report["paper_protocol_metrics"] = paper_metrics
    if sdp is not None:
        report["sdp"] = {"value": sdp.value, "lower_bound": sdp.lower_bound, "status": sdp.status,
                         "iterations": sdp.iterations, "time_s": sdp.time_s, "gap": sdp.gap}
    if dual is not None:
        report["dual"] = {"lower_bound": dual.lower_bound, "value": dual.value, "status": dual.status,
                          "rounds": dual.iterations, "time_s": dual.time_s, "atoms": dual.info["atoms"],
                          "sigma_lower": dual.info["sigma_lower"], "sigma_upper": dual.info["sigma_upper"],
                          "oracle": dual.info["oracle"], "certifications": dual.info["certifications"]}
    if args.plot and sdp is not None and sdp.history:
        from .plotting import plot_bounds

        plot_bounds(sdp.history, args.plot, network_objective=cert.upper,
                    title=f"convexnn fit on {split.dataset}, reg = {args.reg}")
        print(f"plot written to {args.plot}")
    if args.save and net is None:
        print(f"note: --save ignored: {args.method} kernel regression has no network to save")
    elif args.save:
        net.metadata.update({"dataset": split.dataset, "task": split.task, "reg": args.reg,
                             "label_names": list(split.label_names) if split.label_names else None,
                             "feature_names": list(split.feature_names),
                             "mean": None if split.mean is None else split.mean.tolist(),
                             "scale": None if split.scale is None else split.scale.tolist(),
                             "target_mean": None if split.target_mean is None else split.target_mean.tolist(),
                             "target_scale": None if split.target_scale is None else split.target_scale.tolist(),
                             "certificate": cert.to_dict()})
        path = net.save(args.save)
        print(f"model saved to {path}")
    if args.certificate:
        report["certificate_file"] = _write_certificate(args.certificate, split, args.reg, sdp=sdp, atomic=dual,
                                                        network=net, claimed_objective=None if net is None else cert.upper)
        from .verify import certifiable

        held = [r.lower_bound for r in (certifiable(sdp), certifiable(dual)) if r is not None]
        if report["certificate_file"] and cert.lower is not None and cert.lower > max(held):
            print(f"note: the certificate file holds the SDP-NN/atomic-dual bound {_fmt(max(held))}; the larger "
                  f"bound {_fmt(cert.lower)} above ({cert.lower_source}) has no certificate file format yet")
    if args.json_path:
        write_json(report, args.json_path)
        print(f"report written to {args.json_path}")
    return 0


#: what `convexnn compare` runs by default: the certified pipeline, gradient training, the convex
#: arrangement programs and a kernel baseline (all fast on the built-in sets)
COMPARE_DEFAULT = "sdp,lbfgs,sgd,crelu,gated,kim-pilanci,ntk"


def _parse_methods(text: str) -> list[str]:
    from .errors import ParameterError
    from .pipeline import METHODS

    names = [t.strip() for t in str(text).split(",") if t.strip()]
    unknown = [m for m in names if m not in METHODS]
    if not names or unknown:
        raise ParameterError(f"--methods must be comma-separated names from {', '.join(METHODS)}; "
                             f"got {text!r}" + (f" (unknown: {', '.join(unknown)})" if unknown else "") + ".")
    if len(set(names)) != len(names):
        raise ParameterError(f"--methods lists a method twice: {text!r}.")
    return names


def cmd_compare(args) -> int:
    from .pipeline import KERNEL_METHODS, fit
    from .report import write_json
    from .result import relative_gap

    methods = _parse_methods(args.methods)
    ds, split = _load_split(args, writable=(args.json_path,))
    print(f"convexnn compare on {split.dataset} ({split.task}): n_train = {split.n_train}, "
          f"n_test = {split.n_test}, d = {split.d}, c = {split.c}, reg = {args.reg}, bias = {split.bias}, "
          f"protocol = {split.protocol}; every method minimises the same NN-TRAIN objective, each "
          f"with --time-limit {args.time_limit:g} s")
    X_raw = split.X_train[:, :-1] if split.bias else split.X_train
    rows, lower, source = [], None, ""
    t_all = time.perf_counter()
    stopped = None
    for m in methods:
        if stopped:
            rows.append({"method": m, "error": f"not run: {stopped}"})
            continue
        prog = Progress(m, not args.quiet)
        t0 = time.perf_counter()
        try:
            # the certified bound comes from 'sdp' (SDP-NN and the atomic dual) and from methods
            # with a bound of their own; it bounds p* of this one problem, so every network's gap
            # is measured against the best of them
            res = fit(X_raw, split.Y_train, args.reg, bias=split.bias, method=m, solver=args.solver,
                      tol=args.tol, time_limit=args.time_limit, seed=args.seed if args.seed is not None else 0,
                      certify="auto" if m == "sdp" else False, dual_bound="auto" if m == "sdp" else False,
                      dataset=split.dataset, sdp_callback=prog, train_callback=prog, dual_callback=prog,
                      rounding_callback=prog)
        except ConvexNNError as exc:
            prog.done()
            print(f"{m:<12} skipped: {exc}")
            rows.append({"method": m, "error": str(exc)})
            continue
        except KeyboardInterrupt:  # between two stages: this method has no result
            prog.done()
            stopped = f"Ctrl-C during {m}"
            print(f"{m:<12} interrupted (Ctrl-C): no result; the methods after it are not run")
            rows.append({"method": m, "error": "interrupted (Ctrl-C) before it had a result"})
            continue
        prog.done()
        if any(st.status == "interrupted" for st in res.stages.values()):
            # Ctrl-C inside a stage ends that stage with its best result: keep the row, stop here
            stopped = f"Ctrl-C during {m}"
        cert = res.certificate
        if cert.lower is not None and (lower is None or cert.lower > lower):
            lower, source = cert.lower, f"{m}: {cert.lower_source}"
        stage = res.stages.get(m) or res.stages.get("train")
        row = {"method": m, "status": None if stage is None else stage.status,
               "objective": cert.upper, "own_lower_bound": cert.lower,
               "width": None if res.network is None else res.network.width, "chosen": res.chosen or None,
               "metrics": _metrics(split, res), "time_s": time.perf_counter() - t0, "notes": list(res.notes)}
        rows.append(row)
        print(f"{m:<12} done in {row['time_s']:.1f} s" + ("" if cert.upper is None else
                                                         f", training objective {cert.upper:.6g}")
              + ("; interrupted (Ctrl-C): the methods after it are not run" if stopped else ""))
    for row in rows:
        row["gap"] = relative_gap(row.get("objective"), lower) if row.get("objective") is not None else None
    test_key = "test_accuracy" if split.task == "classification" else "test_mse"
    train_key = "train_accuracy" if split.task == "classification" else "train_mse"
    print()
    print(f"certified lower bound {_fmt(lower)}" + (f"   ({source})" if lower is not None else
                                                    "   (none: add 'sdp' to --methods for one)"))
    print(f"{'method':<12} {'status':<11} {'objective':>12} {'certified gap':>14} {train_key:>15} "
          f"{test_key:>15} {'time s':>8}")
    for row in rows:
        if "error" in row:
            print(f"{row['method']:<12} {'not run' if row['error'].startswith('not run') else 'skipped'}")
            continue
        gap = "—" if row["gap"] is None else (f"{row['gap']:.3%}" if row["gap"] >= 1e-3 else f"{row['gap']:.1e}")
        met = row["metrics"]
        print(f"{row['method']:<12} {row['status'] or '—':<11} {_fmt(row['objective']):>12} {gap:>14} "
              f"{_fmt(met.get(train_key), '.4f'):>15} {_fmt(met.get(test_key), '.4f'):>15} {row['time_s']:>8.1f}")
    if any(r["method"] in KERNEL_METHODS for r in rows):
        print("(kernel methods fit no network: no objective, no gap)")
    if any(r.get("status") == "time_limit" for r in rows):
        print("(status time_limit: the method's solver was cut by --time-limit; its network is its best so far)")
    if split.protocol == "paper":
        print("note: paper protocol (reference experiments' split and raw features), for comparison only")
    total = time.perf_counter() - t_all
    print(f"total {total:.1f} s")
    if args.json_path:
        report = _base_report(split, args.reg, "compare")
        report.update({"lower_bound": lower, "lower_source": source or None, "methods": rows, "time_s": total})
        write_json(report, args.json_path)
        print(f"report written to {args.json_path}")
    return 0


def cmd_predict(args) -> int:
    from .datasets import load_dataset
    from .datasets._prepare import match_columns
    from .network import ReLUNetwork
    from .report import check_writable, write_json

    if args.output:
        check_writable(args.output)
    net = ReLUNetwork.load(args.model)
    meta = net.metadata
    ds = load_dataset(args.data, target=args.target, task=meta.get("task"))
    X = ds.X if ds.X_test is None or not args.use_test else ds.X_test
    names = meta.get("feature_names")  # None: a model saved without them (not by `convexnn fit`)
    if names is not None:
        if net.bias:  # the design's ones column is not in the data
            names = list(names)[:net.U.shape[0] - 1]
        note = match_columns(names, ds.feature_names, repr(args.data), f"the model {args.model}")
        if note is not None:
            print(f"convexnn: warning: {note}", file=sys.stderr)
    if meta.get("mean") is not None:
        X = (X - np.asarray(meta["mean"])) / np.asarray(meta["scale"])
    P = net.predict(X)
    if meta.get("target_mean") is not None:  # a model fitted on standardised targets
        P = P * np.asarray(meta["target_scale"]) + np.asarray(meta["target_mean"])
    labels = meta.get("label_names")
    if meta.get("task") == "classification" and labels:
        pred = [labels[k] for k in P.argmax(1)]
        Y = ds.Y if not args.use_test else ds.Y_test
        acc = None
        if Y is not None and Y.shape[1] == len(labels) and list(ds.label_names or []) == list(labels):
            acc = float(np.mean(P.argmax(1) == Y.argmax(1)))
        for row in pred[: args.show]:
            print(row)
        if len(pred) > args.show:
            print(f"... ({len(pred)} predictions)")
        if acc is not None:
            print(f"accuracy {acc:.4f} on {len(pred)} rows")
        out = {"predictions": pred, "scores": P, "accuracy": acc}
    else:
        for row in P[: args.show]:
            print(" ".join(f"{v:.6g}" for v in row))
        if len(P) > args.show:
            print(f"... ({len(P)} predictions)")
        Y = ds.Y if not args.use_test else ds.Y_test
        mse = None
        if meta.get("task") == "regression" and Y is not None and Y.shape == P.shape:
            mse = float(np.mean((P - Y) ** 2))  # the file's targets, in the data's units
            print(f"mse {mse:.6g} on {len(P)} rows")
        out = {"predictions": P, "mse": mse}
    if args.output:
        write_json(out, args.output)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convexnn",
        description="Train two-layer ReLU networks by convex optimisation and certify how far "
                    "they are from the global optimum.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"convexnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("datasets", help="list the built-in data sets (name, n, d, classes, task, source)")
    p.add_argument("--json", dest="json_path", default=None, metavar="PATH", help="write the table as JSON")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("info", help="train/test sizes and class counts of a data set under a protocol")
    _add_data_args(p)
    p.add_argument("--json", dest="json_path", default=None, metavar="PATH", help="write the summary as JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("sdp", help="solve SDP-NN: a certified lower bound on the training optimum",
                       description="Solve the semidefinite relaxation SDP-NN [Prakhya, Birdal, Yurtsever, "
                                   "ICLR 2025] on the training part of DATA. Its certified bound is a lower "
                                   "bound on NN-TRAIN for every network width.")
    _add_data_args(p)
    _add_solver_args(p)
    _add_certificate_arg(p)
    p.add_argument("--no-balance-rows", dest="balance_rows", action="store_false",
                   help="ADMM only (--solver native, or auto when it runs the ADMM): keep the rows as given instead of rescaling each by a power of "
                        "two to nearly equal norms and, for n > 128, all of them by one more common power of two that "
                        "shrinks the ReLU block (exact reformulations; on by default)")
    p.set_defaults(func=cmd_sdp)

    p = sub.add_parser("path", help="SDP-NN bounds along a path of reg values, each solve warm-started",
                       description="Solve SDP-NN on the training part of DATA for each value of --regs in "
                                   "order. Each solve starts from the previous one's solution: an interior "
                                   "point's result gives the next its working set of inequalities, so the "
                                   "ADMM warm-up is skipped (about 1 s per step on Iris, paper protocol, "
                                   "instead of 4-7 s cold). Every bound is certified like a single solve's.")
    _add_data_args(p)
    p.add_argument("--regs", required=True, metavar="R1,R2,...",
                   help="comma-separated values of the weight decay gamma, solved in this order "
                        "(neighbouring values share most of their working sets), e.g. 0.1,0.05,0.02,0.01")
    _add_solver_args(p, single=False)
    p.set_defaults(func=cmd_path)

    p = sub.add_parser("fit", help="train a network and certify its optimality gap (the main job)",
                       description="Certified training: SDP-NN lower bound, then a network from the SDP "
                                   "factor polished by L-BFGS (plus random restarts), then a second bound "
                                   "and network from the atomic-norm dual (see --dual-bound); prints the "
                                   "certified gap and train/test metrics. The SDP solve gets --time-limit, "
                                   "the rounding a quarter of it, the L-BFGS training and the dual stage "
                                   "half of it each, the dual stage more when the stages before it left more of the "
                                   "limit (so about 2.25x the limit at most, and about the limit when the "
                                   "first stages are quick); when the SDP solve is on its "
                                   "first-order route (ADMM) and still more than 10% from its bound at half "
                                   "its limit, it stops there and the dual stage also gets its remaining time.")
    _add_data_args(p)
    _add_solver_args(p, default_time=60.0)
    _add_certificate_arg(p)
    p.add_argument("--method", choices=list(METHOD_HELP), default="sdp", metavar="METHOD",
                   help="training method (default sdp): " + "; ".join(
                       f"{k} = {v}" for k, v in METHOD_HELP.items()))
    p.add_argument("--width", type=int, default=50,
                   help="width of the randomly started networks (lbfgs, sgd tuned; default 50)")
    p.add_argument("--restarts", type=int, default=3,
                   help="random L-BFGS restarts, or seeds of sgd (default 3)")
    p.add_argument("--gates", dest="n_gates", type=int, default=100, metavar="N",
                   help="crelu/gated: number of sampled Gaussian gates (activation patterns; default 100)")
    p.add_argument("--mode", choices=["nuclear", "ova"], default="nuclear",
                   help="gated/kim-pilanci with several outputs: exact nuclear-norm form (default) "
                        "or one-vs-all")
    p.add_argument("--decomposition", choices=["min-norm", "shift"], default="min-norm",
                   help="cone decomposition of gated neurons into ReLU neurons (default min-norm)")
    p.add_argument("--train-protocol", dest="train_protocol", choices=["tuned", "paper"], default="tuned",
                   help="sgd: 'paper' = the reference experiments' momentum SGD (learning rate by data "
                        "set name), 'tuned' = Adam then L-BFGS (default)")
    p.add_argument("--epochs", dest="max_epochs", type=int, default=None,
                   help="sgd: epoch cap per seed (default: the protocol's)")
    p.add_argument("--oracle", choices=["exact", "sampled"], default="exact",
                   help="sahiner-fw: exact non-negative PCA oracle (d <= 4, certified bound) or "
                        "sampled heuristic (no bound)")
    cg = p.add_mutually_exclusive_group()
    cg.add_argument("--certify", dest="certify", action="store_const", const=True, default="auto",
                    help="always also solve SDP-NN for a lower bound (default: only when the method "
                         "has no certified bound of its own)")
    cg.add_argument("--no-certify", dest="certify", action="store_const", const=False,
                    help="skip the lower bound (faster; no gap is reported)")
    p.add_argument("--dual-bound", dest="dual_bound", choices=["auto", "on", "off"], default="auto",
                   help="a second certified lower bound: the atomic-norm dual by column generation from "
                        "the trained network's neurons, its dual norm computed exactly by enumerating "
                        "the faces of the hyperplane arrangement where that fits the time (Iris: about "
                        "a second; Iris with a bias: from a time limit of about 45 s, the default included), else "
                        "bounded by branch and bound over the sphere (its network competes too): "
                        "auto (default) = when the design has "
                        "<= 5 columns, bias included; on = up to 8 columns; off = never. Takes half the time "
                        "limit, or what the stages before it left of it if more (a longer limit buys more "
                        "rounds); the certificate keeps "
                        "the larger bound")
    p.add_argument("--save", default=None, metavar="PATH", help="save the network (.npz, no pickle)")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("compare", help="several training methods on the same objective, with one certified bound",
                       description="Run several training methods on the training part of DATA, each "
                                   "minimising the same NN-TRAIN objective with the same reg and each "
                                   "under --time-limit, and print their training objectives, train/test "
                                   "metrics and times side by side. The certified lower bound on the "
                                   "global optimum comes from 'sdp' (SDP-NN and the atomic-norm dual) "
                                   "and from any method with a bound of its own; since it bounds every "
                                   "network of this problem, each network's certified gap is measured "
                                   "against the best of them.")
    _add_data_args(p)
    p.add_argument("--reg", type=float, default=0.1, help="weight decay gamma (default 0.1)")
    p.add_argument("--methods", default=COMPARE_DEFAULT, metavar="M1,M2,...",
                   help=f"comma-separated methods (default {COMPARE_DEFAULT}); any of: {', '.join(METHOD_HELP)}")
    _add_solver_args(p, default_time=30.0, single=False,
                     time_help="the time limit of each method, as in `convexnn fit` (default 30; sdp's "
                               "rounding, training and dual stages get their shares of it on top)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("verify", help="check a saved certificate again, with code independent of the solvers",
                       description="Recompute the lower bound of a certificate written by `convexnn sdp "
                                   "--certificate` or `convexnn fit --certificate`. The verifier rebuilds the "
                                   "row reduction from the stored data (exact multiples merged exactly, "
                                   "other merges paid for), forms the dual slack of the stored multipliers "
                                   "in its own way, bounds its rounding errors, and repairs a slightly "
                                   "infeasible point towards a Slater point, proving each step's positive "
                                   "semidefiniteness with its own Cholesky test; it shares no code with the "
                                   "solvers. It also recomputes the stored network's objective. An "
                                   "atomic-dual part's dual norm sigma is computed exactly by enumerating "
                                   "the faces of the hyperplane arrangement, each face once (where the time "
                                   "limit allows it: about 4 microseconds per face; Iris 1.1 million faces, "
                                   "Iris with a bias 47 million), else bounded by the verifier's own branch "
                                   "and bound. Exit status 0 when every part's "
                                   "claimed bound is confirmed (to a relative 1e-6 for SDP-NN, 1e-4 for the "
                                   "atomic dual), 1 otherwise.")
    p.add_argument("certificate", help="a .npz file written with --certificate")
    p.add_argument("--time-limit", type=float, default=60.0, metavar="SECONDS",
                   help="cap on the sigma search of an atomic-dual part (default 60; three quarters for "
                        "the face enumeration, which gives way to the branch and bound if it would take "
                        "longer); cut short, or stopped by Ctrl-C, its bound stays valid but looser")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument("--json", dest="json_path", default=None, metavar="PATH",
                   help="also write the verification as one JSON object to PATH")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("predict", help="predictions of a saved model on a data set")
    p.add_argument("model", help="a .npz file written by `convexnn fit --save`")
    p.add_argument("data", help="data set name or CSV file with the same features")
    p.add_argument("--target", default=None, help="CSV target column (if the file has labels)")
    p.add_argument("--use-test", action="store_true", help="for data sets with a fixed test file (mnist-pca)")
    p.add_argument("--show", type=int, default=10, help="how many predictions to print (default 10)")
    p.add_argument("--json", dest="output", default=None, metavar="PATH", help="write all predictions as JSON")
    p.set_defaults(func=cmd_predict)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        _check_numbers(args)
        return int(args.func(args) or 0)
    except ConvexNNError as exc:
        print(f"convexnn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nconvexnn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (e.g. `| head`): stop without a traceback
        try:  # and without a second error when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (AttributeError, OSError, ValueError):
            pass
        return 1


if __name__ == "__main__":
    sys.exit(main())
