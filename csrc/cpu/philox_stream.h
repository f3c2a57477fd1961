// A Philox stream (common/philox.h: philox_stream) on the CPU, chunk by
// chunk: a chunk's random bits are generated into a stack buffer by a loop
// the compiler vectorizes across Philox calls, then handed to the caller.
// Any split of the chunks over threads gives the same result: the bits
// depend only on (seed, step, element index).
#pragma once
#include <algorithm>
#include <cstdint>

namespace fastnn::cpu {

constexpr int64_t kPhiloxGroups = 256;           // Philox calls per chunk: 4 KiB of bits
constexpr int64_t kPhiloxParallelMin = 1 << 15;  // below this many elements, one thread

// bits[4i + j] = word j of group g0 + i of the stream, i < count
// (philox_stream.cpp: SIMD clones need a function of their own).
void philox_chunk(uint64_t seed, uint64_t step, uint64_t g0, int64_t count, uint32_t* bits);

// Calls f(first element, element count, bits) for every chunk of the n
// elements first .. first + n - 1 of the stream, in parallel; element
// indices passed to f count from first. With first = 0 each chunk starts at
// a multiple of 4 elements. (A data-parallel rank passes the position of its
// slice in the global batch as first, and draws that slice's bits.)
template <class F>
void for_each_philox_chunk(int64_t n, uint64_t seed, uint64_t step, uint64_t first, F&& f) {
  const uint64_t g_begin = first / 4, last = first + uint64_t(n);
  const int64_t groups = int64_t((last + 3) / 4 - g_begin), chunks = (groups + kPhiloxGroups - 1) / kPhiloxGroups;
#pragma omp parallel for schedule(static) if (n > kPhiloxParallelMin)
  for (int64_t k = 0; k < chunks; ++k) {
    uint32_t bits[4 * kPhiloxGroups];
    const uint64_t g0 = g_begin + uint64_t(k * kPhiloxGroups);
    const int64_t count = std::min(kPhiloxGroups, groups - k * kPhiloxGroups);
    philox_chunk(seed, step, g0, count, bits);
    const uint64_t lo = std::max(4 * g0, first), hi = std::min(4 * (g0 + uint64_t(count)), last);
    f(int64_t(lo - first), int64_t(hi - lo), bits + (lo - 4 * g0));
  }
}

}  // namespace fastnn::cpu
