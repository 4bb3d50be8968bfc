"""The exact dual norm by face enumeration (convexnn.atomic_dual_faces) and its use as the oracle
of column generation.

Checked against independent computations: the recursive exact oracle of the Frank–Wolfe baseline
(baselines/sahiner.py, a different enumeration), the branch and bound's certified interval, brute
force over a fine grid of directions, and the NN-TRAIN objective of trained networks.
"""

import itertools

import numpy as np
import pytest
from _dual_instances import dual_norm_instance, nested_quotient_instance

from convexnn.atomic_dual import _Pricer, atomic_dual_certificate, relu_dual_norm_bound
from convexnn.atomic_dual_faces import arrangement_face_count, relu_dual_norm_faces
from convexnn.baselines.gradient import train_lbfgs
from convexnn.baselines.sahiner import nonneg_pca_oracle
from convexnn.errors import DataError, ParameterError
from convexnn.problem import TrainingProblem


def _f(X, G, U):
    return np.linalg.norm(G.T @ np.maximum(X @ U, 0.0), axis=0)


@pytest.mark.parametrize("seed", range(60))
def test_faces_match_the_recursive_exact_oracle_and_the_branch_and_bound(seed):
    X, G = dual_norm_instance(seed, kinds=5, max_rows=26)
    res = relu_dual_norm_faces(X, G)
    assert res is not None and res.status == "optimal"
    # exact: its certified upper value and its attained lower value agree to the rounding margins
    assert res.upper >= res.lower
    assert res.upper <= res.lower * (1 + 1e-8) + 1e-12
    assert _f(X, G, res.u[:, None])[0] == pytest.approx(res.lower, rel=1e-12, abs=1e-12)
    if X.shape[1] <= 4 and np.any(X):  # an independent enumeration (recursive, over the cones)
        _, _, sigma = nonneg_pca_oracle(X, G, method="exact")
        assert res.upper >= sigma * (1 - 1e-12)
        assert res.lower == pytest.approx(sigma, rel=1e-7, abs=1e-12)
    b = relu_dual_norm_bound(X, G, tol=1e-4)
    assert res.upper >= b.lower * (1 - 1e-12)  # never below a value the branch and bound attained
    assert res.lower <= b.upper * (1 + 1e-12)  # nor above its certified bound


def test_faces_in_two_dimensions_against_a_fine_grid_of_angles():
    rng = np.random.default_rng(5)
    for _ in range(5):
        X = rng.standard_normal((30, 2))
        G = rng.standard_normal((30, 3))
        theta = np.linspace(0, 2 * np.pi, 400_001)
        grid = _f(X, G, np.vstack([np.cos(theta), np.sin(theta)])).max()
        res = relu_dual_norm_faces(X, G)
        assert res.upper >= grid * (1 - 1e-12)
        # f is Lipschitz with constant Σ‖g_i‖‖x_i‖, so the grid (step h) misses at most that × h/2
        lip = float(np.sum(np.linalg.norm(G, axis=1) * np.linalg.norm(X, axis=1)))
        assert res.upper <= grid + lip * (theta[1] - theta[0]) / 2 + 1e-9 * grid


def test_faces_find_a_maximum_at_a_vertex_that_random_directions_miss():
    # the maximum of f sits where three hyperplanes meet (f is convex on each cell, and here the
    # unconstrained maximiser of every cell lies outside it); random directions stay well below
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 4))
    T = np.array([0, 1, 2])
    _, _, Vt = np.linalg.svd(X[T])
    v = Vt[-1]
    G = -np.sign(X @ v)[:, None] * np.abs(rng.standard_normal((40, 1)))  # rows active at v push f down
    G[T] = 5.0  # the three hyperplanes through v carry the weight
    res = relu_dual_norm_faces(X, G)
    U = rng.standard_normal((4, 200_000))
    U /= np.linalg.norm(U, axis=0)
    sampled = _f(X, G, U).max()
    assert res.lower >= sampled * (1 - 1e-12)
    _, _, sigma = nonneg_pca_oracle(X, G, method="exact")
    assert res.upper == pytest.approx(sigma, rel=1e-8)


@pytest.mark.parametrize("flip", [False, True])
def test_faces_find_a_maximum_at_a_vertex_where_more_hyperplanes_meet(flip):
    # three hyperplanes of R³ through the ray ±e₃ (a degenerate vertex: more than d − 1 of them);
    # their rows positively span the plane e₃⊥ and carry negative weight, so f falls off −e₃ in
    # every direction, and the fourth row, ∓e₃ with weight 2, makes f(−e₃) = 2 the maximum. The
    # enumeration keeps one of ±e₃ per such vertex and must visit the faces around both.
    s = -1.0 if flip else 1.0
    X = np.array([[0.0, 0.0, s], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, -1.0, 0.0], [0.3, 0.2, 1.0]])
    G = np.array([[2.0 if flip else 0.0], [-1.0], [-1.0], [-1.0], [0.0 if flip else 2.0]])
    if not flip:
        X[4] = [0.0, 0.0, -1.0]
    res = relu_dual_norm_faces(X, G)
    assert res.status == "optimal"
    assert res.lower == pytest.approx(2.0, rel=1e-12)
    assert res.upper == pytest.approx(2.0, rel=1e-8)
    assert np.allclose(res.u, [0.0, 0.0, -1.0])
    U = np.random.default_rng(0).standard_normal((3, 100_000))
    assert _f(X, G, U / np.linalg.norm(U, axis=0)).max() < 2.0


