"""Whole-model throughput through the public API, fastnn beside PyTorch CPU, and a per-layer breakdown.

Models (input 28x28x1 or 784, batch 128, float32, synthetic data):

* ``mlp``: the lecture MLP 784-500-300-10, ReLU, Dropout(0.3) after each hidden layer, RMSprop(1e-3);
* ``cnn``: the lecture CNN, Conv2D(10, 3x3, ReLU), MaxPooling2D, Conv2D(5, 3x3, ReLU), MaxPooling2D,
  Dense(64, ReLU), Dense(10), RMSprop(1e-3) (9,269 parameters);
* ``resnet``: a small ResNet built with the functional API: a 16-filter stem, three basic blocks (16, 32
  stride 2, 64 stride 2; two 3x3 convolutions with batch norm, 1x1 projection shortcuts where the shape
  changes, ``Add``), global average pooling, Dense(10), Adam(1e-3) (PyTorch: the same network; its
  stride-2 convolutions pad symmetrically, which costs the same);
* ``wide``: Conv2D 32 / 64 / 128, 3x3 'same', each with BatchNormalization and ReLU, a max pool after
  the first two, Dropout(0.5), Dense(10), Adam(1e-3).

Per model three figures: the training step (``train_on_batch`` in a loop; PyTorch: zero_grad, forward,
loss, backward, step, ``loss.item()``), inference (``predict`` over 4,096 samples; PyTorch: the batches
under ``inference_mode``, softmax, concatenated) and one ``fit`` epoch (shuffled; PyTorch: a randperm
gather per batch). PyTorch runs with ``torch.set_num_threads`` equal to fastnn's threads, RMSprop with
Keras' rho 0.9 and epsilon 1e-7, Adam ``fused=True`` (its fast CPU variant); the CNNs run both in NCHW
(``torch``) and ``channels_last`` (``torch_cl``) and the ratio is taken against the faster of the two.

Every column runs in a process of its own (each framework keeps its own thread pool spinning), the columns
interleaved, at least two rounds; every column starts from a freshly initialised model (a step's speed
drifts as the weights train). Printed: the range over rounds and the ratio PyTorch time / fastnn time per
round (median and range: on a shared machine a round that another process disturbs is an outlier).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/models.py            # as on users' machines
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/models.py --layers   # fastnn per layer (cnn)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

BATCH = 128
MODES = ("train", "infer", "fit")
# Steps per training measurement, batches per fit epoch, samples per predict.
SIZES = {"mlp": dict(steps=40, fit=40, infer=4096), "cnn": dict(steps=40, fit=40, infer=4096),
         "wide": dict(steps=8, fit=8, infer=1024), "resnet": dict(steps=8, fit=8, infer=1024)}
REPEAT = 3


def data(kind, n):
    rng = np.random.default_rng(1)
    shape = (784,) if kind == "mlp" else (28, 28, 1)
    return rng.random((n, *shape), dtype=np.float32), rng.integers(0, 10, n)


# -- fastnn -------------------------------------------------------------------------------------------

def fastnn_model(kind):
    from fastnn import Adam, RMSprop, Sequential, layers as L

    if kind == "resnet":
        from fastnn import Input, Model

        def bn_relu(t):
            return L.Activation("relu")(L.BatchNormalization()(t))

        def block(t, filters, stride=1):
            shortcut = t
            if stride != 1 or t.shape[-1] != filters:
                shortcut = L.BatchNormalization()(L.Conv2D(filters, 1, strides=stride, use_bias=False)(t))
            y = bn_relu(L.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(t))
            y = L.BatchNormalization()(L.Conv2D(filters, 3, padding="same", use_bias=False)(y))
            return L.Activation("relu")(L.Add()([shortcut, y]))

        inputs = Input(shape=(28, 28, 1))
        t = bn_relu(L.Conv2D(16, 3, padding="same", use_bias=False)(inputs))
        t = block(block(block(t, 16), 32, stride=2), 64, stride=2)
        m = Model(inputs, L.Dense(10, activation="softmax")(L.GlobalAveragePooling2D()(t)), seed=0)
        m.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(1e-3))
        return m
    if kind == "mlp":
        stack = [L.Dense(500, activation="relu", input_shape=(784,)), L.Dropout(0.3),
                 L.Dense(300, activation="relu"), L.Dropout(0.3), L.Dense(10, activation="softmax")]
        optimizer = RMSprop(1e-3)
    elif kind == "cnn":
        stack = [L.Conv2D(10, 3, activation="relu", input_shape=(28, 28, 1)), L.MaxPooling2D(2),
                 L.Conv2D(5, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                 L.Dense(64, activation="relu"), L.Dense(10, activation="softmax")]
        optimizer = RMSprop(1e-3)
    else:
        stack = []
        for i, filters in enumerate((32, 64, 128)):
            stack += [L.Conv2D(filters, 3, padding="same", use_bias=False, **({"input_shape": (28, 28, 1)}
                                                                                if i == 0 else {})),
                      L.BatchNormalization(), L.Activation("relu")]
            if i < 2:
                stack.append(L.MaxPooling2D(2))
        stack += [L.Dropout(0.5), L.Flatten(), L.Dense(10, activation="softmax")]
        optimizer = Adam(1e-3)
    m = Sequential(stack, seed=0)
    m.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer)
    return m


def fastnn_column(kind):
    """Seconds per training step, per predict over SIZES' samples, per fit epoch."""
    size = SIZES[kind]
    x, y = data(kind, max(size["infer"], size["fit"] * BATCH))
    m = fastnn_model(kind)
    xb, yb = x[:BATCH], y[:BATCH]
    for _ in range(5):  # warm-up: buffers, threads
        m.train_on_batch(xb, yb)
    out = {}

    def train():
        for i in range(size["steps"]):
            m.train_on_batch(x[i % 8 * BATCH:(i % 8 + 1) * BATCH], y[i % 8 * BATCH:(i % 8 + 1) * BATCH])
    out["train"] = _best(train) / size["steps"]
    xi = x[:size["infer"]]
    m.predict(xi, batch_size=BATCH, verbose=0)
    out["infer"] = _best(lambda: m.predict(xi, batch_size=BATCH, verbose=0))
    xf, yf = x[:size["fit"] * BATCH], y[:size["fit"] * BATCH]
    out["fit"] = _best(lambda: m.fit(xf, yf, batch_size=BATCH, epochs=1, verbose=0))
    return out


