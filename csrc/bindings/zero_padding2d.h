// Bindings of ZeroPadding2D for device Dev.
#pragma once
#include <string>

#include "../ops/zero_padding2d.h"
#include "tensor_arg.h"

namespace fastnn {

inline Padding2d padding2d_arg(const Tensor& x, int64_t top, int64_t bottom, int64_t left, int64_t right) {
  for (auto [v, name] : {std::pair{top, "top"}, {bottom, "bottom"}, {left, "left"}, {right, "right"}})
    if (v < 0) throw ValueError(std::string("padding: expected sizes >= 0, got ") + name + " = " + std::to_string(v));
  return Padding2d{x.dim(0), x.dim(1), x.dim(2), x.dim(3), top, bottom, left, right};
}

template <class Dev>
void bind_zero_padding2d(py::module_& m) {
  m.def(
      "zero_padding2d_forward",
      [](py::handle x_, py::handle y_, int64_t top, int64_t bottom, int64_t left, int64_t right) {
        Tensor x = tensor_arg<Dev>(x_, "x"), y = tensor_arg<Dev>(y_, "y", true);
        check_ndim(x, 4);
        const Padding2d p = padding2d_arg(x, top, bottom, left, right);
        check_shape(y, {p.N, p.out_h(), p.out_w(), p.C});
        check_same_float({&x, &y});
        check_disjoint(y, {&x});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          zero_padding2d_forward(Dev{}, p, x.ptr<T>(), y.ptr<T>());
        });
      },
      py::arg("x"), py::arg("y"), py::arg("top"), py::arg("bottom"), py::arg("left"), py::arg("right"),
      "y = x (N, H, W, C) with zero rows on top/bottom and zero columns left/right.");
  m.def(
      "zero_padding2d_backward",
      [](py::handle dy_, py::handle dx_, int64_t top, int64_t bottom, int64_t left, int64_t right) {
        Tensor dy = tensor_arg<Dev>(dy_, "dy"), dx = tensor_arg<Dev>(dx_, "dx", true);
        check_ndim(dx, 4);
        const Padding2d p = padding2d_arg(dx, top, bottom, left, right);
        check_shape(dy, {p.N, p.out_h(), p.out_w(), p.C});
        check_same_float({&dx, &dy});
        check_disjoint(dx, {&dy});
        py::gil_scoped_release nogil;
        dispatch_float(dx.dtype, [&](auto t) {
          using T = decltype(t);
          zero_padding2d_backward(Dev{}, p, dy.ptr<T>(), dx.ptr<T>());
        });
      },
      py::arg("dy"), py::arg("dx"), py::arg("top"), py::arg("bottom"), py::arg("left"), py::arg("right"),
      "dx = the interior of dy (the gradient of zero_padding2d_forward); dx gives the unpadded shape.");
}

}  // namespace fastnn