def test_rank_deficient_designs_and_degenerate_targets():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((20, 3))
    X = np.hstack([X, X[:, :1] + X[:, 1:2], np.zeros((20, 1))])  # rank 3 in 5 columns
    G = rng.standard_normal((20, 2))
    res = relu_dual_norm_faces(X, G)
    b = relu_dual_norm_bound(X, G, tol=1e-4)
    assert b.lower * (1 - 1e-12) <= res.upper <= b.upper * (1 + 1e-12)
    assert res.upper <= res.lower * (1 + 1e-8)
    assert np.linalg.norm(res.u) == pytest.approx(1.0)
    # G = 0, X = 0, a single direction (d = 1)
    assert relu_dual_norm_faces(X, np.zeros((20, 2))).upper == pytest.approx(0.0, abs=1e-12)
    assert relu_dual_norm_faces(np.zeros((5, 3)), np.ones((5, 1))).upper == pytest.approx(0.0, abs=1e-12)
    x = rng.standard_normal((9, 1))
    g = rng.standard_normal((9, 2))
    res = relu_dual_norm_faces(x, g)
    assert res.upper == pytest.approx(max(_f(x, g, np.array([[1.0, -1.0]]))), rel=1e-9)


def test_faces_refuse_large_arrangements_and_honour_limits():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 4))
    G = rng.standard_normal((60, 2))
    count = arrangement_face_count(X)
    # 2^(k−1) claimed faces around each of the 2·C(60, k − 1) vertices of the levels k = 4, 3, and
    # all 3 around those of the circle k = 2 (each face once, not once per vertex: 2·C(60, 3)·3³ before)
    assert count == 2 * 34220 * 8 + 2 * 1770 * 4 + 2 * 60 * 3
    assert relu_dual_norm_faces(X, G, max_faces=count - 1) is None
    res = relu_dual_norm_faces(X, G, time_limit=1e-9)
    assert res.status == "time_limit"
    exact = relu_dual_norm_faces(X, G)
    assert res.upper >= exact.upper  # crude, but still a bound
    with pytest.raises(DataError, match="rows"):
        relu_dual_norm_faces(X, G[:-1])
    with pytest.raises(ParameterError):
        relu_dual_norm_faces(X, G, max_faces=0)


def test_faces_peaks_are_distinct_face_maxima_best_first():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((25, 3))
    G = rng.standard_normal((25, 2))
    res = relu_dual_norm_faces(X, G, peaks=20)
    P = res.peaks
    assert P.shape[0] == 3 and 2 <= P.shape[1] <= 21
    np.testing.assert_allclose(np.linalg.norm(P, axis=0), 1.0)
    vals = _f(X, G, P)
    assert vals[0] == pytest.approx(res.lower)
    assert np.all(vals <= res.upper)
    assert np.all(np.abs(P.T @ P - np.eye(P.shape[1])) < 1 - 1e-13)  # pairwise distinct
    # each is the top of ‖M_F u‖ on its face F: the maximiser of uᵀM_FᵀM_F u over the unit
    # sphere of the span of the hyperplanes it lies on, M_F fixed by the signs around it
    for j in range(P.shape[1]):
        u = P[:, j]
        z = X @ u
        on = np.abs(z) <= 1e-9 * np.linalg.norm(X, axis=1)
        M = G[z > 0].T @ X[z > 0]
        _, _, Vt = np.linalg.svd(X[on]) if np.any(on) else (None, None, np.zeros((0, 3)))
        N = Vt[int(np.sum(on)):].T if np.any(on) else np.eye(3)
        top = np.linalg.norm(M @ N, 2)
        assert vals[j] == pytest.approx(top, rel=1e-9)


