"""One result type for every solve: value, certified bound, status, iterations, time, history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def round_down(value: float, magnitude: float, terms: int) -> float:
    """``value`` lowered by a bound on its floating-point error, for certified lower bounds.

    ``value`` was evaluated from sums of at most ``terms`` products whose magnitudes add up to
    at most ``magnitude``; each such sum errs by at most terms·ε·magnitude, and 4(terms + 4)·ε
    covers the few operations that combine them. Dual values such as s⟨Γ, Y⟩ − ½s²‖Γ‖² are
    differences of terms up to twice their size, so without this a bound that is tight at
    p* (the zero network optimal) came out an ulp or two above it.
    """
    return value - 4.0 * (terms + 4) * float(np.finfo(np.float64).eps) * magnitude


def relative_gap(upper: float | None, lower: float | None) -> float | None:
    """(upper − lower)/|upper|, or None when either side is missing (0 when both are 0)."""
    if upper is None or lower is None:
        return None
    if upper == lower:
        return 0.0
    denom = abs(upper)
    return float((upper - lower) / denom) if denom > 0 else float("inf")


@dataclass
class SolveResult:
    """Outcome of one solver run.

    ``value`` is the solver's primal objective estimate, ``lower_bound`` a *certified* lower bound
    (or None if the method has none), ``gap`` their relative gap. ``status`` is one of
    'optimal' (tolerance reached), 'time_limit', 'max_iter', 'interrupted' (Ctrl-C), 'stopped'
    (a callback returned True), 'stalled' (an interior point that stopped making progress, an
    active-set round that did not converge within its iterations, or a solve that broke down
    numerically; ``info['stall_hint']`` says why), 'max_rounds' or 'memory' (the active-set
    interior point ran out of rounds, or its next working set would not fit), 'failed', or
    'inaccurate' (a CVXPY back-end reported reduced accuracy). Whatever the status,
    ``lower_bound`` is certified.
    ``solution`` holds method-specific arrays; ``history`` one dict per checkpoint.
    """

    method: str
    value: float | None
    lower_bound: float | None
    status: str
    iterations: int
    time_s: float
    history: list[dict] = field(default_factory=list)
    solution: dict[str, Any] = field(default_factory=dict, repr=False)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Relative gap (value − lower_bound)/|value| between primal estimate and certified bound."""
        return relative_gap(self.value, self.lower_bound)

    def summary(self) -> dict:
        """JSON-ready summary (no arrays)."""
        out = {
            "value": _num(self.value),
            "lower_bound": _num(self.lower_bound),
            "gap": _num(self.gap),
            "status": self.status,
            "iterations": int(self.iterations),
            "time_s": float(self.time_s),
        }
        out.update({k: _num(v) for k, v in self.info.items() if _jsonable(v)})
        return out


def _num(x):
    if x is None:
        return None
    if isinstance(x, (np.floating, np.integer)):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def _jsonable(v) -> bool:
    return isinstance(v, (str, int, float, bool, type(None), np.floating, np.integer))
