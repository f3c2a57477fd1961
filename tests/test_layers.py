"""Layers in models: the lecture CNN's summary, CNN training and gradients, and each layer's train/inference behaviour."""
import numpy as np
import pytest

import fastnn
from fastnn import (AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten, GaussianNoise,
                    GlobalAveragePooling2D, LeakyReLU, MaxPooling2D, PReLU, ReLU, Sequential, Softmax, load_model)
from conftest import numerical_grad


def lecture_cnn(**kwargs):
    return Sequential([
        Conv2D(10, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        MaxPooling2D((2, 2)),
        Conv2D(5, (3, 3), activation="relu"),
        MaxPooling2D((2, 2)),
        Flatten(),
        Dense(64, activation="relu"),
        Dense(10, activation="softmax"),
    ], **kwargs)


def test_lecture_cnn_summary():
    printed = []
    assert lecture_cnn(seed=0).summary(print_fn=printed.append) is None  # Keras: prints, returns None
    text = printed[0]
    rows = [l for l in text.splitlines() if "(None" in l]
    shapes = ["(None, 26, 26, 10)", "(None, 13, 13, 10)", "(None, 11, 11, 5)", "(None, 5, 5, 5)", "(None, 125)",
              "(None, 64)", "(None, 10)"]
    params = ["100", "0", "455", "0", "0", "8,064", "650"]
    assert len(rows) == 7
    for row, shape, n in zip(rows, shapes, params):
        assert shape in row and row.split()[-1] == n, row
    assert "Total params: 9,269" in text and "Trainable params: 9,269" in text and "Non-trainable params: 0" in text
    assert rows[0].split()[0] == "conv2d" and "(Conv2D)" in rows[0]


def test_batch_norm_counts_non_trainable_parameters():
    m = Sequential([Dense(8, input_shape=(4,)), BatchNormalization(), Dense(2, activation="softmax")], seed=0)
    assert m.count_params(trainable=False) == 16 and m.count_params(trainable=True) == 40 + 16 + 18


def digits_images():
    (x_tr, y_tr), (x_te, y_te) = fastnn.datasets.digits(flatten=False)
    return x_tr, y_tr, x_te, y_te


def test_cnn_with_conv_pool_batchnorm_dropout_trains_on_digits():
    x_tr, y_tr, x_te, y_te = digits_images()
    model = Sequential([
        Conv2D(16, 3, padding="same", input_shape=(8, 8, 1)), BatchNormalization(), ReLU(),
        MaxPooling2D(2),
        Conv2D(32, 3, padding="same", activation="relu"),
        AveragePooling2D(2),
        Flatten(), Dropout(0.2),
        Dense(10, activation="softmax"),
    ], seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=fastnn.Adam(0.005), metrics=["accuracy"])
    hist = model.fit(x_tr, y_tr, batch_size=32, epochs=8, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0] / 3
    assert model.evaluate(x_te, y_te)[1] > 0.93


def test_small_cnn_gradients_match_central_differences(rng):
    model = Sequential([
        Conv2D(3, (3, 2), strides=2, padding="same", activation="tanh", input_shape=(7, 6, 2)),
        BatchNormalization(),
        PReLU(),
        MaxPooling2D(2, padding="same"),
        Conv2D(4, 1),
        GlobalAveragePooling2D(),
        LeakyReLU(0.1),
        Dense(3, activation="softmax"),
    ], dtype="float64", seed=1)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    x, y = rng.standard_normal((5, 7, 6, 2)), rng.integers(0, 3, 5)
    model.flat_params += rng.standard_normal(model.flat_params.shape) * 0.1
    model.compute_gradients(x, y)
    analytic = model.flat_grads.copy()
    state = model.flat_state.copy()

    def loss():
        model.flat_state[...] = state  # batch-norm training mode updates running stats; keep them fixed
        return float(model.compute_gradients(x, y)[1].mean())

    np.testing.assert_allclose(analytic, numerical_grad(loss, model.flat_params), rtol=1e-5, atol=1e-8)


def test_frozen_batch_norm_runs_in_inference_mode(rng):
    model = Sequential([Dense(6, input_shape=(3,)), BatchNormalization(), Dense(2, activation="softmax")], seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    x, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
    model.fit(x, y, epochs=1, verbose=0)
    bn = model.layers[1]
    moved = bn.params["moving_mean"].copy()
    assert not np.allclose(moved, 0)  # trainable BN updates its moving statistics
    bn.trainable = False
    gamma = bn.params["gamma"].copy()
    model.fit(x, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(bn.params["moving_mean"], moved)
    np.testing.assert_array_equal(bn.params["gamma"], gamma)


def test_dropout_and_noise_are_identity_at_inference_and_random_in_training(rng):
    x = rng.standard_normal((64, 50)).astype(np.float32)
    for layer in (Dropout(0.5), GaussianNoise(0.3)):
        m = Sequential([layer], seed=3)
        m.build((50,))
        m.compile(loss="mse", optimizer="sgd")
        np.testing.assert_array_equal(m.predict(x), x)
        a = layer.forward(x, training=True, step=0).copy()
        b = layer.forward(x, training=True, step=1).copy()  # the next step draws a new mask / new noise
        assert not np.array_equal(a, b) and not np.array_equal(a, x)
    kept = (Sequential([Dropout(0.5)], seed=0), )
    d = kept[0]
    d.build((50,))
    d.compile(loss="mse", optimizer="sgd")
    y = d.layers[0].forward(np.ones((200, 50), np.float32), training=True)
    assert set(np.unique(y)) <= {0.0, 2.0} and abs((y == 0).mean() - 0.5) < 0.02


def test_cnn_saves_and_loads(tmp_path, rng):
    model = Sequential([Conv2D(4, 3, padding="same", input_shape=(8, 8, 1)), BatchNormalization(), PReLU(),
                        MaxPooling2D(2), Flatten(), Dropout(0.1), Dense(10), Softmax()], seed=0)
    model.compile(loss="mse", optimizer="adam")
    x = rng.random((16, 8, 8, 1)).astype(np.float32)
    model.fit(x, np.eye(10, dtype=np.float32)[rng.integers(0, 10, 16)], epochs=2, verbose=0)
    model.save(tmp_path / "cnn.safetensors")
    again = load_model(tmp_path / "cnn.safetensors")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    np.testing.assert_array_equal(again.layers[1].params["moving_variance"], model.layers[1].params["moving_variance"])


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="filters: expected a positive int"):
        Conv2D(0, 3)
    with pytest.raises(ValueError, match="kernel_size: expected a positive int or a pair"):
        Conv2D(4, (3, 0))
    with pytest.raises(ValueError, match="padding: expected 'valid', 'same'"):
        Conv2D(4, 3, padding="full")
    with pytest.raises(ValueError, match="rate: expected 0 <= rate < 1"):
        Dropout(1.0)
    with pytest.raises(ValueError, match="Dense expects flat inputs"):
        Sequential([Conv2D(2, 3, input_shape=(5, 5, 1)), Dense(3)]).build()
    with pytest.raises(ValueError, match="Conv2D expects images"):
        Sequential([Conv2D(2, 3, input_shape=(5,))]).build()


@pytest.mark.parametrize("device", ["cuda-emu", "cuda"])
def test_same_model_code_trains_alike_on_gpu_backends(device, rng):
    """The GPU path (kernels, launch configurations, dropout masks) trains like the CPU one."""
    if device not in fastnn.backend.available():
        pytest.skip(f"backend {device!r} is not available here")
    x = rng.random((24, 8, 8, 1))
    y = rng.integers(0, 10, 24)
    runs = []
    for dev in ("cpu", device):
        model = Sequential([
            Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)), BatchNormalization(),
            MaxPooling2D(2), Conv2D(6, 3, strides=2), Flatten(), Dropout(0.25), Dense(16, activation="tanh"),
            Dense(10, activation="softmax"),
        ], device=dev, dtype="float64", seed=7)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=fastnn.Adam(0.01), metrics=["accuracy"])
        hist = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        params = model.flat_params
        runs.append((hist.history["loss"], np.asarray(params.get() if hasattr(params, "get") else params)))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-9)
    np.testing.assert_allclose(runs[1][1], runs[0][1], rtol=1e-7, atol=1e-9)