def test_pricer_candidates_are_the_vertices_and_the_violated_ones_are_best_first():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((12, 3))
    pricer = _Pricer(X, rng)
    assert pricer.C.shape == (3, 2 * 66)  # ± the null vector of each pair of rows
    for a, b in itertools.combinations(range(12), 2):  # every vertex is among the candidates
        _, _, Vt = np.linalg.svd(X[[a, b]])
        assert np.max(np.abs(pricer.C.T @ Vt[-1])) == pytest.approx(1.0, abs=1e-9)
    G = rng.standard_normal((12, 2))
    vals = _f(X, G, pricer.C)
    reg = float(np.quantile(vals, 0.8))
    top, P = pricer.violated(G, reg)
    assert top == pytest.approx(vals.max())
    pv = _f(X, G, P)
    assert np.all(pv > reg) and np.all(np.diff(pv) <= 1e-12)
    assert np.all(P.T @ P - np.eye(P.shape[1]) < np.cos(0.02))  # pairwise at least 0.02 rad apart
    # with few vertices, the faces around the best ones are all faces: pricing finds σ exactly,
    # also where the maximum lies inside a face (not at a vertex)
    for seed in range(5):
        G = np.random.default_rng(seed).standard_normal((12, 2))
        exact = relu_dual_norm_faces(X, G)
        top, _ = pricer.violated(G, 0.0)
        assert top == pytest.approx(exact.lower, rel=1e-9)
    assert np.min(np.abs(X @ exact.u)) > 1e-6  # the last one is inside a cell


@pytest.mark.parametrize("oracle", ["faces", "branch-and-bound", "auto"])
def test_column_generation_bound_holds_below_trained_networks_for_every_oracle(oracle):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 3))
    Y = np.maximum(X @ rng.standard_normal((3, 2)), 0.0) + 0.1 * rng.standard_normal((30, 2))
    prob = TrainingProblem(X, Y, 0.05)
    res = atomic_dual_certificate(X, Y, 0.05, time_limit=8.0, seed=0, oracle=oracle)
    assert res.lower_bound is not None and res.lower_bound <= res.value * (1 + 1e-12)
    assert res.value == pytest.approx(prob.objective(res.solution["U"], res.solution["V"]), rel=1e-9)
    for seed in range(3):  # trained networks of several widths never beat the certified bound
        lb = train_lbfgs(prob, width=20, restarts=0, seed=np.random.default_rng(seed), max_iter=500)
        assert prob.objective(lb.solution["U"], lb.solution["V"]) >= res.lower_bound * (1 - 1e-12)
    used = {h["oracle"] for h in res.history if "sigma_upper" in h}
    assert used == ({"branch-and-bound"} if oracle == "branch-and-bound" else {"faces"})
    assert res.status == "optimal" and res.gap <= 1e-3


def test_column_generation_rejects_an_unknown_oracle():
    X = np.random.default_rng(0).standard_normal((10, 2))
    with pytest.raises(ParameterError, match="oracle"):
        atomic_dual_certificate(X, X[:, :1], 0.1, time_limit=1.0, oracle="sampled")


def test_ctrl_c_in_the_enumeration_or_in_pricing_keeps_a_valid_bound(monkeypatch):
    import convexnn.atomic_dual_faces as af

    rng = np.random.default_rng(9)
    X = rng.standard_normal((20, 3))
    Y = rng.standard_normal((20, 2))
    exact = relu_dual_norm_faces(X, Y)
    real_chunk = af._chunk
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > limit:
            raise KeyboardInterrupt
        return real_chunk(*args, **kwargs)

    monkeypatch.setattr(af, "_chunk", interrupted)
    limit = 0
    res = relu_dual_norm_faces(X, Y)
    assert res.status == "interrupted" and res.upper >= exact.upper  # crude, still a bound
    prob = TrainingProblem(X, Y, 0.1)
    for limit in (0, 1, 3):  # in the first certification, in pricing, later
        calls["n"] = 0
        cg = atomic_dual_certificate(X, Y, 0.1, time_limit=10.0, seed=0, oracle="faces")
        assert cg.status == "interrupted"
        assert cg.value == pytest.approx(prob.objective(cg.solution["U"], cg.solution["V"]), rel=1e-9)
        if cg.lower_bound is not None:
            assert cg.lower_bound <= cg.value
            lb = train_lbfgs(prob, width=20, restarts=0, seed=np.random.default_rng(0), max_iter=500)
            assert prob.objective(lb.solution["U"], lb.solution["V"]) >= cg.lower_bound * (1 - 1e-12)


def test_small_chunks_give_the_same_result(monkeypatch):
    # small-integer rows: many vertices where more than d − 1 hyperplanes meet, so the degenerate
    # vertices come in several batches and their faces in several slices when the chunks are tiny
    import convexnn.atomic_dual_faces as faces

    rng = np.random.default_rng(11)
    X = rng.integers(-3, 4, size=(30, 4)).astype(float)  # up to 7 hyperplanes through a vertex
    G = rng.standard_normal((30, 2))
    full = relu_dual_norm_faces(X, G)
    calls = []
    batched = faces._degenerate
    monkeypatch.setattr(faces, "_degenerate",
                        lambda F, V, IDX, deadline=None, fixed=None: calls.append(len(V)) or batched(F, V, IDX, deadline,
                                                                                                   fixed))
    monkeypatch.setattr(faces, "_CHUNK_ENTRIES", 400)
    small = relu_dual_norm_faces(X, G)
    assert len(calls) > 3  # the degenerate vertices did come in several batches
    assert small.status == full.status == "optimal"
    assert small.upper == pytest.approx(full.upper, rel=1e-12)
    assert small.lower == pytest.approx(full.lower, rel=1e-12)
    _, _, sigma = nonneg_pca_oracle(X, G, method="exact")
    assert small.lower == pytest.approx(sigma, rel=1e-7)


