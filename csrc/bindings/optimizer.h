// Bindings of the fused optimizer update, the optimizer table, the weights'
// moving average and the max-norm projection for Dev.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>

#include "../ops/optimizer.h"
#include "scalar_arg.h"
#include "tensor_arg.h"

namespace fastnn {

inline Optimizer parse_optimizer(const std::string& name) {
  std::string names;
  for (const OptimizerKind& k : kOptimizerKinds) {
    if (name == k.name) return k.kind;
    names += (names.empty() ? "" : ", ") + std::string(k.name);
  }
  throw ValueError("kind: unknown optimizer '" + name + "', expected one of " + names);
}

// Nadam's momentum coefficients at step t (Keras 3): u_s = b1 (1 - 0.96^s / 2),
// P_t = u_1 ... u_t, in double. P_t is summed in logs; 0.96^s is below double
// precision against 1 after ~900 steps, so later factors are exactly b1.
struct NadamCoefficients {
  double m = 0, g = 1;  // beta1 = 0: every u and P is 0, so m_hat = g
  NadamCoefficients(double beta1, int64_t t) {
    if (beta1 <= 0) return;
    auto u = [&](int64_t s) { return beta1 * (1 - 0.5 * std::pow(0.96, double(s))); };
    double log_p = double(t) * std::log(beta1), decay_s = 1;
    for (int64_t s = 1; s <= std::min<int64_t>(t, 1000); ++s) log_p += std::log1p(-0.5 * (decay_s *= 0.96));
    const double p_t = std::exp(log_p), p_next = p_t * u(t + 1);
    m = u(t + 1) / (1 - p_next);
    g = (1 - u(t)) / (1 - p_t);
  }
};

template <class Dev>
void bind_optimizer(py::module_& m) {
  m.def(
      "optimizer_kinds",
      []() {
        py::list kinds;
        for (const OptimizerKind& k : kOptimizerKinds) kinds.append(py::make_tuple(k.name, k.states));
        return kinds;
      },
      "The optimizer kinds optimizer_update knows, as (name, state_count) tuples in table order.");

  m.def(
      "optimizer_update",
      [](const std::string& kind_name, py::handle w_, py::handle g_, py::handle s1_, py::handle s2_, double lr,
         double rho, double beta2, double eps, double l1, double l2, double weight_decay, int64_t step) {
        const Optimizer kind = parse_optimizer(kind_name);
        Tensor w = tensor_arg<Dev>(w_, "w", true), g = tensor_arg<Dev>(g_, "g");
        check_ndim(w, 1);
        check_same_shape(g, w);
        check_same_float({&w, &g});
        const int states = optimizer_state_count(kind);
        std::optional<Tensor> s1 = optional_tensor_arg<Dev>(s1_, "s1", true), s2 = optional_tensor_arg<Dev>(s2_, "s2", true);
        for (auto [s, i] : {std::pair{&s1, 1}, std::pair{&s2, 2}}) {
          if (i > states) continue;
          if (!*s) throw ValueError(std::string("s") + std::to_string(i) + ": optimizer '" + kind_name + "' needs " +
                                    std::to_string(states) + " state array(s), got None");
          check_same_shape(**s, w);
          check_same_float({&w, &**s});
        }
        for (auto [v, name] : {std::pair{lr, "lr"}, {rho, "rho"}, {beta2, "beta2"}, {eps, "eps"}, {l1, "l1"},
                               {l2, "l2"}, {weight_decay, "weight_decay"}})
          check_finite_nonneg(v, name);
        // A decay of 1 or more never forgets (or grows without bound); Adam's
        // bias correction 1 - rho^t would then be <= 0.
        if (!(rho < 1)) throw ValueError("rho: expected 0 <= rho < 1, got " + short_float(rho));
        if (!(beta2 < 1)) throw ValueError("beta2: expected 0 <= beta2 < 1, got " + short_float(beta2));
        if (step < 1) throw ValueError("step: expected the 1-based step number, got " + std::to_string(step));
        const double c1 = 1 - std::pow(rho, double(step)), c2 = 1 - std::pow(beta2, double(step));
        const NadamCoefficients nadam(kind == Optimizer::Nadam ? rho : 0.0, step);  // only Nadam pays for it
        py::gil_scoped_release nogil;
        dispatch_float(w.dtype, [&](auto t) {
          using T = decltype(t);
          StepParams<T> p{T(lr),     T(rho),          T(beta2),           T(eps),           T(l1),
                          T(l2),     T(weight_decay), T(1 / c1),          T(1 / std::sqrt(c2)),
                          T(nadam.m), T(nadam.g)};
          optimizer_update(Dev{}, kind, p, w.ptr<T>(), g.ptr<T>(), states >= 1 ? s1->ptr<T>() : nullptr,
                           states >= 2 ? s2->ptr<T>() : nullptr, w.numel());
        });
      },
      py::arg("kind"), py::arg("w"), py::arg("g"), py::arg("s1"), py::arg("s2"), py::kw_only(), py::arg("lr"),
      py::arg("rho") = 0.0, py::arg("beta2") = 0.0, py::arg("eps") = 0.0, py::arg("l1") = 0.0, py::arg("l2") = 0.0,
      py::arg("weight_decay") = 0.0, py::arg("step") = 1,
      "One fused optimizer step over the 1-D parameter range w (in place), with gradient g and state s1, s2.");

  m.def(
      "ema_update",
      [](py::handle average_, py::handle w_, double decay) {
        Tensor average = tensor_arg<Dev>(average_, "average", true), w = tensor_arg<Dev>(w_, "w");
        check_ndim(average, 1);
        check_same_shape(w, average);
        check_same_float({&average, &w});
        check_disjoint(average, {&w});
        if (!(decay >= 0 && decay < 1)) throw ValueError("decay: expected 0 <= decay < 1, got " + short_float(decay));
        py::gil_scoped_release nogil;
        dispatch_float(average.dtype, [&](auto t) {
          using T = decltype(t);
          ema_update(Dev{}, average.ptr<T>(), w.ptr<T>(), decay, average.numel());
        });
      },
      py::arg("average"), py::arg("w"), py::arg("decay"),
      "average = decay * average + (1 - decay) * w over 1-D arrays, in place (average must not overlap w).");

  m.def(
      "max_norm_project",
      [](py::handle w_, int64_t rows, int64_t cols, double max_norm) {
        Tensor w = tensor_arg<Dev>(w_, "w", true);
        check_float(w);
        if (rows < 1 || cols < 1 || rows > w.numel() / cols || rows * cols != w.numel())  // no overflow
          throw ValueError("rows, cols: expected positive sizes with rows * cols == w.size (" +
                           std::to_string(w.numel()) + "), got " + std::to_string(rows) + " x " + std::to_string(cols));
        if (!(max_norm > 0)) throw ValueError("max_norm: expected a value > 0, got " + std::to_string(max_norm));
        py::gil_scoped_release nogil;
        dispatch_float(w.dtype, [&](auto t) {
          using T = decltype(t);
          max_norm_project(Dev{}, w.ptr<T>(), rows, cols, T(max_norm));
        });
      },
      py::arg("w"), py::arg("rows"), py::arg("cols"), py::arg("max_norm"),
      "Scale each column of w (viewed as rows x cols) whose L2 norm exceeds max_norm down to max_norm.");
}

}  // namespace fastnn
