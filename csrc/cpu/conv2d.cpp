// Conv2D on the CPU: im2col + GEMM, parallel over pieces of the batch.
//
// Performance idea: each thread im2cols a piece of at most kPieceBytes into
// its own slice of the workspace and runs single-threaded GEMMs on it at
// once, while the piece is still in its L2 cache. This beats building a large
// column matrix and running one threaded GEMM on it, which streams the matrix
// through memory (and, with a pthreads OpenBLAS, pays for handing the cores
// back and forth between OpenMP and OpenBLAS threads at every chunk).
//
// Two ways to cut the work:
// * full im2col (any geometry): a piece is a run of column-matrix rows; one
//   GEMM per piece and pass.
// * row shift (vertical stride 1): im2col along the width only, i.e. the
//   column matrix R of a 1 x KW window over the image extended by the
//   (KH - 1) * dh rows the kernel reaches below. Kernel row kh then reads the
//   same R shifted down by kh * dh image rows, so y = sum_kh R_kh W[kh] is KH
//   GEMMs on views of one matrix that is KH times smaller than the full
//   column matrix: im2col and col2im move a third of the data for a 3x3
//   kernel, and the GEMMs run as fast.
//
// Backward, per piece: the column matrix of x feeds dW += col^T dy; the same
// slice then takes dcol = dy W^T, which col2im gathers into dx (W^T is
// transposed once per call into the workspace, so that this GEMM, too, has
// both operands untransposed).
//
// The activation (conv2d_forward's f) is applied to each block of output
// rows right after its GEMMs, while the block is in cache: no pass of its own.
//
// Every GEMM is cut into row blocks small enough for OpenBLAS's unpacked
// small-matrix kernels (see blas.h): 13% off the forward and 15% off the
// backward of a 3x3, 32->64 conv on 28x28 images. A thread owns
// whole images, so its col2im needs no synchronization; each thread sums its
// dW and db into private copies, added in thread order at the end
// (deterministic for a given thread count).
#include "../ops/conv2d.h"

#include <algorithm>

#include "../ops/dense.h"
#include "../ops/im2col.h"
#include "blas.h"
#include "conv2d_narrow.h"
#include "parallel.h"
#include "simd_clones.h"

namespace fastnn {
namespace {

// The largest piece: about the L2 size of current x86 cores. Measured on Zen 5
// (1 MiB L2): 1 MiB beats 512 KiB by 5-10% where pieces are short and wide
// (small images, many channels) and ties elsewhere; 2 MiB loses.
constexpr int64_t kPieceBytes = 1 << 20;
// The epilogue of a block of output rows, run on it while it is in cache:
// y = f(y + b) in place (b may be null).
template <class T>
using Epilogue = void (*)(const T* b, T* y, T alpha, int64_t rows, int64_t N);

template <Activation F, class T>
FASTNN_SIMD_CLONES void bias_activate_rows(const T* __restrict__ b, T* __restrict__ y, T alpha, int64_t rows,
                                           int64_t N) {
  for (int64_t i = 0; i < rows; ++i) {
    T* yr = y + i * N;
    if (b) {
#pragma omp simd
      for (int64_t j = 0; j < N; ++j) yr[j] = activate<F>(yr[j] + b[j], alpha);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < N; ++j) yr[j] = activate<F>(yr[j], alpha);
    }
  }
}

template <class T>
Epilogue<T> epilogue_for(Activation f) {
  Epilogue<T> e = nullptr;
  dispatch_activation(f, [&](auto k) { e = &bias_activate_rows<decltype(k)::value, T>; });
  return e;
}

// Row-shift GEMMs shorter than this (images under 8x8 output pixels) run
// slower than the full im2col's, which stacks several images into one GEMM.
constexpr int64_t kMinShiftRows = 64;

// Workspace past the pieces, backward only: per thread a C_out row for the
// bias gradient of a piece; for threads after the first, private dW and db
// sums; and W^T.
int64_t backward_extra(int threads, int64_t K, int64_t C_out) {
  return threads * C_out + (threads - 1) * (K * C_out + C_out) + K * C_out;
}

// The row-shift matrix R: im2col of a 1 x KW window (same columns, padding
// and horizontal stride) over OH + (KH - 1) * dh output rows.
Window2d row_window(const Window2d& g) {
  Window2d r = g;
  r.KH = 1, r.dh = 1, r.OH = g.OH + (g.KH - 1) * g.dh;
  return r;
}

struct Plan {
  bool row_shift = false;
  int threads = 0;
  int64_t piece = 0;  // row shift: output rows of one image; full im2col: column-matrix rows
  int64_t slice = 0;  // workspace elements of one thread's piece
};

// The plan for a workspace of `budget` elements (at least
// conv2d_min_workspace_elems): as many threads as fit, pieces as large as
// kPieceBytes or what is left.
Plan make_plan(const Window2d& g, int64_t C_out, int64_t elem_bytes, int64_t budget) {
  const int64_t K = g.patch(), KWC = g.KW * g.C, extra_rows = (g.KH - 1) * g.dh;
  for (int t = cpu::max_threads(); t >= 1; --t) {
    const int64_t per_thread = (budget - backward_extra(t, K, C_out)) / t;
    if (per_thread < K) continue;
    const int64_t cap = std::min(per_thread, std::max(kPieceBytes / elem_bytes, K));
    if (g.sh == 1 && g.KH > 1) {
      const int64_t rows = std::min(g.OH, cap / (g.OW * KWC) - extra_rows);
      if (rows >= std::max<int64_t>(extra_rows, 1) && rows * g.OW >= kMinShiftRows)
        return {true, t, rows, (rows + extra_rows) * g.OW * KWC};
    }
    const int64_t rows = std::min(g.N * g.out_pixels(), cap / K);
    return {false, t, rows, rows * K};
  }
  return {};
}

// One thread's dW and db sums over its pieces (thread 0 sums straight into
// dW and db).
template <class T>
struct GradSums {
  T* dW;
  T* db;      // null if no bias gradient is wanted
  T* db_row;  // scratch: the bias gradient of one piece
  bool started = false;

