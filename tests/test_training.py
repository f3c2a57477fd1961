"""The training loop: data sources, weights, callbacks, the step API, threads and bad input."""
import threading

import numpy as np
import pytest

import fastnn
from fastnn import Adam, Dense, Dropout, Sequential, callbacks
from fastnn.data import Sequence


def blobs(n=96, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((3, 4)) * 3
    y = rng.integers(0, 3, n)
    return (centers[y] + rng.standard_normal((n, 4))).astype(np.float32), y


def mlp(device="cpu", seed=0, dtype="float32", dropout=0.2):
    model = Sequential([Dense(16, activation="relu", input_shape=(4,)), Dropout(dropout),
                        Dense(3, activation="softmax")], device=device, seed=seed, dtype=dtype)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(0.01), metrics=["accuracy"])
    return model


def params(model):
    p = model.flat_params
    return np.array(p.get() if hasattr(p, "get") else p)


class Batches(Sequence):
    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        sl = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[sl], self.y[sl]

    def on_epoch_end(self):
        self.epochs_ended += 1


def generator(x, y, batch_size, epochs):
    for _ in range(epochs):
        for i in range(0, len(x), batch_size):
            yield x[i:i + batch_size], y[i:i + batch_size]


# -- data sources ------------------------------------------------------------------------------

def test_every_source_trains_the_same_weights(backend, tmp_path):
    x, y = blobs()
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    reference = mlp(backend.name)
    reference.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    want = params(reference)
    sources = {
        "memmap": lambda: (np.load(tmp_path / "x.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r"), {}),
        "generator": lambda: (generator(x, y, 16, 2), None, {"steps_per_epoch": 6}),
        "sequence": lambda: (Batches(x, y, 16), None, {}),
    }
    for name, make in sources.items():
        model = mlp(backend.name)
        xs, ys, kwargs = make()
        hist = model.fit(xs, ys, batch_size=16, epochs=2, shuffle=False, verbose=0, **kwargs)
        np.testing.assert_array_equal(params(model), want, err_msg=name)
        assert len(hist.history["loss"]) == 2
        np.testing.assert_allclose(model.predict(xs if name == "memmap" else Batches(x, y, 16), verbose=0),
                                   reference.predict(x, verbose=0), rtol=1e-6, err_msg=name)


def test_shuffled_memmap_and_array_agree_and_memmap_is_read_lazily(tmp_path):
    x, y = blobs(200)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    a, b = mlp(seed=1, dropout=0.0), mlp(seed=1, dropout=0.0)
    a.fit(x, y, batch_size=32, epochs=2, verbose=0)
    b.fit(np.load(tmp_path / "x.npy", mmap_mode="r"), np.load(tmp_path / "y.npy", mmap_mode="r"), batch_size=32,
          epochs=2, verbose=0)
    # The same samples in every batch (a memmap batch is read in file order: sums differ in rounding only).
    np.testing.assert_allclose(params(a), params(b), rtol=1e-5, atol=1e-6)
    part = np.load(tmp_path / "x.npy", mmap_mode="r")[50:]  # a slice of a memmap is read from its own offset
    np.testing.assert_allclose(a.predict(part, verbose=0), a.predict(x[50:], verbose=0), rtol=1e-6)


def test_shuffle_batch_keeps_batches_of_consecutive_samples_and_memmap_reads_them_whole(tmp_path):
    from fastnn.training.adapters import adapter
    from fastnn.training.data import BatchConverter

    x, y = blobs(200)
    x[:, 0] = np.arange(200)  # each sample's index
    np.save(tmp_path / "x.npy", x)
    model = mlp(seed=1, dropout=0.0)
    conv = BatchConverter(model)
    for source in (x, np.load(tmp_path / "x.npy", mmap_mode="r")):
        batches = adapter(conv, source, y, batch_size=32, shuffle="batch").epoch(np.random.default_rng(0))
        ids = [np.sort(b[0][:, 0]).astype(int) for b in batches]  # (batch buffers are reused: read each now)
        assert sorted(i[0] for i in ids) == list(range(0, 200, 32))  # every block once, in a shuffled order
        assert [i[0] for i in ids] != list(range(0, 200, 32))
        for i in ids:
            np.testing.assert_array_equal(i, np.arange(i[0], min(i[0] + 32, 200)))
    a, b = mlp(seed=1, dropout=0.0), mlp(seed=1, dropout=0.0)
    a.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle="batch")
    b.fit(np.load(tmp_path / "x.npy", mmap_mode="r"), y, batch_size=32, epochs=2, verbose=0, shuffle="batch")
    np.testing.assert_allclose(params(a), params(b), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="shuffle: expected True, False or 'batch', got 'rows'"):
        a.fit(x, y, shuffle="rows", verbose=0)


