"""Keras 3's optimizer EMA (``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency``), written as Keras code,
checked against the EMA computed by hand in NumPy."""
import numpy as np
import pytest

import fastnn as keras
from fastnn import layers, optimizers
from conftest import RTOL, assert_close, to_numpy

DEVICES = ["cpu"] + [pytest.param(name, marks=pytest.mark.skipif(
    name not in keras.backend.available(), reason=f"backend {name!r} is not available here"))
    for name in ("cuda-emu", "cuda")]
DTYPES = ["float32", "float64"]


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)), rng.standard_normal((n, 2))


def linear_sgd_by_hand(w, b, x, y, lr, batch, epochs, momentum, overwrite):
    """SGD on ``mse`` for y = x w + b (no shuffling), with Keras' EMA; returns (final w, b)."""
    avg_w, avg_b, step = None, None, 0
    for _ in range(epochs):
        for lo in range(0, len(x), batch):
            xb, yb = x[lo:lo + batch], y[lo:lo + batch]
            err = 2 * (xb @ w + b - yb) / yb.size  # d mean((xw + b - y)^2)
            w, b = w - lr * xb.T @ err, b - lr * err.sum(0)
            m = momentum if step else 0.0  # Keras: momentum 0 at the first step, so the average starts at w
            avg_w = w if avg_w is None else m * avg_w + (1 - m) * w
            avg_b = b if avg_b is None else m * avg_b + (1 - m) * b
            step += 1
            if overwrite and step % overwrite == 0:
                w, b = avg_w.copy(), avg_b.copy()
    return avg_w, avg_b  # fit ends with finalize_variable_values


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("overwrite", [None, 5])
def test_fit_ends_with_the_moving_average(device, dtype, overwrite):
    x, y = data()
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)], device=device, dtype=dtype, seed=1)
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.8,
                                           ema_overwrite_frequency=overwrite), loss="mse")
    w0, b0 = (np.asarray(a, np.float64) for a in model.layers[0].get_weights())
    model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    w, b = linear_sgd_by_hand(w0, b0, x, y, lr=0.1, batch=8, epochs=3, momentum=0.8, overwrite=overwrite)
    kernel, bias = model.layers[0].get_weights()
    rtol = RTOL[np.dtype(dtype).type] * 10
    assert_close(kernel, w, rtol=rtol)
    assert_close(bias, b, rtol=rtol)


@pytest.mark.parametrize("device", DEVICES)
def test_average_of_an_adam_trajectory(device):
    """Without overwrites the weights follow the plain optimizer; after fit they are the EMA of that path."""
    x, y = data()

    def build(**ema):
        model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation="tanh"), layers.Dense(2)],
                                 device=device, dtype="float64", seed=2)
        model.compile(optimizer=optimizers.Adam(0.01, **ema), loss="mse")
        return model

    plain, path = build(), []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: path.append(
        to_numpy(plain.flat_params).copy()))
    plain.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, callbacks=[record])
    avg = path[0]
    for w in path[1:]:
        avg = 0.9 * avg + 0.1 * w
    ema = build(use_ema=True, ema_momentum=0.9)
    ema.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert_close(to_numpy(ema.flat_params), avg, rtol=1e-10)
    assert not np.allclose(avg, path[-1])  # the average really differs from the last step


def test_second_fit_continues_the_average():
    """The optimizer's step count carries over, so a second fit moves the average on (no restart at its w)."""
    x, y = data()
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)], dtype="float64", seed=1)
    model.compile(optimizer=optimizers.SGD(0.1, use_ema=True, ema_momentum=0.8), loss="mse")
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    w1 = to_numpy(model.flat_params).copy()
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    w0, b0 = (np.asarray(a) for a in _split(w1))
    err = 2 * (x @ w0 + b0 - y) / y.size
    stepped = np.concatenate([(w0 - 0.1 * x.T @ err).ravel(), b0 - 0.1 * err.sum(0)])
    assert_close(to_numpy(model.flat_params), 0.8 * w1 + 0.2 * stepped, rtol=1e-10)


