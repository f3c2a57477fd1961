// Conv2D on the CPU for few output channels: the im2col GEMM with an
// implicit im2col and a register-blocked micro-kernel.
//
// Why: with C_out <= 16 the GEMM y = col(x) W is a few columns wide (N) and,
// with few input channels, a few rows deep (K = KH*KW*C_in, 9 for one
// channel). OpenBLAS runs such shapes far below the FMA rate, and the
// explicit column matrix is KH*KW times the input: on the lecture CNN's first
// layer (1 -> 10 channels) im2col + GEMM ran at ~1.5 GFLOP/s, bound by
// moving the column matrix, not by arithmetic.
//
// How: a column-matrix row is never written. Output pixel (oh, ow) reads its
// taps straight from the image, at a fixed offset per tap from the pixel's
// corner (koff[k], one table per call), so row r of col(x) is
// image + corner(r) + koff[.]: im2col becomes addressing. The image is zero
// padded into a per-thread buffer first when the window reaches outside it,
// so that every pixel is an interior one. The micro-kernel keeps an
// MR x NP block of y (MR output pixels, NP = C_out rounded up to 4, 8 or 16
// lanes, the padding lanes multiplying zero weights) in registers across
// all K taps, so each tap is one broadcast and MR vector FMAs; the bias and
// the activation are applied to those registers before the block is stored.
//
// Backward, per image: dW += col^T dy keeps KB x NP of dW in registers over
// the image's pixels; dx = col2im(dy W^T) adds each pixel's K-long row of
// dy W^T straight into the (padded) dx image, tap row by tap row (KW*C_in
// contiguous elements when the dilation along the width is 1). A thread owns
// whole images: dx needs no synchronization, dW and db are summed per thread
// and added in thread order (deterministic for a thread count), as in
// conv2d.cpp.
#include "conv2d_narrow.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "parallel.h"
#include "simd_clones.h"

