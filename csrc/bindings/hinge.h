// Bindings of the multiclass hinge loss for device Dev.
#pragma once
#include "../ops/hinge.h"
#include "softmax.h"  // dispatch_class_index_target
#include "tensor_arg.h"

namespace fastnn {

// Checks (M, C) scores and (M,) int32/int64 class indices; calls f(T{}, Label{}).
template <class Dev, class F>
void dispatch_class_indices(const Tensor& scores, const Tensor& target, F&& f) {
  check_ndim(scores, 2);
  check_nonempty(scores);
  check_float(scores);
  if (target.dtype != DType::Int32 && target.dtype != DType::Int64)
    throw TypeError(target.name + ": expected int32/int64 class indices, got " + target.dtype_str());
  dispatch_class_index_target<Dev>(scores, target, f);
}

template <class Dev>
void bind_hinge(py::module_& m) {
  m.def(
      "hinge_forward",
      [](py::handle scores_, py::handle target_, py::handle loss_) {
        Tensor s = tensor_arg<Dev>(scores_, "scores"), t = tensor_arg<Dev>(target_, "target"),
               loss = tensor_arg<Dev>(loss_, "loss", true);
        dispatch_class_indices<Dev>(s, t, [&](auto tt, auto label) {
          using T = decltype(tt);
          using L = decltype(label);
          check_shape(loss, {s.dim(0)});
          check_same_float({&s, &loss});
          check_disjoint(loss, {&s, &t});
          py::gil_scoped_release nogil;
          hinge_forward(Dev{}, s.ptr<T>(), t.ptr<L>(), loss.ptr<T>(), s.dim(0), s.dim(1));
        });
      },
      py::arg("scores"), py::arg("target"), py::arg("loss"),
      "loss[i] = sum over j != target[i] of max(0, scores[i, j] - scores[i, target[i]] + 1).");
  m.def(
      "hinge_backward",
      [](py::handle scores_, py::handle target_, py::handle d_, double scale) {
        Tensor s = tensor_arg<Dev>(scores_, "scores"), t = tensor_arg<Dev>(target_, "target"),
               d = tensor_arg<Dev>(d_, "dscores", true);
        dispatch_class_indices<Dev>(s, t, [&](auto tt, auto label) {
          using T = decltype(tt);
          using L = decltype(label);
          check_same_shape(d, s);
          check_same_float({&s, &d});
          check_disjoint(d, {&s, &t});
          py::gil_scoped_release nogil;
          hinge_backward(Dev{}, s.ptr<T>(), t.ptr<L>(), d.ptr<T>(), T(scale), s.dim(0), s.dim(1));
        });
      },
      py::arg("scores"), py::arg("target"), py::arg("dscores"), py::arg("scale"),
      "dscores = scale * gradient of the per-sample hinge loss (the gradient of scale * sum(loss)).");
}

}  // namespace fastnn
