// fastnn::ValueError / TypeError raised by the argument checks become
// Python's ValueError / TypeError.
#pragma once
#include <pybind11/pybind11.h>

#include "../common/tensor.h"

namespace fastnn {

inline void register_errors() {
  pybind11::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
}

}  // namespace fastnn
