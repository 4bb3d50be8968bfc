"""Plots (optional ``plot`` extra): certified lower bound and upper bounds versus iteration."""

from __future__ import annotations

from .errors import SolverUnavailableError


def require_matplotlib():
    """matplotlib.pyplot on the Agg back-end, or a SolverUnavailableError that says how to get it.
    The CLI calls this before a solve, so that a missing extra does not cost a finished solve."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise SolverUnavailableError('--plot needs matplotlib: pip install "convexnn[plot]"') from exc
    return plt


def plot_bounds(history: list[dict], path, *, network_objective: float | None = None, title: str = "") -> None:
    """Write a PNG of the SDP primal estimate and certified lower bound per checkpoint, with the
    trained network's objective (an upper bound on the optimum) as a horizontal line."""
    plt = require_matplotlib()
    its = [h["iteration"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    lb = [h["lower_bound"] for h in history]
    val = [h["value"] for h in history]
    ax.plot(its, val, color="tab:blue", lw=1.2, label="SDP-NN primal estimate")
    ax.plot(its, lb, color="tab:green", lw=1.8, label="certified lower bound")
    if network_objective is not None:
        ax.axhline(network_objective, color="tab:red", ls="--", lw=1.2, label="network objective (upper bound)")
    finite = [v for v in lb + val if v is not None]
    if finite:
        hi = max(finite + ([network_objective] if network_objective is not None else []))
        lo = min(v for v in lb if v is not None) if any(v is not None for v in lb) else min(finite)
        pad = 0.05 * (hi - lo if hi > lo else abs(hi) + 1e-12)
        ax.set_ylim(max(lo - pad, min(finite) - pad), hi + 3 * pad)
    ax.set_xlabel("iteration")
    ax.set_ylabel("NN-TRAIN scale")
    ax.set_title(title or "convexnn: bounds on the training optimum")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
