// Row-major GEMM on the GPU: fastnn's tiled kernel, and cuBLAS reached
// through the handle cupy already holds (see gemm.cuh).
//
// The tiled kernel is the classic shared-memory GEMM (as in llm.c's
// dev/cuda/matmul_forward.cu and siboehm's SGEMM walkthrough):
//   - each block computes a 64 x 64 tile of C with 256 threads;
//   - K is walked in panels of 64 bytes per row (16 floats / 8 doubles):
//     both operands' panels are staged in shared memory, k-major, so the
//     inner loop reads a thread's 4 rows of op(A) and 4 columns of op(B) as
//     16-byte vectors;
//   - each thread keeps a 4 x 4 block of C in registers (register blocking:
//     8 shared loads feed 16 FMAs);
//   - the next panels are loaded from global memory into registers while
//     the block computes on the current ones;
//   - global loads are 16-byte vectors (float4-sized) where the pointer and
//     the leading dimension allow, else element by element; out-of-range
//     elements load as 0, so any M, N, K works and the inner loop has no
//     bounds checks.
#include "gemm.cuh"

#include <atomic>
#include <climits>
#include <cstdint>
#include <mutex>
#include <string>
#include <type_traits>

#include "../common/tensor.h"
#include "common.cuh"

#ifndef FASTNN_CUDA_EMU
#include <dlfcn.h>
#endif

namespace fastnn {
namespace {

// ---- Tiled kernel ----------------------------------------------------------------

constexpr int kTile = 64;                      // a block computes a kTile x kTile tile of C
constexpr int kThreadTile = 4;                 // each thread computes kThreadTile x kThreadTile outputs
constexpr int kThreadsPerSide = kTile / kThreadTile;             // 16 x 16 threads
constexpr int kGemmThreads = kThreadsPerSide * kThreadsPerSide;  // 256

// A 16-byte vector of T (float4-sized): one global or shared memory access.
template <class T>
struct alignas(16) Packet {
  static constexpr int size = 16 / sizeof(T);
  T v[size];
};

template <class T>
struct PanelShape {
  static constexpr int vec = Packet<T>::size;
  // K-panel depth: 64 bytes per row, so that one panel of an operand is
  // kTile * 64 bytes = exactly one 16-byte packet per thread.
  static constexpr int depth = 64 / sizeof(T);
  // Shared rows are padded by one packet: rows stay 16-byte aligned for the
  // vector reads, and transposed stores spread over more banks.
  static constexpr int row = kTile + vec;
  static_assert(depth * kTile == kGemmThreads * vec, "one packet per thread per panel");
};

template <class T>
struct alignas(16) GemmTiles {
  T a[PanelShape<T>::depth][PanelShape<T>::row];  // op(A) panel, a[k][m]
  T b[PanelShape<T>::depth][PanelShape<T>::row];  // op(B) panel, b[k][n]
};

// One operand seen as a sequence of depth x kTile panels X(k, j), where j is
// the row m of op(A) or the column n of op(B). In memory the panel is either
// contiguous along j (X(k, j) = x[k * ld + j]) or along k (x[j * ld + k]),
// depending on the transpose flag. Each thread moves one packet per panel:
// load() from global memory into registers, store() into shared memory.
template <class T, bool ContiguousJ>
struct PanelLoader {
  using Shape = PanelShape<T>;
  static constexpr int V = Shape::vec;

  const T* x;
  int64_t ld;
  int64_t k_extent, j_extent;  // K, and M or N
  bool vector_ok;              // x and ld allow aligned 16-byte loads
  int pk, pj;                  // panel position of this thread's first element
  T regs[V];

  __device__ PanelLoader(const T* x_, int64_t ld_, int64_t k_extent_, int64_t j_extent_, bool vector_ok_)
      : x(x_), ld(ld_), k_extent(k_extent_), j_extent(j_extent_), vector_ok(vector_ok_) {
    const int t = threadIdx.x;
    // A packet runs along the contiguous direction.
    if (ContiguousJ) {
      pk = t / (kTile / V);
      pj = t % (kTile / V) * V;
    } else {
      pj = t / (Shape::depth / V);
      pk = t % (Shape::depth / V) * V;
    }
  }

