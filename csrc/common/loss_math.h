// Per-element and per-row loss terms and their derivatives, shared by CPU and CUDA.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

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

// ---- Pointwise losses (Keras' mse, binary cross-entropy on logits, mae, huber, kl_divergence) ----
// The kinds of the pointwise_loss op: X(enumerator, Python name, divide the row sum by F).
#define FASTNN_POINTWISE_LOSSES(X)                                                                \
  X(MSE, "mse", true)                     /* (p - t)^2 */                                         \
  X(BCELogits, "bce_logits", true)        /* bce_logits(z = p, t) above */                        \
  X(MAE, "mae", true)                     /* |p - t| */                                           \
  X(Huber, "huber", true)                 /* e^2/2 if |e| <= delta, else delta (|e| - delta/2) */ \
  X(KLDivergence, "kl_divergence", false) /* t log(t / p), t and p clipped to [1e-7, 1] */

enum class PointwiseLoss : int {
#define FASTNN_POINTWISE_LOSS_ENUMERATOR(kind, name, mean) kind,
  FASTNN_POINTWISE_LOSSES(FASTNN_POINTWISE_LOSS_ENUMERATOR)
#undef FASTNN_POINTWISE_LOSS_ENUMERATOR
};

// Keras' backend.epsilon(): kl_divergence clips both arguments to [eps, 1].
constexpr double kKerasEpsilon = 1e-7;

// min(max(x, lo), hi) by comparisons (fmin/fmax are library calls in CPU loops); NaN passes through.
template <class T>
FASTNN_HD inline T clamp_to(T x, T lo, T hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

// One element's loss term and its derivative with respect to p; param is
// Huber's delta (unused by the others).
template <PointwiseLoss K, class T>
FASTNN_HD inline T pointwise_loss(T p, T t, T param) {
  if constexpr (K == PointwiseLoss::MSE) {
    return (p - t) * (p - t);
  } else if constexpr (K == PointwiseLoss::BCELogits) {
    return bce_logits(p, t);
  } else if constexpr (K == PointwiseLoss::MAE) {
    return fabs(p - t);
  } else if constexpr (K == PointwiseLoss::Huber) {
    const T e = fabs(p - t);
    return e <= param ? T(0.5) * e * e : param * e - T(0.5) * param * param;
  } else {
    const T eps = T(kKerasEpsilon);
    const T tc = clamp_to(t, eps, T(1)), pc = clamp_to(p, eps, T(1));
    return tc * log(tc / pc);
  }
}

template <PointwiseLoss K, class T>
FASTNN_HD inline T pointwise_loss_grad(T p, T t, T param) {
  if constexpr (K == PointwiseLoss::MSE) {
    return T(2) * (p - t);
  } else if constexpr (K == PointwiseLoss::BCELogits) {
    return bce_logits_grad(p, t);
  } else if constexpr (K == PointwiseLoss::MAE) {
    const T e = p - t;
    return e > T(0) ? T(1) : (e < T(0) ? T(-1) : e * T(0));  // sign(e); NaN stays NaN
  } else if constexpr (K == PointwiseLoss::Huber) {
    return clamp_to(p - t, -param, param);
  } else {
    // Zero where p was clipped: the clip's derivative, as autodiff gives it.
    const T eps = T(kKerasEpsilon);
    const T tc = clamp_to(t, eps, T(1));
    return p >= eps && p <= T(1) ? -tc / p : T(0);
  }
}

FASTNN_HD constexpr bool pointwise_loss_is_mean(PointwiseLoss k) {
  switch (k) {
#define FASTNN_POINTWISE_LOSS_MEAN(kind, name, mean) \
  case PointwiseLoss::kind: return mean;
    FASTNN_POINTWISE_LOSSES(FASTNN_POINTWISE_LOSS_MEAN)
#undef FASTNN_POINTWISE_LOSS_MEAN
  }
  return true;
}

// Calls f(std::integral_constant<PointwiseLoss, K>{}) for the run-time kind.
template <class F>
void dispatch_pointwise_loss(PointwiseLoss kind, F&& f) {
  switch (kind) {
#define FASTNN_POINTWISE_LOSS_CASE(k, name, mean) \
  case PointwiseLoss::k: return f(std::integral_constant<PointwiseLoss, PointwiseLoss::k>{});
    FASTNN_POINTWISE_LOSSES(FASTNN_POINTWISE_LOSS_CASE)
#undef FASTNN_POINTWISE_LOSS_CASE
  }
}

// ---- Categorical hinge (Keras): max(0, max_j (1 - t_j) p_j - sum_j t_j p_j + 1) per row ----
template <class T>
FASTNN_HD inline T categorical_hinge_row_loss(const T* p, const T* t, int64_t C, int64_t* argmax_neg = nullptr) {
  T pos = 0, neg = (T(1) - t[0]) * p[0];
  int64_t k = 0;
  for (int64_t j = 0; j < C; ++j) {
    pos += t[j] * p[j];
    const T n = (T(1) - t[j]) * p[j];
    if (n > neg || n != n) neg = n, k = j;  // a NaN term makes the max NaN, as in Keras
  }
  if (argmax_neg) *argmax_neg = k;
  const T margin = neg - pos + T(1);
  return margin > T(0) ? margin : (margin == margin ? T(0) : margin);  // NaN stays NaN
}

// d = scale * dL/dp for the row: -t, plus (1 - t_k) at the first maximiser k
// of the negative term, where the margin is positive; zero elsewhere.
template <class T>
FASTNN_HD inline void categorical_hinge_row_grad(const T* p, const T* t, int64_t C, T scale, T* d) {
  int64_t k = 0;
  const T loss = categorical_hinge_row_loss(p, t, C, &k);
  const bool active = loss > T(0);
  for (int64_t j = 0; j < C; ++j) d[j] = active ? -scale * t[j] : T(0);
  if (active) d[k] += scale * (T(1) - t[k]);
}

}  // namespace fastnn
