"""The certificate file and its independent verifier (convexnn.verify): it must confirm honest
certificates from every native solver, never certify more than a network reaches, charge a wrong
row grouping, and refuse malformed files with a clear message."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize

from convexnn.cli import main
from convexnn.errors import DataError
from convexnn.sdp import solve_sdp
from convexnn.verify import (ATOMIC_RTOL, CONFIRM_RTOL, certificate_arrays, load_certificate, save_certificate,
                             sigma_upper_bound, verify_certificate)


def _objective(X, Y, reg, U, V):
    R = np.maximum(X @ U, 0.0) @ V.T - Y
    return 0.5 * float(np.sum(R * R)) + 0.5 * reg * (float(np.sum(U * U)) + float(np.sum(V * V)))


def _trained(X, Y, reg, rng, width=8, starts=3):
    """The best of a few L-BFGS runs on NN-TRAIN in plain numpy: an upper bound on p*."""
    d, c = X.shape[1], Y.shape[1]
    best = 0.5 * float(np.sum(Y * Y))  # the zero network

    def fun(z):
        U, V = z[:d * width].reshape(d, width), z[d * width:].reshape(c, width)
        H = np.maximum(X @ U, 0.0)
        R = H @ V.T - Y
        gH = (R @ V) * (X @ U > 0)
        gU = X.T @ gH + reg * U
        gV = R.T @ H + reg * V
        return _objective(X, Y, reg, U, V), np.concatenate([gU.ravel(), gV.ravel()])

    for _ in range(starts):
        z0 = 0.5 * rng.standard_normal((d + c) * width)
        res = minimize(fun, z0, jac=True, method="L-BFGS-B", options={"maxiter": 400})
        U, V = res.x[:d * width].reshape(d, width), res.x[d * width:].reshape(c, width)
        best = min(best, _objective(X, Y, reg, U, V))
    return best


def _instance(seed):
    """Small problems with the awkward rows the reduction handles: duplicates, positively parallel
    rows, a zero row, a bias column, rows of very different norms."""
    rng = np.random.default_rng(seed)
    n, d, c = int(rng.integers(6, 16)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    X = rng.standard_normal((n, d)) * np.exp(rng.uniform(-2, 2, n))[:, None]
    Y = rng.standard_normal((n, c))
    kind = seed % 4
    if kind == 1:
        X[1] = X[0]          # exact duplicate
        X[2] = 3.0 * X[0]    # positively parallel
    elif kind == 2:
        X[0] = 0.0           # zero row
    elif kind == 3:
        X = np.hstack([X, np.ones((n, 1))])  # bias column
    return X, Y, float(rng.choice([1.0, 0.1, 0.01])), kind == 3


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("solver", ["ipm", "admm", "auto"])
def test_verifier_confirms_native_certificates_and_stays_below_trained_networks(seed, solver, tmp_path):
    X, Y, reg, bias = _instance(seed)
    kw = {"max_iter": 400} if solver == "admm" else {}
    res = solve_sdp(X, Y, reg, bias=bias, solver=solver, time_limit=20, **kw)
    path = save_certificate(tmp_path / "c.npz", X, Y, reg, sdp=res)
    v = verify_certificate(path)
    assert v.problems == []
    assert v.claimed_bound == res.lower_bound
    # the two implementations agree: the verifier reaches the solver's bound to CONFIRM_RTOL, and
    # exceeds it by no more than the solver's own rounding margins (which grow like 1/μ, docs §4)
    assert v.confirmed, (v.bound, v.claimed_bound, v.parts)
    assert v.bound <= res.lower_bound + 1e-5 * max(1.0, abs(res.lower_bound))
    upper = _trained(X, Y, reg, np.random.default_rng(seed))
    assert v.bound <= upper + 1e-9 * max(1.0, upper)


@pytest.mark.parametrize("solver", ["clarabel", "scs"])
def test_reference_back_ends_certificates_are_confirmed(solver, tmp_path):
    """CVXPY's back-ends (Clarabel on the reduced form, SCS on the paper's) certify from their
    duals too; the verifier confirms those bounds and stays below trained networks."""
    pytest.importorskip("cvxpy")
    X, Y, reg, bias = _instance(1)  # with a duplicate and a parallel row
    res = solve_sdp(X, Y, reg, bias=bias, solver=solver)
    v = verify_certificate(save_certificate(tmp_path / "c.npz", X, Y, reg, sdp=res))
    assert v.confirmed and v.problems == []
    assert v.bound <= _trained(X, Y, reg, np.random.default_rng(1)) + 1e-9


def test_balanced_rows_and_a_data_scale_map_back_exactly(tmp_path):
    """The ADMM solves rows rescaled by powers of two and the whole data by another one: the
    verifier maps the multipliers back and confirms the bound."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 3)) * np.exp(rng.uniform(-3, 3, 30))[:, None] * 7.0
    Y = rng.standard_normal((30, 2))
    res = solve_sdp(X, Y, 0.1, solver="admm", max_iter=600)
    form = res.solution["formulation"]
    assert np.ptp(form.row_scale) > 0 and res.info["data_scale"] != 1.0  # the case is exercised
    v = verify_certificate(save_certificate(tmp_path / "c.npz", X, Y, 0.1, sdp=res))
    assert v.confirmed and v.problems == []


def test_a_tampered_certificate_is_not_confirmed_and_its_verified_bound_stays_sound(tmp_path):
    X, Y, reg, _ = _instance(0)
    res = solve_sdp(X, Y, reg, solver="ipm")
    arrays = certificate_arrays(X, Y, reg, sdp=res)
    upper = _trained(X, Y, reg, np.random.default_rng(0))
    # an inflated claim
    meta = json.loads(str(arrays["meta"]))
    meta["claimed_bound"] *= 1.01
    meta["parts"]["sdp"]["claimed_bound"] *= 1.01
    v = verify_certificate({**arrays, "meta": meta})
    assert not v.confirmed and not v.parts["sdp"]["confirmed"] and v.bound <= res.lower_bound * (1 + 1e-6)
    meta["parts"]["sdp"]["claimed_bound"] /= 1.01  # an overall claim above every part's
    v = verify_certificate({**arrays, "meta": meta})
    assert not v.confirmed and v.parts["sdp"]["confirmed"] and "overall claimed bound" in v.problems[0]
    # multipliers pushed out of the dual cone: the repair pulls them back, the bound drops
    meta = json.loads(str(arrays["meta"]))
    v = verify_certificate({**arrays, "Gamma": 1.5 * arrays["Gamma"], "meta": meta})
    assert not v.confirmed
    assert v.bound < res.lower_bound and v.bound <= upper
    # negative entries of W are clipped (any W ≥ 0 is admissible), and said so
    W = arrays["W"] if "W" in arrays else None
    Wneg = -np.ones((2 * res.solution["formulation"].n,) * 2)
    v = verify_certificate({k: a for k, a in arrays.items() if not k.startswith("W")} | {"W": Wneg, "meta": meta})
    assert v.parts["sdp"]["details"]["W_entries_clipped"] == Wneg.size and v.bound <= upper
    del W