  // beta for the next GEMM into dW: the first piece overwrites.
  T beta() const { return started ? T(1) : T(0); }

  void add_bias_grad(const T* dy_piece, int64_t rows, int64_t C_out) {
    if (db) {
      bias_grad(Cpu{}, dy_piece, db_row, rows, C_out);
      for (int64_t j = 0; j < C_out; ++j) db[j] = started ? db[j] + db_row[j] : db_row[j];
    }
  }
};

// Row shift: the pieces of a thread, in order. Piece i is output rows
// [oh0, oh1) of image n.
struct RowPieces {
  int64_t per_image, rows;  // pieces per image, output rows per piece
  int64_t n(int64_t i) const { return i / per_image; }
  int64_t oh0(int64_t i) const { return i % per_image * rows; }
};

// Asks for the input rows that output rows [oh0, oh1) of image n read (row
// shift), so that they arrive in cache while the current piece's GEMMs run
// instead of stalling the next im2col.
template <class T>
void prefetch_input(const T* x, const Window2d& g, int64_t n, int64_t oh0, int64_t oh1) {
#if defined(__GNUC__)
  const int64_t ih0 = std::max<int64_t>(0, oh0 - g.pad_top);
  const int64_t ih1 = std::min(g.H, oh1 - g.pad_top + (g.KH - 1) * g.dh);
  const char* begin = reinterpret_cast<const char*>(x + ((n * g.H + ih0) * g.W) * g.C);
  const char* end = reinterpret_cast<const char*>(x + ((n * g.H + std::max(ih0, ih1)) * g.W) * g.C);
  for (const char* p = begin; p < end; p += 64) __builtin_prefetch(p, 0, 2);
#else
  (void)x, (void)g, (void)n, (void)oh0, (void)oh1;
#endif
}

// Row shift, forward: piece i of a thread's pieces i..end-1 (the input of
// piece i + 1 is prefetched while this one's GEMMs run).
// act: the activation's epilogue, or null (linear).
template <class T>
void shift_forward_piece(const T* x, const T* W, const T* b, T* y, const Window2d& g, int64_t C_out, T* R,
                         const RowPieces& pieces, int64_t i, int64_t end, Epilogue<T> act, T alpha) {
  const Window2d r = row_window(g);
  const int64_t n = pieces.n(i), oh0 = pieces.oh0(i), oh1 = std::min(g.OH, oh0 + pieces.rows);
  const int64_t KWC = g.KW * g.C, rows = (oh1 - oh0) * g.OW, shift = g.dh * g.OW * KWC;
  const int64_t r0 = (n * r.OH + oh0) * g.OW;
  im2col(Cpu{}, x, R, r, r0, r0 + rows + (g.KH - 1) * g.dh * g.OW);
  if (i + 1 < end) prefetch_input(x, g, pieces.n(i + 1), pieces.oh0(i + 1), pieces.oh0(i + 1) + pieces.rows);
  T* out = y + (n * g.OH + oh0) * g.OW * C_out;
  if (b)
    for (int64_t p = 0; p < rows; ++p) std::copy(b, b + C_out, out + p * C_out);
  cpu::for_small_gemm_blocks(rows, C_out, KWC, [&](int64_t p0, int64_t m) {
    for (int64_t kh = 0; kh < g.KH; ++kh)
      cpu::gemm(false, false, m, C_out, KWC, T(1), R + kh * shift + p0 * KWC, KWC, W + kh * KWC * C_out, C_out,
                kh > 0 || b ? T(1) : T(0), out + p0 * C_out, C_out);
    if (act) act(nullptr, out + p0 * C_out, alpha, m, C_out);
  });
}

// Row shift, backward: piece i of a thread's pieces i..end-1.
template <class T>
void shift_backward_piece(const T* x, const T* Wt, const T* dy, T* dx, GradSums<T>& sums, const Window2d& g,
                          int64_t C_out, T* R, const RowPieces& pieces, int64_t i, int64_t end) {
  const Window2d r = row_window(g);
  const int64_t n = pieces.n(i), oh0 = pieces.oh0(i), oh1 = std::min(g.OH, oh0 + pieces.rows);
  const int64_t KWC = g.KW * g.C, rows = (oh1 - oh0) * g.OW, shift = g.dh * g.OW * KWC;
  const int64_t R_rows = rows + (g.KH - 1) * g.dh * g.OW, r0 = (n * r.OH + oh0) * g.OW;
  const T* dy_piece = dy + (n * g.OH + oh0) * g.OW * C_out;
  im2col(Cpu{}, x, R, r, r0, r0 + R_rows);
  if (i + 1 < end) prefetch_input(x, g, pieces.n(i + 1), pieces.oh0(i + 1), pieces.oh0(i + 1) + pieces.rows);
  cpu::for_small_gemm_blocks(rows, C_out, KWC, [&](int64_t p0, int64_t m) {
    for (int64_t kh = 0; kh < g.KH; ++kh)
      cpu::gemm(true, false, KWC, C_out, m, T(1), R + kh * shift + p0 * KWC, KWC, dy_piece + p0 * C_out, C_out,
                p0 > 0 ? T(1) : sums.beta(), sums.dW + kh * KWC * C_out, C_out);
  });
  sums.add_bias_grad(dy_piece, rows, C_out);
  sums.started = true;
  if (!dx) return;
  // dR = sum_kh (dy W[kh]^T) shifted down by kh rows; kh = 0 writes the first
  // `rows` rows, the rest start from zero. W[kh]^T: columns kh * KWC.. of W^T.
  std::fill(R + rows * KWC, R + R_rows * KWC, T(0));
  // (Kernel row by kernel row: a block's shifted rows overlap the next block's.)
  for (int64_t kh = 0; kh < g.KH; ++kh)
    cpu::for_small_gemm_blocks(rows, KWC, C_out, [&](int64_t p0, int64_t m) {
      cpu::gemm(false, false, m, KWC, C_out, T(1), dy_piece + p0 * C_out, C_out, Wt + kh * KWC, g.patch(),
                kh > 0 ? T(1) : T(0), R + kh * shift + p0 * KWC, KWC);
    });
  if (oh0 == 0 && oh1 == g.OH) {  // the whole image: write every dx pixel
    col2im(Cpu{}, R, dx, r, n, 0, r.out_pixels(), false);
  } else {  // rows overlap the next piece's: add, into an image cleared by its first piece
    if (oh0 == 0) std::fill(dx + n * g.H * g.W * g.C, dx + (n + 1) * g.H * g.W * g.C, T(0));
    col2im(Cpu{}, R, dx, r, n, oh0 * g.OW, oh0 * g.OW + R_rows, true);
  }
}

// Full im2col, backward: column-matrix rows [r0, r0 + rows), either whole
// images n0..n1-1 or a part of image n0 (n1 = n0 + 1) starting at its pixel p0.
template <class T>
void im2col_backward_piece(const T* x, const T* Wt, const T* dy, T* dx, GradSums<T>& sums, const Window2d& g,
                           int64_t C_out, T* col, int64_t r0, int64_t rows, int64_t n0, int64_t n1) {
  const int64_t K = g.patch(), P = g.out_pixels(), p0 = r0 - n0 * P;
  const T* dy_piece = dy + r0 * C_out;
  im2col(Cpu{}, x, col, g, r0, r0 + rows);
  cpu::for_small_gemm_blocks(rows, C_out, K, [&](int64_t b0, int64_t m) {
    cpu::gemm(true, false, K, C_out, m, T(1), col + b0 * K, K, dy_piece + b0 * C_out, C_out,
              b0 > 0 ? T(1) : sums.beta(), sums.dW, C_out);
  });
  sums.add_bias_grad(dy_piece, rows, C_out);
  sums.started = true;
  if (!dx) return;
  cpu::for_small_gemm_blocks(rows, K, C_out, [&](int64_t b0, int64_t m) {
    cpu::gemm(false, false, m, K, C_out, T(1), dy_piece + b0 * C_out, C_out, Wt, K, T(0), col + b0 * K, K);
  });
  if (rows == (n1 - n0) * P) {  // whole images: write every dx pixel
    for (int64_t n = n0; n < n1; ++n) col2im(Cpu{}, col + (n - n0) * P * K, dx, g, n, 0, P, false);
  } else {  // part of image n0: add, into an image cleared by its first piece
    if (p0 == 0) std::fill(dx + n0 * g.H * g.W * g.C, dx + n1 * g.H * g.W * g.C, T(0));
    col2im(Cpu{}, col, dx, g, n0, p0, p0 + rows, true);
  }
}

}  // namespace

