// Bindings of the element-wise losses (mse, bce_logits, the pointwise kinds,
// categorical_hinge) for device Dev.
#pragma once
#include "../ops/loss.h"
#include <cmath>
#include <string>

#include "scalar_arg.h"
#include "tensor_arg.h"

namespace fastnn {

template <class Dev, class Forward, class Backward>
void bind_elementwise_loss(py::module_& m, const std::string& name, const char* input, const char* dinput,
                           Forward forward, Backward backward) {
  m.def(
      (name + "_forward").c_str(),
      [=](py::handle x_, py::handle t_, py::handle loss_) {
        Tensor x = tensor_arg<Dev>(x_, input), t = tensor_arg<Dev>(t_, "target"),
               loss = tensor_arg<Dev>(loss_, "loss", true);
        check_ndim(x, 2);
        check_nonempty(x);
        check_same_shape(t, x);
        check_shape(loss, {x.dim(0)});
        check_same_float({&x, &t, &loss});
        check_disjoint(loss, {&x, &t});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto tag) {
          using T = decltype(tag);
          forward(Dev{}, x.ptr<T>(), t.ptr<T>(), loss.ptr<T>(), x.dim(0), x.dim(1));
        });
      },
      py::arg(input), py::arg("target"), py::arg("loss"), "Per-sample loss of 2-D input against target, into loss.");
  m.def(
      (name + "_backward").c_str(),
      [=](py::handle x_, py::handle t_, py::handle dx_, double scale) {
        Tensor x = tensor_arg<Dev>(x_, input), t = tensor_arg<Dev>(t_, "target"),
               dx = tensor_arg<Dev>(dx_, dinput, true);
        check_ndim(x, 2);
        check_nonempty(x);
        check_same_shape(t, x);
        check_same_shape(dx, x);
        check_same_float({&x, &t, &dx});
        check_disjoint(dx, {&t});  // dx may be the input
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto tag) {
          using T = decltype(tag);
          backward(Dev{}, x.ptr<T>(), t.ptr<T>(), dx.ptr<T>(), T(scale), x.dim(0), x.dim(1));
        });
      },
      py::arg(input), py::arg("target"), py::arg(dinput), py::arg("scale"),
      "Gradient of scale * sum(loss) with respect to the input, into the third argument.");
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
        Tensor x = tensor_arg<Dev>(x_, "pred"), t = tensor_arg<Dev>(t_, "target"),
               loss = tensor_arg<Dev>(loss_, "loss", true);
        check_ndim(x, 2);
        check_nonempty(x);
        check_same_shape(t, x);
        check_shape(loss, {x.dim(0)});
        check_same_float({&x, &t, &loss});
        check_disjoint(loss, {&x, &t});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto tag) {
          using T = decltype(tag);
          pointwise_loss_forward(Dev{}, kind, T(param), x.ptr<T>(), t.ptr<T>(), loss.ptr<T>(), x.dim(0), x.dim(1));
        });
      },
      py::arg("kind"), py::arg("pred"), py::arg("target"), py::arg("loss"), py::arg("param") = 0.0,
      "Per-sample pointwise loss (mae, huber with delta=param, kl_divergence) of 2-D pred against target, into loss.");
  m.def(
      "pointwise_loss_backward",
      [=](const std::string& kind_name, py::handle x_, py::handle t_, py::handle dx_, double scale, double param) {
        const PointwiseLoss kind = checked(kind_name, param);
        Tensor x = tensor_arg<Dev>(x_, "pred"), t = tensor_arg<Dev>(t_, "target"), dx = tensor_arg<Dev>(dx_, "dpred", true);
        check_ndim(x, 2);
        check_nonempty(x);
        check_same_shape(t, x);
        check_same_shape(dx, x);
        check_same_float({&x, &t, &dx});
        check_disjoint(dx, {&t});  // dx may be the input
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto tag) {
          using T = decltype(tag);
          pointwise_loss_backward(Dev{}, kind, T(param), x.ptr<T>(), t.ptr<T>(), dx.ptr<T>(), T(scale), x.dim(0),
                                  x.dim(1));
        });
      },
      py::arg("kind"), py::arg("pred"), py::arg("target"), py::arg("dpred"), py::arg("scale"), py::arg("param") = 0.0,
      "Gradient of scale * sum(loss) of a pointwise loss with respect to pred, into dpred.");
}

// Generic lambdas defer the choice of T to the call inside the dispatch.
template <class Dev>
void bind_loss(py::module_& m) {
  bind_elementwise_loss<Dev>(
      m, "mse", "pred", "dpred", [](auto... a) { mse_forward(a...); }, [](auto... a) { mse_backward(a...); });
  bind_elementwise_loss<Dev>(
      m, "bce_logits", "logits", "dlogits", [](auto... a) { bce_logits_forward(a...); },
      [](auto... a) { bce_logits_backward(a...); });
  bind_elementwise_loss<Dev>(
      m, "categorical_hinge", "pred", "dpred", [](auto... a) { categorical_hinge_forward(a...); },
      [](auto... a) { categorical_hinge_backward(a...); });
  bind_pointwise_loss<Dev>(m);
}

}  // namespace fastnn
