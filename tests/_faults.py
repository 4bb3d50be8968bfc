"""Stand-ins that make a linear-algebra routine fail on purpose, to test how solvers recover."""

from __future__ import annotations

import numpy as np


def fails_from(real, first: int, ruin: bool = False):
    """A stand-in for ``real`` that raises LinAlgError from its ``first``-th call on, after
    filling its first argument with NaN when ``ruin`` (as a failed in-place factorisation leaves
    it); ``.calls`` counts the calls."""

    def fake(A, *args, **kwargs):
        fake.calls += 1
        if fake.calls >= first:
            if ruin:
                A[:] = np.nan
            raise np.linalg.LinAlgError("forced failure")
        return real(A, *args, **kwargs)

    fake.calls = 0
    return fake
