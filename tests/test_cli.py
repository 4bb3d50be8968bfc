"""The `convexnn` command line: reports, saved models, and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convexnn.cli import main
from convexnn.network import ReLUNetwork

REPORT_KEYS = {"dataset", "task", "n_train", "n_test", "d", "c", "reg", "bias", "method", "objective",
               "lower_bound", "gap", "time_s", "metrics", "network"}


def test_datasets_lists_all_builtin_sets(capsys, tmp_path):
    assert main(["datasets", "--json", str(tmp_path / "d.json")]) == 0
    out = capsys.readouterr().out
    for name in ["iris", "ionosphere", "pima", "banknote", "mnist-pca", "spiral", "random:K",
                 "breast-cancer", "wine", "digits"]:
        assert name in out
    rows = {r["name"]: r for r in json.loads((tmp_path / "d.json").read_text())["datasets"]}
    assert (rows["ionosphere"]["n"], rows["ionosphere"]["d"]) == (351, 34)
    assert (rows["pima"]["n"], rows["pima"]["d"]) == (768, 8)
    assert (rows["banknote"]["n"], rows["banknote"]["d"]) == (1372, 4)
    assert rows["random:K"]["c"] == 5 and rows["random:K"]["task"] == "regression"


def test_info_paper_protocol_sizes(capsys, tmp_path):
    assert main(["info", "banknote", "--protocol", "paper", "--json", str(tmp_path / "i.json")]) == 0
    info = json.loads((tmp_path / "i.json").read_text())
    assert info["n_train"] == 686 and info["n_test"] == 686
    assert sum(info["class_counts_train"].values()) == 686
    # the ADMM's memory, by the solver's own rule: p = 2·686 + 4 + 2 = 1,378 > 600, so Anderson
    # memory 10 and 11 + 20 dense p × p arrays, plus three p × q ones
    p, q = 1378, 692
    assert info["sdp_memory_bytes"] == 8.0 * 31 * p**2 + 24.0 * p * q
    out = capsys.readouterr().out
    assert f"SDP memory about {info['sdp_memory_bytes'] / 1024**3:.2g} GiB" in out and "too large" not in out


def test_info_says_when_sdp_nn_would_not_fit(capsys, monkeypatch, tmp_path):
    """The same verdict as the solver's own memory check, before any solve."""
    from convexnn import _validation
    from convexnn.datasets import prepare
    from convexnn.errors import MemoryEstimateError
    from convexnn.sdp import solve_sdp

    split = prepare("iris")
    for avail, refused in ((10 * 1024**2, True), (100 * 1024**2, False)):
        monkeypatch.setattr(_validation, "available_memory_bytes", lambda a=avail: a)
        assert main(["info", "iris", "--json", str(tmp_path / "i.json")]) == 0
        assert ("too large, SDP-NN would be refused" in capsys.readouterr().out) == refused
        if refused:
            with pytest.raises(MemoryEstimateError):
                solve_sdp(split.X_train, split.Y_train, 0.1, solver="admm", max_iter=1)
        else:
            solve_sdp(split.X_train, split.Y_train, 0.1, solver="admm", max_iter=1)


