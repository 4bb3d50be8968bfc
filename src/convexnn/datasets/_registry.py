"""Built-in data sets: the shipped UCI/MNIST files, the synthetic sets and scikit-learn's bundled sets."""

from __future__ import annotations

import difflib
import functools
import os
from importlib import resources

import numpy as np

from ..errors import DataError, ParameterError
from ._containers import Dataset
from ._csv import check_task, load_csv, make_targets, map_labels, parse_table
from ._synthetic import make_random, make_spiral

#: Number of members of the "Random" family (names random:0 .. random:99).
N_RANDOM = 100

_SOURCES = {
    "iris": (
        "R. A. Fisher (1936), Iris, UCI Machine Learning Repository, doi:10.24432/C56C76 "
        "(CC BY 4.0); UCI file with its two documented errata (rows 35, 38)"
    ),
    "ionosphere": (
        "V. Sigillito, S. Wing, L. Hutton, K. Baker (1989), Ionosphere, UCI Machine Learning "
        "Repository, doi:10.24432/C5W01B (CC BY 4.0)"
    ),
    "pima": (
        "NIDDK; J. W. Smith et al. (1988), Pima Indians Diabetes, donated to the UCI Machine "
        "Learning Repository by V. Sigillito (1990); zeros in columns 2-6 stand for missing values"
    ),
    "banknote": (
        "V. Lohweg (2012), Banknote Authentication, UCI Machine Learning Repository, "
        "doi:10.24432/C55P57 (CC BY 4.0)"
    ),
    "mnist-pca": (
        "derived from MNIST (Y. LeCun, C. Cortes, C. J. C. Burges, 1998; CC BY-SA 3.0): 100 images "
        "per digit for train and for test, PCA to 20 dimensions fitted on the train images"
    ),
    "breast-cancer": (
        "scikit-learn load_breast_cancer(): UCI Breast Cancer Wisconsin (Diagnostic), "
        "W. H. Wolberg, W. N. Street, O. L. Mangasarian (1995)"
    ),
    "wine": "scikit-learn load_wine(): UCI Wine, M. Forina et al. (1991)",
    "digits": (
        "scikit-learn load_digits(): UCI Optical Recognition of Handwritten Digits, E. Alpaydin, "
        "C. Kaynak (1998); 8x8 images, not MNIST"
    ),
    "diabetes": (
        "scikit-learn load_diabetes(): B. Efron, T. Hastie, I. Johnstone, R. Tibshirani (2004), "
        "Least Angle Regression; features centred and scaled"
    ),
}

# name, n, d, c, task, short source. Checked against the loaders by the test suite.
_TABLE = (
    ("iris", 150, 4, 3, "classification", "UCI (Fisher 1936)"),
    ("ionosphere", 351, 34, 2, "classification", "UCI (Sigillito et al. 1989)"),
    ("pima", 768, 8, 2, "classification", "UCI / NIDDK (Smith et al. 1988)"),
    ("banknote", 1372, 4, 2, "classification", "UCI (Lohweg 2012)"),
    ("mnist-pca", "1000+1000", 20, 10, "classification", "MNIST, 100/digit, PCA-20"),
    ("spiral", 60, 2, 3, "classification", "synthetic spiral [PBY25]"),
    ("random:K", 25, 2, 5, "regression", "synthetic teacher network [PBY25], K = 0..99"),
    ("breast-cancer", 569, 30, 2, "classification", "scikit-learn (UCI WDBC)"),
    ("wine", 178, 13, 3, "classification", "scikit-learn (UCI Wine)"),
    ("digits", 1797, 64, 10, "classification", "scikit-learn (UCI optical digits)"),
    ("diabetes", 442, 10, 1, "regression", "scikit-learn (Efron et al. 2004)"),
)

_ALIASES = {
    "mnist": "mnist-pca",
    "mnist-pca-20": "mnist-pca",
    "pima-indians": "pima",
    "pima-indians-diabetes": "pima",
    "banknote-authentication": "banknote",
    "banknotes": "banknote",
    "bank-notes": "banknote",
    "breast-cancer-wisconsin": "breast-cancer",
    "wdbc": "breast-cancer",
    "spirals": "spiral",
}

_IRIS_FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
_PIMA_FEATURES = (
    "pregnancies", "glucose", "blood_pressure", "skin_thickness", "insulin", "bmi",
    "pedigree", "age",
)
_BANKNOTE_FEATURES = ("variance", "skewness", "curtosis", "entropy")


