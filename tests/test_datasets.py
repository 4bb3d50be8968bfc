"""Tests of convexnn.datasets: shipped files, loaders, generators, CSV reading and protocols."""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from convexnn.datasets import (
    Dataset,
    Split,
    dataset_table,
    list_datasets,
    load_csv,
    load_dataset,
    make_random,
    make_spiral,
    prepare,
)
from convexnn.datasets._csv import detect_delimiter
from convexnn.errors import DataError, ParameterError

# Expected SHA-256 values, copied from the provenance README of the raw data.
SHA256 = {
    "Iris.csv": "8d9c2cca7f1b6df826777b3d91a4de3f08ec77adfb088121adc40ee668a02601",
    "ionosphere.data": "46d52186b84e20be52918adb93e8fb9926b34795ff7504c24350ae0616a04bbd",
    "pima-indians-diabetes.csv": "6bfe5d0f379d17a0e0819b996407e3c09bf80febd4287f2ed212190dfff154af",
    "data_banknote_authentication.txt": "d0539aaed2139ba7a587b3e34fb345ce503ff7d5d33dbf9912d8e195ce425cb9",
    "mnist_train_downsampled_pca.csv": "c123e881b7a2580ea76ee5802298e6e237b18d362c63063a5e8dd50e1799102f",
    "mnist_test_downsampled_pca.csv": "ac3f8d45d7efa82f17914e6f84e0fa10aa9decefe6e46294d8e0c2e8240c9bec",
}


def _data_file(name):
    return resources.files("convexnn.datasets").joinpath("data", name)


def _counts(ds_or_y, labels=None):
    y = ds_or_y.y if isinstance(ds_or_y, Dataset) else ds_or_y
    return np.bincount(y, minlength=0 if labels is None else len(labels)).tolist()


