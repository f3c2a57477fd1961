// Pooling on the CPU, NHWC: the inner loops run over the contiguous channels
// and vectorize; the outer loop over image rows is split across threads.
// Both backward passes are gathers (each dx pixel sums the windows that hold
// it, in a fixed order), so every dx element is written by one thread and the
// result does not depend on the thread count.
#include "../ops/pool.h"

#include <algorithm>

#include "../common/pool_math.h"
#include "simd_clones.h"

namespace fastnn {

constexpr int64_t kParallelMin = 1 << 14;

// Per-channel loops, with restrict-qualified parameters so that they
// vectorize without runtime alias checks.

template <class T>
inline void copy_cell(T* __restrict out, int32_t* __restrict arg, const T* __restrict v, int32_t pos, int64_t C) {
  for (int64_t c = 0; c < C; ++c) out[c] = v[c], arg[c] = pos;
}

// A later cell replaces the max only if strictly greater: ties keep the first.
template <class T>
inline void max_cell(T* __restrict out, int32_t* __restrict arg, const T* __restrict v, int32_t pos, int64_t C) {
  for (int64_t c = 0; c < C; ++c) {
    const bool takes = pool_takes(v[c], out[c]);
    out[c] = takes ? v[c] : out[c];
    arg[c] = takes ? pos : arg[c];
  }
}

template <class T>
inline void max_cell(T* __restrict out, const T* __restrict v, int64_t C) {
  for (int64_t c = 0; c < C; ++c) out[c] = pool_takes(v[c], out[c]) ? v[c] : out[c];
}

template <class T>
inline void add_where(T* __restrict out, const T* __restrict d, const int32_t* __restrict arg, int32_t pos,
                      int64_t C) {
  for (int64_t c = 0; c < C; ++c) {
    const T v = d[c];  // loaded unconditionally, so the select vectorizes
    out[c] += arg[c] == pos ? v : T(0);
  }
}

template <class T>
inline void add_scaled(T* __restrict out, const T* __restrict v, T scale, int64_t C) {
  for (int64_t c = 0; c < C; ++c) out[c] += v[c] * scale;
}

// One output row (image n = row / OH, oh = row % OH) of max pooling.
// The row functions carry the SIMD clones: an OpenMP loop body is outlined
// into a function of its own that target_clones would not reach.
template <class T, bool kArgmax>
FASTNN_SIMD_CLONES_AVX512 void max_pool_row(const T* x, T* y, int32_t* argmax, const Window2d& g, int64_t row) {
  const int64_t C = g.C, n = row / g.OH, oh = row % g.OH;
  const T* image = x + n * g.H * g.W * C;
  const Range kh = taps_inside(oh, g.sh, g.pad_top, g.KH, g.H);
  const int64_t ih0 = oh * g.sh - g.pad_top;
  for (int64_t ow = 0; ow < g.OW; ++ow) {
    const Range kw = taps_inside(ow, g.sw, g.pad_left, g.KW, g.W);
    const int64_t iw0 = ow * g.sw - g.pad_left, out = (row * g.OW + ow) * C;
    // Row-major over the window's cells inside the image.
    for (int64_t i = kh.lo; i < kh.hi; ++i) {
      for (int64_t j = kw.lo; j < kw.hi; ++j) {
        const int64_t pos = (ih0 + i) * g.W + iw0 + j;
        const bool first = i == kh.lo && j == kw.lo;
        if constexpr (kArgmax) {
          if (first) copy_cell(y + out, argmax + out, image + pos * C, int32_t(pos), C);
          else max_cell(y + out, argmax + out, image + pos * C, int32_t(pos), C);
        } else {
          if (first) std::copy(image + pos * C, image + (pos + 1) * C, y + out);
          else max_cell(y + out, image + pos * C, C);
        }
      }
    }
  }
}

// The usual pool: 2x2 windows, stride 2, every window inside the image.
// One image per call, every window's four cells in one pass over the
// channels (cells in row-major order, so ties keep the first as above);
// the backward writes each cell once, the cells no window holds (an odd
// last row or column) as zeros. 3-4x faster than the general rows on
// 26x26x10, whose per-cell loops of C = 10 are mostly overhead.
inline bool is_plain_2x2(const Window2d& g) {
  return g.KH == 2 && g.KW == 2 && g.sh == 2 && g.sw == 2 && g.pad_top == 0 && g.pad_left == 0 &&
         2 * g.OH <= g.H && 2 * g.OW <= g.W;
}

// One 2x2 window over C channels: a holds the top two cells (2C
// contiguous), b the bottom two; p is the position of the top-left cell.
template <class T, bool kArgmax>
inline void max_2x2(const T* __restrict a, const T* __restrict b, T* __restrict y, int32_t* __restrict arg,
                    int32_t p, int32_t w, int64_t C) {
  for (int64_t c = 0; c < C; ++c) {
    T best = a[c];
    int32_t pos = p;
    if (pool_takes(a[C + c], best)) best = a[C + c], pos = p + 1;
    if (pool_takes(b[c], best)) best = b[c], pos = p + w;
    if (pool_takes(b[C + c], best)) best = b[C + c], pos = p + w + 1;
    y[c] = best;
    if constexpr (kArgmax) arg[c] = pos;
  }
}

// kC > 0: the channel count known at compile time (C <= 16, the small-channel
// CNNs' case), so the channel loop is one masked vector instead of a loop.
template <class T, bool kArgmax, int kC>
FASTNN_SIMD_CLONES_AVX512 void max_pool_2x2_image(const T* x, T* y, int32_t* argmax, const Window2d& g, int64_t n) {
  const int64_t C = kC > 0 ? kC : g.C, row = g.W * C;
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const T* a = x + ((n * g.H + 2 * oh) * g.W + 2 * ow) * C;
      const int64_t out = ((n * g.OH + oh) * g.OW + ow) * C;
      max_2x2<T, kArgmax>(a, a + row, y + out, kArgmax ? argmax + out : nullptr, int32_t(2 * oh * g.W + 2 * ow),
                          int32_t(g.W), C);
    }
}

