// Per-channel batch-normalization math: the single source of it for the CPU
// loops (csrc/cpu/batchnorm.cpp) and the CUDA kernels (csrc/cuda/batchnorm.cu),
// which differ only in how they walk the rows and order their sums.
//
// Statistics come from sums shifted by K = x[0, c] (see the CPU file):
//   mean = K + sum(x - K) / M,   var = sum((x - K)^2) / M - (sum(x - K) / M)^2.
// Normalizing uses the mean in two parts, m = T(mean) and the rounding
// error mean - m folded into the constant term, so x - m is exact (or nearly)
// for x near the mean even when T is float32 and the mean large.
#pragma once
#include <cmath>

#include "hd.h"

namespace fastnn {

struct BatchnormStats {
  double mean, var, inv_std;  // var is the biased (divide-by-M) variance
};

// The batch statistics of one channel from its shifted sums over M rows.
FASTNN_HD inline BatchnormStats batchnorm_stats(double shifted_sum, double shifted_sq_sum, double shift, double M,
                                                double eps) {
  const double shifted_mean = shifted_sum / M;
  const double v = shifted_sq_sum / M - shifted_mean * shifted_mean;
  const double var = v < 0.0 ? 0.0 : v;  // rounding can make it slightly negative; a nan stays nan
  return {shift + shifted_mean, var, 1.0 / sqrt(var + eps)};
}

// Keras's running-statistic update: momentum * running + (1 - momentum) * batch.
template <class T>
FASTNN_HD inline T batchnorm_running(T running, double batch, double momentum) {
  return T(momentum * double(running) + (1.0 - momentum) * batch);
}

// y = (x - m) * a + b0: the normalization of one channel, as an affine map.
template <class T>
struct BatchnormAffine {
  T m, a, b0;
};

template <class T>
FASTNN_HD inline T batchnorm_affine(T x, T m, T a, T b0) {
  return (x - m) * a + b0;
}

// The fused Activation('relu') after the normalization (Relu = true), as
// activation_math.h's ReLU: y = z <= 0 ? 0 : z (a nan stays nan), and its
// gradient passes where z > 0 (0 at z == 0). The backward recomputes z from
// x with the forward's coefficients and batchnorm_affine, so its z > 0 is the
// forward's y > 0 bit for bit: same function, same float64 statistics.
template <bool Relu, class T>
FASTNN_HD inline T batchnorm_activate(T z) {
  return Relu && z <= T(0) ? T(0) : z;
}

// dy where the fused ReLU passed z = (x - m) a + b0, else 0.
template <class T>
FASTNN_HD inline T batchnorm_relu_gate(T x, T dy, T m, T a, T b0) {
  return batchnorm_affine(x, m, a, b0) > T(0) ? dy : T(0);
}

// Training: a = gamma inv_std, b0 = beta - (mean - m) a.
template <class T>
FASTNN_HD inline BatchnormAffine<T> batchnorm_train_affine(T gamma, T beta, double mean, double inv_std) {
  const double a = double(gamma) * inv_std;
  const T m = T(mean);
  return {m, T(a), T(double(beta) - (mean - double(m)) * a)};
}

// Inference, with the running statistics (already in T, so m is exact).
template <class T>
FASTNN_HD inline BatchnormAffine<T> batchnorm_infer_affine(T gamma, T beta, T running_mean, T running_var,
                                                           double eps) {
  return {running_mean, T(double(gamma) / sqrt(double(running_var) + eps)), beta};
}

// Inference-mode backward (a frozen layer trained through): y is affine in x
// with slope a = gamma / sqrt(running_var + eps), so dx = a dy, which is the
// inference map above with m = b0 = 0 applied to dy.
template <class T>
FASTNN_HD inline BatchnormAffine<T> batchnorm_infer_grad_affine(T gamma, T running_var, double eps) {
  return {T(0), batchnorm_infer_affine(gamma, T(0), T(0), running_var, eps).a, T(0)};
}

// dx = k * dy + b * (x - m) + c0: the backward pass of one channel, with
// k = gamma inv_std, b = -k inv_std^2 sum(dy (x - mean)) / M,
// c0 = -k sum(dy) / M - b (mean - m) (the mean split as in the forward).
template <class T>
struct BatchnormGrad {
  T m, k, b, c0;
};

template <class T>
FASTNN_HD inline T batchnorm_grad(T x, T dy, T m, T k, T b, T c0) {
  return k * dy + (b * (x - m) + c0);
}

template <class T>
FASTNN_HD inline BatchnormGrad<T> batchnorm_grad_coefficients(T gamma, double mean, double inv_std, double sum_dy,
                                                              double sum_dy_xc, double M) {
  const double k = double(gamma) * inv_std;
  const double b = -k * inv_std * inv_std * sum_dy_xc / M;
  const T m = T(mean);
  return {m, T(k), T(b), T(-k * sum_dy / M - b * (mean - double(m)))};
}

}  // namespace fastnn