def test_pricing_around_the_vertices_of_the_best_faces_finds_the_maximum(monkeypatch):
    # the enumeration reports the vertices of its best faces; pricing that re-solves the faces
    # around them finds σ for the same residual even when its own candidates are useless
    import convexnn.atomic_dual as ad
    from convexnn.atomic_dual_faces import _chunk, _design, _Faces

    rng = np.random.default_rng(21)
    X = rng.standard_normal((30, 4))
    G = rng.standard_normal((30, 2))
    res = relu_dual_norm_faces(X, G)
    assert res.vertices is not None and res.vertices.shape[1] == 3 and 0 < len(res.vertices) <= 256
    H, ap, am, _, _ = _design(X, G)
    lam, _, inside, at, _, _ = _chunk(_Faces(H, ap, am), res.vertices)
    assert np.sqrt(lam[inside].max()) == pytest.approx(res.lower, rel=1e-9)
    assert np.all(np.isin(at, res.vertices))  # each counted face's vertex is one of those given
    monkeypatch.setattr(ad, "_PRICE_LOCAL", 1)
    pricer = _Pricer(X, np.random.default_rng(0))
    k = len(pricer.T)
    pricer.C = pricer.C[:, [0, k]]  # one candidate vertex only (columns j and j + k hold ±v)
    pricer.T = pricer.T[:1]
    before, _ = pricer.violated(G, 0.0)
    assert before < res.lower * (1 - 1e-3)
    pricer.add(np.zeros((4, 0)), res.vertices)
    after, P = pricer.violated(G, 0.0)
    assert after == pytest.approx(res.lower, rel=1e-9)
    assert _f(X, G, P[:, :1])[0] == pytest.approx(res.lower, rel=1e-9)


def test_a_deadline_in_the_degenerate_vertices_returns_a_valid_crude_bound(monkeypatch):
    # the vertices where more than d − 1 hyperplanes meet come last; a time limit that passes
    # while they are enumerated ends the run with the crude bound, still above σ
    import convexnn.atomic_dual_faces as faces

    rng = np.random.default_rng(11)
    X = rng.integers(-3, 4, size=(30, 4)).astype(float)
    G = rng.standard_normal((30, 2))
    exact = relu_dual_norm_faces(X, G)
    real = faces._degenerate
    monkeypatch.setattr(faces, "_degenerate", lambda F, V, IDX, deadline=None, fixed=None: real(F, V, IDX, 0.0, fixed))
    res = relu_dual_norm_faces(X, G, time_limit=600)
    assert res.status == "time_limit"
    assert res.upper >= exact.upper


def _quotients(monkeypatch):
    """Count the quotient levels the enumeration walks (vertices where many hyperplanes meet)."""
    import convexnn.atomic_dual_faces as faces

    calls = []
    real = faces._Level.quotient
    monkeypatch.setattr(faces._Level, "quotient", lambda self, *a: calls.append(len(a[2])) or real(self, *a))
    return calls


def test_each_face_once_from_its_lowest_vertex_of_a_slice():
    # in general position every face is processed at one vertex only: 2^(k−1) of the 3^(k−1)
    # faces around each vertex of each level, so the count is the estimate, far below 3^(r−1) per vertex
    rng = np.random.default_rng(31)
    X = rng.standard_normal((40, 4))
    G = rng.standard_normal((40, 3))
    res = relu_dual_norm_faces(X, G)
    est = arrangement_face_count(X)
    assert est == 2 * 9880 * 8 + 2 * 780 * 4 + 2 * 40 * 3
    assert est <= res.cells <= 1.01 * est  # near ties claim both sides: a few more
    assert res.cells < 2 * 9880 * 27 / 3
    _, _, sigma = nonneg_pca_oracle(X, G, method="exact")
    assert res.lower == pytest.approx(sigma, rel=1e-9)
    assert res.upper <= res.lower * (1 + 1e-8) + 1e-12


