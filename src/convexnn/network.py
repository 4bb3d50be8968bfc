"""The two-layer ReLU network f(X) = (X U)_+ Vᵀ, its NN-TRAIN objective, and open-format I/O.

Scaling (SPEC §1): objective = ½‖(XU)_+Vᵀ − Y‖² (summed, not averaged) + (reg/2)(‖U‖² + ‖V‖²).
With ``bias=True`` the network appends a column of ones to its inputs, so the last row of U is
the first-layer bias and it is weight-decayed like every other weight.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._validation import as_float_matrix, check_flag, check_reg, check_XY
from .errors import DataError

_FORMAT = "convexnn.network/1"


@dataclass
class ReLUNetwork:
    """Two-layer ReLU network with first-layer weights ``U`` (d×m) and output weights ``V`` (c×m).

    ``bias`` says whether ``U`` has an extra last row acting on an appended ones column.
    ``metadata`` is a JSON-serialisable dict (preprocessing, label names, provenance).
    """

    U: np.ndarray
    V: np.ndarray
    bias: bool = False
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.U = as_float_matrix(self.U, "U")
        self.V = as_float_matrix(self.V, "V", allow_1d_as_column=False)
        if self.U.shape[1] != self.V.shape[1]:
            raise DataError(
                f"U has {self.U.shape[1]} hidden units (columns) but V has {self.V.shape[1]}; "
                "they must match."
            )
        self.bias = check_flag(self.bias, "bias")
        if self.bias and self.U.shape[0] < 2:
            raise DataError("a network with bias needs at least one input feature plus the bias row.")

    # -- sizes -------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        """Number of hidden neurons m."""
        return self.U.shape[1]

    @property
    def n_features(self) -> int:
        """Number of raw input features (not counting the bias column)."""
        return self.U.shape[0] - int(self.bias)

    @property
    def n_outputs(self) -> int:
        """Number of outputs c."""
        return self.V.shape[0]

    # -- evaluation --------------------------------------------------------------------------
    def design(self, X) -> np.ndarray:
        """Validated input matrix, with the ones column appended when the network has a bias."""
        X = as_float_matrix(X, "X")
        if X.shape[1] != self.n_features:
            raise DataError(
                f"X has {X.shape[1]} features but the network expects {self.n_features}."
            )
        if self.bias:
            X = np.hstack([X, np.ones((X.shape[0], 1))])
        return X

    def hidden(self, X) -> np.ndarray:
        """Hidden activations (X U)_+ of shape (n, m)."""
        return np.maximum(self.design(X) @ self.U, 0.0)

    def predict(self, X) -> np.ndarray:
        """Network outputs (X U)_+ Vᵀ of shape (n, c)."""
        return self.hidden(X) @ self.V.T

    def objective(self, X, Y, reg: float) -> float:
        """NN-TRAIN value ½‖f(X) − Y‖² + (reg/2)(‖U‖² + ‖V‖²) on raw inputs X (SPEC §1 scaling)."""
        reg = check_reg(reg)
        X, Y = check_XY(X, Y)
        if Y.shape[1] != self.n_outputs:
            raise DataError(f"Y has {Y.shape[1]} columns but the network has {self.n_outputs} outputs.")
        R = self.predict(X) - Y
        return 0.5 * float(np.vdot(R, R)) + 0.5 * reg * (
            float(np.vdot(self.U, self.U)) + float(np.vdot(self.V, self.V))
        )

    def prune(self, tol: float = 0.0) -> "ReLUNetwork":
        """Copy without neurons whose ‖u_j‖·‖v_j‖ ≤ tol (they contribute nothing when tol = 0)."""
        keep = np.linalg.norm(self.U, axis=0) * np.linalg.norm(self.V, axis=0) > tol
        if not np.any(keep):
            keep[:1] = True  # keep one (zero) neuron so the network stays well formed
        return ReLUNetwork(self.U[:, keep].copy(), self.V[:, keep].copy(), self.bias, dict(self.metadata))

    def balanced(self) -> "ReLUNetwork":
        """Rescale each neuron so ‖u_j‖ = ‖v_j‖ (same function, never a larger weight decay)."""
        nu = np.linalg.norm(self.U, axis=0)
        nv = np.linalg.norm(self.V, axis=0)
        s = np.ones_like(nu)
        ok = (nu > 0) & (nv > 0)
        s[ok] = np.sqrt(nv[ok] / nu[ok])
        return ReLUNetwork(self.U * s, self.V / s, self.bias, dict(self.metadata))

    # -- persistence -------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the network to an ``.npz`` file (no pickle); metadata is stored as JSON text."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.exists():
            raise DataError(f"cannot save to {path}: directory {parent} does not exist.")
        if not os.access(parent, os.W_OK):
            raise DataError(f"cannot save to {path}: directory {parent} is not writable.")
        meta = json.dumps(self.metadata, default=_json_default)
        np.savez(
            path,
            format=np.array(_FORMAT),
            U=self.U,
            V=self.V,
            bias=np.array(self.bias),
            metadata=np.array(meta),
        )
        return path

    @classmethod
    def load(cls, path) -> "ReLUNetwork":
        """Read a network written by :meth:`save` (never unpickles)."""
        path = Path(path)
        if not path.exists():
            raise DataError(f"model file {path} does not exist.")
        try:
            with open(path, "rb") as fh:  # numpy reads any unknown header as a pickle and says so
                if fh.read(4) != b"PK\x03\x04":
                    raise DataError(f"{path} is not a convexnn network file (not an .npz archive).")
            loaded = np.load(path, allow_pickle=False)
            if not hasattr(loaded, "files"):  # a bare .npy array, not an .npz archive
                raise DataError(f"{path} is not a convexnn network file (not an .npz archive).")
            with loaded as z:
                fmt = str(z["format"]) if "format" in z.files else ""
                if fmt != _FORMAT:
                    raise DataError(f"{path} is not a convexnn network file (format tag {fmt!r}).")
                U, V, bias = z["U"], z["V"], bool(z["bias"])
                meta = json.loads(str(z["metadata"]))
        except (OSError, ValueError, KeyError) as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(f"could not read model file {path}: {exc}") from exc
        return cls(U, V, bias, meta)


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    raise TypeError(f"metadata value of type {type(obj).__name__} is not JSON-serialisable")
