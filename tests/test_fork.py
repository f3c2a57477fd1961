"""fastnn in child processes: fork, forkserver and spawn, after the parent trained.

GNU OpenMP's worker threads do not survive fork(): without fastnn's atfork
handler a forked child hangs in its first parallel region. Each case runs in
a subprocess with a timeout, so a hang fails the test instead of blocking it.
"""
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import multiprocessing as mp
    import sys
    import warnings

    import numpy as np
    import fastnn

    def train():
        rng = np.random.default_rng(0)
        x = rng.normal(size=(256, 12, 12, 1)).astype(np.float32)
        y = rng.integers(0, 10, 256)
        model = fastnn.Sequential([
            fastnn.Conv2D(32, (3, 3), activation="relu", padding="same", input_shape=(12, 12, 1)),
            fastnn.MaxPooling2D((2, 2)), fastnn.Flatten(), fastnn.Dense(64, activation="relu"),
            fastnn.Dense(10, activation="softmax")], seed=1)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=fastnn.Adam(1e-3))
        model.fit(x, y, batch_size=64, epochs=2, verbose=0)
        return np.asarray(model.flat_params).copy()

    def child(queue, method):
        threads = fastnn.get_num_threads()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fastnn.set_num_threads(2)
        queue.put((threads, fastnn.get_num_threads(), [str(w.message) for w in caught], train()))

    if __name__ == "__main__":
        method = sys.argv[1]
        fastnn.set_num_threads(2)
        expected = train()  # the parent's OpenMP pool now exists
        ctx = mp.get_context(method)
        queue = ctx.Queue()
        process = ctx.Process(target=child, args=(queue, method))
        process.start()
        before, after, warned, params = queue.get(timeout=100)
        process.join(timeout=10)
        assert process.exitcode == 0, process.exitcode
        if method == "fork":  # one thread: the inherited pool's threads are gone
            assert (before, after) == (1, 1), (before, after)
            assert any("fork" in w for w in warned), warned
        else:
            assert (before, after, warned) == (2, 2, []), (before, after, warned)
        np.testing.assert_allclose(params, expected, rtol=1e-5, atol=1e-6)
        fastnn.set_num_threads(2)
        train()  # and the parent still trains on its threads
        print("ok", method, np.array_equal(params, expected))
""")


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_child_process_trains_after_parent(tmp_path, method):
    script = tmp_path / "fork_child.py"
    script.write_text(SCRIPT)
    try:
        done = subprocess.run([sys.executable, str(script), method], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{method}: the child process hung")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"ok {method}"), done.stdout