@pytest.mark.parametrize("seed", range(6))
def test_other_slices_and_row_orders_give_the_same_maximum(monkeypatch, seed):
    # which vertex claims a face depends on the slice (a, φ) and the faces crossing it go to the
    # next level; a face missed by that bookkeeping would show as a different maximum
    import convexnn.atomic_dual_faces as faces

    X, G = dual_norm_instance(seed + 100, kinds=5, max_rows=22)
    ref = relu_dual_norm_faces(X, G)
    for s in (1, 2, 3):
        monkeypatch.setattr(faces, "_SLICE_SEED", s)
        perm = np.random.default_rng(s).permutation(len(X))
        res = relu_dual_norm_faces(X[perm], G[perm])
        assert res.lower == pytest.approx(ref.lower, rel=1e-9, abs=1e-12)
        assert res.upper == pytest.approx(ref.upper, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_many_hyperplanes_through_a_vertex_walk_a_quotient_level(monkeypatch, seed):
    # small integers: up to a dozen hyperplanes meet at some vertices, where 3^m sign choices
    # would be millions; the faces around them are those of a quotient level (and its own levels)
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(45, 4)).astype(float)
    X = X[np.linalg.norm(X, axis=1) > 0]
    G = rng.standard_normal((len(X), 2))
    calls = _quotients(monkeypatch)
    res = relu_dual_norm_faces(X, G)
    assert res is not None and res.status == "optimal"
    assert calls and max(calls) >= 9
    _, _, sigma = nonneg_pca_oracle(X, G, method="exact")  # an independent recursion over the cones
    assert res.lower == pytest.approx(sigma, rel=1e-7)
    assert res.upper >= sigma * (1 - 1e-12)
    assert res.upper <= res.lower * (1 + 1e-8) + 1e-12


def test_a_maximum_inside_nested_quotient_levels(monkeypatch):
    # ten rows through the ray e₄ (all orthogonal to it), nine of them also orthogonal to e₁:
    # in the quotient at e₄ those nine meet again at e₁, a quotient inside the quotient (every
    # other row meets the plane of e₁ and e₄ in another such vertex). Checked against dense
    # sampling, the recursive oracle and the branch and bound
    rng = np.random.default_rng(7)
    plane = rng.standard_normal((9, 2))
    rows = [np.r_[0.0, p, 0.0] for p in plane] + [np.r_[1.0, rng.standard_normal(2), 0.0]]
    X = np.vstack(rows + [rng.standard_normal(4) for _ in range(12)] + [[1.0, 0.0, 0.0, 1.0]])
    G = np.vstack([-np.ones((10, 1)), -np.abs(rng.standard_normal((12, 1))), [[3.0]]])
    G[9] = 0.0
    calls = _quotients(monkeypatch)
    res = relu_dual_norm_faces(X, G)
    assert res.status == "optimal"
    assert len(calls) >= 4 and max(calls) >= 9  # ±e₄, and ±e₁ inside each of those
    U = rng.standard_normal((4, 400_000))
    U /= np.linalg.norm(U, axis=0)
    assert res.lower >= _f(X, G, U).max() * (1 - 1e-12)
    _, _, sigma = nonneg_pca_oracle(X, G, method="exact")
    assert res.lower == pytest.approx(sigma, rel=1e-8)
    b = relu_dual_norm_bound(X, G, tol=1e-5)
    assert b.lower * (1 - 1e-12) <= res.upper and res.lower <= b.upper * (1 + 1e-12)


def test_a_bias_column_on_repeated_values_matches_the_branch_and_bound(monkeypatch):
    # what Iris with a bias looks like: features on a coarse grid plus the ones column, so many
    # affine hyperplanes share a point; five columns (no recursive oracle), so the branch and
    # bound's certified interval is the check
    rng = np.random.default_rng(3)
    X = np.hstack([rng.integers(0, 4, size=(30, 4)) / 3.0, np.ones((30, 1))])
    G = rng.standard_normal((30, 1))
    calls = _quotients(monkeypatch)
    res = relu_dual_norm_faces(X, G)
    assert res.status == "optimal" and calls
    b = relu_dual_norm_bound(X, G, tol=1e-4, time_limit=120)
    assert b.status == "optimal"
    assert b.lower * (1 - 1e-12) <= res.upper
    assert res.lower <= b.upper * (1 + 1e-12)
    assert res.upper <= res.lower * (1 + 1e-8) + 1e-12


