"""End-to-end MLP: gradients of the whole network, learning XOR, input checks."""
import numpy as np
import pytest

import fastnn
from fastnn import SGD, Dense, Sequential
from conftest import numerical_grad


@pytest.mark.parametrize("loss,activation,make_y", [
    ("sparse_categorical_crossentropy", "softmax", lambda r, n: r.integers(0, 3, n)),
    ("categorical_crossentropy", "softmax", lambda r, n: np.eye(3)[r.integers(0, 3, n)]),
    ("binary_crossentropy", "sigmoid", lambda r, n: (r.random((n, 3)) < 0.5).astype(float)),
    ("mse", "linear", lambda r, n: r.standard_normal((n, 3))),
])
def test_three_layer_mlp_gradient_matches_central_differences(loss, activation, make_y, rng):
    model = Sequential([
        Dense(6, activation="tanh", input_shape=(4,)),
        Dense(5, activation="softplus"),
        Dense(3, activation=activation),
    ], dtype="float64", seed=3)
    model.compile(loss=loss, optimizer="sgd")
    x = rng.standard_normal((7, 4))
    xb, yb = x, make_y(rng, 7)
    model.flat_params += rng.standard_normal(model.flat_params.shape) * 0.1  # non-zero biases too

    model.compute_gradients(xb, yb)
    analytic = model.flat_grads.copy()

    def mean_loss():
        return float(model.compute_gradients(xb, yb)[1].mean())

    numeric = numerical_grad(mean_loss, model.flat_params)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mlp_learns_xor(dtype):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype)
    y = np.array([0, 1, 1, 0])
    model = Sequential([Dense(8, activation="tanh", input_shape=(2,)), Dense(2, activation="softmax")], dtype=dtype, seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(0.5, momentum=0.9), metrics=["accuracy"])
    history = model.fit(X, y, batch_size=4, epochs=300, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    assert np.array_equal(np.argmax(model.predict(X), axis=1), y)
    assert history.history["loss"][-1] < 0.01 < history.history["loss"][0]


def test_fit_prints_loss_per_epoch(capsys):
    X = np.random.default_rng(0).standard_normal((20, 3))
    model = Sequential([Dense(1, input_shape=(3,))], seed=0)
    model.compile(loss="mse", optimizer=SGD(0.1))
    model.fit(X, X[:, :1], batch_size=5, epochs=3)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("Epoch 1/3") and "loss:" in lines[-1]


@pytest.mark.parametrize("batch_size,epochs", [(1, 10), (None, 150), (3, 20)])
def test_online_and_full_batch_training_reduce_the_loss(batch_size, epochs):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    model = Sequential([Dense(1, input_shape=(3,))], seed=0)
    model.compile(loss="mse", optimizer=SGD(0.05))
    h = model.fit(X, y, batch_size=batch_size, epochs=epochs, verbose=0)
    assert h.history["loss"][-1] < 0.1 * h.history["loss"][0]


def _model():
    m = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dense(2, activation="softmax")], seed=0)
    m.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    return m


@pytest.mark.parametrize("x,y,exc,match", [
    (np.ones((5, 3)), np.zeros(4, int), ValueError, "x, y: expected the same number of samples, got 5 and 4"),
    (np.ones((5, 4)), np.zeros(5, int), ValueError, r"x: expected samples of shape \(3,\), got \(4,\)"),
    (np.ones((5, 3)), np.array([0, 1, 2, 0, 1]), ValueError, r"y: class labels must lie in \[0, 2\)"),
    (np.full((5, 3), np.nan), np.zeros(5, int), ValueError, "x: contains NaN"),
    (np.ones((0, 3)), np.zeros(0, int), ValueError, "x: expected at least one sample"),
    (np.array([["a", "b", "c"]]), np.zeros(1, int), TypeError, "x: expected numeric data"),
])
def test_fit_rejects_bad_input_before_training(x, y, exc, match):
    model = _model()
    before = model.flat_params.copy()
    with pytest.raises(exc, match=match):
        model.fit(x, y, epochs=1, verbose=0)
    assert np.array_equal(model.flat_params, before)


def test_model_argument_errors():
    with pytest.raises(ValueError, match="units: expected a positive int"):
        Dense(0)
    with pytest.raises(ValueError, match="activation: expected one of"):
        Dense(3, activation="gelu")
    with pytest.raises(ValueError, match="input_shape: start the model with fastnn.Input"):
        Sequential([Dense(3)]).build()
    with pytest.raises(ValueError, match="expects the last layer to have activation='softmax'"):
        Sequential([Dense(3, input_shape=(2,))]).compile(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="loss: expected one of"):
        _model().compile(loss="poisson")
    with pytest.raises(ValueError, match="batch_size: expected a positive int or None"):
        _model().fit(np.ones((4, 3)), np.zeros(4, int), batch_size=0, verbose=0)


def test_num_threads_knob():
    n = fastnn.get_num_threads()
    try:
        fastnn.set_num_threads(1)
        assert fastnn.get_num_threads() == 1
    finally:
        fastnn.set_num_threads(n)
    with pytest.raises(ValueError, match="n: expected a thread count >= 1"):
        fastnn.set_num_threads(0)
