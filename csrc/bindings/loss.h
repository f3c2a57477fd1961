// Bindings of the element-wise losses (mse, bce_logits) for device Dev.
#pragma once
#include "../ops/loss.h"
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

// Generic lambdas defer the choice of T to the call inside the dispatch.
template <class Dev>
void bind_loss(py::module_& m) {
  bind_elementwise_loss<Dev>(
      m, "mse", "pred", "dpred", [](auto... a) { mse_forward(a...); }, [](auto... a) { mse_backward(a...); });
  bind_elementwise_loss<Dev>(
      m, "bce_logits", "logits", "dlogits", [](auto... a) { bce_logits_forward(a...); },
      [](auto... a) { bce_logits_backward(a...); });
}

}  // namespace fastnn
