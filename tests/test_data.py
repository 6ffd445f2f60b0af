import gzip
import io
import urllib.error

import numpy as np
import pytest

from digitlab import data
from tests.helpers import csv_text, idx_bytes, random_digits, write_idx_pair

SAMPLE_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ------------------------------------------------------------ bundled sample and official test set


def test_sample_shape_dtype_counts():
    ds = data.load_sample()
    assert ds.images.shape == (10000, 28, 28) and ds.images.dtype == np.uint8
    assert ds.labels.shape == (10000,) and ds.labels.dtype == np.int64
    assert ds.class_counts() == SAMPLE_COUNTS
    assert ds.images.max() == 255 and ds.images.min() == 0
    # shuffled once at build time: the first 1000 hold every class
    assert len(set(ds.labels[:1000].tolist())) == 10
    assert not ds.images.flags.writeable  # shared read-only by every session


def test_official_test_set(shared_data):
    ds = data.load_idx(shared_data / "t10k-images-idx3-ubyte.gz")
    assert len(ds) == 10000 and ds.images.shape == (10000, 28, 28)
    assert ds.class_counts() == TEST_COUNTS
    assert data.load(str(shared_data)).class_counts() == TEST_COUNTS  # the folder form


# ------------------------------------------------------------ Kaggle CSV


def test_kaggle_train_csv_roundtrip(tmp_path):
    x, y = random_digits(25)
    p = tmp_path / "train.csv"
    p.write_text(csv_text(x, y))
    ds = data.load_kaggle_csv(p)
    assert np.array_equal(ds.images, x) and np.array_equal(ds.labels, y)
    # write_kaggle_csv gives the same file back
    buf = io.StringIO()
    data.write_kaggle_csv(ds, buf)
    assert data.load_kaggle_csv(buf.getvalue().encode()).images.tobytes() == x.tobytes()


def test_kaggle_test_csv_has_no_labels(tmp_path):
    x, _ = random_digits(7)
    p = tmp_path / "test.csv"
    p.write_text(csv_text(x))
    ds = data.load_kaggle_csv(p)
    assert not ds.has_labels and ds.labels is None and len(ds) == 7
    assert np.array_equal(ds.images, x)
    assert ds.class_counts() == [0] * 10


def test_kaggle_csv_from_upload_like_object():
    x, y = random_digits(3)
    f = io.BytesIO(csv_text(x, y).encode())
    f.name = "upload.csv"
    assert len(data.load_kaggle_csv(f)) == 3


def _csv_with(tmp_path, edit):
    x, y = random_digits(4)
    lines = csv_text(x, y).splitlines()
    lines = edit(lines)
    p = tmp_path / "bad.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def _set_cell(lines, row, col, value):
    cells = lines[row].split(",")
    cells[col] = value
    lines[row] = ",".join(cells)
    return lines


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda L: [",".join(L[0].split(",")[:100])] + L[1:], "header has 100 columns"),
        (lambda L: [L[0].replace("pixel5,", "pixelfive,")] + L[1:], "'pixelfive'"),
        (lambda L: [L[0].replace("label", "digit")] + L[1:], "'digit'"),
        (lambda L: _set_cell(L, 2, 10, "abc"), "not a number"),
        (lambda L: _set_cell(L, 2, 10, ""), "empty or NaN"),
        (lambda L: _set_cell(L, 3, 20, "nan"), "empty or NaN"),
        (lambda L: _set_cell(L, 1, 5, "256"), "0-255"),
        (lambda L: _set_cell(L, 1, 5, "-1"), "0-255"),
        (lambda L: _set_cell(L, 1, 5, "12.5"), "0-255"),
        (lambda L: _set_cell(L, 2, 0, "10"), "labels must be digits"),
        (lambda L: _set_cell(L, 2, 0, "-3"), "labels must be digits"),
        (lambda L: L[:2] + [",".join(L[2].split(",")[:-1])] + L[3:], "row 3 has 784 cells"),
        (lambda L: L[:1], "no rows"),
    ],
)
def test_kaggle_csv_bad_input(tmp_path, edit, message):
    p = _csv_with(tmp_path, edit)
    with pytest.raises(data.CSVFormatError, match=message):
        data.load_kaggle_csv(p)


def test_csv_empty_file(tmp_path):
    p = tmp_path / "empty.csv"
    p.write_text("")
    with pytest.raises(data.DataError, match="empty"):
        data.load_kaggle_csv(p)


