// Conv2D on the CPU: im2col + GEMM, parallel over pieces of the batch.
//
// Performance idea: each thread im2cols a piece of at most kPieceBytes (a
// few hundred output pixels) into its own slice of the workspace and runs a
// single-threaded GEMM on it at once, while the piece is still in its L2
// cache. This beats building a large column matrix and running one threaded
// GEMM on it, which streams the matrix through memory (and, with a pthreads
// OpenBLAS, pays for handing the cores back and forth between OpenMP and
// OpenBLAS threads at every chunk).
//
// Backward, per piece: im2col(x) feeds dW += col^T dy; the same slice then
// takes dcol = dy W^T, which col2im gathers into dx. A thread owns whole
// images, so its col2im needs no synchronization; each thread sums its dW
// into a private copy, and the copies are added in thread order at the end
// (deterministic for a given thread count).
#include "../ops/conv2d.h"

#include <algorithm>
#include <mutex>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "../ops/dense.h"
#include "../ops/im2col.h"
#include "blas.h"

namespace fastnn {
namespace {

// A piece of the column matrix: small enough to stay in L2 (1 MiB per core
// on current x86 cores) beside OpenBLAS's packed panels.
constexpr int64_t kPieceBytes = 512 << 10;

int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// How a workspace is shared: `threads` slices of `rows` column-matrix rows,
// then (backward only) threads - 1 private dW copies of K * C_out.
struct Plan {
  int threads = 0;
  int64_t rows = 0;
};

Plan make_plan(const Window2d& g, int64_t C_out, int64_t elem_bytes, int64_t workspace_elems, bool backward) {
  const int64_t K = g.patch(), total_rows = g.N * g.out_pixels();
  const int64_t dW_copy = backward ? K * C_out : 0;
  const int64_t target = std::clamp<int64_t>(kPieceBytes / (K * elem_bytes), 1, total_rows);
  for (int t = max_threads(); t >= 1; --t) {
    const int64_t avail = workspace_elems - (t - 1) * dW_copy;
    if (avail >= t * K) return {t, std::min(target, avail / (t * K))};
  }
  return {};
}

// OpenBLAS's thread count is process-wide and a pthreads OpenBLAS called
// inside an OpenMP region still starts its own threads (it only prints a
// warning), so while conv kernels run their per-thread GEMMs it is held at 1.
// Counted, so concurrent kernels restore the caller's setting only when the
// last one leaves.
class SerialBlas {
 public:
  SerialBlas() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (depth_++ == 0) {
      saved_ = scipy_openblas_get_num_threads();
      scipy_openblas_set_num_threads(1);
    }
  }
  ~SerialBlas() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--depth_ == 0) scipy_openblas_set_num_threads(saved_);
  }
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;

 private:
  static inline std::mutex mutex_;
  static inline int depth_ = 0;
  static inline int saved_ = 1;
};

// Runs body(thread, first_unit, end_unit) on `threads` threads, each taking
// a contiguous run of the units. One thread runs inline, leaving OpenBLAS
// free to thread its GEMMs.
template <class F>
void for_each_thread(int threads, int64_t units, F&& body) {
  if (threads <= 1) {
    body(0, int64_t(0), units);
    return;
  }
  SerialBlas serial;
#pragma omp parallel num_threads(threads)
  {
    const int t = thread_id();
    body(t, t * units / threads, (t + 1) * units / threads);
  }
}

}  // namespace

int64_t conv2d_workspace_elems(Cpu, const Window2d& g, int64_t C_out, int64_t elem_bytes, int64_t max_bytes) {
  if (conv2d_is_pointwise(g)) return 0;
  const int64_t K = g.patch(), total_rows = g.N * g.out_pixels();
  const int64_t rows = std::clamp<int64_t>(kPieceBytes / (K * elem_bytes), 1, total_rows);
  const int64_t budget = std::max(max_bytes / elem_bytes, K);  // one row always fits
  for (int t = max_threads(); t >= 1; --t) {
    const int64_t want = t * rows * K + (t - 1) * K * C_out;
    if (want <= budget) return want;
    const int64_t fit = (budget - (t - 1) * K * C_out) / (t * K);  // fewer rows per piece
    if (fit >= 1) return t * fit * K + (t - 1) * K * C_out;
  }
  return K;
}

