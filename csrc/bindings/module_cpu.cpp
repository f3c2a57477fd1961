// fastnn._C: the CPU kernels, plus the thread and BLAS controls.
#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "activation.h"
#include "batchnorm.h"
#include "conv2d.h"
#include "dense.h"
#include "dropout.h"
#include "gaussian_noise.h"
#include "gradient_clip.h"
#include "errors.h"
#include "hinge.h"
#include "loss.h"
#include "merge.h"
#include "optimizer.h"
#include "pool.h"
#include "prelu.h"
#include "read_rows.h"
#include "regularizer.h"
#include "rescaling.h"
#include "softmax.h"
#include "spatial_dropout.h"
#include "zero_padding2d.h"
#include "../cpu/parallel.h"

namespace py = pybind11;
using namespace fastnn;

PYBIND11_MODULE(_C, m) {
  m.doc() = "fastnn CPU kernels (C++, OpenMP, OpenBLAS).";
  register_errors();
  // One thread pool: see csrc/cpu/blas.h.
  scipy_openblas_set_num_threads(1);
  cpu::install_fork_handler();

  m.def(
      "set_num_threads",
      [](int n) {
        if (n < 1) throw ValueError("n: expected a thread count >= 1, got " + std::to_string(n));
        if (n > 1 && cpu::in_forked_child()) {
          if (PyErr_WarnEx(PyExc_RuntimeWarning,
                           "set_num_threads: fastnn runs on one thread in a process created by fork() "
                           "(OpenMP's threads do not survive it); use multiprocessing's 'spawn' or "
                           "'forkserver' start method for more",
                           1) < 0)
            throw py::error_already_set();
          n = 1;
        }
#ifdef _OPENMP
        omp_set_num_threads(n);
#endif
      },
      py::arg("n"),
      "Set the number of threads fastnn computes with: its OpenMP loops and the OpenBLAS calls they make\n"
      "(OpenBLAS itself stays single-threaded inside them, so there is one thread pool).");
  m.def(
      "get_num_threads",
      []() {
#ifdef _OPENMP
        return omp_get_max_threads();
#else
        return 1;
#endif
      },
      "Number of threads fastnn computes with (OpenMP threads, each running single-threaded OpenBLAS).");
  m.def("blas_corename", []() { return std::string(scipy_openblas_get_corename()); },
        "The OpenBLAS kernel family in use (e.g. SkylakeX, Haswell).");
  m.def("blas_config", []() { return std::string(scipy_openblas_get_config()); }, "OpenBLAS build configuration.");

  bind_read_rows(m);
  bind_dense<Cpu>(m);
  bind_activation<Cpu>(m);
  bind_softmax<Cpu>(m);
  bind_loss<Cpu>(m);
  bind_hinge<Cpu>(m);
  bind_optimizer<Cpu>(m);
  bind_prelu<Cpu>(m);
  bind_batchnorm<Cpu>(m);
  bind_dropout<Cpu>(m);
  bind_gaussian_noise<Cpu>(m);
  bind_conv2d<Cpu>(m);
  bind_pool<Cpu>(m);
  bind_regularizer<Cpu>(m);
  bind_gradient_clip<Cpu>(m);
  bind_spatial_dropout<Cpu>(m);
  bind_zero_padding2d<Cpu>(m);
  bind_rescaling<Cpu>(m);
  bind_merge<Cpu>(m);
}