template <class T, bool kArgmax, int kC = 1>
void max_pool_2x2_dispatch(const T* x, T* y, int32_t* argmax, const Window2d& g, int64_t n) {
  if constexpr (kC <= 16) {
    if (g.C == kC) return max_pool_2x2_image<T, kArgmax, kC>(x, y, argmax, g, n);
    return max_pool_2x2_dispatch<T, kArgmax, kC + 1>(x, y, argmax, g, n);
  } else {
    max_pool_2x2_image<T, kArgmax, 0>(x, y, argmax, g, n);
  }
}

// Returns false if some argmax value of image n is outside its window.
// C = kC <= 16: the image's dx is zeroed in one streaming fill, then each dy
// is stored at the cell its argmax names (a valid one only): 5x faster than
// writing every cell of every window with a select, whose loops of C = 10
// did not vectorize. Wider C takes max_pool_2x2_backward_image_wide below.
template <class T, int kC>
FASTNN_SIMD_CLONES_AVX512 bool max_pool_2x2_backward_image(const T* dy, const int32_t* argmax, T* dx,
                                                           const Window2d& g, int64_t n) {
  const int64_t C = kC, W = g.W;
  T* image = dx + n * g.H * W * C;
  std::fill(image, image + g.H * W * C, T(0));
  bool valid = true;
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const int64_t out = ((n * g.OH + oh) * g.OW + ow) * C, corner = 2 * oh * W + 2 * ow;
      for (int64_t c = 0; c < C; ++c) {
        const int64_t p = argmax[out + c], rel = p - corner;
        if (rel == 0 || rel == 1 || rel == W || rel == W + 1) image[p * C + c] = dy[out + c];
        else valid = false;
      }
    }
  return valid;
}

