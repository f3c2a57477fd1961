// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC 2011; the Random123 library): a counter-based generator. Each call
// maps a 128-bit counter and a 64-bit key to 128 random bits, with no state,
// so any element of a random stream can be computed independently, in any
// order, on the CPU or the GPU, with identical results.
//
// Only 32-bit integer arithmetic and one 32x32 -> 64-bit product per
// multiply: compiles under g++ and nvcc alike (FASTNN_HD), with no 128-bit
// types. Checked against Random123's known-answer vectors in
// tests/test_dropout.py.
#pragma once
#include <cstdint>

#include "hd.h"

namespace fastnn {

struct Philox4x32 {
  uint32_t v[4];
};

namespace philox_detail {

constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;      // round multipliers
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;    // key schedule increments

FASTNN_HD inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t& hi) {
#ifdef __CUDA_ARCH__
  hi = __umulhi(a, b);
  return a * b;
#else
  const uint64_t p = uint64_t(a) * uint64_t(b);
  hi = uint32_t(p >> 32);
  return uint32_t(p);
#endif
}

FASTNN_HD inline void philox_round(uint32_t (&c)[4], uint32_t k0, uint32_t k1) {
  uint32_t hi0, hi1;
  const uint32_t lo0 = mulhilo(kMul0, c[0], hi0);
  const uint32_t lo1 = mulhilo(kMul1, c[2], hi1);
  const uint32_t n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
  c[0] = n0;
  c[1] = lo1;
  c[2] = n2;
  c[3] = lo0;
}

}  // namespace philox_detail

// The 128 random bits for counter (c0, c1, c2, c3) under key (k0, k1):
// 10 rounds, the key bumped by the Weyl constants between rounds.
FASTNN_HD inline Philox4x32 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                          uint32_t k1) {
  uint32_t c[4] = {c0, c1, c2, c3};
  for (int r = 0; r < 10; ++r) {
    philox_detail::philox_round(c, k0, k1);
    k0 += philox_detail::kWeyl0;
    k1 += philox_detail::kWeyl1;
  }
  return {{c[0], c[1], c[2], c[3]}};
}

// Group g (elements 4g .. 4g + 3) of the random stream (seed, step): the
// keying dropout and Gaussian noise share (dropout_math.h and
// gaussian_noise_math.h spell it out).
FASTNN_HD inline Philox4x32 philox_stream(uint64_t seed, uint64_t step, uint64_t g) {
  return philox4x32_10(uint32_t(g), uint32_t(g >> 32), uint32_t(step), uint32_t(step >> 32), uint32_t(seed),
                       uint32_t(seed >> 32));
}

}  // namespace fastnn
