"""Baselines on the same NN-TRAIN objective (SPEC §6): gradient training, NNGP/NTK kernel
regression and Sahiner et al.'s relaxations [S21].

- :mod:`.gradient` — L-BFGS, Adam and full-batch momentum SGD (numpy); the ``paper`` and
  ``tuned`` protocols of :func:`train_gradient`. :mod:`.torch_sgd` runs the same SGD in PyTorch
  (optional extra, CPU or GPU).
- :mod:`.kernels` — closed-form NNGP/NTK kernels of the two-layer ReLU architecture and kernel
  ridge regression (no network, no NN-TRAIN objective).
- :mod:`.sahiner` — Frank–Wolfe with the non-negative PCA oracle and the copositive relaxation.
"""

from .gradient import (PAPER_LEARNING_RATES, PAPER_WIDTHS, train_adam, train_gradient, train_lbfgs,
                       train_sgd, train_sgd_widths)
from .kernels import KernelModel, kernel_fit, nngp_kernel, ntk_kernel
from .sahiner import copositive_relaxation, frank_wolfe, nonneg_pca_oracle

__all__ = [
    "PAPER_LEARNING_RATES",
    "PAPER_WIDTHS",
    "KernelModel",
    "copositive_relaxation",
    "frank_wolfe",
    "kernel_fit",
    "nngp_kernel",
    "nonneg_pca_oracle",
    "ntk_kernel",
    "train_adam",
    "train_gradient",
    "train_lbfgs",
    "train_sgd",
    "train_sgd_widths",
]
