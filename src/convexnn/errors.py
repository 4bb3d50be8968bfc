"""Exception types raised by convexnn for bad user input or impossible requests.

Every error a user can trigger derives from :class:`ConvexNNError` (itself a ``ValueError``, so
scikit-learn's input checks keep working) and says in words what is wrong and how to fix it.
"""

from __future__ import annotations


class ConvexNNError(ValueError):
    """Base class of every error convexnn raises on purpose."""


class DataError(ConvexNNError):
    """The data (X, Y, a CSV file, a dataset name) is unusable as given."""


class ParameterError(ConvexNNError):
    """A hyper-parameter or option has an invalid value (e.g. a negative ``reg``)."""


class MemoryEstimateError(ConvexNNError):
    """The requested computation would need more memory than is available."""


class SolverUnavailableError(ConvexNNError):
    """An optional back-end (cvxpy, torch, matplotlib) is not installed."""