# -- PyTorch ------------------------------------------------------------------------------------------

def torch_model(torch, kind):
    nn = torch.nn
    torch.manual_seed(0)
    if kind == "resnet":
        class Block(nn.Module):
            def __init__(self, cin, cout, stride):
                super().__init__()
                self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout, eps=1e-3)
                self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout, eps=1e-3)
                self.proj = None if stride == 1 and cin == cout else nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout, eps=1e-3))

            def forward(self, x):
                y = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
                return torch.relu(y + (x if self.proj is None else self.proj(x)))

        net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16, eps=1e-3), nn.ReLU(),
                            Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2), nn.AdaptiveAvgPool2d(1),
                            nn.Flatten(), nn.Linear(64, 10))
        return net, torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    if kind == "mlp":
        net = nn.Sequential(nn.Linear(784, 500), nn.ReLU(), nn.Dropout(0.3), nn.Linear(500, 300), nn.ReLU(),
                            nn.Dropout(0.3), nn.Linear(300, 10))
        return net, torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    if kind == "cnn":
        net = nn.Sequential(nn.Conv2d(1, 10, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(10, 5, 3), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(125, 64), nn.ReLU(), nn.Linear(64, 10))
        return net, torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    stack, c_in = [], 1
    for i, filters in enumerate((32, 64, 128)):
        stack += [nn.Conv2d(c_in, filters, 3, padding=1, bias=False), nn.BatchNorm2d(filters, eps=1e-3), nn.ReLU()]
        if i < 2:
            stack.append(nn.MaxPool2d(2))
        c_in = filters
    net = nn.Sequential(*stack, nn.Dropout(0.5), nn.Flatten(), nn.Linear(128 * 7 * 7, 10))
    return net, torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)


def torch_column(kind, channels_last):
    import torch

    from _common import fastnn

    torch.set_num_threads(fastnn.get_num_threads())
    size = SIZES[kind]
    x_np, y_np = data(kind, max(size["infer"], size["fit"] * BATCH))
    x = torch.from_numpy(x_np if kind == "mlp" else x_np.transpose(0, 3, 1, 2).copy())
    y = torch.from_numpy(y_np)
    net, opt = torch_model(torch, kind)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()
        return loss.item()

    net.train()
    for _ in range(5):
        step(x[:BATCH], y[:BATCH])
    out = {}

    def train():
        for i in range(size["steps"]):
            step(x[i % 8 * BATCH:(i % 8 + 1) * BATCH], y[i % 8 * BATCH:(i % 8 + 1) * BATCH])
    out["train"] = _best(train) / size["steps"]
    xi = x[:size["infer"]]

    def infer():
        net.eval()
        with torch.inference_mode():
            result = torch.cat([torch.softmax(net(xb), 1) for xb in xi.split(BATCH)]).numpy()
        net.train()
        return result
    infer()
    out["infer"] = _best(infer)
    xf, yf = x[:size["fit"] * BATCH], y[:size["fit"] * BATCH]

    def fit():
        perm = torch.randperm(len(xf))
        for i in range(0, len(xf), BATCH):
            idx = perm[i:i + BATCH]
            step(xf[idx], yf[idx])
    out["fit"] = _best(fit)
    return out


def _best(fn):
    """Median seconds of REPEAT calls of fn."""
    times = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# -- per-layer breakdown ------------------------------------------------------------------------------

