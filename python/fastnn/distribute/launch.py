"""How this process was launched: rank and size from the launcher's environment, without importing MPI.

``mpiexec`` and ``srun`` tell each process its place in environment
variables; reading them lets ``rank()``/``world_size()`` answer (and a script
choose to use a strategy) before mpi4py is imported, since importing it
initialises MPI.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

# (rank, size, local rank, local size) variables of each launcher, most specific first.
_LAUNCHERS = (
    ("Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
     "OMPI_COMM_WORLD_LOCAL_SIZE"),
    ("MPICH", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),
    ("PMIx", "PMIX_RANK", "PMIX_SIZE", "PMIX_LOCAL_RANK", "PMIX_LOCAL_SIZE"),
    ("Slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"),
)


@dataclass(frozen=True)
class Launch:
    """This process's place in the job: ``rank`` of ``size``, ``local_rank`` of ``local_size`` on its host."""

    launcher: str | None
    rank: int
    size: int
    local_rank: int
    local_size: int


def _int(env, name, default):
    value = env.get(name, "")
    head = value.split("(")[0].split(",")[0]  # Slurm writes e.g. SLURM_NTASKS_PER_NODE=2(x3)
    return int(head) if head.isdigit() else default


def detect(env=None):
    """The launch described by ``env`` (default ``os.environ``); one process alone if no launcher set it."""
    env = os.environ if env is None else env
    for name, rank, size, local_rank, local_size in _LAUNCHERS:
        if rank in env and _int(env, size, 0) > 0:
            n = _int(env, size, 1)
            return Launch(name, _int(env, rank, 0), n, _int(env, local_rank, 0), _int(env, local_size, n))
    return Launch(None, 0, 1, 0, 1)


def threads_per_rank(local_size, affinity=None, cpu_count=None):
    """OpenMP threads for one of ``local_size`` ranks on this host.

    A rank the launcher bound to some cores uses those cores; an unbound one
    (its affinity is the whole machine) takes an equal share of them.
    """
    affinity = len(os.sched_getaffinity(0)) if affinity is None else affinity
    cpu_count = (os.cpu_count() or affinity) if cpu_count is None else cpu_count
    if affinity < cpu_count:
        return max(1, affinity)
    return max(1, affinity // max(1, local_size))