// One window's four dx cells over C channels, each written once with a
// select: top holds the top two cells (2C contiguous), bottom the bottom
// two, p is the position of the top-left cell. Returns nonzero if some
// argmax is none of the four. Unsigned, so that any int32 argmax wraps
// instead of overflowing; r - w > 1 also holds for r < w.
template <class T>
inline uint32_t route_2x2(const T* __restrict d, const int32_t* __restrict a, T* __restrict top,
                          T* __restrict bottom, uint32_t p, uint32_t w, int64_t C) {
  uint32_t stray = 0;
  for (int64_t c = 0; c < C; ++c) {
    const T v = d[c];
    const uint32_t r = uint32_t(a[c]) - p;
    top[c] = r == 0 ? v : T(0);
    top[C + c] = r == 1 ? v : T(0);
    bottom[c] = r == w ? v : T(0);
    bottom[C + c] = r == w + 1 ? v : T(0);
    stray |= (r > 1) & (r - w > 1);
  }
  return stray;
}

// C > 16: every dx cell written once (the windows' cells by route_2x2, the
// cells in no window, an odd last row or column, as zeros), two rows at a
// time front to back, with no branch per element: the fill and scattered
// stores above wrote dx twice and kept the stores scalar, 2-5x slower at
// C = 32 and 64 (writing the two rows in separate passes was no faster).
template <class T>
FASTNN_SIMD_CLONES_AVX512 bool max_pool_2x2_backward_image_wide(const T* dy, const int32_t* argmax, T* dx,
                                                                const Window2d& g, int64_t n) {
  const int64_t C = g.C, row = g.W * C, covered = 2 * g.OW * C;
  T* image = dx + n * g.H * row;
  uint32_t stray = 0;
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    T* top = image + 2 * oh * row;
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const int64_t out = ((n * g.OH + oh) * g.OW + ow) * C;
      stray |= route_2x2(dy + out, argmax + out, top + 2 * ow * C, top + row + 2 * ow * C,
                         uint32_t(2 * oh * g.W + 2 * ow), uint32_t(g.W), C);
    }
    std::fill(top + covered, top + row, T(0));
    std::fill(top + row + covered, top + 2 * row, T(0));
  }
  std::fill(image + 2 * g.OH * row, image + g.H * row, T(0));
  return stray == 0;
}

template <class T, int kC = 1>
bool max_pool_2x2_backward_dispatch(const T* dy, const int32_t* argmax, T* dx, const Window2d& g, int64_t n) {
  if constexpr (kC <= 16) {
    if (g.C == kC) return max_pool_2x2_backward_image<T, kC>(dy, argmax, dx, g, n);
    return max_pool_2x2_backward_dispatch<T, kC + 1>(dy, argmax, dx, g, n);
  } else {
    return max_pool_2x2_backward_image_wide(dy, argmax, dx, g, n);
  }
}

