"""Reading delimited tables into feature matrices and one-hot targets, with clear errors.

Fields are separated by commas, semicolons, tabs or vertical bars; the separator is detected
from the file (:func:`detect_delimiter`) unless one is given.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import os
import re
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, ParameterError
from ._containers import TASKS, Dataset

#: Field values (compared case-insensitively, after stripping blanks) that mean "missing".
MISSING_MARKERS = frozenset({"", "?", "na", "n/a", "nan", "null", "none"})

#: Field separators that :func:`detect_delimiter` recognises, in order of preference.
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
_DETECT_LINES = 50
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")


@dataclass
class _Table:
    """A parsed table: numeric features plus the raw target strings, with file line numbers."""

    origin: str
    header: tuple[str, ...] | None
    feature_names: tuple[str, ...]
    target_index: int
    target_name: str
    X: np.ndarray
    target_raw: list[str]
    lines: list[int]


def _is_missing(s: str) -> bool:
    """Return True when the (stripped) field is one of the missing-value markers."""
    return s.lower() in MISSING_MARKERS


def _to_float(s: str) -> float | None:
    """Return the field as a float, or None when it is not a number (missing markers included)."""
    if _is_missing(s):
        return None
    try:
        return float(s)
    except ValueError:
        return None


def _is_int_literal(s: str) -> bool:
    """Return True when the string is an integer literal such as ``3`` or ``-1``."""
    t = s.strip()
    if t.startswith(("+", "-")):
        t = t[1:]
    return t.isdigit()


def read_text_file(path: str) -> str:
    """Return the text of ``path`` (UTF-8, BOM removed, newlines untouched) or raise DataError."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        raise DataError(f"CSV file {path!r} not found.") from None
    except IsADirectoryError:
        raise DataError(f"{path!r} is a directory, not a CSV file.") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"CSV file {path!r} is not a UTF-8 text file ({exc}).") from None
    except OSError as exc:
        raise DataError(f"CSV file {path!r} could not be read: {exc}.") from None


def check_delimiter(delimiter) -> str | None:
    """Return ``delimiter`` if it is None or one of :data:`DELIMITERS`; ParameterError otherwise."""
    if delimiter is None or (isinstance(delimiter, str) and delimiter in DELIMITERS):
        return delimiter
    shown = ", ".join(repr(d) for d in DELIMITERS)
    raise ParameterError(f"delimiter must be one of {shown} (or None to detect it); got {delimiter!r}.")


def detect_delimiter(text: str) -> str:
    """Return the field separator of a delimited text: the first of :data:`DELIMITERS` that
    splits each of the first non-blank lines into the same number (at least 2) of fields.

    A comma wins when it is consistent, unless another consistent separator also occurs
    (unquoted) on every line and splits it into at least as many fields, as in '1,5;2,5;yes'
    with its decimal commas (but not '1,2,a;b', a label holding a semicolon). When no separator
    is consistent, the one that splits the first line into the most fields (the comma on a
    tie) is returned, so that the parser's own errors (ragged rows, too few columns) name the
    offending line.
    """
    lines = [ln for ln in text.splitlines() if ln.strip()][:_DETECT_LINES]
    split, widest, first_width = {}, ",", 0
    for delim in DELIMITERS:
        try:
            rows = list(csv.reader(lines, delimiter=delim))
        except csv.Error:
            continue
        if rows and len(rows[0]) > first_width:
            widest, first_width = delim, len(rows[0])
        counts = {len(fields) for fields in rows}
        if len(counts) == 1 and counts.pop() >= 2:
            split[delim] = rows
    if "," in split:
        # '1,5;2,5;yes' splits at commas too; a field separator that every comma-split row
        # still holds (outside quotes) is the file's own, with decimal commas in its numbers
        for delim in DELIMITERS[1:]:
            if (delim in split and len(split[delim][0]) >= len(split[","][0])
                    and all(any(delim in f for f in row) for row in split[","])):
                return delim
        return ","
    return next(iter(split), widest)