def test_fit_names_the_time_limit_that_would_enumerate_the_faces():
    # a gap the branch and bound left open, on an arrangement small enough to enumerate with more
    # time: the note names a time limit at which the dual stage's share covers the enumeration
    from convexnn.atomic_dual import _CG_FACES_SHARE, _FACE_SECONDS
    from convexnn.pipeline import _FACES_HINT_MAX_S, _faces_hint

    rng = np.random.default_rng(0)
    X = np.hstack([rng.standard_normal((75, 4)), np.ones((75, 1))])  # Iris-sized, with a bias
    faces = arrangement_face_count(X)
    assert 3e7 < faces < 5e7
    # the dual stage gets half the limit, or what the stages before it (``before`` s) left of it
    # if more: the note's limit covers the enumeration either way, and is not much more
    needs = []
    for before in (0.0, 5.0, 1000.0):
        note = _faces_hint(X, 0.12, before)
        need = float(note.split("--time-limit ")[1].split(",")[0])
        stage = max(0.5 * need, need - before)
        assert 0.8 * stage * _CG_FACES_SHARE >= faces * _FACE_SECONDS  # enough for the enumeration
        assert 0.8 * (stage - 10) * _CG_FACES_SHARE <= 1.3 * faces * _FACE_SECONDS  # and not much more
        needs.append(need)
    assert needs[0] <= needs[1] < needs[2]  # slow first stages leave the dual stage its half
    assert _faces_hint(X, 0.005) is None  # the gap is already small
    assert _faces_hint(X, None) is None
    big = np.hstack([rng.standard_normal((700, 3)), np.ones((700, 1))])  # Bank Notes-sized: out of reach
    assert arrangement_face_count(big) * _FACE_SECONDS > _FACES_HINT_MAX_S
    assert _faces_hint(big, 0.3) is None


def test_every_cell_that_random_directions_meet_is_processed(monkeypatch):
    """Completeness of the faces processed: each cell is processed at one vertex only (claims,
    slices, quotient levels), so a bookkeeping error would drop cells. Every cell that 300,000
    random directions land in must be among those processed — with ten hyperplanes through ±e₄
    (a quotient level), nine of them through ±e₁ inside it."""
    import convexnn.atomic_dual_faces as faces

    X, G, rng = nested_quotient_instance()
    seen = set()
    real = faces._process

    def recording(F, MB, Bz, req0, Trows, combos, H_sub, sub):
        req = np.array(req0)
        req[np.arange(len(req))[:, None], Trows] = combos
        seen.update(r.astype(np.int8).tobytes() for r in req[np.all(req != 0, axis=1)])
        return real(F, MB, Bz, req0, Trows, combos, H_sub, sub)

    monkeypatch.setattr(faces, "_process", recording)
    calls = _quotients(monkeypatch)
    res = faces.relu_dual_norm_faces(X, G)
    assert res.status == "optimal" and calls
    H = faces._design(X, G)[0]
    assert len(H) == len(X)  # no merges: the cells are those of the hyperplanes H (row-space coordinates)
    U = rng.standard_normal((4, 300_000))
    cells = {np.sign(u).astype(np.int8).tobytes() for u in (H @ U).T}
    assert len(cells) > 500
    assert cells <= seen, f"{len(cells - seen)} cells never processed"


def test_what_the_enumeration_keeps_is_the_top_of_the_full_lists():
    """The enumeration keeps, chunk by chunk, the largest λ and the best inside faces (overall and
    with a vertex on the top level) instead of every face that counts: against a full sort of
    everything added, with ties, empty chunks and chunks without an inside face."""
    from convexnn.atomic_dual_faces import _Kept

    rng = np.random.default_rng(8)
    kept = _Kept(3, 50)
    lams, Us, insides, ats = [], [], [], []
    for size in [0, 7, 400, 1, 120, 900, 3, 0, 250]:
        lam = np.round(rng.random(size), 2)  # ties
        U = rng.standard_normal((size, 3))
        inside = rng.random(size) < (0.0 if size == 3 else 0.3)
        at = np.where(rng.random((size, 1)) < 0.4, -1, rng.integers(0, 30, (size, 2)))
        kept.add(lam, U, inside, at)
        for store, part in zip((lams, Us, insides, ats), (lam, U, inside, at)):
            store.append(part)
    lam, U, inside, at = (np.concatenate(lams), np.vstack(Us), np.concatenate(insides), np.vstack(ats))
    assert kept.lam_max == lam.max()
    for sel, mine in ((inside, np.ones(len(kept.lam), bool)), (inside & (at[:, 0] >= 0), kept.at[:, 0] >= 0)):
        assert np.sum(sel) > 50  # the lists were cut
        np.testing.assert_array_equal(np.sort(kept.lam[mine])[::-1][:50], np.sort(lam[sel])[::-1][:50])
    # every kept entry is one that was added, with its own direction and vertex
    for l, u, a in zip(kept.lam, kept.U, kept.at):
        j = np.flatnonzero(np.all(U == u, axis=1))
        assert len(j) == 1 and lam[j[0]] == l and inside[j[0]] and np.array_equal(at[j[0]], a)


def test_peaks_and_vertices_do_not_depend_on_how_many_faces_are_kept(monkeypatch):
    """σ, its maximiser, the peaks and their vertices with the default kept size and with the
    smallest one (the peaks' own count): the same, since both keep the top of λ."""
    import convexnn.atomic_dual_faces as faces

    rng = np.random.default_rng(21)
    X = rng.standard_normal((40, 4))
    G = rng.standard_normal((40, 3))
    full = relu_dual_norm_faces(X, G, peaks=8)
    real = faces._Kept
    monkeypatch.setattr(faces, "_Kept", lambda r, size: real(r, 32))
    small = relu_dual_norm_faces(X, G, peaks=8)
    assert small.upper == full.upper and small.lower == full.lower
    np.testing.assert_array_equal(small.u, full.u)
    np.testing.assert_array_equal(small.peaks, full.peaks)
    np.testing.assert_array_equal(small.vertices, full.vertices)


