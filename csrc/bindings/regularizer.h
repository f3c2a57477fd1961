// Bindings of the activity-regularizer penalty and gradient for device Dev.
#pragma once
#include <string>

#include "../ops/regularizer.h"
#include "scalar_arg.h"
#include "tensor_arg.h"

namespace fastnn {

// y: a non-empty float array of rank >= 1 (its first axis is the batch);
// l1, l2: finite and >= 0.
inline void check_activity_args(const Tensor& y, double l1, double l2) {
  if (y.ndim() < 1) throw ValueError(y.name + ": expected an array with a batch axis, got a scalar");
  check_nonempty(y);
  check_float(y);
  check_finite_nonneg(l1, "l1");
  check_finite_nonneg(l2, "l2");
}

template <class Dev>
void bind_regularizer(py::module_& m) {
  m.def(
      "activity_regularizer_backward",
      [](py::handle y_, py::handle dy_, double l1, double l2) {
        Tensor y = tensor_arg<Dev>(y_, "y"), dy = tensor_arg<Dev>(dy_, "dy", true);
        check_activity_args(y, l1, l2);
        check_same_shape(dy, y);
        check_same_float({&y, &dy});
        check_disjoint(dy, {&y});
        py::gil_scoped_release nogil;
        dispatch_float(y.dtype, [&](auto t) {
          using T = decltype(t);
          activity_regularizer_backward(Dev{}, y.ptr<T>(), dy.ptr<T>(), l1, l2, y.dim(0), y.numel());
        });
      },
      py::arg("y"), py::arg("dy"), py::arg("l1"), py::arg("l2"),
      "dy += (l1 * sign(y) + 2 * l2 * y) / y.shape[0], in place (dy must not overlap y).");

  m.def(
      "activity_regularizer_workspace_size",
      [](int64_t n) {
        if (n < 0) throw ValueError("n: expected a non-negative size, got " + std::to_string(n));
        return activity_regularizer_workspace_size(Dev{}, n);
      },
      py::arg("n"), "Length of the float64 workspace activity_regularizer_penalty needs for an input of n elements.");

  m.def(
      "activity_regularizer_penalty",
      [](py::handle y_, py::handle workspace_, double l1, double l2) {
        Tensor y = tensor_arg<Dev>(y_, "y"), workspace = tensor_arg<Dev>(workspace_, "workspace", true);
        check_activity_args(y, l1, l2);
        check_float64(workspace);
        check_shape(workspace, {activity_regularizer_workspace_size(Dev{}, y.numel())});
        check_disjoint(workspace, {&y});
        py::gil_scoped_release nogil;
        dispatch_float(y.dtype, [&](auto t) {
          using T = decltype(t);
          activity_regularizer_penalty(Dev{}, y.ptr<T>(), workspace.ptr<double>(), l1, l2, y.dim(0), y.numel());
        });
      },
      py::arg("y"), py::arg("workspace"), py::arg("l1"), py::arg("l2"),
      "workspace[0] = (l1 * sum|y| + l2 * sum y^2) / y.shape[0], summed in float64 in a fixed order; workspace: "
      "float64 of length activity_regularizer_workspace_size(y.size).");
}

}  // namespace fastnn
