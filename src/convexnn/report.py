"""Reports: the JSON object every command writes, and the metrics it holds (SPEC §7)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from .errors import DataError

REPORT_KEYS = ("dataset", "task", "n_train", "n_test", "d", "c", "reg", "bias", "method",
               "objective", "lower_bound", "gap", "time_s", "metrics", "network")


def classification_metrics(Y_train, P_train, Y_test=None, P_test=None) -> dict:
    """Argmax accuracy on train/test and macro/weighted F1 on test (None without a test set)."""
    out = {"train_accuracy": float(accuracy_score(Y_train.argmax(1), P_train.argmax(1))),
           "test_accuracy": None, "test_f1_weighted": None, "test_f1_macro": None}
    if Y_test is not None and P_test is not None:
        yt, pt = Y_test.argmax(1), P_test.argmax(1)
        labels = np.arange(Y_train.shape[1])
        out["test_accuracy"] = float(accuracy_score(yt, pt))
        out["test_f1_weighted"] = float(f1_score(yt, pt, labels=labels, average="weighted", zero_division=0))
        out["test_f1_macro"] = float(f1_score(yt, pt, labels=labels, average="macro", zero_division=0))
    return out


def regression_metrics(Y_train, P_train, Y_test=None, P_test=None) -> dict:
    """Mean squared error per entry on train and test (None without a test set)."""
    out = {"train_mse": float(np.mean((Y_train - P_train) ** 2)), "test_mse": None}
    if Y_test is not None and P_test is not None:
        out["test_mse"] = float(np.mean((Y_test - P_test) ** 2))
    return out


def check_writable(path) -> Path:
    """Fail early (DataError) when ``path`` cannot be written, before any long computation."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise DataError(f"cannot write {path}: it is a directory.")
    if not parent.exists():
        raise DataError(f"cannot write {path}: directory {parent} does not exist.")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise DataError(f"cannot write {path}: permission denied.")
    return path


def clean(obj):
    """JSON-safe copy: numpy scalars to Python, NaN/inf to None, arrays to lists."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def write_json(report: dict, path) -> Path:
    """Write one JSON object (pretty-printed) to ``path``."""
    path = check_writable(path)
    with open(path, "w") as fh:
        json.dump(clean(report), fh, indent=2)
        fh.write("\n")
    return path


def paper_protocol_metrics(Y_test, P_test) -> dict:
    """The reference experiments' selection, for comparison only: a decision threshold tuned to
    maximise TEST accuracy, where a row counts as correct only if the thresholded outputs equal
    its one-hot target exactly; F1 (weighted, multilabel) at that threshold. Test-set leakage:
    never use these numbers to choose anything."""
    grid = np.unique(np.quantile(P_test, np.linspace(0, 1, 201)))
    best = (-1.0, 0.0, 0.0)
    Yb = Y_test > 0.5
    for tau in grid:
        pred = P_test >= tau
        acc = float(np.mean(np.all(pred == Yb, axis=1)))
        if acc > best[0]:
            f1 = float(f1_score(Yb.astype(int), pred.astype(int), average="weighted", zero_division=0))
            best = (acc, f1, float(tau))
    return {"test_accuracy_exact_match": best[0], "test_f1_weighted": best[1], "threshold": best[2],
            "warning": "threshold chosen on the TEST set (reference protocol, test-set leakage); comparison only"}


def paper_protocol_selection(Y_test, networks: dict, X_test) -> dict:
    """The reference selection over candidate networks (its rounding iterates): the candidate and
    threshold with the best TEST exact-match accuracy. Test-set leakage; comparison only."""
    best = None
    for name, net in networks.items():
        P = np.maximum(X_test @ net.U, 0) @ net.V.T
        m = paper_protocol_metrics(Y_test, P)
        if best is None or m["test_accuracy_exact_match"] > best["test_accuracy_exact_match"]:
            best = dict(m, candidate=name)
    best["warning"] = ("candidate network and threshold chosen on the TEST set (reference protocol, "
                       "test-set leakage); comparison only")
    return best