int64_t conv2d_workspace_elems(Cpu, const Window2d& g, int64_t C_out, int64_t elem_bytes, int64_t max_bytes) {
  if (conv2d_is_pointwise(g)) return 0;
  const int64_t least = conv2d_min_workspace_elems(Cpu{}, g, C_out);
  if (cpu::conv2d_narrow_applies(g, C_out)) {
    const int64_t narrow = cpu::conv2d_narrow_workspace_elems(g, C_out, cpu::max_threads());
    if (narrow <= max_bytes / elem_bytes) return std::max(narrow, least);
  }
  const Plan plan = make_plan(g, C_out, elem_bytes, std::max(max_bytes / elem_bytes, least));
  return plan.threads * plan.slice + backward_extra(plan.threads, g.patch(), C_out);
}

template <class T>
void conv2d_forward(Cpu, const T* x, const T* W, const T* b, T* y, const Window2d& g, int64_t C_out,
                    T* workspace, int64_t workspace_elems, Activation f, T alpha) {
  const int64_t K = g.patch(), total_rows = g.N * g.out_pixels();
  const Epilogue<T> act = f == Activation::Linear ? nullptr : epilogue_for<T>(f);
  if (conv2d_is_pointwise(g) && !act)
    return dense_forward(Cpu{}, x, W, b, y, static_cast<T*>(nullptr), Activation::Linear, T(0), total_rows, g.C, C_out);
  if (conv2d_is_pointwise(g)) {  // x is the column matrix: GEMM and epilogue block by block, in parallel
    // Threads once the GEMM is worth splitting (cpu::gemm's own bound); work: the elements touched.
    const int64_t work = total_rows * K * C_out >= cpu::kGemmParallelMin ? total_rows * (K + C_out) : 0;
    cpu::for_ranges(total_rows, work, [&](int64_t lo, int64_t hi) {
      cpu::for_small_gemm_blocks(hi - lo, C_out, K, [&](int64_t p0, int64_t m) {
        T* out = y + (lo + p0) * C_out;
        cpu::gemm(false, false, m, C_out, K, T(1), x + (lo + p0) * K, K, W, C_out, T(0), out, C_out);
        act(b, out, alpha, m, C_out);
      });
    });
    return;
  }
  if (cpu::conv2d_narrow_forward(x, W, b, y, g, C_out, workspace, workspace_elems, f, alpha)) return;
  const Plan plan = make_plan(g, C_out, sizeof(T), workspace_elems);
  if (plan.row_shift) {  // a unit: a piece of plan.piece output rows of one image
    const RowPieces pieces{(g.OH + plan.piece - 1) / plan.piece, plan.piece};
    const int64_t units = g.N * pieces.per_image;
    cpu::for_each_thread(int(std::min<int64_t>(plan.threads, units)), units, [&](int t, int64_t first, int64_t end) {
      for (int64_t i = first; i < end; ++i)
        shift_forward_piece(x, W, b, y, g, C_out, workspace + t * plan.slice, pieces, i, end, act, alpha);
    });
    return;
  }
  const int64_t pieces = (total_rows + plan.piece - 1) / plan.piece;  // a unit: plan.piece column rows
  cpu::for_each_thread(int(std::min<int64_t>(plan.threads, pieces)), pieces, [&](int t, int64_t first, int64_t end) {
    T* col = workspace + t * plan.slice;
    for (int64_t piece = first; piece < end; ++piece) {
      const int64_t r0 = piece * plan.piece, rows = std::min(plan.piece, total_rows - r0);
      T* out = y + r0 * C_out;
      im2col(Cpu{}, x, col, g, r0, r0 + rows);
      if (b)
        for (int64_t r = 0; r < rows; ++r) std::copy(b, b + C_out, out + r * C_out);
      cpu::for_small_gemm_blocks(rows, C_out, K, [&](int64_t p0, int64_t m) {
        cpu::gemm(false, false, m, C_out, K, T(1), col + p0 * K, K, W, C_out, b ? T(1) : T(0), out + p0 * C_out,
                  C_out);
        if (act) act(nullptr, out + p0 * C_out, alpha, m, C_out);
      });
    }
  });
}

