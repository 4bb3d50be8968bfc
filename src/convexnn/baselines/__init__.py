"""Baselines on the same NN-TRAIN objective (gradient training; more arrive with later work)."""

from .gradient import train_lbfgs

__all__ = ["train_lbfgs"]
