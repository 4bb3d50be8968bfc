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

    def to_dict(self) -> dict:
        return {"lower_bound": self.lower, "upper_bound": self.upper, "gap": self.gap,
                "lower_source": self.lower_source, "upper_source": self.upper_source}
