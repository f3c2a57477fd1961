// Softmax and fused softmax + cross-entropy on the GPU, one warp per row
// (common.cuh): lanes stride over the row's columns, and the row max and
// sums are combined with warp shuffles. The row math is the CPU's
// (common/softmax_math.h), walked by a warp instead of one thread.
#include "../ops/softmax.h"

#include "common.cuh"
#include "../common/softmax_math.h"

namespace fastnn {

// The lanes of one warp walking a row: lane, lane + 32, ...
struct WarpRow {
  int64_t first;
  static constexpr int64_t step = cuda::kWarp;
  template <class V>
  __device__ V sum(V v) const { return cuda::warp_sum(v); }
  template <class V>
  __device__ V max(V v) const { return cuda::warp_max(v); }
};

template <class T>
__global__ void softmax_forward_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t M, int64_t C) {
  cuda::for_each_row(M, [&](int64_t r, int lane) {
    const WarpRow row{lane};
    const T* xr = x + r * C;
    softmax_row(row, xr, y + r * C, softmax_row_max(row, xr, C), C);
  });
}

template <class T>
__global__ void softmax_backward_kernel(const T* __restrict__ y, const T* dy, T* dx, int64_t M, int64_t C) {
  cuda::for_each_row(M, [&](int64_t r, int lane) {
    softmax_backward_row(WarpRow{lane}, y + r * C, dy + r * C, dx + r * C, C);
  });
}

template <class T, class Label>
__global__ void softmax_cross_entropy_forward_kernel(const T* __restrict__ logits, const Label* __restrict__ target,
                                                     T* __restrict__ probs, T* __restrict__ loss, int64_t M,
                                                     int64_t C) {
  const int64_t stride = softmax_target_stride<Label>(C);
  cuda::for_each_row(M, [&](int64_t r, int lane) {
    const T l = softmax_cross_entropy_row(WarpRow{lane}, logits + r * C, target + r * stride, probs + r * C, C);
    if (lane == 0) loss[r] = l;
  });
}

template <class T, class Label>
__global__ void softmax_cross_entropy_backward_kernel(const T* __restrict__ probs, const Label* __restrict__ target,
                                                      T* __restrict__ dlogits, T scale, int64_t M, int64_t C) {
  const int64_t stride = softmax_target_stride<Label>(C);
  cuda::for_each_row(M, [&](int64_t r, int lane) {
    softmax_cross_entropy_grad_row(WarpRow{lane}, probs + r * C, target + r * stride, dlogits + r * C, scale, C);
  });
}

template <class T>
void softmax_forward(Cuda dev, const T* x, T* y, int64_t M, int64_t C) {
  cuda::launch_rows("softmax_forward", dev, M, softmax_forward_kernel<T>, x, y, M, C);
}

template <class T>
void softmax_backward(Cuda dev, const T* y, const T* dy, T* dx, int64_t M, int64_t C) {
  cuda::launch_rows("softmax_backward", dev, M, softmax_backward_kernel<T>, y, dy, dx, M, C);
}

template <class T, class Label>
void softmax_cross_entropy_forward(Cuda dev, const T* logits, const Label* target, T* probs, T* loss, int64_t M,
                                   int64_t C) {
  cuda::launch_rows("softmax_cross_entropy_forward", dev, M, softmax_cross_entropy_forward_kernel<T, Label>, logits,
                    target, probs, loss, M, C);
}

template <class T, class Label>
void softmax_cross_entropy_backward(Cuda dev, const T* probs, const Label* target, T* dlogits, T scale, int64_t M,
                                    int64_t C) {
  cuda::launch_rows("softmax_cross_entropy_backward", dev, M, softmax_cross_entropy_backward_kernel<T, Label>, probs,
                    target, dlogits, scale, M, C);
}

FASTNN_INSTANTIATE_SOFTMAX(Cuda)

}  // namespace fastnn
