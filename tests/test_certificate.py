"""Certificate arithmetic and the approximation ratio helpers ([PBY25]: AR = L_SDP / F_SGD)."""

import numpy as np
import pytest

from convexnn.certificate import OptimalityCertificate, approximation_ratio, best_known_ratio
from convexnn.errors import ParameterError
from convexnn.result import SolveResult


def _res(value, lower):
    return SolveResult("x", value, lower, "optimal", 1, 0.0)


def test_ratio_numbers_and_results():
    assert approximation_ratio(1.5, 2.0) == pytest.approx(0.75)
    # a SolveResult contributes its certified lower bound on the lower side, its value on the upper side
    assert approximation_ratio(_res(9.0, 3.0), _res(4.0, None)) == pytest.approx(0.75)
    assert approximation_ratio(None, 2.0) is None
    assert approximation_ratio(_res(1.0, None), 2.0) is None
    with pytest.raises(ParameterError):
        approximation_ratio(1.0, 0.0)


def test_certificate_ratio_matches_gap():
    c = OptimalityCertificate(3.0, 4.0)
    assert c.ratio == pytest.approx(0.75)
    assert c.gap == pytest.approx(1 - c.ratio)
    d = c.to_dict()
    assert d["approximation_ratio"] == pytest.approx(0.75) and d["gap"] == pytest.approx(0.25)


def test_best_known_ratio_picks_best_bounds():
    out = best_known_ratio({"sdp": 3.0, "fw": 2.5, "none": None}, {"sgd": 5.0, "crelu": 4.0})
    assert out["lower_source"] == "sdp" and out["upper_source"] == "crelu"
    assert out["ratio"] == pytest.approx(0.75)
    assert best_known_ratio({}, {"a": 1.0})["ratio"] is None


def test_combine_takes_best_of_both():
    a = OptimalityCertificate(1.0, 5.0, "a-low", "a-up")
    b = OptimalityCertificate(2.0, 6.0, "b-low", "b-up")
    c = a.combine(b)
    assert (c.lower, c.upper, c.lower_source, c.upper_source) == (2.0, 5.0, "b-low", "a-up")


# --------------------------------------------------------------------------- rounding at p*
def _zero_optimal_case(seed):
    """Data on which the zero network is optimal, so p* = ½‖Y‖² exactly: ‖X‖₂‖Y‖ < reg bounds
    ‖Yᵀ(Xu)₊‖ < reg for every unit u, the dual norm condition for the zero network."""
    rng = np.random.default_rng(seed)
    n, d, c = int(rng.integers(3, 12)), int(rng.integers(2, 4)), int(rng.integers(1, 4))
    Y = rng.standard_normal((n, c)) * rng.choice([0.3, 1.0, 7.0])
    reg = float(rng.choice([0.1, 1.0]))
    X = rng.standard_normal((n, d))
    X *= 0.5 * reg / (np.linalg.norm(X, 2) * np.linalg.norm(Y))
    return rng, X, Y, reg, 0.5 * float(np.sum(Y * Y))


def test_bounds_tight_at_p_star_are_rounded_down_not_above_it():
    """Dual values such as s⟨Γ, Y⟩ − ½s²‖Γ‖² are differences of terms twice their size; evaluated
    unrounded at a Γ within 1e-13 of the optimal −Y, the atomic dual's bound came out above p* in
    102 of these 300 cases and the C-ReLU bound in 24 (by an ulp or two). Every certificate now
    subtracts a bound on its rounding error (``result.round_down``)."""
    from convexnn.arrangements.crelu import crelu_dual_bound
    from convexnn.arrangements.patterns import sample_patterns
    from convexnn.atomic_dual import atomic_dual_bound
    from convexnn.sdp.formulation import SDPFormulation

    above = {"sdp": 0, "atomic": 0, "crelu": 0}
    for seed in range(300):
        rng, X, Y, reg, p_star = _zero_optimal_case(seed)
        G = -Y * (1 + 1e-13 * rng.standard_normal(Y.shape))
        form = SDPFormulation(X, Y, reg)
        assert form.n == X.shape[0]  # generic rows: no reduction, Γ is in the original rows
        above["sdp"] += form.certify(G, np.zeros(form.n), None).bound > p_star
        above["atomic"] += atomic_dual_bound(X, Y, reg, Y + G).lower_bound > p_star
        if Y.shape[1] == 1:
            masks = sample_patterns(X, 5, seed=rng).masks
            above["crelu"] += crelu_dual_bound(X, Y, reg, masks, G)[0] > p_star
    assert above == {"sdp": 0, "atomic": 0, "crelu": 0}


def test_sdp_solves_where_the_zero_network_is_optimal_stay_below_p_star():
    """End to end: solve_sdp certified 5.000000000000001 where p* = 5 (benchmarks/soundness.py,
    one-hot targets and weight decay too strong for any neuron); one of these twelve did too."""
    from convexnn.sdp import solve_sdp

    for seed in range(12):
        rng = np.random.default_rng(seed)
        n = 8 + seed
        X = 1e-3 * rng.standard_normal((n, 3))
        Y = np.eye(3)[rng.integers(0, 3, n)]
        res = solve_sdp(X, Y, 0.1)  # 'optimal' on ten of them, 'stalled' on two (seeds 8, 11)
        assert res.lower_bound <= 0.5 * np.sum(Y * Y)  # p*: ‖X‖₂‖Y‖ < 0.1 here
        assert np.linalg.norm(X, 2) * np.linalg.norm(Y) < 0.1