namespace fastnn::cpu {
namespace {

constexpr int lanes(int n) { return n <= 4 ? 4 : n <= 8 ? 8 : 16; }

// Calls f(std::integral_constant<int, C_out>) for C_out in 1..kNarrowMaxCout.
template <class F, int... I>
void with_cout_impl(int64_t C_out, F&& f, std::integer_sequence<int, I...>) {
  ((C_out == I + 1 ? (f(std::integral_constant<int, I + 1>{}), 0) : 0), ...);
}
template <class F>
void with_cout(int64_t C_out, F&& f) {
  with_cout_impl(C_out, f, std::make_integer_sequence<int, int(kNarrowMaxCout)>{});
}

// The image as the kernels address it: zero padded when the window reaches
// outside it. Rows of W pixels; the origin is padded cell (0, 0), which is
// input cell (-pad_top, -pad_left).
struct Padded {
  int64_t H, W;
  bool needed;
  explicit Padded(const Window2d& g)
      : H(std::max(g.H + g.pad_top, (g.OH - 1) * g.sh + dilated_extent(g.KH, g.dh))),
        W(std::max(g.W + g.pad_left, (g.OW - 1) * g.sw + dilated_extent(g.KW, g.dw))),
        needed(g.pad_top > 0 || g.pad_left > 0 || H > g.H || W > g.W) {}
  int64_t elems(int64_t C) const { return needed ? H * W * C : 0; }
};

// With stride 1, dx is itself a narrow convolution: the correlation of dy,
// zero padded by the kernel's reach above and to the left, with the kernel
// flipped and its channel axes swapped (C_out in, C_in out). DyPadded is
// that padded dy: D[i][j] = dy[i - top][j - left], rows enough for every dx row.
struct DyPadded {
  int64_t top, left, H, W;
  explicit DyPadded(const Window2d& g)
      : top((g.KH - 1) * g.dh),
        left((g.KW - 1) * g.dw),
        H(g.pad_top + g.H + top),
        W(g.pad_left + g.W + left) {}
};

bool dx_by_correlation(const Window2d& g) { return g.sh == 1 && g.sw == 1; }

// Workspace layout: W packed K x NP (zero padded lanes) and the bias in NP
// lanes; for dx either the flipped kernel packed (K x lanes(C_in), and a zero
// bias) or W^T (C_out x K); per thread after the first a dW and a db copy;
// per thread its padded x and its dx scratch (padded dy or padded dx).
struct Layout {
  int64_t packed, for_dx, copies, per_thread;
  int threads;
  int64_t total() const { return packed + for_dx + (threads - 1) * copies + threads * per_thread; }
};

Layout layout(const Window2d& g, int64_t C_out, int threads) {
  const int64_t K = g.patch(), NP = lanes(int(C_out)), CP = lanes(int(g.C)), x_pad = Padded(g).elems(g.C);
  if (dx_by_correlation(g)) {
    const DyPadded d(g);
    const int64_t K_dx = g.KH * g.KW * C_out;  // the correlation's taps
    return {K * NP + NP, K_dx * CP + CP, K * C_out + C_out, x_pad + d.H * d.W * C_out, threads};
  }
  return {K * NP + NP, K * C_out, K * C_out + C_out, 2 * x_pad, threads};
}

// The most threads (at most one per image) whose layout fits the workspace; 0 if none.
int fit_threads(const Window2d& g, int64_t C_out, int64_t workspace_elems) {
  for (int t = int(std::min<int64_t>(max_threads(), g.N)); t >= 1; --t)
    if (layout(g, C_out, t).total() <= workspace_elems) return t;
  return 0;
}

// koff[k], k = (kh, kw, c): where tap k of a pixel lies from the pixel's
// corner, in an image of rows of row_elems elements and C channels.
std::vector<int64_t> tap_offsets(int64_t KH, int64_t KW, int64_t C, int64_t dh, int64_t dw, int64_t row_elems) {
  std::vector<int64_t> koff(KH * KW * C);
  for (int64_t kh = 0, k = 0; kh < KH; ++kh)
    for (int64_t kw = 0; kw < KW; ++kw)
      for (int64_t c = 0; c < C; ++c) koff[k++] = kh * dh * row_elems + kw * dw * C + c;
  return koff;
}

// Image n of x, or its zero-padded copy in `buffer` (whose border is zero
// already: only the interior is written).
template <class T>
const T* image_of(const T* x, const Window2d& g, const Padded& p, int64_t n, T* buffer) {
  const T* image = x + n * g.H * g.W * g.C;
  if (!p.needed) return image;
  for (int64_t ih = 0; ih < g.H; ++ih)
    std::copy(image + ih * g.W * g.C, image + (ih + 1) * g.W * g.C,
              buffer + ((ih + g.pad_top) * p.W + g.pad_left) * g.C);
  return buffer;
}

// Packs a (K x n) row-major matrix into K x lanes(n), zero padded.
template <class T>
void pack(const T* src, int64_t K, int64_t n, T* dst) {
  const int64_t np = lanes(int(n));
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < np; ++j) dst[k * np + j] = j < n ? src[k * n + j] : T(0);
}

// NP lanes of T as one GCC vector: the clones lower it to one or two
// registers of their width (written out, since the compiler's own
// vectorization of the same loops kept the block in memory).
template <class T, int NP>
struct Lanes {
  typedef T type __attribute__((vector_size(NP * sizeof(T))));
};

// ---- the micro-kernel ---------------------------------------------------------------

// activate<F> on the lanes of v, kept in registers. GCC leaves a lane loop
// through activate<F> scalar (measured: the first CNN layer's forward 2x
// slower with relu), so ReLU and leaky ReLU, the selects of activate<F>, are
// written on the vector; the others, whose exponentials dominate, go lane by
// lane through activate<F> in an omp simd loop, which vectorizes.
template <Activation F, class T, class V>
__attribute__((always_inline)) inline void activate_lanes(V& v, T alpha) {
  if constexpr (F == Activation::Relu) {
    v = v <= V{} ? V{} : v;  // NaN stays NaN, as in activate<Relu>
  } else if constexpr (F == Activation::LeakyRelu) {
    v = v > V{} ? v : alpha * v;
  } else if constexpr (F != Activation::Linear) {
    constexpr int NP = sizeof(V) / sizeof(T);
    T lanes_[NP];
    std::memcpy(lanes_, &v, sizeof(V));
#pragma omp simd
    for (int j = 0; j < NP; ++j) lanes_[j] = activate<F>(lanes_[j], alpha);
    std::memcpy(&v, lanes_, sizeof(V));
  }
}

// One pass of the implicit-im2col GEMM: out (rows x cols pixels of N
// channels, dense) = bias + sum_k in[corner + koff[k]] Wp[k], the corner of
// pixel (r, c) being r * row_step + c * col_step.
struct Pass {
  int64_t rows, cols, row_step, col_step, K;
  const int64_t* koff;
};

// MR consecutive pixels of a row: an MR x NP block of out in registers over
// all K taps, stored as f(block) (the activation applied to the registers, so
// y is written once). Pixels are stored NP lanes wide, in order: the lanes
// past N land in the slots of the pixels after it, which their own stores
// (later in this pass) overwrite; only where that would write past out_end
// (the end of the image's output: its last pixels) is a store N lanes wide.
// (GCC compiles an N-lane store from a register through the stack, and
// reloading a just-stored vector part stalls: the first CNN layer's forward
// with relu ran 2x slower.)
template <class T, int N, int MR, Activation F>
__attribute__((always_inline)) inline void pass_block(const T* __restrict a, const Pass& p, const T* __restrict Wp,
                                                      const T* __restrict bias, T alpha, T* __restrict out,
                                                      const T* out_end) {
  constexpr int NP = lanes(N);
  using V = typename Lanes<T, NP>::type;
  V acc[MR];
  V b;
  std::memcpy(&b, bias, sizeof(V));
  for (int r = 0; r < MR; ++r) acc[r] = b;
  const int64_t step = p.col_step;
  for (int64_t k = 0; k < p.K; ++k) {
    const T* ak = a + p.koff[k];
    V w;
    std::memcpy(&w, Wp + k * NP, sizeof(V));
    for (int r = 0; r < MR; ++r) acc[r] += ak[r * step] * w;
  }
  for (int r = 0; r < MR; ++r) {
    activate_lanes<F>(acc[r], alpha);
    T* o = out + r * N;
    if (N == NP || o + NP <= out_end)
      std::memcpy(o, &acc[r], sizeof(V));
    else
      std::memcpy(o, &acc[r], N * sizeof(T));
  }
}

template <class T, int N, Activation F>
FASTNN_SIMD_CLONES_AVX512 void run_pass(const T* in, const Pass& p, const T* Wp, const T* bias, T alpha, T* out) {
  const T* end = out + p.rows * p.cols * N;
  for (int64_t r = 0; r < p.rows; ++r) {
    const T* a = in + r * p.row_step;
    T* o = out + r * p.cols * N;
    int64_t c = 0;
    for (; c + 8 <= p.cols; c += 8) pass_block<T, N, 8, F>(a + c * p.col_step, p, Wp, bias, alpha, o + c * N, end);
    for (; c + 4 <= p.cols; c += 4) pass_block<T, N, 4, F>(a + c * p.col_step, p, Wp, bias, alpha, o + c * N, end);
    for (; c < p.cols; ++c) pass_block<T, N, 1, F>(a + c * p.col_step, p, Wp, bias, alpha, o + c * N, end);
  }
}

// ---- backward ---------------------------------------------------------------------

// dW[k0 .. k0 + KB) += sum over the image's pixels of a[koff[k]] dy[pixel].
// dy rows are read NP lanes wide (the lanes past N, the next pixel's, land
// in accumulator lanes that are never stored) except where that would read
// past dy_end.
template <class T, int N, int KB>
__attribute__((always_inline)) inline void weight_grad_block(const T* __restrict image, int64_t row_stride,
                                                             const Window2d& g, const int64_t* __restrict koff,
                                                             const T* __restrict dy, const T* dy_end,
                                                             T* __restrict dW) {
  constexpr int NP = lanes(N);
  using V = typename Lanes<T, NP>::type;
  V acc[KB] = {};
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    const T* a_row = image + oh * g.sh * row_stride;
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const T* a = a_row + ow * g.sw * g.C;
      const T* src = dy + (oh * g.OW + ow) * N;
      V d;
      if (src + NP <= dy_end) {
        std::memcpy(&d, src, sizeof(V));
      } else {
        T lanes_[NP] = {};
        std::copy(src, src + N, lanes_);
        std::memcpy(&d, lanes_, sizeof(V));
      }
      for (int kb = 0; kb < KB; ++kb) acc[kb] += a[koff[kb]] * d;
    }
  }
  for (int kb = 0; kb < KB; ++kb) {
    T sums[NP];
    std::memcpy(sums, &acc[kb], sizeof(V));
    for (int j = 0; j < N; ++j) dW[kb * N + j] += sums[j];
  }
}