def _split_rows(text: str, origin: str, delimiter: str = ",") -> list[tuple[int, list[str]]]:
    """Return the non-blank rows of a delimited text as (line number, stripped fields)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    try:
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            rows.append((reader.line_num, [f.strip() for f in fields]))
    except csv.Error as exc:
        raise DataError(f"{origin} is not valid CSV (line {reader.line_num}): {exc}.") from None
    return rows


def _resolve_target(target, first: list[str], ncol: int, origin: str) -> tuple[int, bool]:
    """Return (0-based target column, whether the first row must be a header) for ``target``."""
    if target is None:
        return ncol - 1, False
    if isinstance(target, bool):
        raise ParameterError(f"target must be a column name or an integer index; got {target!r}.")
    if isinstance(target, str) and _is_int_literal(target):
        target = int(target.strip())
    if isinstance(target, numbers.Integral):
        idx = int(target)
        if not -ncol <= idx < ncol:
            raise DataError(
                f"{origin}: target column index {idx} not found; the file has {ncol} columns "
                f"(valid indices {-ncol}..{ncol - 1})."
            )
        return idx % ncol, False
    if isinstance(target, str):
        want = target.strip()
        for j, s in enumerate(first):
            if s == want:
                return j, True
        for j, s in enumerate(first):
            if s.casefold() == want.casefold():
                return j, True
        if any(_to_float(s) is None for s in first):
            cols = ", ".join(repr(s) for s in first)
            raise DataError(f"{origin}: target column {want!r} not found; the columns are {cols}.")
        raise DataError(
            f"{origin}: target column {want!r} not found; the file has no header row, so give the "
            f"target as an integer column index (0..{ncol - 1}, or negative from the end)."
        )
    raise ParameterError(f"target must be a column name or an integer index; got {target!r}.")


def _detect_header(rows: list[tuple[int, list[str]]], feature_cols: list[int]) -> bool:
    """Return True when the first row looks like a header.

    It does when some feature field of the first row is neither a number nor a missing-value
    marker while the same column holds a number further down (or when it is the only row).
    """
    first = rows[0][1]
    candidates = [j for j in feature_cols if _to_float(first[j]) is None and not _is_missing(first[j])
                  and not _DECIMAL_COMMA.fullmatch(first[j])]
    if not candidates:
        return False
    if len(rows) == 1:
        return True
    # a number with a decimal comma counts as a number here, so that its own error is raised
    return any(_to_float(f[j]) is not None or _DECIMAL_COMMA.fullmatch(f[j])
               for j in candidates for _, f in rows[1:])


def parse_table(text: str, origin: str, *, target=None, header: bool | None = None,
                drop: tuple[int, ...] = (), delimiter: str | None = ",") -> _Table:
    """Parse delimited ``text`` into numeric features and raw target strings.

    ``target`` picks the target column (name or index, default last), ``header`` forces or
    forbids a header row (None: detect it), ``drop`` lists 0-based columns to ignore,
    ``delimiter`` is the field separator (None: :func:`detect_delimiter`). Raises DataError
    naming the line and column of the first problem found.
    """
    delimiter = check_delimiter(delimiter)
    if delimiter is None:
        delimiter = detect_delimiter(text)
    sep = _DELIMITER_NAMES[delimiter]
    rows = _split_rows(text, origin, delimiter)
    if not rows:
        raise DataError(f"{origin} is empty: it has no rows.")
    ncol = len(rows[0][1])
    if ncol < 2:
        raise DataError(
            f"{origin} has fewer than 2 columns (line {rows[0][0]} has {ncol} field); it needs "
            f"feature columns and a target column separated by commas, semicolons, tabs or "
            f"vertical bars (read with the {sep} as separator)."
        )
    for line, fields in rows:
        if len(fields) != ncol:
            raise DataError(
                f"{origin}: ragged rows: line {line} has {len(fields)} fields but line "
                f"{rows[0][0]} has {ncol}; every row needs the same number of {sep}-separated fields."
            )
    tidx, forced = _resolve_target(target, rows[0][1], ncol, origin)
    feature_cols = [j for j in range(ncol) if j != tidx and j not in drop]
    if not feature_cols:
        raise DataError(f"{origin} has no feature column besides the target.")
    if header is None:
        header = forced or _detect_header(rows, feature_cols)
    if header:
        head = tuple(s if s else f"col{j}" for j, s in enumerate(rows[0][1]))
        data = rows[1:]
    else:
        head = None
        data = rows
    if not data:
        raise DataError(f"{origin} has a header row but no data rows.")
    names = tuple(head[j] for j in feature_cols) if head else tuple(f"col{j}" for j in feature_cols)
    tname = head[tidx] if head else f"col{tidx}"

    X = np.empty((len(data), len(feature_cols)), dtype=np.float64)
    for i, (line, fields) in enumerate(data):
        for k, j in enumerate(feature_cols):
            s = fields[j]
            if _is_missing(s):
                shown = "an empty field" if s == "" else repr(s)
                raise DataError(
                    f"{origin}: missing value ({shown}) at line {line}, column {names[k]!r} "
                    f"(index {j}); remove or impute missing values first."
                )
            try:
                v = float(s)
            except ValueError:
                if _DECIMAL_COMMA.fullmatch(s):
                    raise DataError(
                        f"{origin}: line {line}, column {names[k]!r} (index {j}) holds {s!r}, a "
                        f"number with a decimal comma; convexnn reads '.' as the decimal separator, "
                        "so write the numbers with points (e.g. 0.5, not 0,5)."
                    ) from None
                raise DataError(
                    f"{origin}: non-numeric feature column {names[k]!r} (index {j}): line {line} "
                    f"holds {s!r}. Only numeric features are supported; encode or drop that column, "
                    "or choose it as the target."
                ) from None
            if not math.isfinite(v):
                raise DataError(
                    f"{origin}: infinite value {s!r} at line {line}, column {names[k]!r} (index {j})."
                )
            X[i, k] = v
    target_raw = []
    for line, fields in data:
        s = fields[tidx]
        if _is_missing(s):
            shown = "an empty field" if s == "" else repr(s)
            raise DataError(
                f"{origin}: missing target value ({shown}) at line {line}, column {tname!r} "
                f"(index {tidx}); remove rows without a target first."
            )
        target_raw.append(s)
    return _Table(origin, head, names, tidx, tname, X, target_raw, [ln for ln, _ in data])


def _numeric_label(v: float) -> str:
    """Return the class name of a numeric label: ``"3"`` for 3.0, ``"0.5"`` for 0.5."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def make_targets(table: _Table, task: str | None) -> tuple[np.ndarray, np.ndarray, tuple | None, str]:
    """Return (Y, y, label_names, task) built from the raw target strings of ``table``.

    Inferred task: strings or integral numbers give classification, other numbers regression.
    Class names are sorted: numerically for numeric labels (named by ``str`` of the integer),
    alphabetically for strings. ``task`` (when not None) overrides the inference.
    """
    raw = table.target_raw
    nums = [_to_float(s) for s in raw]
    numeric = all(v is not None and math.isfinite(v) for v in nums)
    if task is None:
        task = "regression" if numeric and not all(float(v).is_integer() for v in nums) else "classification"
    if task == "regression":
        if not numeric:
            i = next(i for i, v in enumerate(nums) if v is None or not math.isfinite(v))
            raise DataError(
                f"{table.origin}: regression needs a numeric target, but column {table.target_name!r} "
                f"holds {raw[i]!r} at line {table.lines[i]}."
            )
        Y = np.asarray(nums, dtype=np.float64)[:, None]
        return Y, Y, None, task
    if numeric:
        uniq = sorted(set(nums))
        names = tuple(_numeric_label(v) for v in uniq)
        pos = {v: k for k, v in enumerate(uniq)}
        y = np.fromiter((pos[v] for v in nums), dtype=np.int64, count=len(nums))
    else:
        names = tuple(sorted(set(raw)))
        pos = {s: k for k, s in enumerate(names)}
        y = np.fromiter((pos[s] for s in raw), dtype=np.int64, count=len(raw))
    Y = np.zeros((len(raw), len(names)))
    Y[np.arange(len(raw)), y] = 1.0
    return Y, y, names, task


