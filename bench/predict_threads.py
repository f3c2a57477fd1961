"""Inference from several threads: one model behind its lock vs one model per thread.

fastnn serializes a model's inference batches with a lock (its kernels already
use every core). The alternative, per-thread buffers, can do no better than
giving each thread a model of its own, which this script times too:

* ``serial``: one thread, 4 x ``predict`` calls;
* ``shared``: 4 threads, one model (the lock);
* ``copies``: 4 threads, a model each (the best per-thread buffers could do).

Model: the lecture MLP 784-500-300-10, 8,192 samples per call, batch 128.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/predict_threads.py
"""
import threading
import time

import numpy as np

from _common import describe_environment


def model():
    from fastnn import Dense, Sequential

    m = Sequential([Dense(500, activation="relu", input_shape=(784,)), Dense(300, activation="relu"),
                    Dense(10, activation="softmax")], seed=0)
    m.build()
    return m


def timed(models, x, threads):
    def work(m):
        for _ in range(4 // threads):
            m.predict(x, batch_size=128, verbose=0)

    ts = [threading.Thread(target=work, args=(models[i % len(models)],)) for i in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return 4 * len(x) / (time.perf_counter() - t0)


def main():
    describe_environment()
    x = np.random.default_rng(0).random((8192, 784), dtype=np.float32)
    shared = model()
    copies = [model() for _ in range(4)]
    timed([shared], x, 1)  # warm-up
    rows = {"serial": [], "shared": [], "copies": []}
    for _ in range(3):
        rows["serial"].append(timed([shared], x, 1))
        rows["shared"].append(timed([shared], x, 4))
        rows["copies"].append(timed(copies, x, 4))
    for name, rates in rows.items():
        print(f"{name:<7} {min(rates):>9,.0f} – {max(rates):>9,.0f} samples/s")


if __name__ == "__main__":
    main()
