// One optimizer step for one parameter element: the single definition of
// every update rule, shared by the CPU loop and the CUDA kernel.
//
// Regularization is folded into the same pass: the gradient becomes
// g + l2 * w + l1 * sign(w) (coupled, as in the loss), while weight_decay
// shrinks w directly before the update, w -= lr * weight_decay * w, on every
// optimizer (decoupled, Loshchilov & Hutter; Keras 3's weight_decay).
#pragma once
#include <cmath>
#include <type_traits>

#include "hd.h"

namespace fastnn {

// The optimizer kinds, the one table every layer reads (the enum, the
// CPU and CUDA dispatch, the binding's names and state counts, Python's
// fastnn.ops.OPTIMIZERS): X(enumerator, Python name, state arrays kept).
// Adding an optimizer = a row here, its branch of optimizer_step below and
// its reference formula (python/fastnn/reference/optimizer.py).
#define FASTNN_OPTIMIZERS(X)                                                                                  \
  X(SGD, "sgd", 0)                    /* w -= lr g */                                                          \
  X(Momentum, "momentum", 1)          /* v = rho v + g;             w -= lr v      (textbook form) */          \
  X(MomentumAvg, "momentum_avg", 1)   /* v = rho v + (1 - rho) g;   w -= lr v      (averaged form) */          \
  X(Nesterov, "nesterov", 1)          /* v = rho v + g;             w -= lr (g + rho v) */                     \
  X(Adagrad, "adagrad", 1)            /* s += g^2;                  w -= lr g / (sqrt(s) + eps) */             \
  X(Adadelta, "adadelta", 2)          /* s = rho s + (1-rho) g^2;  d = sqrt(u + eps) / sqrt(s + eps) g;        \
                                         u = rho u + (1-rho) d^2;   w -= lr d */                               \
  X(RMSProp, "rmsprop", 1)            /* s = rho s + (1-rho) g^2;  w -= lr g / (sqrt(s) + eps) */              \
  X(Adam, "adam", 2)                  /* m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;                           \
                                         w -= lr (m / c1) / (sqrt(v / c2) + eps), c = 1 - b^t */               \
  X(AdamW, "adamw", 2)                /* Adam (its weight decay is every optimizer's) */                      \
  X(Nadam, "nadam", 2)                /* Keras' Nadam: m, v as Adam; u_t = b1 (1 - 0.96^t / 2),                \
                                         P_t = u_1 ... u_t; m_hat = u_{t+1} m / (1 - P_{t+1})                  \
                                         + (1 - u_t) g / (1 - P_t); w -= lr m_hat / (sqrt(v / c2) + eps) */    \
  X(Adamax, "adamax", 2)              /* m = b1 m + (1-b1) g; u = max(b2 u, |g|);                             \
                                         w -= lr m / (c1 (u + eps)) */

enum class Optimizer : int {
#define FASTNN_OPTIMIZER_ENUMERATOR(kind, name, states) kind,
  FASTNN_OPTIMIZERS(FASTNN_OPTIMIZER_ENUMERATOR)
#undef FASTNN_OPTIMIZER_ENUMERATOR
};

struct OptimizerKind {
  Optimizer kind;
  const char* name;
  int states;  // state arrays kept per parameter: s1, s2
};

// The table as data, in table order (host side: names and state counts for
// the binding).
inline constexpr OptimizerKind kOptimizerKinds[] = {
#define FASTNN_OPTIMIZER_ROW(kind, name, states) {Optimizer::kind, name, states},
    FASTNN_OPTIMIZERS(FASTNN_OPTIMIZER_ROW)
#undef FASTNN_OPTIMIZER_ROW
};

// How many state arrays each optimizer keeps per parameter. A switch rather
// than a read of kOptimizerKinds, so device code may call it.
FASTNN_HD constexpr int optimizer_state_count(Optimizer k) {
  switch (k) {
#define FASTNN_OPTIMIZER_STATES(kind, name, states) \
  case Optimizer::kind: return states;
    FASTNN_OPTIMIZERS(FASTNN_OPTIMIZER_STATES)
#undef FASTNN_OPTIMIZER_STATES
  }
  return 0;
}

// Calls f(std::integral_constant<Optimizer, K>{}) for the run-time kind:
// the one switch from a kind to the kernels instantiated per optimizer
// (CPU loop and CUDA kernel).
template <class F>
void dispatch_optimizer(Optimizer kind, F&& f) {
  switch (kind) {
#define FASTNN_OPTIMIZER_CASE(k, name, states) \
  case Optimizer::k: return f(std::integral_constant<Optimizer, Optimizer::k>{});
    FASTNN_OPTIMIZERS(FASTNN_OPTIMIZER_CASE)
#undef FASTNN_OPTIMIZER_CASE
  }
}

// Hyperparameters of one step of one parameter group, in the kernel's type.
// rho doubles as beta1 (momentum, Adam) and beta2 as the second decay.
template <class T>
struct StepParams {
  T lr;                  // learning rate of this step times the group's multiplier
  T rho, beta2, eps;
  T l1, l2;              // coupled: added to the gradient
  T weight_decay;        // decoupled: w -= lr * weight_decay * w before the update
  T inv_c1, inv_sqrt_c2; // Adam bias corrections 1 / (1 - b1^t), 1 / sqrt(1 - b2^t)
  T nadam_m, nadam_g;    // Nadam's m_hat = nadam_m m + nadam_g g: u_{t+1} / (1 - P_{t+1}), (1 - u_t) / (1 - P_t)
};

template <class T>
FASTNN_HD inline T sign_of(T x) {
  return T((x > T(0)) - (x < T(0)));
}

// The smallest normal T, and a value flushed to zero below it in magnitude. A unit whose gradient stays
// 0 (an input pixel that is 0 in every image, a dead ReLU) has optimizer states that decay geometrically
// into the subnormal range, where each x86 arithmetic operation on them takes a microcode assist: RMSprop
// over 545,810 float32 states all subnormal ran 14x slower (1.8 ms against 0.13), and MNIST's always-zero
// border pixels put ~8% of the lecture MLP's first-layer states there after ~850 RMSprop steps.
template <class T>
FASTNN_HD constexpr T smallest_normal() {
  if constexpr (std::is_same_v<T, float>) return 1.17549435e-38f;
  else return 2.2250738585072014e-308;
}

template <class T>
FASTNN_HD inline T flush_subnormal(T s) {
  return s < smallest_normal<T>() && s > -smallest_normal<T>() ? T(0) : s;
}

// Updates w and the optimizer state s1, s2 of one element with gradient g; states whose magnitude
// falls below the smallest normal number become 0 (flush_subnormal).
template <Optimizer K, class T>
FASTNN_HD inline void optimizer_step(const StepParams<T>& p, T& w, T g, T& s1, T& s2) {
  using std::sqrt;  // sqrt(float) in float: ::sqrt would promote to double (half the SIMD width, 4x slower)
  g += p.l2 * w + p.l1 * sign_of(w);
  w -= p.lr * p.weight_decay * w;
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
  } else if constexpr (K == Optimizer::Adam || K == Optimizer::AdamW) {
    s1 = p.rho * s1 + (T(1) - p.rho) * g;
    s2 = p.beta2 * s2 + (T(1) - p.beta2) * g * g;
    w -= p.lr * (s1 * p.inv_c1) / (sqrt(s2) * p.inv_sqrt_c2 + p.eps);
  } else if constexpr (K == Optimizer::Nadam) {
    s1 = p.rho * s1 + (T(1) - p.rho) * g;
    s2 = p.beta2 * s2 + (T(1) - p.beta2) * g * g;
    w -= p.lr * (p.nadam_m * s1 + p.nadam_g * g) / (sqrt(s2) * p.inv_sqrt_c2 + p.eps);
  } else if constexpr (K == Optimizer::Adamax) {
    s1 = p.rho * s1 + (T(1) - p.rho) * g;
    const T decayed = p.beta2 * s2, magnitude = g < T(0) ? -g : g;
    s2 = decayed > magnitude ? decayed : magnitude;  // not fmax: a library call the CPU loop would not vectorize
    w -= p.lr * s1 * p.inv_c1 / (s2 + p.eps);
  } else {
    static_assert(K != K, "optimizer_step: a row of FASTNN_OPTIMIZERS has no update rule here");
  }
  if constexpr (optimizer_state_count(K) >= 1) s1 = flush_subnormal(s1);
  if constexpr (optimizer_state_count(K) == 2) s2 = flush_subnormal(s2);
}

// Keras's moving average of the weights (use_ema):
// average = decay * average + (1 - decay) * w, with 1 - decay formed in
// double by the caller before rounding to T (as NumPy does with a Python float).
template <class T>
FASTNN_HD inline T ema_step(T average, T w, T decay, T one_minus_decay) {
  return decay * average + one_minus_decay * w;
}

}  // namespace fastnn
