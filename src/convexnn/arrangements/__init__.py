"""Hyperplane-arrangement formulations (SPEC §5): activation patterns and the gated-ReLU relaxation."""

from .patterns import PatternSet, as_pattern_masks, enumerate_patterns, pattern_count_estimate, sample_patterns

__all__ = [
    "PatternSet",
    "as_pattern_masks",
    "enumerate_patterns",
    "pattern_count_estimate",
    "sample_patterns",
]
from .gated import GatedNeurons, gated_predict, gated_to_neurons, max_reg, regularization_path, solve_gated

__all__ += [
    "GatedNeurons",
    "gated_predict",
    "gated_to_neurons",
    "max_reg",
    "regularization_path",
    "solve_gated",
]
