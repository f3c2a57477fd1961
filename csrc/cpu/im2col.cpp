// im2col / col2im on the CPU, one thread per call: the conv kernels call
// them from inside their own parallel loops, on pieces small enough to stay
// in the core's L2 cache until the GEMM that consumes them.
#include "../ops/im2col.h"

#include <algorithm>
#include <cstring>

#include "simd_clones.h"

namespace fastnn {

// restrict-qualified parameters: the loop vectorizes without alias checks.
template <class T>
inline void add_n(const T* __restrict src, int64_t n, T* __restrict dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

template <class T>
FASTNN_SIMD_CLONES_AVX512 void im2col(Cpu, const T* x, T* col, const Window2d& g, int64_t r0, int64_t r1) {
  const int64_t K = g.patch(), P = g.out_pixels(), C = g.C;
  // A tap row (KW taps of C channels) is one contiguous run of x when the
  // taps are adjacent (dw = 1) and all inside the image: one copy loop, which
  // the SIMD clones vectorize. Taps at the border are copied or zeroed one by
  // one through libc's memcpy/memset (runtime sizes, so real calls rather than
  // the compiler's slow inline rep-movs expansion).
  const size_t tap = sizeof(T) * C, tap_row = tap * g.KW;
  int64_t n = r0 / P, oh = (r0 % P) / g.OW, ow = r0 % g.OW;
  for (int64_t r = r0; r < r1; ++r) {
    const T* image = x + n * g.H * g.W * C;
    T* dst = col + (r - r0) * K;
    const int64_t iw0 = ow * g.sw - g.pad_left;
    for (int64_t kh = 0; kh < g.KH; ++kh, dst += g.KW * C) {
      const int64_t ih = oh * g.sh - g.pad_top + kh * g.dh;
      if (ih < 0 || ih >= g.H) {
        std::memset(dst, 0, tap_row);
        continue;
      }
      const T* row = image + ih * g.W * C;
      if (g.dw == 1 && iw0 >= 0 && iw0 + g.KW <= g.W) {
        // Written as a loop (not memcpy, which GCC would also make of a
        // restrict-qualified copy): inlined and vectorized, it beats the call.
        const T* src = row + iw0 * C;
        for (int64_t i = 0; i < g.KW * C; ++i) dst[i] = src[i];
        continue;
      }
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const int64_t iw = iw0 + kw * g.dw;
        if (iw < 0 || iw >= g.W) std::memset(dst + kw * C, 0, tap);
        else std::memcpy(dst + kw * C, row + iw * C, tap);
      }
    }
    if (++ow == g.OW) {
      ow = 0;
      if (++oh == g.OH) oh = 0, ++n;
    }
  }
}

template <class T>
FASTNN_SIMD_CLONES_AVX512 void col2im(Cpu, const T* col, T* dx, const Window2d& g, int64_t n, int64_t p0, int64_t p1,
                               bool accumulate) {
  const int64_t K = g.patch(), C = g.C;
  // Output rows oh0..oh1 hold pixels p0..p1-1; they read input rows
  // [oh0 * sh - pad_top, oh1 * sh - pad_top + extent) only.
  const int64_t oh0 = p0 / g.OW, oh1 = (p1 - 1) / g.OW;
  const int64_t ih_lo = accumulate ? std::max<int64_t>(0, oh0 * g.sh - g.pad_top) : 0;
  const int64_t ih_hi =
      accumulate ? std::min(g.H, oh1 * g.sh - g.pad_top + dilated_extent(g.KH, g.dh)) : g.H;
  T* image = dx + n * g.H * g.W * C;
  // Input pixel (ih, iw) is read by tap (kh, kw) of output pixel (oh, ow) when
  // oh * sh - pad_top + kh * dh = ih and ow * sw - pad_left + kw * dw = iw.
  // Each dx row sums its taps in the order kh, kw (ascending), with the
  // divisions hoisted out of the loop over pixels.
  for (int64_t ih = ih_lo; ih < ih_hi; ++ih) {
    T* out_row = image + ih * g.W * C;
    if (!accumulate) std::fill(out_row, out_row + g.W * C, T(0));
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t t = ih + g.pad_top - kh * g.dh;
      if (t < 0 || t % g.sh) continue;
      const int64_t oh = t / g.sh;
      if (oh < oh0 || oh > oh1) continue;
      // Output pixels ow of row oh that lie in [p0, p1).
      const int64_t ow_first = std::max<int64_t>(0, p0 - oh * g.OW), ow_end = std::min(g.OW, p1 - oh * g.OW);
      const T* col_row = col + (oh * g.OW - p0) * K + kh * g.KW * C;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        // iw = ow * sw + shift must lie in [0, W).
        const int64_t shift = kw * g.dw - g.pad_left;
        const int64_t ow_lo = std::max(ow_first, shift >= 0 ? 0 : (-shift + g.sw - 1) / g.sw);
        const int64_t ow_hi = std::min(ow_end, g.W - 1 - shift < 0 ? 0 : (g.W - 1 - shift) / g.sw + 1);
        for (int64_t ow = ow_lo; ow < ow_hi; ++ow)
          add_n(col_row + ow * K + kw * C, C, out_row + (ow * g.sw + shift) * C);
      }
    }
  }
}

#define INSTANTIATE(T)                                                               \
  template void im2col<T>(Cpu, const T*, T*, const Window2d&, int64_t, int64_t); \
  template void col2im<T>(Cpu, const T*, T*, const Window2d&, int64_t, int64_t, int64_t, bool);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
