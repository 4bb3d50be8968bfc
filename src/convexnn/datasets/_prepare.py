"""Turn a Dataset into a train/test Split under the library's default or the paper's protocol."""

from __future__ import annotations

import numbers
import os

import numpy as np
from .._validation import check_flag
from ..errors import DataError, ParameterError
from ._containers import Dataset, Split
from ._csv import map_labels, make_targets, read_csv_table
from ._registry import load_dataset

PROTOCOLS = ("default", "paper")
PAPER_SEED = 42
DEFAULT_SEED = 0

# Training sizes published for the sets whose first data row the reference code lost.
_PUBLISHED_N_TRAIN = {"ionosphere": 175, "pima": 383, "banknote": 685}


def _check_test_size(test_size) -> float | None:
    """Return ``test_size`` as a float in [0, 1) (or None); ParameterError otherwise."""
    if test_size is None:
        return None
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise ParameterError(f"test_size must be a number in [0, 1); got {test_size!r}.")
    ts = float(test_size)
    if not np.isfinite(ts) or not 0.0 <= ts < 1.0:
        raise ParameterError(
            f"test_size must be 0 (no test set) or a fraction strictly between 0 and 1; got {test_size!r}."
        )
    return ts


def _check_seed(seed) -> int | None:
    """Return ``seed`` as an int in 0..2**32-1 (or None); ParameterError otherwise."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise ParameterError(f"seed must be an integer in 0..2**32-1 or None; got {seed!r}.")
    return int(seed)


def _split_indices(ds: Dataset, test_size: float, seed: int, stratify: bool, notes: list[str]):
    """Return (train rows, test rows) of ``ds`` drawn by ``train_test_split``.

    A stratified split that scikit-learn refuses (a class too small for the requested sizes)
    falls back to an unstratified one, recorded in ``notes``.
    """
    from sklearn.model_selection import train_test_split  # deferred: keeps `import convexnn` fast

    idx = np.arange(ds.n)
    if stratify:
        try:
            tr, te = train_test_split(idx, test_size=test_size, random_state=seed, stratify=ds.y)
            return tr, te
        except ValueError as exc:
            notes.append(f"stratified split impossible ({exc}); fell back to an unstratified split")
    try:
        tr, te = train_test_split(idx, test_size=test_size, random_state=seed)
    except ValueError as exc:
        raise ParameterError(
            f"cannot split {ds.n} rows of {ds.name!r} with test_size={test_size}: {exc}"
        ) from None
    return tr, te


def match_columns(trained, given, given_origin: str, trained_origin: str) -> str | None:
    """Check that feature columns ``given`` (names) can stand for ``trained``, matched by position.

    A different count is a DataError; so are the same names in another order, which position
    matching would silently mix up. Other names are matched by position, and the returned note
    says so (None when the names agree)."""
    trained, given = [str(s) for s in trained], [str(s) for s in given]
    if len(given) != len(trained):
        raise DataError(
            f"{given_origin} has {len(given)} feature columns ({', '.join(given)}) but {trained_origin} has "
            f"{len(trained)} ({', '.join(trained)}); it needs the same columns (pass the target column with "
            "--target / target= if it is not the last one).")
    if given == trained:
        return None
    if sorted(given) == sorted(trained):
        moved = [f"{g!r} where {trained_origin} has {t!r}" for t, g in zip(trained, given) if t != g]
        raise DataError(
            f"{given_origin} has the feature columns of {trained_origin} in another order: "
            + "; ".join(moved[:3]) + (f" (and {len(moved) - 3} more)" if len(moved) > 3 else "")
            + ". Columns are matched by position: put them in the same order.")
    return f"the column names of {given_origin} differ from those of {trained_origin} (matched by position)"


def _load_test_file(ds: Dataset, test_path):
    """Read ``test_path`` with the same columns as ``ds``; return (X_test, Y_test, y_test, notes)."""
    table = read_csv_table(test_path, target=ds.target_column)
    notes = []
    if table.header is None:  # no names to compare: the count must agree
        if table.X.shape[1] != ds.d:
            raise DataError(f"{table.origin} has {table.X.shape[1]} feature columns but {ds.name!r} has "
                            f"{ds.d}; the test file needs the same columns as the training data.")
    else:
        note = match_columns(ds.feature_names, table.feature_names, table.origin, repr(ds.name))
        if note is not None:
            notes.append(f"warning: {note}")
    if ds.task == "classification":
        y = map_labels(table, ds.label_names)
        Y = np.zeros((y.size, ds.c))
        Y[np.arange(y.size), y] = 1.0
    else:
        Y, y, _, _ = make_targets(table, "regression")
        if Y.shape[1] != ds.c:
            raise DataError(f"{table.origin} has {Y.shape[1]} target columns but {ds.name!r} has {ds.c}.")
    return table.X, Y, y, notes


def prepare(data, *, protocol: str = "default", test_size=None, test_path=None, seed=None,
            standardize=None, bias: bool = False, standardize_target: bool = False) -> Split:
    """Split a data set into training and test parts and scale them, following a named protocol.

    Parameters
    ----------
    data : Dataset or str
        A loaded :class:`Dataset`, or a name/path for :func:`load_dataset`.
    protocol : {"default", "paper"}
        ``"default"`` (the library's protocol): a split stratified by class for classification
        (plain for regression), ``test_size`` 0.5 and ``seed`` 0 unless given, and per-feature
        standardisation fitted on the training part only (a constant feature keeps scale 1).
        ``"paper"`` mimics the reference experiments of [PBY25]: an unstratified
        ``train_test_split(X, Y, test_size=0.5, random_state=42)`` (``seed`` replaces 42 when
        given) and raw features, except mnist-pca, which gets the reference's single global
        scalar standardisation ``(X - mean(X_train)) / std(X_train)`` (the training statistics
        are applied to the test set too; the reference divided the test set by its own std).
    test_size : float, optional
        Fraction of rows in the test part, 0 <= test_size < 1; 0 trains on all rows and leaves
        the test parts None. Ignored (with a note) for mnist-pca, whose test set is a fixed file,
        and when ``test_path`` is given.
    test_path : str or os.PathLike, optional
        A CSV file with the same columns (and target column) as the data, used as the test set
        instead of a split. Its labels are mapped onto the training classes; an unseen label
        raises DataError.
    seed : int, optional
        Random state of the split (default 0, or 42 under the paper protocol).
    standardize : bool, optional
        Overrides the protocol's choice of standardisation.
    bias : bool
        Append a column of ones after the standardisation (a first-layer bias, SPEC §1).
    standardize_target : bool
        Regression only: centre and scale each target column by its mean and standard deviation
        on the training part. NN-TRAIN has no output bias and its weight decay is not
        scale-free, so targets far from unit scale (diabetes: mean 151, std 80) make it fit the
        training rows with almost no regularisation; without this option such targets get a
        ``warning:`` note. The objective, bound and gap then refer to the standardised targets;
        :meth:`Split.original_targets` maps predictions back.

    Notes
    -----
    The synthetic sets (random:K, spiral) are optimisation benchmarks: under both protocols they
    are by default neither split (``test_size`` defaults to 0) nor standardised, so that the
    experiments see the raw generated data; pass ``test_size``/``standardize`` to change this.

    Returns
    -------
    Split
        With ``notes`` describing what was done (protocol, split, scaling, quirks).
    """
    if not isinstance(protocol, str) or protocol.strip().lower() not in PROTOCOLS:
        raise ParameterError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}.")
    protocol = protocol.strip().lower()
    test_size = _check_test_size(test_size)
    seed = _check_seed(seed)
    standardize = check_flag(standardize, "standardize", allow_none=True)
    bias = check_flag(bias, "bias")
    standardize_target = check_flag(standardize_target, "standardize_target")
    if test_path is not None and not isinstance(test_path, (str, os.PathLike)):
        raise ParameterError(f"test_path must be a path; got {type(test_path).__name__}.")
    if isinstance(data, str) or isinstance(data, os.PathLike):
        ds = load_dataset(data)
    elif isinstance(data, Dataset):
        ds = data
    else:
        raise ParameterError(f"data must be a Dataset or a dataset name/path; got {type(data).__name__}.")

    paper = protocol == "paper"
    notes: list[str] = [
        "paper protocol [PBY25]: mimics the reference experiments (not the library default)"
        if paper else "default protocol"
    ]
    classification = ds.task == "classification"
    mnist = ds.name == "mnist-pca"

    # ----- the test set: a separate file, the fixed MNIST file, a random split, or none -------
    train_index = test_index = None
    split_seed = None
    if test_path is not None:
        if test_size not in (None, 0.0):
            notes.append(f"test_size={test_size} ignored: the test set is read from test_path")
        X_tr, Y_tr, y_tr = ds.X, ds.Y, ds.y
        X_te, Y_te, y_te, more = _load_test_file(ds, test_path)
        notes.append(f"test set read from {os.fspath(test_path)!r} ({X_te.shape[0]} rows); training on all {ds.n} rows")
        notes.extend(more)
    elif ds.X_test is not None:
        if test_size is not None:
            notes.append(f"test_size={test_size} ignored: {ds.name} has a fixed test set")
        X_tr, Y_tr, y_tr = ds.X, ds.Y, ds.y
        X_te, Y_te, y_te = ds.X_test, ds.Y_test, ds.y_test
        notes.append(f"{ds.name}: fixed test file ({X_te.shape[0]} rows), training file ({ds.n} rows)")
    else:
        ts = test_size
        if ts is None:
            ts = 0.0 if ds.synthetic else 0.5
            if ds.synthetic:
                notes.append("synthetic optimisation benchmark: no train/test split by default")
        if ts == 0.0:
            X_tr, Y_tr, y_tr = ds.X, ds.Y, ds.y
            X_te = Y_te = y_te = None
            if not ds.synthetic or test_size is not None:
                notes.append("test_size=0: training on all rows, no test set")
        else:
            split_seed = seed if seed is not None else (PAPER_SEED if paper else DEFAULT_SEED)
            stratify = classification and not paper
            train_index, test_index = _split_indices(ds, ts, split_seed, stratify, notes)
            X_tr, Y_tr, y_tr = ds.X[train_index], ds.Y[train_index], ds.y[train_index]
            X_te, Y_te, y_te = ds.X[test_index], ds.Y[test_index], ds.y[test_index]
            kind = "stratified" if stratify and not any("fell back" in s for s in notes) else "unstratified"
            share = f"{round(100 * (1 - ts)):g}/{round(100 * ts):g}"
            if paper:
                notes.append(f"paper protocol: {kind} {share} split, random_state={split_seed}")
            else:
                notes.append(f"default protocol: {kind} {share} split, random_state={split_seed}")
    if paper and ds.name in _PUBLISHED_N_TRAIN:
        published = _PUBLISHED_N_TRAIN[ds.name]
        notes.append(
            f"all {ds.n} rows are read; the reference code dropped the first data row "
            f"(published n_train = {published})"
        )

    if classification:
        present = np.unique(y_tr)
        if present.size < 2:
            raise DataError(
                f"{ds.name}: the training part holds a single class "
                f"({ds.label_names[int(present[0])]!r}); classification needs at least 2."
            )
        if present.size < ds.c:
            missing = [ds.label_names[k] for k in range(ds.c) if k not in set(present.tolist())]
            notes.append(f"classes absent from the training part: {', '.join(missing)}")

    # ----- standardisation, fitted on the training part only -----------------------------------
    X_tr = np.array(X_tr, dtype=np.float64, copy=True)
    X_te = None if X_te is None else np.array(X_te, dtype=np.float64, copy=True)
    mean = scale = None
    default_std = not ds.synthetic and (not paper or mnist)
    do_std = default_std if standardize is None else standardize
    if do_std and paper and mnist:
        mu, sd = float(X_tr.mean()), float(X_tr.std())
        sd = sd if sd > 0 else 1.0
        mean = np.full(ds.d, mu)
        scale = np.full(ds.d, sd)
        notes.append(
            "paper protocol: MNIST standardised by one global scalar, (X - mean(X_train)) / "
            "std(X_train), training statistics applied to the test set (the reference code "
            "divided the test set by its own std)"
        )
    elif do_std:
        mean = X_tr.mean(axis=0)
        scale = X_tr.std(axis=0)
        const = scale <= 1e-12 * np.maximum(1.0, np.abs(mean))
        scale[const] = 1.0
        what = "per-feature standardisation fitted on the training part"
        if const.any():
            what += f" ({int(const.sum())} constant feature(s) only centred)"
        notes.append(what)
    else:
        if paper:
            notes.append("paper protocol: raw features, no standardisation")
        else:
            notes.append("raw features, no standardisation")
    if mean is not None:
        X_tr = (X_tr - mean) / scale
        if X_te is not None:
            X_te = (X_te - mean) / scale

    feature_names = ds.feature_names
    if bias:
        X_tr = np.hstack([X_tr, np.ones((X_tr.shape[0], 1))])
        if X_te is not None:
            X_te = np.hstack([X_te, np.ones((X_te.shape[0], 1))])
        feature_names = feature_names + ("bias",)
        notes.append("bias: a column of ones appended after scaling")

    n_te = 0 if X_te is None else X_te.shape[0]
    Y_train = np.array(Y_tr, dtype=np.float64, copy=True)
    Y_test = None if Y_te is None else np.array(Y_te, dtype=np.float64, copy=True)
    target_mean = target_scale = None
    if standardize_target:
        if classification:
            raise ParameterError(
                f"standardize_target applies to regression targets; {ds.name} is a classification "
                "data set (its one-hot targets are already on unit scale)."
            )
        target_mean, target_scale = Y_train.mean(axis=0), Y_train.std(axis=0)
        target_scale[target_scale <= 1e-12 * np.maximum(1.0, np.abs(target_mean))] = 1.0
        Y_train = (Y_train - target_mean) / target_scale
        if Y_test is not None:
            Y_test = (Y_test - target_mean) / target_scale
        notes.append(f"regression targets standardised ({_target_note(target_mean, target_scale)}): "
                     "the objective, bound and gap refer to the standardised targets, the "
                     "predictions and metrics are in the original units")
    elif not classification and _off_scale(Y_train):
        notes.append("warning: the regression targets have "
                     f"{_target_note(Y_train.mean(axis=0), Y_train.std(axis=0))}; NN-TRAIN has "
                     "no output bias and its weight decay is not scale-free, so at this scale reg "
                     "hardly regularises and the network may interpolate the training rows; "
                     "--standardize-target (standardize_target=True) fits standardised targets, "
                     f"on which reg acts against the squared error summed over {len(Y_train)} rows")
    if classification:
        y_train = np.array(y_tr, dtype=np.int64, copy=True)
        y_test = None if y_te is None else np.array(y_te, dtype=np.int64, copy=True)
    else:  # for regression y is the target matrix itself, as in Dataset
        y_train, y_test = Y_train, Y_test
    return Split(
        dataset=ds.name,
        task=ds.task,
        protocol=protocol,
        X_train=X_tr,
        Y_train=Y_train,
        y_train=y_train,
        X_test=X_te,
        Y_test=Y_test,
        y_test=y_test,
        label_names=ds.label_names,
        feature_names=feature_names,
        bias=bias,
        standardize=mean is not None,
        seed=split_seed,
        test_size=n_te / (X_tr.shape[0] + n_te),
        mean=mean,
        scale=scale,
        notes=tuple(notes),
        train_index=train_index,
        test_index=test_index,
        target_mean=target_mean,
        target_scale=target_scale,
    )


#: Regression targets whose training standard deviation lies outside [1/30, 30] (or whose mean
#: exceeds 5 standard deviations) get a warning note: the weight decay hardly acts, or acts
#: too much, at that scale (diabetes: std 80; the random teacher sets: 3.5-12, no warning).
_TARGET_SCALE_RANGE = (1.0 / 30.0, 30.0)
_TARGET_MEAN_RATIO = 5.0


def _off_scale(Y: np.ndarray) -> bool:
    """Whether some target column is far from unit scale (see :data:`_TARGET_SCALE_RANGE`)."""
    mean, std = Y.mean(axis=0), Y.std(axis=0)
    lo, hi = _TARGET_SCALE_RANGE
    spread = std > 0
    return bool(np.any(spread & ((std < lo) | (std > hi) | (np.abs(mean) > _TARGET_MEAN_RATIO * std))))


def _target_note(mean: np.ndarray, std: np.ndarray) -> str:
    """'mean 151 and standard deviation 79.9 on the training part' (one column) or ranges."""
    if len(mean) == 1:
        return f"mean {mean[0]:.3g} and standard deviation {std[0]:.3g} on the training part"
    return (f"means {mean.min():.3g} to {mean.max():.3g} and standard deviations "
            f"{std.min():.3g} to {std.max():.3g} on the training part")
