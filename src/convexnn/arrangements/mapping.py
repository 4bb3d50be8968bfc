"""Map convex solutions to the library's ReLUNetwork on the NN-TRAIN scaling (SPEC §1, §5).

Convex penalty γ Σ‖·‖ ↔ weight decay (γ/2)(‖U‖² + ‖V‖²): every block becomes balanced neurons
(‖u‖ = ‖v‖), so ½(‖u‖² + ‖v‖²) = ‖u‖‖v‖ equals the block's norm and the network's NN-TRAIN
objective is directly comparable with the convex objective and with any certified lower bound.

- C-ReLU solutions: :func:`crelu_to_network` (exact: same objective when the solution is feasible).
- Gated solutions: :func:`gated_to_network` splits blocks into gated neurons and cone-decomposes
  each into two ReLU neurons with identical *training* predictions (the weight decay grows by
  the decomposition's norm inflation, reported in ``info``).
"""

from __future__ import annotations

from ..network import ReLUNetwork
from .crelu import crelu_to_network
from .decomposition import decompose
from .gated import gated_to_neurons
from .patterns import PatternSet


def gated_to_network(X, W, patterns: PatternSet, *, mode: str = "nuclear", method: str = "shift",
                     bias: bool = False) -> tuple[ReLUNetwork, dict]:
    """ReLU network reproducing the gated model Σ_i D_i X W_i on the training inputs ``X``.

    ``X`` is the design matrix (ones column last when ``bias``), ``W`` the d×P×c blocks of
    :func:`~convexnn.arrangements.gated.solve_gated`, ``method`` the cone decomposition
    ('shift' closed form or 'min-norm'). Returns the network and the decomposition's info
    (norm inflation, gated and ReLU penalties).
    """
    g = gated_to_neurons(W, patterns, mode)
    triples = list(zip(g.U.T, g.V.T, g.pattern_index))
    return decompose(triples, X, patterns.masks, patterns.gates, method=method, bias=bias,
                     n_outputs=g.V.shape[0])


__all__ = ["crelu_to_network", "gated_to_network"]
