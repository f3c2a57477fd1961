// Bindings of the element-wise losses (the pointwise kinds: mse, bce_logits,
// mae, huber, kl_divergence; and categorical_hinge) for device Dev.
#pragma once
#include "../ops/loss.h"
#include <cmath>
#include <string>

#include "scalar_arg.h"
#include "tensor_arg.h"

namespace fastnn {

// The arrays of a loss's forward binding, checked: 2-D input x (named
// `input`), target of its shape, and the per-sample loss (M,), apart from both.
struct LossArrays {
  Tensor x, t, out;
};

template <class Dev>
LossArrays loss_forward_arrays(py::handle x_, py::handle t_, py::handle loss_, const char* input) {
  LossArrays a{tensor_arg<Dev>(x_, input), tensor_arg<Dev>(t_, "target"), tensor_arg<Dev>(loss_, "loss", true)};
  check_ndim(a.x, 2);
  check_nonempty(a.x);
  check_same_shape(a.t, a.x);
  check_shape(a.out, {a.x.dim(0)});
  check_same_float({&a.x, &a.t, &a.out});
  check_disjoint(a.out, {&a.x, &a.t});
  return a;
}

// The arrays of a loss's backward binding: the gradient `dinput` has x's
// shape and may be x itself.
template <class Dev>
LossArrays loss_backward_arrays(py::handle x_, py::handle t_, py::handle dx_, const char* input, const char* dinput) {
  LossArrays a{tensor_arg<Dev>(x_, input), tensor_arg<Dev>(t_, "target"), tensor_arg<Dev>(dx_, dinput, true)};
  check_ndim(a.x, 2);
  check_nonempty(a.x);
  check_same_shape(a.t, a.x);
  check_same_shape(a.out, a.x);
  check_same_float({&a.x, &a.t, &a.out});
  check_disjoint(a.out, {&a.t});
  return a;
}

inline PointwiseLoss parse_pointwise_loss(const std::string& name) {
  std::string names;
#define FASTNN_POINTWISE_LOSS_NAME(k, n, mean)                   \
  if (name == n) return PointwiseLoss::k;                       \
  names += std::string(names.empty() ? "" : ", ") + n;
  FASTNN_POINTWISE_LOSSES(FASTNN_POINTWISE_LOSS_NAME)
#undef FASTNN_POINTWISE_LOSS_NAME
  throw ValueError("kind: unknown pointwise loss '" + name + "', expected one of " + names);
}

// The names the Python ops give a pointwise loss's input and its gradient.
inline const char* pointwise_loss_input(PointwiseLoss kind) {
  return kind == PointwiseLoss::BCELogits ? "logits" : "pred";
}
inline const char* pointwise_loss_dinput(PointwiseLoss kind) {
  return kind == PointwiseLoss::BCELogits ? "dlogits" : "dpred";
}

template <class Dev>
void bind_pointwise_loss(py::module_& m) {
  auto checked = [](const std::string& kind_name, double param) {
    const PointwiseLoss kind = parse_pointwise_loss(kind_name);
    if (kind == PointwiseLoss::Huber && !(param > 0 && std::isfinite(param)))
      throw ValueError("delta: expected a finite number > 0, got " + short_float(param));
    return kind;
  };
  m.def(
      "pointwise_loss_forward",
      [=](const std::string& kind_name, py::handle x_, py::handle t_, py::handle loss_, double param) {
        const PointwiseLoss kind = checked(kind_name, param);
        const LossArrays a = loss_forward_arrays<Dev>(x_, t_, loss_, pointwise_loss_input(kind));
        py::gil_scoped_release nogil;
        dispatch_float(a.x.dtype, [&](auto tag) {
          using T = decltype(tag);
          pointwise_loss_forward(Dev{}, kind, T(param), a.x.ptr<T>(), a.t.ptr<T>(), a.out.ptr<T>(), a.x.dim(0),
                                 a.x.dim(1));
        });
      },
      py::arg("kind"), py::arg("pred"), py::arg("target"), py::arg("loss"), py::arg("param") = 0.0,
      "Per-sample pointwise loss (mse, bce_logits, mae, huber with delta=param, kl_divergence) of 2-D pred against\n"
      "target, into loss.");
  m.def(
      "pointwise_loss_backward",
      [=](const std::string& kind_name, py::handle x_, py::handle t_, py::handle dx_, double scale, double param) {
        const PointwiseLoss kind = checked(kind_name, param);
        const LossArrays a = loss_backward_arrays<Dev>(x_, t_, dx_, pointwise_loss_input(kind), pointwise_loss_dinput(kind));
        py::gil_scoped_release nogil;
        dispatch_float(a.x.dtype, [&](auto tag) {
          using T = decltype(tag);
          pointwise_loss_backward(Dev{}, kind, T(param), a.x.ptr<T>(), a.t.ptr<T>(), a.out.ptr<T>(), T(scale),
                                  a.x.dim(0), a.x.dim(1));
        });
      },
      py::arg("kind"), py::arg("pred"), py::arg("target"), py::arg("dpred"), py::arg("scale"), py::arg("param") = 0.0,
      "Gradient of scale * sum(loss) of a pointwise loss with respect to pred, into dpred.");
}

template <class Dev>
void bind_categorical_hinge(py::module_& m) {
  m.def(
      "categorical_hinge_forward",
      [](py::handle x_, py::handle t_, py::handle loss_) {
        const LossArrays a = loss_forward_arrays<Dev>(x_, t_, loss_, "pred");
        py::gil_scoped_release nogil;
        dispatch_float(a.x.dtype, [&](auto tag) {
          using T = decltype(tag);
          categorical_hinge_forward(Dev{}, a.x.ptr<T>(), a.t.ptr<T>(), a.out.ptr<T>(), a.x.dim(0), a.x.dim(1));
        });
      },
      py::arg("pred"), py::arg("target"), py::arg("loss"), "Per-sample categorical hinge of 2-D pred, into loss.");
  m.def(
      "categorical_hinge_backward",
      [](py::handle x_, py::handle t_, py::handle dx_, double scale) {
        const LossArrays a = loss_backward_arrays<Dev>(x_, t_, dx_, "pred", "dpred");
        py::gil_scoped_release nogil;
        dispatch_float(a.x.dtype, [&](auto tag) {
          using T = decltype(tag);
          categorical_hinge_backward(Dev{}, a.x.ptr<T>(), a.t.ptr<T>(), a.out.ptr<T>(), T(scale), a.x.dim(0),
                                     a.x.dim(1));
        });
      },
      py::arg("pred"), py::arg("target"), py::arg("dpred"), py::arg("scale"),
      "Gradient of scale * sum(loss) of the categorical hinge with respect to pred, into dpred.");
}

template <class Dev>
void bind_loss(py::module_& m) {
  bind_pointwise_loss<Dev>(m);
  bind_categorical_hinge<Dev>(m);
}

}  // namespace fastnn