def test_tabulated_complements_are_the_direct_ones(monkeypatch):
    """The complements of sets of hyperplanes come from a table computed once per enumeration: the
    same subspaces as a QR of the rows in any order, and the same σ, peaks and vertices as with
    no table at all."""
    import convexnn.atomic_dual_faces as faces
    from convexnn.atomic_dual_faces import _design, _Faces

    rng = np.random.default_rng(31)
    X = np.hstack([rng.integers(0, 4, size=(30, 3)) / 3.0, rng.standard_normal((30, 1)), np.ones((30, 1))])
    G = rng.standard_normal((30, 2))
    H, ap, am, _, _ = _design(X, G)
    F = _Faces(H, ap, am)
    F.tabulate()
    assert sorted(F.tables) == [1, 2, 3]
    for m in (1, 2, 3):
        rows = np.array([rng.choice(F.h, m, replace=False) for _ in range(200)])
        got, want = F.complements(rows), F.basis(F.H[rows])
        np.testing.assert_allclose(got @ np.swapaxes(got, 1, 2), want @ np.swapaxes(want, 1, 2), atol=1e-12)
        np.testing.assert_allclose(np.einsum("kmr,krj->kmj", F.H[rows], got), 0.0, atol=1e-12)
    full = relu_dual_norm_faces(X, G, peaks=16)
    monkeypatch.setattr(faces, "_TABLE_MAX", 0)
    plain = relu_dual_norm_faces(X, G, peaks=16)
    assert plain.cells == full.cells
    assert plain.upper == pytest.approx(full.upper, rel=1e-12) and plain.lower == pytest.approx(full.lower, rel=1e-12)
    np.testing.assert_allclose(plain.peaks, full.peaks, atol=1e-9)


@pytest.mark.parametrize("shape", [(1, 4), (2, 5), (3, 5), (3, 2), (4, 5)])
def test_closed_form_top_eigenpairs_match_lapack(shape):
    # _top2 reads the Gram matrix A Aᵀ entry by entry (closed forms up to 3 × 3): its two largest
    # eigenvalues and top eigenvector against LAPACK's, on random, rank-deficient, zero and
    # repeated-eigenvalue matrices
    from convexnn.atomic_dual_faces import _top2

    rng = np.random.default_rng(sum(shape))
    s, t = shape
    A = rng.standard_normal((400, s, t))
    A[:40] = A[:40, :1]  # equal rows: rank one
    A[40:50] = 0.0  # K = 0: the first unit vector
    A[50:60] = np.eye(s, t)[None] * 2.0  # a repeated top eigenvalue (when s ≤ t)
    A[60:70] = 0.0  # diagonal K with its top in the second place: some candidate vectors vanish
    for i in range(min(s, t)):
        A[60:70, i, i] = np.sqrt([1.0, 5.0, 0.5, 0.25][i])
    l1, l2, W = _top2(A)
    evals, evecs = np.linalg.eigh(np.einsum("kst,kut->ksu", A, A))
    scale = np.maximum(evals[:, -1], 1e-300)
    second = evals[:, -2] if s > 1 else np.zeros(len(A))
    sep = evals[:, -1] - second > 1e-3 * scale
    # where two eigenvalues coincide (λ₁ = λ₂, or rank one: λ₂ = λ₃ = 0) the trigonometric formula
    # gives them to about √ε relative: enough for the separation test (1e-4 relative), and faces
    # whose top eigenvalue is not separated are re-solved by LAPACK; elsewhere to rounding
    assert np.all(np.abs(l1 - evals[:, -1]) <= 1e-6 * scale + 1e-12)
    assert np.all(np.abs(l2 - second) <= 1e-6 * scale + 1e-12)
    assert np.all(np.abs(l1 - evals[:, -1])[sep] <= 1e-12 * scale[sep])
    assert np.allclose(np.linalg.norm(W, axis=1), 1.0)
    if s <= 3:  # the closed forms' choice where K = 0 (LAPACK's above)
        assert np.all(W[40:50, 0] == 1.0)
    K = np.einsum("kst,kut->ksu", A, A)
    resid = np.linalg.norm(np.einsum("ksu,ku->ks", K, W) - l1[:, None] * W, axis=1)
    assert np.all(resid[sep] <= 1e-8 * scale[sep])
    assert np.sum(sep) > 200  # most of them are separated, so the check above has teeth