def layer_table(kind, repeat):
    """fastnn's forward and backward time per layer of ``kind`` in a training step, and the optimizer's."""
    from _common import time_call

    m = fastnn_model(kind)
    x, y = data(kind, BATCH)
    for _ in range(5):
        m.train_on_batch(x, y)
    rows, inp = [], x
    rng = np.random.default_rng(2)
    for step in m.plan.steps:  # a chain: each step's output feeds the next; a fused pair as the plan runs it
        run = step.runner
        fwd = time_call(lambda: run.forward(inp, True, 1), repeat=repeat, min_time=0.1)
        out = run.forward(inp, True, 1)
        dy = rng.standard_normal(out.shape).astype(out.dtype) * 1e-2
        bwd = time_call(lambda: run.backward(dy.copy()), repeat=repeat, min_time=0.1)
        copy = time_call(lambda: dy.copy(), repeat=repeat, min_time=0.05)
        fused = f" ({run.note})" if run is not step.layer else ""  # models/fusion.py
        rows.append((_describe(step.layer, inp.shape, out.shape) + fused, fwd, bwd - copy))
        inp = out
    opt = time_call(m.apply_gradients, repeat=repeat, min_time=0.1)
    step = time_call(lambda: m.train_on_batch(x, y), repeat=repeat, min_time=0.2)
    return rows, opt, step


def _describe(layer, in_shape, out_shape):
    name = type(layer).__name__
    if name == "Conv2D":
        kh, kw, c_in, c_out = layer._kshape
        return f"Conv2D {c_in}->{c_out}, {kh}x{kw}, {in_shape[1]}x{in_shape[2]} -> {out_shape[1]}x{out_shape[2]}"
    return f"{name} {'x'.join(map(str, in_shape[1:]))}"


# -- driver -------------------------------------------------------------------------------------------

def run_column(column, kind):
    here = os.path.abspath(__file__)
    out = subprocess.run([sys.executable, here, "--column", column, "--models", kind], capture_output=True,
                         text=True, timeout=1200)
    if out.returncode != 0:
        raise RuntimeError(f"{column} {kind} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="mlp,cnn,wide,resnet", help="comma-separated: mlp, cnn, wide, resnet")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--layers", action="store_true", help="fastnn's per-layer forward/backward times instead")
    parser.add_argument("--no-torch", action="store_true", help="fastnn columns only")
    parser.add_argument("--column", help=argparse.SUPPRESS)
    args = parser.parse_args()
    kinds = args.models.split(",")
    if args.column:
        kind = kinds[0]
        result = fastnn_column(kind) if args.column == "fastnn" else torch_column(kind, args.column == "torch_cl")
        print(json.dumps(result))
        return

    from _common import describe_environment

    describe_environment()
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    if args.layers:
        for kind in kinds:
            rows, opt, step = layer_table(kind, repeat=max(3, 2 * args.rounds + 1))
            print(f"\n{kind}: training step {step * 1e3:.2f} ms (batch {BATCH})\n\n| layer | forward | backward |\n"
                  "|---|---:|---:|")
            for name, fwd, bwd in rows:
                print(f"| {name} | {fwd * 1e3:.3f} ms | {bwd * 1e3:.3f} ms |")
            print(f"| optimizer step | {opt * 1e3:.3f} ms | |")
        return

    results = {}  # (kind, column) -> list of dicts
    for r in range(args.rounds):
        for kind in kinds:
            columns = ["fastnn"] + ([] if args.no_torch else ["torch"] + (["torch_cl"] if kind != "mlp" else []))
            if r % 2:
                columns.reverse()
            for column in columns:
                results.setdefault((kind, column), []).append(run_column(column, kind))
                res = results[(kind, column)][-1]
                print(f"round {r + 1} {kind:5s} {column:8s} train {res['train'] * 1e3:7.2f} ms/step  "
                      f"infer {res['infer'] * 1e3:7.1f} ms  fit {res['fit'] * 1e3:7.1f} ms", flush=True)
    print("\n| model | figure | fastnn | PyTorch (best layout) | PyTorch / fastnn: median (range) |\n"
          "|---|---|---:|---:|---:|")
    for kind in kinds:
        mine = results[(kind, "fastnn")]
        peers = [c for c in ("torch", "torch_cl") if (kind, c) in results]
        for mode in MODES:
            unit, scale = ("ms/step", 1e3) if mode == "train" else ("samples/s", None)
            n = SIZES[kind]["infer"] if mode == "infer" else SIZES[kind]["fit"] * BATCH

            def show(values):
                if scale:
                    return f"{min(values) * scale:.2f} – {max(values) * scale:.2f} {unit}"
                return f"{n / max(values):,.0f} – {n / min(values):,.0f} {unit}"
            text = show([d[mode] for d in mine])
            if not peers:
                print(f"| {kind} | {mode} | {text} | | |")
                continue
            # per round: the faster PyTorch layout of that round
            best = [min(results[(kind, c)][i][mode] for c in peers) for i in range(len(mine))]
            layout = min(peers, key=lambda c: statistics.median(d[mode] for d in results[(kind, c)]))
            ratios = [b / d[mode] for b, d in zip(best, mine)]
            print(f"| {kind} | {mode} | {text} | {show(best)} ({layout}) | "
                  f"{statistics.median(ratios):.2f}x ({min(ratios):.2f} – {max(ratios):.2f}) |")


if __name__ == "__main__":
    main()
