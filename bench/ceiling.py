"""What bounds the lecture MLP's ratio to PyTorch: the GEMMs alone, fastnn's (OpenBLAS) and PyTorch's (MKL).

The lecture MLP (784-500-300-10, batch 128, float32) is GEMM-bound. This script measures, side by side
(each column in its own process, interleaved, at least two rounds):

* ``fastnn``: the op calls a step cannot do without, through ``fastnn.ops`` on fastnn's OpenBLAS:
  the three forward products (inference), plus the backward products (dW for every layer, dx for
  the two upper ones) and one RMSprop pass over the 545,810 parameters (training);
* ``torch``: the same products with ``torch.mm`` (MKL), and PyTorch's whole inference batch and
  training step on the model ``bench/models.py`` times.

It prints the ceilings: PyTorch's whole batch / fastnn's unavoidable ops = the largest ratio fastnn
can reach with its GEMM library and nothing else in the step; PyTorch's whole batch / MKL's products
= the ratio even with MKL's GEMMs.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/ceiling.py
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

import numpy as np

from _common import describe_environment, time_call

BATCH = 128
SIZES = [784, 500, 300, 10]


def products():
    """The forward products (name, M, K, N) and the backward ones per layer (name, K, N, needs dx)."""
    fwd = [(f"fwd {k}x{n}", BATCH, k, n) for k, n in zip(SIZES, SIZES[1:])]
    bwd = [(f"bwd {k}x{n}", k, n, i > 0) for i, (k, n) in enumerate(zip(SIZES, SIZES[1:]))]
    return fwd, bwd


def flops(entry):
    if entry[0].startswith("fwd"):
        return 2 * entry[1] * entry[2] * entry[3]
    return 2 * BATCH * entry[1] * entry[2] * (2 if entry[3] else 1)


def fastnn_column():
    from fastnn import ops

    rng = np.random.default_rng(0)
    out = {}
    fwd, bwd = products()
    for name, M, K, N in fwd:
        a = rng.standard_normal((M, K)).astype(np.float32)
        b = rng.standard_normal((K, N)).astype(np.float32)
        c = np.empty((M, N), np.float32)
        out[name] = time_call(lambda: ops.dense_forward(a, b, out=c), repeat=5, min_time=0.1)
    for name, K, N, dx in bwd:  # dW = x^T dy, and dx = dy W^T above the first layer
        x, w, dy = (rng.standard_normal(shape).astype(np.float32) for shape in ((BATCH, K), (K, N), (BATCH, N)))
        dW, dX = np.empty((K, N), np.float32), np.empty((BATCH, K), np.float32) if dx else None
        out[name] = time_call(lambda: ops.dense_backward(x, w, dy, need_dx=dx, has_bias=False, dx=dX, dW=dW),
                              repeat=5, min_time=0.1)
    n = sum(k * m + m for k, m in zip(SIZES, SIZES[1:]))
    w, g, s = (rng.standard_normal(n).astype(np.float32) for _ in range(3))
    g, s = g * 1e-3, np.abs(s)
    out["rmsprop"] = time_call(lambda: ops.optimizer_update("rmsprop", w, g, s, lr=1e-3, rho=0.9, eps=1e-7),
                               repeat=5, min_time=0.1)
    return out


def torch_column():
    import torch

    from _common import fastnn
    from models import torch_model

    torch.set_num_threads(fastnn.get_num_threads())
    out = {}
    fwd, bwd = products()
    for name, M, K, N in fwd:
        a, b = torch.randn(M, K), torch.randn(K, N)
        c = torch.empty(M, N)
        out[name] = time_call(lambda: torch.mm(a, b, out=c), repeat=5, min_time=0.1)
    for name, K, N, dx in bwd:
        x, w, dy = torch.randn(BATCH, K), torch.randn(K, N), torch.randn(BATCH, N)
        dW, dX = torch.empty(K, N), torch.empty(BATCH, K)

        def products_of_layer():
            torch.mm(x.t(), dy, out=dW)
            if dx:
                torch.mm(dy, w.t(), out=dX)
        out[name] = time_call(products_of_layer, repeat=5, min_time=0.1)
    net, opt = torch_model(torch, "mlp")
    x, y = torch.randn(BATCH, SIZES[0]), torch.randint(0, 10, (BATCH,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    def infer():
        net.eval()
        with torch.inference_mode():
            result = torch.softmax(net(x), 1).numpy()
        net.train()
        return result
    out["whole step"] = time_call(step, repeat=5, min_time=0.2)
    out["whole batch"] = time_call(infer, repeat=5, min_time=0.2)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--column", choices=("fastnn", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.column:
        print(json.dumps(fastnn_column() if args.column == "fastnn" else torch_column()))
        return
    describe_environment()
    here = os.path.abspath(__file__)
    runs = {"fastnn": [], "torch": []}
    for r in range(args.rounds):
        for column in (("fastnn", "torch") if r % 2 == 0 else ("torch", "fastnn")):
            done = subprocess.run([sys.executable, here, "--column", column], capture_output=True, text=True,
                                  timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"{column} failed:\n{done.stderr}")
            runs[column].append(json.loads(done.stdout.strip().splitlines()[-1]))
    med = {c: {k: statistics.median(run[k] for run in runs[c]) for k in runs[c][0]} for c in runs}
    fwd, bwd = products()
    print("\n| products | fastnn (OpenBLAS) | GFLOP/s | PyTorch (MKL) | GFLOP/s |\n|---|---:|---:|---:|---:|")
    for entry in fwd + bwd:
        name, a, b = entry[0], med["fastnn"][entry[0]], med["torch"][entry[0]]
        what = "x @ W" if name.startswith("fwd") else "dW" + (" and dx" if entry[3] else "")
        print(f"| {name}: {what} | {a * 1e3:.3f} ms | {flops(entry) / a / 1e9:.0f} | {b * 1e3:.3f} ms | "
              f"{flops(entry) / b / 1e9:.0f} |")
    print(f"| RMSprop pass, {sum(k * m + m for k, m in zip(SIZES, SIZES[1:])):,} parameters | "
          f"{med['fastnn']['rmsprop'] * 1e3:.3f} ms | | | |")
    for what, names, extra, whole in (("inference batch", fwd, 0.0, "whole batch"),
                                      ("training step", fwd + bwd, med["fastnn"]["rmsprop"], "whole step")):
        mine = sum(med["fastnn"][n[0]] for n in names) + extra
        mkl = sum(med["torch"][n[0]] for n in names)
        t = med["torch"][whole]
        print(f"\n{what}: PyTorch whole {t * 1e3:.3f} ms; fastnn's unavoidable ops {mine * 1e3:.3f} ms "
              f"-> ceiling {t / mine:.2f}x; MKL's products alone {mkl * 1e3:.3f} ms -> ceiling with MKL {t / mkl:.2f}x")


if __name__ == "__main__":
    main()
