"""``DataParallel``: every process holds the whole model and trains on its slice of each global batch.

A step (``train_step``): forward and backward on this rank's rows, the loss
gradient scaled by rows / global batch size, so the gradients of all ranks
sum to the gradient of the global batch's mean loss; the batch's loss and
metric sums written after the gradients (``Parameters.grads_and_totals``);
one in-place allreduce of that buffer; the same fused optimizer step on every
rank. Parameters stay bit-identical across ranks because every rank applies
the same update to the same values.
"""
from __future__ import annotations

import sys

import numpy as np

from . import launch
from ..training.data import num_rows
from .collectives import for_backend


class DataParallel:
    """Data-parallel training over MPI (Keras 3 calls its counterpart ``keras.distribution.DataParallel``).

    Launch the script with ``mpiexec -n N python train.py`` (or ``srun``);
    every process runs the same script, builds the same model and calls
    ``fit`` with the same data. ``batch_size`` is the global batch: each
    process takes its rows of every batch (of arrays, memmaps, and of the
    batches generators and Sequences yield, which must be the same on every
    process). Rank 0's weights, optimizer state and random state are
    broadcast when ``fit`` starts; only rank 0 prints and writes files.

    On a machine with GPUs each rank uses the GPU of its rank on the host
    (make it before the model), and models with ``device="cuda"`` combine
    their gradients with NCCL.

    Args:
        comm: an mpi4py communicator (default ``MPI.COMM_WORLD``). mpi4py is
            imported here, not before: importing it initialises MPI.
        abort_on_exception: install a ``sys.excepthook`` that ends the whole
            job (``comm.Abort``) after printing an uncaught exception, so one
            failing rank never leaves the others waiting forever.
        num_threads: OpenMP threads of this process; default: the cores the
            launcher bound it to, or an equal share of the host's cores
            (unless ``OMP_NUM_THREADS`` is set).
    """

    def __init__(self, comm=None, abort_on_exception=True, num_threads=None):
        from mpi4py import MPI

        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank, self.world_size = self.comm.Get_rank(), self.comm.Get_size()
        host = self.comm.Split_type(MPI.COMM_TYPE_SHARED)  # the ranks on this machine
        self.local_rank, self.local_size = host.Get_rank(), host.Get_size()
        _use_local_gpu(self.local_rank)
        self._collectives = {}
        self.mpi = self.collectives_for(None)
        if abort_on_exception:
            _install_abort_hook(self.mpi)
        self._set_threads(num_threads)

    @property
    def is_chief(self):
        """True on rank 0, the process that prints, writes checkpoints and logs."""
        return self.rank == 0

    @property
    def part(self):
        """``(rank, world_size)``: which share of every batch this process takes."""
        return self.rank, self.world_size

    def _set_threads(self, num_threads):
        import os

        from .. import set_num_threads

        if num_threads is None and "OMP_NUM_THREADS" in os.environ:
            return
        set_num_threads(num_threads or launch.threads_per_rank(self.local_size))

    def collectives_for(self, backend):
        """The collectives for arrays of ``backend`` (NCCL on ``cuda``, else MPI), made once."""
        key = None if backend is None else backend.name
        if key not in self._collectives:
            from .collectives import MpiCollectives

            self._collectives[key] = MpiCollectives(self.comm) if backend is None else for_backend(self.comm, backend)
        return self._collectives[key]

    # -- the start of fit: one model on every rank --------------------------------------
    def sync_model(self, model):
        """Check every rank built the same model, then give every rank rank 0's weights, optimizer
        state, random state and counters. A mismatch raises ValueError on every rank."""
        layouts = self.mpi.allgather_object(_layout(model))
        bad = [r for r, layout in enumerate(layouts) if layout != layouts[0]]
        if bad:
            raise ValueError(f"model: rank {bad[0]} built a different model from rank 0's (layers, shapes, dtype or "
                             f"optimizer differ): rank 0 {layouts[0]!r}, rank {bad[0]} {layouts[bad[0]]!r}")
        if any(getattr(layer, "activity_regularizer", None) is not None for layer in model.layers):
            raise ValueError("model: activity regularizers are not supported by DataParallel yet (their gradient "
                             "is taken per process batch)")
        coll = self.collectives_for(model.backend)
        params = model.parameters
        for buf in (params.params, params.state, *model.optimizer.state):
            coll.broadcast(buf)
        has_average = self.mpi.broadcast_object(params.average is not None)
        if has_average:
            params.start_average()
            coll.broadcast(params.average)
        opt = model.optimizer
        shared = self.mpi.broadcast_object({
            "iterations": opt.iterations, "epoch": model.epoch, "rng": model.rng.bit_generator.state,
            "seeds": [layer.default_seed for layer in model.layers],
            "learning_rate": None if callable(opt.learning_rate) else opt.learning_rate})
        opt.iterations, model.epoch = shared["iterations"], shared["epoch"]
        model.rng.bit_generator.state = shared["rng"]
        for layer, seed in zip(model.layers, shared["seeds"]):
            layer.default_seed = seed
        if shared["learning_rate"] is not None:
            opt.learning_rate = shared["learning_rate"]
        for layer in _synchronized(model):
            layer.combine = coll.allreduce

    def release(self, model):
        """At the end of ``fit``: synchronized batch norm goes back to one process's statistics."""
        for layer in _synchronized(model):
            layer.combine = None

    def agree(self, model):
        """At the end of an epoch, every rank takes rank 0's decisions: stop, learning rate."""
        opt = model.optimizer
        lr = None if callable(opt.learning_rate) else opt.learning_rate
        model.stop_training, lr = self.mpi.broadcast_object((bool(model.stop_training), lr))
        if lr is not None:
            opt.learning_rate = lr

    # -- steps ----------------------------------------------------------------------------
    def train_step(self, model):
        """The step ``fit`` runs on sharded batches ``(x, y, sw, shard)``: returns the global batch's sums."""
        coll = self.collectives_for(model.backend)
        params = model.parameters
        n_params = len(params.params)

        def combine(totals):
            if len(totals) > len(params.grads_and_totals) - n_params:  # more metrics than room: a second call
                coll.allreduce(params.grads)
                return list(self.mpi.allreduce(np.array([float(t) for t in totals])))
            used = params.grads_and_totals[:n_params + len(totals)]
            tail = used[n_params:]
            for i, total in enumerate(totals):
                tail[i] = total
            coll.allreduce(used)
            return [tail[i].copy() for i in range(len(totals))]

        def step(x, y, sw, shard):
            _place_rows(model, shard.first)
            if not num_rows(x):  # no rows here: still take part in synchronized batch norm's allreduces
                synced = [layer for layer in _synchronized(model) if layer.trainable]
                for layer in synced:
                    layer.forward_without_rows()
                for layer in reversed(synced):
                    layer.backward_without_rows()
            return model.train_step_sharded(x, y, sw, shard.size, combine)
        return step

    def test_step(self, model):
        """The step of ``evaluate`` (and validation) on sharded batches: the global batch's sums."""
        def step(x, y, sw, shard):
            totals = model.test_step_host(x, y, sw) if num_rows(x) else [0.0] * model.totals_count
            buf = np.array([float(t) for t in totals])
            return list(self.mpi.allreduce(buf))
        return step

    def gather_rows(self, outputs):
        """``predict``'s outputs: every rank's rows of every batch, in the global order."""
        per_rank = self.mpi.allgather_object(outputs)
        return [np.concatenate([rank_outputs[k] for rank_outputs in per_rank]) for k in range(len(outputs))]


