"""convexnn — train two-layer ReLU networks by convex optimisation, with certified bounds.

The library implements the NN-TRAIN objective ½‖(XU)_+Vᵀ − Y‖² + (reg/2)(‖U‖² + ‖V‖²), its
lifted completely positive reformulation and semidefinite relaxation SDP-NN (Prakhya, Birdal,
Yurtsever, ICLR 2025), whose value is a certified lower bound on the global optimum.
"""

from .errors import ConvexNNError, DataError, MemoryEstimateError, ParameterError, SolverUnavailableError
from .network import ReLUNetwork
from .problem import TrainingProblem
from .result import SolveResult

__version__ = "0.1.0"

__all__ = [
    "ConvexNNError",
    "DataError",
    "MemoryEstimateError",
    "ParameterError",
    "SolverUnavailableError",
    "ReLUNetwork",
    "TrainingProblem",
    "SolveResult",
    "__version__",
]
