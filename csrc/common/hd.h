// FASTNN_HD marks per-element math that both g++ (CPU loops) and nvcc
// (CUDA kernels) compile, so the two backends share one definition.
#pragma once
#if defined(__CUDACC__) || defined(FASTNN_CUDA_EMU)
#define FASTNN_HD __host__ __device__
#else
#define FASTNN_HD
#endif
