"""The ``fastnn`` command line.

* ``fastnn train``: train a classifier (MLP or CNN) on digits, MNIST or
  Fashion-MNIST and print its test accuracy; optionally save the model and
  plot its training curves.
* ``fastnn tune CONFIG.yaml|json [--storage URL --study NAME]``: a
  hyperparameter search described by a file, run on Optuna; prints the ranked
  table, the best parameters and the test accuracy of the best configuration
  retrained on all training data. With ``--storage`` the trials are kept: the
  same command continues the search, and several processes share it.
* ``fastnn info``: version, BLAS, threads, CUDA build and GPUs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from ._checks import integer


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
        major, minor = fastnn.backend.cuda_version()
        package = fastnn.backend.cupy_package()
        print(f"CUDA: built with CUDA {major}.{minor}, GPUs visible: {len(devices)}; its cupy: {package} "
              f"(pip install '.[cuda{major}]' or pip install {package})")
        for d in devices:
            print(f"  [{d['index']}] {d['name']}, compute capability {d['compute_capability']}, "
                  f"{d['total_memory'] / 2**30:.1f} GiB")
    return 0


def _describe(model, kind):
    """'a 64-128-64-10 MLP (12,874 parameters)' or 'a CNN conv32-pool-conv64-pool-dense64-10 (...)'."""
    if kind == "mlp":
        widths = [str(int(model.input_shape[0]))] if len(model.input_shape) == 1 else ["x".join(map(str, model.input_shape))]
        widths += [str(l.units) for l in model.layers if hasattr(l, "units")]
        return f"a {'-'.join(widths)} MLP ({model.count_params():,} parameters)"
    parts = []
    for layer in model.layers:
        name = type(layer).__name__
        if hasattr(layer, "filters"):
            parts.append(f"conv{layer.filters}")
        elif name.startswith("MaxPooling"):
            parts.append("pool")
        elif hasattr(layer, "units"):
            parts.append(f"dense{layer.units}")
    return f"a CNN {'-'.join(parts)} ({model.count_params():,} parameters)"


def _check_output(path):
    """Refuse an --output path that cannot be written before any work is done (not after it)."""
    if path is None:
        return
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) or not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise ValueError(f"--output: cannot write a file at {path!r} (is the directory missing, read-only, or is "
                         "the path a directory?)")


def _train(args):
    from fastnn import augment, datasets, zoo

    _check_output(args.output)
    integer("seed", args.seed, lo=0)
    augmenting = bool(args.augment_shift or args.augment_flip or args.augment_rotate)
    (x_train, y_train), (x_test, y_test) = datasets.load(
        args.dataset, flatten=args.model == "mlp" and not augmenting, seed=args.seed)
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    build = zoo.model_builder(args.model, x_train.shape[1:], num_classes, seed=args.seed, device=args.device)
    model = build({"optimizer": args.optimizer, "learning_rate": args.lr})
    epochs = args.epochs if args.epochs is not None else DEFAULT_EPOCHS[args.model]
    lr = model.optimizer.current_learning_rate()
    print(f"training {_describe(model, args.model)} on {args.dataset} ({len(x_train)} train / {len(x_test)} test), "
          f"{args.optimizer} lr {lr:g}, batch {args.batch_size}, {epochs} epochs, device {args.device}", flush=True)
    t0 = time.perf_counter()
    aug = augment.Augmenter(shift=args.augment_shift, flip=args.augment_flip, rotate=args.augment_rotate) \
        if augmenting else None
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=epochs, verbose=args.verbose,
                        validation_split=args.validation_split, augment=aug)
    seconds = time.perf_counter() - t0
    result = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    print(f"test accuracy: {result['accuracy']:.4f}  (test loss {result['loss']:.4f}, trained in {seconds:.1f}s)")
    if args.output:
        model.save(args.output)
        print(f"saved the model to {args.output} (inputs: images scaled to [0, 1], as fastnn.datasets returns them)")
    if args.plot:
        history.plot(args.plot)
        print(f"saved training curves to {args.plot}")
    return 0


#: Keys a ``fastnn tune`` file may hold (besides the strategy's own options).
TUNE_KEYS = ("dataset", "model", "strategy", "space", "seed", "epochs", "n_trials", "max_epochs", "min_epochs", "eta",
             "batch_size", "sampler", "pruner", "scoring", "retrain")
_OPTION_KEYS = ("epochs", "n_trials", "max_epochs", "min_epochs", "eta", "batch_size", "sampler", "pruner")
_SCORING_KEYS = ("validation_split", "cv", "metric")


def _as_option(fn, name, option, *args, **kwargs):
    """``fn(*args, **kwargs)``, its errors about argument ``name`` told as errors about the command's ``option``."""
    try:
        return fn(*args, **kwargs)
    except ValueError as e:
        if str(e).startswith(name + ":"):
            raise ValueError(option + str(e)[len(name):]) from None
        raise


