// Bindings of batch normalization for device Dev.
#pragma once
#include <string>

#include "../ops/batchnorm.h"
#include "scalar_arg.h"
#include "tensor_arg.h"

namespace fastnn {

// x as (M, C): (N, C) or (N, H, W, C), channels last.
inline void batchnorm_rows(const Tensor& x, int64_t& M, int64_t& C) {
  if (x.ndim() != 2 && x.ndim() != 4)
    throw ValueError(x.name + ": expected a 2-D (N, C) or 4-D (N, H, W, C) array, got " + std::to_string(x.ndim()) +
                     "-D with shape " + shape_str(x.shape));
  check_nonempty(x);
  C = x.dim(-1);
  M = x.numel() / C;
}

// A float64 (n,) buffer: the saved statistics and the workspace.
template <class Dev>
Tensor stats_arg(const py::handle& obj, const char* name, int64_t n, bool writable) {
  if (obj.is_none())
    throw ValueError(std::string(name) + ": expected a float64 array of shape (" + std::to_string(n) + ",), got None");
  Tensor t = tensor_arg<Dev>(obj, name, writable);
  check_float64(t);
  check_shape(t, {n});
  return t;
}

template <class Dev>
void bind_batchnorm(py::module_& m) {
  m.def(
      "batchnorm_workspace_size",
      [](int64_t M, int64_t C) {
        if (M < 0 || C < 0)
          throw ValueError("M, C: expected non-negative sizes, got " + std::to_string(M) + ", " + std::to_string(C));
        return batchnorm_workspace_size(Dev{}, M, C);
      },
      py::arg("M"), py::arg("C"),
      "Length of the float64 workspace that batchnorm_forward (training) and batchnorm_backward need for an "
      "(M, C) input.");

  m.def(
      "batchnorm_forward",
      [](py::handle x_, py::handle gamma_, py::handle beta_, py::handle rmean_, py::handle rvar_, py::handle y_,
         py::handle save_mean_, py::handle save_inv_std_, py::handle workspace_, bool training, double momentum,
         double eps, bool relu) {
        Tensor x = tensor_arg<Dev>(x_, "x"), gamma = tensor_arg<Dev>(gamma_, "gamma"),
               beta = tensor_arg<Dev>(beta_, "beta"), rmean = tensor_arg<Dev>(rmean_, "running_mean", training),
               rvar = tensor_arg<Dev>(rvar_, "running_var", training), y = tensor_arg<Dev>(y_, "y", true);
        int64_t M, C;
        batchnorm_rows(x, M, C);
        for (Tensor* t : {&gamma, &beta, &rmean, &rvar}) check_shape(*t, {C});
        check_same_shape(y, x);
        check_same_float({&x, &gamma, &beta, &rmean, &rvar, &y});
        if (!(eps > 0)) throw ValueError("eps: expected eps > 0, got " + short_float(eps));
        check_disjoint(y, {&gamma, &beta, &rmean, &rvar});
        if (!training) {
          py::gil_scoped_release nogil;
          dispatch_float(x.dtype, [&](auto t) {
            using T = decltype(t);
            batchnorm_forward_infer(Dev{}, x.ptr<T>(), gamma.ptr<T>(), beta.ptr<T>(), rmean.ptr<T>(), rvar.ptr<T>(),
                                    y.ptr<T>(), eps, M, C, relu);
          });
          return;
        }
        if (!(momentum >= 0 && momentum <= 1))
          throw ValueError("momentum: expected 0 <= momentum <= 1, got " + short_float(momentum));
        Tensor save_mean = stats_arg<Dev>(save_mean_, "save_mean", C, true),
               save_inv_std = stats_arg<Dev>(save_inv_std_, "save_inv_std", C, true),
               workspace = stats_arg<Dev>(workspace_, "workspace", batchnorm_workspace_size(Dev{}, M, C), true);
        for (const Tensor* out : {&save_mean, &save_inv_std, &workspace})
          check_disjoint(*out, {&x, &gamma, &beta, &rmean, &rvar, &y});
        check_disjoint(workspace, {&save_mean, &save_inv_std});
        check_disjoint(save_inv_std, {&save_mean});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          batchnorm_forward_train(Dev{}, x.ptr<T>(), gamma.ptr<T>(), beta.ptr<T>(), rmean.ptr<T>(), rvar.ptr<T>(),
                                  y.ptr<T>(), save_mean.ptr<double>(), save_inv_std.ptr<double>(),
                                  workspace.ptr<double>(), momentum, eps, M, C, relu);
        });
      },
      py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("running_mean"), py::arg("running_var"), py::arg("y"),
      py::arg("save_mean"), py::arg("save_inv_std"), py::arg("workspace"), py::arg("training"), py::arg("momentum"),
      py::arg("eps"), py::arg("relu") = false,
      "y = gamma * (x - mean) / sqrt(var + eps) + beta over the last axis of a (N, C) or (N, H, W, C) x, then "
      "max(y, 0) if relu (a fused Activation('relu')). Training: batch statistics, saved (float64) into save_mean / "
      "save_inv_std, running statistics updated in place; inference: running statistics (save_mean, save_inv_std, "
      "workspace may be None).");

  m.def(
      "batchnorm_backward",
      [](py::handle x_, py::handle gamma_, py::handle dy_, py::handle save_mean_, py::handle save_inv_std_,
         py::handle dx_, py::handle dgamma_, py::handle dbeta_, py::handle workspace_, py::handle beta_, bool relu) {
        Tensor x = tensor_arg<Dev>(x_, "x"), gamma = tensor_arg<Dev>(gamma_, "gamma"), dy = tensor_arg<Dev>(dy_, "dy"),
               dx = tensor_arg<Dev>(dx_, "dx", true), dgamma = tensor_arg<Dev>(dgamma_, "dgamma", true),
               dbeta = tensor_arg<Dev>(dbeta_, "dbeta", true);
        int64_t M, C;
        batchnorm_rows(x, M, C);
        for (Tensor* t : {&gamma, &dgamma, &dbeta}) check_shape(*t, {C});
        check_same_shape(dy, x);
        check_same_shape(dx, x);
        check_same_float({&x, &gamma, &dy, &dx, &dgamma, &dbeta});
        // The fused ReLU's mask is recomputed from x, gamma and beta. Without relu beta is not read (and gamma
        // stands in for a missing one), but a given beta is still checked.
        if (relu && beta_.is_none())
          throw ValueError("beta: required with relu=True (the ReLU's mask is recomputed from the forward's z)");
        Tensor beta = beta_.is_none() ? gamma : tensor_arg<Dev>(beta_, "beta");
        check_shape(beta, {C});
        check_same_float({&x, &beta});
        Tensor save_mean = stats_arg<Dev>(save_mean_, "save_mean", C, false),
               save_inv_std = stats_arg<Dev>(save_inv_std_, "save_inv_std", C, false),
               workspace = stats_arg<Dev>(workspace_, "workspace", batchnorm_workspace_size(Dev{}, M, C), true);
        // dx may be dy (read element by element before it is written); no other output may overlap anything.
        check_disjoint(dx, {&x, &gamma, &beta, &save_mean, &save_inv_std, &dgamma, &dbeta, &workspace});
        for (const Tensor* out : {&dgamma, &dbeta, &workspace})
          check_disjoint(*out, {&x, &gamma, &beta, &dy, &save_mean, &save_inv_std});
        check_disjoint(dgamma, {&dbeta, &workspace});
        check_disjoint(dbeta, {&workspace});
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          batchnorm_backward(Dev{}, x.ptr<T>(), gamma.ptr<T>(), beta.ptr<T>(), dy.ptr<T>(), save_mean.ptr<double>(),
                             save_inv_std.ptr<double>(), dx.ptr<T>(), dgamma.ptr<T>(), dbeta.ptr<T>(),
                             workspace.ptr<double>(), M, C, relu);
        });
      },
      py::arg("x"), py::arg("gamma"), py::arg("dy"), py::arg("save_mean"), py::arg("save_inv_std"), py::arg("dx"),
      py::arg("dgamma"), py::arg("dbeta"), py::arg("workspace"), py::arg("beta") = py::none(),
      py::arg("relu") = false,
      "Gradients of the training-mode batchnorm_forward, written into dx, dgamma, dbeta (dx may be dy). With relu, "
      "dy is the gradient of the fused ReLU's output, masked where the recomputed z <= 0 (beta required).");

  m.def(
      "batchnorm_inference_backward",
      [](py::handle dy_, py::handle gamma_, py::handle var_, py::handle dx_, double eps) {
        Tensor dy = tensor_arg<Dev>(dy_, "dy"), gamma = tensor_arg<Dev>(gamma_, "gamma"),
               var = tensor_arg<Dev>(var_, "moving_variance"), dx = tensor_arg<Dev>(dx_, "dx", true);
        int64_t M, C;
        batchnorm_rows(dy, M, C);
        for (Tensor* t : {&gamma, &var}) check_shape(*t, {C});
        check_same_shape(dx, dy);
        check_same_float({&dy, &gamma, &var, &dx});
        check_disjoint(dx, {&gamma, &var});  // dx may be dy
        if (!(eps > 0)) throw ValueError("eps: expected eps > 0, got " + short_float(eps));
        py::gil_scoped_release nogil;
        dispatch_float(dy.dtype, [&](auto t) {
          using T = decltype(t);
          batchnorm_inference_backward(Dev{}, dy.ptr<T>(), gamma.ptr<T>(), var.ptr<T>(), dx.ptr<T>(), eps, M, C);
        });
      },
      py::arg("dy"), py::arg("gamma"), py::arg("moving_variance"), py::arg("dx"), py::arg("eps"),
      "dx = dy * gamma / sqrt(moving_variance + eps) over the last axis of a (N, C) or (N, H, W, C) dy: the "
      "gradient of the inference-mode batchnorm_forward (a frozen layer). dx may be dy.");
  // The passes of synchronized batch norm (ops/batchnorm.h): sums here, combined across processes by the caller.
  m.def(
      "batchnorm_sums",
      [](py::handle x_, py::handle shift_, py::handle sums_, py::handle workspace_) {
        Tensor x = tensor_arg<Dev>(x_, "x");
        int64_t M, C;
        batchnorm_rows(x, M, C);
        check_same_float({&x});
        Tensor shift = stats_arg<Dev>(shift_, "shift", C, false), sums = stats_arg<Dev>(sums_, "sums", 2 * C, true),
               workspace = stats_arg<Dev>(workspace_, "workspace", batchnorm_workspace_size(Dev{}, M, C), true);
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          batchnorm_sums(Dev{}, x.ptr<T>(), shift.ptr<double>(), sums.ptr<double>(), workspace.ptr<double>(), M, C);
        });
      },
      py::arg("x"), py::arg("shift"), py::arg("sums"), py::arg("workspace"),
      "sums = [sum(x - shift), sum((x - shift)^2)] per channel (float64, 2C) over the rows of x.");

  m.def(
      "batchnorm_apply",
      [](py::handle x_, py::handle gamma_, py::handle beta_, py::handle mean_, py::handle inv_std_, py::handle y_) {
        Tensor x = tensor_arg<Dev>(x_, "x"), gamma = tensor_arg<Dev>(gamma_, "gamma"),
               beta = tensor_arg<Dev>(beta_, "beta"), y = tensor_arg<Dev>(y_, "y", true);
        int64_t M, C;
        batchnorm_rows(x, M, C);
        for (Tensor* t : {&gamma, &beta}) check_shape(*t, {C});
        check_same_shape(y, x);
        check_same_float({&x, &gamma, &beta, &y});
        Tensor mean = stats_arg<Dev>(mean_, "mean", C, false), inv_std = stats_arg<Dev>(inv_std_, "inv_std", C, false);
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          batchnorm_apply(Dev{}, x.ptr<T>(), gamma.ptr<T>(), beta.ptr<T>(), mean.ptr<double>(), inv_std.ptr<double>(),
                          y.ptr<T>(), M, C);
        });
      },
      py::arg("x"), py::arg("gamma"), py::arg("beta"), py::arg("mean"), py::arg("inv_std"), py::arg("y"),
      "y = gamma * (x - mean) * inv_std + beta per channel, with given float64 statistics; y may be x.");

  m.def(
      "batchnorm_grad_sums",
      [](py::handle x_, py::handle dy_, py::handle mean_, py::handle sums_, py::handle workspace_) {
        Tensor x = tensor_arg<Dev>(x_, "x"), dy = tensor_arg<Dev>(dy_, "dy");
        int64_t M, C;
        batchnorm_rows(x, M, C);
        check_same_shape(dy, x);
        check_same_float({&x, &dy});
        Tensor mean = stats_arg<Dev>(mean_, "mean", C, false), sums = stats_arg<Dev>(sums_, "sums", 2 * C, true),
               workspace = stats_arg<Dev>(workspace_, "workspace", batchnorm_workspace_size(Dev{}, M, C), true);
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          batchnorm_grad_sums(Dev{}, x.ptr<T>(), dy.ptr<T>(), mean.ptr<double>(), sums.ptr<double>(),
                              workspace.ptr<double>(), M, C);
        });
      },
      py::arg("x"), py::arg("dy"), py::arg("mean"), py::arg("sums"), py::arg("workspace"),
      "sums = [sum(dy), sum(dy * (x - mean))] per channel (float64, 2C) over the rows of x.");

  m.def(
      "batchnorm_grad_apply",
      [](py::handle x_, py::handle gamma_, py::handle dy_, py::handle mean_, py::handle inv_std_, py::handle sums_,
         double M_total, py::handle dx_) {
        Tensor x = tensor_arg<Dev>(x_, "x"), gamma = tensor_arg<Dev>(gamma_, "gamma"), dy = tensor_arg<Dev>(dy_, "dy"),
               dx = tensor_arg<Dev>(dx_, "dx", true);
        int64_t M, C;
        batchnorm_rows(x, M, C);
        check_shape(gamma, {C});
        check_same_shape(dy, x);
        check_same_shape(dx, x);
        check_same_float({&x, &gamma, &dy, &dx});
        if (!(M_total >= double(M)))
          throw ValueError("count: expected at least the " + std::to_string(M) + " rows of x, got " +
                           short_float(M_total));
        Tensor mean = stats_arg<Dev>(mean_, "mean", C, false), inv_std = stats_arg<Dev>(inv_std_, "inv_std", C, false),
               sums = stats_arg<Dev>(sums_, "sums", 2 * C, false);
        py::gil_scoped_release nogil;
        dispatch_float(x.dtype, [&](auto t) {
          using T = decltype(t);
          batchnorm_grad_apply(Dev{}, x.ptr<T>(), gamma.ptr<T>(), dy.ptr<T>(), mean.ptr<double>(),
                               inv_std.ptr<double>(), sums.ptr<double>(), M_total, dx.ptr<T>(), M, C);
        });
      },
      py::arg("x"), py::arg("gamma"), py::arg("dy"), py::arg("mean"), py::arg("inv_std"), py::arg("sums"),
      py::arg("M_total"), py::arg("dx"),
      "dx of training-mode batch norm from the totals sums = [sum(dy), sum(dy * (x - mean))] over M_total rows of "
      "all processes; dx may be dy or x.");
}

}  // namespace fastnn