def _write(tmp_path, text, name="data.csv", newline="\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode())
    return path


# --------------------------------------------------------------------------- shipped files


@pytest.mark.parametrize("name", sorted(SHA256))
def test_shipped_file_checksum(name):
    digest = hashlib.sha256(_data_file(name).read_bytes()).hexdigest()
    assert digest == SHA256[name]


def test_licence_file_names_every_data_file():
    text = _data_file("LICENSE_AND_CITATION.md").read_text(encoding="utf-8")
    for name, digest in SHA256.items():
        assert name in text and digest in text
    for licence in ("CC BY 4.0", "CC BY-SA 3.0", "NIDDK"):
        assert licence in text


# --------------------------------------------------------------------------- real data sets


def test_iris_shape_labels_and_errata():
    ds = load_dataset("iris")
    assert (ds.n, ds.d, ds.c) == (150, 4, 3)
    assert ds.task == "classification" and ds.n_classes == 3
    assert ds.label_names == ("Iris-setosa", "Iris-versicolor", "Iris-virginica")
    assert _counts(ds) == [50, 50, 50]
    np.testing.assert_array_equal(ds.X[0], [5.1, 3.5, 1.4, 0.2])  # Id column dropped
    np.testing.assert_array_equal(ds.X[-1], [5.9, 3.0, 5.1, 1.8])
    # the shipped UCI file keeps its errata; sklearn's corrected iris differs in rows 35 and 38
    np.testing.assert_array_equal(ds.X[34], [4.9, 3.1, 1.5, 0.1])
    np.testing.assert_array_equal(ds.X[37], [4.9, 3.1, 1.5, 0.1])
    np.testing.assert_array_equal(ds.Y.sum(axis=1), 1.0)
    np.testing.assert_array_equal(ds.Y.argmax(axis=1), ds.y)


def test_ionosphere_all_rows_and_first_row():
    ds = load_dataset("ionosphere")
    assert ds.X.shape == (351, 34) and ds.Y.shape == (351, 2)
    assert ds.label_names == ("b", "g")
    assert _counts(ds) == [126, 225]
    np.testing.assert_allclose(ds.X[0, :6], [1, 0, 0.99539, -0.05889, 0.85243, 0.02306])
    assert ds.label_names[ds.y[0]] == "g"
    assert np.all(ds.X[:, 1] == 0)  # attribute 2 is constant


def test_pima_all_rows_and_first_row():
    ds = load_dataset("pima")
    assert ds.X.shape == (768, 8)
    assert ds.label_names == ("0", "1")
    assert _counts(ds) == [500, 268]
    np.testing.assert_allclose(ds.X[0], [6, 148, 72, 35, 0, 33.6, 0.627, 50])
    assert ds.y[0] == 1
    np.testing.assert_allclose(ds.X[-1], [1, 93, 70, 31, 0, 30.4, 0.315, 23])  # no final newline


def test_banknote_all_rows_and_first_row():
    ds = load_dataset("banknote")
    assert ds.X.shape == (1372, 4)
    assert _counts(ds) == [762, 610]
    np.testing.assert_allclose(ds.X[0], [3.6216, 8.6661, -2.8073, -0.44699])
    assert ds.y[0] == 0
    np.testing.assert_allclose(ds.X[-1], [-2.5419, -0.65804, 2.6842, 1.1952])  # CRLF, no final newline
    assert ds.y[-1] == 1


def test_mnist_pca_train_and_fixed_test():
    ds = load_dataset("mnist-pca")
    assert ds.X.shape == (1000, 20) and ds.X_test.shape == (1000, 20)
    assert ds.Y_test.shape == (1000, 10)
    assert ds.label_names == tuple(str(k) for k in range(10))
    assert ds.feature_names == tuple(f"PC{k}" for k in range(1, 21))
    assert _counts(ds.y) == [100] * 10
    assert _counts(ds.y_test) == [100] * 10
    assert ds.X[0, 0] == pytest.approx(1565.9723545412844) and ds.y[0] == 0
    assert ds.X_test[0, 0] == pytest.approx(1966.159258193808)
    np.testing.assert_allclose(ds.X.mean(axis=0), 0, atol=1e-8)  # PCA fitted on train


def test_sklearn_sets_and_dataset_table():
    table = {row["name"]: row for row in dataset_table()}
    assert list(table) == list_datasets()
    for name, row in table.items():
        assert set(row) == {"name", "n", "d", "c", "task", "source", "n_classes"}
        ds = load_dataset(name.replace(":K", ":7"))
        n = f"{ds.n}+{ds.X_test.shape[0]}" if ds.X_test is not None else ds.n
        assert (row["n"], row["d"], row["c"], row["task"]) == (n, ds.d, ds.c, ds.task), name
        assert row["n_classes"] == ds.n_classes
    assert table["mnist-pca"]["n"] == "1000+1000"
    assert table["diabetes"]["task"] == "regression" and table["diabetes"]["n_classes"] is None
    cancer = load_dataset("breast-cancer")
    assert cancer.label_names == ("malignant", "benign") and _counts(cancer) == [212, 357]


def test_name_resolution_and_errors():
    assert load_dataset("IRIS").name == "iris"
    assert load_dataset("random").name == "random:0"
    np.testing.assert_array_equal(load_dataset("random:0").Y, make_random(0).Y)
    with pytest.raises(DataError, match="iris"):
        load_dataset("irsi")
    with pytest.raises(DataError, match="Did you mean 'ionosphere'"):
        load_dataset("ionosphre")
    for bad in ("random:100", "random:-1", "random:x"):
        with pytest.raises(DataError, match="0..99"):
            load_dataset(bad)
    with pytest.raises(ParameterError):
        load_dataset("iris", task="regression")
    with pytest.raises(ParameterError):
        load_dataset("iris", target=0)
    with pytest.raises(DataError, match="not found"):
        load_dataset("no/such/file.csv")


# --------------------------------------------------------------------------- generators


def test_random_check_values():
    ds = make_random(0)
    assert ds.synthetic and ds.task == "regression" and ds.n_classes is None
    assert ds.X.shape == (25, 2) and ds.Y.shape == (25, 5) and ds.y is ds.Y
    np.testing.assert_allclose(ds.X[0], [0.567943, -0.101638], atol=5e-7)
    np.testing.assert_allclose(ds.Y[0, :2], [2.739310, 2.173415], atol=5e-7)
    losses = [0.5 * np.sum(make_random(k).Y ** 2) for k in range(100)]
    assert np.mean(losses) == pytest.approx(6220.26, abs=0.01)


def test_random_determinism_and_independence():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    a, b = make_random(3), make_random(3)
    assert np.random.rand() == expected  # the global numpy state is untouched
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.Y, b.Y)
    assert not np.allclose(make_random(4).X, a.X)
    assert not np.allclose(make_random(3, seed=101).X, a.X)
    # member k continues the stream after members 0..k-1: check against an explicit draw
    rng = np.random.RandomState(100)
    for _ in range(3):
        rng.randn(2, 100), rng.randn(5, 100), rng.randn(25, 2)
    U, V, X = rng.randn(2, 100), rng.randn(5, 100), rng.randn(25, 2)
    np.testing.assert_allclose(a.Y, np.maximum(X @ U, 0) @ V.T)
    small = make_random(1, n=7, d=3, c=2, width=4)
    assert small.X.shape == (7, 3) and small.Y.shape == (7, 2)
    with pytest.raises(ParameterError):
        make_random(-1)


