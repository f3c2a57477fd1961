// Self-test of the CUDA emulator (csrc/emu): small kernels exercising every
// feature cuda_emu.h lists, each checked against a plain C++ loop. The same
// source is valid CUDA, so on a GPU it checks the emulator's semantics
// against the hardware's.
//
//   emulation: g++ -x c++ -std=c++17 -O1 -DFASTNN_CUDA_EMU -Icsrc tests/emu/emu_selftest.cu csrc/emu/cuda_emu.cpp
//   CUDA:      nvcc -std=c++17 -arch=sm_80 -Icsrc tests/emu/emu_selftest.cu
//
// Prints OK or FAIL per test and exits non-zero on any failure. With the
// argument --divergent-barrier it instead runs a kernel whose threads exit
// while others wait at __syncthreads(): the emulator must abort (on a GPU
// this is undefined, so only run it emulated).
#include "emu/cuda_emu.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

#define CHECK_CUDA(call)                                                                      \
  do {                                                                                        \
    const cudaError_t check_cuda_error = (call);                                              \
    if (check_cuda_error != cudaSuccess) {                                                    \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,                      \
                   cudaGetErrorString(check_cuda_error));                                     \
      std::exit(2);                                                                           \
    }                                                                                         \
  } while (0)

// A device array of n elements, filled from and read back into host vectors.
template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) : size_(n) { CHECK_CUDA(cudaMalloc(&data_, n * sizeof(T))); }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) {
    CHECK_CUDA(cudaMemcpy(data_, host.data(), size_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DeviceArray() { cudaFree(data_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  T* get() const { return data_; }
  void fill_bytes(int value) { CHECK_CUDA(cudaMemset(data_, value, size_ * sizeof(T))); }
  std::vector<T> to_host() const {
    std::vector<T> host(size_);
    CHECK_CUDA(cudaMemcpy(host.data(), data_, size_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  T* data_ = nullptr;
  size_t size_;
};

int failures = 0;

// Reports one test; `error` is empty when it passed.
void report(const char* name, const std::string& error, double milliseconds) {
  if (error.empty()) {
    std::printf("OK    %-28s %8.2f ms\n", name, milliseconds);
  } else {
    std::printf("FAIL  %-28s %s\n", name, error.c_str());
    ++failures;
  }
}

template <typename T>
std::string compare(const char* what, const std::vector<T>& got, const std::vector<T>& expected,
                    double tolerance = 0) {
  if (got.size() != expected.size()) return std::string(what) + ": size differs";
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<double>(got[i]), e = static_cast<double>(expected[i]);
    if (!(std::fabs(g - e) <= tolerance * std::fmax(1.0, std::fabs(e)))) {
      char message[160];
      std::snprintf(message, sizeof message, "%s[%zu] = %.9g, expected %.9g", what, i, g, e);
      return message;
    }
  }
  return "";
}

template <typename Test>
void run_test(const char* name, Test test) {
  const auto start = std::chrono::steady_clock::now();
  const std::string error = test();
  const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
  report(name, error, elapsed.count());
}

unsigned blocks_for(unsigned n, unsigned per_block) { return (n + per_block - 1) / per_block; }

// ---- Static shared memory: tiled transpose over a 2-D grid with partial tiles ----

constexpr int kTransposeTile = 32;
constexpr int kTransposeRowsPerPass = 8;  // a 32x8 block moves a 32x32 tile in four passes

__global__ void transpose_kernel(const float* in, float* out, int rows, int cols) {
  __shared__ float tile[kTransposeTile][kTransposeTile + 1];  // +1: no bank conflicts on a GPU
  const int col = blockIdx.x * kTransposeTile + threadIdx.x;
  const int row = blockIdx.y * kTransposeTile + threadIdx.y;
  for (int pass = 0; pass < kTransposeTile; pass += kTransposeRowsPerPass)
    if (row + pass < rows && col < cols) tile[threadIdx.y + pass][threadIdx.x] = in[(row + pass) * cols + col];
  __syncthreads();
  const int out_col = blockIdx.y * kTransposeTile + threadIdx.x;
  const int out_row = blockIdx.x * kTransposeTile + threadIdx.y;
  for (int pass = 0; pass < kTransposeTile; pass += kTransposeRowsPerPass)
    if (out_row + pass < cols && out_col < rows)
      out[(out_row + pass) * rows + out_col] = tile[threadIdx.x][threadIdx.y + pass];
}

std::string test_transpose() {
  const int rows = 70, cols = 45;
  std::vector<float> in(rows * cols), expected(rows * cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      in[r * cols + c] = static_cast<float>(r * 1000 + c);
      expected[c * rows + r] = in[r * cols + c];
    }
  DeviceArray<float> d_in(in), d_out(in.size());
  const dim3 grid(blocks_for(cols, kTransposeTile), blocks_for(rows, kTransposeTile));
  fastnn::launch(transpose_kernel, grid, dim3(kTransposeTile, kTransposeRowsPerPass), 0, nullptr, d_in.get(),
                 d_out.get(), rows, cols);
  CHECK_CUDA(cudaGetLastError());
  return compare("out", d_out.to_host(), expected);
}

// ---- A 64x64-tile GEMM with 256 threads, each computing 4x4 outputs ----

constexpr int kGemmTile = 64;
constexpr int kGemmDepth = 16;
constexpr int kGemmThreads = 256;
constexpr int kGemmPerThread = 4;  // outputs per thread along each axis

template <int kTile, int kDepth>
__global__ void __launch_bounds__(kGemmThreads)
    gemm_tile_kernel(const float* a, const float* b, float* c, int m, int n, int k) {
  __shared__ float a_tile[kDepth][kTile];  // a_tile[kk][row]
  __shared__ float b_tile[kDepth][kTile];  // b_tile[kk][col]
  const int thread_col = threadIdx.x % (kTile / kGemmPerThread);
  const int thread_row = threadIdx.x / (kTile / kGemmPerThread);
  const int row0 = blockIdx.y * kTile, col0 = blockIdx.x * kTile;
  float acc[kGemmPerThread][kGemmPerThread] = {};
  for (int k0 = 0; k0 < k; k0 += kDepth) {
    for (int e = threadIdx.x; e < kTile * kDepth; e += kGemmThreads) {
      const int a_row = e / kDepth, a_k = e % kDepth;
      a_tile[a_k][a_row] = row0 + a_row < m && k0 + a_k < k ? a[(row0 + a_row) * k + k0 + a_k] : 0.0f;
      const int b_k = e / kTile, b_col = e % kTile;
      b_tile[b_k][b_col] = k0 + b_k < k && col0 + b_col < n ? b[(k0 + b_k) * n + col0 + b_col] : 0.0f;
    }
    __syncthreads();
    for (int kk = 0; kk < kDepth; ++kk)
      for (int i = 0; i < kGemmPerThread; ++i)
        for (int j = 0; j < kGemmPerThread; ++j)
          acc[i][j] += a_tile[kk][thread_row * kGemmPerThread + i] * b_tile[kk][thread_col * kGemmPerThread + j];
    __syncthreads();
  }
  for (int i = 0; i < kGemmPerThread; ++i)
    for (int j = 0; j < kGemmPerThread; ++j) {
      const int row = row0 + thread_row * kGemmPerThread + i, col = col0 + thread_col * kGemmPerThread + j;
      if (row < m && col < n) c[row * n + col] = acc[i][j];
    }
}

std::string test_gemm() {
  const int m = 200, n = 136, k = 300;
  std::vector<float> a(m * k), b(k * n), expected(m * n, 0.0f);
  for (int i = 0; i < m * k; ++i) a[i] = static_cast<float>(i % 7) - 3.0f;
  for (int i = 0; i < k * n; ++i) b[i] = static_cast<float>(i % 5) - 2.0f;
  for (int i = 0; i < m; ++i)
    for (int p = 0; p < k; ++p)
      for (int j = 0; j < n; ++j) expected[i * n + j] += a[i * k + p] * b[p * n + j];
  DeviceArray<float> d_a(a), d_b(b), d_c(expected.size());
  const dim3 grid(blocks_for(n, kGemmTile), blocks_for(m, kGemmTile));
  fastnn::launch(gemm_tile_kernel<kGemmTile, kGemmDepth>, grid, dim3(kGemmThreads), 0, nullptr, d_a.get(),
                 d_b.get(), d_c.get(), m, n, k);
  CHECK_CUDA(cudaGetLastError());
  return compare("c", d_c.to_host(), expected);  // small integers: exact in any order
}

// ---- Dynamic shared memory: block sums, as float and as double ----

__global__ void block_sum_kernel(const float* x, float* block_sums, int n) {
  FASTNN_DYNAMIC_SHARED(float, partial);
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  partial[threadIdx.x] = i < n ? x[i] : 0.0f;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) block_sums[blockIdx.x] = partial[0];
}

// Same buffer, another element type: the two kernels' declarations must not clash.
__global__ void block_sum_of_squares_kernel(const float* x, double* block_sums, int n) {
  FASTNN_DYNAMIC_SHARED(double, partial);
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  partial[threadIdx.x] = i < n ? static_cast<double>(x[i]) * x[i] : 0.0;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) block_sums[blockIdx.x] = partial[0];
}

std::string test_dynamic_shared_reduction() {
  const int n = 5000, threads = 128, blocks = static_cast<int>(blocks_for(n, threads));
  std::vector<float> x(n), expected_sums(blocks, 0.0f);
  std::vector<double> expected_squares(blocks, 0.0);
  for (int i = 0; i < n; ++i) {
    x[i] = static_cast<float>(i % 17) - 8.0f;
    expected_sums[i / threads] += x[i];
    expected_squares[i / threads] += static_cast<double>(x[i]) * x[i];
  }
  DeviceArray<float> d_x(x), d_sums(blocks);
  DeviceArray<double> d_squares(blocks);
  fastnn::launch(block_sum_kernel, dim3(blocks), dim3(threads), threads * sizeof(float), nullptr, d_x.get(),
                 d_sums.get(), n);
  fastnn::launch(block_sum_of_squares_kernel, dim3(blocks), dim3(threads), threads * sizeof(double), nullptr,
                 d_x.get(), d_squares.get(), n);
  CHECK_CUDA(cudaGetLastError());
  std::string error = compare("sums", d_sums.to_host(), expected_sums);
  return error.empty() ? compare("squares", d_squares.to_host(), expected_squares) : error;
}

// ---- Warp shuffles and __syncwarp ----

struct WarpResults {
  float* down_sum;      // lane 0 of each warp: the warp's sum by __shfl_down_sync
  int* xor_sum;         // every lane: the warp's sum by a __shfl_xor_sync butterfly
  double* xor_max;      // every lane: the warp's maximum, in double
  unsigned* up_scan;    // every lane: inclusive prefix sum by __shfl_up_sync
  float* broadcast;     // every lane: lane 5's value by __shfl_sync
  int* segment_sum;     // every lane: the sum over its 8-lane segment (width 8)
  float* segment_broadcast;  // every lane: lane 2 of its 16-lane segment (source 18, width 16)
  int* segment_down;    // every lane: 3 lanes down within its 8-lane segment, or its own value
  int* xor_earlier;     // lane ^ 8 within width 8: reads an earlier segment, never a later one
  int* neighbour;       // every lane: the next lane's id, through shared memory and __syncwarp
};

constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kWarpThreads = 64;  // two warps per block

__global__ void warp_kernel(const int* values, WarpResults out) {
  __shared__ int lane_ids[kWarpThreads];
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  const int lane = threadIdx.x % warpSize;
  const int value = values[i];

  float down = static_cast<float>(value);
  for (int offset = warpSize / 2; offset > 0; offset /= 2) down += __shfl_down_sync(kFullMask, down, offset);
  if (lane == 0) out.down_sum[i / warpSize] = down;

  int sum = value;
  double maximum = value * 0.5;
  for (int mask = warpSize / 2; mask > 0; mask /= 2) {
    sum += __shfl_xor_sync(kFullMask, sum, mask);
    maximum = fmax(maximum, __shfl_xor_sync(kFullMask, maximum, mask));
  }
  out.xor_sum[i] = sum;
  out.xor_max[i] = maximum;

  unsigned scan = static_cast<unsigned>(value);
  for (int offset = 1; offset < warpSize; offset *= 2) {
    const unsigned lower = __shfl_up_sync(kFullMask, scan, offset);
    if (lane >= offset) scan += lower;
  }
  out.up_scan[i] = scan;

  out.broadcast[i] = __shfl_sync(kFullMask, static_cast<float>(value), 5);

  int segment = value;
  for (int mask = 4; mask > 0; mask /= 2) segment += __shfl_xor_sync(kFullMask, segment, mask, 8);
  out.segment_sum[i] = segment;
  out.segment_broadcast[i] = __shfl_sync(kFullMask, static_cast<float>(value), 18, 16);
  out.segment_down[i] = __shfl_down_sync(kFullMask, value, 3, 8);
  out.xor_earlier[i] = __shfl_xor_sync(kFullMask, value, 8, 8);

  lane_ids[threadIdx.x] = i;
  __syncwarp();
  out.neighbour[i] = lane_ids[threadIdx.x - lane + (lane + 1) % warpSize];
}

std::string test_warp_operations() {
  const int blocks = 3, n = blocks * kWarpThreads, warps = n / 32;
  std::vector<int> values(n);
  for (int i = 0; i < n; ++i) values[i] = (i * 37) % 101 - 50;
  std::vector<float> down_sum(warps), broadcast(n);
  std::vector<float> segment_broadcast(n);
  std::vector<int> xor_sum(n), segment_sum(n), segment_down(n), xor_earlier(n), neighbour(n);
  std::vector<double> xor_max(n);
  std::vector<unsigned> up_scan(n);
  for (int w = 0; w < warps; ++w) {
    int total = 0, maximum = values[w * 32];
    for (int lane = 0; lane < 32; ++lane) {
      const int i = w * 32 + lane;
      total += values[i];
      maximum = std::max(maximum, values[i]);
      up_scan[i] = (lane > 0 ? up_scan[i - 1] : 0u) + static_cast<unsigned>(values[i]);
      broadcast[i] = static_cast<float>(values[w * 32 + 5]);
      neighbour[i] = w * 32 + (lane + 1) % 32;
      int segment = 0;
      for (int s = lane / 8 * 8; s < lane / 8 * 8 + 8; ++s) segment += values[w * 32 + s];
      segment_sum[i] = segment;
      segment_broadcast[i] = static_cast<float>(values[w * 32 + lane / 16 * 16 + 2]);
      segment_down[i] = lane % 8 + 3 < 8 ? values[i + 3] : values[i];
      xor_earlier[i] = (lane ^ 8) < lane ? values[i - 8] : values[i];
    }
    down_sum[w] = static_cast<float>(total);
    for (int lane = 0; lane < 32; ++lane) {
      xor_sum[w * 32 + lane] = total;
      xor_max[w * 32 + lane] = maximum * 0.5;
    }
  }
  DeviceArray<int> d_values(values), d_xor_sum(n), d_segment_sum(n), d_segment_down(n), d_xor_earlier(n),
      d_neighbour(n);
  DeviceArray<float> d_down_sum(warps), d_broadcast(n), d_segment_broadcast(n);
  DeviceArray<double> d_xor_max(n);
  DeviceArray<unsigned> d_up_scan(n);
  const WarpResults out{d_down_sum.get(),        d_xor_sum.get(),      d_xor_max.get(),
                        d_up_scan.get(),         d_broadcast.get(),    d_segment_sum.get(),
                        d_segment_broadcast.get(), d_segment_down.get(), d_xor_earlier.get(),
                        d_neighbour.get()};
  fastnn::launch(warp_kernel, dim3(blocks), dim3(kWarpThreads), 0, nullptr, d_values.get(), out);
  CHECK_CUDA(cudaGetLastError());
  for (const std::string& error :
       {compare("down_sum", d_down_sum.to_host(), down_sum), compare("xor_sum", d_xor_sum.to_host(), xor_sum),
        compare("xor_max", d_xor_max.to_host(), xor_max), compare("up_scan", d_up_scan.to_host(), up_scan),
        compare("broadcast", d_broadcast.to_host(), broadcast),
        compare("segment_sum", d_segment_sum.to_host(), segment_sum),
        compare("segment_broadcast", d_segment_broadcast.to_host(), segment_broadcast),
        compare("segment_down", d_segment_down.to_host(), segment_down),
        compare("xor_earlier", d_xor_earlier.to_host(), xor_earlier),
        compare("neighbour", d_neighbour.to_host(), neighbour)})
    if (!error.empty()) return error;
  return "";
}

// ---- Atomics from many blocks ----

struct AtomicCounters {
  int histogram[16];
  float float_sum;
  double double_sum;
  unsigned long long index_sum;
  unsigned count;
  int maximum;
  int owner;            // claimed once by atomicCAS
  int owners_claimed;   // how many threads believed they claimed it
  unsigned long long cas_total;
  unsigned cas_count;
};

__global__ void atomics_kernel(AtomicCounters* counters) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  atomicAdd(&counters->histogram[i % 16], 1);
  atomicAdd(&counters->float_sum, static_cast<float>(i % 8));  // small integers: exact in any order
  atomicAdd(&counters->double_sum, 0.5 * (i % 4));
  atomicAdd(&counters->index_sum, static_cast<unsigned long long>(i));
  atomicAdd(&counters->count, 1u);
  atomicMax(&counters->maximum, (i * 7919) % 10007);
  if (atomicCAS(&counters->owner, -1, i) == -1) atomicAdd(&counters->owners_claimed, 1);
  // Read-modify-write loops built on atomicCAS, starting from a guess.
  unsigned long long expected_total = 0;
  for (;;) {
    const unsigned long long old = atomicCAS(&counters->cas_total, expected_total, expected_total + 2);
    if (old == expected_total) break;
    expected_total = old;
  }
  unsigned expected_count = 0;
  for (;;) {
    const unsigned old = atomicCAS(&counters->cas_count, expected_count, expected_count + 1);
    if (old == expected_count) break;
    expected_count = old;
  }
}

std::string test_atomics() {
  const int blocks = 48, threads = 96, n = blocks * threads;
  AtomicCounters initial{};
  initial.maximum = -1;
  initial.owner = -1;
  DeviceArray<AtomicCounters> d_counters(std::vector<AtomicCounters>{initial});
  fastnn::launch(atomics_kernel, dim3(blocks), dim3(threads), 0, nullptr, d_counters.get());
  CHECK_CUDA(cudaGetLastError());
  const AtomicCounters got = d_counters.to_host()[0];
  std::vector<int> histogram(16, 0);
  float float_sum = 0;
  double double_sum = 0;
  int maximum = -1;
  for (int i = 0; i < n; ++i) {
    ++histogram[i % 16];
    float_sum += static_cast<float>(i % 8);
    double_sum += 0.5 * (i % 4);
    maximum = std::max(maximum, (i * 7919) % 10007);
  }
  const unsigned long long index_sum = 1ull * n * (n - 1) / 2;
  std::string error = compare("histogram", std::vector<int>(got.histogram, got.histogram + 16), histogram);
  if (!error.empty()) return error;
  const std::vector<double> scalars_got = {got.float_sum, got.double_sum, static_cast<double>(got.index_sum),
                                           static_cast<double>(got.count), static_cast<double>(got.maximum),
                                           static_cast<double>(got.owners_claimed),
                                           got.owner >= 0 && got.owner < n ? 1.0 : 0.0,
                                           static_cast<double>(got.cas_total), static_cast<double>(got.cas_count)};
  const std::vector<double> scalars_expected = {float_sum, double_sum, static_cast<double>(index_sum),
                                                static_cast<double>(n), static_cast<double>(maximum), 1.0, 1.0,
                                                2.0 * n, static_cast<double>(n)};
  return compare("float_sum, double_sum, index_sum, count, maximum, owners_claimed, owner_valid, cas_total, "
                 "cas_count",
                 scalars_got, scalars_expected);
}

// ---- 3-D grids and blocks: every thread runs once, with the right indices ----

__global__ void indexing_kernel(int* visits, unsigned* shape) {
  const unsigned block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const unsigned thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  const unsigned i = block * blockDim.x * blockDim.y * blockDim.z + thread;
  atomicAdd(&visits[i], 1);
  shape[i] = gridDim.x * 100000 + gridDim.y * 10000 + gridDim.z * 1000 + blockDim.x * 100 + blockDim.y * 10 +
             blockDim.z;
}

std::string test_indexing() {
  const dim3 grid(3, 2, 2), block(4, 3, 2);
  const int n = 3 * 2 * 2 * 4 * 3 * 2;
  DeviceArray<int> d_visits(n);
  DeviceArray<unsigned> d_shape(n);
  d_visits.fill_bytes(0);
  fastnn::launch(indexing_kernel, grid, block, 0, nullptr, d_visits.get(), d_shape.get());
  CHECK_CUDA(cudaGetLastError());
  const std::string error = compare("visits", d_visits.to_host(), std::vector<int>(n, 1));
  return error.empty() ? compare("shape", d_shape.to_host(), std::vector<unsigned>(n, 322432u)) : error;
}

// ---- Math intrinsics and __ldg ----

constexpr int kMathResults = 13;

__global__ void math_kernel(const float* x, float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float v = __ldg(&x[i]);
  float* o = out + i * kMathResults;
  o[0] = __expf(v);
  o[1] = __logf(v);
  o[2] = rsqrtf(v);
  o[3] = static_cast<float>(rsqrt(static_cast<double>(v)));
  o[4] = __fdividef(1.0f, v);
  o[5] = fminf(v, 1.0f);
  o[6] = fmaxf(v, 1.0f);
  o[7] = static_cast<float>(__float2int_rn(v * 2.0f));
  o[8] = __fadd_rn(v, 0.25f);
  o[9] = __fmul_rn(v, 3.0f);
  o[10] = __fmaf_rn(v, 2.0f, 1.0f);
  o[11] = static_cast<float>(min(i, 3) + max(i, 3));
  o[12] = static_cast<float>(min(static_cast<unsigned>(i), 5u) + max(static_cast<unsigned>(i), 5u));
}

std::string test_math() {
  const int n = 40;
  std::vector<float> x(n), expected(n * kMathResults);
  for (int i = 0; i < n; ++i) {
    x[i] = 0.25f + 0.25f * static_cast<float>(i);  // v * 2 hits the .5 ties of rounding
    const float v = x[i];
    float* e = &expected[i * kMathResults];
    e[0] = std::exp(v);
    e[1] = std::log(v);
    e[2] = 1.0f / std::sqrt(v);
    e[3] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(v)));
    e[4] = 1.0f / v;
    e[5] = std::fmin(v, 1.0f);
    e[6] = std::fmax(v, 1.0f);
    e[7] = std::nearbyint(v * 2.0f);
    e[8] = v + 0.25f;
    e[9] = v * 3.0f;
    e[10] = v * 2.0f + 1.0f;
    e[11] = static_cast<float>(std::min(i, 3) + std::max(i, 3));
    e[12] = static_cast<float>(std::min(i, 5) + std::max(i, 5));
  }
  DeviceArray<float> d_x(x), d_out(expected.size());
  fastnn::launch(math_kernel, dim3(blocks_for(n, 32)), dim3(32), 0, nullptr, d_x.get(), d_out.get(), n);
  CHECK_CUDA(cudaGetLastError());
  return compare("math", d_out.to_host(), expected, 1e-5);  // GPU fast intrinsics are a few ulp off
}

// ---- Invalid launches set an error and run nothing ----

std::string test_invalid_launches() {
  const int threads = 64;
  DeviceArray<float> d_x(std::vector<float>(threads, 1.0f)), d_sums(1);
  d_sums.fill_bytes(0);
  auto launch_sum = [&](dim3 grid, dim3 block, size_t shared_bytes) {
    fastnn::launch(block_sum_kernel, grid, block, shared_bytes, nullptr, d_x.get(), d_sums.get(), threads);
    return cudaGetLastError();
  };
  if (launch_sum(dim3(1), dim3(1025), threads * sizeof(float)) != cudaErrorInvalidConfiguration)
    return "a 1025-thread block was not rejected";
  if (launch_sum(dim3(1), dim3(32, 32, 2), threads * sizeof(float)) != cudaErrorInvalidConfiguration)
    return "a 32x32x2 block was not rejected";
  if (launch_sum(dim3(0), dim3(threads), threads * sizeof(float)) != cudaErrorInvalidConfiguration)
    return "an empty grid was not rejected";
  if (launch_sum(dim3(1), dim3(threads), 64 * 1024) == cudaSuccess)
    return "64 KiB of dynamic shared memory was accepted without cudaFuncSetAttribute";
  if (cudaPeekAtLastError() != cudaSuccess) return "cudaGetLastError did not clear the error";
  if (d_sums.to_host()[0] != 0.0f) return "a rejected launch ran";
  CHECK_CUDA(cudaFuncSetAttribute(block_sum_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024));
  if (launch_sum(dim3(1), dim3(threads), 64 * 1024) != cudaSuccess)
    return "64 KiB of dynamic shared memory was rejected after cudaFuncSetAttribute";
  CHECK_CUDA(cudaDeviceSynchronize());
  if (d_sums.to_host()[0] != static_cast<float>(threads)) return "the valid launch computed a wrong sum";
  return "";
}

// ---- Emulator only: threads exit while others wait at __syncthreads() ----

__global__ void divergent_barrier_kernel(int* out) {
  if (threadIdx.x >= 16) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

int run_divergent_barrier() {
  DeviceArray<int> d_out(32);
  fastnn::launch(divergent_barrier_kernel, dim3(1), dim3(32), 0, nullptr, d_out.get());
  CHECK_CUDA(cudaDeviceSynchronize());
  std::printf("the divergent barrier was not detected\n");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--divergent-barrier") == 0) return run_divergent_barrier();
  run_test("transpose (static shared)", test_transpose);
  run_test("gemm 64x64 tiles", test_gemm);
  run_test("dynamic shared reduction", test_dynamic_shared_reduction);
  run_test("warp shuffles, __syncwarp", test_warp_operations);
  run_test("atomics", test_atomics);
  run_test("3-D indexing", test_indexing);
  run_test("math intrinsics", test_math);
  run_test("invalid launches", test_invalid_launches);
  if (failures > 0) {
    std::printf("%d test(s) FAILED\n", failures);
    return 1;
  }
  std::printf("all tests passed\n");
  return 0;
}
