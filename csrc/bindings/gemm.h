// Bindings of the CUDA GEMM: the choice between fastnn's tiled kernel and
// cuBLAS (see csrc/cuda/gemm.cuh), and a raw gemm on 2-D arrays for tests.
// CUDA modules only (_cuda, _cuda_emu).
#pragma once
#include <cstdint>
#include <string>

#include "../cuda/gemm.cuh"
#include "tensor_arg.h"

namespace fastnn {

inline GemmBackend parse_gemm_backend(const std::string& name) {
  if (name == "tiled") return GemmBackend::Tiled;
  if (name == "cublas") return GemmBackend::Cublas;
  throw ValueError("name: unknown GEMM backend '" + name + "', expected 'cublas' or 'tiled'");
}

inline void bind_gemm(py::module_& m) {
  m.def(
      "set_cublas", [](uintptr_t handle) { set_cublas_handle(reinterpret_cast<void*>(handle)); }, py::arg("handle"),
      "Use cupy's cuBLAS handle (cupy.cuda.device.get_cublas_handle()) for GEMMs; cuBLAS becomes the default\n"
      "GEMM backend unless set_gemm_backend chose one. Not available in emulation.");
  m.def(
      "set_gemm_backend", [](const std::string& name) { set_gemm_backend(parse_gemm_backend(name)); },
      py::arg("name"),
      "Choose the GEMM of every later call: 'cublas' (needs set_cublas first) or 'tiled' (fastnn's own kernel).");
  m.def(
      "gemm_backend", []() { return std::string(gemm_backend() == GemmBackend::Cublas ? "cublas" : "tiled"); },
      "The GEMM backend in use: 'cublas' or 'tiled'.");

  m.def(
      "gemm",
      [](py::handle a_, py::handle b_, py::handle c_, bool trans_a, bool trans_b, double alpha, double beta) {
        Tensor a = tensor_arg<Cuda>(a_, "a"), b = tensor_arg<Cuda>(b_, "b"), c = tensor_arg<Cuda>(c_, "c", true);
        for (const Tensor* t : {&a, &b, &c}) check_ndim(*t, 2);
        check_same_float({&a, &b, &c});
        const int64_t M = a.dim(trans_a ? 1 : 0), K = a.dim(trans_a ? 0 : 1);
        if (trans_b) check_shape(b, {-1, K});
        else check_shape(b, {K, -1});
        const int64_t N = b.dim(trans_b ? 0 : 1);
        check_shape(c, {M, N});
        py::gil_scoped_release nogil;
        dispatch_float(a.dtype, [&](auto t) {
          using T = decltype(t);
          gemm(Cuda{}, trans_a, trans_b, M, N, K, T(alpha), a.ptr<T>(), a.dim(1), b.ptr<T>(), b.dim(1), T(beta),
               c.ptr<T>(), c.dim(1));
        });
      },
      py::arg("a"), py::arg("b"), py::arg("c"), py::arg("trans_a") = false, py::arg("trans_b") = false,
      py::arg("alpha") = 1.0, py::arg("beta") = 0.0,
      "c = alpha * op(a) @ op(b) + beta * c in place (op(x) = x.T when trans_x), with the current GEMM backend;\n"
      "beta = 0 ignores c's contents. A test hook for the GEMM kernels.");
}

}  // namespace fastnn