def test_sequence_shuffles_batches_and_ends_epochs():
    x, y = blobs()
    seq = Batches(x, y, 32)
    model = mlp()
    model.fit(seq, epochs=3, verbose=0, shuffle=True)
    assert seq.epochs_ended == 3 and model.optimizer.iterations == 9


def test_class_and_sample_weights_scale_each_samples_loss(backend):
    x, y = blobs(12)
    model = mlp(backend.name, dtype="float64", dropout=0.0)
    probs = model.predict(x, verbose=0)
    losses = -np.log(probs[np.arange(len(y)), y])
    w = np.linspace(0.0, 2.0, len(y))
    assert model.test_on_batch(x, y, sample_weight=w)[0] == pytest.approx((w * losses).sum() / len(y), rel=1e-12)
    cw = {0: 0.5, 1: 2.0, 2: 1.0}
    per_class = np.array([cw[c] for c in y])
    got = model.evaluate(x, y, sample_weight=per_class, verbose=0, return_dict=True)["loss"]
    assert got == pytest.approx((per_class * losses).sum() / len(y), rel=1e-12)

    # The gradient step of class_weight equals that of the matching sample_weight.
    a, b = mlp(backend.name, dtype="float64", dropout=0.0), mlp(backend.name, dtype="float64", dropout=0.0)
    a.fit(x, y, class_weight=cw, batch_size=4, epochs=1, shuffle=False, verbose=0)
    b.fit(x, y, sample_weight=per_class, batch_size=4, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_array_equal(params(a), params(b))
    c = mlp(backend.name, dtype="float64", dropout=0.0)
    c.compute_gradients(x, y, sample_weight=2 * np.ones(len(y)))
    doubled = np.array(c.flat_grads)
    c.compute_gradients(x, y)
    np.testing.assert_allclose(doubled, 2 * np.array(c.flat_grads), rtol=1e-12)


# -- Keras' fit semantics and the step API ------------------------------------------------------

def test_a_second_fit_trains_again_and_initial_epoch_resumes():
    x, y = blobs()
    model = mlp()
    first = model.fit(x, y, epochs=3, verbose=0)
    after_first = params(model)
    second = model.fit(x, y, epochs=2, verbose=0)
    assert first.epoch == [0, 1, 2] and second.epoch == [0, 1] and model.history is second
    assert not np.array_equal(params(model), after_first) and model.optimizer.iterations == 5 * 3
    resumed = model.fit(x, y, epochs=7, initial_epoch=5, verbose=0)
    assert resumed.epoch == [5, 6] and model.epoch == 7


def test_step_api_matches_keras_return_values():
    x, y = blobs(32)
    model = mlp(dropout=0.0)
    loss, acc = model.test_on_batch(x, y)
    assert model.evaluate(x, y, batch_size=32, verbose=0) == pytest.approx([loss, acc])
    assert model.metrics_names == ["loss", "accuracy"]
    before = model.train_on_batch(x, y, return_dict=True)
    assert set(before) == {"loss", "accuracy"} and before["loss"] == pytest.approx(loss)
    assert model.optimizer.iterations == 1
    out = model.predict_on_batch(x)
    assert isinstance(out, np.ndarray) and out.shape == (32, 3)
    np.testing.assert_array_equal(model(x), out)
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)
    plain = Sequential([Dense(2, input_shape=(4,))], seed=0)
    plain.compile(loss="mse", optimizer="sgd")
    assert isinstance(plain.train_on_batch(x, np.zeros((32, 2))), float)  # no metrics: the loss alone
    assert fastnn.Sequential([Dense(2, input_shape=(4,))]).summary() is None


def test_history_keys_are_the_metric_names_passed():
    x, y = blobs()
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))], seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["acc"])
    hist = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25)
    assert list(hist.history) == ["loss", "acc", "val_loss", "val_acc"]


# -- callbacks -----------------------------------------------------------------------------------

