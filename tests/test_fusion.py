"""BatchNormalization -> ReLU runs fused in a model's plan: the same training as the separate layers,
and only where nothing else reads the batch norm's own output. Written as Keras code, import changed."""
import numpy as np
import pytest

import fastnn as keras
from fastnn import layers

DEVICES = ["cpu", "cuda-emu"]
TOL = {"float32": 2e-6, "float64": 1e-12}


def available(device):
    if device not in keras.backend.available():
        pytest.skip(f"{device} is not available here")
    return device


def conv_bn_relu(device, dtype, relu=lambda: layers.Activation("relu"), frozen=False):
    model = keras.Sequential([
        layers.Conv2D(6, 3, padding="same", use_bias=False, input_shape=(7, 7, 2)),
        layers.BatchNormalization(), relu(),
        layers.MaxPooling2D(2),
        layers.Conv2D(5, 3, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.ReLU(),
        layers.Flatten(), layers.Dense(3, activation="softmax")], device=device, dtype=dtype, seed=3)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy")
    model.build()
    if frozen:
        model.layers[1].trainable = False
    return model


def data(n=16):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 7, 7, 2)), np.arange(n) % 3


def fused_pairs(model):
    return [(bn.layer.name, act.layer.name) for bn, act in model.plan.fused]


def weights(model):
    return [np.asarray(w, np.float64) for w in model.get_weights()]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("frozen", [False, True], ids=["trainable", "frozen-bn"])
def test_fused_batchnorm_relu_trains_as_the_separate_layers(device, dtype, frozen):
    x, y = data()
    fused = conv_bn_relu(available(device), dtype, frozen=frozen)
    separate = conv_bn_relu(device, dtype, frozen=frozen)
    separate.set_weights(fused.get_weights())
    assert len(fused_pairs(fused)) == 2
    for _ in range(4):
        loss = fused.train_on_batch(x, y)
        with separate.plan.unfused():
            expected = separate.train_on_batch(x, y)
        np.testing.assert_allclose(loss, expected, rtol=TOL[dtype])
    for a, b in zip(weights(fused), weights(separate)):  # kernels, gamma/beta, moving statistics
        np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype])
    with separate.plan.unfused():
        expected = separate.predict(x, verbose=0)
    np.testing.assert_allclose(fused.predict(x, verbose=0), expected, rtol=TOL[dtype], atol=TOL[dtype])


def test_the_relu_layer_class_fuses_too():
    model = conv_bn_relu("cpu", "float64", relu=layers.ReLU)
    assert [(type(bn.layer), type(act.layer)) for bn, act in model.plan.fused] == \
        [(layers.BatchNormalization, layers.ReLU)] * 2


def test_a_fused_batchnorm_still_reports_its_own_output():
    x, _ = data(4)
    model = conv_bn_relu("cpu", "float64")
    bn = model.layers[1]
    own = model.output_of(x, bn)
    assert (own < 0).any()  # before the ReLU
    after = model.output_of(x, model.layers[2])
    np.testing.assert_array_equal(after, np.maximum(own, 0))


def test_pairs_whose_batchnorm_output_is_read_elsewhere_stay_separate():
    inputs = keras.Input(shape=(5, 5, 3))
    bn = layers.BatchNormalization()(layers.Conv2D(4, 3)(inputs))
    two_readers = layers.Add()([layers.ReLU()(bn), bn])  # the BN output feeds the ReLU and the Add
    m = keras.Model(inputs, layers.Flatten()(two_readers))
    m.build()
    assert fused_pairs(m) == []
    both = keras.Model(inputs, [layers.Activation("relu")(bn), bn])  # the BN output is a model output
    both.build()
    assert fused_pairs(both) == []


