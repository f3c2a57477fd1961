// CUDA portability header, and a CPU emulator of the CUDA subset fastnn's
// kernels use.
//
// Every csrc/cuda/*.cu file includes this header first, instead of
// <cuda_runtime.h>, and builds in two modes from the same source:
//
//   nvcc       nvcc -Icsrc ... file.cu
//              Real CUDA: this header includes <cuda_runtime.h> and adds only
//              fastnn::launch and FASTNN_DYNAMIC_SHARED.
//   emulation  g++ -x c++ -std=c++17 -DFASTNN_CUDA_EMU -Icsrc ... file.cu
//              linked with csrc/emu/cuda_emu.cpp (built with the same flags,
//              sanitizers included; with -fopenmp, FASTNN_EMU_THREADS > 1 runs
//              blocks in parallel).
//              Kernels run on the CPU: each CUDA thread of a block is a fiber
//              on one OS thread, switched at barriers and warp operations.
//
// Kernel code must use, in both modes:
//   fastnn::launch(kernel, grid, block, shared_bytes, stream, args...)
//       instead of kernel<<<grid, block, shared_bytes, stream>>>(args...);
//   FASTNN_DYNAMIC_SHARED(T, name);
//       declares `T* name`, the launch's dynamic shared memory, instead of
//       `extern __shared__ T name[]`.
//
// The emulator provides exactly this (anything else fails to compile):
//   qualifiers  __global__ __device__ __host__ __forceinline__ __shared__
//               __launch_bounds__(...) __align__(n); __restrict__ is g++'s own
//   built-ins   threadIdx blockIdx blockDim gridDim warpSize; uint3 dim3
//               float2 float4 make_float2 make_float4
//   barriers    __syncthreads() __syncwarp(mask)
//   shuffles    __shfl_sync __shfl_up_sync __shfl_down_sync __shfl_xor_sync
//               on int, unsigned, float, double, with width; the mask must
//               name the whole warp (0xffffffff, or the existing lanes of a
//               partial last warp), anything else aborts
//   atomics     atomicAdd (int, unsigned, unsigned long long, float, double)
//               atomicMax (int)  atomicCAS (int, unsigned, unsigned long long)
//   math        __expf __logf rsqrtf rsqrt __fdividef __float2int_rn
//               __fadd_rn __fmul_rn __fmaf_rn, min/max (int, unsigned),
//               __ldg (int, unsigned, float, double, float2, float4), and
//               <cmath>'s float functions (expf, fminf, fmaxf, ...)
//   runtime     cudaStream_t cudaError_t cudaSuccess cudaGetLastError
//               cudaPeekAtLastError cudaGetErrorString cudaDeviceSynchronize
//               cudaFuncSetAttribute (cudaFuncAttributeMaxDynamicSharedMemorySize)
//               cudaMalloc cudaFree cudaMemcpy cudaMemset (host memory)
//
// Emulation semantics:
//   - Launches run synchronously; the stream is ignored.
//   - Invalid launches (a block of 0 or more than 1024 threads, block.z > 64,
//     a zero or oversized grid, dynamic shared memory above 48 KiB, or above
//     the cudaFuncSetAttribute limit of at most 227 KiB) run nothing and set
//     the error cudaGetLastError returns, as the CUDA runtime does.
//   - A barrier that cannot complete (threads exited while others wait at
//     __syncthreads, lanes exited before a warp operation) aborts with a
//     message; CUDA would hang or be undefined.
//   - Environment: FASTNN_EMU_THREADS = OS threads running a launch's blocks
//     in parallel (default 1; needs cuda_emu.cpp built with -fopenmp);
//     FASTNN_EMU_STACK_KB = fiber stack size (default 64, 256 under ASan);
//     a thread that overflows it faults on a guard page (a segfault).
//   - AddressSanitizer: dynamic shared memory is an exactly-sized heap block
//     and cudaMalloc is malloc, so out-of-bounds accesses are reported. Static
//     __shared__ arrays become plain statics (and blocks then run one at a
//     time); GCC gives redzones only to those of non-template, non-inline
//     functions, so put a template kernel's tiles in dynamic shared memory
//     when ASan coverage of them matters.
//   - Not for ThreadSanitizer (fiber switches are annotated for ASan only).
//   - x86-64 only (the fiber switch is a few lines of assembly).
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

// One untyped extern array for every kernel: typed `extern __shared__`
// arrays of the same name but different types would clash across kernels.
#define FASTNN_DYNAMIC_SHARED(T, name)                                           \
  extern __shared__ __align__(16) unsigned char fastnn_dynamic_shared_bytes[]; \
  T* name = reinterpret_cast<T*>(fastnn_dynamic_shared_bytes)

