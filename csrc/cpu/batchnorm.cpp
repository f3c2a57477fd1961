// Batch normalization on the CPU, channels last: x is M rows of C
// contiguous channels, so every inner loop runs over channels and vectorizes.
//
// Passes over memory: training forward reads x twice (statistics, then
// normalize) and writes y once; backward reads x and dy twice (two sums,
// then dx) and writes dx once. A fused ReLU (relu = true) adds none: the
// forward clamps y as it writes it, the backward recomputes its mask from
// the x it reads anyway. Whether to fuse is a template parameter (Relu) of
// the inner loops, so each stays one branch-free vectorized loop.
//
// Statistics are shifted sums accumulated in double: with K = x[0, c],
//   mean = K + sum(x - K) / M,   var = sum((x - K)^2) / M - (sum(x - K) / M)^2.
// The shift removes the cancellation that makes sum(x^2)/M - mean^2 useless
// when the mean dwarfs the spread (1e8 +- 1 in float64 keeps no digit of
// the variance); for float32 inputs x - K and its square are exact in double.
//
// Determinism: the rows are cut into blocks that depend only on (M, C),
// each block's sums go to its own slot of the caller's workspace, and the
// slots are added in block order, so results are bit-identical for any
// number of threads.
#include "../ops/batchnorm.h"

#include <algorithm>
#include <numeric>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../common/batchnorm_math.h"
#include "simd_clones.h"