@functools.lru_cache(maxsize=None)
def _shipped_text(filename: str) -> str:
    """Return the text of a data file shipped in ``convexnn/datasets/data``."""
    try:
        return resources.files("convexnn.datasets").joinpath("data", filename).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:  # a broken installation
        raise DataError(f"the shipped data file {filename!r} could not be read: {exc}.") from None


@functools.lru_cache(maxsize=None)
def _shipped_table(filename: str, header: bool, drop: tuple[int, ...]):
    """Parse a shipped data file once; callers copy the arrays they keep."""
    return parse_table(_shipped_text(filename), f"shipped file {filename!r}", header=header, drop=drop)


def _from_file(name: str, filename: str, shape: tuple[int, int], *, header: bool = False,
               drop: tuple[int, ...] = (), feature_names=None) -> Dataset:
    """Build a classification Dataset from a shipped file whose last column is the label."""
    table = _shipped_table(filename, header, drop)
    if table.X.shape != shape:
        raise DataError(
            f"shipped file {filename!r} has shape {table.X.shape}, expected {shape}; the "
            "installation is damaged."
        )
    Y, y, labels, _ = make_targets(table, "classification")
    return Dataset(
        name=name,
        X=table.X.copy(),
        Y=Y,
        y=y,
        task="classification",
        label_names=labels,
        feature_names=feature_names or table.feature_names,
        source=_SOURCES[name],
    )


def _load_iris() -> Dataset:
    """Load Iris from the shipped UCI file (Id column dropped; 150 x 4, 3 species)."""
    return _from_file("iris", "Iris.csv", (150, 4), drop=(0,), feature_names=_IRIS_FEATURES)


def _load_ionosphere() -> Dataset:
    """Load Ionosphere from the shipped UCI file (351 x 34, labels b/g)."""
    return _from_file("ionosphere", "ionosphere.data", (351, 34),
                      feature_names=tuple(f"a{j}" for j in range(1, 35)))


def _load_pima() -> Dataset:
    """Load Pima Indians Diabetes from the shipped file (768 x 8, labels 0/1)."""
    return _from_file("pima", "pima-indians-diabetes.csv", (768, 8), feature_names=_PIMA_FEATURES)


def _load_banknote() -> Dataset:
    """Load Banknote Authentication from the shipped file (1372 x 4, labels 0/1)."""
    return _from_file("banknote", "data_banknote_authentication.txt", (1372, 4),
                      feature_names=_BANKNOTE_FEATURES)


def _load_mnist_pca() -> Dataset:
    """Load the MNIST PCA-20 pair: 1000 training rows as X, the fixed 1000 test rows as X_test."""
    train = _from_file("mnist-pca", "mnist_train_downsampled_pca.csv", (1000, 20), header=True)
    table = _shipped_table("mnist_test_downsampled_pca.csv", True, ())
    if table.X.shape != (1000, 20) or table.feature_names != train.feature_names:
        raise DataError("shipped MNIST test file does not match the training file; the installation is damaged.")
    y_test = map_labels(table, train.label_names)
    Y_test = np.zeros((y_test.size, train.c))
    Y_test[np.arange(y_test.size), y_test] = 1.0
    return Dataset(
        name="mnist-pca", X=train.X, Y=train.Y, y=train.y, task="classification",
        label_names=train.label_names, feature_names=train.feature_names, source=train.source,
        X_test=table.X.copy(), Y_test=Y_test, y_test=y_test,
    )


def _from_sklearn(name: str, loader_name: str) -> Dataset:
    """Build a Dataset from one of scikit-learn's bundled (offline) data sets."""
    from sklearn import datasets as skd

    bunch = getattr(skd, loader_name)()
    X = np.asarray(bunch.data, dtype=np.float64)
    features = tuple(str(f) for f in bunch.feature_names)
    if name == "diabetes":
        Y = np.asarray(bunch.target, dtype=np.float64)[:, None]
        return Dataset(name=name, X=X, Y=Y, y=Y, task="regression", label_names=None,
                       feature_names=features, source=_SOURCES[name])
    y = np.asarray(bunch.target, dtype=np.int64)
    labels = tuple(str(s) for s in bunch.target_names)
    Y = np.zeros((y.size, len(labels)))
    Y[np.arange(y.size), y] = 1.0
    return Dataset(name=name, X=X, Y=Y, y=y, task="classification", label_names=labels,
                   feature_names=features, source=_SOURCES[name])


