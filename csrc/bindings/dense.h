// Bindings of dense_forward / dense_backward / bias_grad for device Dev.
#pragma once
#include "../ops/dense.h"
#include "tensor_arg.h"

namespace fastnn {

template <class Dev>
void bind_dense(py::module_& m) {
  m.def(
      "dense_forward",
      [](py::handle x_, py::handle W_, py::handle b_, py::handle y_) {
        Tensor x = tensor_arg<Dev>(x_, "x"), W = tensor_arg<Dev>(W_, "W"), y = tensor_arg<Dev>(y_, "y", true);
        std::optional<Tensor> b = optional_tensor_arg<Dev>(b_, "b");
        check_ndim(x, 2);
        check_nonempty(x);
        check_ndim(W, 2);
        const int64_t M = x.dim(0), K = x.dim(1), N = W.dim(1);
        check_shape(W, {K, N});
        check_shape(y, {M, N});
        check_same_float({&x, &W, &y});
        if (b) check_shape(*b, {N}), check_same_float({&x, &*b});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          dense_forward(Dev{}, x.ptr<T>(), W.ptr<T>(), b ? b->ptr<T>() : nullptr, y.ptr<T>(), M, K, N);
        });
      },
      py::arg("x"), py::arg("W"), py::arg("b"), py::arg("y"), "y = x @ W + b (b may be None), written into y.");

  m.def(
      "dense_backward",
      [](py::handle x_, py::handle W_, py::handle dy_, py::handle dx_, py::handle dW_, py::handle db_) {
        Tensor x = tensor_arg<Dev>(x_, "x"), W = tensor_arg<Dev>(W_, "W"), dy = tensor_arg<Dev>(dy_, "dy"),
               dW = tensor_arg<Dev>(dW_, "dW", true);
        std::optional<Tensor> dx = optional_tensor_arg<Dev>(dx_, "dx", true), db = optional_tensor_arg<Dev>(db_, "db", true);
        check_ndim(x, 2);
        check_nonempty(x);
        check_ndim(W, 2);
        const int64_t M = x.dim(0), K = x.dim(1), N = W.dim(1);
        check_shape(W, {K, N});
        check_shape(dy, {M, N});
        check_shape(dW, {K, N});
        check_same_float({&x, &W, &dy, &dW});
        if (dx) check_shape(*dx, {M, K}), check_same_float({&x, &*dx});
        if (db) check_shape(*db, {N}), check_same_float({&x, &*db});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          dense_backward(Dev{}, x.ptr<T>(), W.ptr<T>(), dy.ptr<T>(), dx ? dx->ptr<T>() : nullptr, dW.ptr<T>(),
                         db ? db->ptr<T>() : nullptr, M, K, N);
        });
      },
      py::arg("x"), py::arg("W"), py::arg("dy"), py::arg("dx"), py::arg("dW"), py::arg("db"),
      "dW = x^T dy, db = sum_rows(dy), dx = dy W^T, written in place (dx, db may be None).");

  m.def(
      "bias_grad",
      [](py::handle dy_, py::handle db_) {
        Tensor dy = tensor_arg<Dev>(dy_, "dy"), db = tensor_arg<Dev>(db_, "db", true);
        check_ndim(dy, 2);
        check_shape(db, {dy.dim(1)});
        check_same_float({&dy, &db});
        py::gil_scoped_release nogil;
        dispatch_float(dy.dtype, [&](auto t) {
          using T = decltype(t);
          bias_grad(Dev{}, dy.ptr<T>(), db.ptr<T>(), dy.dim(0), dy.dim(1));
        });
      },
      py::arg("dy"), py::arg("db"), "db = sum over rows of dy (2-D), written into db.");
}

}  // namespace fastnn