template <class T>
void conv2d_forward(Cpu, const T* x, const T* W, const T* b, T* y, const Window2d& g, int64_t C_out,
                    T* workspace, int64_t workspace_elems) {
  const int64_t K = g.patch(), total_rows = g.N * g.out_pixels();
  if (conv2d_is_pointwise(g)) return dense_forward(Cpu{}, x, W, b, y, total_rows, g.C, C_out);
  const Plan plan = make_plan(g, C_out, sizeof(T), workspace_elems, false);
  const int64_t pieces = (total_rows + plan.rows - 1) / plan.rows;
  const int threads = int(std::min<int64_t>(plan.threads, pieces));
  for_each_thread(threads, pieces, [&](int t, int64_t first, int64_t end) {
    T* col = workspace + t * plan.rows * K;
    for (int64_t piece = first; piece < end; ++piece) {
      const int64_t r0 = piece * plan.rows, rows = std::min(plan.rows, total_rows - r0);
      T* out = y + r0 * C_out;
      im2col(Cpu{}, x, col, g, r0, r0 + rows);
      if (b)
        for (int64_t r = 0; r < rows; ++r) std::copy(b, b + C_out, out + r * C_out);
      cpu::gemm(false, false, rows, C_out, K, T(1), col, K, W, C_out, b ? T(1) : T(0), out, C_out);
    }
  });
}

template <class T>
void conv2d_backward(Cpu, const T* x, const T* W, const T* dy, T* dx, T* dW, T* db, const Window2d& g,
                     int64_t C_out, T* workspace, int64_t workspace_elems) {
  const int64_t K = g.patch(), P = g.out_pixels(), total_rows = g.N * P;
  if (conv2d_is_pointwise(g)) return dense_backward(Cpu{}, x, W, dy, dx, dW, db, total_rows, g.C, C_out);
  const Plan plan = make_plan(g, C_out, sizeof(T), workspace_elems, true);
  // A unit is what one thread owns: `images` whole images, cut into pieces
  // of at most plan.rows rows (several images per piece when they are small,
  // several pieces per image when it is large).
  int64_t images = 1, piece_rows = P;
  if (P <= plan.rows) {
    images = std::clamp<int64_t>(plan.rows / P, 1, (g.N + plan.threads - 1) / plan.threads);
    piece_rows = images * P;
  } else {
    const int64_t pieces_per_image = (P + plan.rows - 1) / plan.rows;
    piece_rows = (P + pieces_per_image - 1) / pieces_per_image;
  }
  const int64_t units = (g.N + images - 1) / images;
  const int threads = int(std::min<int64_t>(plan.threads, units));
  T* dW_copies = workspace + threads * plan.rows * K;  // thread t > 0 sums into copy t - 1

  for_each_thread(threads, units, [&](int t, int64_t first, int64_t end) {
    T* col = workspace + t * plan.rows * K;
    T* dW_acc = t == 0 ? dW : dW_copies + (t - 1) * K * C_out;
    bool dW_started = false;
    for (int64_t unit = first; unit < end; ++unit) {
      const int64_t n0 = unit * images, n1 = std::min(g.N, n0 + images);
      const int64_t unit_rows = (n1 - n0) * P;
      for (int64_t p0 = 0; p0 < unit_rows; p0 += piece_rows) {
        const int64_t rows = std::min(piece_rows, unit_rows - p0), r0 = n0 * P + p0;
        const T* dy_piece = dy + r0 * C_out;
        im2col(Cpu{}, x, col, g, r0, r0 + rows);
        cpu::gemm(true, false, K, C_out, rows, T(1), col, K, dy_piece, C_out, dW_started ? T(1) : T(0), dW_acc,
                  C_out);
        dW_started = true;
        if (!dx) continue;
        cpu::gemm(false, true, rows, K, C_out, T(1), dy_piece, C_out, W, C_out, T(0), col, K);
        if (rows == unit_rows) {  // whole images: write every dx pixel
          for (int64_t n = n0; n < n1; ++n) col2im(Cpu{}, col + (n - n0) * P * K, dx, g, n, 0, P, false);
        } else {  // part of image n0: add into it, cleared by its first piece
          if (p0 == 0) std::fill(dx + n0 * g.H * g.W * g.C, dx + n1 * g.H * g.W * g.C, T(0));
          col2im(Cpu{}, col, dx, g, n0, p0, p0 + rows, true);
        }
      }
    }
  });

  if (threads > 1) {
    const int64_t n = K * C_out;
#pragma omp parallel for if (n * threads > (1 << 16))
    for (int64_t i = 0; i < n; ++i)
      for (int t = 1; t < threads; ++t) dW[i] += dW_copies[(t - 1) * n + i];
  }
  if (db) bias_grad(Cpu{}, dy, db, total_rows, C_out);
}

#define INSTANTIATE(T)                                                                                        \
  template void conv2d_forward<T>(Cpu, const T*, const T*, const T*, T*, const Window2d&, int64_t, T*, int64_t); \
  template void conv2d_backward<T>(Cpu, const T*, const T*, const T*, T*, T*, T*, const Window2d&, int64_t, T*, \
                                   int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
