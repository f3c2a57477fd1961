"""Keras 3 layers with only the import changed: Reshape, Identity, Rescaling, ZeroPadding2D,
GlobalMaxPooling2D, SpatialDropout2D, Conv2D(data_format=...), regularizers by name and class."""
import numpy as np
import pytest

import fastnn as keras
from fastnn import layers, regularizers
from conftest import numerical_grad

DEVICES = ["cpu", pytest.param("cuda-emu", marks=pytest.mark.skipif(
    "cuda-emu" not in keras.backend.available(), reason="fastnn built without FASTNN_CUDA_EMU=ON"))]


def images(n=5, h=6, w=5, c=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, h, w, c)), rng.standard_normal((n, 2))


def conv_model(layer, device="cpu", shape=(6, 5, 2)):
    return keras.Sequential([keras.Input(shape=shape), layers.Conv2D(3, 3, padding="same", activation="tanh"), layer,
                             layers.Flatten(), layers.Dense(2)], device=device, dtype="float64", seed=4)


NEW_LAYERS = {
    "Reshape": lambda: layers.Reshape((-1, 3)),
    "Identity": lambda: layers.Identity(),
    "Rescaling": lambda: layers.Rescaling(0.5, offset=-0.25),
    "ZeroPadding2D": lambda: layers.ZeroPadding2D(((1, 2), (0, 1))),
    "GlobalMaxPooling2D": lambda: layers.GlobalMaxPooling2D(),
    "GlobalMaxPooling2D-keepdims": lambda: layers.GlobalMaxPooling2D(keepdims=True),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list(NEW_LAYERS))
def test_gradients_through_the_new_layers_are_numerical_gradients(device, name):
    """The conv kernel's gradient flows back through the layer under test."""
    x, y = images()
    m = conv_model(NEW_LAYERS[name](), device)
    m.compile(optimizer="sgd", loss="mse")
    m.compute_gradients(x, y)
    grads = np.array(m.flat_grads[:54])  # the conv kernel: 3 x 3 x 2 x 3
    numerical = numerical_grad(lambda: m.evaluate(x, y, batch_size=len(x), verbose=0), m.flat_params[:54])
    np.testing.assert_allclose(grads, numerical, rtol=1e-6, atol=1e-9)


def test_forward_values_as_keras():
    x, _ = images()
    rescale = keras.Sequential([keras.Input(shape=(6, 5, 2)), layers.Rescaling(1 / 255, offset=1.0)], dtype="float64")
    np.testing.assert_allclose(rescale.predict(x, verbose=0), x / 255 + 1, rtol=1e-15)
    pad = keras.Sequential([keras.Input(shape=(6, 5, 2)), layers.ZeroPadding2D(2)], dtype="float64")
    np.testing.assert_array_equal(pad.predict(x, verbose=0), np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0))))
    gmax = keras.Sequential([keras.Input(shape=(6, 5, 2)), layers.GlobalMaxPooling2D()], dtype="float64")
    np.testing.assert_array_equal(gmax.predict(x, verbose=0), x.max(axis=(1, 2)))
    reshape = keras.Sequential([keras.Input(shape=(6, 5, 2)), layers.Reshape((10, -1)), layers.Identity()])
    np.testing.assert_allclose(reshape.predict(x, verbose=0), x.reshape(5, 10, 6).astype("float32"))
    assert reshape.layers[-1].output_shape == (10, 6)
    with pytest.raises(ValueError, match="target_shape: cannot reshape samples of shape"):
        keras.Sequential([keras.Input(shape=(6, 5, 2)), layers.Reshape((7, -1))]).build()
    with pytest.raises(ValueError, match="target_shape: expected a tuple of positive ints with at most one -1"):
        layers.Reshape((-1, -1))
    with pytest.raises(ValueError, match="padding: expected an int >= 0"):
        layers.ZeroPadding2D(-1)