template <class T, int N>
FASTNN_SIMD_CLONES_AVX512 void weight_grad_image(const T* image, int64_t row_stride, const Window2d& g,
                                                 const int64_t* koff, const T* dy, const T* dy_end, T* dW, T* db) {
  const int64_t K = g.patch();
  int64_t k = 0;
  // Blocks of 9 first: every 3x3 kernel's K is a multiple of it, one pass per 9 taps.
  for (; k + 9 <= K; k += 9) weight_grad_block<T, N, 9>(image, row_stride, g, koff + k, dy, dy_end, dW + k * N);
  for (; k + 8 <= K; k += 8) weight_grad_block<T, N, 8>(image, row_stride, g, koff + k, dy, dy_end, dW + k * N);
  for (; k + 4 <= K; k += 4) weight_grad_block<T, N, 4>(image, row_stride, g, koff + k, dy, dy_end, dW + k * N);
  for (; k < K; ++k) weight_grad_block<T, N, 1>(image, row_stride, g, koff + k, dy, dy_end, dW + k * N);
  if (db) {
    T sum[N] = {};
    for (int64_t p = 0; p < g.OH * g.OW; ++p)
      for (int j = 0; j < N; ++j) sum[j] += dy[p * N + j];
    for (int j = 0; j < N; ++j) db[j] += sum[j];
  }
}

