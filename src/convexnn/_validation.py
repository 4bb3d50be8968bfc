"""Input checks shared by every entry point: clear messages instead of numpy tracebacks."""

from __future__ import annotations

import numbers

import numpy as np

from .errors import DataError, MemoryEstimateError, ParameterError


def as_float_matrix(A, name: str, *, allow_1d_as_column: bool = False) -> np.ndarray:
    """Return ``A`` as a C-contiguous float64 2-D array, or raise a DataError naming ``name``."""
    if A is None:
        raise DataError(f"{name} is missing (got None).")
    try:
        arr = np.asarray(A)
    except Exception as exc:  # ragged lists and the like
        raise DataError(f"{name} could not be read as a numeric array: {exc}") from exc
    if arr.dtype == object or arr.dtype.kind in "USV":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{name} must be numeric; it holds non-numeric values ({exc}).") from exc
    if arr.dtype.kind == "c":
        raise DataError(f"{name} must be real-valued; got complex dtype {arr.dtype}.")
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{name} must be numeric; got dtype {arr.dtype}.")
    if arr.ndim == 1 and allow_1d_as_column:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataError(f"{name} must be a 2-D array (samples x features); got shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise DataError(f"{name} is empty: it has 0 rows.")
    if arr.shape[1] == 0:
        raise DataError(f"{name} has 0 columns.")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise DataError(
            f"{name} contains NaN or infinite values (first at row {bad[0]}, column {bad[1]}); "
            "remove or impute them first."
        )
    return arr


def check_XY(X, Y, *, X_name: str = "X", Y_name: str = "Y") -> tuple[np.ndarray, np.ndarray]:
    """Validate a design matrix and a target matrix with matching numbers of rows."""
    X = as_float_matrix(X, X_name)
    Y = as_float_matrix(Y, Y_name, allow_1d_as_column=True)
    if X.shape[0] != Y.shape[0]:
        raise DataError(
            f"{X_name} has {X.shape[0]} rows but {Y_name} has {Y.shape[0]}; they must match."
        )
    return X, Y


def check_reg(reg, name: str = "reg") -> float:
    """Return the regularisation strength as a positive float or raise a ParameterError."""
    if isinstance(reg, bool) or not isinstance(reg, numbers.Real):
        raise ParameterError(f"{name} must be a positive number; got {reg!r}.")
    reg = float(reg)
    if not np.isfinite(reg) or reg <= 0:
        raise ParameterError(f"{name} must be a positive, finite number; got {reg}.")
    return reg


def check_tol(tol) -> None:
    """Raise a ParameterError unless ``tol`` (a relative gap) lies strictly between 0 and 1."""
    if isinstance(tol, bool) or not (isinstance(tol, numbers.Real) and 0 < tol < 1):
        raise ParameterError(f"tol must be in (0, 1); got {tol!r}.")


def check_time_limit(time_limit) -> None:
    """Raise a ParameterError unless ``time_limit`` is None or a positive number of seconds
    (inf meaning no limit)."""
    if time_limit is not None and (isinstance(time_limit, bool) or not (
            isinstance(time_limit, numbers.Real) and time_limit > 0)):
        raise ParameterError(f"time_limit must be a positive number of seconds; got {time_limit!r}.")


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int >= minimum or raise a ParameterError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    if value < minimum:
        raise ParameterError(f"{name} must be >= {minimum}; got {value}.")
    return int(value)


def check_flag(value, name: str, allow_none: bool = False) -> bool | None:
    """Return ``value`` as a bool (None allowed when ``allow_none``) or raise a ParameterError:
    a truthy string such as 'no' must not silently mean True."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ParameterError(f"{name} must be True or False{' or None' if allow_none else ''}; got {value!r}.")


def as_generator(seed, name: str = "seed") -> np.random.Generator:
    """``seed`` as a numpy Generator: a Generator is used as it is (its stream goes on), None or a
    non-negative integer seeds a new one; anything else is a ParameterError."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0):
        return np.random.default_rng(None if seed is None else int(seed))
    raise ParameterError(f"{name} must be a non-negative integer, a numpy Generator or None; got {seed!r}.")


def available_memory_bytes() -> int:
    """Best estimate of the memory this process may still allocate (bytes)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 1024**3


MEMORY_FRACTION = 0.8  # of the available memory, the most an estimate may ask for


def check_memory(n_bytes: float, what: str, *, fraction: float = MEMORY_FRACTION, advice=None) -> None:
    """Refuse (MemoryEstimateError) when ``n_bytes`` exceeds ``fraction`` of available memory.

    ``advice(budget_bytes)`` may return a more specific remedy than the generic one (e.g. how many
    samples would fit in ``fraction`` of the available memory)."""
    avail = available_memory_bytes()
    if n_bytes > fraction * avail:
        hint = advice(fraction * avail) if advice is not None else None
        raise MemoryEstimateError(
            f"{what} needs about {n_bytes / 1024**3:.1f} GiB but only {avail / 1024**3:.1f} GiB "
            "is available; " + (hint or "use fewer samples or a lower-memory method.")
        )


def cpu_cores(cap: int = 8) -> int:
    """CPU cores this process may run on, at most ``cap`` (the threaded numpy work here is bound by
    memory traffic beyond a few cores)."""
    import os

    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, cap))


def blas_threads(size: int, threshold: int = 400, *, scipy_threads: int | None = None,
                 numpy_threads: int | None = None):
    """Context manager: one BLAS thread for small matrices (threads only add overhead there).

    ``scipy_threads`` / ``numpy_threads`` (for ``size ≥ threshold``) cap the threads of the BLAS
    that scipy / numpy load when each bundles its own. The numpy and scipy wheels each ship an
    OpenBLAS; the idle threads of one spin while the other works, so a loop alternating numpy
    products with scipy LAPACK calls ran about half as fast on 2 cores (one-off measurement).
    Cap the library that does the lighter work. When both share one library nothing is capped."""
    import contextlib

    try:
        from threadpoolctl import ThreadpoolController, threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return contextlib.nullcontext()
    if size < threshold:
        return threadpool_limits(limits=1, user_api="blas")
    if scipy_threads is None and numpy_threads is None:
        return contextlib.nullcontext()
    import os

    import scipy.linalg  # noqa: F401  (loads scipy's BLAS so that the controller sees it)

    blas = ThreadpoolController().select(user_api="blas")

    def scipys_own(path):
        return ("scipy" in os.path.basename(os.path.dirname(path)).lower()
                and "numpy" not in path.lower())

    scipy_libs = [lib.filepath for lib in blas.lib_controllers if scipys_own(lib.filepath)]
    numpy_libs = [lib.filepath for lib in blas.lib_controllers if not scipys_own(lib.filepath)]
    if not scipy_libs or not numpy_libs:  # one shared BLAS: capping it would slow everything
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    if scipy_threads is not None:
        stack.enter_context(blas.select(filepath=scipy_libs).limit(limits=int(scipy_threads)))
    if numpy_threads is not None:
        stack.enter_context(blas.select(filepath=numpy_libs).limit(limits=int(numpy_threads)))
    return stack
