"""Where a study's trials live, and running a study's trials to its total from any number of processes.

A storage is None (in memory), an RDB URL, a journal file, or an Optuna
storage. Every process working on a study runs trials one at a time until the
study holds ``n_trials`` (counted over all processes), after putting back in
the queue any trial that a dead process left unfinished.
"""
from __future__ import annotations

import os
import socket
import warnings

from .space import TUNE_HINT

#: Seconds between a running trial's heartbeats in an RDB storage; a trial silent for three times
#: as long is marked failed (and retried) by the next process that works on the study.
HEARTBEAT_SECONDS = 10


def optuna_module():
    """The optuna module (quiet below warnings), or an ImportError that says how to install it."""
    try:
        import optuna
    except ImportError:
        raise ImportError(f"fastnn.tune needs Optuna: {TUNE_HINT}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def open_storage(storage, heartbeat_interval=HEARTBEAT_SECONDS):
    """An Optuna storage from ``storage``: None (in memory), an RDB URL (``sqlite:///search.db``,
    ``postgresql://...``, ``mysql://...``: with heartbeats, so a dead process's trial is retried),
    a journal file path (any other string; a file that several processes on one machine or a shared
    file system can append to), or an Optuna storage object (used as it is)."""
    optuna = optuna_module()
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if not isinstance(storage, (str, os.PathLike)):
        raise TypeError(f"storage: expected a URL, a file path or an Optuna storage, got {type(storage).__name__}")
    storage = os.fspath(storage)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if "://" in storage:
                # Optuna 4.9 renamed the argument; the retry callback is the same class under two names
                new = hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback")
                callback = {"heartbeat_stale_trial_callback" if new else "failed_trial_callback": _retry()}
                return optuna.storages.RDBStorage(storage, heartbeat_interval=heartbeat_interval,
                                                  grace_period=3 * heartbeat_interval, **callback)
            parent = os.path.dirname(os.path.abspath(storage))
            if not os.path.isdir(parent) or os.path.isdir(storage):
                raise OSError(f"no directory {parent!r} to write a journal file in" if not os.path.isdir(parent)
                              else "it is a directory")
            return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(storage))
    except Exception as e:
        raise ValueError(f"storage: cannot open {storage!r}: {type(e).__name__}: {e}") from None


def _retry():
    """Optuna's callback that queues a copy (same parameters) of a trial that died, at most 3 times."""
    import optuna

    cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) or optuna.storages.RetryFailedTrialCallback
    return cls(max_retry=3)


def describe(storage):
    """Where a storage keeps its trials: its URL or file path."""
    url = getattr(storage, "url", None)
    if url:
        return url
    backend = getattr(storage, "_backend", None)
    return getattr(backend, "_file_path", type(storage).__name__)


def _counted(trial):
    """A trial that takes one of the study's n_trials: finished (also pruned or failed in the
    objective), running, or waiting to run; not one killed before it finished (it is retried)."""
    state = trial.state.name
    if "skipped" in trial.user_attrs:
        return False
    return state in ("COMPLETE", "PRUNED", "RUNNING", "WAITING") or (state == "FAIL" and "error" in trial.user_attrs)


def _retry_interrupted(optuna, study):
    """Mark failed the running trials of processes on this machine that have died, and queue a
    rerun of every trial that did not finish (killed, crashed or Ctrl-C) and has none yet."""
    from optuna.trial import TrialState

    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker_host, _, pid = str(t.user_attrs.get("worker", "")).rpartition(":")
        if worker_host == host and pid.isdigit() and not _alive(int(pid)):
            study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
    trials = study.get_trials(deepcopy=False)
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    for t in trials:
        if t.state == TrialState.FAIL and t.number not in retried and not {"error", "skipped"} & set(t.user_attrs):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                _retry()(study, t)


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def optimize(optuna, study, objective, n_trials):
    """Run one trial at a time until the study holds ``n_trials``; True if Ctrl-C stopped it."""
    from optuna.trial import TrialState

    def run_one(trial):
        trials = study.get_trials(deepcopy=False)
        me = next(t for t in trials if t.number == trial.number)
        queued = "failed_trial" in me.system_attrs or "fixed_params" in me.system_attrs
        # Two processes may start a trial at the same moment for the last slot: the later number yields.
        if not queued and sum(_counted(t) for t in trials if t.number < trial.number) >= n_trials:
            trial.set_user_attr("skipped", "the study had its n_trials")
            raise optuna.TrialPruned()
        return objective(trial)

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # each trial prints its own line (verbose=1), failures too
    try:
        while True:
            _retry_interrupted(optuna, study)
            trials = study.get_trials(deepcopy=False)
            waiting = any(t.state == TrialState.WAITING for t in trials)  # a retry to run, even at the total
            if sum(_counted(t) for t in trials) >= n_trials and not waiting:
                return False
            study.optimize(run_one, n_trials=1, catch=(Exception,))
    except KeyboardInterrupt:
        return True
    finally:
        optuna.logging.set_verbosity(verbosity)
