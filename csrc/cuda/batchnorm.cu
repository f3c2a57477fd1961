// Batch normalization on the GPU, channels last: x is M rows of C channels.
// The math (shifted sums in double, the split mean, the coefficients) is
// common/batchnorm_math.h, shared with the CPU; this file only walks memory.
//
// Training forward and backward are three launches each:
//   1. partial sums: block (strip, slab) sums a fixed slab of rows for a strip
//      of channels and writes its per-channel pair of sums to its own slot of
//      the caller's workspace;
//   2. totals: one warp per channel adds the slots (its lanes take every
//      32nd slot in order, then a fixed butterfly) and turns the totals into
//      the statistics (forward) or dgamma, dbeta (backward);
//   3. apply: y (or dx) element-wise, each thread with its channel's
//      coefficients in registers.
// A fused ReLU (relu = true; a template parameter of the kernels) clamps y
// in 3., and in the backward masks dy in 1. and 3. with z recomputed from x.
// Determinism: the slabs depend only on (M, C), a block combines its
// threads' sums in a fixed tree and the totals add the slots in a fixed
// order; no floating-point atomics, so two runs give identical bits however
// the blocks are scheduled. (Not the CPU's bits: its sums run in another
// order.)
#include "../ops/batchnorm.h"

#include <algorithm>
#include <type_traits>

#include "../common/batchnorm_math.h"
#include "common.cuh"

namespace fastnn {

using cuda::kStripColumns;
using cuda::kStripRows;
using cuda::kWarp;

constexpr int64_t kTargetBlocks = 1024;  // partial-sum blocks to aim for: ~8 of 256 threads per SM fill a large GPU
constexpr int64_t kMinSpans = 64;        // spans per slab at least (8 per thread): fewer, larger partials

// How blocks of kStripColumns x kStripRows threads (32 x 8) cover the (M, C)
// matrix, a function of (M, C) alone. The unit of rows is a "span":
// - C >= 32: a span is one row; block column x of strip s holds channel
//   32 s + x (lanes past C idle in the last strip), so a warp reads 32
//   consecutive channels of a row;
// - C < 32: a span packs 32 / C whole rows, width = 32 / C * C contiguous
//   elements, and lane x holds channel x % C: a warp still reads (nearly)
//   32 contiguous elements instead of C. One strip.
// Block row y walks spans y, y + 8, ... of the block's slab of spans.
struct BatchnormLayout {
  int64_t M, C, n;       // rows, channels, elements
  bool packed;           // C < 32
  int width;             // lanes in use (packed); 32 otherwise
  int fold;              // lanes x, x + fold, ... < width share a channel (packed: C; else 32, none)
  int64_t span_stride;   // elements from one span to the next
  int64_t spans;         // spans in the matrix
  int64_t slab;          // spans per slab
  unsigned strips;       // grid.x
  unsigned slabs;        // grid.y, and the workspace's slots

  BatchnormLayout(int64_t M_, int64_t C_) : M(M_), C(C_), n(M_ * C_), packed(C_ < kWarp) {
    const int64_t rows_per_span = packed ? kWarp / C : 1;
    width = packed ? int(rows_per_span * C) : kWarp;
    fold = packed ? int(C) : kWarp;
    span_stride = packed ? width : C;
    spans = (M + rows_per_span - 1) / rows_per_span;
    strips = packed ? 1u : unsigned((C + kWarp - 1) / kWarp);
    const int64_t max_slabs = std::max<int64_t>(1, kTargetBlocks / strips);
    slab = std::max((spans + max_slabs - 1) / max_slabs, kMinSpans);
    slabs = unsigned((spans + slab - 1) / slab);
  }

