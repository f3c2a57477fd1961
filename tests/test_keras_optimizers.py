"""Keras 3 optimizers with only the import changed: Nadam, Adamax, weight_decay, clipnorm/clipvalue/global_clipnorm."""
import numpy as np
import pytest

import fastnn as keras
from fastnn import layers, optimizers, regularizers
from fastnn import reference as ref

DEVICES = ["cpu", pytest.param("cuda-emu", marks=pytest.mark.skipif(
    "cuda-emu" not in keras.backend.available(), reason="fastnn built without FASTNN_CUDA_EMU=ON"))]


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)) * 3, rng.standard_normal((n, 2)) * 5


def model(device="cpu", freeze_first=False):
    m = keras.Sequential([keras.Input(shape=(4,)),
                          layers.Dense(6, activation="tanh", kernel_regularizer=regularizers.l1_l2(0.01, 0.05)),
                          layers.Dense(5, activation="relu"), layers.Dense(2)],
                         device=device, dtype="float64", seed=3)
    if freeze_first:
        m.layers[0].trainable = False
    return m


def to_numpy(a):
    return a.get() if hasattr(a, "get") else np.asarray(a)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("clip", [{"clipnorm": 0.5}, {"global_clipnorm": 1.0}, {"clipvalue": 0.05}])
@pytest.mark.parametrize("freeze_first", [False, True])
def test_clipping_matches_keras_semantics(device, clip, freeze_first):
    """Keras clips the gradient of the whole loss (penalties included), per variable for clipnorm."""
    x, y = data()
    m = model(device, freeze_first)
    opt = optimizers.Adam(0.01, weight_decay=0.01, **clip)
    m.compile(optimizer=opt, loss="mse")
    params = m.parameters
    trainable = sorted((start, stop, *(spec.regularizer.grad_coefficients if spec.regularizer else (0.0, 0.0)))
                       for layer, spec, start, stop in params.slots if layer.trainable)
    ranges = np.array([t[:2] for t in trainable])
    l1, l2 = np.array([t[2] for t in trainable]), np.array([t[3] for t in trainable])
    w = to_numpy(m.flat_params).copy()
    frozen = w.copy()
    s1, s2 = np.zeros_like(w), np.zeros_like(w)
    (mode, value), = clip.items()
    for t in range(1, 4):
        m.compute_gradients(x, y)
        g = to_numpy(m.flat_grads).copy()
        m.apply_gradients()
        ref.clip_gradients(w, g, ranges, l1, l2, mode=mode, clip=value)
        for lo, hi in ranges:
            sl = slice(lo, hi)
            ref.optimizer_update("adam", w[sl], g[sl], s1[sl], s2[sl], lr=0.01, rho=0.9, beta2=0.999, eps=1e-7,
                                 weight_decay=0.01, step=t)
        np.testing.assert_allclose(to_numpy(m.flat_params), w, rtol=1e-11, atol=1e-13)
    if freeze_first:  # frozen weights neither decay nor move
        np.testing.assert_array_equal(to_numpy(m.flat_params)[:24], frozen[:24])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("opt", [optimizers.Nadam(), optimizers.Adamax(), "nadam", "adamax",
                                 optimizers.SGD(0.01, momentum=0.9, clipnorm=1.0, weight_decay=1e-4)])
def test_keras_optimizers_train(device, opt):
    x, y = data()
    m = model(device)
    m.compile(optimizer=opt, loss="mse")
    before = m.evaluate(x, y, verbose=0)
    m.fit(x, y, epochs=30, batch_size=8, verbose=0)
    assert m.evaluate(x, y, verbose=0) < before


def test_defaults_and_configs_as_keras():
    nadam, adamax = optimizers.Nadam(), optimizers.Adamax()
    for opt in (nadam, adamax):
        assert (opt.learning_rate, opt.hyper["rho"], opt.hyper["beta2"], opt.hyper["eps"]) == (0.001, 0.9, 0.999, 1e-7)
        assert opt.weight_decay is None and opt.clipnorm is opt.clipvalue is opt.global_clipnorm is None
    assert optimizers.AdamW().weight_decay == 0.004
    for opt in (optimizers.Nadam(0.002, clipnorm=2.0, weight_decay=0.1), optimizers.SGD(0.1, 0.9, True, None, None, 0.5),
                optimizers.Adamax(global_clipnorm=1.0), optimizers.RMSprop(weight_decay=0.01)):
        again = optimizers.get(opt.get_config())
        assert type(again) is type(opt) and again.get_config() == opt.get_config()
    assert optimizers.SGD(0.1, 0.9, True, None, None, 0.5).clipvalue == 0.5  # Keras' positional order
    with pytest.raises(ValueError, match="clipnorm, global_clipnorm: only one of"):
        optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(ValueError, match="clipvalue"):
        optimizers.Adam(clipvalue=0)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.Nadam(weight_decay=-1)


def test_a_saved_model_keeps_clipping(tmp_path):
    x, y = data()
    m = model()
    m.compile(optimizer=optimizers.Nadam(clipnorm=0.1), loss="mse")
    m.fit(x, y, epochs=1, verbose=0)
    m.save(tmp_path / "m.fastnn")
    loaded = keras.load_model(tmp_path / "m.fastnn")
    assert isinstance(loaded.optimizer, optimizers.Nadam) and loaded.optimizer.clipnorm == 0.1
    m.fit(x, y, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(loaded.flat_params, m.flat_params, rtol=1e-12)