def test_only_plain_batchnorm_followed_by_relu_fuses():
    def chain(*stack):
        m = keras.Sequential([layers.Dense(4, input_shape=(3,)), *stack], seed=0)
        m.build()
        return fused_pairs(m)

    assert chain(layers.BatchNormalization(), layers.Activation("relu")) != []
    assert chain(layers.BatchNormalization(), layers.Activation("tanh")) == []
    assert chain(layers.BatchNormalization(), layers.LeakyReLU()) == []
    assert chain(layers.BatchNormalization(synchronized=True), layers.ReLU()) == []
    assert chain(layers.BatchNormalization(activity_regularizer="l2"), layers.ReLU()) == []
    assert chain(layers.ReLU(), layers.BatchNormalization()) == []


def test_a_relu_activity_regularizer_applies_to_the_fused_output():
    x, y = np.random.default_rng(1).normal(size=(8, 3)), np.arange(8) % 2

    def model():
        m = keras.Sequential([layers.Dense(4, input_shape=(3,)), layers.BatchNormalization(),
                              layers.Activation("relu", activity_regularizer=keras.regularizers.L2(0.5)),
                              layers.Dense(2, activation="softmax")], seed=0, dtype="float64")
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        m.build()
        return m

    fused, separate = model(), model()
    assert fused_pairs(fused) != []
    with separate.plan.unfused():
        expected = [separate.train_on_batch(x, y) for _ in range(3)]
    np.testing.assert_allclose([fused.train_on_batch(x, y) for _ in range(3)], expected, rtol=1e-12)


def relu_pool(device, dtype, pool=lambda: layers.MaxPooling2D(2), separate_relu=False):
    conv = [layers.Conv2D(4, 3, padding="same", input_shape=(9, 9, 2))] + [layers.Activation("relu")] \
        if separate_relu else [layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(9, 9, 2))]
    model = keras.Sequential(conv + [pool(), layers.Conv2D(3, 2, activation="relu"), layers.MaxPooling2D(2),
                                     layers.Flatten(), layers.Dense(3, activation="softmax")],
                             device=device, dtype=dtype, seed=5)
    model.compile(optimizer=keras.optimizers.SGD(0.2, momentum=0.9), loss="sparse_categorical_crossentropy")
    model.build()
    return model


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", ["conv-relu", "activation-relu", "same-overlapping"])
def test_relu_before_max_pooling_takes_its_derivative_on_the_pooled_side(device, dtype, case):
    pool = (lambda: layers.MaxPooling2D(3, strides=2, padding="same")) if case == "same-overlapping" \
        else (lambda: layers.MaxPooling2D(2))
    fused = relu_pool(available(device), dtype, pool, separate_relu=case == "activation-relu")
    separate = relu_pool(device, dtype, pool, separate_relu=case == "activation-relu")
    separate.set_weights(fused.get_weights())
    kinds = [(type(a.layer).__name__, type(b.layer).__name__) for a, b in fused.plan.fused]
    assert kinds == [("Activation" if case == "activation-relu" else "Conv2D", "MaxPooling2D"),
                     ("Conv2D", "MaxPooling2D")]
    rng = np.random.default_rng(2)
    x = rng.normal(size=(12, 9, 9, 2))
    x[:3] = -np.abs(x[:3])  # whole windows at or below zero: the ReLU's ties at 0
    y = np.arange(12) % 3
    for _ in range(4):
        loss = fused.train_on_batch(x, y)
        with separate.plan.unfused():
            expected = separate.train_on_batch(x, y)
        np.testing.assert_allclose(loss, expected, rtol=TOL[dtype])
    for a, b in zip(weights(fused), weights(separate)):
        np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype])


def test_a_relu_read_elsewhere_keeps_its_own_derivative():
    inputs = keras.Input(shape=(6, 6, 2))
    a = layers.Conv2D(3, 3, activation="relu")(inputs)
    m = keras.Model(inputs, [layers.Flatten()(layers.MaxPooling2D(2)(a)), layers.Flatten()(a)])
    m.build()
    assert m.plan.fused == []
    chain = keras.Sequential([layers.Conv2D(3, 3, activation="tanh", input_shape=(6, 6, 2)), layers.MaxPooling2D(2)])
    chain.build()
    assert chain.plan.fused == []
