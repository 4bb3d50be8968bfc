"""The optimality certificate shared by every method: certified lower bound, upper bound, gap."""

from __future__ import annotations

from dataclasses import dataclass

from .result import relative_gap


@dataclass(frozen=True)
class OptimalityCertificate:
    """How far a trained network is from the global optimum of NN-TRAIN.

    ``lower`` is a certified lower bound on p* (None if the method gives none), ``upper`` the
    NN-TRAIN objective of the returned network (an upper bound on p*), and ``gap`` the relative
    gap (upper − lower)/upper: the network is within ``gap`` of optimal.
    """

    lower: float | None
    upper: float | None
    lower_source: str = ""
    upper_source: str = ""

    @property
    def gap(self) -> float | None:
        if self.lower is None or self.upper is None:
            return None
        return relative_gap(self.upper, self.lower)

    def combine(self, other: "OptimalityCertificate") -> "OptimalityCertificate":
        """Best of both: the larger lower bound and the smaller upper bound."""
        lo, ls = self.lower, self.lower_source
        if other.lower is not None and (lo is None or other.lower > lo):
            lo, ls = other.lower, other.lower_source
        up, us = self.upper, self.upper_source
        if other.upper is not None and (up is None or other.upper < up):
            up, us = other.upper, other.upper_source
        return OptimalityCertificate(lo, up, ls, us)

    @property
    def ratio(self) -> float | None:
        """Approximation ratio lower/upper (≤ 1 for a valid pair; 1 means certified optimal)."""
        return approximation_ratio(self.lower, self.upper)

    def to_dict(self) -> dict:
        return {"lower_bound": self.lower, "upper_bound": self.upper, "gap": self.gap,
                "approximation_ratio": self.ratio,
                "lower_source": self.lower_source, "upper_source": self.upper_source}


def _value(x, name: str) -> float | None:
    """A bound given as a number, a SolveResult (its lower_bound/value), a certificate or None."""
    if x is None:
        return None
    if isinstance(x, OptimalityCertificate):
        return x.lower if name == "lower" else x.upper
    if hasattr(x, "lower_bound") and hasattr(x, "value"):  # SolveResult
        return x.lower_bound if name == "lower" else x.value
    return float(x)


def approximation_ratio(lower, upper) -> float | None:
    """AR = lower bound / upper bound, as [PBY25] defines it (L_SDP / F_SGD; ≤ 1, 1 = tight).

    ``lower`` and ``upper`` may be numbers, SolveResults (lower: its certified ``lower_bound``;
    upper: its ``value``) or certificates. Returns None when either side is missing, and raises
    ParameterError when the upper bound is not positive (the ratio is then meaningless).
    """
    from .errors import ParameterError

    lo, up = _value(lower, "lower"), _value(upper, "upper")
    if lo is None or up is None:
        return None
    if not up > 0:
        raise ParameterError(f"the approximation ratio needs a positive upper bound; got {up}.")
    return float(lo / up)


def best_known_ratio(lowers, uppers) -> dict:
    """AR of the best (largest) lower bound against the best (smallest) upper bound.

    ``lowers``/``uppers`` map a source name to a bound (number, SolveResult or certificate);
    missing (None) entries are ignored. Returns the ratio and the names of the winning sources.
    """
    lo = {k: _value(v, "lower") for k, v in lowers.items()}
    up = {k: _value(v, "upper") for k, v in uppers.items()}
    lo = {k: v for k, v in lo.items() if v is not None}
    up = {k: v for k, v in up.items() if v is not None}
    if not lo or not up:
        return {"ratio": None, "lower": None, "upper": None, "lower_source": None, "upper_source": None}
    kl = max(lo, key=lo.get)
    ku = min(up, key=up.get)
    return {"ratio": approximation_ratio(lo[kl], up[ku]), "lower": lo[kl], "upper": up[ku],
            "lower_source": kl, "upper_source": ku}
