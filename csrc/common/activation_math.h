// Per-element activation functions and their derivatives: the single source
// of this math for the CPU loops and the CUDA kernels.
//
// The derivative takes both the input z and the output a = f(z): sigmoid and
// tanh are cheapest from a, the others from z.
#pragma once
#include <cmath>

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

template <class T>
FASTNN_HD inline T activate(Activation kind, T z, T alpha) {
  switch (kind) {
    case Activation::Sigmoid: return sigmoid(z);
    case Activation::Tanh: return tanh(z);
    case Activation::Relu: return z > T(0) ? z : T(0);
    case Activation::LeakyRelu: return z > T(0) ? z : alpha * z;
    case Activation::Softplus: return softplus(z);
    case Activation::Swish: return z * sigmoid(z);
    case Activation::Linear: break;
  }
  return z;
}

// d f(z) / dz, given z and a = f(z).
template <class T>
FASTNN_HD inline T activate_grad(Activation kind, T z, T a, T alpha) {
  switch (kind) {
    case Activation::Sigmoid: return a * (T(1) - a);
    case Activation::Tanh: return T(1) - a * a;
    case Activation::Relu: return z > T(0) ? T(1) : T(0);
    case Activation::LeakyRelu: return z > T(0) ? T(1) : alpha;
    case Activation::Softplus: return sigmoid(z);
    case Activation::Swish: {
      T s = sigmoid(z);
      return s + z * s * (T(1) - s);
    }
    case Activation::Linear: break;
  }
  return T(1);
}

}  // namespace fastnn
