// im2col / col2im on the GPU: the Caffe kernels, channels last.
//
// Both walk memory with the channel fastest: consecutive threads take
// consecutive channels of one pixel, so for C >= 32 a warp reads and writes
// whole contiguous runs. Each thread handles one (pixel, channel) pair and
// loops over the KH x KW taps itself, so the index arithmetic (divisions)
// is paid once per thread, not once per element.
//
// col2im is a gather (as Caffe's col2im_gpu): one thread per dx element sums
// the col entries im2col copied from that element, taps in a fixed order.
// No thread writes another's element, so there are no atomics and the
// result is the same bits on every run.
#include "../ops/im2col.h"

#include <algorithm>

#include "common.cuh"

namespace fastnn {
namespace {

// Thread i of the grid-stride loop over rows [r0, r1) x channels: row
// r0 + i / C, channel i % C. It writes that channel of each of the row's
// KH*KW taps (zero in the padding).
template <class T>
__global__ void im2col_kernel(const T* __restrict__ x, T* __restrict__ col, const Window2d g, int64_t r0,
                              int64_t r1) {
  const int64_t K = g.patch(), P = g.out_pixels(), work = (r1 - r0) * g.C;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < work; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = i % g.C, r = r0 + i / g.C;
    const int64_t n = r / P, p = r % P, oh = p / g.OW, ow = p % g.OW;
    const T* image = x + n * g.H * g.W * g.C + c;
    T* dst = col + (r - r0) * K + c;
    const int64_t ih0 = oh * g.sh - g.pad_top, iw0 = ow * g.sw - g.pad_left;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t ih = ih0 + kh * g.dh;
      const bool row_inside = ih >= 0 && ih < g.H;
      for (int64_t kw = 0; kw < g.KW; ++kw, dst += g.C) {
        const int64_t iw = iw0 + kw * g.dw;
        *dst = row_inside && iw >= 0 && iw < g.W ? image[(ih * g.W + iw) * g.C] : T(0);
      }
    }
  }
}

// Thread i of the grid-stride loop over dx elements [e0, e1) (linear NHWC
// indices): sums, taps (kh, kw) ascending, the entries of col rows [r0, r1)
// that im2col copied from element i, then writes or adds the sum.
template <class T>
__global__ void col2im_kernel(const T* __restrict__ col, T* __restrict__ dx, const Window2d g, int64_t r0,
                              int64_t r1, int64_t e0, int64_t e1, bool accumulate) {
  const int64_t K = g.patch(), P = g.out_pixels();
  for (int64_t e = e0 + int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < e1;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t c = e % g.C, pixel = e / g.C;
    const int64_t iw = pixel % g.W, ih = pixel / g.W % g.H, n = pixel / (g.W * g.H);
    T sum = 0;
    // Tap (kh, kw) of output pixel (oh, ow) reads this element when
    // oh * sh - pad_top + kh * dh = ih and ow * sw - pad_left + kw * dw = iw.
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t th = ih + g.pad_top - kh * g.dh;
      if (th < 0 || th % g.sh != 0 || th / g.sh >= g.OH) continue;
      const int64_t row = n * P + th / g.sh * g.OW;  // column-matrix row of (n, oh, ow = 0)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const int64_t tw = iw + g.pad_left - kw * g.dw;
        if (tw < 0 || tw % g.sw != 0 || tw / g.sw >= g.OW) continue;
        const int64_t r = row + tw / g.sw;
        if (r >= r0 && r < r1) sum += col[(r - r0) * K + (kh * g.KW + kw) * g.C + c];
      }
    }
    dx[e] = accumulate ? dx[e] + sum : sum;
  }
}

}  // namespace

template <class T>
void im2col(Cuda dev, const T* x, T* col, const Window2d& g, int64_t r0, int64_t r1) {
  const int64_t work = (r1 - r0) * g.C;
  if (work <= 0) return;
  launch(im2col_kernel<T>, cuda::blocks_for(work), cuda::kThreads, 0, cuda::stream_of(dev), x, col, g, r0, r1);
  FASTNN_CHECK_LAUNCH("im2col");
}

template <class T>
void col2im(Cuda dev, const T* col, T* dx, const Window2d& g, int64_t r0, int64_t r1, bool accumulate) {
  if (r1 <= r0) return;
  const int64_t P = g.out_pixels(), image = g.H * g.W * g.C;
  // The dx elements the rows can reach: whole images when writing; when
  // adding, only the input rows between the first row's window top and the
  // last row's window bottom (a run of a few rows is a few image rows, not
  // whole images).
  int64_t e0 = r0 / P * image, e1 = (r1 + P - 1) / P * image;
  if (accumulate) {
    const int64_t first_oh = r0 % P / g.OW, last_oh = (r1 - 1) % P / g.OW;
    const int64_t ih_lo = std::clamp<int64_t>(first_oh * g.sh - g.pad_top, 0, g.H);
    const int64_t ih_hi = std::clamp<int64_t>(last_oh * g.sh - g.pad_top + dilated_extent(g.KH, g.dh), 0, g.H);
    e0 = (r0 / P * g.H + ih_lo) * g.W * g.C;
    e1 = ((r1 - 1) / P * g.H + ih_hi) * g.W * g.C;
    if (e1 <= e0) return;  // the rows' windows lie in the padding
  }
  launch(col2im_kernel<T>, cuda::blocks_for(e1 - e0), cuda::kThreads, 0, cuda::stream_of(dev), col, dx, g, r0, r1,
         e0, e1, accumulate);
  FASTNN_CHECK_LAUNCH("col2im");
}

#define INSTANTIATE(T)                                                             \
  template void im2col<T>(Cuda, const T*, T*, const Window2d&, int64_t, int64_t); \
  template void col2im<T>(Cuda, const T*, T*, const Window2d&, int64_t, int64_t, bool);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
