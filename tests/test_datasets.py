"""Datasets: IDX parsing (MNIST / Fashion-MNIST layout, raw and gz), splits, encodings, normalization."""
import gzip
import struct

import numpy as np
import pytest

from fastnn import datasets

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array, code=0x08, big_endian_dtype=">u1"):
    """An IDX file written by hand (independently of the reader): header, big-endian dims, data."""
    array = np.asarray(array)
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(big_endian_dtype).tobytes()


def write_set(directory, n_train=12, n_test=5, rows=28, cols=28, gz=False, seed=0):
    """Four tiny MNIST-layout files (every class present once n >= 10); returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = (rng.integers(0, 256, (n_train, rows, cols)), rng.permutation(np.arange(n_train) % 10),
              rng.integers(0, 256, (n_test, rows, cols)), rng.permutation(np.arange(n_test) % 10))
    for name, a in zip(FILES, arrays):
        data = idx_bytes(a)
        if gz:
            (directory / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (directory / name).write_bytes(data)
    return arrays


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("loader", [datasets.mnist, datasets.fashion_mnist])
def test_mnist_layout_is_read_scaled_and_shaped(tmp_path, gz, loader):
    xtr, ytr, xte, yte = write_set(tmp_path, gz=gz)
    (x_train, y_train), (x_test, y_test) = loader(tmp_path)
    assert x_train.shape == (12, 28, 28, 1) and x_test.shape == (5, 28, 28, 1)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_allclose(x_train[..., 0], xtr / 255.0, rtol=1e-6)
    np.testing.assert_allclose(x_test[..., 0], xte / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_train, ytr)
    np.testing.assert_array_equal(y_test, yte)
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0

    (flat, _), (flat_test, _) = loader(str(tmp_path), flatten=True)
    assert flat.shape == (12, 784) and flat_test.shape == (5, 784)
    np.testing.assert_array_equal(flat, x_train.reshape(12, -1))


def test_read_idx_handles_every_type_code_big_endian(tmp_path):
    values = np.array([[1, -2, 300], [70000, -5, 6]])
    for code, dt in ((0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8"), (0x09, ">i1"), (0x08, ">u1")):
        v = values.astype(dt)  # wraps where the type is narrow, as the file would
        (tmp_path / "a").write_bytes(idx_bytes(v, code, dt))
        out = datasets.read_idx(tmp_path / "a")
        assert out.dtype == np.dtype(dt).newbyteorder("=") and out.shape == (2, 3)
        np.testing.assert_array_equal(out, v)
    # a multi-byte value must come out big-endian: bytes 01 02 as int16 are 258, not 513
    (tmp_path / "b").write_bytes(bytes([0, 0, 0x0B, 1, 0, 0, 0, 1, 1, 2]))
    assert datasets.read_idx(tmp_path / "b").tolist() == [258]


@pytest.mark.parametrize("mangle, message", [
    (lambda b: b"\x01\x00" + b[2:], "not an IDX file"),
    (lambda b: b[:2] + b"\x42" + b[3:], "unknown IDX data type code 0x42"),
    (lambda b: b[:3] + b"\x00" + b[4:], "0 dimensions"),
    (lambda b: b[:6], "truncated IDX header"),
    (lambda b: b[:-1], "IDX data truncated"),
    (lambda b: b + b"\x00", "trailing bytes"),
    (lambda b: b[:2], "truncated IDX header"),
])
def test_corrupt_idx_files_raise_value_error(tmp_path, mangle, message):
    good = idx_bytes(np.arange(24).reshape(2, 3, 4))
    (tmp_path / "f").write_bytes(mangle(good))
    with pytest.raises(ValueError, match=message):
        datasets.read_idx(tmp_path / "f")


def test_corrupt_gzip_raises_value_error(tmp_path):
    data = gzip.compress(idx_bytes(np.arange(100)))
    (tmp_path / "f.gz").write_bytes(data[:-12])
    with pytest.raises(ValueError, match="corrupt gzip"):
        datasets.read_idx(tmp_path / "f.gz")


def test_missing_files_say_which_where_and_from_where(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        datasets.mnist(tmp_path)
    msg = str(e.value)
    assert all(name in msg for name in FILES) and str(tmp_path) in msg and "lecun.com" in msg
    write_set(tmp_path)
    (tmp_path / FILES[3]).unlink()
    with pytest.raises(FileNotFoundError, match=f"missing {FILES[3]} in"):
        datasets.fashion_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="zalando"):
        datasets.fashion_mnist(tmp_path)


def test_inconsistent_files_are_rejected(tmp_path):
    write_set(tmp_path)
    (tmp_path / FILES[1]).write_bytes(idx_bytes(np.zeros(11)))
    with pytest.raises(ValueError, match="11 labels for 12 images"):
        datasets.mnist(tmp_path)
    (tmp_path / FILES[1]).write_bytes(idx_bytes(np.full(12, 10)))
    with pytest.raises(ValueError, match="labels must lie in 0-9"):
        datasets.mnist(tmp_path)
    write_set(tmp_path)
    (tmp_path / FILES[2]).write_bytes(idx_bytes(np.zeros((5, 28 * 28))))
    with pytest.raises(ValueError, match=r"expected uint8 images of shape \(n, rows, cols\)"):
        datasets.mnist(tmp_path)
    with pytest.raises(TypeError, match="path:"):
        datasets.mnist(3)


def test_train_test_split_is_stratified_and_seeded():
    x = np.arange(100).reshape(50, 2)
    y = np.array([0] * 40 + [1] * 10)
    (a, ya), (b, yb) = datasets.train_test_split(x, y, 0.2, seed=3)
    assert len(b) == 10 and (yb == 1).sum() == 2 and (yb == 0).sum() == 8
    assert sorted(np.concatenate([a[:, 0], b[:, 0]]).tolist()) == list(range(0, 100, 2))
    (a2, _), _ = datasets.train_test_split(x, y, 0.2, seed=3)
    np.testing.assert_array_equal(a, a2)
    with pytest.raises(ValueError, match="test_fraction"):
        datasets.train_test_split(x, y, 1.0)
    _, (_, yhb) = datasets.train_test_split(x, np.eye(2)[y], 0.2, seed=3)  # one-hot: stratified too
    assert yhb[:, 1].sum() == 2 and len(yhb) == 10


def test_train_test_split_of_classes_too_small_to_stratify_is_one_pool():
    """100 classes of one sample (or 50 of two) each round to no test sample: split them as one pool."""
    x = np.arange(100.0)[:, None]
    for y in (np.arange(100), np.repeat(np.arange(50), 2)):
        (a, _), (b, _) = datasets.train_test_split(x, y, 0.25, seed=0)
        assert len(b) == 25 and len(a) == 75


def test_train_test_split_of_regression_targets_is_one_pool():
    """Continuous targets are no classes: stratifying them would leave the test part empty."""
    x = np.arange(100.0)[:, None]
    (a, ya), (b, yb) = datasets.train_test_split(x, np.sin(x[:, 0]), 0.25, seed=1)
    assert len(b) == 25 and len(a) == 75
    np.testing.assert_array_equal(yb, np.sin(b[:, 0]))


def test_to_categorical():
    np.testing.assert_array_equal(datasets.to_categorical([0, 2], 3), [[1, 0, 0], [0, 0, 1]])
    assert datasets.to_categorical([1, 3]).shape == (2, 4)
    with pytest.raises(ValueError, match="y: labels must lie"):
        datasets.to_categorical([0, 3], 3)
    # Keras' shapes: labels of shape s give s + (C,), after dropping a trailing axis of 1.
    assert datasets.to_categorical([[0, 1], [2, 0]], 3).shape == (2, 2, 3)
    assert datasets.to_categorical(np.array([[1], [0]])).shape == (2, 2)
    assert datasets.to_categorical([], 3).shape == (0, 3)
    with pytest.raises(ValueError, match="num_classes: needed for empty labels"):
        datasets.to_categorical([])


def test_standardizer_modes_fit_on_train_and_apply_to_test(rng):
    x_train = rng.normal(5.0, 3.0, (200, 4, 4, 2))
    x_train[:, 0, 0, :] = 7.0  # a constant pixel: centered, not divided by ~0
    x_test = rng.normal(5.0, 3.0, (30, 4, 4, 2))

    s = datasets.Standardizer().fit(x_train)
    z = s.transform(x_train)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z[:, 1:].std(axis=0), 1, rtol=1e-12)
    np.testing.assert_allclose(s.transform(x_test), (x_test - x_train.mean(0)) / s.std)  # train statistics, not test's
    assert np.abs(s.transform(x_test)[:, 0, 0]).max() < 20  # constant train pixel: std replaced by 1
    np.testing.assert_allclose(s.inverse_transform(s.transform(x_test)), x_test)

    m = datasets.MeanImageSubtractor().fit(x_train)
    np.testing.assert_allclose(m.transform(x_test), x_test - x_train.mean(axis=0))
    assert datasets.Standardizer(mode="mean_image").fit(x_train).transform(x_test).tolist() == m.transform(x_test).tolist()

    g = datasets.Standardizer(mode="global").fit(x_train)
    zg = g.transform(x_train)
    np.testing.assert_allclose(zg.mean(axis=0), 0, atol=1e-12)
    assert abs(zg.std() - 1) < 1e-12 and np.ptp(g.std) == 0

    c = datasets.Standardizer(mode="per_channel").fit(x_train)
    zc = c.transform(x_train)
    assert c.mean.shape == (2,)
    np.testing.assert_allclose(zc.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(zc.std(axis=(0, 1, 2)), 1, rtol=1e-12)

    assert datasets.Standardizer(per_feature=False).mode == "global"
    assert s.transform(np.ones((1, 4, 4, 2), np.float32)).dtype == np.float32
    assert s.transform(np.ones((1, 4, 4, 2), np.uint8)).dtype == np.float32


def test_standardizer_errors():
    with pytest.raises(ValueError, match="mode: expected one of"):
        datasets.Standardizer(mode="whiten")
    with pytest.raises(RuntimeError, match="fit"):
        datasets.Standardizer().transform(np.ones((2, 3)))
    s = datasets.Standardizer().fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"x: expected samples of shape \(3,\)"):
        s.transform(np.ones((2, 4)))
    with pytest.raises(ValueError, match="per_channel"):
        datasets.Standardizer(mode="per_channel").fit(np.ones((4, 3)))


def test_digits_shapes():
    pytest.importorskip("sklearn")
    (x, y), (xt, yt) = datasets.digits()
    assert x.shape[1:] == (64,) and len(x) + len(xt) == 1797 and y.dtype == np.int64
    (x4, _), _ = datasets.digits(flatten=False)
    assert x4.shape[1:] == (8, 8, 1) and 0 <= x4.min() and x4.max() <= 1


def test_load_by_name(tmp_path):
    write_set(tmp_path, gz=True)
    (x, y), _ = datasets.load(f"mnist:{tmp_path}")
    assert x.shape == (12, 28, 28, 1)
    (x, _), _ = datasets.load(f"fashion-mnist:{tmp_path}", flatten=True)
    assert x.shape == (12, 784)
    for bad in ("cifar", "mnist", "digits:x", "mnist:"):
        with pytest.raises(ValueError, match="dataset: expected 'digits'"):
            datasets.load(bad)
    with pytest.raises(FileNotFoundError, match="MNIST: missing"):
        datasets.load(f"mnist:{tmp_path / 'nowhere'}")


# -- Keras' mnist.load_data() -------------------------------------------------------

def _load_quietly(monkeypatch, tmp_path, **env):
    """``mnist.load_data()`` with only the given environment (Keras' cache pointed into ``tmp_path``)."""
    for name in ("FASTNN_EXAMPLES_SMALL", "FASTNN_MNIST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return datasets.mnist.load_data()


def test_load_data_reads_idx_files_as_keras_arrays(tmp_path, monkeypatch):
    xtr, ytr, xte, yte = write_set(tmp_path, n_train=20, n_test=10, gz=True)
    (x_train, y_train), (x_test, y_test) = _load_quietly(monkeypatch, tmp_path, FASTNN_MNIST=str(tmp_path))
    assert x_train.dtype == np.uint8 and x_train.shape == (20, 28, 28) and y_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train, xtr)
    np.testing.assert_array_equal(y_train, ytr)
    np.testing.assert_array_equal(x_test, xte)
    np.testing.assert_array_equal(y_test, yte)


def test_load_data_reads_keras_cached_npz(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), "y_train": np.arange(6, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), "y_test": np.arange(3, dtype=np.uint8)}
    (tmp_path / "keras_home" / "datasets").mkdir(parents=True)
    np.savez(tmp_path / "keras_home" / "datasets" / "mnist.npz", **arrays)
    (x_train, y_train), (x_test, y_test) = _load_quietly(monkeypatch, tmp_path)
    for got, name in ((x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test"), (y_test, "y_test")):
        np.testing.assert_array_equal(got, arrays[name])
    np.savez(tmp_path / "other.npz", x_train=arrays["x_train"])
    with pytest.raises(ValueError, match="other.npz: not Keras' mnist.npz"):
        datasets.mnist.load_data(str(tmp_path / "other.npz"))


@pytest.mark.parametrize("small", [True, False], ids=["asked", "nothing cached"])
def test_load_data_stand_in_is_the_digits_in_mnist_form(tmp_path, monkeypatch, small):
    pytest.importorskip("sklearn")
    env = {"FASTNN_EXAMPLES_SMALL": "1"} if small else {}
    with pytest.warns(UserWarning, match="using scikit-learn's 8x8 digits scaled up to 28x28"):
        (x_train, y_train), (x_test, y_test) = _load_quietly(monkeypatch, tmp_path, **env)
    assert x_train.shape == (1347, 28, 28) and x_test.shape == (450, 28, 28) and x_train.dtype == np.uint8
    (d_train, dy_train), _ = datasets.digits(flatten=False)
    # each 8x8 pixel is a 3x3 block inside a 2-pixel border; the labels are the digits'
    np.testing.assert_array_equal(x_train[:, 2:26:3, 2:26:3], np.rint(d_train[..., 0] * 255))
    assert not x_train[:, :2].any() and not x_train[:, :, 26:].any()
    np.testing.assert_array_equal(y_train, dy_train)


def test_load_data_path_must_be_a_path():
    with pytest.raises(TypeError, match="^path: expected a file name or path"):
        datasets.mnist.load_data(3)