@pytest.mark.parametrize("device", DEVICES)
def test_spatial_dropout_drops_channels_in_training_only(device):
    x, y = images(n=8, c=16)
    m = keras.Sequential([keras.Input(shape=(6, 5, 16)), layers.SpatialDropout2D(0.5, seed=3), layers.Flatten(),
                          layers.Dense(2)], device=device, dtype="float64", seed=1)
    m.compile(optimizer="adam", loss="mse")
    drop = m.layers[0]
    out = np.asarray(drop.forward(m.parameters.backend.xp.asarray(x), training=True, step=7))
    per_map = out.reshape(8, 30, 16)
    assert ((per_map == 0).all(axis=1) | (per_map != 0).all(axis=1)).all()  # whole maps kept or dropped
    np.testing.assert_allclose(per_map[per_map != 0], (x.reshape(8, 30, 16) * 2)[per_map != 0], rtol=1e-15)
    plain = keras.Sequential([keras.Input(shape=(6, 5, 16)), layers.Flatten(), layers.Dense(2)], device=device,
                             dtype="float64", seed=1)
    np.testing.assert_allclose(m.predict(x, verbose=0), plain.predict(x, verbose=0), rtol=1e-15)  # inference: identity
    before = m.evaluate(x, y, verbose=0)
    m.fit(x, y, epochs=10, verbose=0)
    assert m.evaluate(x, y, verbose=0) < before


def test_conv2d_data_format():
    layers.Conv2D(4, 3, data_format="channels_last")
    layers.Conv2D(4, 3, 1, "valid", "channels_last", 1)  # Keras' positional order
    for cls, args in ((layers.Conv2D, (4, 3)), (layers.ZeroPadding2D, ()), (layers.GlobalMaxPooling2D, ()),
                      (layers.SpatialDropout2D, (0.1,))):
        with pytest.raises(ValueError, match="data_format: fastnn supports only 'channels_last'"):
            cls(*args, data_format="channels_first")


def test_regularizers_by_name_and_class():
    assert regularizers.get("l2").get_config() == {"l1": 0.0, "l2": 0.01}
    assert regularizers.get("l1").get_config() == {"l1": 0.01, "l2": 0.0}
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.L1L2(l1=0.1, l2=0.2).get_config() == {"l1": 0.1, "l2": 0.2}
    assert regularizers.get({"class_name": "L2", "config": {"l2": 0.5}}).l2 == 0.5
    with pytest.raises(ValueError, match="regularizer: unknown name 'l3'"):
        layers.Dense(3, kernel_regularizer="l3")
    x, y = images()
    m = keras.Sequential([keras.Input(shape=(6, 5, 2)), layers.Flatten(),
                          layers.Dense(3, kernel_regularizer="l2", bias_regularizer=regularizers.L1(0.1))],
                         dtype="float64")
    m.compile(optimizer="sgd", loss="mse")
    W, b = m.layers[1].get_weights()
    b[:] = 0.5
    m.layers[1].set_weights([W, b])
    data_loss = ((m.predict(x, verbose=0) - np.pad(y, ((0, 0), (0, 1)))) ** 2).mean()
    penalty = 0.01 * (W ** 2).sum() + 0.1 * np.abs(b).sum()
    y3 = np.pad(y, ((0, 0), (0, 1)))
    assert m.evaluate(x, y3, verbose=0) == pytest.approx(data_loss + penalty, rel=1e-10)


def test_models_with_the_new_layers_save_and_load(tmp_path):
    x, y = images(n=6, c=4)
    m = keras.Sequential([keras.Input(shape=(6, 5, 4)), layers.Rescaling(0.5), layers.ZeroPadding2D((1, 2)),
                          layers.Conv2D(3, 3, data_format="channels_last", kernel_regularizer="l2"),
                          layers.SpatialDropout2D(0.2, seed=5), layers.Identity(),
                          layers.GlobalMaxPooling2D(keepdims=True), layers.Reshape((3,)), layers.Dense(2)],
                         dtype="float64", seed=2)
    m.compile(optimizer=keras.optimizers.Nadam(clipnorm=1.0), loss="mae")
    m.fit(x, y, epochs=2, verbose=0)
    m.save(tmp_path / "m.fastnn")
    loaded = keras.load_model(tmp_path / "m.fastnn")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))
    assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in m.layers]
    assert loaded.layers[1].padding == ((1, 1), (2, 2)) and loaded.layers[2].kernel_regularizer.l2 == 0.01