def _place_rows(model, first):
    """Tell random layers where this rank's rows start in the global batch (their masks are keyed by it)."""
    for layer in model.layers:
        if hasattr(layer, "row_offset"):
            layer.row_offset = first


def _use_local_gpu(local_rank):
    """Each rank on a host takes its own GPU (before any model places arrays on one)."""
    from .. import backend

    if "cuda" in backend.available():
        cupy = backend.get("cuda").xp
        cupy.cuda.Device(local_rank % cupy.cuda.runtime.getDeviceCount()).use()


def _synchronized(model):
    return [layer for layer in model.layers if getattr(layer, "synchronized", False)]


def _layout(model):
    """What must match across ranks: dtype, layers and their parameter shapes, optimizer and its state."""
    layers = [(type(l).__name__, l.name, [(s.name, tuple(s.shape), bool(s.trainable)) for s in l.specs])
              for l in model.layers]
    return (model.dtype.name, model.backend.name, layers, type(model.optimizer).__name__,
            [tuple(s.shape) for s in model.optimizer.state])


def _install_abort_hook(collectives):
    """An uncaught exception prints its traceback, then ends every rank (they would wait forever)."""
    previous = sys.excepthook

    def abort(kind, value, traceback):
        previous(kind, value, traceback)
        sys.stderr.flush()
        sys.stdout.flush()
        collectives.abort(1)
    sys.excepthook = abort