def _tune(args):
    from fastnn import datasets, tune, zoo

    _check_output(args.output)
    if args.top < 0:
        raise ValueError(f"--top: expected an int >= 0, got {args.top}")
    cfg = tune.load_config(args.config)
    unknown = sorted(set(cfg) - set(TUNE_KEYS))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown key in {args.config}; expected some of {', '.join(TUNE_KEYS)}")
    if "space" not in cfg:
        raise ValueError(f"space: {args.config} needs a 'space' mapping of hyperparameters to values or distributions")
    scoring = cfg.get("scoring") or {}
    if not isinstance(scoring, dict) or set(scoring) - set(_SCORING_KEYS):
        raise ValueError(f"scoring: expected a mapping with some of {', '.join(_SCORING_KEYS)}, got {scoring!r}")
    kind, dataset, seed = cfg.get("model", "mlp"), cfg.get("dataset", "digits"), integer("seed", cfg.get("seed", 0), lo=0)
    strategy = cfg.get("strategy", "random")
    for key, value in (("model", kind), ("dataset", dataset), ("strategy", strategy)):
        if not isinstance(value, str):
            raise ValueError(f"{key}: expected a name (a string) in {args.config}, got {value!r}")
    retrain = cfg.get("retrain", True)
    if not isinstance(retrain, bool):
        raise ValueError(f"retrain: expected true or false in {args.config}, got {retrain!r}")
    options = {k: cfg[k] for k in _OPTION_KEYS if k in cfg}
    options.update(scoring)
    study = args.study
    if args.storage is not None:
        study = study or os.path.splitext(os.path.basename(args.config))[0]
        options.update(storage=_as_option(tune.open_storage, "storage", "--storage", args.storage), study_name=study)
    elif study is not None:
        raise ValueError("--study: names a study in a --storage; give --storage too")

    (x_train, y_train), (x_test, y_test) = datasets.load(dataset, flatten=kind == "mlp", seed=seed)
    build = zoo.model_builder(kind, x_train.shape[1:], int(max(y_train.max(), y_test.max())) + 1, seed=seed,
                              device=args.device)
    space = tune.SearchSpace(cfg["space"])
    print(f"{strategy} search over {', '.join(space.names)} for the {kind} model on {dataset} "
          f"({len(x_train)} training samples)", flush=True)
    t0 = time.perf_counter()
    results = _as_option(tune.search, "study_name", "--study", build, space, x_train, y_train, strategy=strategy,
                         seed=seed, verbose=args.verbose, **options)
    stored = f" (study {study!r} in {args.storage})" if args.storage else ""
    print(f"\n{len(results)} trials{stored}, this run {time.perf_counter() - t0:.1f}s, best first:")
    if not len(results):
        return 130 if results.interrupted else 0
    results.table(max_rows=args.top)
    print(f"best parameters: {json.dumps(results.best_params)}")
    print(f"best validation {results.metric}: {results.best_score:.4f} ({results.best.epochs} epochs)")
    if results.interrupted:
        return 130
    if retrain:
        model = results.retrain_best(x_train, y_train)
        test = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
        print(f"retrained on all {len(x_train)} training samples: test accuracy {test['accuracy']:.4f} "
              f"(test loss {test['loss']:.4f})")
        if args.output:
            model.save(args.output)
            print(f"saved the model to {args.output}")
    return 0


DEFAULT_EPOCHS = {"mlp": 30, "cnn": 15}