class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        attr = super().__getattribute__(name)
        if name.startswith("on_"):
            def record(*args):
                self.calls.append(name + "".join(f"({a})" for a in args[:1] if isinstance(a, int)))
                return attr(*args)
            return record
        return attr


def test_callbacks_run_in_keras_order():
    """The order of Keras 3's fit: train begin; per epoch: epoch begin, batch begin/end per batch,
    validation (test begin, test batches, test end), epoch end; train end."""
    x, y = blobs(8)
    rec = Recorder()
    for hook in ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
                 "on_predict_batch_begin", "on_predict_batch_end"):
        setattr(rec, hook, getattr(callbacks.Callback(), hook))  # an override the list sees
    mlp().fit(x, y, batch_size=4, epochs=2, validation_data=(x[:4], y[:4]), callbacks=[rec], verbose=0)
    epoch = ["on_train_batch_begin(0)", "on_train_batch_end(0)", "on_train_batch_begin(1)", "on_train_batch_end(1)",
             "on_test_begin", "on_test_batch_begin(0)", "on_test_batch_end(0)", "on_test_end"]
    assert rec.calls == (["on_train_begin", "on_epoch_begin(0)", *epoch, "on_epoch_end(0)", "on_epoch_begin(1)",
                          *epoch, "on_epoch_end(1)", "on_train_end"])
    rec.calls.clear()
    mlp().predict(x, batch_size=4, callbacks=[rec], verbose=0)
    assert rec.calls == ["on_predict_begin", "on_predict_batch_begin(0)", "on_predict_batch_end(0)",
                         "on_predict_batch_begin(1)", "on_predict_batch_end(1)", "on_predict_end"]


def test_lambda_callback_and_batch_logs():
    x, y = blobs(64)
    seen, ends = [], []
    cb = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append((batch, sorted(logs))),
                                  on_epoch_end=lambda epoch, logs: ends.append(epoch))
    mlp().fit(x, y, batch_size=32, epochs=2, callbacks=[cb], verbose=0)
    assert seen == [(0, ["accuracy", "loss"]), (1, ["accuracy", "loss"])] * 2 and ends == [0, 1]
    with pytest.raises(ValueError, match="on_batch_middle: not a callback hook"):
        callbacks.LambdaCallback(on_batch_middle=print)


def test_tensorboard_writes_what_the_logs_hold(tmp_path):
    pytest.importorskip("tensorboardX")
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    x, y = blobs()
    tb = callbacks.TensorBoard(tmp_path / "logs", update_freq=2, histogram_freq=1)
    hist = mlp().fit(x, y, batch_size=32, epochs=2, validation_split=0.25, callbacks=[tb], verbose=0)

    def scalars(run):
        acc = event_accumulator.EventAccumulator(str(tmp_path / "logs" / run))
        acc.Reload()
        return acc, {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}

    train_acc, train = scalars("train")
    _, val = scalars("validation")
    for key in ("loss", "accuracy"):
        assert [v for _, v in train[f"epoch_{key}"]] == pytest.approx(hist.history[key], rel=1e-6)
        assert [v for _, v in val[f"epoch_{key}"]] == pytest.approx(hist.history[f"val_{key}"], rel=1e-6)
    assert [s for s, _ in train["epoch_loss"]] == [0, 1]
    assert [v for _, v in train["epoch_learning_rate"]] == pytest.approx([0.01, 0.01])
    assert [s for s, _ in train["batch_loss"]] == [2, 4, 6]  # every 2 of 3 + 3 batches
    assert len(train_acc.Tags()["histograms"]) == 4  # kernel and bias of both Dense layers


# -- threads -------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [mlp, lambda: fastnn_cnn()], ids=["mlp", "cnn"])
def test_predict_from_four_threads_equals_one_thread(make):
    model = make()
    x = np.random.default_rng(1).standard_normal((40,) + model.input_shape).astype(np.float32)
    want = model.predict(x, batch_size=16, verbose=0)
    results, errors = [[] for _ in range(4)], []

    def worker(i):
        try:
            for _ in range(50):
                results[i].append(model.predict(x, batch_size=16, verbose=0))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(r.tobytes() == want.tobytes() for rs in results for r in rs) and sum(map(len, results)) == 200


def fastnn_cnn():
    from fastnn import Conv2D, Flatten, MaxPooling2D

    model = Sequential([Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)), MaxPooling2D(2), Flatten(),
                        Dense(3, activation="softmax")], seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    return model


