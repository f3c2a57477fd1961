"""The functional API, written as Keras code with only the import changed."""
import numpy as np
import pytest

import fastnn as keras
from fastnn import layers
from conftest import numerical_grad

DEVICES = ["cpu", "cuda-emu"]


def data(n=48, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    return x, (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1)


def available(device):
    if device not in keras.backend.available():
        pytest.skip(f"{device} is not available here")
    return device


@pytest.mark.parametrize("device", DEVICES)
def test_a_functional_chain_trains_exactly_as_the_same_sequential(device):
    x, y = data()
    inputs = keras.Input(shape=(6,))
    h = layers.Dense(16, activation="relu")(inputs)
    h = layers.Dropout(0.2)(h)
    outputs = layers.Dense(3, activation="softmax")(h)
    model = keras.Model(inputs, outputs, device=available(device), seed=3)
    chain = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(16, activation="relu"), layers.Dropout(0.2),
                              layers.Dense(3, activation="softmax")], device=device, seed=3)
    for m in (model, chain):
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    np.testing.assert_array_equal(model.get_weights()[0], chain.get_weights()[0])
    h1 = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    h2 = chain.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert h1.history == h2.history
    np.testing.assert_array_equal(model.predict(x, verbose=0), chain.predict(x, verbose=0))
    assert [type(l).__name__ for l in model.layers] == ["InputLayer", "Dense", "Dropout", "Dense"]


def test_construction_errors_name_the_layers_and_shapes():
    inputs = keras.Input(shape=(6,), name="features")
    with pytest.raises(ValueError, match=r"'conv' \(Conv2D\) cannot take the output of 'features' \(InputLayer\) "
                                         r"with output shape \(None, 6\)"):
        layers.Conv2D(4, 3, name="conv")(inputs)
    other = keras.Input(shape=(3,), name="other")
    with pytest.raises(ValueError, match="outputs: depend on the Input 'other'"):
        keras.Model(inputs, layers.Dense(2)(other))
    with pytest.raises(TypeError, match="inputs: layer 'dense' was called on ndarray"):
        layers.Dense(2, name="dense")(np.zeros((2, 6)))
    with pytest.raises(TypeError, match="outputs: expected a symbolic tensor"):
        keras.Model(inputs, "dense")


def test_a_layer_called_twice_shares_its_weights_and_sums_its_gradients():
    inputs = keras.Input(shape=(4,))
    shared = layers.Dense(4, activation="tanh", name="shared")
    h = shared(shared(inputs))
    model = keras.Model(inputs, layers.Dense(2, name="head")(h), dtype="float64", seed=0)
    model.compile(optimizer="sgd", loss="mse")
    assert len(model.get_weights()) == 4 and model.count_params() == 20 + 10
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    model.compute_gradients(x, y)
    grads = np.array(model.flat_grads)
    numeric = numerical_grad(lambda: model.test_on_batch(x, y), model.flat_params)
    np.testing.assert_allclose(grads, numeric, rtol=1e-6, atol=1e-9)


def test_several_inputs_and_outputs_with_per_output_losses_weights_and_metrics():
    x, y = data()
    a, b = keras.Input(shape=(6,), name="a"), keras.Input(shape=(2,), name="b")
    h = layers.Dense(8, activation="relu")(a)
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    reg = layers.Dense(1, name="reg")(h)
    model = keras.Model([a, b], [cls, reg], seed=0)
    with pytest.raises(ValueError, match="metrics: the model has 2 outputs"):
        model.compile("sgd", loss="mse", metrics=["mae"])
    model.compile(optimizer="sgd", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights=[1.0, 0.5], metrics={"cls": ["accuracy"]})
    target = x[:, :1] * 2
    history = model.fit({"a": x, "b": x[:, :2]}, [y, target], epochs=2, batch_size=16, verbose=0,
                        validation_split=0.25)
    assert list(history.history) == ["loss", "cls_loss", "cls_accuracy", "reg_loss", "val_loss", "val_cls_loss",
                                     "val_cls_accuracy", "val_reg_loss"]
    batches = (([x[i:i + 16], x[i:i + 16, :2]], [y[i:i + 16], target[i:i + 16]]) for i in range(0, 48, 16))
    model.fit(batches, epochs=1, verbose=0, validation_data=([x, x[:, :2]], [y, target]))
    p_cls, p_reg = model.predict([x, x[:, :2]], verbose=0)
    ce = -np.log(p_cls[np.arange(len(y)), y]).mean()
    mse = ((p_reg - target) ** 2).mean()
    logs = model.evaluate([x, x[:, :2]], {"cls": y, "reg": target}, verbose=0, return_dict=True)
    assert logs["cls_loss"] == pytest.approx(ce, rel=1e-5)
    assert logs["reg_loss"] == pytest.approx(0.5 * mse, rel=1e-5)
    assert logs["loss"] == pytest.approx(ce + 0.5 * mse, rel=1e-5)
    assert logs["cls_accuracy"] == pytest.approx((p_cls.argmax(1) == y).mean())
    with pytest.raises(ValueError, match=r"x: the model has 2 inputs \['a', 'b'\]"):
        model.fit(x, [y, target], verbose=0)


def test_a_feature_extractor_shares_the_trained_weights():
    x, y = data()
    inputs = keras.Input(shape=(6,))
    features = layers.Dense(8, activation="relu", name="features")(inputs)
    model = keras.Model(inputs, layers.Dense(3, activation="softmax")(features), seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, verbose=0)
    extractor = keras.Model(inputs=model.inputs, outputs=model.get_layer("features").output)
    np.testing.assert_array_equal(extractor.predict(x, verbose=0), model.output_of(x, model.get_layer("features")))
    model.fit(x, y, epochs=1, verbose=0)  # the extractor sees the new weights: shared, not copied
    np.testing.assert_array_equal(extractor.predict(x, verbose=0), model.output_of(x, model.get_layer("features")))


