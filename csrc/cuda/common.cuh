// Shared by every CUDA kernel file: the portability/emulation header, launch
// error checks and grid sizing. Compiled by nvcc, or by g++ in emulation.
#pragma once
#include "emu/cuda_emu.h"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "../common/device.h"

// `#pragma unroll` for nvcc; g++ (emulation) spells it its own way, and
// full unrolling there keeps small register arrays out of memory too.
#if defined(__CUDACC__)
#define FASTNN_UNROLL _Pragma("unroll")
#else
#define FASTNN_UNROLL _Pragma("GCC unroll 16")
#endif

namespace fastnn::cuda {

inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(err));
}

// Every launch is followed by this: a bad configuration fails here, loudly.
#define FASTNN_CHECK_LAUNCH(name) ::fastnn::cuda::check(cudaGetLastError(), name)

inline cudaStream_t stream_of(const Cuda& dev) { return static_cast<cudaStream_t>(dev.stream); }

constexpr int kThreads = 256;  // threads per block of element-wise kernels

// Blocks for a grid-stride loop over n elements (capped: each thread loops).
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : b > 65535 ? 65535 : b);
}

// ---- Row kernels: one warp per row -------------------------------------------
// Softmax and the per-sample losses give each row to one warp: the lanes
// stride over the row's columns (coalesced), then combine with shuffles.

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = kThreads / kWarp;  // one row per warp

inline unsigned row_blocks(int64_t rows) {
  const int64_t b = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  return static_cast<unsigned>(b < 1 ? 1 : b > 65535 ? 65535 : b);
}

// Launches kernel(args...) over M rows: ceil(M / 8) blocks of 8 warps
// (capped; warps then take several rows). M == 0 launches nothing.
template <class Kernel, class... Args>
void launch_rows(const char* name, const Cuda& dev, int64_t M, Kernel kernel, Args... args) {
  if (M == 0) return;
  launch(kernel, row_blocks(M), kThreads, 0, stream_of(dev), args...);
  FASTNN_CHECK_LAUNCH(name);
}

// In a row kernel: calls body(row, lane) for each row this warp owns, on all
// lanes together, so the body may use warp shuffles.
template <class Body>
__device__ __forceinline__ void for_each_row(int64_t M, Body&& body) {
  const int lane = threadIdx.x % kWarp;
  for (int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp; row < M;
       row += int64_t(gridDim.x) * kRowsPerBlock)
    body(row, lane);
}

// Butterfly reductions over a full warp. Every lane ends with the same bits
// (a + b == b + a), and the combining order is fixed, so results repeat
// exactly from run to run.
template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <class T>
__device__ __forceinline__ T warp_max(T v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const T other = __shfl_xor_sync(0xffffffffu, v, offset);
    v = other > v ? other : v;
  }
  return v;
}

// ---- Column strips: column sums without atomics --------------------------------
// A block of kStripColumns x kStripRows threads owns 32 consecutive columns
// of a row-major (rows, cols) matrix: each warp reads one coalesced 32-wide
// row segment per step, and thread (x, y) walks rows y, y + 8, ... of column
// x. Column sums (bias gradients, column norms) then need no floating-point
// atomics: each thread sums its rows in order, and strip_column_sum combines
// the 8 partial sums in a fixed tree, so two runs give identical bits.

constexpr int kStripColumns = kWarp;
constexpr int kStripRows = 8;

inline dim3 strip_block() { return dim3(kStripColumns, kStripRows); }

// Grid for a pass over all rows. A column sum needs all rows of a strip in
// one block (row_blocks = 1); element-wise passes spread rows over blocks.
inline dim3 strip_grid(int64_t rows, int64_t cols, bool column_sums) {
  const int64_t strips = (cols + kStripColumns - 1) / kStripColumns;
  const int64_t row_blocks = column_sums ? 1 : (rows + kStripRows - 1) / kStripRows;
  return dim3(static_cast<unsigned>(strips < 1 ? 1 : strips),
              static_cast<unsigned>(row_blocks < 1 ? 1 : row_blocks > 65535 ? 65535 : row_blocks));
}

// Sum of v over the kStripRows threads of each block column, in a fixed tree
// order; every thread of the column gets the total. All threads of the block
// must call it (it has barriers).
template <class T>
__device__ __forceinline__ T strip_column_sum(T v, T (&partial)[kStripRows][kStripColumns]) {
  partial[threadIdx.y][threadIdx.x] = v;
  __syncthreads();
  for (int half = kStripRows / 2; half > 0; half /= 2) {
    if (threadIdx.y < unsigned(half)) partial[threadIdx.y][threadIdx.x] += partial[threadIdx.y + half][threadIdx.x];
    __syncthreads();
  }
  return partial[0][threadIdx.x];
}

}  // namespace fastnn::cuda