def test_spiral_check_values_and_determinism():
    ds = make_spiral()
    assert ds.synthetic and ds.task == "classification"
    assert ds.X.shape == (60, 2) and ds.label_names == ("0", "1", "2")
    assert _counts(ds) == [20, 20, 20]
    np.testing.assert_allclose(ds.X[1], [0.006814, 0.025418], atol=5e-7)
    np.testing.assert_array_equal(ds.X[0], [0.0, 0.0])  # r = 0 at the start of each arm
    np.testing.assert_array_equal(make_spiral().X, ds.X)
    assert not np.allclose(make_spiral(seed=7).X, ds.X)
    radii = np.hypot(ds.X[:, 0], ds.X[:, 1])
    np.testing.assert_allclose(radii[:20], np.linspace(0, 1, 20) / 2)


# --------------------------------------------------------------------------- protocols


@pytest.mark.parametrize(
    "name,n_train,n_test", [("iris", 75, 75), ("ionosphere", 175, 176), ("pima", 384, 384), ("banknote", 686, 686)]
)
def test_paper_split_sizes_and_identity_with_sklearn(name, n_train, n_test):
    ds = load_dataset(name)
    sp = prepare(ds, protocol="paper")
    assert isinstance(sp, Split)
    assert (sp.n_train, sp.n_test, sp.seed, sp.standardize) == (n_train, n_test, 42, False)
    Xtr, Xte, Ytr, Yte = train_test_split(ds.X, ds.Y, test_size=0.5, random_state=42)
    np.testing.assert_array_equal(sp.X_train, Xtr)
    np.testing.assert_array_equal(sp.X_test, Xte)
    np.testing.assert_array_equal(sp.Y_train, Ytr)
    np.testing.assert_array_equal(sp.Y_test, Yte)
    assert any("paper protocol" in note for note in sp.notes)
    assert "paper protocol: unstratified 50/50 split, random_state=42" in sp.notes


def test_paper_seed_override():
    a = prepare("iris", protocol="paper", seed=5)
    assert a.seed == 5
    assert not np.array_equal(a.X_train, prepare("iris", protocol="paper").X_train)


