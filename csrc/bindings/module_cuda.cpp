// fastnn._cuda: the CUDA kernels (compiled by nvcc) and device discovery.
#include <pybind11/stl.h>

#include "../cuda/device_query.h"
#include "errors.h"

namespace py = pybind11;
using namespace fastnn;

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "fastnn CUDA kernels.";
  register_errors();
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
}
