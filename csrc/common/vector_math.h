// exp, expm1 and log1p on the ranges the activations need, written as
// straight-line arithmetic the CPU compiler vectorizes (libm's calls are
// scalar: a tanh layer ran at ~10 ns per element). On the GPU, device code
// uses CUDA's own functions instead (see activation_math.h).
//
// Accuracy: a few ulp in float and double. Every argument the activations
// pass is bounded: exp and expm1 only ever see x <= 0 (e^-|z|), log1p only
// t in [0, 1].
#pragma once
#include <cstdint>
#include <cstring>

#include "hd.h"

namespace fastnn::vmath {

template <class T>
struct Consts;

template <>
struct Consts<float> {
  using Bits = uint32_t;
  static constexpr int kMantissa = 23, kBias = 127;
  static constexpr float kMin = -87.0f;                        // 2^n stays a normal float
  static constexpr float kRound = 12582912.0f;                 // 1.5 * 2^23: adding it rounds to an integer
  static constexpr float kLn2Hi = 0.693145751953125f, kLn2Lo = 1.428606765330187045e-06f;
};

template <>
struct Consts<double> {
  using Bits = uint64_t;
  static constexpr int kMantissa = 52, kBias = 1023;
  static constexpr double kMin = -708.0;
  static constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
};

// e^r - 1 - r by its Taylor series (Horner), to the degree each type needs
// on |r| <= ln2/2: the next term is below the type's epsilon.
template <class T>
inline T taylor_exp_tail(T r);

template <>
inline float taylor_exp_tail(float r) {
  return r * r * (1.0f / 2 + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040 + r * (1.0f / 40320)))))));
}

template <>
inline double taylor_exp_tail(double r) {
  return r * r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040 +
         r * (1.0 / 40320 + r * (1.0 / 362880 + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600 +
         r * (1.0 / 6227020800.0))))))))))));
}

// e^x for x <= 0; below kMin, where e^x is subnormal or 0, it returns 0
// (flush to zero: an absolute error under 1e-37 in float, 1e-307 in double).
template <class T>
inline T exp_nonpositive(T x) {
  using C = Consts<T>;
  const bool underflow = x < C::kMin;
  x = underflow ? C::kMin : x;
  const T shifted = x * T(1.4426950408889634) + C::kRound;  // n = round(x / ln2) sits in the low bits
  const T n = shifted - C::kRound;
  const T r = (x - n * C::kLn2Hi) - n * C::kLn2Lo;  // Cody-Waite: r = x - n ln2 in two exact steps
  typename C::Bits bits, round_bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  std::memcpy(&round_bits, &C::kRound, sizeof round_bits);
  const typename C::Bits scale_bits = (bits - round_bits + typename C::Bits(C::kBias)) << C::kMantissa;
  T scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  return underflow ? T(0) : scale * (T(1) + r + taylor_exp_tail(r));
}

// e^x - 1 for x <= 0, without the cancellation of exp(x) - 1 near 0.
template <class T>
inline T expm1_nonpositive(T x) {
  const T small = x + taylor_exp_tail(x);  // |x| <= ln2/2: the series directly
  const T large = exp_nonpositive(x) - T(1);
  return x > T(-0.34657359027997264) ? small : large;
}

// log(1 + t) for t in [0, 1]: 2 atanh(s) with s = t / (2 + t) <= 1/3, an odd
// series in s with no cancellation.
template <class T>
inline T log1p_unit(T t) {
  const T s = t / (T(2) + t), s2 = s * s;
  constexpr int kTerms = sizeof(T) == 4 ? 8 : 17;  // (1/9)^k / (2k+1) below the type's epsilon
  T p = T(1) / T(2 * kTerms + 1);
  for (int k = kTerms - 1; k >= 0; --k) p = p * s2 + T(1) / T(2 * k + 1);
  return T(2) * s * p;
}

}  // namespace fastnn::vmath