def _split(flat):
    return flat[:8].reshape(4, 2), flat[8:]


def test_config_and_saved_model_keep_the_ema(tmp_path):
    x, y = data()
    opt = optimizers.Adam(0.01, use_ema=True, ema_momentum=0.95, ema_overwrite_frequency=3)
    cfg = opt.get_config()
    assert (cfg["use_ema"], cfg["ema_momentum"], cfg["ema_overwrite_frequency"]) == (True, 0.95, 3)
    again = optimizers.get(cfg)
    assert (again.use_ema, again.ema_momentum, again.ema_overwrite_frequency) == (True, 0.95, 3)
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)], dtype="float64", seed=1)
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / "m.safetensors")
    loaded = keras.models.load_model(tmp_path / "m.safetensors")
    assert loaded.optimizer.get_config() == cfg
    np.testing.assert_array_equal(to_numpy(loaded.average_params), to_numpy(model.average_params))
    # both continue identically: the average and the step count came back too
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_array_equal(to_numpy(loaded.flat_params), to_numpy(model.flat_params))


def test_default_is_off_and_weights_are_untouched():
    x, y = data()
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)], dtype="float64", seed=1)
    model.compile(optimizer="adam", loss="mse")
    assert model.optimizer.get_config()["use_ema"] is False
    model.fit(x, y, epochs=1, verbose=0)
    assert model.average_params is None


@pytest.mark.parametrize("kwargs, error, start", [
    ({"use_ema": "yes"}, TypeError, "use_ema"),
    ({"ema_momentum": 1.5}, ValueError, "ema_momentum"),
    ({"ema_momentum": -0.1}, ValueError, "ema_momentum"),
    ({"ema_overwrite_frequency": 0}, ValueError, "ema_overwrite_frequency"),
    ({"ema_overwrite_frequency": 2.5}, TypeError, "ema_overwrite_frequency"),
])
@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.Adam, optimizers.AdamW, optimizers.RMSprop])
def test_bad_ema_arguments(cls, kwargs, error, start):
    with pytest.raises(error, match=f"^{start}:"):
        cls(**{"use_ema": True, **kwargs})


def test_ema_callback_and_optimizer_ema_together_is_an_error():
    x, y = data()
    model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2)], dtype="float64")
    model.compile(optimizer=optimizers.SGD(use_ema=True), loss="mse")
    with pytest.raises(ValueError, match="^callbacks: "):
        model.fit(x, y, verbose=0, callbacks=[keras.callbacks.ExponentialMovingAverage()])


def test_functional_model_ends_with_the_same_average():
    x, y = data()
    inputs = keras.Input(shape=(4,))
    functional = keras.Model(inputs, layers.Dense(2)(layers.Dense(8, activation="tanh")(inputs)), dtype="float64",
                             seed=2)
    chain = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation="tanh"), layers.Dense(2)],
                             dtype="float64", seed=2)
    for model in (functional, chain):
        model.compile(optimizer=optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3),
                      loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for got, want in zip(functional.get_weights(), chain.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_frozen_layers_keep_their_weights():
    """Only trainable weights are overwritten: a layer frozen after training keeps its weights, not its average."""
    x, y = data()
    base = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(8, activation="tanh")], dtype="float64", seed=2)
    model = keras.Sequential([base, layers.Dense(2)])
    model.compile(optimizer=optimizers.SGD(0.1, use_ema=True, ema_momentum=0.7), loss="mse")
    for _ in range(3):
        model.train_on_batch(x, y)  # no fit: nothing writes the average over the weights yet
    base.trainable = False  # the same optimizer goes on; its average of the base lags behind the weights
    trained = [w.copy() for w in base.get_weights()]
    head = model.layers[-1].get_weights()[0].copy()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for got, want in zip(base.get_weights(), trained):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(model.layers[-1].get_weights()[0], head)