def test_csv_size_limit(tmp_path):
    x, y = random_digits(5)
    p = tmp_path / "big.csv"
    p.write_text(csv_text(x, y))
    with pytest.raises(data.FileTooLargeError, match="limit"):
        data.load_kaggle_csv(p, max_bytes=1000)
    f = io.BytesIO(p.read_bytes())
    with pytest.raises(data.FileTooLargeError):
        data.load_kaggle_csv(f, max_bytes=1000)


# ------------------------------------------------------------ IDX


@pytest.mark.parametrize("gz", [True, False])
def test_idx_pair_by_path_and_folder(tmp_path, gz):
    x, y = random_digits(12)
    xi, yi = write_idx_pair(tmp_path, x, y, gz=gz)
    for ds in (data.load_idx(xi), data.load_idx(xi, yi), data.load(str(tmp_path)), data.load(str(xi))):
        assert np.array_equal(ds.images, x) and np.array_equal(ds.labels, y)


def test_idx_from_bytes():
    x, y = random_digits(5)
    ds = data.load_idx(gzip.compress(idx_bytes(x)), idx_bytes(y.astype(np.uint8)))
    assert np.array_equal(ds.images, x)


def test_idx_truncated(tmp_path):
    x, y = random_digits(6)
    raw = idx_bytes(x)[:-100]
    with pytest.raises(data.IDXFormatError, match="truncated"):
        data.load_idx(raw, idx_bytes(y.astype(np.uint8)))


