"""Keras 3 losses with only the import changed: classes, functions, from_logits, label smoothing."""
import warnings

import numpy as np
import pytest

import fastnn as keras
from fastnn import layers, losses
from fastnn import reference as ref

DEVICES = ["cpu", pytest.param("cuda-emu", marks=pytest.mark.skipif(
    "cuda-emu" not in keras.backend.available(), reason="fastnn built without FASTNN_CUDA_EMU=ON"))]


def data(n=48, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype("float64"), rng.integers(0, classes, n)


def model(activation, units=3, device="cpu", seed=1):
    return keras.Sequential([keras.Input(shape=(4,)), layers.Dense(5, activation="tanh"),
                             layers.Dense(units, activation=activation)], device=device, dtype="float64", seed=seed)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sparse", [False, True])
def test_from_logits_after_a_linear_layer_trains_as_the_fused_softmax(device, sparse):
    x, labels = data()
    y = labels if sparse else np.eye(3)[labels]
    cls = losses.SparseCategoricalCrossentropy if sparse else losses.CategoricalCrossentropy
    fused, linear = model("softmax", device=device), model(None, device=device)
    fused.compile(optimizer=keras.optimizers.SGD(0.1), loss=cls())
    linear.compile(optimizer=keras.optimizers.SGD(0.1), loss=cls(from_logits=True))
    h1 = fused.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history["loss"]
    h2 = linear.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h2, h1, rtol=1e-12)
    np.testing.assert_allclose(softmax(linear.predict(x, verbose=0)), fused.predict(x, verbose=0), rtol=1e-10)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sparse", [False, True])
def test_label_smoothing_smooths_the_targets(device, sparse):
    x, labels = data()
    ls = 0.2
    smoothed = np.eye(3)[labels] * (1 - ls) + ls / 3
    cls = losses.SparseCategoricalCrossentropy if sparse else losses.CategoricalCrossentropy
    m = model("softmax", device=device)
    m.compile(optimizer="sgd", loss=cls(label_smoothing=ls))
    p = m.predict(x, verbose=0)
    expected = -(smoothed * np.log(p)).sum(axis=1).mean()
    assert m.evaluate(x, labels if sparse else np.eye(3)[labels], verbose=0) == pytest.approx(expected, rel=1e-10)
    m.fit(x, labels if sparse else np.eye(3)[labels], epochs=2, verbose=0)  # the gradient runs with smoothed targets


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy_label_smoothing_and_logits(device, from_logits):
    x, labels = data()
    y = (labels > 0).astype("float64").reshape(-1, 1)
    m = model(None if from_logits else "sigmoid", units=1, device=device)
    m.compile(optimizer="sgd", loss=losses.BinaryCrossentropy(from_logits=from_logits, label_smoothing=0.1))
    out = m.predict(x, verbose=0)
    z = out if from_logits else np.log(out) - np.log1p(-out)
    expected = ref.bce_logits_forward(z, y * 0.9 + 0.05).mean()
    assert m.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("loss,name", [(losses.MeanAbsoluteError(), "mae"), ("mae", "mae"),
                                       (losses.Huber(delta=0.5), "huber"), ("kl_divergence", "kl_divergence"),
                                       (losses.CategoricalHinge(), "categorical_hinge"), (losses.mae, "mae")])
def test_new_losses_in_a_model_match_the_reference(device, loss, name):
    x, labels = data()
    y = np.eye(3)[labels]
    m = model("softmax" if name == "kl_divergence" else None, device=device)
    m.compile(optimizer="adam", loss=loss)
    kw = {"delta": 0.5} if name == "huber" else {}
    expected = getattr(ref, name + "_forward")(m.predict(x, verbose=0), y, **kw).mean()
    assert m.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-10)
    before = m.evaluate(x, y, verbose=0)
    m.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert m.evaluate(x, y, verbose=0) < before


