"""``predict`` on arrays writes every batch's output into one result array: nothing is allocated per batch."""
import tracemalloc

import numpy as np

from fastnn import Sequential, layers


def test_predict_writes_batches_into_one_array(rng):
    model = Sequential([layers.Conv2D(4, 3, activation="relu", input_shape=(9, 9, 1)), layers.MaxPooling2D(2),
                        layers.Flatten(), layers.Dense(256, activation="softmax")], seed=0)
    x = rng.random((1000, 9, 9, 1), dtype=np.float32)
    expected = np.concatenate([model.predict_on_batch(x[i:i + 128]) for i in range(0, 1000, 128)])
    model.predict(x, batch_size=128, verbose=0)  # the layers' buffers for both batch sizes (128, and 104 last)
    tracemalloc.start()
    try:
        out = model.predict(x, batch_size=128, verbose=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.array_equal(out, expected)
    # One (1000, 256) float32 result (1 MB); a copy per batch and a concatenation would double it.
    assert peak < out.nbytes * 1.25, peak


def test_predict_with_steps_returns_the_rows_it_ran(rng):
    model = Sequential([layers.Dense(3, input_shape=(5,))], seed=0)
    x = rng.random((50, 5), dtype=np.float32)
    out = model.predict(x, batch_size=8, steps=2, verbose=0)
    assert out.shape == (16, 3)
    assert np.array_equal(out, model.predict_on_batch(x[:16]))
