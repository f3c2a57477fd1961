// Per-element activation functions and their derivatives: the single source
// of this math for the CPU loops and the CUDA kernels.
//
// The derivative takes both the input z and the output a = f(z): sigmoid and
// tanh are cheapest from a, the others from z.
#pragma once
#include <cmath>
#include <type_traits>

#include "hd.h"
#include "vector_math.h"

namespace fastnn {

enum class Activation : int { Linear, Sigmoid, Tanh, Relu, LeakyRelu, Softplus, Swish };

// e = e^-|z| <= 1 is the only exponential the activations need, so nothing
// overflows. CPU code (and the emulator) use vector_math.h, which vectorizes;
// GPU device code uses CUDA's own exp/expm1/log1p.
template <class T>
FASTNN_HD inline T exp_neg_abs(T z) {
#ifdef __CUDA_ARCH__
  return exp(-fabs(z));
#else
  return vmath::exp_nonpositive(z < T(0) ? z : -z);
#endif
}

template <class T>
FASTNN_HD inline T sigmoid(T z) {
  // 1 / (1 + e^-z) for z >= 0, e^z / (1 + e^z) for z < 0.
  const T e = exp_neg_abs(z);
  return (z >= T(0) ? T(1) : e) / (T(1) + e);
}

template <class T>
FASTNN_HD inline T softplus(T z) {
  // log(1 + e^z) = max(z, 0) + log1p(e^-|z|), exact for large |z|.
#ifdef __CUDA_ARCH__
  const T tail = log1p(exp_neg_abs(z));
#else
  const T tail = vmath::log1p_unit(exp_neg_abs(z));
#endif
  return (z > T(0) ? z : T(0)) + tail;
}

template <class T>
FASTNN_HD inline T tanh_of(T z) {
#ifdef __CUDA_ARCH__
  return tanh(z);
#else
  // tanh|z| = -m / (2 + m) with m = e^(-2|z|) - 1, from expm1: no cancellation near 0.
  const T m = vmath::expm1_nonpositive(z < T(0) ? T(2) * z : T(-2) * z);
  const T t = -m / (T(2) + m);
  return z < T(0) ? -t : t;
#endif
}

// The activation is a template parameter so that each kernel loop compiles
// to straight-line (vectorizable) code for one function.
template <Activation K, class T>
FASTNN_HD inline T activate(T z, T alpha) {
  if constexpr (K == Activation::Sigmoid) return sigmoid(z);
  else if constexpr (K == Activation::Tanh) return tanh_of(z);
  else if constexpr (K == Activation::Relu) return z <= T(0) ? T(0) : z;  // NaN stays NaN
  else if constexpr (K == Activation::LeakyRelu) return z > T(0) ? z : alpha * z;
  else if constexpr (K == Activation::Softplus) return softplus(z);
  else if constexpr (K == Activation::Swish) return z * sigmoid(z);
  else return z;
}

// d f(z) / dz, given z and a = f(z).
template <Activation K, class T>
FASTNN_HD inline T activate_grad(T z, T a, T alpha) {
  if constexpr (K == Activation::Sigmoid) return a * (T(1) - a);
  else if constexpr (K == Activation::Tanh) return T(1) - a * a;
  else if constexpr (K == Activation::Relu) return T(z > T(0));
  else if constexpr (K == Activation::LeakyRelu) return z > T(0) ? T(1) : alpha;
  else if constexpr (K == Activation::Softplus) return sigmoid(z);
  else if constexpr (K == Activation::Swish) {
    const T s = sigmoid(z);
    return s + z * s * (T(1) - s);
  } else return T(1);
}

// dL/dz = dy * f'(z): the backward of one element. ReLU and leaky ReLU pass
// dy through or scale it (a select, as PyTorch's threshold_backward), which
// vectorizes where a multiply by 0 or 1 keeps a branch to honour inf * 0.
template <Activation K, class T>
FASTNN_HD inline T activate_backprop(T dy, T z, T a, T alpha) {
  if constexpr (K == Activation::Relu) return z > T(0) ? dy : T(0);
  else if constexpr (K == Activation::LeakyRelu) return z > T(0) ? dy : alpha * dy;
  else return dy * activate_grad<K>(z, a, alpha);
}

// Calls f(std::integral_constant<Activation, K>{}) for the runtime kind (host code).
template <class F>
inline void dispatch_activation(Activation kind, F&& f) {
  using A = Activation;
  switch (kind) {
    case A::Linear: return f(std::integral_constant<A, A::Linear>{});
    case A::Sigmoid: return f(std::integral_constant<A, A::Sigmoid>{});
    case A::Tanh: return f(std::integral_constant<A, A::Tanh>{});
    case A::Relu: return f(std::integral_constant<A, A::Relu>{});
    case A::LeakyRelu: return f(std::integral_constant<A, A::LeakyRelu>{});
    case A::Softplus: return f(std::integral_constant<A, A::Softplus>{});
    case A::Swish: return f(std::integral_constant<A, A::Swish>{});
  }
}

}  // namespace fastnn
