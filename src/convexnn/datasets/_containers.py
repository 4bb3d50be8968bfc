"""The two record types of the data layer: a loaded :class:`Dataset` and a prepared :class:`Split`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_float_matrix
from ..errors import DataError

TASKS = ("classification", "regression")


def _float2d(A, what: str) -> np.ndarray:
    """Return ``A`` as a float64 2-D array (1-D becomes one column); DataError otherwise."""
    return as_float_matrix(A, what, allow_1d_as_column=True)


def _class_index(y, n: int, c: int, what: str) -> np.ndarray:
    """Return ``y`` as an int64 vector of length ``n`` with values in 0..c-1; DataError otherwise."""
    arr = np.asarray(y)
    if arr.shape != (n,):
        raise DataError(f"{what} must have shape ({n},); got {arr.shape}.")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise DataError(f"{what} must hold integer class indices; got dtype {arr.dtype}.")
    arr = arr.astype(np.int64)
    if n and (arr.min() < 0 or arr.max() >= c):
        raise DataError(f"{what} holds class indices outside 0..{c - 1}.")
    return arr


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded data set: features, targets and provenance, before any split or scaling.

    Attributes
    ----------
    name : str
        The name it was loaded by (``"iris"``, ``"random:3"``, or the CSV path).
    X : ndarray, shape (n, d)
        float64 features of all rows (the training pool when a fixed test set exists).
    Y : ndarray, shape (n, c)
        float64 targets: one-hot 0/1 rows for classification, real values for regression.
    y : ndarray
        Classification: int64 class index in 0..c-1, shape (n,). Regression: the same array as
        ``Y``, shape (n, c).
    task : {"classification", "regression"}
    label_names : tuple of str or None
        Class names in the column order of ``Y`` (None for regression).
    feature_names : tuple of str
        One name per column of ``X``.
    source : str
        One-line provenance / citation.
    X_test, Y_test, y_test : ndarray or None
        A predefined test set (only MNIST-PCA has one), else None.
    synthetic : bool
        True for the generated optimisation benchmarks (Random, Spiral), which are used without
        a train/test split and without standardisation by default.
    target_column : str, int or None
        The CSV target column the set was read with (None for built-in sets); :func:`prepare`
        uses it to read a matching ``test_path`` file.
    """

    name: str
    X: np.ndarray
    Y: np.ndarray
    y: np.ndarray
    task: str
    label_names: tuple[str, ...] | None
    feature_names: tuple[str, ...]
    source: str
    X_test: np.ndarray | None = None
    Y_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    synthetic: bool = False
    target_column: str | int | None = None

    def __post_init__(self):
        """Check shapes and types so that every consumer can rely on them."""
        if self.task not in TASKS:
            raise DataError(f"task must be one of {TASKS}; got {self.task!r}.")
        X = _float2d(self.X, f"{self.name}: X")
        Y = _float2d(self.Y, f"{self.name}: Y")
        if X.shape[0] != Y.shape[0]:
            raise DataError(f"{self.name}: X has {X.shape[0]} rows but Y has {Y.shape[0]}.")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "Y", Y)
        if self.task == "classification":
            if self.label_names is None or len(self.label_names) != Y.shape[1]:
                raise DataError(f"{self.name}: label_names must name each of the {Y.shape[1]} columns of Y.")
            object.__setattr__(self, "label_names", tuple(str(s) for s in self.label_names))
            object.__setattr__(self, "y", _class_index(self.y, X.shape[0], Y.shape[1], f"{self.name}: y"))
        else:
            object.__setattr__(self, "label_names", None)
            object.__setattr__(self, "y", Y)
        names = tuple(str(s) for s in self.feature_names)
        if len(names) != X.shape[1]:
            raise DataError(f"{self.name}: {len(names)} feature names for {X.shape[1]} feature columns.")
        object.__setattr__(self, "feature_names", names)
        if self.X_test is not None:
            Xt = _float2d(self.X_test, f"{self.name}: X_test")
            Yt = _float2d(self.Y_test, f"{self.name}: Y_test")
            if Xt.shape[1] != X.shape[1] or Yt.shape[1] != Y.shape[1] or Xt.shape[0] != Yt.shape[0]:
                raise DataError(f"{self.name}: the test set's shapes do not match the training set.")
            object.__setattr__(self, "X_test", Xt)
            object.__setattr__(self, "Y_test", Yt)
            if self.task == "classification":
                yt = _class_index(self.y_test, Xt.shape[0], Y.shape[1], f"{self.name}: y_test")
            else:
                yt = Yt
            object.__setattr__(self, "y_test", yt)
        elif self.Y_test is not None or self.y_test is not None:
            raise DataError(f"{self.name}: Y_test/y_test given without X_test.")

    @property
    def n(self) -> int:
        """Number of rows of ``X`` (the training pool when a fixed test set exists)."""
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        """Number of feature columns."""
        return int(self.X.shape[1])

    @property
    def c(self) -> int:
        """Number of target columns (classes for classification)."""
        return int(self.Y.shape[1])

    @property
    def n_classes(self) -> int | None:
        """Number of classes, or None for regression."""
        return self.c if self.task == "classification" else None

    def __repr__(self) -> str:
        """Short summary instead of dumping the arrays."""
        test = f", n_test={self.X_test.shape[0]}" if self.X_test is not None else ""
        return (
            f"Dataset(name={self.name!r}, task={self.task!r}, n={self.n}, d={self.d}, c={self.c}"
            f"{test}, synthetic={self.synthetic})"
        )