def test_a_wrong_grouping_is_charged_its_allowance():
    """Two rows x_0, x_1 = x_0 + Δ with opposite targets: merged they cannot be fitted apart, so the
    merged problem's bound is far above the real optimum. Claiming that merge in a certificate
    of the real data must not certify it: the allowance for Δ takes the bound below p*."""
    x0 = np.array([1.0, 0.2])
    X_merged = np.array([x0, x0, [0.3, -1.0]])
    Y = np.array([[1.0], [-1.0], [0.5]])
    reg = 0.05
    res = solve_sdp(X_merged, Y, reg, solver="ipm")
    assert res.solution["formulation"].reduction.n_merged_groups == 1
    X_real = X_merged.copy()
    X_real[1] = x0 + np.array([0.0, 0.6])  # no longer parallel to x_0
    p_real = _trained(X_real, Y, reg, np.random.default_rng(1), width=6, starts=6)
    assert res.lower_bound > p_real + 0.1  # the claim is false for the real data
    arrays = certificate_arrays(X_real, Y, reg, sdp=res)
    v = verify_certificate({**arrays, "meta": json.loads(str(arrays["meta"]))})
    assert v.parts["sdp"]["details"]["reduction"]["largest_merge_deviation"] > 0.1
    assert v.bound <= p_real and not v.confirmed