def test_idx_corrupt_gzip():
    x, y = random_digits(6)
    gz = bytearray(gzip.compress(idx_bytes(x)))
    gz[len(gz) // 2 :] = b"\x00" * (len(gz) - len(gz) // 2)
    with pytest.raises(data.IDXFormatError, match="gzip"):
        data.load_idx(bytes(gz), idx_bytes(y.astype(np.uint8)))
    with pytest.raises(data.IDXFormatError, match="gzip"):
        data.parse_idx(gzip.compress(idx_bytes(x))[:40])  # cut short


def test_idx_wrong_magic():
    x, y = random_digits(3)
    raw = bytearray(idx_bytes(x))
    raw[2] = 0x0D  # float32 type code: not MNIST
    with pytest.raises(data.IDXFormatError, match="magic"):
        data.load_idx(bytes(raw), idx_bytes(y.astype(np.uint8)))
    with pytest.raises(data.IDXFormatError, match="magic"):
        data.parse_idx(b"PK\x03\x04 not an idx file")


def test_idx_swapped_files():
    x, y = random_digits(3)
    with pytest.raises(data.IDXFormatError, match="labels file"):
        data.load_idx(idx_bytes(y.astype(np.uint8)), idx_bytes(x))


def test_idx_count_mismatch():
    x, y = random_digits(8)
    with pytest.raises(data.DataError, match="8 images but .* 5 labels"):
        data.load_idx(idx_bytes(x), idx_bytes(y[:5].astype(np.uint8)))


def test_idx_label_out_of_range():
    x, _ = random_digits(3)
    with pytest.raises(data.IDXFormatError, match="not a digit"):
        data.load_idx(idx_bytes(x), idx_bytes(np.array([1, 2, 12], np.uint8)))


def test_idx_wrong_image_size():
    with pytest.raises(data.IDXFormatError, match="28x28"):
        data.parse_idx(idx_bytes(np.zeros((2, 32, 32), np.uint8)))


def test_idx_missing_labels_file(tmp_path):
    x, y = random_digits(3)
    xi, yi = write_idx_pair(tmp_path, x, y)
    yi.unlink()
    with pytest.raises(data.DataError, match="no labels file"):
        data.load_idx(xi)


def test_idx_size_limit(tmp_path):
    x, y = random_digits(20)
    xi, _ = write_idx_pair(tmp_path, x, y, gz=False)
    with pytest.raises(data.FileTooLargeError):
        data.load_idx(xi, max_bytes=5000)


def test_folder_with_two_pairs_is_ambiguous(tmp_path):
    x, y = random_digits(3)
    write_idx_pair(tmp_path, x, y, prefix="t10k")
    write_idx_pair(tmp_path, x, y, prefix="train")
    with pytest.raises(data.DataError, match="several"):
        data.load(str(tmp_path))


def test_load_unknown_source(tmp_path):
    with pytest.raises(data.DataError, match="no such file"):
        data.load(str(tmp_path / "nope.csv"))
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(data.DataError, match="not a .csv, .npz or IDX"):
        data.load(str(tmp_path / "x.json"))


# ------------------------------------------------------------ full MNIST, offline


def test_mnist_offline_fails_fast(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("DIGITLAB_OFFLINE", "1")
    with pytest.raises(data.MNISTUnavailableError, match="offline"):
        data.load("mnist")


def test_mnist_no_network_gives_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def refuse(url, timeout):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(data, "_download", refuse)
    with pytest.raises(data.MNISTUnavailableError, match="could not be downloaded"):
        data.load_mnist(offline=False)


def test_mnist_bad_checksum_is_not_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(data, "_download", lambda url, timeout: b"not mnist")
    with pytest.raises(data.MNISTUnavailableError, match="checksum"):
        data.load_mnist(offline=False)
    assert not data.mnist_cache_path().exists()


def test_mnist_from_keras_cache(monkeypatch, tmp_path):
    """A cached mnist.npz (as keras.datasets.mnist leaves it) loads with no network."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("DIGITLAB_OFFLINE", "1")
    x, y = random_digits(20)
    path = data.mnist_cache_path()
    path.parent.mkdir(parents=True)
    np.savez(path, x_train=x, y_train=y.astype(np.uint8), x_test=x[:5], y_test=y[:5].astype(np.uint8))
    tr, te = data.load_mnist("train"), data.load_mnist("test")
    assert len(tr) == 20 and len(te) == 5 and np.array_equal(tr.images, x)


# ------------------------------------------------------------ splits and helpers


def test_stratified_split_is_seeded_disjoint_and_balanced():
    ds = data.load_sample()
    tr, va = data.stratified_split(ds, 0.2, seed=3)
    assert len(tr) + len(va) == len(ds)
    assert abs(len(va) - 2000) <= 10
    for c in range(10):
        share = va.class_counts()[c] / ds.class_counts()[c]
        assert abs(share - 0.2) < 0.01
    tr2, va2 = data.stratified_split(ds, 0.2, seed=3)
    assert np.array_equal(va.labels, va2.labels) and np.array_equal(va.images, va2.images)
    _, va3 = data.stratified_split(ds, 0.2, seed=4)
    assert not np.array_equal(va.images, va3.images)
    # disjoint: no training image equals a validation image by index identity
    keys_tr = {x.tobytes() for x in tr.images[:2000]}
    assert sum(x.tobytes() in keys_tr for x in va.images) < 5  # MNIST has a few exact duplicates at most


def test_split_rejects_bad_fraction_and_unlabelled():
    ds = data.load_sample()
    with pytest.raises(data.DataError):
        data.stratified_split(ds, 1.5)
    unl = data.Dataset(ds.images[:10], None, "u", "test")
    with pytest.raises(data.DataError):
        data.stratified_split(unl)


def test_binary_subset_and_scaling():
    ds = data.load_sample()
    b = data.binary_subset(ds)
    assert set(np.unique(b.labels)) == {0, 1}
    assert len(b) == SAMPLE_COUNTS[0] + SAMPLE_COUNTS[1]
    f = data.to_float(b.images[:3])
    assert f.dtype == np.float32 and f.max() <= 1.0 and f.min() >= 0.0
    assert np.isclose(f.max(), 1.0)
    assert data.flatten(b.images[:3]).shape == (3, 784)
    oh = data.one_hot(np.array([0, 3, 9]))
    assert oh.shape == (3, 10) and oh.sum() == 3 and oh[1, 3] == 1


def test_dataset_validates_itself():
    with pytest.raises(data.DataError):
        data.Dataset(np.zeros((2, 28, 28), np.float32), None, "x", "y")
    with pytest.raises(data.DataError):
        data.Dataset(np.zeros((2, 28, 28), np.uint8), np.array([1, 2, 3]), "x", "y")


def test_npz_roundtrip_and_fingerprint(tmp_path):
    x, y = random_digits(9)
    ds = data.Dataset(x, y, "mine", "test")
    p = data.save_npz(ds, tmp_path / "d.npz")
    back = data.load(str(p))
    assert np.array_equal(back.images, x) and np.array_equal(back.labels, y) and back.name == "mine"
    assert data.fingerprint(back) == data.fingerprint(ds)
    assert data.fingerprint(ds.subset(np.arange(8))) != data.fingerprint(ds)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(data.DataError, match="not a DigitLab dataset"):
        data.load(str(tmp_path / "bad.npz"))
