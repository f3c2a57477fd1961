"""Model files: round trips, and a corpus of hostile files that load_model must refuse.

Every refusal is one ValueError whose message starts with the path. Files
with a valid checksum but wrong content are made by reading a saved file,
changing it and writing it again with fastnn.model_file.write (which
computes fresh checksums), so each check behind the checksums is reached.
"""
import json
import os
import random
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import model_file

BACKENDS = ["cpu", "cuda-emu"]


def _model(dtype="float32", device="cpu"):
    model = fastnn.Sequential([fastnn.Dense(8, activation="relu", input_shape=(4,)),
                               fastnn.BatchNormalization(),
                               fastnn.Dense(3, activation="softmax")], dtype=dtype, device=device, seed=3)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=fastnn.Adam(0.01), metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype(dtype), rng.integers(0, 3, 64)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    return model, x, y


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "m.safetensors"
    model, x, _ = _model()
    model.save(path)
    return path, model, x


def _refused(path, *fragments):
    with pytest.raises(ValueError) as err:
        fastnn.load_model(path)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, message
    return message


def _rewrite(src, dst, tensors=None, metadata=None):
    """dst: src's content changed by the functions tensors(dict) and metadata(dict), with valid checksums."""
    meta, ts = model_file.read(src)
    ts = {k: np.array(v) for k, v in ts.items()}
    model_file.write(dst, tensors(ts) if tensors else ts, metadata(meta) if metadata else meta)
    return dst


# -- round trips ------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("device", BACKENDS)
def test_round_trip_resumes_exactly(tmp_path, dtype, device):
    if device not in fastnn.backend.available():
        pytest.skip(f"backend {device!r} is not available here")
    model, x, y = _model(dtype, device)
    path = tmp_path / "m.safetensors"
    model.save(path)
    loaded = fastnn.load_model(path, device=device)
    np.testing.assert_array_equal(np.asarray(loaded.flat_params), np.asarray(model.flat_params))
    np.testing.assert_array_equal(np.asarray(loaded.flat_state), np.asarray(model.flat_state))
    for a, b in zip(loaded.optimizer.state, model.optimizer.state):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert (loaded.epoch, loaded.optimizer.iterations) == (model.epoch, model.optimizer.iterations)
    model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    loaded.fit(x, y, batch_size=16, epochs=3, verbose=0)
    np.testing.assert_array_equal(np.asarray(loaded.flat_params), np.asarray(model.flat_params))


def test_round_trip_uncompiled_and_with_averaged_weights(tmp_path):
    plain = fastnn.Sequential([fastnn.Conv2D(4, (3, 3), input_shape=(6, 6, 2)), fastnn.Flatten(), fastnn.Dense(2)],
                              seed=5)
    plain.build()
    plain.save(tmp_path / "plain.safetensors")
    loaded = fastnn.load_model(tmp_path / "plain.safetensors")
    assert loaded.optimizer is None
    np.testing.assert_array_equal(loaded.flat_params, plain.flat_params)

    model, x, y = _model()
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[fastnn.callbacks.ExponentialMovingAverage(0.9)])
    model.save(tmp_path / "ema.safetensors")
    loaded = fastnn.load_model(tmp_path / "ema.safetensors")
    np.testing.assert_array_equal(loaded.average_params, model.average_params)


def test_file_round_trip_every_dtype(tmp_path):
    tensors = {"f64": np.arange(6.0).reshape(2, 3), "f32": np.float32([1.5, -2]), "f16": np.float16([[0.5]]),
               "i64": np.int64([2**40]), "i32": np.int32([-7]), "u8": np.uint8([255, 0]), "b": np.bool_([True]),
               "scalar": np.float32(4.0), "empty": np.zeros((0, 5)), "strided": np.arange(10.0)[::2]}
    meta = {"format": "test", "note": "ü"}
    model_file.write(tmp_path / "t.safetensors", tensors, meta)
    got_meta, got = model_file.read(tmp_path / "t.safetensors")
    assert got_meta == meta and set(got) == set(tensors)
    for name, t in tensors.items():
        assert got[name].dtype == t.dtype and got[name].shape == np.shape(t)
        np.testing.assert_array_equal(got[name], t)
    from safetensors.numpy import load_file  # the file is standard safetensors
    np.testing.assert_array_equal(load_file(tmp_path / "t.safetensors")["f64"], tensors["f64"])


