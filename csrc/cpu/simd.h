// Runtime SIMD dispatch for hot CPU loops. The module is compiled for
// baseline x86-64 (it must run on any such CPU), which leaves the compiler
// 128-bit SSE2 vectors; FASTNN_SIMD_CLONES makes the compiler also build
// AVX2 and AVX-512 versions of a function, and the loader picks the best one
// the CPU supports (GCC/Clang target_clones, an ELF ifunc). Elsewhere it is a
// no-op and the baseline code runs.
#pragma once

#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#define FASTNN_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FASTNN_SIMD_CLONES
#endif
