// Per-element activation functions and their derivatives: the single source
// of this math for the CPU loops and the CUDA kernels.
//
// The derivative takes both the input z and the output a = f(z): sigmoid and
// tanh are cheapest from a, the others from z.
#pragma once
#include <cmath>
#include <type_traits>

#include "hd.h"

namespace fastnn {

enum class Activation : int { Linear, Sigmoid, Tanh, Relu, LeakyRelu, Softplus, Swish };

template <class T>
FASTNN_HD inline T sigmoid(T z) {
  // Two branches so exp never overflows: for z < 0 use e^z / (1 + e^z).
  if (z >= T(0)) return T(1) / (T(1) + exp(-z));
  T e = exp(z);
  return e / (T(1) + e);
}

template <class T>
FASTNN_HD inline T softplus(T z) {
  // log(1 + e^z) = max(z, 0) + log1p(e^-|z|), exact for large |z|.
  return (z > T(0) ? z : T(0)) + log1p(exp(-fabs(z)));
}

// The activation is a template parameter so that each kernel loop compiles
// to straight-line (vectorizable) code for one function.
template <Activation K, class T>
FASTNN_HD inline T activate(T z, T alpha) {
  if constexpr (K == Activation::Sigmoid) return sigmoid(z);
  else if constexpr (K == Activation::Tanh) return tanh(z);
  else if constexpr (K == Activation::Relu) return z > T(0) ? z : T(0);
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
