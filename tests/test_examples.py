"""Every program in examples/ runs as a script on the small stand-in data (``FASTNN_EXAMPLES_SMALL=1``, no
download) and prints test accuracies well above chance.

The scripts run as subprocesses, two at a time on one thread each (both cores
busy, none oversubscribed); each test waits for its own script's result.
"""
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# script -> (its arguments, the smallest accuracy every "Test accuracy" line must show)
RUNS = {
    "mnist_mlp.py": (["--epochs", "3"], 0.6),
    "mnist_cnn.py": (["--epochs", "3"], 0.5),
    "mnist_maxnorm.py": (["--epochs", "4"], 0.6),
    "regularization.py": (["--epochs", "4"], 0.6),
    "early_stopping.py": (["--epochs", "60"], 0.6),
    "hyperparameter_search.py": (["--epochs", "3"], 0.6),
    "transfer_learning.py": (["--epochs", "3"], 0.3),  # 5 classes, chance 0.2; checked more closely below
    "resnet.py": (["--epochs", "4"], 0.7),
}


def _run(name):
    pytest.importorskip("sklearn")
    env = {**os.environ, "FASTNN_EXAMPLES_SMALL": "1", "OMP_NUM_THREADS": "1"}
    args, _ = RUNS[name]
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def runs():
    pytest.importorskip("sklearn")
    pool = ThreadPoolExecutor(max_workers=2)
    futures = {name: pool.submit(_run, name) for name in RUNS}
    yield futures
    pool.shutdown(wait=True)


def output(runs, name):
    result = runs[name].result()
    assert result.returncode == 0, f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "using scikit-learn's 8x8 digits scaled up to 28x28" in result.stderr  # the stand-in says so
    return result.stdout


def accuracies(out):
    return [float(a) for a in re.findall(r"Test accuracy: ([0-9.]+)", out)]


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(RUNS)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_example_runs_and_beats_chance(runs, name):
    out = output(runs, name)
    found = accuracies(out)
    assert found, f"{name} printed no test accuracy:\n{out[-2000:]}"
    if name == "transfer_learning.py":
        found = found[:1] + found[2:]  # the new head before training is at chance, as it should be
    assert min(found) >= RUNS[name][1], f"{name}: {found}"


def test_example_details(runs):
    """What each lecture program is about actually happens."""
    mlp = output(runs, "mnist_mlp.py")
    assert "1347 train samples" in mlp and "(None, 500)" in mlp and "Epoch 3/3" in mlp
    assert "(None, 5, 5, 64)" in output(runs, "mnist_cnn.py")
    norm = float(re.search(r"Largest hidden-unit weight norm: ([0-9.]+)", output(runs, "mnist_maxnorm.py")).group(1))
    assert norm == pytest.approx(2, rel=1e-5)  # MaxNorm(2) binds: the largest unit sits on the bound
    regularized = output(runs, "regularization.py")
    near_zero = dict(re.findall(r"^ *([A-Za-z0-9 ]+): train.*below 1e-3: ([0-9.]+)%", regularized, re.M))
    assert set(near_zero) == {"none", "L1", "L2", "elastic net"}
    assert float(near_zero["L1"]) > float(near_zero["none"]) + 10  # L1 zeroes weights
    trained = int(re.search(r"Trained (\d+) of 60 epochs", output(runs, "early_stopping.py")).group(1))
    assert trained < 60
    search = output(runs, "hyperparameter_search.py")
    assert search.count("grid   {") == 4 and "Random search best" in search
    transfer = output(runs, "transfer_learning.py")
    base, before, frozen, tuned = accuracies(transfer)
    assert base > 0.7 and before < 0.4 and tuned > frozen and tuned > 0.5
    assert "Non-trainable params: 121,280" in transfer and "Non-trainable params: 320" in transfer
