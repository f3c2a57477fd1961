// Function multiversioning for hot loops. The wheel is built without -march
// (it must run on any x86-64), so by default the compiler vectorizes with
// SSE2 only; these attributes compile a function several times and pick the
// best clone for the CPU once, at load time. Elsewhere (other CPUs,
// non-glibc, other compilers) they are empty.
//
// FASTNN_SIMD_CLONES: AVX2+FMA (x86-64-v3) and baseline, for memory-bound
//   loops. No AVX-512 clone: on Zen 5 the 512-bit batchnorm passes that
//   write an array ran up to 1.5x slower than AVX2 on the 16-byte-aligned
//   arrays numpy allocates.
// FASTNN_SIMD_CLONES_AVX512: adds AVX-512 (x86-64-v4), for compute-bound
//   loops: Philox generation runs 2x faster with 512-bit multiplies.
#pragma once
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define FASTNN_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define FASTNN_SIMD_CLONES_AVX512 __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FASTNN_SIMD_CLONES
#define FASTNN_SIMD_CLONES_AVX512
#endif
