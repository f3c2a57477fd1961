"""Training-step throughput of a 784-500-300-10 ReLU MLP at batch 128.

One step = forward, softmax cross-entropy, backward, SGD update, float32.
Columns: fastnn, a straightforward pure-NumPy implementation of the same
step, that step's GEMMs alone in NumPy (the floor: every column calls
OpenBLAS-class GEMMs), and PyTorch CPU if it is importable. Each column runs in its own
process (see ``_common.run_isolated``).

    python bench/dense.py
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/dense.py   # as on users' machines
"""
import argparse

import numpy as np

from _common import describe_environment, run_isolated, time_call, try_import_torch

SIZES = [784, 500, 300, 10]
BATCH = 128
LR = 0.01


def make_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    return x, y


def fastnn_step(x, y):
    from fastnn import SGD, Dense, Sequential

    model = Sequential([Dense(SIZES[1], activation="relu", input_shape=(SIZES[0],)),
                        Dense(SIZES[2], activation="relu"),
                        Dense(SIZES[3], activation="softmax")], seed=0)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(LR))
    yb = y.astype(np.int64)  # the step fit runs, on a batch already checked and converted
    return lambda: model.train_step_host(x, yb)


def numpy_step(x, y):
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((a, b)).astype(np.float32) * np.float32(np.sqrt(2 / a)) for a, b in zip(SIZES, SIZES[1:])]
    bs = [np.zeros(b, np.float32) for b in SIZES[1:]]
    onehot = np.eye(SIZES[-1], dtype=np.float32)[y]

    def step():
        acts = [x]
        for i, (W, b) in enumerate(zip(Ws, bs)):
            z = acts[-1] @ W + b
            acts.append(np.maximum(z, 0) if i < len(Ws) - 1 else z)
        z = acts[-1]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        delta = (p - onehot) / BATCH
        for i in reversed(range(len(Ws))):
            dW, db = acts[i].T @ delta, delta.sum(axis=0)
            if i:
                delta = (delta @ Ws[i].T) * (acts[i] > 0)
            Ws[i] -= LR * dW
            bs[i] -= LR * db

    return step


def numpy_gemms(x, y):
    """Only the step's GEMMs, in NumPy (the same OpenBLAS kernels): a floor under any step."""
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((a, b)).astype(np.float32) for a, b in zip(SIZES, SIZES[1:])]
    acts = [x] + [rng.standard_normal((BATCH, b)).astype(np.float32) for b in SIZES[1:-1]]
    deltas = [rng.standard_normal((BATCH, b)).astype(np.float32) for b in SIZES[1:]]

    def step():
        for a, W in zip(acts, Ws):
            a @ W
        for i, (a, W, d) in enumerate(zip(acts, Ws, deltas)):
            a.T @ d
            if i:
                d @ W.T

    return step


def torch_step(x, y):
    torch = try_import_torch()
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 500), nn.ReLU(), nn.Linear(500, 300), nn.ReLU(), nn.Linear(300, 10))
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad(set_to_none=False)
        loss_fn(model(xt), yt).backward()
        opt.step()

    return step


COLUMNS = {"fastnn": fastnn_step, "numpy": numpy_step, "numpy_gemms": numpy_gemms, "torch": torch_step}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--column", choices=COLUMNS, help="time one column in this process and print seconds/step")
    args = parser.parse_args()
    if args.column:
        print(time_call(COLUMNS[args.column](*make_data())))
        return
    describe_environment()
    columns = ["fastnn", "numpy", "numpy_gemms"]
    torch = try_import_torch()
    if torch is not None:
        columns.append("torch")
    else:
        print("torch not importable: PyTorch column skipped")
    results = {c: run_isolated(__file__, c) for c in columns}
    print(f"\nMLP {'-'.join(map(str, SIZES))} ReLU, batch {BATCH}, float32, SGD training step"
          + (f" (torch {torch.__version__})" if torch else "") + ":")
    for name, t in results.items():
        print(f"  {name:>8}: {BATCH / t:>10,.0f} samples/s  ({t * 1e3:.3f} ms/step)")
    for name, t in results.items():
        if name != "fastnn":
            print(f"  fastnn / {name}: {t / results['fastnn']:.2f}x")


if __name__ == "__main__":
    main()
