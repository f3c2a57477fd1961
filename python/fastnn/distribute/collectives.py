"""The collective calls of data-parallel training: MPI for host arrays, NCCL for GPU arrays.

Both share everything but the array collectives: MPI (mpi4py) launches the
ranks, agrees on Python objects (layouts, RNG states, decisions) and aborts
the job; ``NcclCollectives`` only replaces ``allreduce``/``broadcast`` of
device arrays with NCCL calls enqueued on the stream the kernels run on, so
the host never waits for them.
"""
from __future__ import annotations

import numpy as np


class MpiCollectives:
    """Collectives over an mpi4py communicator, on host (NumPy) arrays."""

    name = "mpi"

    def __init__(self, comm):
        from mpi4py import MPI

        self.MPI, self.comm = MPI, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()

    def allreduce(self, buf):
        """Sum ``buf`` over all ranks, in place (every rank gets the same sum)."""
        if self.size > 1:
            self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        return buf

    def broadcast(self, buf, root=0):
        """Overwrite ``buf`` on every rank with root's, in place."""
        if self.size > 1:
            self.comm.Bcast(buf, root=root)
        return buf

    def broadcast_object(self, obj, root=0):
        """Root's ``obj`` (any picklable value) on every rank."""
        return obj if self.size == 1 else self.comm.bcast(obj, root=root)

    def allgather_object(self, obj):
        """Every rank's ``obj``, as a list in rank order."""
        return [obj] if self.size == 1 else self.comm.allgather(obj)

    def abort(self, code=1):
        """End every rank of the job now (after an uncaught exception on this one)."""
        self.comm.Abort(code)


class NcclCollectives(MpiCollectives):
    """NCCL for CuPy arrays, on the current CuPy stream (the one fastnn's CUDA kernels use);
    MPI for everything else. MPI broadcasts NCCL's unique id; each rank has already taken
    the GPU of its rank on the host (``DataParallel``)."""

    name = "nccl"

    def __init__(self, comm):
        super().__init__(comm)
        import cupy
        from cupy.cuda import nccl

        self.cupy, self.nccl = cupy, nccl
        uid = nccl.get_unique_id() if self.rank == 0 else None
        self.nccl_comm = nccl.NcclCommunicator(self.size, comm.bcast(uid, root=0), self.rank)
        self._types = {np.dtype(np.float32): nccl.NCCL_FLOAT32, np.dtype(np.float64): nccl.NCCL_FLOAT64}

    def _device(self, buf):
        return isinstance(buf, self.cupy.ndarray)

    def allreduce(self, buf):
        if not self._device(buf):
            return super().allreduce(buf)
        stream = self.cupy.cuda.get_current_stream().ptr
        self.nccl_comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, self._types[buf.dtype], self.nccl.NCCL_SUM,
                                 stream)
        return buf

    def broadcast(self, buf, root=0):
        if not self._device(buf):
            return super().broadcast(buf, root)
        stream = self.cupy.cuda.get_current_stream().ptr
        self.nccl_comm.bcast(buf.data.ptr, buf.size, self._types[buf.dtype], root, stream)
        return buf


class HostStagedCollectives(MpiCollectives):
    """MPI collectives on arrays of a backend whose arrays are not NumPy's (a copy through the host):
    what a GPU without NCCL falls back to; the emulated GPU backend uses NumPy arrays directly."""

    name = "mpi-host-staged"

    def __init__(self, comm, xp):
        super().__init__(comm)
        self.xp = xp

    def _staged(self, call, buf, *args):
        if isinstance(buf, np.ndarray):
            return call(buf, *args)
        host = self.xp.asnumpy(buf)
        call(host, *args)
        buf[...] = self.xp.asarray(host)
        return buf

    def allreduce(self, buf):
        return self._staged(super().allreduce, buf)

    def broadcast(self, buf, root=0):
        return self._staged(super().broadcast, buf, root)


def for_backend(comm, backend):
    """The collectives for a model on ``backend``: NCCL for ``cuda`` when cupy has it, MPI otherwise."""
    if backend.name != "cuda":
        return MpiCollectives(comm)
    try:
        from cupy.cuda import nccl  # noqa: F401
    except ImportError:
        return HostStagedCollectives(comm, backend.xp)
    return NcclCollectives(comm)