def map_labels(table: _Table, label_names: tuple[str, ...]) -> np.ndarray:
    """Return the class index of each raw target string of ``table`` within ``label_names``.

    Labels match by name, or by numeric value (``"1.0"`` matches ``"1"``); a label that is not
    among ``label_names`` raises DataError.
    """
    by_name = {s: k for k, s in enumerate(label_names)}
    by_value = {}
    for k, s in enumerate(label_names):
        v = _to_float(s)
        if v is not None:
            by_value.setdefault(v, k)
    out = np.empty(len(table.target_raw), dtype=np.int64)
    for i, s in enumerate(table.target_raw):
        k = by_name.get(s)
        if k is None:
            v = _to_float(s)
            k = by_value.get(v) if v is not None else None
        if k is None:
            raise DataError(
                f"{table.origin}: label {s!r} at line {table.lines[i]} does not occur in the training "
                f"data (known labels: {', '.join(label_names)})."
            )
        out[i] = k
    return out


def check_task(task) -> str | None:
    """Return ``task`` if it is None, "classification" or "regression"; ParameterError otherwise."""
    if task is None:
        return None
    if not isinstance(task, str) or task.strip().lower() not in TASKS:
        raise ParameterError(f"task must be 'classification' or 'regression' (or None); got {task!r}.")
    return task.strip().lower()


