// Bindings of prelu_forward / prelu_backward for device Dev.
#pragma once
#include "../ops/prelu.h"
#include "tensor_arg.h"

namespace fastnn {

// x of any rank >= 1 is (M, C) rows with C its last axis.
inline std::pair<int64_t, int64_t> prelu_rows(const Tensor& x, const Tensor& alpha) {
  if (x.ndim() < 1) throw ValueError(x.name + ": expected an array with a channel axis, got a scalar");
  check_nonempty(x);
  const int64_t C = x.dim(-1);
  check_shape(alpha, {C});
  check_same_float({&x, &alpha});
  return {x.numel() / C, C};
}

template <class Dev>
void bind_prelu(py::module_& m) {
  m.def(
      "prelu_forward",
      [](py::handle x_, py::handle alpha_, py::handle y_) {
        Tensor x = tensor_arg<Dev>(x_, "x"), alpha = tensor_arg<Dev>(alpha_, "alpha"), y = tensor_arg<Dev>(y_, "y", true);
        const auto [M, C] = prelu_rows(x, alpha);
        check_same_shape(y, x);
        check_same_float({&x, &y});
        check_disjoint(y, {&alpha});  // y may be x
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          prelu_forward(Dev{}, x.ptr<T>(), alpha.ptr<T>(), y.ptr<T>(), M, C);
        });
      },
      py::arg("x"), py::arg("alpha"), py::arg("y"), "y = x if x > 0 else alpha[c] * x, c the last axis.");
  m.def(
      "prelu_backward",
      [](py::handle x_, py::handle alpha_, py::handle dy_, py::handle dx_, py::handle dalpha_) {
        Tensor x = tensor_arg<Dev>(x_, "x"), alpha = tensor_arg<Dev>(alpha_, "alpha"), dy = tensor_arg<Dev>(dy_, "dy"),
               dx = tensor_arg<Dev>(dx_, "dx", true), dalpha = tensor_arg<Dev>(dalpha_, "dalpha", true);
        const auto [M, C] = prelu_rows(x, alpha);
        check_same_shape(dy, x);
        check_same_shape(dx, x);
        check_same_shape(dalpha, alpha);
        check_same_float({&x, &dy, &dx, &dalpha});
        check_disjoint(dx, {&x, &alpha});  // dx may be dy
        check_disjoint(dalpha, {&x, &alpha, &dy, &dx});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          prelu_backward(Dev{}, x.ptr<T>(), alpha.ptr<T>(), dy.ptr<T>(), dx.ptr<T>(), dalpha.ptr<T>(), M, C);
        });
      },
      py::arg("x"), py::arg("alpha"), py::arg("dy"), py::arg("dx"), py::arg("dalpha"),
      "dx = dy * (1 if x > 0 else alpha[c]) (dx may be dy), dalpha[c] = sum of dy * min(x, 0) over rows.");
}

}  // namespace fastnn