_LOADERS = {
    "iris": _load_iris,
    "ionosphere": _load_ionosphere,
    "pima": _load_pima,
    "banknote": _load_banknote,
    "mnist-pca": _load_mnist_pca,
    "spiral": make_spiral,
    "breast-cancer": lambda: _from_sklearn("breast-cancer", "load_breast_cancer"),
    "wine": lambda: _from_sklearn("wine", "load_wine"),
    "digits": lambda: _from_sklearn("digits", "load_digits"),
    "diabetes": lambda: _from_sklearn("diabetes", "load_diabetes"),
}


def list_datasets() -> list[str]:
    """Return the names of the built-in data sets (the Random family is listed as ``random:K``)."""
    return [row[0] for row in _TABLE]


def dataset_table() -> list[dict]:
    """Return one summary dict per built-in data set: name, n, d, c, task, source, n_classes.

    ``n`` is an int, or the string ``"1000+1000"`` for mnist-pca (fixed train + test files);
    ``n_classes`` is None for regression. The values are static (no file is read), and the test
    suite checks them against the loaders.
    """
    return [
        {"name": name, "n": n, "d": d, "c": c, "task": task, "source": src,
         "n_classes": c if task == "classification" else None}
        for name, n, d, c, task, src in _TABLE
    ]


def _looks_like_path(name: str) -> bool:
    """Return True when ``name`` should be read as a CSV path rather than a data set name."""
    seps = [os.sep] + ([os.altsep] if os.altsep else []) + ["/"]
    if any(s in name for s in seps):
        return True
    if name.lower().endswith((".csv", ".txt", ".data")):
        return True
    return os.path.isfile(name)


def _unknown(name: str) -> DataError:
    """Build the error for an unknown data set name, suggesting the closest valid ones."""
    valid = list_datasets()
    pool = valid + ["random"] + list(_ALIASES)
    close = difflib.get_close_matches(name.strip().lower(), pool, n=3, cutoff=0.5)
    close = list(dict.fromkeys(_ALIASES.get(c, c) for c in close))
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return DataError(
        f"unknown dataset {name!r}.{hint} Valid names: {', '.join(valid)} (K = 0..{N_RANDOM - 1}), "
        "or the path of a CSV file."
    )


def load_dataset(name, *, target=None, task=None) -> Dataset:
    """Load a data set by name, or a CSV file by path, as a :class:`Dataset`.

    Built-in names: ``iris``, ``ionosphere``, ``pima``, ``banknote``, ``mnist-pca`` (shipped
    files, all rows read), ``spiral``, ``random`` (= ``random:0``) and ``random:K`` for K in
    0..99 (generated), ``breast-cancer``, ``wine``, ``digits``, ``diabetes`` (bundled with
    scikit-learn). Names are case-insensitive and ``_`` may replace ``-``. Anything containing a
    path separator, ending in .csv/.txt/.data, or naming an existing file is read with
    :func:`load_csv` (``target`` picks its target column, default the last). ``task`` overrides
    the inferred task of a CSV file; for a built-in set it may only repeat the set's own task.
    An unknown name raises DataError listing the valid names and the closest matches.
    """
    task = check_task(task)
    if isinstance(name, os.PathLike):
        return load_csv(name, target=target, task=task)
    if not isinstance(name, str) or not name.strip():
        raise ParameterError(f"dataset name must be a non-empty string; got {name!r}.")
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    builtin = None
    if key == "random" or key.startswith("random:"):
        member = key.partition(":")[2].strip() if ":" in key else "0"
        if not member.isdigit() or not 0 <= int(member) < N_RANDOM:
            raise DataError(
                f"invalid Random member {name!r}: use random:K with an integer K in "
                f"0..{N_RANDOM - 1} (plain 'random' means random:0)."
            )
        builtin = functools.partial(make_random, int(member))
    elif key in _LOADERS:
        builtin = _LOADERS[key]
    if builtin is None:
        if _looks_like_path(name):
            return load_csv(name, target=target, task=task)
        raise _unknown(name)
    if target is not None:
        raise ParameterError(
            f"target applies to CSV files only; the built-in dataset {name!r} has a fixed target."
        )
    ds = builtin()
    if task is not None and task != ds.task:
        raise ParameterError(f"the built-in dataset {name!r} is a {ds.task} task; cannot load it as {task}.")
    return ds