@dataclass(frozen=True, eq=False)
class Split:
    """A train/test split ready for fitting: scaled features, targets, and how they were made.

    ``X_train``/``X_test`` are already standardised (when ``standardize``) and carry the bias
    column of ones as their last column (when ``bias``). ``mean`` and ``scale`` (length d without
    the bias column) are the statistics fitted on the training part; :meth:`transform` applies the
    same map to new raw rows. The test parts are None when there is no test set. ``seed`` is the
    random state the split used (None when nothing was split at random), ``test_size`` the fraction
    of all rows that ended up in the test part. ``train_index``/``test_index`` give the rows of the
    dataset's ``X`` that went into each part (None for a predefined or separately loaded test set).
    ``target_mean``/``target_scale`` (length c) are set when regression targets were standardised
    (``Y_train``/``Y_test`` then hold the standardised ones); :meth:`original_targets` maps
    predictions back.
    """

    dataset: str
    task: str
    protocol: str
    X_train: np.ndarray
    Y_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None
    Y_test: np.ndarray | None
    y_test: np.ndarray | None
    label_names: tuple[str, ...] | None
    feature_names: tuple[str, ...]
    bias: bool
    standardize: bool
    seed: int | None
    test_size: float
    mean: np.ndarray | None
    scale: np.ndarray | None
    notes: tuple[str, ...]
    train_index: np.ndarray | None = None
    test_index: np.ndarray | None = None
    target_mean: np.ndarray | None = None
    target_scale: np.ndarray | None = None

    @property
    def n_train(self) -> int:
        """Number of training rows."""
        return int(self.X_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test rows (0 when there is no test set)."""
        return 0 if self.X_test is None else int(self.X_test.shape[0])

    @property
    def d(self) -> int:
        """Number of input columns, including the bias column when there is one."""
        return int(self.X_train.shape[1])

    @property
    def c(self) -> int:
        """Number of target columns (classes for classification)."""
        return int(self.Y_train.shape[1])

    @property
    def n_classes(self) -> int | None:
        """Number of classes, or None for regression."""
        return self.c if self.task == "classification" else None

    def original_targets(self, P) -> np.ndarray:
        """Predictions (or targets) in the units of the data: undoes the target standardisation,
        if there was one (a copy either way)."""
        P = np.array(P, dtype=np.float64, copy=True)
        if self.target_mean is None:
            return P
        return P * self.target_scale + self.target_mean

    def transform(self, X) -> np.ndarray:
        """Map new raw feature rows exactly as the training rows were mapped (scaling, bias column).

        ``X`` has shape (m, d_raw) with d_raw the number of raw features (a 1-D array of length
        d_raw is one row). Raises DataError for a wrong number of columns or NaN/inf values.
        """
        d_raw = self.d - (1 if self.bias else 0)
        arr = np.asarray(X) if X is not None else None
        if arr is not None and arr.ndim == 1:
            arr = arr[:, None] if d_raw == 1 else arr[None, :]
        A = as_float_matrix(arr, "X")
        if A.shape[1] != d_raw:
            raise DataError(
                f"X has {A.shape[1]} columns but this split was prepared from {d_raw} features."
            )
        if self.mean is not None:
            A = (A - self.mean) / self.scale
        else:
            A = A.copy()
        if self.bias:
            A = np.hstack([A, np.ones((A.shape[0], 1))])
        return A

    def __repr__(self) -> str:
        """Short summary instead of dumping the arrays."""
        return (
            f"Split(dataset={self.dataset!r}, protocol={self.protocol!r}, task={self.task!r}, "
            f"n_train={self.n_train}, n_test={self.n_test}, d={self.d}, c={self.c}, "
            f"standardize={self.standardize}, bias={self.bias}, seed={self.seed})"
        )