def test_exact_duplicates_and_zero_rows_cost_only_rounding(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((12, 3))
    X[4] = X[0]
    X[5] = 0.25 * X[1]
    X[6] = 0.0
    Y = rng.standard_normal((12, 2))
    res = solve_sdp(X, Y, 0.1, solver="ipm")
    v = verify_certificate(save_certificate(tmp_path / "c.npz", X, Y, 0.1, sdp=res))
    red = v.parts["sdp"]["details"]["reduction"]
    assert (red["merged_groups"], red["zero_rows"], red["reduced_rows"]) == (2, 1, 9)
    assert red["largest_merge_deviation"] < 1e-12  # rounding level, far below the merge tolerance
    assert 0 < v.parts["sdp"]["details"]["allowance"] < 1e-9 * 0.5 * np.sum(Y * Y)
    assert v.confirmed


def test_a_network_in_the_certificate_is_recomputed(tmp_path):
    X, Y, reg, _ = _instance(2)
    res = solve_sdp(X, Y, reg, solver="ipm")
    rng = np.random.default_rng(0)
    U, V = rng.standard_normal((X.shape[1], 4)), rng.standard_normal((Y.shape[1], 4))
    obj = _objective(X, Y, reg, U, V)
    path = save_certificate(tmp_path / "c.npz", X, Y, reg, sdp=res, network=(U, V),
                            meta={"network_objective": obj})
    v = verify_certificate(path)
    assert v.network_objective == pytest.approx(obj, rel=1e-13)
    assert v.gap == pytest.approx((obj - v.bound) / obj, rel=1e-12)
    assert v.claimed_network_objective == obj
    # a network whose shapes do not fit the data is named, not evaluated
    data = load_certificate(path)
    data["U"] = U[:-1]
    assert "do not fit" in verify_certificate(data).problems[0]


def test_the_verifier_shares_no_code_with_the_solvers():
    tree = ast.parse(Path(__file__).resolve().parents[1].joinpath("src/convexnn/verify.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    # only the error types and the generic memory check (no solver, formulation or oracle)
    assert {m for m in imported if m.startswith(".") or m.startswith("convexnn")} == {".errors", "._validation"}


def test_malformed_files_are_refused_with_a_reason(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_certificate(tmp_path / "none.npz")
    (tmp_path / "t.npz").write_text("hello")
    with pytest.raises(DataError, match="not an .npz"):
        load_certificate(tmp_path / "t.npz")
    np.savez(tmp_path / "o.npz", format=np.array("convexnn-certificate"), meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="could not read|missing"):
        load_certificate(tmp_path / "o.npz")
    np.savez(tmp_path / "f.npz", format=np.array("something-else"))
    with pytest.raises(DataError, match="format tag"):
        load_certificate(tmp_path / "f.npz")
    X, Y, reg, _ = _instance(0)
    res = solve_sdp(X, Y, reg, solver="ipm")
    arrays = certificate_arrays(X, Y, reg, sdp=res)
    np.savez(tmp_path / "m.npz", **{k: v for k, v in arrays.items() if k != "Gamma"})
    with pytest.raises(DataError, match="sdp part is missing Gamma"):
        load_certificate(tmp_path / "m.npz")
    meta = json.loads(str(arrays["meta"]))
    np.savez(tmp_path / "v.npz", **{**arrays, "meta": np.array(json.dumps({**meta, "version": 99}))})
    with pytest.raises(DataError, match="version"):
        load_certificate(tmp_path / "v.npz")
    bare = {**meta, "parts": {"sdp": {"status": "optimal"}}}
    np.savez(tmp_path / "p.npz", **{**arrays, "meta": np.array(json.dumps(bare))})
    with pytest.raises(DataError, match="no claimed bound"):
        load_certificate(tmp_path / "p.npz")
    np.savez(tmp_path / "r.npz", **{**arrays, "meta": np.array(json.dumps({k: v for k, v in meta.items() if k != "reg"}))})
    with pytest.raises(DataError, match="no reg"):
        load_certificate(tmp_path / "r.npz")
    # inconsistent contents: no bound, the reason named
    bad = {**arrays, "meta": meta, "row_scale": arrays["row_scale"] * 3.0}
    v = verify_certificate(bad)
    assert v.bound is None and not v.confirmed and "powers of two" in v.problems[0]
    assert v.problems[0].startswith("sdp: ")
    bad = {**arrays, "meta": meta, "Gamma": arrays["Gamma"][:-1]}
    assert "do not fit" in verify_certificate(bad).problems[0]
    bad = {**arrays, "meta": meta, "group_idx": np.zeros_like(arrays["group_idx"])}
    assert "twice" in verify_certificate(bad).problems[0]
    # a dict is checked like a file, and bad index arrays are named, not passed to numpy
    with pytest.raises(DataError, match="no known parts"):
        verify_certificate({**arrays, "meta": {**meta, "parts": {}}})
    with pytest.raises(DataError, match="must hold integers"):
        verify_certificate({**arrays, "meta": meta, "group_ptr": arrays["group_ptr"].astype(float)})
    sparse = {k: v for k, v in arrays.items() if k != "W"}
    sparse.update(W_rows=np.array([0, 1], dtype=np.int32), W_cols=np.array([1], dtype=np.int32),
                  W_vals=np.array([1.0, 2.0]), W_shape=np.array([2 * len(arrays["y"])] * 2), meta=meta)
    assert "different lengths" in verify_certificate(sparse).problems[0]
    sparse["W_shape"] = np.array([-3, 10**9])
    assert "sparse W has shape" in verify_certificate(sparse).problems[0]


def test_cli_sdp_certificate_and_verify(tmp_path, capsys):
    cert, out = tmp_path / "c.npz", tmp_path / "v.json"
    assert main(["sdp", "random:0", "--quiet", "--certificate", str(cert)]) == 0
    text = capsys.readouterr().out
    assert f"certificate written to {cert}" in text
    assert main(["verify", str(cert), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "confirmed" in text and "NOT" not in text
    report = json.loads(out.read_text())
    assert report["confirmed"] is True
    assert report["bound"] == pytest.approx(report["claimed_bound"], rel=CONFIRM_RTOL)
    # a claim the multipliers do not support: exit status 1
    data = dict(np.load(cert, allow_pickle=False))
    meta = json.loads(str(data["meta"]))
    meta["claimed_bound"] *= 1.05
    meta["parts"]["sdp"]["claimed_bound"] *= 1.05
    data["meta"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "bad.npz", **data)
    assert main(["verify", str(tmp_path / "bad.npz")]) == 1
    assert "NOT confirmed" in capsys.readouterr().out


def test_cli_refuses_an_unwritable_certificate_path_before_solving(tmp_path, capsys):
    assert main(["sdp", "random:0", "--certificate", str(tmp_path / "no" / "c.npz")]) != 0
    err = capsys.readouterr()
    assert "does not exist" in err.err and "SDP-NN on" not in err.out


def test_cli_fit_certificate_holds_the_network(tmp_path, capsys):
    cert = tmp_path / "c.npz"
    assert main(["fit", "random:0", "--quiet", "--time-limit", "5", "--dual-bound", "off",
                 "--certificate", str(cert)]) == 0
    capsys.readouterr()
    v = verify_certificate(cert)
    assert v.confirmed and v.network_objective is not None
    assert v.network_objective == pytest.approx(v.claimed_network_objective, rel=1e-12)
    assert v.bound <= v.network_objective


# --------------------------------------------------------------------------- the atomic-dual part
def test_sigma_branch_and_bound_brackets_the_exact_dual_norm():
    """The verifier's σ̄ against the library's exact face enumeration (a reference computed
    another way) on 60 small instances with parallel, antiparallel, duplicate and zero rows."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from _dual_instances import dual_norm_instance

    from convexnn.atomic_dual_faces import relu_dual_norm_faces

    for seed in range(60):
        X, G = dual_norm_instance(seed)
        exact = relu_dual_norm_faces(X, G)
        up, low, info = sigma_upper_bound(X, G, rtol=1e-4, time_limit=20)
        assert up >= exact.lower * (1 - 1e-12), (seed, up, exact.lower)
        assert low <= exact.upper * (1 + 1e-12)
        assert info["status"] in ("optimal", "exact") and up <= low * (1 + 1e-4) + 1e-12


@pytest.mark.parametrize("seed", range(4))
def test_sigma_upper_bound_is_above_a_dense_sweep_in_two_dimensions(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 2))
    X[1] = 2.0 * X[0]
    G = rng.standard_normal((40, 3))
    phi = np.linspace(0.0, 2 * np.pi, 200_001)
    U = np.vstack([np.cos(phi), np.sin(phi)])
    sweep = np.linalg.norm(G.T @ np.maximum(X @ U, 0.0), axis=0).max()
    up, low, info = sigma_upper_bound(X, G, rtol=1e-6, time_limit=20)
    assert info["status"] == "optimal"
    assert low <= up and sweep <= up * (1 + 1e-12)
    assert up <= sweep * (1 + 2e-6)  # the sweep's grid is fine enough to come this close


@pytest.mark.parametrize("stop_after", [1, 3, 6])
def test_an_interrupted_sigma_search_keeps_a_valid_bound(stop_after):
    """Ctrl-C (raised here from the progress callback) mid-search: the cells being split still
    count, so σ̄ stays above the exact σ."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from _dual_instances import dual_norm_instance

    from convexnn.atomic_dual_faces import relu_dual_norm_faces

    X, G = dual_norm_instance(0)  # d = 4: many batches
    exact = relu_dual_norm_faces(X, G)
    seen = []

    def interrupt(rec):
        seen.append(rec)
        if len(seen) == stop_after:
            raise KeyboardInterrupt

    up, low, info = sigma_upper_bound(X, G, rtol=1e-9, batch=16, callback=interrupt)
    assert info["status"] == "interrupted" and len(seen) == stop_after
    assert up >= exact.lower * (1 - 1e-12) and low <= exact.upper
    assert seen[-1]["value"] >= up * (1 - 1e-12)  # the bound only tightens; the last report holds


def test_the_sigma_search_stops_before_its_cells_outgrow_the_memory(monkeypatch):
    import sys

    import convexnn._validation as validation

    sys.path.insert(0, str(Path(__file__).parent))
    from _dual_instances import dual_norm_instance

    from convexnn.atomic_dual_faces import relu_dual_norm_faces

    X, G = dual_norm_instance(0)
    monkeypatch.setattr(validation, "available_memory_bytes", lambda: 200_000)  # a few hundred cells
    up, low, info = sigma_upper_bound(X, G, rtol=1e-9)
    assert info["status"] == "memory" and up >= relu_dual_norm_faces(X, G).lower * (1 - 1e-12)


def _atomic_case():
    from convexnn.atomic_dual import atomic_dual_certificate

    rng = np.random.default_rng(7)
    X = rng.standard_normal((30, 2))
    Y = np.maximum(X @ rng.standard_normal((2, 3)), 0.0) @ rng.standard_normal((2, 3)).T \
        + 0.1 * rng.standard_normal((30, 2))
    res = atomic_dual_certificate(X, Y, 0.1, time_limit=10)
    return X, Y, 0.1, res


def test_the_atomic_part_is_confirmed_and_stays_below_trained_networks(tmp_path):
    X, Y, reg, res = _atomic_case()
    assert res.lower_bound is not None and res.solution["Gamma"].shape == Y.shape
    path = save_certificate(tmp_path / "a.npz", X, Y, reg, atomic=res, network=(res.solution["U"], res.solution["V"]),
                            meta={"network_objective": res.value})
    v = verify_certificate(path)
    part = v.parts["atomic"]
    assert v.confirmed and set(v.parts) == {"atomic"}
    assert part["bound"] == pytest.approx(res.lower_bound, rel=ATOMIC_RTOL)
    assert part["details"]["sigma_upper"] >= part["details"]["sigma_lower"]
    assert v.network_objective == pytest.approx(res.value, rel=1e-12)
    assert v.bound <= _trained(X, Y, reg, np.random.default_rng(0)) + 1e-9


def test_a_wide_atomic_part_is_named_not_searched():
    rng = np.random.default_rng(0)
    X, G = rng.standard_normal((10, 9)), rng.standard_normal((10, 2))
    with pytest.raises(DataError, match="d ≤ 6"):
        sigma_upper_bound(X, G)
    Xs, Y, reg, res = _atomic_case()
    arrays = certificate_arrays(Xs, Y, reg, atomic=res)
    v = verify_certificate({**arrays, "X": np.hstack([Xs, rng.standard_normal((Xs.shape[0], 7))]),
                            "meta": json.loads(str(arrays["meta"]))})
    assert v.bound is None and not v.confirmed and "d ≤ 6" in v.problems[0]


def test_a_tampered_atomic_residual_is_not_confirmed_and_stays_sound():
    X, Y, reg, res = _atomic_case()
    arrays = certificate_arrays(X, Y, reg, atomic=res)
    meta = json.loads(str(arrays["meta"]))
    rng = np.random.default_rng(1)
    noisy = arrays["atomic_Gamma"] + 0.3 * rng.standard_normal(Y.shape)
    v = verify_certificate({**arrays, "atomic_Gamma": noisy, "meta": meta})
    assert not v.confirmed and v.bound < res.lower_bound
    assert v.bound <= _trained(X, Y, reg, np.random.default_rng(0)) + 1e-9


def test_cli_fit_certificate_with_both_parts(tmp_path, capsys):
    cert, out, rep = tmp_path / "c.npz", tmp_path / "v.json", tmp_path / "fit.json"
    assert main(["fit", "random:0", "--quiet", "--time-limit", "10", "--certificate", str(cert),
                 "--json", str(rep)]) == 0
    assert "SDP-NN and atomic dual" in capsys.readouterr().out
    assert json.loads(rep.read_text())["certificate_file"] == str(cert)
    assert main(["verify", str(cert), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "atomic-norm dual" in text and "result            confirmed" in text
    report = json.loads(out.read_text())
    assert set(report["parts"]) == {"sdp", "atomic"}
    assert report["bound"] == max(p["bound"] for p in report["parts"].values())
    assert report["bound"] <= report["network_objective"]


def _interrupt_on_call(fn, k):
    """``fn``, except that its k-th call raises KeyboardInterrupt (a Ctrl-C at that point)."""
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == k:
            raise KeyboardInterrupt
        return fn(*args, **kwargs)

    return flaky


@pytest.mark.parametrize("stop_at", [2, 40, 200, 600])
def test_an_interrupt_inside_a_batch_still_counts_the_cells_being_split(stop_at, monkeypatch):
    import sys

    import convexnn.verify as verify

    sys.path.insert(0, str(Path(__file__).parent))
    from _dual_instances import dual_norm_instance

    from convexnn.atomic_dual_faces import relu_dual_norm_faces

    X, G = dual_norm_instance(0)
    exact = relu_dual_norm_faces(X, G)
    monkeypatch.setattr(verify, "_cell_bounds", _interrupt_on_call(verify._cell_bounds, stop_at))
    reports = []
    up, low, info = sigma_upper_bound(X, G, rtol=1e-9, batch=1, callback=reports.append)
    assert info["status"] == "interrupted"
    assert up >= exact.lower * (1 - 1e-12)
    # the cell being split when the interrupt came was the top of the heap, whose region is
    # unexplored: the bound must still cover it, so it cannot drop below the last one reported
    if reports:
        assert up >= reports[-1]["value"]


@pytest.mark.parametrize("stop_at", [1, 2, 4])
def test_an_interrupted_sdp_check_returns_a_valid_bound(stop_at, monkeypatch):
    import convexnn.verify as verify

    X, Y, reg, _ = _instance(1)
    res = solve_sdp(X, Y, reg, solver="admm", max_iter=300)  # multipliers that need the repair
    arrays = certificate_arrays(X, Y, reg, sdp=res)
    full = verify_certificate({**arrays, "meta": json.loads(str(arrays["meta"]))})
    assert full.parts["sdp"]["details"]["checks"] >= 3
    # every proof goes through _proves_psd: the first call bounds ‖X‖₂, the second λ_min, later
    # ones check the repaired combinations
    monkeypatch.setattr(verify, "_proves_psd", _interrupt_on_call(verify._proves_psd, stop_at))
    v = verify_certificate({**arrays, "meta": json.loads(str(arrays["meta"]))})
    details = v.parts["sdp"]["details"]
    assert details["interrupted"] and v.bound <= full.bound
    assert v.bound <= _trained(X, Y, reg, np.random.default_rng(1)) + 1e-9


def test_estimators_save_a_certificate_of_their_fit(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.exceptions import NotFittedError

    from convexnn.estimators import ConvexReLUClassifier, ConvexReLURegressor

    X, y = load_iris(return_X_y=True)
    X, y = X[::3], np.array(["setosa", "versicolor", "virginica"])[y[::3]]
    clf = ConvexReLUClassifier(time_limit=10, restarts=1)
    with pytest.raises(NotFittedError):
        clf.save_certificate(tmp_path / "c.npz", X, y)
    clf.fit(X, y)
    v = verify_certificate(clf.save_certificate(tmp_path / "c.npz", X, y))
    assert v.confirmed and v.claimed_bound == pytest.approx(clf.lower_bound_, rel=1e-15)
    assert v.network_objective == pytest.approx(clf.objective_, rel=1e-10)
    with pytest.raises(DataError, match="fitted on"):
        clf.save_certificate(tmp_path / "d.npz", X[:-1], y[:-1])
    with pytest.raises(DataError, match="fitted on"):
        clf.save_certificate(tmp_path / "d.npz", X, y[::-1])
    rng = np.random.default_rng(0)
    Xr = rng.standard_normal((20, 2))
    yr = np.maximum(Xr @ [1.0, -1.0], 0.0)
    reg = ConvexReLURegressor(time_limit=10, restarts=1, bias=False).fit(Xr, yr)
    v = verify_certificate(reg.save_certificate(tmp_path / "r.npz", Xr, yr))
    assert v.confirmed and v.bound <= v.network_objective
    kernel = ConvexReLURegressor(method="ntk").fit(Xr, yr)
    with pytest.raises(DataError, match="no certified bound"):
        kernel.save_certificate(tmp_path / "k.npz", Xr, yr)


def test_cli_fit_says_when_its_best_bound_is_not_in_the_file(tmp_path, capsys, monkeypatch):
    """A method's own certified bound (C-ReLU, gated, exact) above the SDP-NN and atomic-dual ones has
    no file format: fit says the file holds the smaller bound instead of implying otherwise."""
    import dataclasses

    import convexnn.pipeline as pipeline

    real = pipeline.fit

    def fit_with_a_better_bound(*args, **kwargs):
        res = real(*args, **kwargs)
        better = dataclasses.replace(res.certificate, lower=res.certificate.lower + 0.25, lower_source="a method's own")
        return dataclasses.replace(res, certificate=better)

    monkeypatch.setattr(pipeline, "fit", fit_with_a_better_bound)
    cert = tmp_path / "c.npz"
    assert main(["fit", "random:0", "--quiet", "--time-limit", "5", "--dual-bound", "off",
                 "--certificate", str(cert)]) == 0
    out = capsys.readouterr().out
    assert "the certificate file holds the SDP-NN/atomic-dual bound" in out and "a method's own" in out
    assert verify_certificate(cert).confirmed


# ---------------------------------------------------------------------------------------------
# the proofs of positive semidefiniteness (_proves_psd): never wrong, and not vacuous
# ---------------------------------------------------------------------------------------------

def test_psd_proof_never_accepts_a_shift_above_the_exact_smallest_eigenvalue():
    """A = BᵀB with B integer and fewer rows than columns is exact in floating point and singular,
    so λ_min(A − s·I) = −s < 0 exactly for every s > 0: no proof may succeed, however small s is.
    Plain floating-point Cholesky runs to completion on some of these by rounding luck (counted
    below, so that the test keeps its teeth); the proof's own margin is what refuses them."""
    from convexnn.verify import _cholesky_completes, _proves_psd

    lucky = 0
    for seed in range(150):
        rng = np.random.default_rng(seed)
        q = int(rng.integers(2, 40))
        k = int(rng.integers(1, q))
        for bits in (3, 20):
            B = rng.integers(-2 ** bits, 2 ** bits, size=(k, q)).astype(np.float64)
            A = B.T @ B
            assert np.array_equal(A, A.T) and np.all(np.abs(A) < 2 ** 52)  # exact integers
            lucky += _cholesky_completes(A)
            for j in (1, 20, 40, 60, 80, 1000):
                assert not _proves_psd(A, 2.0 ** -j)
            # scaled far down (subnormal products) or up, the answer must not change
            for scale in (2.0 ** -1000, 2.0 ** 400):
                assert not _proves_psd(A * scale, scale * 2.0 ** -30)
            if bits == 3:  # entries below 2¹⁴: exact even as subnormals, so still singular
                assert not _proves_psd(A * 2.0 ** -1060, 2.0 ** -1074)
    assert lucky >= 5


@pytest.mark.parametrize("seed", range(12))
def test_psd_proof_decides_clear_cases_of_general_matrices(seed):
    """On full-rank Gram matrices (not exact in floating point) with λ the computed smallest
    eigenvalue: A − (λ/2)·I ⪰ 0 is proven whenever λ is not tiny relative to ‖A‖, and a shift
    1e-9‖A‖ above λ (beyond any rounding of the eigensolver) is never accepted."""
    from convexnn.verify import _proves_psd

    rng = np.random.default_rng(100 + seed)
    q = int(rng.integers(1, 60))
    B = rng.standard_normal((q + int(rng.integers(1, 5)), q)) * np.exp(rng.uniform(-3, 3))
    A = B.T @ B
    A = 0.5 * (A + A.T)
    lam = float(np.linalg.eigvalsh(A)[0])
    nA = float(np.linalg.norm(A))
    assert lam > 1e-7 * nA  # the draw is well enough conditioned for the claim below
    assert _proves_psd(A, 0.5 * lam)
    assert _proves_psd(A, lam - 1e-7 * nA)
    assert not _proves_psd(A, lam + 1e-9 * nA)


def test_psd_proof_refuses_non_finite_input():
    from convexnn.verify import _proves_psd

    assert not _proves_psd(np.array([[np.nan]]), 0.0)
    assert not _proves_psd(np.array([[1.0, np.inf], [np.inf, 1.0]]), 0.0)
    assert not _proves_psd(np.eye(2), np.nan)
    assert _proves_psd(np.eye(3), 0.5) and not _proves_psd(np.eye(3), 1.0)
    assert _proves_psd(np.zeros((0, 0)), 0.0)


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (40, 4), (7, 12), (300, 6)])
def test_spectral_upper_bound_holds_and_is_tight(shape):
    """‖X‖₂ ≤ s̄ ≤ ‖X‖₂(1 + 1e-8), also for nearly rank-one data; zero data give 0."""
    from convexnn.verify import _spectral_upper

    rng = np.random.default_rng(shape[0])
    for X in (rng.standard_normal(shape),
              np.outer(rng.standard_normal(shape[0]), rng.standard_normal(shape[1])) + 1e-9 * rng.standard_normal(shape),
              1e-200 * rng.standard_normal(shape)):
        s = np.linalg.norm(X, 2)
        up = _spectral_upper(X)
        assert s <= up <= s * (1 + 1e-8)
    assert _spectral_upper(np.zeros(shape)) == 0.0


def test_proven_lambda_min_lies_below_the_eigenvalue_and_close_to_it():
    """The trace rule's λ_min lower bound on real dual slacks: below the computed eigenvalue (by at
    least the products' rounding bound) and within 1e-9‖S‖ of it."""
    from convexnn.verify import _basis, _dual_matrix, _lambda_min, _slack

    rng = np.random.default_rng(4)
    for n, d, c in ((5, 2, 1), (20, 3, 2), (40, 5, 3)):
        X = rng.standard_normal((n, d))
        G = 0.3 * rng.standard_normal((n, c))
        W = np.abs(rng.standard_normal((2 * n, 2 * n)))
        W = 0.01 * (W + W.T)
        D = _dual_matrix(n, d, G, rng.standard_normal(n), W, 0.1)
        T = _basis(X, c)
        ell, lam, nS = _lambda_min(D, T)
        S, e = _slack(D, T)
        assert np.isfinite(ell) and ell <= lam - e
        assert lam - ell <= 1e-9 * nS


# ---------------------------------------------------------------------------------------------
# σ by the verifier's own enumeration of the arrangement's faces
# ---------------------------------------------------------------------------------------------

def _faces_instances():
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from _dual_instances import dual_norm_instance

    for seed in range(100):  # kinds: generic, parallel/antiparallel/duplicate, zero + nearly parallel,
        yield seed, dual_norm_instance(seed, kinds=5)  # bias column, small integers (degenerate vertices)
    rng = np.random.default_rng(7)
    for seed in range(100, 112):  # five columns; features of scale 1e-3 next to a ones column
        n, d = int(rng.integers(6, 12)), int(rng.integers(4, 6))
        X = rng.standard_normal((n, d)) * (1e-3 if seed % 2 else 1.0)
        X[:, -1] = 1.0
        yield seed, (X, rng.standard_normal((n, int(rng.integers(1, 4)))))
    for seed in range(112, 124):  # a row dependent on two others up to rounding (standardised
        n, d = int(rng.integers(8, 14)), int(rng.integers(3, 5))  # grid data): an ill-posed vertex
        X = rng.standard_normal((n, d))
        X[2] = 0.3 * X[0] + 0.7 * X[1]
        if seed % 2:
            X[5] = X[3] / 3.0 - X[4] / 7.0
        yield seed, (X, rng.standard_normal((n, int(rng.integers(1, 4)))))


def test_sigma_by_faces_agrees_with_the_library_enumeration():
    """The verifier's exact σ against the library's (the same mathematics, written separately):
    σ̄ is never below the library's attained value and within 1e-9 of its bound, on 124 designs
    with parallel, antiparallel, duplicate, zero and nearly parallel rows, bias columns, small
    integers (many hyperplanes through one vertex), five columns, and rows dependent on others up
    to rounding (vertices settled in exact arithmetic)."""
    from convexnn.atomic_dual_faces import relu_dual_norm_faces
    from convexnn.verify import sigma_by_faces

    ran = degenerate = exact_checks = 0
    for seed, (X, G) in _faces_instances():
        got = sigma_by_faces(X, G)
        exact = relu_dual_norm_faces(X, G)
        if got is None:
            assert X.shape[1] == 1, seed
            continue
        up, low, info = got
        ran += 1
        degenerate += info["degenerate_vertices"] > 0
        assert info["status"] == "exact" and low <= up
        assert up >= exact.lower * (1 - 1e-12), (seed, up, exact.lower)
        assert up <= exact.upper * (1 + 1e-9) + 1e-12, (seed, up, exact.upper)
        assert low >= exact.lower * (1 - 1e-9), (seed, low, exact.lower)
        exact_checks += info["exact_checks"] > 0
    assert ran >= 90 and degenerate >= 10 and exact_checks >= 10


@pytest.mark.parametrize("seed", range(8))
def test_sigma_by_faces_is_above_a_dense_sweep_in_two_dimensions(seed):
    """d = 2, brute force on 200,001 directions and the kinks, with duplicate, antiparallel and
    integer rows; seeds 6 and 7 add two rows 5e-8 apart (merged into one hyperplane) with large
    opposite weights, whose thin wedge holds the maximum: only the merge's margin covers it."""
    from convexnn.verify import sigma_by_faces

    rng = np.random.default_rng(seed)
    X = rng.integers(-3, 4, size=(30, 2)).astype(float) if seed % 2 else rng.standard_normal((30, 2))
    X[1], X[2] = 2.0 * X[0], -X[0]
    G = rng.standard_normal((30, 3))
    if seed >= 6:
        X[3] = X[4] + 5e-8 * rng.standard_normal(2)
        G[3], G[4] = 1e9 * G[4], -1e9 * G[4]
    # the grid plus the kinks (directions orthogonal to a row), where a maximum off the grid may sit
    phi = np.concatenate([np.linspace(0.0, 2 * np.pi, 200_001), np.arctan2(X[:, 0], -X[:, 1]),
                          np.arctan2(-X[:, 0], X[:, 1])])
    sweep = np.linalg.norm(G.T @ np.maximum(X @ np.vstack([np.cos(phi), np.sin(phi)]), 0.0), axis=0).max()
    up, low, info = sigma_by_faces(X, G)
    assert low <= up and sweep <= up * (1 + 1e-12)
    if seed < 6:  # (with the merge, σ̄ carries its margin ‖g‖·5e-8 ≈ 50: sound, not tight)
        assert up <= sweep * (1 + 1e-8)


def test_sigma_by_faces_gives_way_where_it_does_not_apply():
    """Too many faces, one column, no time: None (the branch and bound's turn); mismatched or
    non-finite input: a clear error."""
    from convexnn.verify import sigma_by_faces

    rng = np.random.default_rng(0)
    G = rng.standard_normal((40, 2))
    assert sigma_by_faces(rng.standard_normal((40, 4)), G, max_faces=1000) is None
    assert sigma_by_faces(rng.standard_normal((40, 1)), G) is None
    assert sigma_by_faces(rng.standard_normal((40, 3)), G, time_limit=0.0) is None
    with pytest.raises(DataError, match="same rows"):
        sigma_by_faces(rng.standard_normal((39, 3)), G)
    X = rng.standard_normal((40, 3))
    X[0, 0] = np.nan
    with pytest.raises(DataError, match="finite"):
        sigma_by_faces(X, G)


@pytest.mark.parametrize("kind", ["constant column and bias", "fewer rows than columns", "rank one"])
def test_sigma_by_faces_of_rank_deficient_designs_works_in_the_row_space(kind):
    """A constant feature next to a ones column, n < d, or rank one: σ in the row space's
    coordinates (with the reduction's margin) agrees with the library's enumeration."""
    from convexnn.atomic_dual_faces import relu_dual_norm_faces
    from convexnn.verify import sigma_by_faces

    rng = np.random.default_rng(len(kind))
    for _ in range(5):
        n, d = int(rng.integers(5, 14)), int(rng.integers(3, 6))
        X = rng.standard_normal((n, d))
        if kind == "constant column and bias":
            X[:, 0] = 3.0
            X[:, -1] = 1.0
        elif kind == "fewer rows than columns":
            X = X[:d - 1]
        else:
            X = np.outer(rng.standard_normal(n), rng.standard_normal(d))
        G = rng.standard_normal((X.shape[0], 2))
        up, low, info = sigma_by_faces(X, G)
        exact = relu_dual_norm_faces(X, G)
        assert info["row_space_rank"] < d
        assert up >= exact.lower * (1 - 1e-12) and low <= exact.upper * (1 + 1e-12)
        assert up <= exact.upper * (1 + 1e-9) + 1e-12


def test_exact_rank_of_dependent_and_nearly_dependent_rows():
    """Exactly dependent rows (small integers, a row that is an exact combination of two others)
    get their exact rank, and a perturbation of 2⁻⁴⁰ is seen."""
    from convexnn.verify import _exact_rank

    rng = np.random.default_rng(1)
    for _ in range(30):
        A = rng.integers(-3, 4, size=(int(rng.integers(1, 5)), 4)).astype(float)
        assert _exact_rank(A) == np.linalg.matrix_rank(A)
    B = rng.integers(-50, 50, size=(2, 4)).astype(float) / 64.0  # dyadic: the sums below are exact
    assert _exact_rank(np.vstack([B, B[0] + 2.0 * B[1]])) == 2
    assert _exact_rank(np.vstack([B, B[0] + 2.0 * B[1] + np.array([0, 0, 0, 2.0 ** -40])])) == 3


def test_the_atomic_part_of_small_designs_is_verified_exactly_and_large_ones_by_branch_and_bound(monkeypatch):
    """Which σ search the atomic part used is reported, and both confirm an honest claim."""
    import convexnn.verify as verify

    X, Y, reg, res = _atomic_case()
    arrays = certificate_arrays(X, Y, reg, atomic=res)
    meta = json.loads(str(arrays["meta"]))
    v = verify_certificate({**arrays, "meta": meta})
    assert v.parts["atomic"]["details"]["method"] == "faces" and v.parts["atomic"]["confirmed"]
    monkeypatch.setattr(verify, "FACES_MAX", 10)
    v2 = verify_certificate({**arrays, "meta": meta})
    assert v2.parts["atomic"]["details"]["method"] == "branch-and-bound"
    assert v2.parts["atomic"]["bound"] <= v.parts["atomic"]["bound"] * (1 + 1e-9)


def test_ctrl_c_in_the_face_enumeration_leaves_the_crude_bound(monkeypatch):
    """Ctrl-C while the faces are enumerated: σ̄ = Σ‖x_i‖‖g_i‖ (valid for every u) stands."""
    import convexnn.verify as verify

    X, Y, reg, res = _atomic_case()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(verify, "sigma_by_faces", interrupted)
    arrays = certificate_arrays(X, Y, reg, atomic=res)
    v = verify_certificate({**arrays, "meta": json.loads(str(arrays["meta"]))})
    d = v.parts["atomic"]["details"]
    G = res.solution["Gamma"]
    assert d["method"] == "crude" and d["status"] == "interrupted"
    assert d["sigma_upper"] >= float(np.sum(np.linalg.norm(X, axis=1) * np.linalg.norm(G, axis=1)))
    assert v.parts["atomic"]["bound"] <= _trained(X, Y, reg, np.random.default_rng(0)) + 1e-9


def test_an_exact_merge_lower_bounds_its_rows_exactly():
    """Rows that are exact positive multiples of one of them merge with no Lipschitz allowance:
    Σ½‖c_k h − y_k‖² ≥ ½ω̃‖h − ỹ‖² + c̃_g − allowance for every output h within the optimum's
    residual bound, checked in exact rational arithmetic; rows that are parallel only up to
    rounding are not merged this way."""
    from fractions import Fraction

    from convexnn.verify import _exact_merge

    rng = np.random.default_rng(11)
    for _ in range(40):
        d, c, m = int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(2, 5))
        x0 = rng.standard_normal(d) * 10.0 ** rng.uniform(-3, 3)
        mult = rng.choice([1.0, 2.0, 0.5, 4.0, 0.125], size=m)
        mult[0] = 1.0
        Xg = mult[:, None] * x0
        Yg = rng.standard_normal((m, c)) * 10.0 ** rng.uniform(-2, 2)
        U = 0.5 * float(np.sum(Yg * Yg))
        row, y_t, w, cg, allow, K = _exact_merge(Xg, Yg, U)
        assert np.array_equal(row, x0) and K == pytest.approx(np.sqrt(np.sum(Xg * Xg)), rel=1e-12)
        for _ in range(5):
            z = rng.standard_normal(c)
            h = y_t + z / np.linalg.norm(z) * np.sqrt(2.0 * U / w) * rng.uniform(0, 0.999)
            F = Fraction
            lhs = sum(F(0.5) * sum((F(float(mk)) * F(float(hi)) - F(float(yi))) ** 2 for hi, yi in zip(h, yk))
                      for mk, yk in zip(mult, Yg))
            rhs = F(0.5) * F(w) * sum((F(float(hi)) - F(float(ti))) ** 2 for hi, ti in zip(h, y_t)) + F(cg) - F(allow)
            assert lhs >= rhs
    x0 = rng.standard_normal(3)
    x1 = 2.0 * x0
    x1[1] = np.nextafter(x1[1], np.inf)  # parallel up to one ulp only
    assert _exact_merge(np.array([x0, x1]), np.ones((2, 1)), 1.0) is None
    assert _exact_merge(np.array([x0, 2.0 * x0]), np.ones((2, 1)), 1.0) is not None
    assert _exact_merge(np.array([x0, -x0]), np.ones((2, 1)), 1.0) is None  # antiparallel: not this way


def test_exactly_parallel_rows_at_a_tiny_reg_are_confirmed(tmp_path):
    """γ = 1e-4 and targets of scale 100: the Lipschitz allowance U/γ·Δ of an inexact merge is
    large there; exact multiples merge exactly, so the claim is confirmed."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((10, 2)) * 1e3
    X[1] = 2.0 * X[0]
    X[2] = X[0]
    Y = rng.standard_normal((10, 1)) * 100.0
    res = solve_sdp(X, Y, 1e-4)
    v = verify_certificate(save_certificate(tmp_path / "c.npz", X, Y, 1e-4, sdp=res))
    red = v.parts["sdp"]["details"]["reduction"]
    assert red["exact_merges"] == 1 and red["merged_groups"] == 1
    assert v.parts["sdp"]["details"]["allowance"] < 1e-9 * 0.5 * np.sum(Y * Y)
    assert v.confirmed


def test_a_bound_adopted_from_another_solve_comes_with_its_multipliers():
    """'auto' may keep one solve's iterate and the other's better bound (its failed attempt, or the
    ADMM warm-up's). The certificate file must then hold the multipliers of that bound, or the
    verifier cannot confirm it (9 of 100 certificates of the mid-size soundness sweep until
    2026-12-07)."""
    from convexnn.sdp import _merge_attempt, _solve_ipm, _solve_native

    X, Y, reg, _ = _instance(2)
    res, form = _solve_native(X, Y, reg, bias=False, tol=1e-9, time_limit=None, max_iter=3, warm_start=None,
                              callback=None, device=None, balance_rows=True, relu_scale="auto", options={})
    att, a_form = _solve_ipm(X, Y, reg, bias=False, tol=1e-8, time_limit=None, max_iter=100, callback=None,
                             options={})
    own = res.lower_bound
    att.value = None  # an attempt without a usable iterate: the ADMM's is kept, with the better bound
    keep, kept_form = _merge_attempt(res, form, att, a_form, 0.0)
    assert keep is res and keep.lower_bound == att.lower_bound > own + 1e-3 * abs(own)
    keep.solution["formulation"] = kept_form  # as solve_sdp attaches it
    arrays = certificate_arrays(X, Y, reg, sdp=keep)
    v = verify_certificate({**arrays, "meta": json.loads(str(arrays["meta"]))})
    assert v.confirmed and v.parts["sdp"]["claimed_bound"] == keep.lower_bound


def test_a_bound_adopted_from_the_admm_warm_up_comes_with_its_multipliers():
    """ipm-active keeps its ADMM warm-up's bound when that is better (here: one interior-point
    iteration); the file then holds the warm-up's multipliers and row-balanced formulation."""
    from convexnn.sdp import _solve_ipm_active, _solve_native

    X, Y, reg, _ = _instance(5)
    adm, _ = _solve_native(X, Y, reg, bias=False, tol=1e-9, time_limit=None, max_iter=300, warm_start=None,
                           callback=None, device=None, balance_rows=True, relu_scale="auto", options={})
    res, form = _solve_ipm_active(X, Y, reg, bias=False, tol=1e-9, time_limit=None, max_iter=1, warm_start=None,
                                  callback=None, options={}, pre=adm)
    assert res.info.get("bound_from") == "warmup" and res.lower_bound == adm.lower_bound
    res.solution["formulation"] = form  # as solve_sdp attaches it
    arrays = certificate_arrays(X, Y, reg, sdp=res)
    v = verify_certificate({**arrays, "meta": json.loads(str(arrays["meta"]))})
    assert v.confirmed and v.parts["sdp"]["claimed_bound"] == adm.lower_bound


@pytest.mark.parametrize("seed", range(3))
def test_sigma_by_faces_walks_quotient_levels_where_many_hyperplanes_meet(seed, monkeypatch):
    """Small integers: up to a dozen hyperplanes through one vertex, beyond the 3^k patterns the
    verifier would take (_MAX_THROUGH = 8); their faces come from a quotient level. Checked
    against the recursive oracle of the Frank–Wolfe baseline (a third enumeration, over cones)
    and the library's; other slices (seeds) give the same σ̄."""
    import convexnn.verify as vf
    from convexnn.atomic_dual_faces import relu_dual_norm_faces
    from convexnn.baselines.sahiner import nonneg_pca_oracle
    from convexnn.verify import sigma_by_faces

    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(45, 4)).astype(float)
    X = X[np.linalg.norm(X, axis=1) > 0]
    G = rng.standard_normal((len(X), 2))
    calls = []
    real = vf._around_vertex
    monkeypatch.setattr(vf, "_around_vertex", lambda *a: calls.append(len(a[4])) or real(*a))
    up, low, info = sigma_by_faces(X, G, time_limit=120)
    assert info["status"] == "exact" and max(calls) > vf._MAX_THROUGH
    _, _, sigma = nonneg_pca_oracle(X, G, method="exact")
    assert up >= sigma * (1 - 1e-12) and low == pytest.approx(sigma, rel=1e-7)
    assert up <= relu_dual_norm_faces(X, G).upper * (1 + 1e-9) + 1e-12
    if seed == 0:
        monkeypatch.setattr(vf, "_SLICE_SEED", 17)
        up2, low2, _ = sigma_by_faces(X, G, time_limit=120)
        assert up2 == pytest.approx(up, rel=1e-9) and low2 == pytest.approx(low, rel=1e-9)


def test_sigma_by_faces_bounds_each_face_once():
    """In general position a vertex takes 2^(d−1) of the 3^(d−1) patterns around it: the faces
    bounded are the estimate (a few more at near ties), about a third of all patterns on d = 4."""
    from convexnn.verify import _faces_estimate, sigma_by_faces

    rng = np.random.default_rng(12)
    X = rng.standard_normal((30, 4))
    G = rng.standard_normal((30, 3))
    up, low, info = sigma_by_faces(X, G)
    est = _faces_estimate(30, 4)
    assert est == 2 * 4060 * 8 + 2 * 435 * 4 + 2 * 30 * 3
    assert est <= info["cells"] <= 1.01 * est
    assert up <= low * (1 + 1e-9) + 1e-12


def test_sigma_by_faces_on_a_bias_column_over_repeated_values():
    """Features on a coarse grid and a ones column, as with Iris and a bias (affine hyperplanes
    through common points): the verifier's σ̄ against the library's and the branch and bound's."""
    from convexnn.atomic_dual_faces import relu_dual_norm_faces
    from convexnn.verify import sigma_by_faces

    rng = np.random.default_rng(3)
    X = np.hstack([rng.integers(0, 4, size=(22, 4)) / 3.0, np.ones((22, 1))])
    G = rng.standard_normal((22, 2))
    up, low, info = sigma_by_faces(X, G, time_limit=300)
    lib = relu_dual_norm_faces(X, G)
    assert info["status"] == "exact" and info["degenerate_vertices"] > 0
    assert up >= lib.lower * (1 - 1e-12) and up <= lib.upper * (1 + 1e-9) + 1e-12
    b_up, b_low, _ = sigma_upper_bound(X, G, rtol=1e-3, time_limit=120)
    assert b_low <= up * (1 + 1e-12) and low <= b_up * (1 + 1e-12)


def test_a_short_time_limit_names_the_one_that_enumerates(tmp_path):
    """With too little time for the faces the verifier bounds σ by branch and bound and says
    which time limit would let it enumerate them."""
    from convexnn.verify import _faces_estimate, _FACE_SECONDS, _verify_atomic

    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 4))
    Y = rng.standard_normal((40, 1))
    G = 0.1 * rng.standard_normal((40, 1))
    need = _faces_estimate(40, 4) * _FACE_SECONDS / 0.75
    out = _verify_atomic({"atomic_Gamma": G}, X, Y, 0.1, {"claimed_bound": 0.0}, time_limit=0.5 * need)
    d = out["details"]
    assert d["method"] == "branch-and-bound"
    assert need <= d["faces_time_limit"] < need + 10
    out = _verify_atomic({"atomic_Gamma": G}, X, Y, 0.1, {"claimed_bound": 0.0}, time_limit=2 * need + 5)
    assert out["details"]["method"] == "faces" and "faces_time_limit" not in out["details"]


def test_every_cell_that_random_directions_meet_is_bounded(monkeypatch):
    """Completeness of the faces bounded: with claims, slices and quotient levels each cell is
    bounded at one vertex only, so a bookkeeping error would drop cells. Every cell (sign vector)
    that 300,000 random directions land in must be among those bounded — here with ten
    hyperplanes through ±e₄ (a quotient level) and nine of them through ±e₁ inside it."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from _dual_instances import nested_quotient_instance

    import convexnn.verify as vf

    X, G, rng = nested_quotient_instance()
    seen = set()
    real = vf._face_bounds

    def recording(H, Hn, P, M, K, v, patterns, c, floor, W, cache, fixed=None, claimed=None):
        for side in (1.0, -1.0):
            s = np.sign(side * (v @ Hn.T))
            if fixed is not None:
                s[:, fixed != 0] = fixed[fixed != 0]
            for i in range(len(v)):
                for j in range(len(patterns)):
                    if claimed is None or claimed[i, j]:
                        row = s[i].copy()
                        row[K[i]] = patterns[j]
                        if np.all(row != 0):
                            seen.add(row.astype(np.int8).tobytes())
        return real(H, Hn, P, M, K, v, patterns, c, floor, W, cache, fixed=fixed, claimed=claimed)

    monkeypatch.setattr(vf, "_face_bounds", recording)
    up, low, info = vf.sigma_by_faces(X, G, time_limit=120)
    assert info["status"] == "exact"
    H, Hn = vf._hyperplanes(X, G)[:2]
    assert len(H) == len(X)  # no merges: the cells are those of the rows
    U = rng.standard_normal((4, 300_000))
    cells = {np.sign(u).astype(np.int8).tobytes() for u in (Hn @ U).T}
    assert len(cells) > 500
    assert cells <= seen, f"{len(cells - seen)} cells never bounded"


def test_dependent_zero_sets_spanning_d_minus_1_dimensions_take_the_svd_ray():
    """Zero sets with more rows than their rank: where the rows clearly span d − 1 dimensions the
    face is the ray they meet in (or nothing), and the SVD's last vector is that ray within the
    angle reported — checked against the exact rational null space, with no exact-arithmetic
    check spent; a perturbation of 2⁻⁴⁰ (exact rank d: no face) is still a unit ray; a set of
    lower rank goes to exact arithmetic, as before."""
    from fractions import Fraction

    from convexnn.verify import _exact_null_basis, _null_bases

    rng = np.random.default_rng(5)
    d = 4
    z = np.array([1.0, -2.0, 0.0, 3.0])
    R = rng.integers(-3, 4, size=(6, d)).astype(float)
    H = R * (z @ z) - np.outer(R @ z, z)  # integer rows, each exactly orthogonal to z
    assert np.all(H @ z == 0)
    Hn = H / np.linalg.norm(H, axis=1, keepdims=True)
    K = np.arange(6)[None, :]
    cache = {"checks": 0}
    (rows, N, angle), = _null_bases(Hn, H, K, np.ones(6, bool), cache)
    assert cache["checks"] == 0 and N.shape == (1, d, 1)
    rank, basis = _exact_null_basis(H)
    assert rank == d - 1
    exact = np.array([float(Fraction(x)) for x in basis[0]])
    exact /= np.linalg.norm(exact)
    sin = np.sqrt(max(0.0, 1.0 - float(exact @ N[0, :, 0]) ** 2))
    assert sin <= angle[0] + 1e-15 and angle[0] < 1e-9
    H2 = H.copy()
    H2[5, 0] += 2.0 ** -40
    assert _exact_null_basis(H2)[0] == d
    (_, N2, _), = _null_bases(H2 / np.linalg.norm(H2, axis=1, keepdims=True), H2, K, np.ones(6, bool), cache)
    assert cache["checks"] == 0 and np.linalg.norm(N2[0, :, 0]) == pytest.approx(1.0)
    # three rows in a plane (rank 2 < d − 1): exact arithmetic decides
    H3 = np.vstack([H[:2], H[0] + 2.0 * H[1]])
    out = _null_bases(H3 / np.linalg.norm(H3, axis=1, keepdims=True), H3, np.arange(3)[None, :], np.ones(3, bool),
                      cache)
    assert cache["checks"] == 1 and out[0][1].shape == (1, d, 2)


def test_sigma_by_faces_does_not_depend_on_batches_or_threads(monkeypatch):
    """Degenerate vertices bounded together (one batch per size and signs) or one by one, on one
    core or several: the same σ̄ and σ_low, on small-integer designs with many of them."""
    import convexnn._validation as validation
    import convexnn.verify as vf
    from convexnn.verify import sigma_by_faces

    rng = np.random.default_rng(2)
    X = np.hstack([rng.integers(0, 4, size=(24, 3)) / 3.0, np.ones((24, 1))])
    G = rng.standard_normal((24, 2))
    up, low, info = sigma_by_faces(X, G, time_limit=120)
    assert info["degenerate_vertices"] > 10
    monkeypatch.setattr(vf, "_batched", lambda groups: groups)
    monkeypatch.setattr(validation, "cpu_cores", lambda cap=8: 1)
    up1, low1, info1 = sigma_by_faces(X, G, time_limit=120)
    assert info1["cells"] == info["cells"]
    assert up1 == pytest.approx(up, rel=1e-12) and low1 == pytest.approx(low, rel=1e-12)


def test_tabulated_svds_of_row_subsets_give_the_same_sigma(monkeypatch):
    """The SVDs of the rows of each subset come from a table over all subsets, read by their
    lexicographic rank: the rank matches itertools' order, and σ̄, σ_low and the faces are those
    of SVDs computed at each vertex."""
    import itertools

    import convexnn.verify as vf
    from convexnn.verify import _subset_rank, sigma_by_faces

    for h in (1, 2, 7, 30):
        for k in range(1, min(h, 4) + 1):
            subsets = np.array(list(itertools.combinations(range(h), k)), dtype=np.int64)
            np.testing.assert_array_equal(_subset_rank(subsets, h), np.arange(len(subsets)))
            # with the binomials computed once per enumeration (as sigma_by_faces passes them)
            np.testing.assert_array_equal(_subset_rank(subsets, h, vf._binomials(h, 5)), np.arange(len(subsets)))
    rng = np.random.default_rng(4)
    X = np.hstack([rng.integers(0, 4, size=(26, 3)) / 3.0, rng.standard_normal((26, 1)), np.ones((26, 1))])
    G = rng.standard_normal((26, 2))
    up, low, info = sigma_by_faces(X, G, time_limit=120)
    monkeypatch.setattr(vf, "_SVD_TABLE", 0)
    up0, low0, info0 = sigma_by_faces(X, G, time_limit=120)
    assert info0["cells"] == info["cells"] and info0["exact_checks"] == info["exact_checks"]
    assert up0 == pytest.approx(up, rel=1e-12) and low0 == pytest.approx(low, rel=1e-12)


def test_ctrl_c_inside_a_threaded_slice_of_faces_reaches_the_caller(monkeypatch):
    """A Ctrl-C while a worker thread bounds a slice of faces comes out of the enumeration as
    KeyboardInterrupt (the queued slices are dropped), and the atomic part then keeps the crude
    bound Σ‖x_i‖‖g_i‖, as for a Ctrl-C anywhere else in it."""
    import convexnn.verify as vf
    from convexnn.verify import _verify_atomic, sigma_by_faces

    rng = np.random.default_rng(6)
    X, Y = rng.standard_normal((30, 4)), rng.standard_normal((30, 1))
    G = 0.1 * rng.standard_normal((30, 1))
    monkeypatch.setattr(vf, "_face_bounds", _interrupt_on_call(vf._face_bounds, 1))
    with pytest.raises(KeyboardInterrupt):
        sigma_by_faces(X, G)
    monkeypatch.setattr(vf, "_face_bounds", _interrupt_on_call(vf._face_bounds, 1))
    out = _verify_atomic({"atomic_Gamma": G}, X, Y, 0.1, {"claimed_bound": 0.0}, time_limit=60)
    d = out["details"]
    assert d["method"] == "crude" and d["status"] == "interrupted"
    assert d["sigma_upper"] >= float(np.sum(np.linalg.norm(X, axis=1) * np.linalg.norm(G, axis=1)))
