// Pooling on the CPU, NHWC: the inner loops run over the contiguous channels
// and vectorize; the outer loop over image rows is split across threads.
// Both backward passes are gathers (each dx pixel sums the windows that hold
// it, in a fixed order), so every dx element is written by one thread and the
// result does not depend on the thread count.
#include "../ops/pool.h"

#include <algorithm>

namespace fastnn {

constexpr int64_t kParallelMin = 1 << 14;

template <class T, bool kArgmax>
static void max_pool_rows(const T* x, T* y, int32_t* argmax, const Window2d& g) {
  const int64_t C = g.C;
#pragma omp parallel for if (g.N * g.OH * g.OW * C * g.KH * g.KW > kParallelMin)
  for (int64_t row = 0; row < g.N * g.OH; ++row) {
    const int64_t n = row / g.OH, oh = row % g.OH;
    const T* image = x + n * g.H * g.W * C;
    const Range kh = taps_inside(oh, g.sh, g.pad_top, g.KH, g.H);
    const int64_t ih0 = oh * g.sh - g.pad_top;
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const Range kw = taps_inside(ow, g.sw, g.pad_left, g.KW, g.W);
      const int64_t iw0 = ow * g.sw - g.pad_left;
      T* __restrict out = y + (row * g.OW + ow) * C;
      int32_t* __restrict arg = kArgmax ? argmax + (row * g.OW + ow) * C : nullptr;
      // Row-major over the window; a later cell wins only if strictly greater.
      bool first = true;
      for (int64_t i = kh.lo; i < kh.hi; ++i) {
        for (int64_t j = kw.lo; j < kw.hi; ++j) {
          const int64_t pos = (ih0 + i) * g.W + iw0 + j;
          const T* __restrict v = image + pos * C;
          if (first) {
            std::copy(v, v + C, out);
            if constexpr (kArgmax) std::fill(arg, arg + C, int32_t(pos));
            first = false;
            continue;
          }
          for (int64_t c = 0; c < C; ++c) {
            const bool greater = v[c] > out[c];
            out[c] = greater ? v[c] : out[c];
            if constexpr (kArgmax) arg[c] = greater ? int32_t(pos) : arg[c];
          }
        }
      }
    }
  }
}

template <class T>
void max_pool2d_forward(Cpu, const T* x, T* y, int32_t* argmax, const Window2d& g) {
  if (argmax) max_pool_rows<T, true>(x, y, argmax, g);
  else max_pool_rows<T, false>(x, y, nullptr, g);
}

// Calls f(out_pixel_index, window_oh, window_ow) for every window holding
// input pixel (ih, iw), windows in row-major order.
template <class F>
static void for_windows_containing(const Window2d& g, int64_t ih, int64_t iw, F&& f) {
  const Range oh = windows_containing(ih, g.sh, g.pad_top, g.KH, g.OH);
  const Range ow = windows_containing(iw, g.sw, g.pad_left, g.KW, g.OW);
  for (int64_t i = oh.lo; i < oh.hi; ++i)
    for (int64_t j = ow.lo; j < ow.hi; ++j) f(i * g.OW + j, i, j);
}

template <class T>
void max_pool2d_backward(Cpu, const T* dy, const int32_t* argmax, T* dx, const Window2d& g) {
  const int64_t C = g.C;
#pragma omp parallel for if (g.N * g.H * g.W * C > kParallelMin)
  for (int64_t row = 0; row < g.N * g.H; ++row) {
    const int64_t n = row / g.H, ih = row % g.H;
    const T* dy_image = dy + n * g.OH * g.OW * C;
    const int32_t* arg_image = argmax + n * g.OH * g.OW * C;
    for (int64_t iw = 0; iw < g.W; ++iw) {
      T* __restrict out = dx + (row * g.W + iw) * C;
      std::fill(out, out + C, T(0));
      const int32_t pos = int32_t(ih * g.W + iw);
      for_windows_containing(g, ih, iw, [&](int64_t p, int64_t, int64_t) {
        const T* __restrict d = dy_image + p * C;
        const int32_t* __restrict a = arg_image + p * C;
        for (int64_t c = 0; c < C; ++c) out[c] += a[c] == pos ? d[c] : T(0);
      });
    }
  }
}

