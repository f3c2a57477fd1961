// FASTNN_HD marks per-element math that both g++ (CPU loops, and the CUDA
// kernels in emulation) and nvcc (CUDA kernels) compile, so the backends
// share one definition.
#pragma once
#ifdef __CUDACC__
#define FASTNN_HD __host__ __device__
#else
#define FASTNN_HD
#endif