def test_a_nested_sequential_base_freezes_trains_and_shows_as_one_row():
    x, y = data()
    base = keras.Sequential([keras.Input(shape=(6,)), layers.Dense(8, activation="relu"),
                             layers.BatchNormalization()], name="base")
    inputs = keras.Input(shape=(6,))
    model = keras.Model(inputs, layers.Dense(3, activation="softmax")(base(inputs)), seed=0)
    base.trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    frozen = base.get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    for got, want in zip(base.get_weights(), frozen):  # batch norm's moving statistics too
        np.testing.assert_array_equal(got, want)
    base.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(base.get_weights()[0], frozen[0])
    printed = []
    model.summary(print_fn=printed.append)
    assert "base (Sequential)" in printed[0] and "Connected to" in printed[0] and "input_layer[0][0]" in printed[0]


def test_save_load_clone_and_json_round_trip(tmp_path):
    x, y = data()
    a = keras.Input(shape=(6,), name="a")
    shared = layers.Dense(6, activation="relu", name="shared")
    h = shared(shared(a))
    out1 = layers.Dense(3, activation="softmax", name="cls")(h)
    out2 = layers.Dense(1, name="reg")(h)
    model = keras.Model(a, [out1, out2], seed=0)
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy", "mse"], metrics=[["accuracy"], []])
    model.fit(x, [y, x[:, :1]], epochs=1, verbose=0)
    model.save(tmp_path / "m.safetensors")
    again = keras.load_model(tmp_path / "m.safetensors")
    for got, want in zip(again.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_array_equal(got, want)
    assert again.metrics_names == model.metrics_names == ["loss", "cls_loss", "cls_accuracy", "reg_loss"]
    again.fit(x, [y, x[:, :1]], epochs=1, verbose=0)  # the optimizer state came along
    clone = keras.models.clone_model(model)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers] and clone.count_params() == 42 + 21 + 7
    rebuilt = keras.models.model_from_json(model.to_json())
    assert rebuilt.output_names == ["cls", "reg"]


@pytest.mark.parametrize("device", DEVICES)
def test_inference_from_several_threads_matches_one_thread(device):
    from concurrent.futures import ThreadPoolExecutor

    x, _ = data(64)
    inputs = keras.Input(shape=(6,))
    shared = layers.Dense(6, activation="relu")
    hidden = shared(shared(inputs))
    model = keras.Model(inputs, layers.Dense(2)(hidden), device=available(device), seed=0)
    extractor = keras.Model(inputs, hidden, device=device)  # the same layers and buffers: the same lock
    want = [model.predict(x, verbose=0), extractor.predict(x, verbose=0)]
    with ThreadPoolExecutor(4) as pool:
        for i, got in enumerate(pool.map(lambda i: (model, extractor)[i % 2].predict(x, batch_size=8, verbose=0),
                                         range(16))):
            np.testing.assert_array_equal(got, want[i % 2])


def test_a_functional_model_called_on_a_tensor_is_one_node_with_shared_weights():
    x, y = data()
    inner_in = keras.Input(shape=(6,))
    a = layers.Dense(5, activation="relu")(inner_in)
    b = layers.Dense(5, activation="tanh")(inner_in)
    inner = keras.Model(inner_in, layers.Concatenate()([a, b]), name="inner")
    inputs = keras.Input(shape=(6,))
    outer = keras.Model(inputs, layers.Dense(3, activation="softmax")(inner(inputs)), seed=0)
    assert inner.output.shape == (None, 10) and [l.name for l in outer.layers][1] == "inner"
    outer.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    outer.fit(x, y, epochs=2, verbose=0)
    # the inner model computes with the weights the outer one trained
    (w1, b1), (w2, b2) = inner.layers[1].get_weights(), inner.layers[2].get_weights()
    want = np.concatenate([np.maximum(x @ w1 + b1, 0), np.tanh(x @ w2 + b2)], axis=1)
    np.testing.assert_allclose(inner.predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"'concatenate' \(Concatenate\) cannot take the output of"):
        layers.Concatenate(name="concatenate")([a, keras.Input(shape=(2, 2))])


def test_a_functional_base_inside_a_sequential_model_as_keras_applications_are_used():
    x, y = data()
    inputs = keras.Input(shape=(6,))
    h = layers.Dense(6, activation="relu")(inputs)
    base = keras.Model(inputs, layers.Add()([h, inputs]), name="base")  # a skip connection
    model = keras.Sequential([base, layers.Dense(3, activation="softmax")], seed=0)
    base.trainable = False
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    frozen = base.get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    for got, want in zip(base.get_weights(), frozen):
        np.testing.assert_array_equal(got, want)
    w, b = base.get_weights()
    head_w, head_b = model.layers[1].get_weights()
    z = (np.maximum(x @ w + b, 0) + x) @ head_w + head_b
    p = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(model.predict(x, verbose=0), p / p.sum(1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_a_sequential_holding_a_functional_base_saves_and_loads(tmp_path):
    x, y = data()
    inputs = keras.Input(shape=(6,))
    base = keras.Model(inputs, layers.Add()([layers.Dense(6, activation="relu")(inputs), inputs]), name="base")
    model = keras.Sequential([base, layers.Dense(3, activation="softmax")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(keras.load_model(tmp_path / "m.safetensors").predict(x, verbose=0),
                                  model.predict(x, verbose=0))
