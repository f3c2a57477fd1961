// Bindings of dense_forward / dense_backward / bias_grad for device Dev.
#pragma once
#include <array>
#include <tuple>
#include "../ops/dense.h"
#include "activation.h"
#include "tensor_arg.h"

namespace fastnn {

template <class T>
T* ptr_or_null(const std::optional<Tensor>& t) {
  return t ? t->ptr<T>() : nullptr;
}

// Checks x (M, K) and W (K, N); returns {M, K, N}.
inline std::array<int64_t, 3> check_dense_operands(const Tensor& x, const Tensor& W) {
  check_ndim(x, 2);
  check_nonempty(x);
  check_ndim(W, 2);
  check_shape(W, {x.dim(1), -1});
  check_same_float({&x, &W});
  return {x.dim(0), x.dim(1), W.dim(1)};
}

inline void check_optional(const std::optional<Tensor>& t, std::initializer_list<int64_t> shape, const Tensor& like) {
  if (t) check_shape(*t, shape), check_same_float({&like, &*t});
}

template <class Dev>
void bind_dense(py::module_& m) {
  m.def(
      "dense_forward",
      [](py::handle x_, py::handle W_, py::handle b_, py::handle z_, py::handle a_, const std::string& activation,
         double alpha) {
        const Activation f = parse_activation(activation, "activation");
        Tensor x = tensor_arg<Dev>(x_, "x"), W = tensor_arg<Dev>(W_, "W"), z = tensor_arg<Dev>(z_, "z", true);
        std::optional<Tensor> b = optional_tensor_arg<Dev>(b_, "b"), a = optional_tensor_arg<Dev>(a_, "a", true);
        const auto [M, K, N] = check_dense_operands(x, W);
        check_shape(z, {M, N});
        check_same_float({&x, &z});
        check_optional(b, {N}, x);
        check_optional(a, {M, N}, x);
        if (!a && f != Activation::Linear) throw ValueError("a: needed for activation '" + activation + "', got None");
        check_disjoint(z, {&x, &W, maybe(b)});
        if (a) check_disjoint(*a, {&x, &W, maybe(b), &z});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          dense_forward(Dev{}, x.ptr<T>(), W.ptr<T>(), ptr_or_null<T>(b), z.ptr<T>(), ptr_or_null<T>(a), f, T(alpha),
                        M, K, N);
        });
      },
      py::arg("x"), py::arg("W"), py::arg("b"), py::arg("z"), py::arg("a"), py::arg("activation") = "linear",
      py::arg("alpha") = 0.0,
      "z = x @ W + b (b may be None) and, if a is given, a = activation(z); written in place.");

  m.def(
      "dense_backward",
      [](py::handle x_, py::handle W_, py::handle dy_, py::handle dz_, py::handle z_, py::handle a_,
         const std::string& activation, double alpha, py::handle dx_, py::handle dW_, py::handle db_) {
        const Activation f = parse_activation(activation, "activation");
        Tensor x = tensor_arg<Dev>(x_, "x"), W = tensor_arg<Dev>(W_, "W"), dy = tensor_arg<Dev>(dy_, "dy"),
               dW = tensor_arg<Dev>(dW_, "dW", true);
        std::optional<Tensor> dx = optional_tensor_arg<Dev>(dx_, "dx", true), db = optional_tensor_arg<Dev>(db_, "db", true);
        const auto [M, K, N] = check_dense_operands(x, W);
        check_shape(dy, {M, N});
        check_shape(dW, {K, N});
        check_same_float({&x, &dy, &dW});
        check_optional(dx, {M, K}, x);
        check_optional(db, {N}, x);
        std::optional<Tensor> dz, z, a;
        if (f != Activation::Linear) {
          const std::string why = "needed for activation '" + activation + "', got None";
          for (auto [opt, h, name, out] : {std::tuple{&dz, dz_, "dz", true}, {&z, z_, "z", false}, {&a, a_, "a", false}}) {
            *opt = optional_tensor_arg<Dev>(h, name, out);
            if (!*opt) throw ValueError(std::string(name) + ": " + why);
            check_optional(*opt, {M, N}, x);
          }
          check_disjoint(*dz, {&x, &W, maybe(z), maybe(a)});  // dz may be dy
        }
        if (dx) check_disjoint(*dx, {&x, &W, &dy, maybe(dz), maybe(z), maybe(a)});
        check_disjoint(dW, {&x, &W, &dy, maybe(dz), maybe(z), maybe(a), maybe(dx)});
        if (db) check_disjoint(*db, {&x, &W, &dy, maybe(dz), maybe(z), maybe(a), maybe(dx), &dW});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          dense_backward(Dev{}, x.ptr<T>(), W.ptr<T>(), dy.ptr<T>(), ptr_or_null<T>(dz), ptr_or_null<T>(z),
                         ptr_or_null<T>(a), f, T(alpha), ptr_or_null<T>(dx), dW.ptr<T>(), ptr_or_null<T>(db), M, K, N);
        });
      },
      py::arg("x"), py::arg("W"), py::arg("dy"), py::arg("dz"), py::arg("z"), py::arg("a"),
      py::arg("activation") = "linear", py::arg("alpha") = 0.0, py::arg("dx") = py::none(), py::arg("dW") = py::none(),
      py::arg("db") = py::none(),
      "Backward of dense_forward: dz = dy * f'(z) (dz may be dy; unused for linear), dW = x^T dz,\n"
      "db = sum_rows(dz), dx = dz W^T, written in place (dx, db may be None).");

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
