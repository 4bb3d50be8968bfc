"""The experimental native interior-point solver on tiny instances, against Clarabel."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("clarabel")

from convexnn.sdp import solve_sdp  # noqa: E402


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ipm_certified_bound_agrees_with_clarabel(seed):
    rng = np.random.default_rng(300 + seed)
    X = rng.standard_normal((7, 2))
    Y = rng.standard_normal((7, 2))
    ref = solve_sdp(X, Y, 0.1, solver="clarabel").info["solver_value"]
    res = solve_sdp(X, Y, 0.1, solver="ipm")
    assert res.lower_bound <= ref * (1 + 1e-6)
    assert (ref - res.lower_bound) / ref <= 1e-4
    assert res.lower_bound <= res.value
