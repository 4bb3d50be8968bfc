"""Dense linear algebra that stays clear of OpenBLAS's crashes on large matrices.

The OpenBLAS libraries bundled with the numpy and scipy wheels (numpy 2.4.6 / scipy 1.17.1,
OpenBLAS 0.3.30–0.3.31) killed the process with a segmentation fault on this project's 2-core
machines (an AMD EPYC and an Intel Xeon with SkylakeX kernels) in two threaded routines:

* the Cholesky factorisation potrf, every time at 16,000 and 16,500 rows in isolation (13,000
  and 14,500 worked), and once inside the active-set interior point on Pima at 16,506 rows;
* the symmetric rank-k update syrk — which numpy also uses for ``A @ A.T`` — at 18,000 rows with
  k = 1,000 and 20,000 rows with k = 300 (16,400 rows with k = 64, 12,000 with k = 12,000 and
  gemm at 12,000 × 12,000 × 12,000 worked), all one-off runs.

So above :data:`BLAS_TILE_MAX` rows the functions here split the work into tiles of at most
that many rows and columns, each BLAS call still on all threads; below it they are the plain
calls. Used wherever a matrix may grow with the data: the interior points' Newton systems, the
kernel baselines and the gated ReLU's Gram matrices.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

#: Largest number of rows (and columns) of a matrix handed to one threaded potrf, syrk or gemm
#: call (see the module docstring for the sizes that crashed and those that worked).
BLAS_TILE_MAX = 12_000


def _edges(N: int, block: int) -> list[int]:
    """Boundaries of k equal tiles of at most ``block`` rows covering 0…N (the last smaller)."""
    k = max(1, -(-N // block))
    b = -(-N // k)
    return list(range(0, N, b)) + [N]


def gram(A: np.ndarray, B: np.ndarray | None = None) -> np.ndarray:
    """A Bᵀ (A Aᵀ when ``B`` is None), by tiles of at most :data:`BLAS_TILE_MAX` rows and columns
    when the result is larger; the diagonal tiles of A Aᵀ stay exactly symmetric as numpy's
    syrk makes them."""
    same = B is None
    B = A if same else B
    if max(A.shape[0], B.shape[0]) <= BLAS_TILE_MAX:
        return A @ A.T if same else A @ B.T
    out = np.empty((A.shape[0], B.shape[0]), dtype=np.result_type(A, B))
    ea, eb = _edges(A.shape[0], BLAS_TILE_MAX), _edges(B.shape[0], BLAS_TILE_MAX)
    for i0, i1 in zip(ea, ea[1:]):
        for j0, j1 in zip(eb, eb[1:]):
            if same and j0 < i0:
                out[i0:i1, j0:j1] = out[j0:j1, i0:i1].T
            elif same and j0 == i0:
                Ai = A[i0:i1]
                out[i0:i1, j0:j1] = Ai @ Ai.T
            else:
                out[i0:i1, j0:j1] = A[i0:i1] @ B[j0:j1].T
    return out


def cholesky_in_place(M_lower: np.ndarray, work=None) -> np.ndarray:
    """Upper Cholesky factor U (M = UᵀU) of a symmetric M held in the lower triangle of a
    C-ordered array, computed in that array's memory: its transpose is a Fortran-ordered view
    whose upper triangle is M's lower one, so LAPACK needs no copy (92 MB at q = 82 for the
    interior point). Above :data:`BLAS_TILE_MAX` rows it factors by tiles
    (:func:`blocked_cholesky`) in the scratch arrays ``work`` (two arrays of at least
    :func:`cholesky_work_sizes` entries; allocated when not given). Raises LinAlgError when M is
    not positive definite; M's memory is then overwritten."""
    N = M_lower.shape[0]
    if N > BLAS_TILE_MAX:
        if work is None:
            work = tuple(np.empty(k) for k in cholesky_work_sizes(N))
        return blocked_cholesky(M_lower.T, work, BLAS_TILE_MAX)
    U, _ = sla.cho_factor(M_lower.T, lower=False, overwrite_a=True, check_finite=False)
    return U