def test_training_from_a_second_thread_is_an_error():
    x, y = blobs()
    model = mlp()
    started, release, failures = threading.Event(), threading.Event(), []
    gate = callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: (started.set(), release.wait(10)))
    t = threading.Thread(target=lambda: model.fit(x, y, epochs=1, callbacks=[gate], verbose=0))
    t.start()
    started.wait(10)
    for call in (lambda: model.fit(x, y, epochs=1, verbose=0), lambda: model.train_on_batch(x, y)):
        with pytest.raises(RuntimeError, match="another thread is training this model"):
            call()
    model.predict(x, verbose=0)  # inference is fine meanwhile
    release.set()
    t.join()


# -- bad input ---------------------------------------------------------------------------------

def test_a_bad_batch_stops_training_after_the_last_good_step():
    x, y = blobs(64)

    def bad_at_third():
        for i, (xb, yb) in enumerate(generator(x, y, 16, 1)):
            yield (xb[:, :3] if i == 2 else xb), yb

    model, good = mlp(), mlp()
    with pytest.raises(ValueError, match=r"x: expected samples of shape \(4,\), got \(3,\).*\(batch 2\)"):
        model.fit(bad_at_third(), epochs=1, verbose=0)
    good.fit(generator(x[:32], y[:32], 16, 1), epochs=1, verbose=0)
    np.testing.assert_array_equal(params(model), params(good))  # two steps taken, nothing half-applied

    def bad_dtype():
        yield x[:16], y[:16]
        yield x[:16].astype(str), y[:16]

    with pytest.raises(TypeError, match=r"x: expected numeric data, got dtype <U.*\(batch 1\)"):
        mlp().fit(bad_dtype(), epochs=1, verbose=0)


def test_sources_that_cannot_serve_fail_clearly():
    x, y = blobs(64)
    with pytest.raises(ValueError, match="x: the generator yielded no batches"):
        mlp().fit(iter([]), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch: the generator ran out after 4 batches of epoch 1"):
        mlp().fit(generator(x, y, 16, 1), steps_per_epoch=5, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch: 5 is more than the 4 batches"):
        mlp().fit(Batches(x, y, 16), steps_per_epoch=5, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch: 9 is more than the 2 batches"):
        mlp().fit(x, y, batch_size=32, steps_per_epoch=9, epochs=1, verbose=0)

    class Broken(Batches):
        def __getitem__(self, i):
            if i == 2:
                raise KeyError("missing file")
            return super().__getitem__(i)

    with pytest.raises(ValueError, match=r"x: Broken\[2\] raised KeyError: 'missing file' \(batch 2\)"):
        mlp().fit(Broken(x, y, 16), epochs=1, verbose=0, shuffle=False)
    with pytest.raises(ValueError, match=r"class_weight: no weight for class 2, which y holds"):
        mlp().fit(x, y, class_weight={0: 1.0, 1: 2.0}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"class_weight: key 3 is not a class index in \[0, 3\)"):
        mlp().fit(x, y, class_weight={0: 1.0, 3: 2.0}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="y: not allowed when x is a generator"):
        mlp().fit(generator(x, y, 16, 1), y, epochs=1, verbose=0)


def test_a_memmap_larger_than_the_memory_budget_trains_in_constant_memory(tmp_path):
    """A shuffled epoch over a 300 MB file: the process's peak resident memory stays far below the file."""
    import subprocess
    import sys

    n = 100_000
    x = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(n, 784))
    x[:] = np.random.default_rng(0).random((1, 784), dtype=np.float32)
    x.flush()
    del x
    np.save(tmp_path / "y.npy", np.arange(n) % 10)
    code = f"""
import numpy as np
from fastnn import Dense, Sequential
def peak():
    return int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) // 1024
model = Sequential([Dense(8, activation='relu', input_shape=(784,)), Dense(10, activation='softmax')], seed=0)
model.compile(loss='sparse_categorical_crossentropy', optimizer='sgd')
x, y = np.load(r'{tmp_path / "x.npy"}', mmap_mode='r'), np.load(r'{tmp_path / "y.npy"}', mmap_mode='r')
before = peak()
model.fit(x, y, batch_size=256, epochs=1, verbose=0)
print(before, peak(), model.optimizer.iterations)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    before, after, steps = map(int, out.stdout.split())
    assert steps == -(-n // 256) and after - before < 60, (before, after)  # the file is 300 MB
