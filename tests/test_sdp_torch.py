"""The torch path of the native SDP solver runs the same iteration as the numpy path."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from convexnn.problem import TrainingProblem  # noqa: E402
from convexnn.sdp import solve_sdp  # noqa: E402


def test_torch_cpu_iterates_match_numpy():
    rng = np.random.default_rng(21)
    X = rng.standard_normal((9, 2))
    Y = rng.standard_normal((9, 2))
    # without Anderson acceleration the iteration is a fixed map: both back-ends must agree to
    # rounding (AA's least-squares steps amplify last-bit differences of the eigensolvers, and so
    # do the L-BFGS steps of the certificate polish, compared separately below)
    a = solve_sdp(X, Y, 0.1, max_iter=120, check_every=10, anderson=0, refine=0)
    b = solve_sdp(X, Y, 0.1, max_iter=120, check_every=10, anderson=0, refine=0, device="cpu")
    assert b.info["backend"] == "torch"
    assert len(a.history) == len(b.history)
    for ha, hb in zip(a.history, b.history):
        assert hb["value"] == pytest.approx(ha["value"], rel=1e-10, abs=1e-12)
        assert hb["lower_bound"] == pytest.approx(ha["lower_bound"], rel=1e-10, abs=1e-12)
    # with acceleration (the default) the torch path keeps a valid bound that keeps improving
    c = solve_sdp(X, Y, 0.1, max_iter=400, device="cpu")
    assert c.iterations == 400 and c.lower_bound > b.lower_bound
    problem = TrainingProblem(X, Y, 0.1)
    rng2 = np.random.default_rng(0)
    for _ in range(20):
        U = rng2.standard_normal((2, 4))
        V = rng2.standard_normal((2, 4))
        assert c.lower_bound <= problem.objective(U, V)
    assert c.lower_bound <= solve_sdp(X, Y, 0.1, solver="clarabel").info["solver_value"] * (1 + 1e-6)
    # the ρ schedule (primal/dual phases) runs on torch tensors too, matching numpy's switches
    kw = dict(max_iter=300, check_every=10, anderson=0, phase_length=60, tol=1e-12)
    d, e = solve_sdp(X, Y, 0.1, refine=0, **kw), solve_sdp(X, Y, 0.1, device="cpu", refine=0, **kw)
    assert [h["phase"] for h in d.history] == [h["phase"] for h in e.history]
    assert "dual" in {h["phase"] for h in e.history}
    assert e.lower_bound == pytest.approx(d.lower_bound, rel=1e-8)
    # the certificate polish (default) works from the torch iterates too and only helps
    f, g = solve_sdp(X, Y, 0.1, **kw), solve_sdp(X, Y, 0.1, device="cpu", **kw)
    assert any(h.get("refined") for h in g.history)
    assert g.lower_bound >= e.lower_bound and f.lower_bound >= d.lower_bound
    assert g.lower_bound == pytest.approx(f.lower_bound, rel=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_torch_cuda_reaches_the_same_bound():
    rng = np.random.default_rng(22)
    X = rng.standard_normal((12, 2))
    Y = rng.standard_normal((12, 1))
    a = solve_sdp(X, Y, 0.1, solver="native", tol=1e-4, time_limit=30)
    b = solve_sdp(X, Y, 0.1, solver="native", tol=1e-4, time_limit=30, device="cuda")
    assert b.lower_bound == pytest.approx(a.lower_bound, rel=1e-3)
