"""Certificate arithmetic and the approximation ratio helpers ([PBY25]: AR = L_SDP / F_SGD)."""

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