def test_paper_mnist_global_scalar_standardisation():
    ds = load_dataset("mnist-pca")
    sp = prepare(ds, protocol="paper", test_size=0.3)
    assert (sp.n_train, sp.n_test) == (1000, 1000)
    mu, sd = ds.X.mean(), ds.X.std()
    np.testing.assert_allclose(sp.X_train, (ds.X - mu) / sd)
    np.testing.assert_allclose(sp.X_test, (ds.X_test - mu) / sd)  # train statistics, not the test std
    assert sp.X_train.mean() == pytest.approx(0, abs=1e-12) and sp.X_train.std() == pytest.approx(1)
    assert any("own std" in note for note in sp.notes)
    assert any("test_size" in note and "ignored" in note for note in sp.notes)
    np.testing.assert_allclose(sp.transform(ds.X_test[:5]), sp.X_test[:5])


def test_default_protocol_standardises_on_train_and_stratifies():
    ds = load_dataset("ionosphere")
    sp = prepare(ds)
    assert (sp.protocol, sp.seed, sp.n_train, sp.n_test) == ("default", 0, 175, 176)
    assert sp.standardize
    raw_tr, raw_te = ds.X[sp.train_index], ds.X[sp.test_index]
    const = raw_tr.std(axis=0) == 0
    assert const.tolist() == [False, True] + [False] * 32
    np.testing.assert_allclose(sp.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(sp.X_train.std(axis=0)[~const], 1)
    np.testing.assert_array_equal(sp.scale[const], 1.0)
    assert np.all(np.isfinite(sp.X_test))
    mean, std = raw_tr.mean(axis=0), raw_tr.std(axis=0)
    std[const] = 1.0
    np.testing.assert_allclose(sp.X_test, (raw_te - mean) / std)
    # stratified: class proportions within one sample of the whole set's
    tr_counts, te_counts = np.bincount(sp.y_train), np.bincount(sp.y_test)
    np.testing.assert_allclose(tr_counts / sp.n_train, [126 / 351, 225 / 351], atol=1 / sp.n_train)
    assert sorted(tr_counts.tolist() + te_counts.tolist()) == sorted([63, 63, 112, 113])
    assert set(sp.train_index) | set(sp.test_index) == set(range(351))
    # deterministic for a seed, different across seeds
    np.testing.assert_array_equal(prepare(ds).X_train, sp.X_train)
    assert not np.array_equal(prepare(ds, seed=1).train_index, sp.train_index)


def test_default_protocol_options():
    ds = load_dataset("pima")
    sp = prepare(ds, test_size=0.25, standardize=False)
    assert (sp.n_train, sp.n_test, sp.mean, sp.scale) == (576, 192, None, None)
    np.testing.assert_array_equal(sp.X_train, ds.X[sp.train_index])
    full = prepare(ds, test_size=0)
    assert full.n_train == 768 and full.n_test == 0
    assert full.X_test is None and full.Y_test is None and full.y_test is None
    reg = prepare("diabetes")
    assert reg.task == "regression" and reg.y_train is reg.Y_train and reg.c == 1


def test_synthetic_sets_are_not_split_or_scaled_by_default():
    for name in ("spiral", "random:2"):
        ds = load_dataset(name)
        for protocol in ("default", "paper"):
            sp = prepare(ds, protocol=protocol)
            assert sp.n_test == 0 and not sp.standardize and sp.mean is None
            np.testing.assert_array_equal(sp.X_train, ds.X)
    sp = prepare("spiral", test_size=0.5, standardize=True)
    assert (sp.n_train, sp.n_test) == (30, 30) and sp.standardize
    assert np.bincount(sp.y_train).tolist() == [10, 10, 10]


def test_bias_column_and_transform():
    ds = load_dataset("iris")
    sp = prepare(ds, bias=True)
    assert sp.d == 5 and sp.feature_names[-1] == "bias"
    np.testing.assert_array_equal(sp.X_train[:, -1], 1.0)
    np.testing.assert_array_equal(sp.X_test[:, -1], 1.0)
    np.testing.assert_allclose(sp.X_train[:, :4].mean(axis=0), 0, atol=1e-12)  # bias added after scaling
    assert sp.mean.shape == (4,)
    np.testing.assert_allclose(sp.transform(ds.X[sp.train_index]), sp.X_train)
    np.testing.assert_allclose(sp.transform(ds.X[sp.test_index]), sp.X_test)
    np.testing.assert_allclose(sp.transform(ds.X[sp.train_index[0]]), sp.X_train[:1])  # one 1-D row
    with pytest.raises(DataError, match="columns"):
        sp.transform(np.ones((2, 5)))
    with pytest.raises(DataError, match="NaN"):
        sp.transform(np.array([[1.0, np.nan, 1.0, 1.0]]))
    raw = prepare(ds, protocol="paper", bias=True)
    np.testing.assert_allclose(raw.transform(ds.X[:3]), np.hstack([ds.X[:3], np.ones((3, 1))]))


def test_prepare_parameter_errors():
    for kwargs in ({"protocol": "papers"}, {"test_size": 1.0}, {"test_size": -0.1}, {"test_size": 2},
                   {"test_size": True}, {"seed": -1}, {"standardize": "yes"}, {"bias": 1}):
        with pytest.raises(ParameterError):
            prepare("iris", **kwargs)


def test_stratify_fallback_and_single_class_training():
    X = np.arange(18, dtype=float).reshape(9, 2)
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2])  # class 2 is too small to stratify
    ds = Dataset("tiny", X, np.eye(3)[y], y, "classification", ("a", "b", "c"), ("u", "v"), "test")
    sp = prepare(ds, test_size=0.5)
    assert (sp.n_train, sp.n_test) == (4, 5)
    assert any("fell back" in note for note in sp.notes)
    assert any("unstratified" in note for note in sp.notes)
    X = X[:6]
    one = Dataset("one", X, np.eye(2)[np.zeros(6, int)], np.zeros(6, int), "classification",
                  ("a", "b"), ("u", "v"), "test")
    with pytest.raises(DataError, match="single class"):
        prepare(one, test_size=0)


