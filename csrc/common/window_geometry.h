// Geometry of a 2-D sliding window over NHWC images (convolution and
// pooling): output size and padding with Keras/TensorFlow semantics, and the
// struct the im2col / conv / pool kernels of every device take. The helpers
// the kernels call per element are FASTNN_HD: CPU loops and CUDA kernels
// share one definition of the geometry.
#pragma once
#include <cstdint>

#include "hd.h"

namespace fastnn {

enum class PaddingMode { Valid, Same, Explicit };

// One spatial axis: input size, window size, stride, dilation and padding.
struct WindowAxis {
  int64_t out = 0;         // output size
  int64_t pad_before = 0;  // zero rows (columns) in front of the input; any extra padding is after it
};

// The dilated window spans (k - 1) * d + 1 input cells.
FASTNN_HD inline int64_t dilated_extent(int64_t k, int64_t d) { return (k - 1) * d + 1; }

// 'valid': no padding, out = floor((in - extent) / s) + 1 (needs in >= extent).
// 'same': out = ceil(in / s), pad_total = max((out - 1) s + extent - in, 0),
//         pad_before = pad_total / 2, the odd cell goes after (as TensorFlow).
// explicit: pad cells on both sides, out = floor((in + 2 pad - extent) / s) + 1.
// Returns out = 0 when the window does not fit in the padded input.
inline WindowAxis window_axis(int64_t in, int64_t k, int64_t s, int64_t d, PaddingMode mode, int64_t pad) {
  const int64_t extent = dilated_extent(k, d);
  WindowAxis a;
  if (mode == PaddingMode::Same) {
    a.out = (in + s - 1) / s;
    const int64_t total = (a.out - 1) * s + extent - in;
    a.pad_before = total > 0 ? total / 2 : 0;
  } else {
    const int64_t padded = in + (mode == PaddingMode::Explicit ? 2 * pad : 0);
    a.out = padded < extent ? 0 : (padded - extent) / s + 1;
    a.pad_before = mode == PaddingMode::Explicit ? pad : 0;
  }
  return a;
}

// A window of KH x KW taps (dilation dh, dw) slid with stride (sh, sw) over
// N images of H x W x C; output OH x OW. Input row ih of output row oh and
// tap kh is oh * sh - pad_top + kh * dh (likewise for columns); taps that
// fall outside the image read zeros (convolution) or are skipped (pooling).
struct Window2d {
  int64_t N, H, W, C;
  int64_t KH, KW;
  int64_t OH, OW;
  int64_t sh, sw;
  int64_t pad_top, pad_left;
  int64_t dh, dw;

  FASTNN_HD int64_t out_pixels() const { return OH * OW; }  // output pixels per image
  FASTNN_HD int64_t patch() const { return KH * KW * C; }   // length of one im2col row
};

// Along one axis (dilation 1): the taps [lo, hi) of output window o that
// fall inside an input of size `in`.
struct Range {
  int64_t lo, hi;
};
FASTNN_HD inline Range taps_inside(int64_t o, int64_t s, int64_t pad_before, int64_t k, int64_t in) {
  const int64_t start = o * s - pad_before;
  return {start < 0 ? -start : 0, in - start < k ? in - start : k};
}

// Along one axis (dilation 1): the output windows [lo, hi) that contain input
// cell i, of `out` windows in all.
FASTNN_HD inline Range windows_containing(int64_t i, int64_t s, int64_t pad_before, int64_t k, int64_t out) {
  const int64_t first = i + pad_before - k + 1;  // o * s >= first
  const int64_t lo = first <= 0 ? 0 : (first + s - 1) / s, hi = (i + pad_before) / s + 1;
  return {lo, hi < out ? hi : out};
}

}  // namespace fastnn
