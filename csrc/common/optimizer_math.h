// One optimizer step for one parameter element: the single definition of
// every update rule, shared by the CPU loop and the CUDA kernel.
//
// Regularization is folded into the same pass: the gradient becomes
// g + l2 * w + l1 * sign(w) (coupled, as in the loss), while AdamW's
// weight_decay shrinks w directly (decoupled, Loshchilov & Hutter).
#pragma once
#include <cmath>

#include "hd.h"

namespace fastnn {

enum class Optimizer : int {
  SGD,          // w -= lr g
  Momentum,     // v = rho v + g;             w -= lr v      (textbook form)
  MomentumAvg,  // v = rho v + (1 - rho) g;   w -= lr v      (averaged form)
  Nesterov,     // v = rho v + g;             w -= lr (g + rho v)
  Adagrad,      // s += g^2;                  w -= lr g / (sqrt(s) + eps)
  Adadelta,     // s = rho s + (1-rho) g^2;  d = sqrt(u + eps) / sqrt(s + eps) g;
                // u = rho u + (1-rho) d^2;   w -= lr d
  RMSProp,      // s = rho s + (1-rho) g^2;  w -= lr g / (sqrt(s) + eps)
  Adam,         // m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
                // w -= lr (m / c1) / (sqrt(v / c2) + eps), c = 1 - b^t
  AdamW,        // w -= lr wd w, then Adam
};

// Hyperparameters of one step of one parameter group, in the kernel's type.
// rho doubles as beta1 (momentum, Adam) and beta2 as the second decay.
template <class T>
struct StepParams {
  T lr;                  // learning rate of this step times the group's multiplier
  T rho, beta2, eps;
  T l1, l2;              // coupled: added to the gradient
  T weight_decay;        // decoupled (AdamW)
  T inv_c1, inv_sqrt_c2; // Adam bias corrections 1 / (1 - b1^t), 1 / sqrt(1 - b2^t)
};

template <class T>
FASTNN_HD inline T sign_of(T x) {
  return T((x > T(0)) - (x < T(0)));
}

// Updates w and the optimizer state s1, s2 of one element with gradient g.
template <Optimizer K, class T>
FASTNN_HD inline void optimizer_step(const StepParams<T>& p, T& w, T g, T& s1, T& s2) {
  g += p.l2 * w + p.l1 * sign_of(w);
  if constexpr (K == Optimizer::SGD) {
    w -= p.lr * g;
  } else if constexpr (K == Optimizer::Momentum) {
    s1 = p.rho * s1 + g;
    w -= p.lr * s1;
  } else if constexpr (K == Optimizer::MomentumAvg) {
    s1 = p.rho * s1 + (T(1) - p.rho) * g;
    w -= p.lr * s1;
  } else if constexpr (K == Optimizer::Nesterov) {
    s1 = p.rho * s1 + g;
    w -= p.lr * (g + p.rho * s1);
  } else if constexpr (K == Optimizer::Adagrad) {
    s1 += g * g;
    w -= p.lr * g / (sqrt(s1) + p.eps);
  } else if constexpr (K == Optimizer::Adadelta) {
    s1 = p.rho * s1 + (T(1) - p.rho) * g * g;
    const T d = sqrt(s2 + p.eps) / sqrt(s1 + p.eps) * g;
    s2 = p.rho * s2 + (T(1) - p.rho) * d * d;
    w -= p.lr * d;
  } else if constexpr (K == Optimizer::RMSProp) {
    s1 = p.rho * s1 + (T(1) - p.rho) * g * g;
    w -= p.lr * g / (sqrt(s1) + p.eps);
  } else {  // Adam, AdamW
    if constexpr (K == Optimizer::AdamW) w -= p.lr * p.weight_decay * w;
    s1 = p.rho * s1 + (T(1) - p.rho) * g;
    s2 = p.beta2 * s2 + (T(1) - p.beta2) * g * g;
    w -= p.lr * (s1 * p.inv_c1) / (sqrt(s2) * p.inv_sqrt_c2 + p.eps);
  }
}

// How many state arrays each optimizer keeps per parameter.
FASTNN_HD constexpr int optimizer_state_count(Optimizer k) {
  switch (k) {
    case Optimizer::SGD: return 0;
    case Optimizer::Adadelta:
    case Optimizer::Adam:
    case Optimizer::AdamW: return 2;
    default: return 1;
  }
}

}  // namespace fastnn
