// Conversion of Python arguments to fastnn::Tensor at the binding boundary.
// Raw bindings take only C-contiguous, aligned arrays of the right memory
// kind; anything else is rejected with an error naming the argument (the
// public fastnn.ops layer copies non-contiguous inputs before calling here).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <type_traits>

#include "../common/device.h"
#include "../common/tensor.h"

namespace fastnn {
namespace py = pybind11;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
constexpr char kNativeByteOrder = '>';
#else
constexpr char kNativeByteOrder = '<';
#endif

// By kind and size, not by identity: np.longlong is int64 too, and a dtype
// may carry metadata. Non-native byte order is not supported.
inline DType numpy_dtype(const py::dtype& dt) {
  const char order = dt.byteorder();
  if (order != '=' && order != '|' && order != kNativeByteOrder) return DType::Other;
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'f' && size == 4) return DType::Float32;
  if (kind == 'f' && size == 8) return DType::Float64;
  if (kind == 'i' && size == 4) return DType::Int32;
  if (kind == 'i' && size == 8) return DType::Int64;
  if (kind == 'u' && size == 1) return DType::UInt8;
  return DType::Other;
}

inline std::string type_name(const py::handle& obj) {
  return py::str(py::type::handle_of(obj).attr("__module__")).cast<std::string>() + "." +
         py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>();
}

// A host (numpy) array argument. `writable` is required of outputs.
inline Tensor host_tensor(const py::handle& obj, const char* name, bool writable = false) {
  if (!py::isinstance<py::array>(obj))
    throw TypeError(std::string(name) + ": expected a numpy.ndarray, got " + type_name(obj));
  auto a = py::reinterpret_borrow<py::array>(obj);
  const int flags = py::detail::array_proxy(a.ptr())->flags;
  if (!(flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_))
    throw ValueError(std::string(name) +
                     ": expected a C-contiguous array (raw kernels do not copy; use fastnn.ops or "
                     "numpy.ascontiguousarray)");
  if (!(flags & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw ValueError(std::string(name) + ": expected an aligned array");
  if (writable && !a.writeable()) throw ValueError(std::string(name) + ": output array is read-only");
  Tensor t;
  t.data = const_cast<void*>(a.data());
  t.dtype = numpy_dtype(a.dtype());
  if (t.dtype == DType::Other) t.other_dtype = py::str(a.dtype()).cast<std::string>();
  t.shape.assign(a.shape(), a.shape() + a.ndim());
  t.name = name;
  return t;
}

template <class Dev>
Tensor tensor_arg(const py::handle& obj, const char* name, bool writable = false);

template <>
inline Tensor tensor_arg<Cpu>(const py::handle& obj, const char* name, bool writable) {
  return host_tensor(obj, name, writable);
}

inline DType typestr_dtype(const std::string& typestr) {
  if (typestr == "<f4") return DType::Float32;
  if (typestr == "<f8") return DType::Float64;
  if (typestr == "<i4") return DType::Int32;
  if (typestr == "<i8") return DType::Int64;
  if (typestr == "|u1") return DType::UInt8;
  return DType::Other;
}

// A GPU array argument, read from its __cuda_array_interface__ (cupy and
// others). Its "stream" entry, the producer's current stream, becomes the
// stream this call launches on (see t_launch_stream).
inline Tensor device_tensor(const py::handle& obj, const char* name, bool writable) {
  if (!py::hasattr(obj, "__cuda_array_interface__"))
    throw TypeError(std::string(name) + ": expected a GPU array (cupy.ndarray) on the cuda backend, got " +
                    type_name(obj) + "; move data with cupy.asarray or use the cpu backend");
  py::dict cai = obj.attr("__cuda_array_interface__");
  Tensor t;
  t.name = name;
  for (auto d : cai["shape"].cast<py::tuple>()) t.shape.push_back(d.cast<int64_t>());
  t.dtype = typestr_dtype(cai["typestr"].cast<std::string>());
  if (t.dtype == DType::Other) t.other_dtype = cai["typestr"].cast<std::string>();
  auto data = cai["data"].cast<py::tuple>();
  t.data = reinterpret_cast<void*>(data[0].cast<uintptr_t>());
  if (writable && data[1].cast<bool>()) throw ValueError(std::string(name) + ": output array is read-only");
  if (cai.contains("strides") && !cai["strides"].is_none()) {
    // C-contiguous arrays may still report strides; check them.
    const auto strides = cai["strides"].cast<py::tuple>();
    int64_t expect = t.dtype == DType::Float64 || t.dtype == DType::Int64 ? 8 : t.dtype == DType::UInt8 ? 1 : 4;
    for (int i = t.ndim() - 1; i >= 0; --i) {
      if (t.shape[i] > 1 && strides[i].cast<int64_t>() != expect)
        throw ValueError(std::string(name) + ": expected a C-contiguous array (raw kernels do not copy; use "
                         "fastnn.ops or cupy.ascontiguousarray)");
      expect *= t.shape[i];
    }
  }
  // 1 and 2 are cudaStreamLegacy and cudaStreamPerThread, valid handles as they are.
  const bool has_stream = cai.contains("stream") && !cai["stream"].is_none();
  t_launch_stream = has_stream ? reinterpret_cast<void*>(cai["stream"].cast<uintptr_t>()) : nullptr;
  return t;
}

// The CUDA module takes GPU arrays; its emulation build runs the same kernels
// on numpy arrays in host memory.
template <>
inline Tensor tensor_arg<Cuda>(const py::handle& obj, const char* name, bool writable) {
#ifdef FASTNN_CUDA_EMU
  return host_tensor(obj, name, writable);
#else
  return device_tensor(obj, name, writable);
#endif
}

// Whether Dev's arrays live in host memory, where a binding can read them
// (to validate values such as class indices): the CPU module's, and the
// emulated CUDA module's.
template <class Dev>
#ifdef FASTNN_CUDA_EMU
constexpr bool host_arrays = true;
#else
constexpr bool host_arrays = std::is_same_v<Dev, Cpu>;
#endif

// An argument that may be None (an optional bias, a gradient not wanted).
template <class Dev>
std::optional<Tensor> optional_tensor_arg(const py::handle& obj, const char* name, bool writable = false) {
  if (obj.is_none()) return std::nullopt;
  return tensor_arg<Dev>(obj, name, writable);
}

// The arrays of an element-wise op: `in`, and `out` of its shape and float
// dtype (out may be in).
struct InOut {
  Tensor in, out;
};

template <class Dev>
InOut in_out_args(const py::handle& in_, const py::handle& out_, const char* in_name, const char* out_name) {
  InOut a{tensor_arg<Dev>(in_, in_name), tensor_arg<Dev>(out_, out_name, true)};
  check_same_float({&a.in, &a.out});
  check_same_shape(a.out, a.in);
  return a;
}

}  // namespace fastnn
