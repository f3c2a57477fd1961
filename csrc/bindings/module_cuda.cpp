// fastnn._cuda (kernels compiled by nvcc, GPU arrays) and fastnn._cuda_emu
// (the same kernel sources compiled by g++ against csrc/emu, numpy arrays):
// one binding file, so both modules expose the same functions with the same
// argument checks.
#include <pybind11/stl.h>

#include "activation.h"
#include "batchnorm.h"
#include "conv2d.h"
#include "dense.h"
#include "dropout.h"
#include "gaussian_noise.h"
#include "gradient_clip.h"
#include "errors.h"
#include "hinge.h"
#include "gemm.h"
#include "loss.h"
#include "merge.h"
#include "optimizer.h"
#include "pool.h"
#include "prelu.h"
#include "regularizer.h"
#include "rescaling.h"
#include "softmax.h"
#include "spatial_dropout.h"
#include "zero_padding2d.h"
#ifndef FASTNN_CUDA_EMU
#include "../cuda/device_query.h"
#endif

namespace py = pybind11;
using namespace fastnn;

#ifdef FASTNN_CUDA_EMU
#define FASTNN_CUDA_MODULE _cuda_emu
#else
#define FASTNN_CUDA_MODULE _cuda
#endif

PYBIND11_MODULE(FASTNN_CUDA_MODULE, m) {
#ifdef FASTNN_CUDA_EMU
  m.doc() = "fastnn CUDA kernels, compiled by g++ and run on the CPU by the emulator in csrc/emu.";
  m.attr("emulated") = true;
#else
  m.doc() = "fastnn CUDA kernels.";
  m.attr("emulated") = false;
  m.def("device_count", &cuda_device_count, "Number of visible CUDA devices (0 without a driver or GPU).");
  m.def("runtime_version", &cuda_runtime_version, "CUDA runtime version this module was built against.");
  m.def(
      "devices",
      []() {
        py::list out;
        for (auto& d : cuda_devices())
          out.append(py::dict(py::arg("index") = d.index, py::arg("name") = d.name,
                              py::arg("compute_capability") = py::make_tuple(d.major, d.minor),
                              py::arg("total_memory") = d.total_memory,
                              py::arg("multiprocessors") = d.multiprocessors));
        return out;
      },
      "Properties of each visible CUDA device.");
#endif
  register_errors();
  bind_gemm(m);
  bind_dense<Cuda>(m);
  bind_activation<Cuda>(m);
  bind_softmax<Cuda>(m);
  bind_loss<Cuda>(m);
  bind_hinge<Cuda>(m);
  bind_optimizer<Cuda>(m);
  bind_prelu<Cuda>(m);
  bind_batchnorm<Cuda>(m);
  bind_dropout<Cuda>(m);
  bind_gaussian_noise<Cuda>(m);
  bind_conv2d<Cuda>(m);
  bind_pool<Cuda>(m);
  bind_regularizer<Cuda>(m);
  bind_gradient_clip<Cuda>(m);
  bind_spatial_dropout<Cuda>(m);
  bind_zero_padding2d<Cuda>(m);
  bind_rescaling<Cuda>(m);
  bind_merge<Cuda>(m);
}