template <class T>
void max_pool2d_forward(Cpu, const T* x, T* y, int32_t* argmax, const Window2d& g) {
  if (is_plain_2x2(g)) {
#pragma omp parallel for if (g.N * g.H * g.W * g.C > kParallelMin)
    for (int64_t n = 0; n < g.N; ++n) {
      if (argmax) max_pool_2x2_dispatch<T, true>(x, y, argmax, g, n);
      else max_pool_2x2_dispatch<T, false>(x, y, nullptr, g, n);
    }
    return;
  }
#pragma omp parallel for if (g.N * g.OH * g.OW * g.C * g.KH * g.KW > kParallelMin)
  for (int64_t row = 0; row < g.N * g.OH; ++row) {
    if (argmax) max_pool_row<T, true>(x, y, argmax, g, row);
    else max_pool_row<T, false>(x, y, nullptr, g, row);
  }
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

// One input row (image n = row / H, ih = row % H) of dx for max pooling.
template <class T>
FASTNN_SIMD_CLONES_AVX512 void max_pool_backward_row(const T* dy, const int32_t* argmax, T* dx, const Window2d& g,
                                              int64_t row) {
  const int64_t C = g.C, n = row / g.H, ih = row % g.H;
  const T* dy_image = dy + n * g.OH * g.OW * C;
  const int32_t* arg_image = argmax + n * g.OH * g.OW * C;
  for (int64_t iw = 0; iw < g.W; ++iw) {
    T* out = dx + (row * g.W + iw) * C;
    std::fill(out, out + C, T(0));
    const int32_t pos = int32_t(ih * g.W + iw);
    for_windows_containing(g, ih, iw, [&](int64_t p, int64_t, int64_t) {
      add_where(out, dy_image + p * C, arg_image + p * C, pos, C);
    });
  }
}

template <class T>
inline void select_cell(T* __restrict out, const T* __restrict d, const int32_t* __restrict arg, int32_t pos,
                        int64_t C) {
  for (int64_t c = 0; c < C; ++c) {
    const T v = d[c];
    out[c] = arg[c] == pos ? v : T(0);
  }
}

// The same for windows that do not overlap (stride >= pool size, the usual
// 2x2 / stride 2): a cell lies in at most one window, so it is written once,
// straight from that window's dy, with no search over windows: a single
// streaming pass over dx (the general row above costs 10x more on 2x2).
template <class T>
FASTNN_SIMD_CLONES_AVX512 void max_pool_backward_row_disjoint(const T* dy, const int32_t* argmax, T* dx,
                                                              const Window2d& g, int64_t row) {
  const int64_t C = g.C, n = row / g.H, ih = row % g.H, t = ih + g.pad_top, oh = t / g.sh;
  T* out = dx + row * g.W * C;
  if (oh >= g.OH || t - oh * g.sh >= g.KH) {  // a row no window reaches
    std::fill(out, out + g.W * C, T(0));
    return;
  }
  const T* d = dy + (n * g.OH + oh) * g.OW * C;
  const int32_t* a = argmax + (n * g.OH + oh) * g.OW * C;
  int64_t iw = 0;
  for (int64_t ow = 0; ow < g.OW; ++ow) {
    const int64_t left = ow * g.sw - g.pad_left;
    const int64_t lo = std::max<int64_t>(left, 0), hi = std::min(g.W, left + g.KW);
    if (iw < lo) std::fill(out + iw * C, out + lo * C, T(0)), iw = lo;
    for (; iw < hi; ++iw) select_cell(out + iw * C, d + ow * C, a + ow * C, int32_t(ih * g.W + iw), C);
  }
  std::fill(out + iw * C, out + g.W * C, T(0));
}

template <class T>
bool max_pool2d_backward(Cpu, const T* dy, const int32_t* argmax, T* dx, const Window2d& g) {
  if (is_plain_2x2(g)) {
    bool valid = true;
#pragma omp parallel for reduction(&& : valid) if (g.N * g.H * g.W * g.C > kParallelMin)
    for (int64_t n = 0; n < g.N; ++n) valid = max_pool_2x2_backward_dispatch(dy, argmax, dx, g, n) && valid;
    return valid;
  }
  const bool disjoint = g.sh >= g.KH && g.sw >= g.KW;
#pragma omp parallel for if (g.N * g.H * g.W * g.C > kParallelMin)
  for (int64_t row = 0; row < g.N * g.H; ++row) {
    if (disjoint) max_pool_backward_row_disjoint(dy, argmax, dx, g, row);
    else max_pool_backward_row(dy, argmax, dx, g, row);
  }
  return false;
}

// One output row of average pooling.
template <class T>
FASTNN_SIMD_CLONES_AVX512 void avg_pool_row(const T* x, T* y, const Window2d& g, int64_t row) {
  const int64_t C = g.C, n = row / g.OH, oh = row % g.OH;
  const T* image = x + n * g.H * g.W * C;
  const Range kh = taps_inside(oh, g.sh, g.pad_top, g.KH, g.H);
  const int64_t ih0 = oh * g.sh - g.pad_top;
  for (int64_t ow = 0; ow < g.OW; ++ow) {
    const Range kw = taps_inside(ow, g.sw, g.pad_left, g.KW, g.W);
    const int64_t iw0 = ow * g.sw - g.pad_left;
    T* out = y + (row * g.OW + ow) * C;
    std::fill(out, out + C, T(0));
    for (int64_t i = kh.lo; i < kh.hi; ++i)
      for (int64_t j = kw.lo; j < kw.hi; ++j) add_scaled(out, image + ((ih0 + i) * g.W + iw0 + j) * C, T(1), C);
    const T inv = T(1) / T((kh.hi - kh.lo) * (kw.hi - kw.lo));
    for (int64_t c = 0; c < C; ++c) out[c] *= inv;
  }
}

template <class T>
void avg_pool2d_forward(Cpu, const T* x, T* y, const Window2d& g) {
#pragma omp parallel for if (g.N * g.OH * g.OW * g.C * g.KH * g.KW > kParallelMin)
  for (int64_t row = 0; row < g.N * g.OH; ++row) avg_pool_row(x, y, g, row);
}

// One input row of dx for average pooling.
template <class T>
FASTNN_SIMD_CLONES_AVX512 void avg_pool_backward_row(const T* dy, T* dx, const Window2d& g, int64_t row) {
  const int64_t C = g.C, n = row / g.H, ih = row % g.H;
  const T* dy_image = dy + n * g.OH * g.OW * C;
  for (int64_t iw = 0; iw < g.W; ++iw) {
    T* out = dx + (row * g.W + iw) * C;
    std::fill(out, out + C, T(0));
    for_windows_containing(g, ih, iw, [&](int64_t p, int64_t oh, int64_t ow) {
      const Range kh = taps_inside(oh, g.sh, g.pad_top, g.KH, g.H);
      const Range kw = taps_inside(ow, g.sw, g.pad_left, g.KW, g.W);
      add_scaled(out, dy_image + p * C, T(1) / T((kh.hi - kh.lo) * (kw.hi - kw.lo)), C);
    });
  }
}

template <class T>
void avg_pool2d_backward(Cpu, const T* dy, T* dx, const Window2d& g) {
#pragma omp parallel for if (g.N * g.H * g.W * g.C > kParallelMin)
  for (int64_t row = 0; row < g.N * g.H; ++row) avg_pool_backward_row(dy, dx, g, row);
}

// The mean over the HW pixels of image n.
template <class T>
FASTNN_SIMD_CLONES_AVX512 void global_avg_image(const T* x, T* y, int64_t n, int64_t HW, int64_t C) {
  T* out = y + n * C;
  std::fill(out, out + C, T(0));
  for (int64_t p = 0; p < HW; ++p) add_scaled(out, x + (n * HW + p) * C, T(1), C);
  const T inv = T(1) / T(HW);
  for (int64_t c = 0; c < C; ++c) out[c] *= inv;
}

template <class T>
void global_avg_pool2d_forward(Cpu, const T* x, T* y, int64_t N, int64_t HW, int64_t C) {
#pragma omp parallel for if (N * HW * C > kParallelMin)
  for (int64_t n = 0; n < N; ++n) global_avg_image(x, y, n, HW, C);
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
  template bool max_pool2d_backward<T>(Cpu, const T*, const int32_t*, T*, const Window2d&); \
  template void avg_pool2d_forward<T>(Cpu, const T*, T*, const Window2d&);                \
  template void avg_pool2d_backward<T>(Cpu, const T*, T*, const Window2d&);               \
  template void global_avg_pool2d_forward<T>(Cpu, const T*, T*, int64_t, int64_t, int64_t); \
  template void global_avg_pool2d_backward<T>(Cpu, const T*, T*, int64_t, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