def test_sdp_command_writes_certified_report(capsys, tmp_path):
    out = tmp_path / "out.json"
    assert main(["sdp", "random:3", "--reg", "0.1", "--solver", "native", "--time-limit", "5", "--quiet",
                 "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert REPORT_KEYS <= set(rep)
    assert rep["method"] == rep["sdp"]["method"] == "sdp-admm"
    assert rep["sdp"]["lower_bound"] == rep["lower_bound"]
    assert rep["lower_bound"] > 0 and rep["sdp"]["status"] in ("optimal", "time_limit")
    assert rep["n_train"] == 25 and rep["c"] == 5
    assert "certified bound" in capsys.readouterr().out
    # --no-balance-rows reaches the solver (a different run, hence a different bound) and solves
    # the same problem (both certified bounds within 1 % of each other after 5 s)
    out2 = tmp_path / "plain.json"
    assert main(["sdp", "random:3", "--reg", "0.1", "--solver", "native", "--time-limit", "5", "--quiet",
                 "--no-balance-rows", "--json", str(out2)]) == 0
    plain = json.loads(out2.read_text())
    assert plain["lower_bound"] > 0 and plain["lower_bound"] != rep["lower_bound"]
    assert abs(plain["lower_bound"] - rep["lower_bound"]) <= 1e-2 * rep["lower_bound"]


def test_sdp_command_with_the_interior_point_certifies_to_tolerance(capsys, tmp_path):
    out = tmp_path / "ipm.json"
    assert main(["sdp", "random:3", "--reg", "0.1", "--solver", "ipm", "--tol", "1e-4", "--quiet",
                 "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    sdp = rep["sdp"]
    assert sdp["status"] == "optimal"
    assert 0 < rep["lower_bound"] <= sdp["value"] <= rep["lower_bound"] * (1 + 1e-4)
    # the ADMM's certified bound after 5 s (test above) is ≤ the optimum, hence ≤ this value
    out2 = tmp_path / "admm.json"
    assert main(["sdp", "random:3", "--reg", "0.1", "--solver", "native", "--time-limit", "5", "--quiet",
                 "--json", str(out2)]) == 0
    assert json.loads(out2.read_text())["lower_bound"] <= sdp["value"] * (1 + 1e-9)


def test_sdp_command_with_the_active_set_interior_point(capsys, tmp_path):
    """--solver ipm-active reaches the full interior point's optimum and reports its working set."""
    out, ref = tmp_path / "active.json", tmp_path / "ipm.json"
    assert main(["sdp", "random:3", "--reg", "0.1", "--solver", "ipm-active", "--tol", "1e-4", "--quiet",
                 "--json", str(out)]) == 0
    assert "working set" in capsys.readouterr().out
    assert main(["sdp", "random:3", "--reg", "0.1", "--solver", "ipm", "--tol", "1e-5", "--quiet",
                 "--json", str(ref)]) == 0
    rep, full = json.loads(out.read_text()), json.loads(ref.read_text())["sdp"]
    sdp = rep["sdp"]
    assert rep["method"] == "sdp-ipm-active" and sdp["status"] == "optimal"
    assert 0 < sdp["working_set"] < sdp["inequalities"] and sdp["rounds"] >= 1
    assert len(sdp["round_starts"]) == sdp["rounds"] and sdp["round_starts"][0] == "cold"
    assert 0 < rep["lower_bound"] <= full["value"] * (1 + 1e-9)
    assert abs(sdp["value"] - full["value"]) <= 1e-4 * full["value"]


def test_path_command_warm_starts_each_solve_from_the_previous(capsys, tmp_path, monkeypatch):
    """`convexnn path` solves SDP-NN for each reg in order, each after the first warm-started from
    the previous solution (random:3 has q = 32; 'auto' takes the active-set route here because its
    threshold is lowered), and reports every certified bound, which matches the full interior
    point's optimum at that reg."""
    import convexnn.sdp as sdp_mod
    from convexnn.datasets import prepare
    from convexnn.sdp import solve_sdp

    monkeypatch.setattr(sdp_mod, "AUTO_SMALL_ACTIVE_MIN_Q", 10)
    out = tmp_path / "path.json"
    assert main(["path", "random:3", "--regs", "0.1,0.05,0.02", "--quiet", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "each solve starts from the previous one's solution" in text and "total" in text
    rep = json.loads(out.read_text())
    assert rep["method"] == "sdp-path" and rep["regs"] == [0.1, 0.05, 0.02] and rep["reg"] is None
    assert [row["warm_started"] for row in rep["path"]] == [False, True, True]
    assert [row["sdp"]["warm_started"] for row in rep["path"]] == [False, True, True]
    split = prepare("random:3")
    for row in rep["path"]:
        ref = solve_sdp(split.X_train, split.Y_train, row["reg"], solver="ipm", tol=1e-6)
        sdp = row["sdp"]
        assert sdp["status"] == "optimal" and sdp["method"] == "sdp-ipm-active"
        assert ref.value * (1 - 2e-4) <= sdp["lower_bound"] <= ref.value * (1 + 1e-6)
    assert "warm start's" in rep["path"][1]["sdp"]["auto"]


def test_path_command_stops_at_an_interrupted_solve_and_reports_the_path_so_far(capsys, tmp_path, monkeypatch):
    """Ctrl-C inside a solve ends that solve with its certified bound ('interrupted'); the path
    stops there, and the JSON report holds the solves so far."""
    import convexnn.sdp as sdp_mod
    from convexnn.result import SolveResult

    seen = []

    def fake(X, Y, reg, **kw):
        seen.append((reg, kw["warm_start"]))
        status = "interrupted" if len(seen) == 2 else "optimal"
        return SolveResult("sdp-ipm", 1.0 + reg, 0.9 + reg, status, 5, 0.1,
                           info={"warm_started": len(seen) > 1})

    monkeypatch.setattr(sdp_mod, "solve_sdp", fake)
    out = tmp_path / "path.json"
    assert main(["path", "random:3", "--regs", "0.1,0.05,0.02", "--quiet", "--json", str(out)]) == 0
    assert "interrupted: the path stops here" in capsys.readouterr().out
    assert [r for r, _ in seen] == [0.1, 0.05] and seen[0][1] is None and seen[1][1] is not None
    rep = json.loads(out.read_text())
    assert [row["reg"] for row in rep["path"]] == [0.1, 0.05]
    assert rep["path"][1]["sdp"]["status"] == "interrupted" and rep["path"][1]["warm_started"]
    assert rep["path"][1]["sdp"]["lower_bound"] == pytest.approx(0.95)


def test_a_closed_output_pipe_ends_the_command_quietly(monkeypatch, capsys):
    """`convexnn path … | head -2` closes stdout while solves still print: the command stops with
    status 1 and no traceback."""
    import io

    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stdout", Closed())
    assert main(["path", "random:3", "--regs", "0.1,0.05", "--quiet"]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_sdp_command_reports_the_final_polish(capsys, tmp_path):
    """Two features, 30 rows, nearly parallel pairs: the interior point stalls, and the final
    polish of y and W raises its bound. The CLI prints the bound before and after, the printed
    certified bound is the polished one, and the JSON's sdp object carries the same numbers."""
    import json

    rng = np.random.default_rng(0)
    data = np.hstack([rng.standard_normal((30, 2)), rng.standard_normal((30, 1))])
    csv = tmp_path / "d2.csv"
    np.savetxt(csv, data, delimiter=",", header="x1,x2,y", comments="", fmt="%.17g")
    out = tmp_path / "p.json"
    assert main(["sdp", str(csv), "--task", "regression", "--no-standardize", "--test-size", "0",
                 "--reg", "0.01", "--quiet", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    sdp = json.loads(out.read_text())["sdp"]
    pol = sdp["polish"]
    assert sdp["status"] == "stalled" and pol["bound_after"] > pol["bound_before"] and pol["free_pairs"] == 1740
    assert sdp["lower_bound"] == pol["bound_after"]
    line = [ln for ln in text.splitlines() if ln.startswith("final polish")]
    assert line and f"{pol['bound_before']:.6g} -> {pol['bound_after']:.6g}" in line[0]
    assert f"certified bound   {pol['bound_after']:.6g}" in text


def test_sdp_command_explains_a_negative_gap(capsys, monkeypatch):
    """A value below the certified bound (an infeasible primal iterate, e.g. after a stall on nearly
    parallel rows) is printed with a line that says what it means; a positive gap is not."""
    import convexnn.sdp as sdp_mod
    from convexnn.result import SolveResult

    def fake(X, Y, reg, **kw):
        return SolveResult("sdp-ipm-active", value, 3.94327, "stalled", 99, 0.1, info=info)

    monkeypatch.setattr(sdp_mod, "solve_sdp", fake)
    for value, shown, info in ((3.94240, True, {}), (3.94330, False, {}),
                               (3.94240, True, {"primal_residual": 3.25e-3})):
        assert main(["sdp", "random:3", "--quiet"]) == 0
        out = capsys.readouterr().out
        assert ("negative: the primal iterate is not feasible" in out) is shown
        assert ("(relative primal residual 3.2e-03)" in out) is bool(info)
        assert "relative gap      " + ("-2.21e-04" if shown else "7.61e-06") in out


def test_sdp_command_auto_default_takes_the_interior_point_on_small_data(capsys, tmp_path):
    """The default --solver auto runs the interior point on random:3 (q = 32) and says so."""
    out = tmp_path / "auto.json"
    assert main(["sdp", "random:3", "--reg", "0.1", "--quiet", "--json", str(out)]) == 0
    assert "solver chosen     ipm (q = 32" in capsys.readouterr().out
    rep = json.loads(out.read_text())
    assert rep["method"] == rep["sdp"]["method"] == "sdp-ipm"
    assert rep["sdp"]["solver"] == "auto" and rep["sdp"]["auto"].startswith("ipm")
    assert rep["sdp"]["status"] == "optimal"
    assert 0 < rep["lower_bound"] <= rep["sdp"]["value"] <= rep["lower_bound"] * (1 + 1e-4)


def test_fit_report_and_predict_round_trip(capsys, tmp_path):
    rpath, mpath = tmp_path / "r.json", tmp_path / "model.npz"
    code = main(["fit", "iris", "--reg", "0.1", "--time-limit", "3", "--restarts", "1", "--width", "10",
                 "--quiet", "--bias", "--json", str(rpath), "--save", str(mpath)])
    assert code == 0
    rep = json.loads(rpath.read_text())
    assert REPORT_KEYS <= set(rep)
    assert rep["lower_bound"] <= rep["objective"]
    assert rep["gap"] == pytest.approx((rep["objective"] - rep["lower_bound"]) / rep["objective"])
    assert set(rep["metrics"]) == {"train_accuracy", "test_accuracy", "test_f1_weighted", "test_f1_macro"}
    assert rep["network"]["width"] >= 1 and rep["bias"] is True and rep["d"] == 5
    # the saved network reproduces the reported objective on the same (standardised) training data
    from convexnn.datasets import prepare

    split = prepare("iris", bias=True)
    net = ReLUNetwork.load(mpath)
    X_raw = split.X_train[:, :-1]
    assert net.objective(X_raw, split.Y_train, 0.1) == pytest.approx(rep["objective"], rel=1e-12)
    # predict through the CLI: same labels as the network's argmax on standardised raw iris
    ppath = tmp_path / "p.json"
    assert main(["predict", str(mpath), "iris", "--json", str(ppath)]) == 0
    pred = json.loads(ppath.read_text())
    from convexnn.datasets import load_dataset

    ds = load_dataset("iris")
    scores = net.predict((ds.X - split.mean) / split.scale)
    np.testing.assert_allclose(np.array(pred["scores"]), scores, rtol=0, atol=0)
    assert pred["predictions"] == [split.label_names[k] for k in scores.argmax(1)]
    # data with other feature columns are refused by name, never run through the network
    csv = tmp_path / "iris.csv"
    names = list(ds.feature_names)
    rows = [",".join(names + ["species"])] + [",".join(f"{v:.4g}" for v in x) + f",{ds.label_names[k]}"
                                              for x, k in zip(ds.X[::25], ds.Y[::25].argmax(1))]
    csv.write_text("\n".join(rows) + "\n")
    assert main(["predict", str(mpath), str(csv)]) == 0  # the same columns: fine
    capsys.readouterr()
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("\n".join([",".join([names[1], names[0]] + names[2:] + ["species"])] + rows[1:]) + "\n")
    assert main(["predict", str(mpath), str(swapped)]) == 2
    err = capsys.readouterr().err
    assert f"{names[1]!r} where the model {mpath} has {names[0]!r}" in err and "same order" in err
    fewer = tmp_path / "fewer.csv"
    fewer.write_text("\n".join(",".join(r.split(",")[1:]) for r in rows) + "\n")
    assert main(["predict", str(mpath), str(fewer)]) == 2
    err = capsys.readouterr().err
    assert "has 3 feature columns" in err and f"the model {mpath} has 4" in err and "Traceback" not in err
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("\n".join(["a,b,c,d,species"] + rows[1:]) + "\n")
    assert main(["predict", str(mpath), str(renamed)]) == 0  # other names: by position, with a warning
    out, err = capsys.readouterr()
    assert "warning: the column names of" in err and "matched by position" in err
    assert out.splitlines()[:6] == [split.label_names[k] for k in
                                    net.predict((ds.X[::25] - split.mean) / split.scale).argmax(1)][:6]


@pytest.mark.parametrize("argv, message", [
    (["info", "irsi"], "iris"),
    (["sdp", "iris", "--reg", "-1", "--quiet"], "reg"),
    (["sdp", "iris", "--json", "/nonexistent-dir/x.json"], "does not exist"),
    (["path", "iris", "--regs", "0.1", "--json", "/nonexistent-dir/x.json"], "does not exist"),
    (["compare", "iris", "--json", "/nonexistent-dir/x.json"], "does not exist"),
    (["info", "iris", "--protocol", "default", "--test-size", "1.5"], "test_size"),
    (["fit", "iris", "--reg", "-1", "--quiet"], "reg must be a positive"),
    (["sdp", "iris", "--reg", "nan", "--quiet"], "got nan"),
    (["sdp", "iris", "--tol", "2", "--quiet"], "tol must be in (0, 1)"),
    (["fit", "iris", "--time-limit", "0", "--quiet"], "time_limit"),
    (["fit", "iris", "--restarts", "-1", "--quiet"], "restarts must be >= 0"),
    (["fit", "iris", "--width", "0", "--quiet"], "width must be >= 1"),
    (["path", "iris", "--regs", "0.1,x", "--quiet"], "--regs must be comma-separated numbers"),
    (["path", "iris", "--regs", "0.1,-1", "--quiet"], "positive finite"),
    (["path", "iris", "--regs", "0.1", "--tol", "2", "--quiet"], "tol must be in (0, 1)"),
])
def test_bad_input_gives_one_clear_error(argv, message, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.startswith("convexnn: error:") and message in err
    assert "Traceback" not in err
    assert out == ""  # rejected before any header is printed or any data is loaded


def test_csv_errors_are_reported(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,x\n3,,y\n")
    assert main(["info", str(bad)]) == 2
    assert "missing" in capsys.readouterr().err.lower()
    one = tmp_path / "one.csv"
    one.write_text("1,2,x\n3,4,x\n")
    assert main(["info", str(one)]) == 2
    assert "class" in capsys.readouterr().err.lower()


def test_help_teaches(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "certif" in out and "convexnn fit" in out


@pytest.mark.parametrize("command", ["sdp", "fit"])
def test_plot_without_matplotlib_fails_before_the_solve(command, tmp_path, capsys, monkeypatch):
    """--plot without the plot extra used to fail only after the solve (and before the JSON report
    was written); it now fails first, with the install hint, and nothing is solved."""
    import sys

    import convexnn.pipeline as pipeline_mod
    import convexnn.sdp as sdp_mod

    def never(*args, **kwargs):
        raise AssertionError("solved although the plot could not be written")

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    monkeypatch.setattr(sdp_mod, "solve_sdp", never)
    monkeypatch.setattr(pipeline_mod, "fit", never)
    out = tmp_path / "r.json"
    assert main([command, "random:2", "--quiet", "--plot", str(tmp_path / "b.png"), "--json", str(out)]) == 2
    captured = capsys.readouterr()
    assert 'needs matplotlib: pip install "convexnn[plot]"' in captured.err and captured.out == ""


def test_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "bounds.png"
    assert main(["sdp", "random:2", "--time-limit", "1", "--quiet", "--plot", str(png)]) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_paper_protocol_metrics_are_labelled_and_correct():
    from convexnn.report import paper_protocol_metrics

    Y = np.eye(3)[[0, 1, 2, 1]]
    P = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.2, 0.6], [0.5, 0.55, 0.0]])
    m = paper_protocol_metrics(Y, P)
    # threshold between 0.5 and 0.55 makes every row an exact match
    assert m["test_accuracy_exact_match"] == 1.0 and 0.5 < m["threshold"] <= 0.55
    assert "TEST" in m["warning"]


def test_fit_paper_protocol_reports_labelled_test_tuned_metrics(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["fit", "iris", "--protocol", "paper", "--time-limit", "2", "--restarts", "1", "--width", "5",
                 "--quiet", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    pm = rep["paper_protocol_metrics"]
    assert "TEST" in pm["warning"] and pm["candidate"] in rep["candidates"]
    assert 0 <= pm["test_accuracy_exact_match"] <= 1
    assert "comparison only" in capsys.readouterr().out


@pytest.mark.parametrize("method", ["nngp", "ntk"])
def test_fit_kernel_method_json_has_null_network_fields(capsys, tmp_path, method):
    out = tmp_path / "k.json"
    assert main(["fit", "iris", "--method", method, "--reg", "0.01", "--quiet", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert REPORT_KEYS <= set(rep)
    assert rep["objective"] is None and rep["lower_bound"] is None and rep["network"] is None
    assert rep["gap"] is None and rep["method"] == method
    assert rep["metrics"]["test_accuracy"] > 0.8


def test_fit_gated_method_json_and_certificate(capsys, tmp_path):
    out = tmp_path / "g.json"
    # without the atomic dual stage (test_atomic_dual.py covers it), whose networks compete too
    assert main(["fit", "random:2", "--method", "gated", "--gates", "30", "--solver", "clarabel",
                 "--quiet", "--dual-bound", "off", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    # certify='auto': the gated method has no bound on p* of its own, so SDP-NN supplies it
    assert rep["lower_source"].startswith("SDP-NN") and "dual" not in rep
    assert 0 < rep["lower_bound"] <= rep["objective"]
    assert rep["gap"] == pytest.approx((rep["objective"] - rep["lower_bound"]) / rep["objective"])
    assert rep["approximation_ratio"] == pytest.approx(rep["lower_bound"] / rep["objective"])
    assert rep["chosen"] in ("gated", "gated+lbfgs") and rep["solver"]["status"] in ("optimal", "max_iter")


def test_fit_rejects_unknown_method(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["fit", "iris", "--method", "magic"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_standardized_regression_targets_round_trip(capsys, tmp_path):
    """--standardize-target: the network is fitted on standardised targets, and the reported
    metrics and `predict`'s outputs are in the data's units (checked against an independent
    computation from the saved network and the training statistics)."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 2))
    y = 150.0 + 60.0 * np.maximum(X[:, 0], 0) - 25.0 * X[:, 1] + rng.standard_normal(40)
    csv = tmp_path / "reg.csv"
    csv.write_text("a,b,y\n" + "".join(f"{a},{b},{t}\n" for (a, b), t in zip(X, y)))
    rpath, mpath, ppath = tmp_path / "r.json", tmp_path / "m.npz", tmp_path / "p.json"
    # without the option: a warning on stderr about the targets' scale
    assert main(["info", str(csv)]) == 0
    assert "warning: the regression targets have mean" in capsys.readouterr().err
    assert main(["fit", str(csv), "--standardize-target", "--reg", "1", "--quiet",
                 "--dual-bound", "off", "--json", str(rpath), "--save", str(mpath)]) == 0
    assert "warning" not in capsys.readouterr().err
    rep = json.loads(rpath.read_text())
    assert any(n.startswith("regression targets standardised (mean") for n in rep["notes"])
    from convexnn.datasets import prepare

    split = prepare(str(csv))  # the same split, targets as given
    tr, te = split.train_index, split.test_index
    mu, sd = y[tr].mean(), y[tr].std()
    net = ReLUNetwork.load(mpath)
    # the objective is NN-TRAIN on the standardised targets
    assert net.objective(split.X_train, ((y[tr] - mu) / sd)[:, None], 1.0) == pytest.approx(rep["objective"],
                                                                                            rel=1e-12)
    pred_te = net.predict(split.X_test)[:, 0] * sd + mu
    assert rep["metrics"]["test_mse"] == pytest.approx(np.mean((pred_te - y[te]) ** 2), rel=1e-12)
    assert rep["metrics"]["test_mse"] < 0.5 * np.var(y[te])  # better than the mean, in the data's units
    assert main(["predict", str(mpath), str(csv), "--json", str(ppath)]) == 0
    out = json.loads(ppath.read_text())
    pred = np.array(out["predictions"])[:, 0]
    np.testing.assert_allclose(pred, net.predict((X - split.mean) / split.scale)[:, 0] * sd + mu, rtol=1e-12)
    # with the file's targets, the MSE in the data's units
    assert out["mse"] == pytest.approx(np.mean((pred - y) ** 2), rel=1e-12)
    assert f"mse {out['mse']:.6g} on 40 rows" in capsys.readouterr().out
    # classification targets cannot be standardised
    capsys.readouterr()
    assert main(["info", "iris", "--standardize-target"]) == 2
    assert "standardize_target applies to regression targets" in capsys.readouterr().err


def test_compare_runs_methods_side_by_side_against_one_certified_bound(capsys, tmp_path):
    rpath = tmp_path / "c.json"
    assert main(["compare", "random:0", "--methods", "sdp,lbfgs,gated,ntk", "--quiet",
                 "--json", str(rpath)]) == 0
    out = capsys.readouterr().out
    rep = json.loads(rpath.read_text())
    rows = {r["method"]: r for r in rep["methods"]}
    assert list(rows) == ["sdp", "lbfgs", "gated", "ntk"]
    # the bound is the best of the methods' own certified bounds, below every network's objective
    own = [r["own_lower_bound"] for r in rows.values() if r["own_lower_bound"] is not None]
    assert rep["lower_bound"] == max(own) and rows["sdp"]["own_lower_bound"] == rep["lower_bound"]
    for m in ("sdp", "lbfgs", "gated"):
        r = rows[m]
        assert rep["lower_bound"] <= r["objective"]
        assert r["gap"] == pytest.approx((r["objective"] - rep["lower_bound"]) / r["objective"], rel=1e-12)
    assert rows["ntk"]["objective"] is None and rows["ntk"]["gap"] is None
    assert rows["ntk"]["metrics"]["train_mse"] >= 0
    # each row is what `fit` gives for that method alone (same seed, nothing cut by the clock)
    from convexnn.datasets import prepare
    from convexnn.pipeline import fit

    split = prepare("random:0")
    alone = fit(split.X_train, split.Y_train, 0.1, method="lbfgs", certify=False, dual_bound=False,
                time_limit=30.0)
    assert rows["lbfgs"]["objective"] == alone.certificate.upper
    assert rows["lbfgs"]["own_lower_bound"] is None and rows["sdp"]["status"] == "optimal"
    assert "certified gap" in out and f"certified lower bound {rep['lower_bound']:.6g}" in out


def test_compare_skips_a_method_that_cannot_run_and_rejects_bad_lists(capsys, tmp_path):
    rpath = tmp_path / "c.json"
    assert main(["compare", "mnist-pca", "--methods", "exact,ntk", "--quiet", "--json", str(rpath)]) == 0
    out = capsys.readouterr().out
    rep = json.loads(rpath.read_text())
    assert rep["methods"][0]["method"] == "exact" and "activation patterns" in rep["methods"][0]["error"]
    assert "exact        skipped:" in out and rep["lower_bound"] is None
    assert "none: add 'sdp' to --methods" in out
    for bad, msg in (("sdp,magic", "unknown: magic"), ("sdp,sdp", "lists a method twice"), (",", "--methods")):
        assert main(["compare", "iris", "--methods", bad]) == 2
        assert msg in capsys.readouterr().err


def test_sdp_points_to_the_zero_network_when_the_solver_s_estimate_is_worse(capsys, tmp_path):
    """On features of scale 1e-3 the zero network is optimal and the interior point diverges
    (primal estimate 5e8 against ½‖Y‖² = 8, 'stalled'); the report now names Λ = 0 as the
    feasible point it is, with its gap to the certified bound."""
    rng = np.random.default_rng(8)
    X = 1e-3 * rng.standard_normal((16, 3))
    labels = rng.integers(0, 3, 16)
    csv = tmp_path / "tiny.csv"
    csv.write_text("".join(f"{a},{b},{c},{k}\n" for (a, b, c), k in zip(X, labels)))
    rpath = tmp_path / "s.json"
    assert main(["sdp", str(csv), "--test-size", "0", "--no-standardize", "--quiet", "--json", str(rpath)]) == 0
    out = capsys.readouterr().out
    rep = json.loads(rpath.read_text())
    zero = 0.5 * 16  # one-hot targets: ½‖Y‖² = n/2, the zero network's objective
    assert rep["sdp"]["value"] > zero >= rep["lower_bound"]
    assert (f"(Λ = 0, the zero network, is feasible with value {zero:.6g}, below this estimate: gap "
            f"{(zero - rep['lower_bound']) / zero:.2e} to it)") in out
    # a solve whose estimate is below ½‖Y‖² gets no such line
    assert main(["sdp", "random:0", "--quiet"]) == 0
    assert "the zero network, is feasible" not in capsys.readouterr().out


def test_info_shows_regression_targets_and_prints_warnings_once(capsys):
    from convexnn.datasets import load_dataset, prepare

    assert main(["info", "diabetes"]) == 0
    cap = capsys.readouterr()
    y = load_dataset("diabetes").Y[prepare("diabetes").train_index, 0]
    assert f"targets    mean {y.mean():.4g}, std {y.std():.4g}   (training part)" in cap.out
    assert "warning: the regression targets" in cap.err and "warning" not in cap.out  # once, on stderr
    assert main(["info", "diabetes", "--standardize-target"]) == 0
    cap = capsys.readouterr()
    assert f"mean {y.mean():.4g}, std {y.std():.4g}   (training part, fitted standardised)" in cap.out
    assert "warning" not in cap.err


def test_ctrl_c_in_compare_keeps_the_rows_so_far_and_runs_no_more_methods(capsys, tmp_path, monkeypatch):
    import convexnn.pipeline as pipeline

    real = pipeline.fit

    def fit(*args, method, **kwargs):
        if method == "gated":  # Ctrl-C between two stages: no result at all
            raise KeyboardInterrupt
        res = real(*args, method=method, **kwargs)
        if method == "lbfgs" and interrupt_stage:  # Ctrl-C inside a stage: its best result stands
            res.stages["train"].status = "interrupted"
        return res

    monkeypatch.setattr(pipeline, "fit", fit)
    for interrupt_stage, expect in ((False, ["lbfgs", "gated", "ntk"]), (True, ["lbfgs", "ntk", "gated"])):
        rpath = tmp_path / f"c{interrupt_stage}.json"
        methods = "lbfgs,gated,ntk" if not interrupt_stage else "lbfgs,ntk,gated"
        assert main(["compare", "random:0", "--methods", methods, "--quiet", "--json", str(rpath)]) == 0
        out = capsys.readouterr().out
        rows = json.loads(rpath.read_text())["methods"]
        assert [r["method"] for r in rows] == expect
        assert rows[0]["objective"] is not None and "error" not in rows[0]
        if interrupt_stage:  # lbfgs ran (interrupted inside), ntk and gated did not
            assert rows[1]["error"] == rows[2]["error"] == "not run: Ctrl-C during lbfgs"
            assert "interrupted (Ctrl-C): the methods after it are not run" in out
        else:  # gated was interrupted before it had a result; ntk was not run
            assert rows[1]["error"] == "interrupted (Ctrl-C) before it had a result"
            assert rows[2]["error"] == "not run: Ctrl-C during gated"
        assert "certified lower bound" in out  # the table of what ran is still printed
