// Bindings of activation_forward / activation_backward for device Dev.
#pragma once
#include <string>

#include "../ops/activation.h"
#include "tensor_arg.h"

namespace fastnn {

inline Activation parse_activation(const std::string& name, const char* arg = "kind") {
  static const std::pair<const char*, Activation> table[] = {
      {"linear", Activation::Linear},        {"sigmoid", Activation::Sigmoid},   {"tanh", Activation::Tanh},
      {"relu", Activation::Relu},            {"leaky_relu", Activation::LeakyRelu},
      {"softplus", Activation::Softplus},    {"swish", Activation::Swish}};
  for (auto& [key, kind] : table)
    if (name == key) return kind;
  throw ValueError(std::string(arg) + ": unknown activation '" + name +
                   "', expected one of linear, sigmoid, tanh, relu, leaky_relu, softplus, swish");
}

template <class Dev>
void bind_activation(py::module_& m) {
  m.def(
      "activation_forward",
      [](const std::string& kind, py::handle z_, py::handle a_, double alpha) {
        const Activation k = parse_activation(kind);
        Tensor z = tensor_arg<Dev>(z_, "z"), a = tensor_arg<Dev>(a_, "a", true);
        check_same_float({&z, &a});
        check_same_shape(a, z);
        py::gil_scoped_release nogil;
        dispatch_float(z.dtype, [&](auto t) {
          using T = decltype(t);
          activation_forward(Dev{}, k, T(alpha), z.ptr<T>(), a.ptr<T>(), z.numel());
        });
      },
      py::arg("kind"), py::arg("z"), py::arg("a"), py::arg("alpha") = 0.0,
      "a = f(z) element-wise, written into a; alpha is leaky_relu's slope.");

  m.def(
      "activation_backward",
      [](const std::string& kind, py::handle z_, py::handle a_, py::handle da_, py::handle dz_, double alpha) {
        const Activation k = parse_activation(kind);
        Tensor z = tensor_arg<Dev>(z_, "z"), a = tensor_arg<Dev>(a_, "a"), da = tensor_arg<Dev>(da_, "da"),
               dz = tensor_arg<Dev>(dz_, "dz", true);
        check_same_float({&z, &a, &da, &dz});
        for (const Tensor* t : {&a, &da, &dz}) check_same_shape(*t, z);
        py::gil_scoped_release nogil;
        dispatch_float(z.dtype, [&](auto t) {
          using T = decltype(t);
          activation_backward(Dev{}, k, T(alpha), z.ptr<T>(), a.ptr<T>(), da.ptr<T>(), dz.ptr<T>(), z.numel());
        });
      },
      py::arg("kind"), py::arg("z"), py::arg("a"), py::arg("da"), py::arg("dz"), py::arg("alpha") = 0.0,
      "dz = da * f'(z) given z and a = f(z), written into dz (dz may be da).");
}

}  // namespace fastnn