namespace fastnn {

template <typename... KernelParams, typename... Args>
inline void launch(void (*kernel)(KernelParams...), dim3 grid, dim3 block, std::size_t shared_bytes,
                   cudaStream_t stream, Args&&... args) {
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
}

}  // namespace fastnn

#elif defined(FASTNN_CUDA_EMU)

// Standard headers come before the macros below so that none of them sees
// __shared__, threadIdx, ... redefined.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#if defined(__SANITIZE_ADDRESS__)
#define FASTNN_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FASTNN_EMU_ASAN 1
#endif
#endif
#ifndef FASTNN_EMU_ASAN
#define FASTNN_EMU_ASAN 0
#endif

// ---- Types the CUDA runtime defines ------------------------------------------

struct uint3 {
  unsigned x, y, z;
};

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

struct CUstream_st;  // never defined: streams are only passed along
typedef CUstream_st* cudaStream_t;

// Values as in the CUDA runtime, so printed codes mean the same thing.
enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidMemcpyDirection = 21,
};
typedef cudaError cudaError_t;

enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

namespace fastnn {
namespace emu {

// Where the CUDA thread now running on this OS thread stands. The block
// scheduler in cuda_emu.cpp updates it before resuming each thread's fiber.
// Every member has a constant initializer: otherwise each access to the
// thread_local would go through a call to its initialization function.
struct ThreadContext {
  uint3 thread_idx{};
  uint3 block_idx{};
  dim3 block_dim{};
  dim3 grid_dim{};
  unsigned char* dynamic_shared = nullptr;
};
inline thread_local ThreadContext current;

inline const uint3& thread_idx() { return current.thread_idx; }
inline const uint3& block_idx() { return current.block_idx; }
inline const dim3& block_dim() { return current.block_dim; }
inline const dim3& grid_dim() { return current.grid_dim; }

using ThreadFunction = void (*)(const void* kernel_call);

struct KernelLaunch {
  const void* kernel;          // identifies the kernel for cudaFuncSetAttribute
  ThreadFunction run_thread;   // runs one CUDA thread of the kernel
  const void* kernel_call;     // the kernel and its arguments, for run_thread
  dim3 grid;
  dim3 block;
  std::size_t shared_bytes;
  // False when __shared__ statics are plain statics (ASan builds): one
  // copy for the whole process, so blocks must not overlap.
  bool blocks_may_run_concurrently;
};

void launch_kernel(const KernelLaunch& launch);
cudaError_t set_max_dynamic_shared_bytes(const void* kernel, int bytes);

void sync_threads();
void sync_warp(unsigned mask);

enum class ShuffleKind { Index, Up, Down, Xor };
std::uint64_t shuffle_bits(unsigned mask, std::uint64_t value_bits, ShuffleKind kind, int lane_or_delta, int width);

template <typename T>
constexpr bool is_shuffle_type =
    std::is_same_v<T, int> || std::is_same_v<T, unsigned> || std::is_same_v<T, float> || std::is_same_v<T, double>;

template <typename T>
T shuffle(unsigned mask, T value, ShuffleKind kind, int lane_or_delta, int width) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  bits = shuffle_bits(mask, bits, kind, lane_or_delta, width);
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

// CUDA atomics are relaxed; blocks may run on several OS threads, so these
// are real atomics. The float/double ones compare bit patterns, so a NaN in
// memory cannot make the loop spin forever.
template <typename T>
T atomic_add_floating(T* address, T value) {
  T old;
  __atomic_load(address, &old, __ATOMIC_RELAXED);
  T updated = old + value;
  while (!__atomic_compare_exchange(address, &old, &updated, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    updated = old + value;
  return old;
}

template <typename T>
T atomic_cas(T* address, T compare, T value) {
  __atomic_compare_exchange_n(address, &compare, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;  // the old value, whether or not the exchange happened
}

}  // namespace emu

template <typename... KernelParams, typename... Args>
inline void launch(void (*kernel)(KernelParams...), dim3 grid, dim3 block, std::size_t shared_bytes,
                   cudaStream_t /*stream: launches are synchronous*/, Args&&... args) {
  static_assert(sizeof...(KernelParams) == sizeof...(Args), "wrong number of kernel arguments");
  struct KernelCall {
    void (*kernel)(KernelParams...);
    std::tuple<KernelParams...> params;
  };
  const KernelCall call{kernel, std::tuple<KernelParams...>(std::forward<Args>(args)...)};
  // Each thread gets its own copy of the parameters, as on a GPU.
  const emu::ThreadFunction run_thread = [](const void* p) {
    const KernelCall& c = *static_cast<const KernelCall*>(p);
    std::apply(c.kernel, c.params);
  };
  emu::launch_kernel({reinterpret_cast<const void*>(kernel), run_thread, &call, grid, block, shared_bytes,
                      !FASTNN_EMU_ASAN});
}

}  // namespace fastnn

// ---- Qualifiers and built-in variables ---------------------------------------

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// Blocks on different OS threads each get their own thread_local copy;
// under ASan a plain static gets redzones (blocks then run one at a time).
#if FASTNN_EMU_ASAN
#define __shared__ static
#else
#define __shared__ static thread_local
#endif

#define threadIdx (::fastnn::emu::thread_idx())
#define blockIdx (::fastnn::emu::block_idx())
#define blockDim (::fastnn::emu::block_dim())
#define gridDim (::fastnn::emu::grid_dim())
constexpr int warpSize = 32;

#define FASTNN_DYNAMIC_SHARED(T, name) T* name = reinterpret_cast<T*>(::fastnn::emu::current.dynamic_shared)

// ---- Barriers and warp shuffles ----------------------------------------------

inline void __syncthreads() { fastnn::emu::sync_threads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { fastnn::emu::sync_warp(mask); }

template <typename T, typename = std::enable_if_t<fastnn::emu::is_shuffle_type<T>>>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize) {
  return fastnn::emu::shuffle(mask, var, fastnn::emu::ShuffleKind::Index, src_lane, width);
}
template <typename T, typename = std::enable_if_t<fastnn::emu::is_shuffle_type<T>>>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return fastnn::emu::shuffle(mask, var, fastnn::emu::ShuffleKind::Up, static_cast<int>(delta), width);
}
template <typename T, typename = std::enable_if_t<fastnn::emu::is_shuffle_type<T>>>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return fastnn::emu::shuffle(mask, var, fastnn::emu::ShuffleKind::Down, static_cast<int>(delta), width);
}
template <typename T, typename = std::enable_if_t<fastnn::emu::is_shuffle_type<T>>>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize) {
  return fastnn::emu::shuffle(mask, var, fastnn::emu::ShuffleKind::Xor, lane_mask, width);
}