def test_from_logits_after_softmax_warns_as_keras():
    m = model("softmax")
    with pytest.warns(UserWarning, match="from_logits=True.*softmax.*does not represent logits"):
        m.compile(optimizer="sgd", loss=losses.CategoricalCrossentropy(from_logits=True))
    linear = model(None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        linear.compile(optimizer="sgd", loss=losses.CategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="pass from_logits=True"):
        model(None).compile(optimizer="sgd", loss=losses.CategoricalCrossentropy())


def test_loss_functions_match_the_reference():
    rng = np.random.default_rng(3)
    p, t = rng.random((6, 4)) + 0.05, rng.random((6, 4))
    np.testing.assert_allclose(losses.mae(t, p), ref.mae_forward(p, t), rtol=1e-12)
    np.testing.assert_allclose(losses.mse(t, p), ref.mse_forward(p, t), rtol=1e-12)
    np.testing.assert_allclose(losses.huber(t, p, delta=0.3), ref.huber_forward(p, t, delta=0.3), rtol=1e-12)
    np.testing.assert_allclose(losses.kl_divergence(t, p / 2), ref.kl_divergence_forward(p / 2, t), rtol=1e-12)
    probs, onehot = softmax(p), np.eye(4)[[0, 1, 2, 3, 0, 1]]
    np.testing.assert_allclose(losses.categorical_crossentropy(onehot, probs), -np.log(probs[onehot > 0]), rtol=1e-9)
    np.testing.assert_allclose(losses.sparse_categorical_crossentropy([0, 1, 2, 3, 0, 1], p, from_logits=True),
                               -np.log(probs[onehot > 0]), rtol=1e-12)
    np.testing.assert_allclose(losses.binary_crossentropy(onehot, probs),
                               -(onehot * np.log(probs) + (1 - onehot) * np.log(1 - probs)).mean(axis=1), rtol=1e-9)


def test_get_accepts_keras_names_functions_instances_and_configs():
    assert isinstance(losses.get("mean_absolute_error"), losses.MeanAbsoluteError)
    assert isinstance(losses.get("Huber"), losses.Huber)
    assert isinstance(losses.get(losses.kl_divergence), losses.KLDivergence)
    huber = losses.Huber(delta=2.0)
    assert losses.get(huber) is huber
    again = losses.get(losses.serialize(losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)))
    assert again.from_logits and again.label_smoothing == 0.1
    keras_config = {"module": "keras.losses", "class_name": "SparseCategoricalCrossentropy", "registered_name": None,
                    "config": {"name": "sparse_categorical_crossentropy", "reduction": "sum_over_batch_size",
                               "from_logits": True, "ignore_class": None, "dtype": None}}
    assert losses.get(keras_config).from_logits  # as a .keras file stores it
    with pytest.raises(ValueError, match="loss: fastnn does not support ignore_class=0"):
        losses.get({"class_name": "SparseCategoricalCrossentropy", "config": {"ignore_class": 0}})
    with pytest.raises(ValueError, match="loss: expected one of"):
        losses.get("poisson")
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.CategoricalCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="delta"):
        losses.Huber(delta=0)
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanAbsoluteError(reduction="sum")


def test_a_saved_model_keeps_its_loss_arguments(tmp_path):
    x, labels = data()
    m = model(None)
    m.compile(optimizer="adam", loss=losses.SparseCategoricalCrossentropy(from_logits=True, label_smoothing=0.1))
    m.fit(x, labels, epochs=1, verbose=0)
    m.save(tmp_path / "m.fastnn")
    loaded = keras.load_model(tmp_path / "m.fastnn")
    assert loaded.loss.from_logits and loaded.loss.label_smoothing == 0.1
    assert loaded.evaluate(x, labels, verbose=0) == pytest.approx(m.evaluate(x, labels, verbose=0), rel=1e-12)


def test_loss_objects_are_callable_as_in_keras():
    rng = np.random.default_rng(5)
    logits, labels = rng.standard_normal((6, 3)), np.array([0, 2, 1, 1, 0, 2])
    probs, onehot = softmax(logits), np.eye(3)[labels]
    expected = -np.log(probs[onehot > 0])
    assert losses.CategoricalCrossentropy()(onehot, probs) == pytest.approx(expected.mean(), rel=1e-9)
    assert losses.CategoricalCrossentropy(from_logits=True)(onehot, logits) == pytest.approx(expected.mean(), rel=1e-12)
    assert losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits) == pytest.approx(expected.mean(),
                                                                                                  rel=1e-12)
    sw = np.array([1, 0, 2, 1, 1, 0.5])
    assert losses.SparseCategoricalCrossentropy()(labels, probs, sample_weight=sw) == pytest.approx(
        (expected * sw).mean(), rel=1e-9)
    smoothed = onehot * 0.9 + 0.1 / 3
    assert losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(onehot, logits) == pytest.approx(
        -(smoothed * np.log(probs)).sum(axis=1).mean(), rel=1e-12)
    assert losses.Huber(0.5)(onehot, logits) == pytest.approx(ref.huber_forward(logits, onehot, 0.5).mean(), rel=1e-12)
    assert losses.MeanAbsoluteError()(onehot, logits) == pytest.approx(np.abs(logits - onehot).mean(), rel=1e-12)
    assert losses.CategoricalHinge()(onehot, logits) == pytest.approx(
        ref.categorical_hinge_forward(logits, onehot).mean(), rel=1e-12)
    assert losses.KLDivergence()(onehot * 0.5 + 0.1, probs) == pytest.approx(
        ref.kl_divergence_forward(probs, onehot * 0.5 + 0.1).mean(), rel=1e-12)
    z = logits[:, :1]
    t = (labels[:, None] > 0).astype(float)
    assert losses.BinaryCrossentropy(from_logits=True)(t, z) == pytest.approx(ref.bce_logits_forward(z, t).mean(),
                                                                              rel=1e-12)
