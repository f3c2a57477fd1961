// ZeroPadding2D's index maps on channels-last arrays, shared by CPU and CUDA.
// Both directions are gathers: each output element reads at most one input
// element, so neither needs atomics.
#pragma once
#include <cstdint>

#include "hd.h"

namespace fastnn {

struct Padding2d {
  int64_t N, H, W, C;                 // the unpadded input
  int64_t top, bottom, left, right;   // zero rows/columns added
  FASTNN_HD int64_t out_h() const { return H + top + bottom; }
  FASTNN_HD int64_t out_w() const { return W + left + right; }
};

// Index into x of padded element o of y, or -1 where y is a zero border.
FASTNN_HD inline int64_t zero_padding2d_source(const Padding2d& p, int64_t o) {
  const int64_t c = o % p.C, j = (o / p.C) % p.out_w(), i = (o / (p.C * p.out_w())) % p.out_h();
  const int64_t n = o / (p.C * p.out_w() * p.out_h());
  const int64_t h = i - p.top, w = j - p.left;
  if (h < 0 || h >= p.H || w < 0 || w >= p.W) return -1;
  return ((n * p.H + h) * p.W + w) * p.C + c;
}

// Index into dy of element o of dx (the cropped interior).
FASTNN_HD inline int64_t zero_padding2d_grad_source(const Padding2d& p, int64_t o) {
  const int64_t c = o % p.C, w = (o / p.C) % p.W, h = (o / (p.C * p.W)) % p.H, n = o / (p.C * p.W * p.H);
  return ((n * p.out_h() + h + p.top) * p.out_w() + w + p.left) * p.C + c;
}

}  // namespace fastnn