  // Loads this thread's packet of the panel at (k0, j0); zeros outside X.
  __device__ void load(int64_t k0, int64_t j0) {
    const int64_t row = ContiguousJ ? k0 + pk : j0 + pj;  // the strided index
    const int64_t col = ContiguousJ ? j0 + pj : k0 + pk;  // the contiguous index
    const int64_t rows = ContiguousJ ? k_extent : j_extent;
    const int64_t cols = ContiguousJ ? j_extent : k_extent;
    if (row < rows && vector_ok && col + V <= cols) {
      // Aligned: x, ld and col are all multiples of the packet.
      const Packet<T> p = *reinterpret_cast<const Packet<T>*>(x + row * ld + col);
FASTNN_UNROLL
      for (int i = 0; i < V; ++i) regs[i] = p.v[i];
    } else {
FASTNN_UNROLL
      for (int i = 0; i < V; ++i) regs[i] = row < rows && col + i < cols ? x[row * ld + col + i] : T(0);
    }
  }

  __device__ void store(T (*panel)[Shape::row]) const {
FASTNN_UNROLL
    for (int i = 0; i < V; ++i) {
      if (ContiguousJ) panel[pk][pj + i] = regs[i];
      else panel[pk + i][pj] = regs[i];  // transposed into the k-major panel
    }
  }
};

// kThreadTile consecutive elements of a shared panel row, as 16-byte reads.
template <class T>
__device__ __forceinline__ void load_fragment(const T* p, T (&out)[kThreadTile]) {
  constexpr int V = Packet<T>::size;
FASTNN_UNROLL
  for (int q = 0; q < kThreadTile / V; ++q) {
    const Packet<T> packet = reinterpret_cast<const Packet<T>*>(p)[q];
FASTNN_UNROLL
    for (int i = 0; i < V; ++i) out[q * V + i] = packet.v[i];
  }
}

// C = alpha op(A) op(B) + beta C for the tile of block (blockIdx.x = row
// tile, blockIdx.y = column tile). Thread (ty, tx) of the 16 x 16 grid owns
// rows m0 + 4 ty .. +3 and columns n0 + 4 tx .. +3.
template <class T, bool TransA, bool TransB>
__global__ void __launch_bounds__(kGemmThreads)
    gemm_tiled_kernel(int64_t M, int64_t N, int64_t K, T alpha, const T* __restrict__ A, int64_t lda, bool vector_a,
                      const T* __restrict__ B, int64_t ldb, bool vector_b, T beta, T* __restrict__ C, int64_t ldc) {
  using Shape = PanelShape<T>;
  FASTNN_DYNAMIC_SHARED(GemmTiles<T>, tiles);
  const int64_t m0 = int64_t(blockIdx.x) * kTile, n0 = int64_t(blockIdx.y) * kTile;
  const int tx = threadIdx.x % kThreadsPerSide, ty = threadIdx.x / kThreadsPerSide;

  // op(A)(m, k) is A[k * lda + m] when transposed: contiguous along m (= j).
  PanelLoader<T, TransA> a_panel(A, lda, K, M, vector_a);
  // op(B)(k, n) is B[k * ldb + n] when not transposed: contiguous along n.
  PanelLoader<T, !TransB> b_panel(B, ldb, K, N, vector_b);

  T acc[kThreadTile][kThreadTile] = {};
  a_panel.load(0, m0);
  b_panel.load(0, n0);
  for (int64_t k0 = 0; k0 < K; k0 += Shape::depth) {
    a_panel.store(tiles->a);
    b_panel.store(tiles->b);
    __syncthreads();
    // The next panels' global loads are in flight during the math below.
    if (k0 + Shape::depth < K) {
      a_panel.load(k0 + Shape::depth, m0);
      b_panel.load(k0 + Shape::depth, n0);
    }
FASTNN_UNROLL
    for (int k = 0; k < Shape::depth; ++k) {
      T a[kThreadTile], b[kThreadTile];
      load_fragment(&tiles->a[k][ty * kThreadTile], a);
      load_fragment(&tiles->b[k][tx * kThreadTile], b);
FASTNN_UNROLL
      for (int i = 0; i < kThreadTile; ++i)
FASTNN_UNROLL
        for (int j = 0; j < kThreadTile; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();  // everyone is done reading before the next store
  }

FASTNN_UNROLL
  for (int i = 0; i < kThreadTile; ++i) {
    const int64_t m = m0 + ty * kThreadTile + i;
    if (m >= M) break;
FASTNN_UNROLL
    for (int j = 0; j < kThreadTile; ++j) {
      const int64_t n = n0 + tx * kThreadTile + j;
      if (n < N) {
        T& c = C[m * ldc + n];
        // beta == 0 must not read C: it may hold garbage (BLAS semantics).
        c = beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * c;
      }
    }
  }
}

template <class T>
bool vector_loads_ok(const T* p, int64_t ld) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % Packet<T>::size == 0;
}

template <class T>
void gemm_tiled(cudaStream_t stream, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
                const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  const int64_t row_tiles = (M + kTile - 1) / kTile, col_tiles = (N + kTile - 1) / kTile;
  // Row tiles go on grid.x (up to 2^31 - 1), column tiles on grid.y (up to
  // 65535, i.e. N up to 4 million: a layer width, never the batch).
  if (col_tiles > 65535)
    throw ValueError("N: the tiled GEMM supports at most " + std::to_string(65535 * kTile) + " columns, got " +
                     std::to_string(N));
  const dim3 grid(static_cast<unsigned>(row_tiles), static_cast<unsigned>(col_tiles));
  const bool vector_a = vector_loads_ok(A, lda), vector_b = vector_loads_ok(B, ldb);
  auto run = [&](auto ta, auto tb) {
    launch(gemm_tiled_kernel<T, decltype(ta)::value, decltype(tb)::value>, grid, kGemmThreads, sizeof(GemmTiles<T>),
           stream, M, N, K, alpha, A, lda, vector_a, B, ldb, vector_b, beta, C, ldc);
  };
  using Yes = std::true_type;
  using No = std::false_type;
  if (trans_a) trans_b ? run(Yes{}, Yes{}) : run(Yes{}, No{});
  else trans_b ? run(No{}, Yes{}) : run(No{}, No{});
  FASTNN_CHECK_LAUNCH("gemm (tiled)");
}

// ---- cuBLAS through cupy's handle ------------------------------------------------
// The toolkit fastnn builds with may have no cuBLAS, so nothing is linked:
// the four functions are looked up in the libcublas cupy has loaded. Their
// C signatures are stable across cuBLAS 11-13 (enums are ints).

struct CublasApi {
  using Sgemm = int (*)(void*, int, int, int, int, int, const float*, const float*, int, const float*, int,
                        const float*, float*, int);
  using Dgemm = int (*)(void*, int, int, int, int, int, const double*, const double*, int, const double*, int,
                        const double*, double*, int);
  using SetStream = int (*)(void*, void*);
  using SetPointerMode = int (*)(void*, int);
  Sgemm sgemm = nullptr;
  Dgemm dgemm = nullptr;
  SetStream set_stream = nullptr;
  SetPointerMode set_pointer_mode = nullptr;
  void* handle = nullptr;
};

// Written by set_cublas, read by every GEMM: readers copy it under the lock,
// so they never see half an update. The explicit choice is a plain atomic.
std::mutex g_cublas_mutex;
CublasApi g_cublas;
enum class Choice { Default, Tiled, Cublas };
std::atomic<Choice> g_choice{Choice::Default};

CublasApi cublas_state() {
  std::lock_guard<std::mutex> lock(g_cublas_mutex);
  return g_cublas;
}

#ifndef FASTNN_CUDA_EMU
constexpr int kCublasOpN = 0, kCublasOpT = 1, kCublasPointerModeHost = 0;

void check_cublas(int status, const char* what) {
  if (status != 0) throw std::runtime_error(std::string(what) + " failed with cuBLAS status " + std::to_string(status));
}

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: cuBLAS
// sees each row-major matrix as its transpose, so pass B first, A second,
// with the same transpose flags and the dimensions N, M swapped.
template <class T>
void cublas_gemm(const CublasApi& api, bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                 int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  const auto call = [&](auto gemm_fn) {
    return gemm_fn(api.handle, tb ? kCublasOpT : kCublasOpN, ta ? kCublasOpT : kCublasOpN, int(N), int(M), int(K),
                   &alpha, B, int(ldb), A, int(lda), &beta, C, int(ldc));
  };
  if constexpr (std::is_same_v<T, float>)
    check_cublas(call(api.sgemm), "cublasSgemm_v2");
  else
    check_cublas(call(api.dgemm), "cublasDgemm_v2");
}
#endif

}  // namespace

void set_cublas_handle(void* handle) {
#ifdef FASTNN_CUDA_EMU
  (void)handle;
  throw ValueError("handle: cuBLAS is not available in emulation (only the 'tiled' GEMM exists)");
#else
  if (handle == nullptr)
    throw ValueError("handle: expected a cuBLAS handle (cupy.cuda.device.get_cublas_handle()), got 0");
  // RTLD_NOLOAD: only find a library already in the process (cupy's); the
  // reference it adds is kept for the life of the process.
  void* lib = nullptr;
  for (const char* name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"})
    if ((lib = dlopen(name, RTLD_NOLOAD | RTLD_NOW)) != nullptr) break;
  if (lib == nullptr)
    throw ValueError("handle: no cuBLAS library is loaded in this process; create the handle with cupy first "
                     "(cupy.cuda.device.get_cublas_handle())");
  CublasApi api;
  api.sgemm = reinterpret_cast<CublasApi::Sgemm>(dlsym(lib, "cublasSgemm_v2"));
  api.dgemm = reinterpret_cast<CublasApi::Dgemm>(dlsym(lib, "cublasDgemm_v2"));
  api.set_stream = reinterpret_cast<CublasApi::SetStream>(dlsym(lib, "cublasSetStream_v2"));
  api.set_pointer_mode = reinterpret_cast<CublasApi::SetPointerMode>(dlsym(lib, "cublasSetPointerMode_v2"));
  if (!api.sgemm || !api.dgemm || !api.set_stream || !api.set_pointer_mode)
    throw ValueError("handle: the loaded cuBLAS library lacks cublasSgemm_v2/cublasDgemm_v2/cublasSetStream_v2/"
                     "cublasSetPointerMode_v2");
  api.handle = handle;
  std::lock_guard<std::mutex> lock(g_cublas_mutex);
  g_cublas = api;
#endif
}

void set_gemm_backend(GemmBackend backend) {
  if (backend == GemmBackend::Cublas && cublas_state().handle == nullptr) {
#ifdef FASTNN_CUDA_EMU
    throw ValueError("name: cuBLAS is not available in emulation (only 'tiled' exists)");
#else
    throw ValueError("name: 'cublas' needs a cuBLAS handle first: set_cublas(cupy.cuda.device.get_cublas_handle())");
#endif
  }
  g_choice = backend == GemmBackend::Cublas ? Choice::Cublas : Choice::Tiled;
}

GemmBackend gemm_backend() {
  switch (g_choice.load()) {
    case Choice::Tiled: return GemmBackend::Tiled;
    case Choice::Cublas: return GemmBackend::Cublas;
    default: return cublas_state().handle != nullptr ? GemmBackend::Cublas : GemmBackend::Tiled;
  }
}

template <class T>
void gemm(Cuda dev, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const cudaStream_t stream = cuda::stream_of(dev);
#ifndef FASTNN_CUDA_EMU
  // cuBLAS takes int sizes; anything larger goes to the tiled kernel.
  const bool fits_int = M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX &&
                        ldc <= INT_MAX;
  if (gemm_backend() == GemmBackend::Cublas && fits_int) {
    const CublasApi api = cublas_state();
    // The handle is cupy's, shared: set what this call relies on each time.
    check_cublas(api.set_stream(api.handle, stream), "cublasSetStream_v2");
    check_cublas(api.set_pointer_mode(api.handle, kCublasPointerModeHost), "cublasSetPointerMode_v2");
    // cuBLAS rejects a leading dimension of 0 even for an empty operand
    // (K == 0 gives lda = 0 here); it reads nothing then, so 1 is as good.
    const auto ld = [](int64_t v) { return v < 1 ? int64_t(1) : v; };
    return cublas_gemm(api, trans_a, trans_b, M, N, K, alpha, A, ld(lda), B, ld(ldb), beta, C, ld(ldc));
  }
#endif
  gemm_tiled(stream, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template void gemm<float>(Cuda, bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                          int64_t, float, float*, int64_t);
template void gemm<double>(Cuda, bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t);

}  // namespace fastnn
