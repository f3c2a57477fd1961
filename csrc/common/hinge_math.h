// Multiclass SVM (hinge) loss of one row, shared by CPU and CUDA:
//   L = sum_{j != y} max(0, s_j - s_y + 1)
// and its gradient: +1 for every class j with a positive margin, minus their
// count for the true class y.
#pragma once
#include <cstdint>

#include "hd.h"

namespace fastnn {

template <class T>
FASTNN_HD inline T hinge_row_loss(const T* s, int64_t y, int64_t C) {
  T loss = 0;
  for (int64_t j = 0; j < C; ++j) {
    const T margin = s[j] - s[y] + T(1);
    if (j != y && !(margin <= T(0))) loss += margin;  // a NaN score makes the loss NaN
  }
  return loss;
}

// d = scale * dL/ds for the row.
template <class T>
FASTNN_HD inline void hinge_row_grad(const T* s, int64_t y, int64_t C, T scale, T* d) {
  T violations = 0;
  for (int64_t j = 0; j < C; ++j) {
    const bool active = j != y && s[j] - s[y] + T(1) > T(0);
    d[j] = active ? scale : T(0);
    violations += active ? T(1) : T(0);
  }
  d[y] = -scale * violations;
}

}  // namespace fastnn
