// Activity regularization (Keras's activity_regularizer, L1 + L2 on a
// layer's output y, divided by the batch size): the per-element math shared
// by the CPU loops (csrc/cpu/regularizer.cpp) and the CUDA kernels
// (csrc/cuda/regularizer.cu).
//
//   penalty = (l1 * sum |y| + l2 * sum y^2) / batch
//   dpenalty / dy = (l1 * sign(y) + 2 * l2 * y) / batch
#pragma once
#include <cmath>

#include "hd.h"

namespace fastnn {

// sign(y) as NumPy's: -1, 0 or 1, and NaN for NaN (so a NaN output poisons
// its gradient instead of being silently dropped).
template <class T>
FASTNN_HD inline T sign_keep_nan(T y) {
  return y > T(0) ? T(1) : y < T(0) ? T(-1) : y;
}

// dy + l1_scaled * sign(y) + two_l2_scaled * y, the factors already divided
// by the batch size (in double, then rounded to T, by the caller).
template <class T>
FASTNN_HD inline T activity_regularizer_grad(T y, T dy, T l1_scaled, T two_l2_scaled) {
  return dy + (l1_scaled * sign_keep_nan(y) + two_l2_scaled * y);
}

// One element's contribution to the two sums of the penalty, in double.
template <class T>
FASTNN_HD inline void activity_regularizer_sums(T y, double& abs_sum, double& sq_sum) {
  const double v = double(y);
  abs_sum += fabs(v);
  sq_sum += v * v;
}

// The penalty from the two sums (l1 * 0 gives NaN for an infinite sum, as NumPy).
FASTNN_HD inline double activity_regularizer_total(double abs_sum, double sq_sum, double l1, double l2,
                                                   double batch) {
  return (l1 * abs_sum + l2 * sq_sum) / batch;
}

}  // namespace fastnn