template <class T>
void avg_pool2d_forward(Cpu, const T* x, T* y, const Window2d& g) {
  const int64_t C = g.C;
#pragma omp parallel for if (g.N * g.OH * g.OW * C * g.KH * g.KW > kParallelMin)
  for (int64_t row = 0; row < g.N * g.OH; ++row) {
    const int64_t n = row / g.OH, oh = row % g.OH;
    const T* image = x + n * g.H * g.W * C;
    const Range kh = taps_inside(oh, g.sh, g.pad_top, g.KH, g.H);
    const int64_t ih0 = oh * g.sh - g.pad_top;
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const Range kw = taps_inside(ow, g.sw, g.pad_left, g.KW, g.W);
      const int64_t iw0 = ow * g.sw - g.pad_left;
      T* __restrict out = y + (row * g.OW + ow) * C;
      std::fill(out, out + C, T(0));
      for (int64_t i = kh.lo; i < kh.hi; ++i)
        for (int64_t j = kw.lo; j < kw.hi; ++j) {
          const T* __restrict v = image + ((ih0 + i) * g.W + iw0 + j) * C;
          for (int64_t c = 0; c < C; ++c) out[c] += v[c];
        }
      const T inv = T(1) / T((kh.hi - kh.lo) * (kw.hi - kw.lo));
      for (int64_t c = 0; c < C; ++c) out[c] *= inv;
    }
  }
}

template <class T>
void avg_pool2d_backward(Cpu, const T* dy, T* dx, const Window2d& g) {
  const int64_t C = g.C;
#pragma omp parallel for if (g.N * g.H * g.W * C > kParallelMin)
  for (int64_t row = 0; row < g.N * g.H; ++row) {
    const int64_t n = row / g.H, ih = row % g.H;
    const T* dy_image = dy + n * g.OH * g.OW * C;
    for (int64_t iw = 0; iw < g.W; ++iw) {
      T* __restrict out = dx + (row * g.W + iw) * C;
      std::fill(out, out + C, T(0));
      for_windows_containing(g, ih, iw, [&](int64_t p, int64_t oh, int64_t ow) {
        const Range kh = taps_inside(oh, g.sh, g.pad_top, g.KH, g.H);
        const Range kw = taps_inside(ow, g.sw, g.pad_left, g.KW, g.W);
        const T inv = T(1) / T((kh.hi - kh.lo) * (kw.hi - kw.lo));
        const T* __restrict d = dy_image + p * C;
        for (int64_t c = 0; c < C; ++c) out[c] += d[c] * inv;
      });
    }
  }
}

template <class T>
void global_avg_pool2d_forward(Cpu, const T* x, T* y, int64_t N, int64_t HW, int64_t C) {
  const T inv = T(1) / T(HW);
#pragma omp parallel for if (N * HW * C > kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    T* __restrict out = y + n * C;
    std::fill(out, out + C, T(0));
    for (int64_t p = 0; p < HW; ++p) {
      const T* __restrict v = x + (n * HW + p) * C;
      for (int64_t c = 0; c < C; ++c) out[c] += v[c];
    }
    for (int64_t c = 0; c < C; ++c) out[c] *= inv;
  }
}

template <class T>
void global_avg_pool2d_backward(Cpu, const T* dy, T* dx, int64_t N, int64_t HW, int64_t C) {
  const T inv = T(1) / T(HW);
#pragma omp parallel for if (N * HW * C > kParallelMin)
  for (int64_t row = 0; row < N * HW; ++row) {
    const T* __restrict d = dy + (row / HW) * C;
    T* __restrict out = dx + row * C;
    for (int64_t c = 0; c < C; ++c) out[c] = d[c] * inv;
  }
}

#define INSTANTIATE(T)                                                                    \
  template void max_pool2d_forward<T>(Cpu, const T*, T*, int32_t*, const Window2d&);      \
  template void max_pool2d_backward<T>(Cpu, const T*, const int32_t*, T*, const Window2d&); \
  template void avg_pool2d_forward<T>(Cpu, const T*, T*, const Window2d&);                \
  template void avg_pool2d_backward<T>(Cpu, const T*, T*, const Window2d&);               \
  template void global_avg_pool2d_forward<T>(Cpu, const T*, T*, int64_t, int64_t, int64_t); \
  template void global_avg_pool2d_backward<T>(Cpu, const T*, T*, int64_t, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
