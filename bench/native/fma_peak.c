// Measures one core's peak f32 FMA throughput: 16 independent chains of
// 64-byte vectors (one AVX-512 register each; two AVX2 or four NEON
// registers elsewhere), enough to hide the FMA latency on current x86 and
// AArch64 cores. bench/kernels.py compiles it with -O3 -march=native
// -mprefer-vector-width=512 -fopenmp and uses it for the "limit" column: the
// useful FLOPs of a sparse product at this peak, on one thread or (through
// LLVM's OpenMP runtime, the one blkrew's parallel kernels use, so waking
// its workers costs both alike) on several.
#include <omp.h>
#include <stdint.h>

typedef float vec __attribute__((vector_size(64)));

#define CHAINS(X)                                                              \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)   \
      X(14) X(15)

// Runs `iterations` rounds of 16 FMAs of 16 lanes (512 FLOPs per round);
// returns a value that depends on every chain so nothing is dropped.
float blkrew_fma_peak(int64_t iterations, float seed) {
  vec a = {0}, b = {0};
  a += 0.999f;
  b += seed;
#define DECLARE(i) vec acc##i = b * (float)(i + 1);
  CHAINS(DECLARE)
  for (int64_t it = 0; it < iterations; ++it) {
#define STEP(i) acc##i = acc##i * a + b;
    CHAINS(STEP)
  }
  vec sum = {0};
#define ADD(i) sum += acc##i;
  CHAINS(ADD)
  float total = 0;
  for (int l = 0; l < 16; ++l)
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