// Strided windows: dx image (padded layout, cleared) += col2im(dy W^T) of
// one image, pixel by pixel; Wt is W^T (N x K).
template <class T, int N>
FASTNN_SIMD_CLONES_AVX512 void input_grad_scatter(const T* dy, const T* Wt, T* dx, int64_t row_stride,
                                                  const Window2d& g) {
  const int64_t K = g.patch(), KWC = g.KW * g.C;
  // Taps adjacent along the width: a kernel row is one contiguous run.
  const int64_t run = g.dw == 1 ? KWC : g.C, runs = g.dw == 1 ? 1 : g.KW;
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      const T* d = dy + (oh * g.OW + ow) * N;
      T dv[N];
      for (int j = 0; j < N; ++j) dv[j] = d[j];
      T* corner = dx + oh * g.sh * row_stride + ow * g.sw * g.C;
      for (int64_t kh = 0; kh < g.KH; ++kh)
        for (int64_t q = 0; q < runs; ++q) {
          T* __restrict out = corner + kh * g.dh * row_stride + q * g.dw * g.C;
          const T* __restrict w = Wt + kh * KWC + q * g.C;
          for (int64_t i = 0; i < run; ++i) {
            T s = T(0);
            for (int j = 0; j < N; ++j) s += dv[j] * w[j * K + i];
            out[i] += s;
          }
        }
    }
}

}  // namespace