def test_transposed_violations_are_the_plain_ones():
    from convexnn.atomic_dual_faces import _violation

    rng = np.random.default_rng(2)
    S = rng.standard_normal((500, 16))
    req = rng.integers(-1, 2, size=(500, 16)).astype(np.int8)
    plain, flip = _violation(S, req)
    viol, flip_t = _violation(np.ascontiguousarray(S.T), req.T, axis=0)
    assert np.array_equal(plain, viol) and np.array_equal(flip, flip_t)
    # by hand: the smaller of how far u and −u break the required signs
    RS = req * S
    assert np.array_equal(plain, np.minimum(np.maximum(0, -RS.min(1)), np.maximum(0, RS.max(1))))


def test_both_signs_of_degenerate_vertices_share_their_spans_exactly(monkeypatch):
    # _around batches each degenerate vertex with its opposite, and _degenerate computes each zero
    # set's span once for the two; the faces that count are those of the two signs run apart
    import convexnn.atomic_dual_faces as faces

    rng = np.random.default_rng(11)
    X = rng.integers(-3, 4, size=(30, 4)).astype(float)
    G = rng.standard_normal((30, 2))
    H, ap, am, _, _ = faces._design(X, G)
    F = faces._Faces(H, ap, am)
    seen = []
    batched = faces._degenerate
    monkeypatch.setattr(faces, "_degenerate", lambda F, V, IDX, deadline=None, fixed=None: seen.append((V, IDX)) or
                        batched(F, V, IDX, deadline, fixed))
    relu_dual_norm_faces(X, G)
    V, IDX = max(seen, key=lambda vi: len(vi[0]))
    k = len(V) // 2
    assert len(V) > 4 and np.array_equal(IDX[:k], IDX[k:])
    both = batched(F, V, IDX)
    apart = [batched(F, V[:k], IDX[:k]), batched(F, V[k:], IDX[k:])]
    def rows(lam, U, inside):  # the faces that count, in a fixed order (batches list them by zero set)
        T = np.column_stack([lam, U, inside])
        return T[np.lexsort(T.T[::-1])]

    assert len(both[0]) > 100
    assert np.array_equal(rows(*both), rows(*(np.concatenate([a[j] for a in apart]) for j in range(3))))


def test_the_clock_projects_the_end_from_the_faces_done():
    import time

    from convexnn.atomic_dual_faces import _PROJECT_MARGIN, _Clock

    now = time.perf_counter()
    # 1 s for the first 20 of 100 faces: the other 80 project 4 s, times the margin
    clock = _Clock(now - 1.0, now + 1.0 + 4.0 * _PROJECT_MARGIN + 5.0, 100)
    assert not clock.late(10)  # below _PROJECT_FROM: no projection yet
    assert not clock.late(10)  # the end projected well before the deadline
    tight = _Clock(now - 1.0, now + 1.0 + 4.0 * _PROJECT_MARGIN - 1.0, 100)
    assert not tight.late(10) and tight.late(10)
    assert not _Clock(now - 1.0, None, 100).late(50)  # no deadline, no projection
    late = _Clock(now - 1.0, now + 100.0, 100)
    assert late.late(120) is False  # past the estimate nothing is left to project
    assert late.done == 120


def test_an_enumeration_that_projects_its_end_past_the_limit_gives_up_early(monkeypatch):
    # with a huge margin every projection overruns: the enumeration stops once _PROJECT_FROM of its
    # faces are done, long before its time limit, with the crude (valid) bound and the faces done
    import convexnn.atomic_dual_faces as faces

    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 4))
    G = rng.standard_normal((60, 2))
    exact = relu_dual_norm_faces(X, G)
    monkeypatch.setattr(faces, "_PROJECT_MARGIN", 1e12)
    res = relu_dual_norm_faces(X, G, time_limit=600)
    assert res.status == "time_limit" and res.time_s < 60
    assert faces._PROJECT_FROM * arrangement_face_count(X) <= res.cells < exact.cells
    assert res.upper >= exact.upper
    assert relu_dual_norm_faces(X, G).status == "optimal"  # without a time limit nothing is projected


def test_column_generation_falls_back_to_the_branch_and_bound_when_the_enumeration_gives_up(monkeypatch):
    import convexnn.atomic_dual_faces as faces

    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 3))
    Y = rng.standard_normal((40, 2))
    monkeypatch.setattr(faces, "_PROJECT_MARGIN", 1e12)
    res = atomic_dual_certificate(X, Y, 0.1, time_limit=8.0, oracle="faces", seed=0)
    assert res.lower_bound is not None and res.info["oracle"] == "branch-and-bound"
    problem = TrainingProblem(X, Y, 0.1)
    net = train_lbfgs(problem, width=20, restarts=0, seed=np.random.default_rng(0), max_iter=500)
    assert res.lower_bound <= net.value + 1e-9
    assert res.lower_bound <= res.value + 1e-9