template <class T>
void conv2d_backward(Cpu, const T* x, const T* W, const T* dy, T* dx, T* dW, T* db, const Window2d& g,
                     int64_t C_out, T* workspace, int64_t workspace_elems) {
  const int64_t K = g.patch(), P = g.out_pixels();
  if (conv2d_is_pointwise(g))
    return dense_backward(Cpu{}, x, W, dy, static_cast<T*>(nullptr), static_cast<const T*>(nullptr),
                          static_cast<const T*>(nullptr), Activation::Linear, T(0), dx, dW, db, g.N * P, g.C, C_out);
  if (cpu::conv2d_narrow_backward(x, W, dy, dx, dW, db, g, C_out, workspace, workspace_elems)) return;
  const Plan plan = make_plan(g, C_out, sizeof(T), workspace_elems);
  // A unit is what one thread owns: `images` whole images, in pieces of at
  // most plan.piece rows (full im2col: several images per piece when they
  // are small, several pieces per image when it is large).
  int64_t images = 1, piece_rows = P;
  if (!plan.row_shift && P <= plan.piece) {
    images = std::clamp<int64_t>(plan.piece / P, 1, (g.N + plan.threads - 1) / plan.threads);
    piece_rows = images * P;
  } else if (!plan.row_shift) {
    const int64_t pieces_per_image = (P + plan.piece - 1) / plan.piece;
    piece_rows = (P + pieces_per_image - 1) / pieces_per_image;
  }
  const int64_t units = (g.N + images - 1) / images;
  const int threads = int(std::min<int64_t>(plan.threads, units));
  T* db_rows = workspace + threads * plan.slice;
  T* dW_copies = db_rows + threads * C_out;  // thread t > 0 sums into copy t - 1
  T* db_copies = dW_copies + (threads - 1) * K * C_out;
  T* Wt = db_copies + (threads - 1) * C_out;  // (C_out, K)
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < C_out; ++c) Wt[c * K + k] = W[k * C_out + c];

  const int team = cpu::for_each_thread(threads, units, [&](int t, int64_t first, int64_t end) {
    T* piece = workspace + t * plan.slice;
    GradSums<T> sums{t == 0 ? dW : dW_copies + (t - 1) * K * C_out,
                     !db ? nullptr : t == 0 ? db : db_copies + (t - 1) * C_out, db_rows + t * C_out};
    for (int64_t unit = first; unit < end; ++unit) {
      const int64_t n0 = unit * images, n1 = std::min(g.N, n0 + images);
      if (plan.row_shift) {
        const RowPieces pieces{(g.OH + plan.piece - 1) / plan.piece, plan.piece};
        for (int64_t i = n0 * pieces.per_image; i < n1 * pieces.per_image; ++i)
          shift_backward_piece(x, Wt, dy, dx, sums, g, C_out, piece, pieces, i, end * pieces.per_image);
        continue;
      }
      for (int64_t p0 = 0; p0 < (n1 - n0) * P; p0 += piece_rows)
        im2col_backward_piece(x, Wt, dy, dx, sums, g, C_out, piece, n0 * P + p0,
                              std::min(piece_rows, (n1 - n0) * P - p0), n0, n1);
    }
  });

  // Thread sums are added in thread order: deterministic for a thread count.
  if (team > 1) {
    const int64_t n = K * C_out;
#pragma omp parallel for if (n * team > (1 << 16))
    for (int64_t i = 0; i < n; ++i)
      for (int t = 1; t < team; ++t) dW[i] += dW_copies[(t - 1) * n + i];
    if (db)
      for (int t = 1; t < team; ++t)
        for (int64_t j = 0; j < C_out; ++j) db[j] += db_copies[(t - 1) * C_out + j];
  }
}

#define INSTANTIATE(T)                                                                                        \
  template void conv2d_forward<T>(Cpu, const T*, const T*, const T*, T*, const Window2d&, int64_t, T*, int64_t, \
                                  Activation, T);                                                               \
  template void conv2d_backward<T>(Cpu, const T*, const T*, const T*, T*, T*, T*, const Window2d&, int64_t, T*, \
                                   int64_t);
INSTANTIATE(float)
INSTANTIATE(double)

}  // namespace fastnn