def test_save_is_durable_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    model, _, _ = _model()
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    model.save(tmp_path / "m.safetensors")
    model.save(tmp_path / "m.safetensors")  # over an existing file
    assert len(synced) == 4  # the file, then its directory, each time
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_file_without_checksums_loads_with_a_warning(saved, tmp_path):
    from safetensors.numpy import save_file

    path, model, x = saved
    meta, tensors = model_file.read(path)
    save_file(tensors, tmp_path / "old.safetensors", metadata=meta)  # as fastnn wrote files before checksums
    with pytest.warns(UserWarning, match="no checksums"):
        loaded = fastnn.load_model(tmp_path / "old.safetensors")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


# -- damaged files --------------------------------------------------------------------
def test_every_truncation_is_refused(saved, tmp_path):
    data = saved[0].read_bytes()
    bad = tmp_path / "cut.safetensors"
    for length in sorted({0, 1, 7, 8, 9, 100, len(data) // 2, len(data) - 8, len(data) - 1}
                         | set(range(0, len(data), 97))):
        bad.write_bytes(data[:length])
        _refused(bad)


def test_bit_flips_in_header_and_data_are_refused(saved, tmp_path):
    data = saved[0].read_bytes()
    end_of_header = 8 + int.from_bytes(data[:8], "little")
    rng = random.Random(9)
    header_bits = list(range(0, 64)) + list(range(64, end_of_header * 8, 11))
    data_bits = rng.sample(range(end_of_header * 8, len(data) * 8), 300)
    bad = tmp_path / "flipped.safetensors"
    for bit in header_bits + data_bits:
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        bad.write_bytes(bytes(flipped))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a flip must not pass as an old file without checksums
            message = _refused(bad)
        if bit >= end_of_header * 8:
            assert "checksum mismatch in" in message and "the file is corrupted" in message


def test_lying_header_sizes_are_refused(saved, tmp_path):
    data = saved[0].read_bytes()
    n = int.from_bytes(data[:8], "little")
    bad = tmp_path / "lying.safetensors"
    for size in (0, 1, n - 1, n + 8, len(data), 2**63, 2**64 - 1):
        bad.write_bytes(size.to_bytes(8, "little") + data[8:])
        _refused(bad)
    header = json.loads(data[8:8 + n])
    name = next(k for k in header if k != "__metadata__")
    for offsets in ([0, 2**62], [-4, 0], [1, 0], [0, 0]):
        header[name]["data_offsets"] = offsets
        blob = json.dumps(header).encode()
        bad.write_bytes(len(blob).to_bytes(8, "little") + blob + data[8 + n:])
        _refused(bad)


def test_deep_json_is_refused(saved, tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    _refused(_rewrite(saved[0], tmp_path / "deep.safetensors", metadata=lambda m: {**m, "config": deep}),
             "config: invalid JSON")
    blob = ('{"a":' * 100_000 + "1" + "}" * 100_000).encode()
    raw = tmp_path / "deep_header.safetensors"
    raw.write_bytes(len(blob).to_bytes(8, "little") + blob)
    _refused(raw, "not a fastnn model file (safetensors header unreadable)")


def test_non_model_files_are_refused(tmp_path):
    text = tmp_path / "m.safetensors"
    text.write_text("hello, this is a text file and not a model\n" * 3)
    assert _refused(text) == f"{text}: not a fastnn model file (safetensors header unreadable)"
    _refused(tmp_path, "a directory")
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    _refused(empty, "header unreadable")
    other = tmp_path / "other.safetensors"
    model_file.write(other, {"x": np.zeros(3)}, {"format": "something-else"})
    _refused(other, "not a fastnn model file (format 'something-else')")
    with pytest.raises(FileNotFoundError):
        fastnn.load_model(tmp_path / "missing.safetensors")


# -- files whose checksums are right but whose content is not what the config implies -----
def test_wrong_dtype_is_refused(saved, tmp_path):
    name = "params/dense/W"
    bad = _rewrite(saved[0], tmp_path / "f16.safetensors",
                   tensors=lambda t: {**t, name: t[name].astype(np.float16)})
    assert _refused(bad) == f"{bad}: tensor {name}: expected float32 (4, 8), got float16 (4, 8)"
    for dtype in (np.int32, np.bool_, np.float64):
        _refused(_rewrite(saved[0], bad, tensors=lambda t: {**t, name: t[name].astype(dtype)}), name)


def test_float32_file_is_not_loaded_as_float64_model(saved, tmp_path):
    def to_float64(meta):
        cfg = json.loads(meta["config"])
        return {**meta, "config": json.dumps({**cfg, "dtype": "float64"})}

    _refused(_rewrite(saved[0], tmp_path / "f64.safetensors", metadata=to_float64),
             "expected float64 (4, 8), got float32 (4, 8)")


@pytest.mark.parametrize("change", ["first_row", "length_1_bias", "scalar_bias", "average", "optimizer_state"])
def test_wrong_shape_is_refused(saved, tmp_path, change):
    name, damaged = {
        "first_row": ("params/dense/W", lambda t: t[:1]),
        "length_1_bias": ("params/dense/b", lambda t: t[:1]),
        "scalar_bias": ("params/dense/b", lambda t: t[0]),
        "average": ("average/params", lambda t: t[:-1]),
        "optimizer_state": ("optimizer/state0", lambda t: t[:-1]),
    }[change]

    def damage(t):
        if name == "average/params":
            t = {**t, name: t["optimizer/state0"] * 0 + 1}
        return {**t, name: damaged(t[name])}

    _refused(_rewrite(saved[0], tmp_path / "shape.safetensors", tensors=damage), f"tensor {name}: expected")


def test_extra_and_missing_tensors_are_refused(saved, tmp_path):
    bad = tmp_path / "set.safetensors"
    _refused(_rewrite(saved[0], bad, tensors=lambda t: {**t, "params/dense/extra": np.zeros(2, np.float32)}),
             "unexpected tensor params/dense/extra")
    _refused(_rewrite(saved[0], bad, tensors=lambda t: {**t, "surprise": np.zeros(2, np.float32)}),
             "unexpected tensor surprise")
    _refused(_rewrite(saved[0], bad, tensors=lambda t: {k: v for k, v in t.items() if k != "params/dense_1/b"}),
             "tensor params/dense_1/b is missing")
    _refused(_rewrite(saved[0], bad, tensors=lambda t: {k: v for k, v in t.items() if k != "optimizer/state1"}),
             "tensor optimizer/state1 is missing")


@pytest.mark.parametrize("key, value, fragment", [
    ("epoch", "-5", "epoch: expected an int"),
    ("epoch", "1.5", "epoch: expected an int"),
    ("epoch", " 3", "epoch: expected an int"),
    ("iterations", str(2**70), "iterations: expected an int"),
    ("iterations", "--1", "iterations: expected an int"),
    ("config", "{", "config: invalid JSON"),
    ("config", "[]", "config: expected"),
    ("rng", '{"bit_generator": "os.system"}', "rng:"),
    ("compile", '{"loss": "nope", "optimizer": "sgd", "metrics": []}', "compile: loss"),
    ("compile", '{"optimizer": "sgd"}', "compile:"),
])
def test_bad_metadata_values_are_refused(saved, tmp_path, key, value, fragment):
    _refused(_rewrite(saved[0], tmp_path / "meta.safetensors", metadata=lambda m: {**m, key: value}), fragment)


def test_missing_metadata_key_is_refused(saved, tmp_path):
    bad = _rewrite(saved[0], tmp_path / "nokey.safetensors",
                   metadata=lambda m: {k: v for k, v in m.items() if k != "epoch"})
    _refused(bad, "metadata key 'epoch' is missing")


@pytest.mark.parametrize("edit, fragment", [
    (lambda c: c["layers"][0].update(class_name="os.system"), "unknown layer class 'os.system'"),
    (lambda c: c["layers"][0].update(class_name=["Dense"]), "unknown layer class ['Dense']"),
    (lambda c: c["layers"][0]["config"].update(units=10**12), "tensor params/dense/W: expected float32 (4, 1000000000000)"),
    (lambda c: c["layers"][0]["config"].update(units=-1), "config: units"),
    (lambda c: c["layers"][0]["config"].update(units="8"), "config: units"),
    (lambda c: c["layers"][0]["config"].update(evil=1), "config:"),
    (lambda c: c.update(input_shape=[2**50]), "config: input_shape"),
    (lambda c: c.update(input_shape=[4, 0]), "config: input_shape"),
    (lambda c: c.update(dtype="float16"), "config: dtype"),
    (lambda c: c.update(seed=-1), "config: seed"),
    (lambda c: c.pop("layers"), "config: expected"),
])
def test_bad_configs_are_refused_before_allocating(saved, tmp_path, edit, fragment):
    def change(meta):
        cfg = json.loads(meta["config"])
        edit(cfg)
        return {**meta, "config": json.dumps(cfg)}

    _refused(_rewrite(saved[0], tmp_path / "cfg.safetensors", metadata=change), fragment)
