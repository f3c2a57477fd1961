// Per-element loss terms and their derivatives, shared by CPU and CUDA.
#pragma once
#include <cmath>

#include "activation_math.h"

namespace fastnn {

template <class T>
FASTNN_HD inline T bce_logits(T z, T t) {
  return (z > T(0) ? z : T(0)) - z * t + log1p(exp(-fabs(z)));
}

template <class T>
FASTNN_HD inline T bce_logits_grad(T z, T t) {
  return sigmoid(z) - t;
}

}  // namespace fastnn