def read_csv_table(path, *, target=None, delimiter=None) -> _Table:
    """Read a user CSV file into a :class:`_Table` (header and, unless given, separator
    detected) or raise DataError."""
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"path must be a string or os.PathLike; got {type(path).__name__}.")
    path = os.fspath(path)
    text = read_text_file(path)
    origin = f"CSV file {path!r}"
    if not text.strip():
        raise DataError(f"{origin} is empty.")
    return parse_table(text, origin, target=target, delimiter=delimiter)


def load_csv(path, *, target=None, task=None, name=None, delimiter=None) -> Dataset:
    """Load a delimited text file as a :class:`Dataset` (numeric features, one target column).

    Parameters
    ----------
    path : str or os.PathLike
        The file. CRLF or LF line endings, with or without a final newline; a header row is
        detected when the first row has a non-numeric field in a feature column whose later
        rows are numeric.
    target : str or int, optional
        The target column: a header name, or a 0-based index (negative counts from the end).
        Default: the last column.
    task : {"classification", "regression"}, optional
        Overrides the inferred task: a target of strings or integers is classification, one of
        non-integral reals regression.
    name : str, optional
        The dataset name; default the path.
    delimiter : {",", ";", "\\t", "|"}, optional
        The field separator; default: detected from the file (the comma whenever each of the
        first lines has the same number of comma-separated fields).

    Raises
    ------
    DataError
        Missing or unreadable file, empty file, no data rows, ragged rows, missing values
        (empty, ``?``, ``NA``, ``nan``; the line and column are named), a non-numeric feature
        column, an unknown target column, fewer than 2 columns, or a single class.
    """
    task = check_task(task)
    delimiter = check_delimiter(delimiter)
    table = read_csv_table(path, target=target, delimiter=delimiter)
    Y, y, labels, task = make_targets(table, task)
    if task == "classification" and len(labels) < 2:
        raise DataError(
            f"{table.origin}: target column {table.target_name!r} has a single class "
            f"({labels[0]!r}); classification needs at least 2 classes."
        )
    path_s = os.fspath(path)
    return Dataset(
        name=str(name) if name is not None else path_s,
        X=table.X,
        Y=Y,
        y=y,
        task=task,
        label_names=labels,
        feature_names=table.feature_names,
        source=f"user CSV file {path_s} (target column {table.target_name!r})",
        target_column=target,
    )
