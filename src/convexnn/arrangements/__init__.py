"""Hyperplane-arrangement convex programs (SPEC §5) [PE20, MSP22, KP24].

- :mod:`.patterns` — activation patterns D_i = diag(1[X g_i ≥ 0]): sampled Gaussian gates or the
  exact enumeration of every pattern (small d).
- :mod:`.gated` — the gated-ReLU relaxation C-GReLU (group lasso / nuclear norm), certified by a
  duality gap.
- :mod:`.crelu` — the exact convex ReLU program C-ReLU (cone constraints), ADMM, certified dual bound.
- :mod:`.decomposition` — cone decomposition of gated neurons into ReLU neurons.
- :mod:`.mapping` — convex solutions → :class:`~convexnn.network.ReLUNetwork` on the NN-TRAIN scale.
- :mod:`.kim_pilanci` — the randomized polynomial-time algorithm of [KP24].
"""

from .crelu import crelu_dual_bound, crelu_objective, crelu_to_network, solve_crelu
from .decomposition import decompose, min_norm_decomposition, shift_decomposition
from .gated import GatedNeurons, gated_predict, gated_to_neurons, max_reg, regularization_path, solve_gated
from .kim_pilanci import kim_pilanci
from .mapping import gated_to_network
from .patterns import PatternSet, as_pattern_masks, enumerate_patterns, pattern_count_estimate, sample_patterns

__all__ = [
    "GatedNeurons",
    "PatternSet",
    "as_pattern_masks",
    "crelu_dual_bound",
    "crelu_objective",
    "crelu_to_network",
    "decompose",
    "enumerate_patterns",
    "gated_predict",
    "gated_to_network",
    "gated_to_neurons",
    "kim_pilanci",
    "max_reg",
    "min_norm_decomposition",
    "pattern_count_estimate",
    "regularization_path",
    "sample_patterns",
    "shift_decomposition",
    "solve_crelu",
    "solve_gated",
]
