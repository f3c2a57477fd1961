"""Keras 3 .keras files, written by Keras itself (on the torch backend), load and predict the same."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
pytest.importorskip("torch")
pytest.importorskip("h5py")
keras_real = pytest.importorskip("keras")

import fastnn  # noqa: E402


def test_a_keras_cnn_file_loads_and_predicts_the_same(tmp_path):
    keras_real.utils.set_random_seed(0)
    m = keras_real.Sequential([
        keras_real.Input(shape=(8, 8, 1)), keras_real.layers.Conv2D(4, 3, activation="relu"),
        keras_real.layers.BatchNormalization(), keras_real.layers.MaxPooling2D(), keras_real.layers.Flatten(),
        keras_real.layers.Dropout(0.2), keras_real.layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((16, 8, 8, 1)).astype("float32")
    m.fit(x, np.arange(16) % 3, epochs=1, verbose=0)  # moving statistics other than 0 and 1
    m.save(tmp_path / "m.keras")
    model = fastnn.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(model.predict(x, verbose=0), m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert model.loss.name == "sparse_categorical_crossentropy" and isinstance(model.optimizer, fastnn.Adam)
    model.fit(x, np.arange(16) % 3, epochs=1, verbose=0)  # and it trains on


def test_keras_files_fastnn_cannot_read_are_named(tmp_path):
    m = keras_real.Sequential([keras_real.Input(shape=(4,)), keras_real.layers.Dense(3),
                               keras_real.layers.LayerNormalization()])
    m.save(tmp_path / "ln.keras")
    with pytest.raises(ValueError, match=r"is a LayerNormalization, which fastnn does not have; fastnn reads "
                                         r"Activation, Add, Average, AveragePooling2D"):
        fastnn.models.load_model(tmp_path / "ln.keras")
    m = keras_real.Sequential([keras_real.Input(shape=(4,)), keras_real.layers.Dense(3, name="head")])
    m.save(tmp_path / "ok.keras")
    import zipfile

    with zipfile.ZipFile(tmp_path / "ok.keras") as z, zipfile.ZipFile(tmp_path / "bad.keras", "w") as out:
        for item in z.namelist():
            data = z.read(item)
            if item == "config.json":
                data = data.replace(b'"units": 3', b'"units": 5')
            out.writestr(item, data)
    with pytest.raises(ValueError, match=r"weight head/W has shape \(4, 3\), expected \(4, 5\)"):
        fastnn.models.load_model(tmp_path / "bad.keras")


def test_a_keras_functional_file_with_a_shared_layer_loads_and_predicts_the_same(tmp_path):
    keras_real.utils.set_random_seed(0)
    inputs = keras_real.Input(shape=(6,), name="x")
    shared = keras_real.layers.Dense(6, activation="relu", name="shared")
    first = shared(inputs)
    h = shared(keras_real.layers.Add()([keras_real.layers.Dense(6, name="pre")(first), first]))
    h = keras_real.layers.Concatenate()([h, keras_real.layers.Multiply()([h, inputs])])
    head = keras_real.layers.Dense(3, activation="softmax", name="head")(keras_real.layers.BatchNormalization()(h))
    side = keras_real.layers.Dense(1, name="side")(h)
    m = keras_real.Model(inputs, [head, side])
    m.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
              metrics=[["accuracy"], ["mae"]])
    x = np.random.default_rng(0).random((16, 6)).astype("float32")
    m.fit(x, [np.arange(16) % 3, x[:, :1]], epochs=1, verbose=0)
    m.save(tmp_path / "f.keras")
    model = fastnn.models.load_model(tmp_path / "f.keras")
    for got, want in zip(model.predict(x, verbose=0), m.predict(x, verbose=0)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert model.output_names == ["head", "side"]
    assert model.metrics_names == ["loss", "head_loss", "head_accuracy", "side_loss", "side_mae"]
    assert [o.weight for o in model.compiled.outputs] == [1.0, 0.5]