  dim3 grid() const { return dim3(strips, slabs); }
};

// What this thread covers: one channel, at `offset` within each span.
struct BatchnormLane {
  int64_t channel, offset;
  bool active;
};

__device__ __forceinline__ BatchnormLane batchnorm_lane(const BatchnormLayout& L) {
  if (L.packed) return {int64_t(threadIdx.x) % L.C, int64_t(threadIdx.x), int(threadIdx.x) < L.width};
  const int64_t c = int64_t(blockIdx.x) * kStripColumns + threadIdx.x;
  return {c, c, c < L.C};
}

// Calls f(e) for the elements e of this thread's channel in the block's slab,
// in row order: e = s * span_stride + offset for spans s = first + y, first
// + y + 8, ... As offset < span_stride, e < end * span_stride bounds the
// spans; e < n trims the packed layout's last span at row M.
template <class F>
__device__ __forceinline__ void for_each_element(const BatchnormLayout& L, const BatchnormLane& lane, F&& f) {
  const int64_t first = int64_t(blockIdx.y) * L.slab, slab_end = (first + L.slab) * L.span_stride;
  const int64_t end = slab_end < L.n ? slab_end : L.n, step = kStripRows * L.span_stride;
  for (int64_t e = (first + threadIdx.y) * L.span_stride + lane.offset; e < end; e += step) f(e);
}

// The block's two per-channel sums of term(e, s1, s2) over its slab, into
// workspace slot blockIdx.y: [slot * 2C + c] and [slot * 2C + C + c].
// Order: each thread in row order, the 8 block rows in a fixed tree, then
// (packed) the lanes of one channel in lane order. All threads must call it.
template <class Term>
__device__ __forceinline__ void block_partial_sums(const BatchnormLayout& L, const BatchnormLane& lane,
                                                   double* __restrict__ workspace, Term&& term) {
  __shared__ double partial1[kStripRows][kStripColumns], partial2[kStripRows][kStripColumns];
  double s1 = 0, s2 = 0;
  if (lane.active) for_each_element(L, lane, [&](int64_t e) { term(e, s1, s2); });
  // Two arrays: the second sum must not overwrite the first's results while
  // other threads may still be reading them.
  s1 = cuda::strip_column_sum(s1, partial1);
  s2 = cuda::strip_column_sum(s2, partial2);
  if (threadIdx.y != 0 || !lane.active || int(threadIdx.x) >= L.fold) return;
  for (int j = int(threadIdx.x) + L.fold; j < L.width; j += L.fold) {
    s1 += partial1[0][j];
    s2 += partial2[0][j];
  }
  double* slot = workspace + int64_t(blockIdx.y) * 2 * L.C;
  slot[lane.channel] = s1;
  slot[L.C + lane.channel] = s2;
}

// Channel c's totals over the slots, on every lane of the calling warp:
// lane l adds slots l, l + 32, ... in order, then the lanes combine in a
// fixed butterfly. A warp, not a thread, per channel: with few channels
// there are up to kTargetBlocks slots, too long a chain for one thread.
__device__ __forceinline__ void slot_totals(const double* workspace, int64_t slots, int64_t C, int64_t c, int lane,
                                            double& s1, double& s2) {
  s1 = 0;
  s2 = 0;
  for (int64_t b = lane; b < slots; b += kWarp) {
    s1 += workspace[b * 2 * C + c];
    s2 += workspace[b * 2 * C + C + c];
  }
  s1 = cuda::warp_sum(s1);
  s2 = cuda::warp_sum(s2);
}

// sum(x - K), sum((x - K)^2) with the shift K = shifts[c], or x[0, c] if shifts is null.
template <class T>
__global__ void batchnorm_shifted_sums_kernel(const BatchnormLayout L, const T* __restrict__ x,
                                              const double* __restrict__ shifts, double* __restrict__ workspace) {
  const BatchnormLane lane = batchnorm_lane(L);
  const double shift = !lane.active ? 0.0 : shifts ? shifts[lane.channel] : double(x[lane.channel]);
  block_partial_sums(L, lane, workspace, [&](int64_t e, double& s1, double& s2) {
    const double d = double(x[e]) - shift;
    s1 += d;
    s2 += d * d;
  });
}

template <class T>
__global__ void batchnorm_stats_kernel(const T* __restrict__ x, T* __restrict__ running_mean,
                                       T* __restrict__ running_var, double* __restrict__ save_mean,
                                       double* __restrict__ save_inv_std, const double* __restrict__ workspace,
                                       int64_t slots, double momentum, double eps, int64_t M, int64_t C) {
  cuda::for_each_row(C, [&](int64_t c, int lane) {
    double s1, s2;
    slot_totals(workspace, slots, C, c, lane, s1, s2);
    if (lane != 0) return;
    const BatchnormStats s = batchnorm_stats(s1, s2, double(x[c]), double(M), eps);
    save_mean[c] = s.mean;
    save_inv_std[c] = s.inv_std;
    running_mean[c] = batchnorm_running(running_mean[c], s.mean, momentum);
    running_var[c] = batchnorm_running(running_var[c], s.var, momentum);
  });
}

// The totals of the slots, into sums[c] and sums[C + c] (the split passes).
__global__ void batchnorm_sum_totals_kernel(const double* __restrict__ workspace, double* __restrict__ sums,
                                            int64_t slots, int64_t C) {
  cuda::for_each_row(C, [&](int64_t c, int lane) {
    double s1, s2;
    slot_totals(workspace, slots, C, c, lane, s1, s2);
    if (lane != 0) return;
    sums[c] = s1;
    sums[C + c] = s2;
  });
}

// No __restrict__ on x, y in the apply kernels: y may alias x (each element
// is read, then written, by one thread).
template <class T, bool Relu>
__global__ void batchnorm_train_apply_kernel(const BatchnormLayout L, const T* x, const T* __restrict__ gamma,
                                             const T* __restrict__ beta, const double* __restrict__ mean,
                                             const double* __restrict__ inv_std, T* y) {
  const BatchnormLane lane = batchnorm_lane(L);
  if (!lane.active) return;
  const int64_t c = lane.channel;
  const BatchnormAffine<T> f = batchnorm_train_affine(gamma[c], beta[c], mean[c], inv_std[c]);
  for_each_element(L, lane,
                   [&](int64_t e) { y[e] = batchnorm_activate<Relu>(batchnorm_affine(x[e], f.m, f.a, f.b0)); });
}

template <class T, bool Relu>
__global__ void batchnorm_infer_apply_kernel(const BatchnormLayout L, const T* x, const T* __restrict__ gamma,
                                             const T* __restrict__ beta, const T* __restrict__ running_mean,
                                             const T* __restrict__ running_var, double eps, T* y) {
  const BatchnormLane lane = batchnorm_lane(L);
  if (!lane.active) return;
  const int64_t c = lane.channel;
  const BatchnormAffine<T> f = batchnorm_infer_affine(gamma[c], beta[c], running_mean[c], running_var[c], eps);
  for_each_element(L, lane,
                   [&](int64_t e) { y[e] = batchnorm_activate<Relu>(batchnorm_affine(x[e], f.m, f.a, f.b0)); });
}

// The forward's affine map of channel c, for the fused ReLU's mask (unused without it: beta may be null).
template <class T, bool Relu>
__device__ __forceinline__ BatchnormAffine<T> relu_mask_affine(const T* gamma, const T* beta, const double* mean,
                                                               const double* inv_std, int64_t c) {
  if constexpr (Relu) return batchnorm_train_affine(gamma[c], beta[c], mean[c], inv_std[c]);
  else return {T(0), T(0), T(0)};
}

// No __restrict__ on dy, dx: dx may alias dy.
template <class T>
__global__ void batchnorm_infer_grad_kernel(const BatchnormLayout L, const T* dy, const T* __restrict__ gamma,
                                            const T* __restrict__ running_var, double eps, T* dx) {
  const BatchnormLane lane = batchnorm_lane(L);
  if (!lane.active) return;
  const BatchnormAffine<T> f = batchnorm_infer_grad_affine(gamma[lane.channel], running_var[lane.channel], eps);
  for_each_element(L, lane, [&](int64_t e) { dx[e] = batchnorm_affine(dy[e], f.m, f.a, f.b0); });
}

// sum(g), sum(g (x - mean)) with g = dy, or (Relu) dy where z > 0 (gamma,
// beta, inv_std read only then). (dx, which may alias x or dy, is written
// only later, by the apply kernel.)
template <class T, bool Relu>
__global__ void batchnorm_grad_sums_kernel(const BatchnormLayout L, const T* __restrict__ x,
                                           const T* __restrict__ dy, const T* __restrict__ gamma,
                                           const T* __restrict__ beta, const double* __restrict__ mean,
                                           const double* __restrict__ inv_std, double* __restrict__ workspace) {
  const BatchnormLane lane = batchnorm_lane(L);
  const double m = lane.active ? mean[lane.channel] : 0.0;
  const BatchnormAffine<T> z =
      lane.active ? relu_mask_affine<T, Relu>(gamma, beta, mean, inv_std, lane.channel) : BatchnormAffine<T>{};
  block_partial_sums(L, lane, workspace, [&](int64_t e, double& s1, double& s2) {
    const double g = Relu ? batchnorm_relu_gate(x[e], dy[e], z.m, z.a, z.b0) : dy[e];
    s1 += g;
    s2 += g * (double(x[e]) - m);
  });
}

// dbeta, dgamma; the totals go to slot 0 (workspace[c], workspace[C + c])
// for the apply kernel. Only lane 0 of channel c's warp reads those two
// entries (slot 0), and it writes them after reading.
template <class T>
__global__ void batchnorm_grad_totals_kernel(const double* __restrict__ inv_std, T* __restrict__ dgamma,
                                             T* __restrict__ dbeta, double* workspace, int64_t slots, int64_t C) {
  cuda::for_each_row(C, [&](int64_t c, int lane) {
    double s1, s2;
    slot_totals(workspace, slots, C, c, lane, s1, s2);
    if (lane != 0) return;
    workspace[c] = s1;
    workspace[C + c] = s2;
    dbeta[c] = T(s1);
    dgamma[c] = T(s2 * inv_std[c]);
  });
}

// No __restrict__ on x, dy, dx: dx may alias dy or x. beta is read only with Relu.
template <class T, bool Relu>
__global__ void batchnorm_grad_apply_kernel(const BatchnormLayout L, const T* x, const T* __restrict__ gamma,
                                            const T* __restrict__ beta, const T* dy, const double* __restrict__ mean,
                                            const double* __restrict__ inv_std, const double* __restrict__ totals,
                                            double M_total, T* dx) {
  const BatchnormLane lane = batchnorm_lane(L);
  if (!lane.active) return;
  const int64_t c = lane.channel;
  const BatchnormGrad<T> g =
      batchnorm_grad_coefficients(gamma[c], mean[c], inv_std[c], totals[c], totals[L.C + c], M_total);
  const BatchnormAffine<T> z = relu_mask_affine<T, Relu>(gamma, beta, mean, inv_std, c);
  for_each_element(L, lane, [&](int64_t e) {
    const T xe = x[e], gate = Relu ? batchnorm_relu_gate(xe, dy[e], z.m, z.a, z.b0) : dy[e];
    dx[e] = batchnorm_grad(xe, gate, g.m, g.k, g.b, g.c0);
  });
}

// Calls f(std::bool_constant<relu>{}): a kernel's Relu template argument from the run-time flag.
template <class F>
void with_relu(bool relu, F&& f) {
  if (relu)
    f(std::true_type{});
  else
    f(std::false_type{});
}

int64_t batchnorm_workspace_size(Cuda, int64_t M, int64_t C) {
  return M > 0 && C > 0 ? int64_t(BatchnormLayout(M, C).slabs) * 2 * C : 0;
}

template <class T>
void batchnorm_forward_train(Cuda dev, const T* x, const T* gamma, const T* beta, T* running_mean, T* running_var,
                             T* y, double* save_mean, double* save_inv_std, double* workspace, double momentum,
                             double eps, int64_t M, int64_t C, bool relu) {
  const BatchnormLayout L(M, C);
  const cudaStream_t stream = cuda::stream_of(dev);
  launch(batchnorm_shifted_sums_kernel<T>, L.grid(), cuda::strip_block(), 0, stream, L, x, nullptr, workspace);
  FASTNN_CHECK_LAUNCH("batchnorm_forward (partial sums)");
  cuda::launch_rows("batchnorm_forward (statistics)", dev, C, batchnorm_stats_kernel<T>, x, running_mean,
                    running_var, save_mean, save_inv_std, workspace, int64_t(L.slabs),
                    momentum, eps, M, C);
  with_relu(relu, [&](auto r) {
    const auto kernel = batchnorm_train_apply_kernel<T, decltype(r)::value>;
    launch(kernel, L.grid(), cuda::strip_block(), 0, stream, L, x, gamma, beta, save_mean, save_inv_std, y);
  });
  FASTNN_CHECK_LAUNCH("batchnorm_forward (normalize)");
}

template <class T>
void batchnorm_forward_infer(Cuda dev, const T* x, const T* gamma, const T* beta, const T* running_mean,
                             const T* running_var, T* y, double eps, int64_t M, int64_t C, bool relu) {
  const BatchnormLayout L(M, C);
  with_relu(relu, [&](auto r) {
    const auto kernel = batchnorm_infer_apply_kernel<T, decltype(r)::value>;
    launch(kernel, L.grid(), cuda::strip_block(), 0, cuda::stream_of(dev), L, x, gamma, beta, running_mean,
           running_var, eps, y);
  });
  FASTNN_CHECK_LAUNCH("batchnorm_forward (inference)");
}

template <class T>
void batchnorm_inference_backward(Cuda dev, const T* dy, const T* gamma, const T* running_var, T* dx, double eps,
                                  int64_t M, int64_t C) {
  const BatchnormLayout L(M, C);
  launch(batchnorm_infer_grad_kernel<T>, L.grid(), cuda::strip_block(), 0, cuda::stream_of(dev), L, dy, gamma,
         running_var, eps, dx);
  FASTNN_CHECK_LAUNCH("batchnorm_inference_backward");
}

template <class T>
void batchnorm_backward(Cuda dev, const T* x, const T* gamma, const T* beta, const T* dy, const double* save_mean,
                        const double* save_inv_std, T* dx, T* dgamma, T* dbeta, double* workspace, int64_t M,
                        int64_t C, bool relu) {
  const BatchnormLayout L(M, C);
  const cudaStream_t stream = cuda::stream_of(dev);
  with_relu(relu, [&](auto r) {
    const auto kernel = batchnorm_grad_sums_kernel<T, decltype(r)::value>;
    launch(kernel, L.grid(), cuda::strip_block(), 0, stream, L, x, dy, gamma, beta, save_mean, save_inv_std,
           workspace);
  });
  FASTNN_CHECK_LAUNCH("batchnorm_backward (partial sums)");
  cuda::launch_rows("batchnorm_backward (dgamma, dbeta)", dev, C, batchnorm_grad_totals_kernel<T>, save_inv_std,
                    dgamma, dbeta, workspace, int64_t(L.slabs), C);
  with_relu(relu, [&](auto r) {
    const auto kernel = batchnorm_grad_apply_kernel<T, decltype(r)::value>;
    launch(kernel, L.grid(), cuda::strip_block(), 0, stream, L, x, gamma, beta, dy, save_mean, save_inv_std,
           workspace, double(M), dx);
  });
  FASTNN_CHECK_LAUNCH("batchnorm_backward (dx)");
}

// -- the passes of a batch spread over several processes (synchronized batch norm) --

template <class T>
void batchnorm_sums(Cuda dev, const T* x, const double* shift, double* sums, double* workspace, int64_t M, int64_t C) {
  const BatchnormLayout L(M, C);
  launch(batchnorm_shifted_sums_kernel<T>, L.grid(), cuda::strip_block(), 0, cuda::stream_of(dev), L, x, shift,
         workspace);
  FASTNN_CHECK_LAUNCH("batchnorm_sums (partial sums)");
  cuda::launch_rows("batchnorm_sums (totals)", dev, C, batchnorm_sum_totals_kernel, workspace, sums,
                    int64_t(L.slabs), C);
}

template <class T>
void batchnorm_apply(Cuda dev, const T* x, const T* gamma, const T* beta, const double* mean, const double* inv_std,
                     T* y, int64_t M, int64_t C) {
  const BatchnormLayout L(M, C);
  launch(batchnorm_train_apply_kernel<T, false>, L.grid(), cuda::strip_block(), 0, cuda::stream_of(dev), L, x, gamma,
         beta, mean, inv_std, y);
  FASTNN_CHECK_LAUNCH("batchnorm_apply");
}

template <class T>
void batchnorm_grad_sums(Cuda dev, const T* x, const T* dy, const double* mean, double* sums, double* workspace,
                         int64_t M, int64_t C) {
  const BatchnormLayout L(M, C);
  launch(batchnorm_grad_sums_kernel<T, false>, L.grid(), cuda::strip_block(), 0, cuda::stream_of(dev), L, x, dy,
         nullptr, nullptr, mean, nullptr, workspace);
  FASTNN_CHECK_LAUNCH("batchnorm_grad_sums (partial sums)");
  cuda::launch_rows("batchnorm_grad_sums (totals)", dev, C, batchnorm_sum_totals_kernel, workspace, sums,
                    int64_t(L.slabs), C);
}

template <class T>
void batchnorm_grad_apply(Cuda dev, const T* x, const T* gamma, const T* dy, const double* mean, const double* inv_std,
                          const double* sums, double M_total, T* dx, int64_t M, int64_t C) {
  const BatchnormLayout L(M, C);
  launch(batchnorm_grad_apply_kernel<T, false>, L.grid(), cuda::strip_block(), 0, cuda::stream_of(dev), L, x, gamma,
         nullptr, dy, mean, inv_std, sums, M_total, dx);
  FASTNN_CHECK_LAUNCH("batchnorm_grad_apply");
}

#define INSTANTIATE(T)                                                                                             \
  template void batchnorm_forward_train<T>(Cuda, const T*, const T*, const T*, T*, T*, T*, double*, double*,       \
                                           double*, double, double, int64_t, int64_t, bool);                      \
  template void batchnorm_forward_infer<T>(Cuda, const T*, const T*, const T*, const T*, const T*, T*, double,     \
                                           int64_t, int64_t, bool);                                                \
  template void batchnorm_inference_backward<T>(Cuda, const T*, const T*, const T*, T*, double, int64_t, int64_t); \
  template void batchnorm_backward<T>(Cuda, const T*, const T*, const T*, const T*, const double*, const double*, \
                                      T*, T*, T*, double*, int64_t, int64_t, bool);                               \
  template void batchnorm_sums<T>(Cuda, const T*, const double*, double*, double*, int64_t, int64_t);              \
  template void batchnorm_apply<T>(Cuda, const T*, const T*, const T*, const double*, const double*, T*, int64_t,  \
                                   int64_t);                                                                       \
  template void batchnorm_grad_sums<T>(Cuda, const T*, const T*, const double*, double*, double*, int64_t,         \
                                       int64_t);                                                                   \
  template void batchnorm_grad_apply<T>(Cuda, const T*, const T*, const T*, const double*, const double*,          \
                                        const double*, double, T*, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
