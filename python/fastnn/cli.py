"""The ``fastnn`` command line: ``fastnn train`` and ``fastnn info``."""
from __future__ import annotations

import argparse
import sys
import time


def _info(args):
    import fastnn
    from fastnn import _native

    print(f"fastnn {fastnn.__version__}")
    print(f"BLAS: OpenBLAS (scipy-openblas32), kernel {_native._C.blas_corename()}")
    print(f"threads: {fastnn.get_num_threads()}")
    print(f"backends: {', '.join(fastnn.backend.available())}")
    cuda = _native._cuda
    if cuda is None:
        print("CUDA: not built")
    else:
        devices = cuda.devices()
        print(f"CUDA: built (runtime {cuda.runtime_version()}), GPUs visible: {len(devices)}")
        for d in devices:
            print(f"  [{d['index']}] {d['name']}, compute capability {d['compute_capability']}, "
                  f"{d['total_memory'] / 2**30:.1f} GiB")
    return 0


def _train(args):
    import numpy as np

    import fastnn
    from fastnn import SGD, Dense, Sequential, datasets

    (x_train, y_train), (x_test, y_test) = datasets.digits(seed=args.seed)
    scaler = datasets.Standardizer().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    model = Sequential([
        Dense(128, activation="relu", kernel_initializer="he_uniform", input_shape=x_train.shape[1:]),
        Dense(64, activation="relu", kernel_initializer="he_uniform"),
        Dense(10, activation="softmax"),
    ], device=args.device, seed=args.seed)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(args.lr, momentum=0.9), metrics=["accuracy"])
    print(f"training a {x_train.shape[1]}-128-64-10 MLP on digits ({len(x_train)} train / {len(x_test)} test), "
          f"device {args.device}")
    t0 = time.perf_counter()
    model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=1)
    result = model.evaluate(x_test, y_test)
    print(f"test accuracy: {result['accuracy']:.4f}  (test loss {result['loss']:.4f}, "
          f"{time.perf_counter() - t0:.1f}s)")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="fastnn", description="fastnn: train neural networks from the command line")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a model on the built-in digits data and print test accuracy")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--lr", type=float, default=0.01, help="learning rate")
    train.add_argument("--device", default="cpu", help="backend: cpu (default), cuda-emu, cuda")
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(run=_train)
    info = sub.add_parser("info", help="print version, BLAS, threads, CUDA build and GPUs")
    info.set_defaults(run=_info)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