namespace fastnn {
namespace {

constexpr int64_t kMaxBlocks = 256;           // partial sums in the workspace: at most this many per channel
constexpr int64_t kMinBlockElems = 1 << 13;  // smaller blocks cost more in merging than they save
constexpr int64_t kParallelMin = 1 << 15;    // below this many elements, one thread
// Length of the stack arrays of accumulators and coefficients: the span the
// inner loops run over. Measured on Zen 5: 64 to 96 doubles keep the
// reductions at memory speed; 128 and up made them 2x slower.
constexpr int64_t kTile = 64;
constexpr int64_t kVector = 8;  // spans a multiple of this run without a scalar remainder

// The fixed cut of M rows into blocks.
struct RowBlocks {
  int64_t rows, count;
  RowBlocks(int64_t M, int64_t C)
      : rows(std::max({(M + kMaxBlocks - 1) / kMaxBlocks, (kMinBlockElems + C - 1) / C, int64_t(1)})),
        count((M + rows - 1) / rows) {}
  int64_t first(int64_t b) const { return b * rows; }
  int64_t size(int64_t b, int64_t M) const { return std::min(rows, M - b * rows); }
};

// The calling thread's contiguous share [lo, hi) of n items.
struct Share {
  int64_t lo, hi;
};
Share thread_share(int64_t n) {
#ifdef _OPENMP
  const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
#else
  const int64_t nt = 1, id = 0;
#endif
  return {n * id / nt, n * (id + 1) / nt};
}

// How the inner loops walk the rows of a block: as spans of at most kTile
// elements against per-channel arrays of the span's length (the "tile").
// - C <= kTile: a block's rows are contiguous, so several rows at a time
//   form one span of a multiple of C elements (of lcm(C, kVector) where that
//   fits), the per-channel arrays repeat every C entries, and the rows left
//   over form one shorter span. The inner loops stay long and vectorized
//   even for C = 3.
// - C > kTile: a span is a tile of at most kTile channels of one row.
int64_t span_length(int64_t C) {
  const int64_t lcm = C / std::gcd(C, kVector) * kVector;
  return lcm <= kTile ? kTile / lcm * lcm : kTile / C * C;
}

struct Tile {
  int64_t c0, len, C;  // first channel, array length, channel count
  Tile(int64_t c0_, int64_t C_) : c0(c0_), len(C_ <= kTile ? span_length(C_) : std::min(kTile, C_ - c0_)), C(C_) {}
  int64_t channel(int64_t j) const { return c0 + (C <= kTile ? j % C : j); }
};

// Calls f(offset, stride, count, width) for the spans of rows [r0, r0 + rows)
// in tile t: count spans of width elements, stride apart, from x + offset.
template <class F>
void for_each_span(const Tile& t, int64_t r0, int64_t rows, F&& f) {
  if (t.C > kTile) return f(r0 * t.C + t.c0, t.C, rows, t.len);
  const int64_t elems = rows * t.C, full = elems / t.len, rest = elems - full * t.len;
  if (full) f(r0 * t.C, t.len, full, t.len);
  if (rest) f(r0 * t.C + full * t.len, t.len, 1, rest);
}

// Folds tile accumulators acc[len] into per-channel sums out[C] (tile t's channels).
void fold_tile(const Tile& t, const double* acc, double* out) {
  if (t.C > kTile) return (void)std::copy(acc, acc + t.len, out + t.c0);
  std::copy(acc, acc + t.C, out);
  for (int64_t j = t.C; j < t.len; ++j) out[j % t.C] += acc[j];
}

// a1[j] += sum_s (x[s, j] - k[j]), a2[j] += sum_s (x[s, j] - k[j])^2 over count spans.
template <class T>
FASTNN_SIMD_CLONES void shifted_sums(const T* __restrict x, int64_t stride, int64_t count, int64_t width,
                                     const double* __restrict k, double* __restrict a1, double* __restrict a2) {
  for (int64_t s = 0; s < count; ++s) {
    const T* xs = x + s * stride;
    for (int64_t j = 0; j < width; ++j) {
      const double d = double(xs[j]) - k[j];
      a1[j] += d;
      a2[j] += d * d;
    }
  }
}

// a1[j] += sum_s g[s, j], a2[j] += sum_s g[s, j] * (x[s, j] - m[j]), with
// g = dy, or (Relu) dy where the forward's z = (x - zm) za + zb is > 0.
template <bool Relu, class T>
FASTNN_SIMD_CLONES void grad_sums(const T* __restrict x, const T* __restrict dy, int64_t stride, int64_t count,
                                  int64_t width, const double* __restrict m, const T* __restrict zm,
                                  const T* __restrict za, const T* __restrict zb, double* __restrict a1,
                                  double* __restrict a2) {
  for (int64_t s = 0; s < count; ++s) {
    const T *xs = x + s * stride, *dys = dy + s * stride;
    for (int64_t j = 0; j < width; ++j) {
      const double g = Relu ? batchnorm_relu_gate(xs[j], dys[j], zm[j], za[j], zb[j]) : dys[j];
      a1[j] += g;
      a2[j] += g * (double(xs[j]) - m[j]);
    }
  }
}

// out = (x - m) * a + b0 over count spans (then max(., 0) if Relu). The
// mean is passed as m in T and the rounding error of m folded into b0:
// x - m is exact or nearly so for x near the mean, where a float32 mean of
// 1e4 would otherwise lose 5e-4 of a standard deviation in (x - mean) or in
// x * a - mean * a.
template <bool Relu, class T>
FASTNN_SIMD_CLONES void affine_spans(const T* x, T* out, int64_t stride, int64_t count, int64_t width,
                                     const T* __restrict m, const T* __restrict a, const T* __restrict b0) {
  for (int64_t s = 0; s < count; ++s) {
    const T* xs = x + s * stride;
    T* ys = out + s * stride;
    for (int64_t j = 0; j < width; ++j) ys[j] = batchnorm_activate<Relu>(batchnorm_affine(xs[j], m[j], a[j], b0[j]));
  }
}

// dx = k * g + b * (x - m) + c0 over count spans (m as in affine_spans), g
// as in grad_sums.
template <bool Relu, class T>
FASTNN_SIMD_CLONES void grad_spans(const T* x, const T* dy, T* dx, int64_t stride, int64_t count, int64_t width,
                                   const T* __restrict m, const T* __restrict k, const T* __restrict b,
                                   const T* __restrict c0, const T* __restrict zm, const T* __restrict za,
                                   const T* __restrict zb) {
  for (int64_t s = 0; s < count; ++s) {
    const T *xs = x + s * stride, *dys = dy + s * stride;
    T* dxs = dx + s * stride;
    for (int64_t j = 0; j < width; ++j) {
      const T g = Relu ? batchnorm_relu_gate(xs[j], dys[j], zm[j], za[j], zb[j]) : dys[j];
      dxs[j] = batchnorm_grad(xs[j], g, m[j], k[j], b[j], c0[j]);
    }
  }
}

// Each block's per-channel pair of sums (2 * C doubles) goes to
// workspace[b * 2C]; `sums(tile, r0, rows, a1, a2)` accumulates one tile.
template <class F>
void block_partials(const RowBlocks& blocks, int64_t M, int64_t C, double* workspace, Share share, F&& sums) {
  double a1[kTile], a2[kTile];
  for (int64_t b = share.lo; b < share.hi; ++b)
    for (int64_t c0 = 0; c0 < C; c0 += kTile) {
      const Tile t(c0, C);
      std::fill(a1, a1 + t.len, 0.0);
      std::fill(a2, a2 + t.len, 0.0);
      sums(t, blocks.first(b), blocks.size(b, M), a1, a2);
      fold_tile(t, a1, workspace + b * 2 * C);
      fold_tile(t, a2, workspace + b * 2 * C + C);
    }
}

// Adds the blocks' partial sums in block order into workspace[0, 2C).
void reduce_partials(const RowBlocks& blocks, int64_t C, double* workspace) {
  for (int64_t b = 1; b < blocks.count; ++b) {
    const double* s = workspace + b * 2 * C;
    for (int64_t c = 0; c < 2 * C; ++c) workspace[c] += s[c];
  }
}


// y = (x - m) a + b0 (then max(., 0) if Relu) per channel over blocks
// [lo, hi) (in reverse when `reverse`, so a thread starts with the blocks
// still in its cache), with `affine(c)` giving channel c's BatchnormAffine,
// computed once per tile.
template <bool Relu, class T, class Affine>
void apply_affine(const T* x, T* y, const RowBlocks& blocks, int64_t M, int64_t C, Share share, bool reverse,
                  Affine&& affine) {
  T m[kTile], a[kTile], b0[kTile];
  int64_t tile_c0 = -1;
  for (int64_t i = 0; i < share.hi - share.lo; ++i) {
    const int64_t b = reverse ? share.hi - 1 - i : share.lo + i;
    for (int64_t c0 = 0; c0 < C; c0 += kTile) {
      const Tile t(c0, C);
      if (c0 != tile_c0) {
        for (int64_t j = 0; j < t.len; ++j) {
          const BatchnormAffine<T> f = affine(t.channel(j));
          m[j] = f.m;
          a[j] = f.a;
          b0[j] = f.b0;
        }
        tile_c0 = c0;
      }
      for_each_span(t, blocks.first(b), blocks.size(b, M),
                    [&](int64_t off, int64_t stride, int64_t count, int64_t width) {
                      affine_spans<Relu>(x + off, y + off, stride, count, width, m, a, b0);
                    });
    }
  }
}

// The forward's affine map of each channel of tile t (Relu's mask), into zm, za, zb.
template <class T>
void train_affine_tile(const Tile& t, const T* gamma, const T* beta, const double* mean, const double* inv_std,
                       T* zm, T* za, T* zb) {
  for (int64_t j = 0; j < t.len; ++j) {
    const int64_t c = t.channel(j);
    const BatchnormAffine<T> f = batchnorm_train_affine(gamma[c], beta[c], mean[c], inv_std[c]);
    zm[j] = f.m;
    za[j] = f.a;
    zb[j] = f.b0;
  }
}

// dx = k g + b (x - m) + c0 (common/batchnorm_math.h; g = dy, or dy masked
// by the forward's ReLU, which needs beta) over blocks [lo, hi) in reverse
// (as in the forward pass), from the totals sum(g) = sums[c] and
// sum(g (x - mean)) = sums[C + c] over M_total rows.
template <bool Relu, class T>
void apply_grad(const T* x, const T* gamma, const T* beta, const T* dy, const double* mean, const double* inv_std,
                const double* sums, double M_total, T* dx, const RowBlocks& blocks, int64_t M, int64_t C,
                Share share) {
  T m[kTile], k[kTile], bc[kTile], cc[kTile], zm[kTile], za[kTile], zb[kTile];
  int64_t tile_c0 = -1;
  for (int64_t b = share.hi - 1; b >= share.lo; --b)
    for (int64_t c0 = 0; c0 < C; c0 += kTile) {
      const Tile t(c0, C);
      if (c0 != tile_c0) {
        for (int64_t j = 0; j < t.len; ++j) {
          const int64_t c = t.channel(j);
          const BatchnormGrad<T> g =
              batchnorm_grad_coefficients(gamma[c], mean[c], inv_std[c], sums[c], sums[C + c], M_total);
          m[j] = g.m;
          k[j] = g.k;
          bc[j] = g.b;
          cc[j] = g.c0;
        }
        if constexpr (Relu) train_affine_tile(t, gamma, beta, mean, inv_std, zm, za, zb);
        tile_c0 = c0;
      }
      for_each_span(t, blocks.first(b), blocks.size(b, M),
                    [&](int64_t off, int64_t stride, int64_t count, int64_t width) {
                      grad_spans<Relu>(x + off, dy + off, dx + off, stride, count, width, m, k, bc, cc, zm, za, zb);
                    });
    }
}

}  // namespace

int64_t batchnorm_workspace_size(Cpu, int64_t M, int64_t C) {
  return M > 0 && C > 0 ? RowBlocks(M, C).count * 2 * C : 0;
}

template <class T>
void batchnorm_forward_train(Cpu, const T* x, const T* gamma, const T* beta, T* running_mean, T* running_var, T* y,
                             double* save_mean, double* save_inv_std, double* workspace, double momentum,
                             double eps, int64_t M, int64_t C, bool relu) {
  const RowBlocks blocks(M, C);
#pragma omp parallel if (M * C > kParallelMin)
  {
    const Share share = thread_share(blocks.count);
    block_partials(blocks, M, C, workspace, share, [&](const Tile& t, int64_t r0, int64_t rows, double* a1,
                                                       double* a2) {
      double k[kTile];  // the shift: row 0
      for (int64_t j = 0; j < t.len; ++j) k[j] = x[t.channel(j)];
      for_each_span(t, r0, rows, [&](int64_t off, int64_t stride, int64_t count, int64_t width) {
        shifted_sums(x + off, stride, count, width, k, a1, a2);
      });
    });
#pragma omp barrier
#pragma omp single
    {
      reduce_partials(blocks, C, workspace);
      for (int64_t c = 0; c < C; ++c) {
        const BatchnormStats s = batchnorm_stats(workspace[c], workspace[C + c], double(x[c]), double(M), eps);
        save_mean[c] = s.mean;
        save_inv_std[c] = s.inv_std;
        running_mean[c] = batchnorm_running(running_mean[c], s.mean, momentum);
        running_var[c] = batchnorm_running(running_var[c], s.var, momentum);
      }
    }
    // y = (x - m) a + (beta - (mean - m) a), a = gamma inv_std.
    const auto affine = [&](int64_t c) {
      return batchnorm_train_affine(gamma[c], beta[c], save_mean[c], save_inv_std[c]);
    };
    if (relu)
      apply_affine<true>(x, y, blocks, M, C, share, true, affine);
    else
      apply_affine<false>(x, y, blocks, M, C, share, true, affine);
  }
}

template <class T>
void batchnorm_forward_infer(Cpu, const T* x, const T* gamma, const T* beta, const T* running_mean,
                             const T* running_var, T* y, double eps, int64_t M, int64_t C, bool relu) {
  const RowBlocks blocks(M, C);
  const auto affine = [&](int64_t c) {
    return batchnorm_infer_affine(gamma[c], beta[c], running_mean[c], running_var[c], eps);
  };
#pragma omp parallel if (M * C > kParallelMin)
  {
    const Share share = thread_share(blocks.count);
    if (relu)
      apply_affine<true>(x, y, blocks, M, C, share, false, affine);
    else
      apply_affine<false>(x, y, blocks, M, C, share, false, affine);
  }
}

// dx = a dy through the inference forward's walk (apply_affine), with m = b0 = 0.
template <class T>
void batchnorm_inference_backward(Cpu, const T* dy, const T* gamma, const T* running_var, T* dx, double eps,
                                  int64_t M, int64_t C) {
  const RowBlocks blocks(M, C);
#pragma omp parallel if (M * C > kParallelMin)
  {
    apply_affine<false>(dy, dx, blocks, M, C, thread_share(blocks.count), false,
                 [&](int64_t c) { return batchnorm_infer_grad_affine(gamma[c], running_var[c], eps); });
  }
}

template <class T>
void batchnorm_backward(Cpu, const T* x, const T* gamma, const T* beta, const T* dy, const double* save_mean,
                        const double* save_inv_std, T* dx, T* dgamma, T* dbeta, double* workspace, int64_t M,
                        int64_t C, bool relu) {
  const RowBlocks blocks(M, C);
#pragma omp parallel if (M * C > kParallelMin)
  {
    const Share share = thread_share(blocks.count);
    block_partials(blocks, M, C, workspace, share, [&](const Tile& t, int64_t r0, int64_t rows, double* a1,
                                                       double* a2) {
      double m[kTile];
      T zm[kTile], za[kTile], zb[kTile];
      for (int64_t j = 0; j < t.len; ++j) m[j] = save_mean[t.channel(j)];
      if (relu) train_affine_tile(t, gamma, beta, save_mean, save_inv_std, zm, za, zb);
      for_each_span(t, r0, rows, [&](int64_t off, int64_t stride, int64_t count, int64_t width) {
        if (relu)
          grad_sums<true>(x + off, dy + off, stride, count, width, m, zm, za, zb, a1, a2);
        else
          grad_sums<false>(x + off, dy + off, stride, count, width, m, zm, za, zb, a1, a2);
      });
    });
#pragma omp barrier
#pragma omp single
    {
      reduce_partials(blocks, C, workspace);
      for (int64_t c = 0; c < C; ++c) {
        dbeta[c] = T(workspace[c]);
        dgamma[c] = T(workspace[C + c] * save_inv_std[c]);
      }
    }
    if (relu)
      apply_grad<true>(x, gamma, beta, dy, save_mean, save_inv_std, workspace, double(M), dx, blocks, M, C, share);
    else
      apply_grad<false>(x, gamma, beta, dy, save_mean, save_inv_std, workspace, double(M), dx, blocks, M, C, share);
  }
}

// -- the passes of a batch spread over several processes (synchronized batch norm) --

template <class T>
void batchnorm_sums(Cpu, const T* x, const double* shift, double* sums, double* workspace, int64_t M, int64_t C) {
  const RowBlocks blocks(M, C);
#pragma omp parallel if (M * C > kParallelMin)
  block_partials(blocks, M, C, workspace, thread_share(blocks.count), [&](const Tile& t, int64_t r0, int64_t rows,
                                                                          double* a1, double* a2) {
    double k[kTile];
    for (int64_t j = 0; j < t.len; ++j) k[j] = shift[t.channel(j)];
    for_each_span(t, r0, rows, [&](int64_t off, int64_t stride, int64_t count, int64_t width) {
      shifted_sums(x + off, stride, count, width, k, a1, a2);
    });
  });
  reduce_partials(blocks, C, workspace);
  std::copy(workspace, workspace + 2 * C, sums);
}

template <class T>
void batchnorm_apply(Cpu, const T* x, const T* gamma, const T* beta, const double* mean, const double* inv_std, T* y,
                     int64_t M, int64_t C) {
  const RowBlocks blocks(M, C);
#pragma omp parallel if (M * C > kParallelMin)
  apply_affine<false>(x, y, blocks, M, C, thread_share(blocks.count), false,
                      [&](int64_t c) { return batchnorm_train_affine(gamma[c], beta[c], mean[c], inv_std[c]); });
}

template <class T>
void batchnorm_grad_sums(Cpu, const T* x, const T* dy, const double* mean, double* sums, double* workspace, int64_t M,
                         int64_t C) {
  const RowBlocks blocks(M, C);
#pragma omp parallel if (M * C > kParallelMin)
  block_partials(blocks, M, C, workspace, thread_share(blocks.count), [&](const Tile& t, int64_t r0, int64_t rows,
                                                                          double* a1, double* a2) {
    double m[kTile];
    for (int64_t j = 0; j < t.len; ++j) m[j] = mean[t.channel(j)];
    for_each_span(t, r0, rows, [&](int64_t off, int64_t stride, int64_t count, int64_t width) {
      grad_sums<false, T>(x + off, dy + off, stride, count, width, m, nullptr, nullptr, nullptr, a1, a2);
    });
  });
  reduce_partials(blocks, C, workspace);
  std::copy(workspace, workspace + 2 * C, sums);
}

template <class T>
void batchnorm_grad_apply(Cpu, const T* x, const T* gamma, const T* dy, const double* mean, const double* inv_std,
                          const double* sums, double M_total, T* dx, int64_t M, int64_t C) {
  const RowBlocks blocks(M, C);
#pragma omp parallel if (M * C > kParallelMin)
  apply_grad<false, T>(x, gamma, nullptr, dy, mean, inv_std, sums, M_total, dx, blocks, M, C,
                       thread_share(blocks.count));
}

#define INSTANTIATE(T)                                                                                            \
  template void batchnorm_forward_train<T>(Cpu, const T*, const T*, const T*, T*, T*, T*, double*, double*,       \
                                           double*, double, double, int64_t, int64_t, bool);                     \
  template void batchnorm_forward_infer<T>(Cpu, const T*, const T*, const T*, const T*, const T*, T*, double,     \
                                           int64_t, int64_t, bool);                                               \
  template void batchnorm_inference_backward<T>(Cpu, const T*, const T*, const T*, T*, double, int64_t, int64_t); \
  template void batchnorm_backward<T>(Cpu, const T*, const T*, const T*, const T*, const double*, const double*,  \
                                      T*, T*, T*, double*, int64_t, int64_t, bool);                              \
  template void batchnorm_sums<T>(Cpu, const T*, const double*, double*, double*, int64_t, int64_t);              \
  template void batchnorm_apply<T>(Cpu, const T*, const T*, const T*, const double*, const double*, T*, int64_t,  \
                                   int64_t);                                                                      \
  template void batchnorm_grad_sums<T>(Cpu, const T*, const T*, const double*, double*, double*, int64_t,         \
                                       int64_t);                                                                  \
  template void batchnorm_grad_apply<T>(Cpu, const T*, const T*, const T*, const double*, const double*,          \
                                        const double*, double, T*, int64_t, int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
