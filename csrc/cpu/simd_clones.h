// FASTNN_SIMD_CLONES: compile a hot loop for AVX2+FMA (x86-64-v3) and for
// baseline x86-64, picked once at load time by the CPU it runs on. The wheel
// is built without -march (it must run on any x86-64), so without this the
// compiler vectorizes with SSE2 only. No AVX-512 clone: on Zen 5 the 512-bit
// version of the memory-bound batchnorm passes ran up to 1.5x slower than
// AVX2 on the 16-byte-aligned arrays numpy allocates. Elsewhere (other CPUs,
// non-glibc) the macro is empty.
#pragma once
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define FASTNN_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FASTNN_SIMD_CLONES
#endif
