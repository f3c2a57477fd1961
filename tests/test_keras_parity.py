"""fastnn against Keras 3 itself (torch backend), where it is installed: the same model, weights and batches
trained with the new optimizers, clipping, weight decay and losses give the same weights and loss values."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
real_keras = pytest.importorskip("keras")
if real_keras.backend.backend() != "torch":
    pytest.skip("these checks run Keras on the torch backend", allow_module_level=True)

import fastnn  # noqa: E402


@pytest.fixture(autouse=True)
def keras_in_float64():
    """Keras' layers compute in the dtype policy's type and cast fit/predict inputs to floatx: float64."""
    policy, floatx = real_keras.config.dtype_policy(), real_keras.config.floatx()
    real_keras.config.set_floatx("float64")
    real_keras.config.set_dtype_policy("float64")
    yield
    real_keras.config.set_dtype_policy(policy)
    real_keras.config.set_floatx(floatx)


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)), rng.standard_normal((n, 3))


def twin_models(regularizer):
    theirs = real_keras.Sequential([real_keras.Input(shape=(4,)),
                                    real_keras.layers.Dense(5, activation="tanh", kernel_regularizer=regularizer),
                                    real_keras.layers.Dense(3)])
    ours = fastnn.Sequential([fastnn.Input(shape=(4,)),
                              fastnn.layers.Dense(5, activation="tanh", kernel_regularizer=regularizer),
                              fastnn.layers.Dense(3)], dtype="float64", seed=0)
    ours.build()
    theirs.set_weights(ours.get_weights())
    return ours, theirs


# Keras keeps some optimizer scalars in float32, so float64 runs agree to ~1e-8, not 1e-12.
# (Adam and RMSprop are left out: Keras adds epsilon to the uncorrected sqrt(v), and inside RMSprop's
# sqrt, where fastnn follows the papers/PyTorch; those differ by O(epsilon) from Keras.)
OPTIMIZERS = [
    ("Nadam", dict(learning_rate=0.01)),
    ("Adamax", dict(learning_rate=0.02, beta_1=0.8)),
    ("Nadam", dict(learning_rate=0.01, weight_decay=0.1)),
    ("SGD", dict(learning_rate=0.05, momentum=0.9, clipnorm=0.3)),
    ("Adamax", dict(learning_rate=0.01, global_clipnorm=0.5)),
    ("SGD", dict(learning_rate=0.05, clipvalue=0.01, weight_decay=0.02)),
    ("Nadam", dict(learning_rate=0.01, clipnorm=0.2, weight_decay=0.05)),
]


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=[f"{n}-{'-'.join(k)}" for n, k in OPTIMIZERS])
@pytest.mark.parametrize("regularizer", [None, "l2"])
def test_training_matches_keras(name, kwargs, regularizer):
    x, y = data()
    ours, theirs = twin_models(regularizer)
    ours.compile(optimizer=getattr(fastnn.optimizers, name)(**kwargs), loss="mse")
    theirs.compile(optimizer=getattr(real_keras.optimizers, name)(**kwargs), loss="mse")
    ours.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    theirs.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6, atol=1e-7)


LOSSES = [
    ("CategoricalCrossentropy", dict(label_smoothing=0.1), "probs"),
    ("CategoricalCrossentropy", dict(from_logits=True, label_smoothing=0.2), "logits"),
    ("BinaryCrossentropy", dict(from_logits=True, label_smoothing=0.1), "binary"),
    ("BinaryCrossentropy", dict(), "binary_probs"),
    ("MeanAbsoluteError", dict(), "logits"),
    ("Huber", dict(delta=0.4), "logits"),
    ("KLDivergence", dict(), "probs"),
    ("CategoricalHinge", dict(), "logits"),
    ("SparseCategoricalCrossentropy", dict(from_logits=True), "sparse"),
]


@pytest.mark.parametrize("name,kwargs,kind", LOSSES, ids=[f"{n}-{k}" for n, _, k in LOSSES])
def test_loss_values_match_keras(name, kwargs, kind):
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((7, 4))
    labels = rng.integers(0, 4, 7)
    y_true = np.eye(4)[labels]
    y_pred = logits
    if kind == "probs":
        y_pred = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        y_true = y_true * 0.6 + 0.1 if name == "KLDivergence" else y_true
    elif kind in ("binary", "binary_probs"):
        y_true = (rng.random((7, 4)) < 0.5).astype(float)
        y_pred = logits if kind == "binary" else 1 / (1 + np.exp(-logits))
    elif kind == "sparse":
        y_true = labels
    ours = getattr(fastnn.losses, name)(**kwargs)(y_true, y_pred)
    theirs = float(getattr(real_keras.losses, name)(**kwargs)(y_true, y_pred))
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_new_layers_predict_as_keras():
    rng = np.random.default_rng(4)
    x = rng.random((3, 7, 6, 2)) * 255

    def stack(lib):
        L = lib.layers
        return [lib.Input(shape=(7, 6, 2)), L.Rescaling(1 / 127.5, offset=-1), L.ZeroPadding2D(((1, 2), (0, 1))),
                L.Conv2D(4, 3, data_format="channels_last", activation="relu"), L.SpatialDropout2D(0.3),
                L.Identity(), L.GlobalMaxPooling2D(keepdims=True), L.Reshape((2, 2)), L.Flatten(), L.Dense(3)]

    ours = fastnn.Sequential(stack(fastnn), dtype="float64", seed=1)
    theirs = real_keras.Sequential(stack(real_keras))
    ours.build()
    theirs.set_weights(ours.get_weights())
    # Keras' own float64 Dense (torch backend) agrees with a NumPy matmul to ~1e-7 relative only.
    np.testing.assert_allclose(ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)), rtol=1e-6,
                               atol=1e-6)