# --------------------------------------------------------------------------- CSV files


def test_csv_header_string_labels_and_target_by_name(tmp_path):
    path = _write(tmp_path, "height,label,weight\n1.5,cat,3\n2.5,dog,4\n3.5,cat,5\n4.5,emu,6\n")
    ds = load_dataset(str(path), target="label")
    assert ds.name == str(path) and ds.task == "classification"
    assert ds.feature_names == ("height", "weight")
    assert ds.label_names == ("cat", "dog", "emu")
    np.testing.assert_array_equal(ds.X[0], [1.5, 3])  # the header is not a data row
    assert ds.y.tolist() == [0, 1, 0, 2]
    same = load_csv(path, target=1)
    np.testing.assert_array_equal(same.X, ds.X)
    np.testing.assert_array_equal(load_csv(path, target=-2).Y, ds.Y)
    with pytest.raises(DataError, match="target column 'colour' not found"):
        load_csv(path, target="colour")
    with pytest.raises(DataError, match="not found"):
        load_csv(path, target=3)


def test_csv_without_header_integer_labels(tmp_path):
    path = _write(tmp_path, "1,2,10\n3,4,2\n5,6,10\n")
    ds = load_csv(path)
    assert ds.X.shape == (3, 2) and ds.feature_names == ("col0", "col1")
    assert ds.label_names == ("2", "10")  # numeric labels sorted by value
    assert ds.y.tolist() == [1, 0, 1]


