// OpenMP helpers shared by the CPU kernels.
#pragma once
#ifdef _OPENMP
#include <omp.h>
#endif
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace fastnn::cpu {

// ---- fork safety ---------------------------------------------------------------
// GNU OpenMP's worker threads do not survive fork(): a child whose parent had
// run a parallel region waits forever, in its next one, on threads that are
// gone. As PyTorch marks its pool unusable in a forked child, fastnn's atfork
// handler puts the child on one thread: a team of one never touches the
// inherited pool. (spawn and forkserver children start with a fresh pool.)
inline std::atomic<bool>& in_forked_child() {
  static std::atomic<bool> flag{false};
  return flag;
}

inline void install_fork_handler() {
  pthread_atfork(nullptr, nullptr, [] {
    in_forked_child() = true;
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
  });
}

// OpenMP's thread count for the next parallel region (1 without OpenMP).
inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

constexpr int64_t kParallelMin = 1 << 14;  // below this many elements threads cost more than they save

// Calls body(lo, hi) once per thread on contiguous shares of [0, n), in
// parallel when work (the elements touched) is large enough. Bodies are
// where SIMD clones go (simd_clones.h): OpenMP outlines the parallel region
// into a function of its own that would not inherit them.
template <class F>
void for_ranges(int64_t n, int64_t work, F&& body) {
#pragma omp parallel if (work > kParallelMin)
  {
#ifdef _OPENMP
    const int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
#else
    const int64_t nt = 1, id = 0;
#endif
    const int64_t chunk = ((n + nt - 1) / nt + 15) & ~int64_t(15);  // 16-aligned: whole cache lines per thread
    const int64_t lo = std::min(n, id * chunk), hi = std::min(n, lo + chunk);
    if (hi > lo) body(lo, hi);
  }
}

// Calls body(lo, hi) on each thread's share of the N columns of an (M, N)
// array. Splitting columns, not rows, lets each thread sum its columns over
// all rows in a fixed order: per-column reductions are identical on every run.
template <class F>
void for_column_blocks(int64_t M, int64_t N, F&& body) {
  for_ranges(N, M * N, body);
}

// Runs body(thread, first_unit, end_unit) on up to `threads` threads, each
// taking a contiguous run of the units, and returns how many ran (OpenMP may
// give fewer: nested inside another parallel region, or with dynamic
// threads). One thread runs inline, leaving cpu::gemm free to split its GEMMs
// across the threads (see blas.h: OpenBLAS itself is single-threaded).
template <class F>
int for_each_thread(int threads, int64_t units, F&& body) {
  if (threads <= 1) {
    body(0, int64_t(0), units);
    return 1;
  }
  int team = 1;
#pragma omp parallel num_threads(threads)
  {
#ifdef _OPENMP
    const int t = omp_get_thread_num(), n = omp_get_num_threads();
#else
    const int t = 0, n = 1;
#endif
    if (t == 0) team = n;
    body(t, t * units / n, (t + 1) * units / n);
  }
  return team;
}

}  // namespace fastnn::cpu