bool conv2d_narrow_applies(const Window2d& g, int64_t C_out) {
  return C_out <= kNarrowMaxCout && g.C <= kNarrowMaxCout;
}

int64_t conv2d_narrow_workspace_elems(const Window2d& g, int64_t C_out, int threads) {
  return layout(g, C_out, std::max(1, int(std::min<int64_t>(threads, g.N)))).total();
}

template <class T>
bool conv2d_narrow_forward(const T* x, const T* W, const T* b, T* y, const Window2d& g, int64_t C_out, T* workspace,
                           int64_t workspace_elems, Activation f, T alpha) {
  if (!conv2d_narrow_applies(g, C_out)) return false;
  const int threads = fit_threads(g, C_out, workspace_elems);
  if (threads == 0) return false;
  const Layout L = layout(g, C_out, threads);
  const Padded p(g);
  const int64_t K = g.patch(), NP = lanes(int(C_out));
  T* Wp = workspace;
  T* bias = Wp + K * NP;
  pack(W, K, C_out, Wp);
  for (int64_t j = 0; j < NP; ++j) bias[j] = b && j < C_out ? b[j] : T(0);
  const std::vector<int64_t> koff = tap_offsets(g.KH, g.KW, g.C, g.dh, g.dw, p.W * g.C);
  const Pass pass{g.OH, g.OW, g.sh * p.W * g.C, g.sw * g.C, K, koff.data()};
  T* buffers = workspace + L.packed + L.for_dx + (threads - 1) * L.copies;
  with_cout(C_out, [&](auto n_) {
    constexpr int N = decltype(n_)::value;
    dispatch_activation(f, [&](auto f_) {
      constexpr Activation F = decltype(f_)::value;
      for_each_thread(threads, g.N, [&](int t, int64_t first, int64_t end) {
        T* buffer = buffers + t * L.per_thread;
        std::fill(buffer, buffer + p.elems(g.C), T(0));
        for (int64_t n = first; n < end; ++n)
          run_pass<T, N, F>(image_of(x, g, p, n, buffer), pass, Wp, bias, alpha, y + n * g.out_pixels() * N);
      });
    });
  });
  return true;
}