def test_csv_regression_target_and_task_override(tmp_path):
    path = _write(tmp_path, "x,y\n0.1,1.25\n0.2,2.5\n0.3,-0.75\n")
    ds = load_csv(path)
    assert ds.task == "regression" and ds.label_names is None
    np.testing.assert_allclose(ds.Y[:, 0], [1.25, 2.5, -0.75])
    ints = _write(tmp_path, "1,0\n2,1\n3,2\n", name="ints.csv")
    assert load_csv(ints).task == "classification"
    reg = load_csv(ints, task="regression")
    assert reg.task == "regression" and reg.Y.shape == (3, 1)
    with pytest.raises(DataError, match="numeric target"):
        load_csv(_write(tmp_path, "1,a\n2,b\n", name="s.csv"), task="regression")
    with pytest.raises(ParameterError):
        load_csv(ints, task="clustering")


def test_csv_crlf_and_no_trailing_newline(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"a,b,cls\r\n1,2,x\r\n3,4,y\r\n5,6,x")
    ds = load_dataset(str(path))
    assert ds.X.shape == (3, 2) and ds.feature_names == ("a", "b")
    np.testing.assert_array_equal(ds.X[-1], [5, 6])
    assert ds.label_names == ("x", "y")


@pytest.mark.parametrize(
    "text,pattern",
    [
        ("1,2,0\n3,,1\n4,5,0\n", r"missing value \(an empty field\) at line 2, column 'col1'"),
        ("a,b,t\n1,?,0\n2,3,1\n", r"missing value \('\?'\) at line 2, column 'b'"),
        ("1,NA,0\n2,3,1\n", r"missing value \('NA'\) at line 1"),
        ("1,nan,0\n2,3,1\n", "missing value"),
        ("1,2,\n2,3,1\n", "missing target value"),
        ("colour,size,t\nred,1,0\nblue,2,1\n", r"non-numeric feature column 'colour'"),
        ("1,2,0\n3,4,0\n5,6,0\n", "single class"),
        ("", "empty"),
        ("\n\n  \n", "empty"),
        ("a,b,label\n", "no data rows"),
        ("1,2,0\n3,4\n5,6,1\n", "ragged rows: line 2 has 2 fields"),
        ("1\n2\n3\n", "fewer than 2 columns"),
        ("1,inf,0\n2,3,1\n", "infinite"),
    ],
)
def test_csv_errors(tmp_path, text, pattern):
    path = _write(tmp_path, text)
    with pytest.raises(DataError, match=pattern):
        load_csv(path)


_SEPARATED = [[0.5, -1.25, "yes"], [2.0, 3.5, "no"], [-4.0, 0.0, "yes"], [1e-3, 7.0, "no"]]


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
@pytest.mark.parametrize("header", [True, False])
def test_csv_field_separators_are_detected(tmp_path, delim, header):
    """Semicolon-, tab- and bar-separated files read as the comma-separated one does."""
    lines = ([delim.join(["a", "b", "label"])] if header else []) + [
        delim.join(str(v) for v in row) for row in _SEPARATED]
    path = _write(tmp_path, "\n".join(lines) + "\n", newline="\r\n")
    ds = load_csv(path)
    np.testing.assert_array_equal(ds.X, [[r[0], r[1]] for r in _SEPARATED])
    assert ds.label_names == ("no", "yes")
    np.testing.assert_array_equal(ds.y, [1, 0, 1, 0])
    assert ds.feature_names == (("a", "b") if header else ("col0", "col1"))
    assert detect_delimiter(path.read_text()) == delim
    # the same file read with the separator given explicitly
    np.testing.assert_array_equal(load_csv(path, delimiter=delim).X, ds.X)


