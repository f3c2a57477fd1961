// Gaussian noise: a pure function of (seed, step, element index), so the CPU
// loops and the CUDA kernels draw the same noise and a resumed run repeats.
// The keying, exactly (philox_stream, with a key of its own so that a
// dropout layer given the same seed draws independent bits):
//
//   g        = index / 4                      (one Philox call serves 4 elements)
//   s        = seed xor (0x6E6F6973 * 2^32)   ("nois" in the key's high word)
//   key      = (s mod 2^32, s / 2^32)
//   counter  = (g mod 2^32, g / 2^32, step mod 2^32, step / 2^32)
//   (b0, b1, b2, b3) = philox4x32_10(counter, key)
//
// Elements 4g, 4g + 1 are the Box-Muller pair of (b0, b1), elements 4g + 2,
// 4g + 3 that of (b2, b3); for a pair (a, b):
//
//   u = (a + 1/2) 2^-32 in (0, 1),  angle = 2 pi b 2^-32 in [0, 2 pi)
//   z = sqrt(-2 ln u) cos(angle),  z' = sqrt(-2 ln u) sin(angle)
//
// computed in the array's type. Every device runs this code; the values agree
// to the last few bits of its log, sin and cos (the CPU and the emulator,
// both on the C library's, bit for bit).
#pragma once
#include <cmath>
#include <cstdint>

#include "philox.h"

namespace fastnn {

constexpr uint64_t kGaussianNoiseKey = uint64_t(0x6E6F6973) << 32;

FASTNN_HD inline uint64_t gaussian_noise_seed(uint64_t seed) { return seed ^ kGaussianNoiseKey; }

// The two standard normal values of the random words (a, b).
template <class T>
FASTNN_HD inline void box_muller(uint32_t a, uint32_t b, T& z0, T& z1) {
#ifndef __CUDA_ARCH__
  using std::cos, std::log, std::sin, std::sqrt;
#endif
  const T u = (T(a) + T(0.5)) * T(2.3283064365386962890625e-10);  // 2^-32
  const T angle = T(b) * T(1.46291807926715968e-9);                 // 2 pi 2^-32
  const T r = sqrt(T(-2) * log(u));
  z0 = r * cos(angle);
  z1 = r * sin(angle);
}

}  // namespace fastnn