template <class T>
bool conv2d_narrow_backward(const T* x, const T* W, const T* dy, T* dx, T* dW, T* db, const Window2d& g,
                            int64_t C_out, T* workspace, int64_t workspace_elems) {
  if (!conv2d_narrow_applies(g, C_out)) return false;
  const int threads = fit_threads(g, C_out, workspace_elems);
  if (threads == 0) return false;
  const Layout L = layout(g, C_out, threads);
  const Padded p(g);
  const DyPadded d(g);
  const bool correlate = dx_by_correlation(g);
  const int64_t K = g.patch(), image_elems = g.H * g.W * g.C, x_pad = p.elems(g.C);
  const int64_t P = g.out_pixels(), CP = lanes(int(g.C)), K_dx = g.KH * g.KW * C_out;
  // dx's kernel: by correlation the flipped W with C_in and C_out swapped,
  // packed (k' = (kh', kw', j) for tap (KH-1-kh', KW-1-kw'), lanes c), and a
  // zero bias; else W^T.
  T* for_dx = workspace + L.packed;
  if (correlate) {
    for (int64_t kh = 0, k = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw)
        for (int64_t j = 0; j < C_out; ++j, ++k)
          for (int64_t c = 0; c < CP; ++c)
            for_dx[k * CP + c] =
                c < g.C ? W[(((g.KH - 1 - kh) * g.KW + (g.KW - 1 - kw)) * g.C + c) * C_out + j] : T(0);
    std::fill(for_dx + K_dx * CP, for_dx + K_dx * CP + CP, T(0));
  } else {
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < C_out; ++j) for_dx[j * K + k] = W[k * C_out + j];
  }
  T* copies = for_dx + L.for_dx;  // thread t > 0: dW copy, then db copy
  T* buffers = copies + (threads - 1) * L.copies;
  const std::vector<int64_t> koff = tap_offsets(g.KH, g.KW, g.C, g.dh, g.dw, p.W * g.C);
  const std::vector<int64_t> dy_koff = tap_offsets(g.KH, g.KW, C_out, g.dh, g.dw, d.W * C_out);
  const Pass dx_pass{g.H, g.W, d.W * C_out, C_out, K_dx, dy_koff.data()};
  const T* dy_end = dy + g.N * P * C_out;
  int team = 1;
  with_cout(C_out, [&](auto n_) {
    constexpr int N = decltype(n_)::value;
    team = for_each_thread(threads, g.N, [&](int t, int64_t first, int64_t end) {
      T* dW_t = t == 0 ? dW : copies + (t - 1) * L.copies;
      T* db_t = !db ? nullptr : t == 0 ? db : copies + (t - 1) * L.copies + K * N;
      std::fill(dW_t, dW_t + K * N, T(0));
      if (db_t) std::fill(db_t, db_t + N, T(0));
      T* x_buffer = buffers + t * L.per_thread;
      T* dx_buffer = x_buffer + x_pad;
      std::fill(x_buffer, x_buffer + x_pad, T(0));
      if (correlate && dx) std::fill(dx_buffer, dx_buffer + d.H * d.W * N, T(0));
      for (int64_t n = first; n < end; ++n) {
        const T* dy_n = dy + n * P * N;
        weight_grad_image<T, N>(image_of(x, g, p, n, x_buffer), p.W * g.C, g, koff.data(), dy_n, dy_end, dW_t,
                                db_t);
        if (!dx) continue;
        T* dx_n = dx + n * image_elems;
        if (correlate) {  // dy into the interior of the padded dy (its border stays zero)
          for (int64_t oh = 0; oh < std::min(g.OH, d.H - d.top); ++oh) {
            const int64_t cols = std::min(g.OW, d.W - d.left);
            std::copy(dy_n + oh * g.OW * N, dy_n + (oh * g.OW + cols) * N,
                      dx_buffer + ((oh + d.top) * d.W + d.left) * N);
          }
          with_cout(g.C, [&](auto c_) {
            constexpr int C = decltype(c_)::value;
            run_pass<T, C, Activation::Linear>(dx_buffer + (g.pad_top * d.W + g.pad_left) * N, dx_pass, for_dx,
                                               for_dx + K_dx * CP, T(0), dx_n);
          });
          continue;
        }
        T* target = p.needed ? dx_buffer : dx_n;
        std::fill(target, target + (p.needed ? x_pad : image_elems), T(0));
        input_grad_scatter<T, N>(dy_n, for_dx, target, p.W * g.C, g);
        if (p.needed)
          for (int64_t ih = 0; ih < g.H; ++ih) {
            const T* src = dx_buffer + ((ih + g.pad_top) * p.W + g.pad_left) * g.C;
            std::copy(src, src + g.W * g.C, dx_n + ih * g.W * g.C);
          }
      }
    });
  });
  // Thread sums are added in thread order: deterministic for a thread count.
  for (int t = 1; t < team; ++t) {
    const T* copy = copies + (t - 1) * L.copies;
    for (int64_t i = 0; i < K * C_out; ++i) dW[i] += copy[i];
    if (db)
      for (int64_t j = 0; j < C_out; ++j) db[j] += copy[K * C_out + j];
  }
  return true;
}

#define INSTANTIATE(T)                                                                                          \
  template bool conv2d_narrow_forward<T>(const T*, const T*, const T*, T*, const Window2d&, int64_t, T*, int64_t, \
                                         Activation, T);                                                         \
  template bool conv2d_narrow_backward<T>(const T*, const T*, const T*, T*, T*, T*, const Window2d&, int64_t, T*, \
                                          int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn::cpu