def test_detect_delimiter_rules():
    # quoted commas and semicolons inside fields do not mislead it
    assert detect_delimiter('"x;1",2,a\n"y;2",3,b\n') == ","
    assert detect_delimiter('"1,5";2;a\n"2,5";3;b\n') == ";"
    # decimal commas in a semicolon-separated file split at commas consistently too
    assert detect_delimiter("1,5;2,5;yes\n2,5;3,5;no\n") == ";"
    assert detect_delimiter("1,5;2;yes\n2,5;3;no\n") == ";"
    # ... but a comma-separated file whose labels hold a semicolon stays comma-separated
    assert detect_delimiter("1,2,a;b\n3,4,c;d\n") == ","
    # nothing consistent: the comma, whose parser error then names the ragged line
    assert detect_delimiter("1,2,0\n3,4\n") == ","
    assert detect_delimiter("1\n2\n") == ","
    # a ragged semicolon-separated file is still read as one, and its ragged line is named
    assert detect_delimiter("a;b;c\n1;2;x\n3;y\n") == ";"
    with pytest.raises(ParameterError, match="delimiter must be one of"):
        load_csv("unused.csv", delimiter=" ")


def test_csv_ragged_semicolon_file_names_its_line(tmp_path):
    path = _write(tmp_path, "a;b;label\n1;2;x\n3;4;y\n5;z\n")
    with pytest.raises(DataError, match="line 4 has 2 fields but line 1 has 3; .* semicolon-separated"):
        load_csv(path)


def test_csv_decimal_commas_get_their_own_error(tmp_path):
    path = _write(tmp_path, "a;b;label\n0,5;1,25;x\n2,0;3,5;y\n")
    with pytest.raises(DataError, match=r"line 2, column 'a' \(index 0\) holds '0,5', a number with a decimal comma"):
        load_csv(path)
    # without a header: the first row is data, and the same error names line 1
    path = _write(tmp_path, "0,5;1,25;x\n2,0;3,5;y\n", name="nohead.csv")
    with pytest.raises(DataError, match="line 1, column 'col0'.*decimal comma"):
        load_csv(path)


def test_test_file_may_use_another_separator(tmp_path):
    train = _write(tmp_path, "f1,f2,kind\n0,0,b\n1,1,a\n0,1,b\n1,0,a\n", name="train.csv")
    test = _write(tmp_path, "f1\tf2\tkind\n5\t6\ta\n", name="test.tsv")
    sp = prepare(str(train), test_path=str(test))
    raw = np.array([[0, 0], [1, 1], [0, 1], [1, 0]], dtype=float)
    np.testing.assert_allclose(sp.X_test, (np.array([[5, 6]]) - raw.mean(0)) / raw.std(0))
    assert not any(n.startswith("warning:") for n in sp.notes)


def test_csv_file_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_csv(tmp_path / "absent.csv")
    with pytest.raises(DataError, match="directory"):
        load_csv(tmp_path)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81,1\n")
    with pytest.raises(DataError, match="UTF-8"):
        load_csv(binary)
    headerless = _write(tmp_path, "1,2,0\n3,4,1\n", name="nohead.csv")
    with pytest.raises(DataError, match="no header row"):
        load_csv(headerless, target="label")