def cholesky_solve(U: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x with UᵀU x = b for the upper factor U of :func:`cholesky_in_place`, by two triangular
    solves (trans 'T', then 'N'), neither of which copies U whatever its memory order. For one
    right-hand side (a 1-D ``b``) LAPACK's trtrs in the bundled OpenBLAS takes its level-2 path
    and runs about twice as fast as scipy's ``cho_solve`` (potrs): one-off, 2 cores, medians of
    40, 1.20 against 2.16 ms at 1,900 rows and 6.51 against 12.77 ms at 4,000, the same residuals
    (1e-15). With several right-hand sides the two take the same time. Factors by tiles work too
    (one-off: 0.11 s at 16,500 rows and 0.23 s at 25,000, relative residuals 2e-15 and 3e-15)."""
    y = sla.solve_triangular(U, b, trans="T", check_finite=False)
    return sla.solve_triangular(U, y, check_finite=False, overwrite_b=True)


def cholesky_work_sizes(N: int, block: int | None = None) -> tuple[int, int]:
    """Entries of the two scratch arrays :func:`cholesky_in_place` needs for N rows: none up to
    ``block`` (default :data:`BLAS_TILE_MAX`) rows; above, with tiles of b rows, one b × b tile
    and one block row of b × (N − b) (:func:`blocked_cholesky`): b·N entries in all, about N²/2
    for two tiles and N²/3 for three (28,000 rows: b = 9,334)."""
    block = BLAS_TILE_MAX if block is None else block
    if N <= block:
        return 0, 0
    edges = _edges(N, block)
    b = edges[1] - edges[0]  # the largest tile (the last may be smaller)
    return b * b, b * (N - b)


def _fortran_view(buf: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A Fortran-ordered rows × cols array in the first rows·cols entries of ``buf``'s memory."""
    flat = buf.reshape(-1)
    if flat.size < rows * cols or not np.may_share_memory(flat, buf):
        raise ValueError(f"scratch array of {buf.size} entries too small for {rows}×{cols}")
    return flat[:rows * cols].reshape(rows, cols, order="F")


def blocked_cholesky(A: np.ndarray, work, block: int) -> np.ndarray:
    """Right-looking blocked Cholesky A = UᵀU of the Fortran-ordered A (its upper triangle),
    overwritten by U, in k × k tiles of at most ``block`` rows: for each block row, potrf on the
    diagonal tile, a triangular solve (trsm) for the tiles to its right, and the update of the
    trailing tiles (syrk on the diagonal, gemm off it). Every LAPACK/BLAS call gets contiguous
    arrays in ``work`` (the wrappers want them; the copies move O(k·N²) bytes against O(N³)
    flops). Part 17 of ``benchmarks/sdp_diagnostics.py`` times it against potrf on one thread.
    Raises LinAlgError when M is not positive definite."""
    from scipy.linalg import blas, lapack

    N = A.shape[0]
    edges = _edges(N, block)
    w1, w2 = work
    for j in range(len(edges) - 1):
        j0, j1 = edges[j], edges[j + 1]
        nb, rest = j1 - j0, N - j1
        D = _fortran_view(w1, nb, nb)
        D[...] = A[j0:j1, j0:j1]
        _, info = lapack.dpotrf(D, lower=0, overwrite_a=1, clean=0)
        if info != 0:
            raise np.linalg.LinAlgError(f"{j0 + info}-th leading minor not positive definite")
        A[j0:j1, j0:j1] = D
        if rest == 0:
            break
        R = _fortran_view(w2, nb, rest)  # the block row right of D; its column tiles are contiguous
        R[...] = A[j0:j1, j1:]
        tiles = [(lo - j1, hi - j1) for lo, hi in zip(edges[j + 1:-1], edges[j + 2:])]
        for lo, hi in tiles:
            blas.dtrsm(1.0, D, R[:, lo:hi], side=0, lower=0, trans_a=1, diag=0, overwrite_b=1)
        A[j0:j1, j1:] = R
        for i, (lo, hi) in enumerate(tiles):  # D is no longer needed: w1 holds one tile at a time
            for lo2, hi2 in tiles[i:]:
                T = _fortran_view(w1, hi - lo, hi2 - lo2)
                T[...] = A[j1 + lo:j1 + hi, j1 + lo2:j1 + hi2]
                if lo2 == lo:
                    blas.dsyrk(-1.0, R[:, lo:hi], beta=1.0, c=T, trans=1, lower=0, overwrite_c=1)
                else:
                    blas.dgemm(-1.0, R[:, lo:hi], R[:, lo2:hi2], beta=1.0, c=T, trans_a=1,
                               overwrite_c=1)
                A[j1 + lo:j1 + hi, j1 + lo2:j1 + hi2] = T
    return A