def _parser():
    from fastnn.zoo import OPTIMIZERS

    parser = argparse.ArgumentParser(prog="fastnn", description="fastnn: train neural networks from the command line")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a classifier and print its test accuracy",
                           description="Train a classifier and print its test accuracy. With no options: an MLP on "
                                       "the built-in 8x8 digits, about 98% in well under a second.")
    train.add_argument("--dataset", default="digits", metavar="NAME",
                       help="digits (built in, default), mnist:DIR or fashion-mnist:DIR (a directory holding the four "
                            "IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                            "t10k-labels-idx1-ubyte, raw or .gz)")
    train.add_argument("--model", choices=("mlp", "cnn"), default="mlp",
                       help="mlp: Dense 128-64 (default); cnn: Conv2D 32 and 64 (3x3, same) with 2x2 max pooling, "
                            "Dense 64")
    train.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="adam",
                       help="momentum and nesterov are SGD with momentum 0.9 (default: adam)")
    train.add_argument("--lr", type=float, default=None,
                       help="learning rate (default per optimizer: "
                            + ", ".join(f"{k} {v:g}" for k, v in OPTIMIZERS.items()) + ")")
    train.add_argument("--epochs", type=int, default=None,
                       help=f"default {DEFAULT_EPOCHS['mlp']} (mlp) or {DEFAULT_EPOCHS['cnn']} (cnn)")
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--validation-split", type=float, default=0.0,
                       help="fraction of the training data held out to report validation metrics per epoch")
    train.add_argument("--augment-shift", type=int, default=0, metavar="K",
                       help="augment: random shifts of up to K pixels, new every epoch")
    train.add_argument("--augment-flip", action="store_true", help="augment: random left-right flips")
    train.add_argument("--augment-rotate", type=float, default=0.0, metavar="DEG",
                       help="augment: random rotations of up to DEG degrees")
    train.add_argument("--device", default="cpu", help="backend: cpu (default), cuda-emu, cuda")
    train.add_argument("--output", metavar="CHECKPOINT", help="save the trained model here (fastnn.load_model reads it)")
    train.add_argument("--plot", metavar="PNG", help="save training curves here (needs matplotlib)")
    train.add_argument("--seed", type=int, default=0, help="seeds the data split, initialization and shuffling")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                       help="1: progress bar and a line per epoch; 2: the lines only; 0: the result only")
    train.set_defaults(run=_train)

    tune = sub.add_parser("tune", help="hyperparameter search described by a YAML or JSON file",
                          description="Run the hyperparameter search described by CONFIG (YAML or JSON). Keys: "
                                      "space (required: name -> list of values, {choice: [...]}, {uniform: [lo, hi]}, "
                                      "{log_uniform: [lo, hi]} or {int: [lo, hi]}), dataset (digits, mnist:DIR, "
                                      "fashion-mnist:DIR), model (mlp or cnn), strategy (grid, random, "
                                      "successive_halving, hyperband, bayesian), epochs, n_trials, max_epochs, "
                                      "min_epochs, eta, batch_size, sampler (random or tpe, for successive_halving "
                                      "and hyperband), pruner (median, for random and bayesian), scoring "
                                      "({validation_split: 0.2} or {cv: 3}, metric), seed, retrain (default true). "
                                      "See fastnn.zoo.MODEL_KEYS for the hyperparameters the models take; epochs "
                                      "and batch_size may be in the space too. Runs on Optuna.")
    tune.add_argument("config", metavar="CONFIG", help="a .yaml/.yml or .json file")
    tune.add_argument("--output", metavar="CHECKPOINT", help="save the retrained best model here")
    tune.add_argument("--device", default="cpu", help="backend: cpu (default), cuda-emu, cuda")
    tune.add_argument("--top", type=int, default=20, help="rows of the results table to print (default 20)")
    tune.add_argument("--verbose", type=int, choices=(0, 1), default=1, help="1: a line per trial; 0: none")
    tune.add_argument("--storage", metavar="URL",
                      help="keep the trials in an Optuna storage: sqlite:///search.db (or another database URL), or "
                           "a journal file path such as search.log. Rerunning the command continues the search; "
                           "several processes (or machines sharing a database) running it split the trials. "
                           "Watch it with: optuna-dashboard URL")
    tune.add_argument("--study", metavar="NAME",
                      help="the study's name in --storage (default: the config file's name without extension)")
    tune.set_defaults(run=_tune)

    info = sub.add_parser("info", help="print version, BLAS, threads, CUDA build and GPUs")
    info.set_defaults(run=_info)
    return parser


def main(argv=None):
    """Run the ``fastnn`` command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Problems with the user's input (bad options, data or config files) print one
    ``fastnn <command>: error: ...`` line on stderr and return 1.
    """
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError, ImportError) as e:
        print(f"fastnn {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"fastnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