def test_test_path_route(tmp_path):
    train = _write(tmp_path, "f1,f2,kind\n0,0,b\n1,1,a\n0,1,b\n1,0,a\n2,2,a\n", name="train.csv")
    test = _write(tmp_path, "f1,f2,kind\n5,5,a\n6,6,a\n", name="test.csv")
    sp = prepare(str(train), test_path=str(test))
    assert (sp.n_train, sp.n_test, sp.label_names) == (5, 2, ("a", "b"))
    np.testing.assert_array_equal(sp.y_test, [0, 0])  # one class in the test file is fine
    np.testing.assert_array_equal(sp.Y_test, [[1, 0], [1, 0]])
    raw = np.array([[0, 0], [1, 1], [0, 1], [1, 0], [2, 2]], dtype=float)
    np.testing.assert_allclose(sp.X_test, (np.array([[5, 5], [6, 6]]) - raw.mean(0)) / raw.std(0))
    assert any("test.csv" in note for note in sp.notes)
    unseen = _write(tmp_path, "f1,f2,kind\n5,5,z\n", name="unseen.csv")
    with pytest.raises(DataError, match="'z'.*does not occur"):
        prepare(str(train), test_path=str(unseen))
    wide = _write(tmp_path, "f1,f2,f3,kind\n5,5,5,a\n", name="wide.csv")
    with pytest.raises(DataError, match=r"3 feature columns \(f1, f2, f3\) but .* has 2 \(f1, f2\)"):
        prepare(str(train), test_path=str(wide))
    # the same columns in another order would be mixed up by position matching: refused
    swapped = _write(tmp_path, "f2,f1,kind\n5,6,a\n", name="swapped.csv")
    with pytest.raises(DataError, match="in another order: 'f2' where .* has 'f1'"):
        prepare(str(train), test_path=str(swapped))
    # other names are matched by position, with a warning note (the CLI prints it)
    renamed = _write(tmp_path, "g1,g2,kind\n5,6,a\n", name="renamed.csv")
    sp3 = prepare(str(train), test_path=str(renamed))
    assert [n for n in sp3.notes if n.startswith("warning:")] == [
        f"warning: the column names of CSV file {str(renamed)!r} differ from those of {str(train)!r} "
        "(matched by position)"]
    np.testing.assert_allclose(sp3.X_test, (np.array([[5, 6]]) - raw.mean(0)) / raw.std(0))
    assert not any(n.startswith("warning:") for n in sp.notes)
    # a named target column is looked up again in the test file
    named = load_csv(_write(tmp_path, "kind,f1,f2\nb,0,0\na,1,1\nb,0,1\n", name="t2.csv"), target="kind")
    sp2 = prepare(named, test_path=_write(tmp_path, "kind,f1,f2\na,3,3\n", name="t2test.csv"))
    assert sp2.y_test.tolist() == [0] and sp2.n_train == 3


def test_prepare_standardizes_regression_targets_with_training_statistics():
    ds = load_dataset("diabetes")
    sp = prepare(ds, standardize_target=True)
    y_tr, y_te = ds.Y[sp.train_index], ds.Y[sp.test_index]
    mu, sd = y_tr.mean(0), y_tr.std(0)
    np.testing.assert_allclose(sp.Y_train, (y_tr - mu) / sd, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(sp.Y_test, (y_te - mu) / sd, rtol=1e-13, atol=1e-13)  # training statistics
    np.testing.assert_allclose(sp.original_targets(sp.Y_test), y_te, rtol=1e-13)
    assert sp.y_train is sp.Y_train
    assert any(n.startswith(f"regression targets standardised (mean {mu[0]:.3g} and standard deviation "
                            f"{sd[0]:.3g}") for n in sp.notes)
    # without it: the targets as given, and a warning note about their scale
    plain = prepare(ds)
    np.testing.assert_array_equal(plain.Y_train, y_tr)
    np.testing.assert_array_equal(plain.original_targets(plain.Y_train), y_tr)
    assert plain.target_mean is None
    assert [n for n in plain.notes if n.startswith("warning:")][0].startswith(
        f"warning: the regression targets have mean {mu[0]:.3g} and standard deviation {sd[0]:.3g}")
    # targets near unit scale (the random teacher sets: std 3.5-12) get no warning
    assert not any(n.startswith("warning:") for n in prepare("random:0").notes)
    # a constant target column is only centred
    Y = np.column_stack([np.arange(10.0), np.full(10, 7.0)])
    const = prepare(Dataset(name="c", X=np.arange(20.0).reshape(10, 2), Y=Y, y=Y, task="regression",
                            label_names=None, feature_names=("a", "b"), source="test"),
                    test_size=0, standardize_target=True)
    np.testing.assert_allclose(const.Y_train[:, 1], 0.0)
    np.testing.assert_allclose(const.original_targets(const.Y_train), Y)
    with pytest.raises(ParameterError, match="standardize_target applies to regression targets"):
        prepare("iris", standardize_target=True)
    with pytest.raises(ParameterError, match="standardize_target"):
        prepare(ds, standardize_target="yes")
