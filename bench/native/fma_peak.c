// Measures one core's peak f32 FMA throughput: independent chains of FMAs
// on the widest vectors the compiler targets, as many chains as fit the
// register file beside the two operands (an AVX2 build of 16 chains of
// 64-byte vectors spilled half of them and understated the peak), and at
// least the 8 that hide the FMA latency on current x86 and AArch64 cores.
// bench/kernels.py compiles it with -O3 -march=native -fopenmp and uses it
// for the "limit" column: the useful FLOPs of a sparse product at this
// peak, on one thread or (through LLVM's OpenMP runtime, the one blkrew's
// parallel kernels use, so waking its workers costs both alike) on several.
#include <omp.h>
#include <stdint.h>

#if defined(__AVX512F__)
#define VECTOR_BYTES 64 // 32 zmm registers
#define CHAINS 16
// clang's -march=native on cores that prefer 256-bit vectors (Ice Lake,
// Sapphire Rapids) splits 64-byte vectors into ymm halves unless the
// function asks for 512-bit ones: the loop then measured 123 GFLOP/s on a
// Sapphire Rapids core that runs zmm FMAs (and blkrew's kernels, whose
// LLVM IR carries no such preference) at 225.
#define WIDE __attribute__((min_vector_width(512)))
#elif defined(__AVX__)
#define VECTOR_BYTES 32 // 16 ymm registers
#define CHAINS 12
#elif defined(__aarch64__)
#define VECTOR_BYTES 16 // 32 NEON registers
#define CHAINS 16
#else
#define VECTOR_BYTES 16 // 16 xmm registers
#define CHAINS 12
#endif
#ifndef WIDE
#define WIDE
#endif
#define LANES (VECTOR_BYTES / 4)

typedef float vec __attribute__((vector_size(VECTOR_BYTES)));

// FLOPs of one round: CHAINS FMAs of LANES lanes.
int64_t blkrew_fma_flops_per_round(void) { return 2 * CHAINS * LANES; }

// Runs `iterations` rounds; returns a value that depends on every chain so
// nothing is dropped. The chains live in registers: the loops over them
// have constant trip counts and are unrolled.
WIDE float blkrew_fma_peak(int64_t iterations, float seed) {
  vec a = {0}, b = {0};
  a += 0.999f;
  b += seed;
  vec acc[CHAINS];
  for (int i = 0; i < CHAINS; ++i)
    acc[i] = b * (float)(i + 1);
  for (int64_t it = 0; it < iterations; ++it)
    for (int i = 0; i < CHAINS; ++i)
      acc[i] = acc[i] * a + b;
  vec sum = {0};
  for (int i = 0; i < CHAINS; ++i)
    sum += acc[i];
  float total = 0;
  for (int l = 0; l < LANES; ++l)
    total += sum[l];
  return total;
}

// Runs `iterations` rounds split evenly over `threads` OpenMP threads: what
// that many cores reach, measured rather than assumed.
float blkrew_fma_peak_threads(int64_t iterations, float seed, int threads) {
  float total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  total += blkrew_fma_peak(iterations / omp_get_num_threads(), seed);
  return total;
}
