// Device tags. Every op is declared once per device as an overload on its tag
// (see csrc/ops/*.h); the bindings are templates over the tag, so one binding
// (with its argument checks) serves the CPU module and the CUDA modules.
#pragma once

namespace fastnn {

struct Cpu {};

// The CUDA stream a binding call launches on: the one named by the call's
// array arguments (cupy's current stream, from __cuda_array_interface__),
// recorded by tensor_arg<Cuda> on the calling thread. Null = default stream.
inline thread_local void* t_launch_stream = nullptr;

struct Cuda {
  void* stream = t_launch_stream;  // a cudaStream_t
};

}  // namespace fastnn
