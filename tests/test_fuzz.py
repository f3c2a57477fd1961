"""Seeded, bounded fuzzing of every public op (tests/fuzz_ops_worker.py), in a subprocess so that a
crash fails this test instead of killing pytest. Every call must give the NumPy twin's result or a
ValueError/TypeError whose message starts with one of the op's parameter names."""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("hypothesis")

WORKER = os.path.join(os.path.dirname(__file__), "fuzz_ops_worker.py")
EXAMPLES = 10_000  # about 20 s on 2 cores


def test_fuzz_every_op(tmp_path):
    trace = tmp_path / "trace.txt"
    try:
        done = subprocess.run([sys.executable, WORKER, str(EXAMPLES), str(trace)], capture_output=True, text=True,
                              timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the fuzzer hung; last calls:\n{_tail(trace)}")
    assert done.returncode == 0, f"exit {done.returncode}; last calls:\n{_tail(trace)}\n{done.stderr[-3000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["calls"] == EXAMPLES
    assert report["results_equal"] > EXAMPLES // 10 and report["clean_errors"] > EXAMPLES // 10, report
    assert report["problems"] == [], json.dumps(report["problems"][:10], indent=1)


def _tail(path, lines=5):
    return "".join(open(path).readlines()[-lines:]) if os.path.exists(path) else "(no trace)"