// ---- Atomics -------------------------------------------------------------------

inline int atomicAdd(int* address, int value) { return __atomic_fetch_add(address, value, __ATOMIC_RELAXED); }
inline unsigned atomicAdd(unsigned* address, unsigned value) {
  return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long value) {
  return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
inline float atomicAdd(float* address, float value) { return fastnn::emu::atomic_add_floating(address, value); }
inline double atomicAdd(double* address, double value) { return fastnn::emu::atomic_add_floating(address, value); }

inline int atomicMax(int* address, int value) {
  int old = __atomic_load_n(address, __ATOMIC_RELAXED);
  while (old < value &&
         !__atomic_compare_exchange_n(address, &old, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}

inline int atomicCAS(int* address, int compare, int value) { return fastnn::emu::atomic_cas(address, compare, value); }
inline unsigned atomicCAS(unsigned* address, unsigned compare, unsigned value) {
  return fastnn::emu::atomic_cas(address, compare, value);
}
inline unsigned long long atomicCAS(unsigned long long* address, unsigned long long compare,
                                    unsigned long long value) {
  return fastnn::emu::atomic_cas(address, compare, value);
}

// ---- Math and loads --------------------------------------------------------------
// The fast intrinsics are exact here; on a GPU they are a few ulp off.

inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __fdividef(float x, float y) { return x / y; }
inline int __float2int_rn(float x) { return static_cast<int>(std::nearbyint(x)); }  // ties to even
inline float __fadd_rn(float x, float y) { return x + y; }
inline float __fmul_rn(float x, float y) { return x * y; }
inline float __fmaf_rn(float x, float y, float z) { return std::fma(x, y, z); }
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a < b ? b : a; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a < b ? b : a; }

inline int __ldg(const int* p) { return *p; }
inline unsigned __ldg(const unsigned* p) { return *p; }
inline float __ldg(const float* p) { return *p; }
inline double __ldg(const double* p) { return *p; }
inline float2 __ldg(const float2* p) { return *p; }
inline float4 __ldg(const float4* p) { return *p; }

// ---- Runtime API -------------------------------------------------------------------

cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorString(cudaError_t error);
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }  // launches are synchronous

template <typename T>
cudaError_t cudaFuncSetAttribute(T* kernel, cudaFuncAttribute attribute, int value) {
  if (attribute != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaErrorInvalidValue;
  return fastnn::emu::set_max_dynamic_shared_bytes(reinterpret_cast<const void*>(kernel), value);
}

cudaError_t cudaMalloc(void** pointer, std::size_t bytes);
template <typename T>
cudaError_t cudaMalloc(T** pointer, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(pointer), bytes);
}
cudaError_t cudaFree(void* pointer);
cudaError_t cudaMemcpy(void* destination, const void* source, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemset(void* pointer, int value, std::size_t bytes);

#else
#error "cuda_emu.h: compile with nvcc, or with g++ and -DFASTNN_CUDA_EMU"
#endif
