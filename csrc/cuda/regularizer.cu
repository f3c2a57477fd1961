// Activity regularization on the GPU: the gradient is one element-wise
// launch; the penalty is two launches without floating-point atomics:
//   1. block b sums |y| and y^2 (in double) over its fixed slab of elements,
//      its threads' sums combined by a fixed shared-memory tree, into slots
//      workspace[1 + 2b], workspace[2 + 2b];
//   2. one warp adds the slots (lane i every 32nd, in order, then a fixed
//      butterfly) and writes the penalty to workspace[0].
// The slabs depend on n alone, so two runs give identical bits (not the
// CPU's: its blocks differ).
#include "../ops/regularizer.h"

#include <algorithm>

#include "../common/regularizer_math.h"
#include "common.cuh"

namespace fastnn {

using cuda::kThreads;
using cuda::kWarp;

constexpr int64_t kMaxSlabs = 1024;                   // ~8 blocks of 256 threads per SM on a large GPU
constexpr int64_t kMinSlabElems = int64_t(kThreads) * 8;  // 8 elements per thread at least

struct PenaltySlabs {
  int64_t size, count;
  explicit PenaltySlabs(int64_t n)
      : size(std::max((n + kMaxSlabs - 1) / kMaxSlabs, kMinSlabElems)), count((n + size - 1) / size) {}
};

template <class T>
__global__ void activity_regularizer_grad_kernel(const T* __restrict__ y, T* __restrict__ dy, T l1_scaled,
                                                 T two_l2_scaled, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dy[i] = activity_regularizer_grad(y[i], dy[i], l1_scaled, two_l2_scaled);
}

template <class T>
__global__ void activity_regularizer_partial_kernel(const T* __restrict__ y, double* __restrict__ partial,
                                                    int64_t slab, int64_t n) {
  __shared__ double abs_part[kThreads], sq_part[kThreads];
  const int64_t lo = int64_t(blockIdx.x) * slab, hi = lo + slab < n ? lo + slab : n;
  double abs_sum = 0, sq_sum = 0;
  for (int64_t i = lo + threadIdx.x; i < hi; i += kThreads) activity_regularizer_sums(y[i], abs_sum, sq_sum);
  abs_part[threadIdx.x] = abs_sum;
  sq_part[threadIdx.x] = sq_sum;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (int(threadIdx.x) < s) {
      abs_part[threadIdx.x] += abs_part[threadIdx.x + s];
      sq_part[threadIdx.x] += sq_part[threadIdx.x + s];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    partial[2 * blockIdx.x] = abs_part[0];
    partial[2 * blockIdx.x + 1] = sq_part[0];
  }
}

__global__ void activity_regularizer_total_kernel(double* workspace, int64_t slabs, double l1, double l2,
                                                  double batch) {
  const double* partial = workspace + 1;
  double abs_sum = 0, sq_sum = 0;
  for (int64_t b = threadIdx.x; b < slabs; b += kWarp) {
    abs_sum += partial[2 * b];
    sq_sum += partial[2 * b + 1];
  }
  abs_sum = cuda::warp_sum(abs_sum);
  sq_sum = cuda::warp_sum(sq_sum);
  if (threadIdx.x == 0) workspace[0] = activity_regularizer_total(abs_sum, sq_sum, l1, l2, batch);
}

template <class T>
void activity_regularizer_backward(Cuda dev, const T* y, T* dy, double l1, double l2, int64_t batch, int64_t n) {
  launch(activity_regularizer_grad_kernel<T>, cuda::blocks_for(n), kThreads, 0, cuda::stream_of(dev), y, dy,
         T(l1 / double(batch)), T(2 * l2 / double(batch)), n);
  FASTNN_CHECK_LAUNCH("activity_regularizer_backward");
}

int64_t activity_regularizer_workspace_size(Cuda, int64_t n) {
  return 1 + 2 * (n > 0 ? PenaltySlabs(n).count : 0);
}

template <class T>
void activity_regularizer_penalty(Cuda dev, const T* y, double* workspace, double l1, double l2, int64_t batch,
                                  int64_t n) {
  const PenaltySlabs slabs(n);
  const cudaStream_t stream = cuda::stream_of(dev);
  launch(activity_regularizer_partial_kernel<T>, unsigned(slabs.count), kThreads, 0, stream, y, workspace + 1,
         slabs.size, n);
  FASTNN_CHECK_LAUNCH("activity_regularizer_penalty (partial sums)");
  launch(activity_regularizer_total_kernel, 1u, unsigned(kWarp), 0, stream, workspace, slabs.count, l1, l2,
         double(batch));
  FASTNN_CHECK_LAUNCH("activity_regularizer_penalty (total)");
}

#define INSTANTIATE(T)                                                                                     \
  template void activity_regularizer_backward<T>(Cuda, const T*, T*, double, double, int64_t, int64_t); \
  template void activity_regularizer_penalty<T>(Cuda, const T*, double*, double, double, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
