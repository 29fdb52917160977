/* Maxout through the C ABI on the machine (or emulator) that runs this program: every function
 * of `actforge gen maxout --param k=3 --dtype f32,f64 --name amo` (both ARM targets) against a
 * plain C reference (first arg-max, a NaN the maximum; backward: dy at the arg-max, +0
 * elsewhere), bit for bit, over shapes with tails and channels-last rows, with ties, ±0, ±inf
 * and NaN. Built and run by tests/cli/aot_arm.sh (cli_maxout_aot_arm). Exits 1 on any mismatch. */
#include "amo_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K 3

static int failures = 0;

static void check(int ok, const char *what, long long a, long long b, long long c) {
  printf("%s %s [%lld, %lld, %lld]\n", ok ? "ok  " : "FAIL", what, a, b, c);
  if (!ok) ++failures;
}

static double value(unsigned *seed) {
  *seed = *seed * 1664525u + 1013904223u;
  switch ((*seed >> 8) % 12) {
  case 0: return -0.0;
  case 1: return INFINITY;
  case 2: return -INFINITY;
  case 3: return NAN;
  default: return (double)((int)(*seed >> 24) % 7 - 3) + ((*seed >> 16) % 4 == 0 ? 0.25 : 0.0);
  }
}

#define REFERENCE(T)                                                                               \
  static void reference_##T(const T *x, const T *dy, T *y, T *dx, int64_t outer, int64_t ch,       \
                            int64_t inner) {                                                       \
    const int64_t groups = ch / K;                                                                 \
    for (int64_t i = 0; i < outer * ch * inner; ++i)                                               \
      dx[i] = (T)0;                                                                                \
    for (int64_t o = 0; o < outer; ++o)                                                            \
      for (int64_t g = 0; g < groups; ++g)                                                         \
        for (int64_t i = 0; i < inner; ++i) {                                                      \
          int64_t best = (o * ch + g * K) * inner + i;                                             \
          for (int64_t c = 1; c < K; ++c) {                                                        \
            const int64_t at = (o * ch + g * K + c) * inner + i;                                   \
            if (!(x[best] != x[best]) && (x[at] > x[best] || x[at] != x[at])) best = at;           \
          }                                                                                        \
          const int64_t out = (o * groups + g) * inner + i;                                        \
          y[out] = x[best];                                                                        \
          dx[best] += dy[out];                                                                     \
        }                                                                                          \
  }
REFERENCE(float)
REFERENCE(double)

#define RUN(T, D)                                                                                  \
  do {                                                                                             \
    const int64_t n = outer * ch * inner, m = n / K;                                               \
    T *x = malloc(sizeof(T) * n + 1), *dy = malloc(sizeof(T) * m + 1);                             \
    T *y0 = malloc(sizeof(T) * m + 1), *y1 = malloc(sizeof(T) * m + 1);                            \
    T *dx0 = malloc(sizeof(T) * n + 1), *dx1 = malloc(sizeof(T) * n + 1);                          \
    for (int64_t i = 0; i < n; ++i)                                                                \
      x[i] = (T)value(&seed);                                                                      \
    for (int64_t i = 0; i < m; ++i)                                                                \
      dy[i] = (T)value(&seed);                                                                     \
    reference_##T(x, dy, y0, dx0, outer, ch, inner);                                               \
    int (*fwd[3])(const T *, T *, int64_t, int64_t, int64_t) = {                                   \
        amo_maxout_k3_fwd_##D, amo_maxout_k3_fwd_##D##_neon, amo_maxout_k3_fwd_##D##_fp16};        \
    int (*bwd[3])(const T *, const T *, T *, int64_t, int64_t, int64_t) = {                        \
        amo_maxout_k3_bwd_##D, amo_maxout_k3_bwd_##D##_neon, amo_maxout_k3_bwd_##D##_fp16};        \
    for (int f = 0; f < 3; ++f) {                                                                  \
      memset(y1, 0x5a, sizeof(T) * m);                                                             \
      memset(dx1, 0x5a, sizeof(T) * n);                                                            \
      const int ok = fwd[f](x, y1, outer, ch, inner) == AMO_OK &&                                  \
                     bwd[f](x, dy, dx1, outer, ch, inner) == AMO_OK &&                             \
                     memcmp(y0, y1, sizeof(T) * m) == 0 && memcmp(dx0, dx1, sizeof(T) * n) == 0;   \
      check(ok, f == 0 ? #D " dispatched" : f == 1 ? #D " neon" : #D " fp16", outer, ch, inner);   \
    }                                                                                              \
    free(x), free(dy), free(y0), free(y1), free(dx0), free(dx1);                                   \
  } while (0)

int main(void) {
  unsigned seed = 7;
  const int64_t shapes[][3] = {{2, 9, 37}, {4, 12, 1}, {1, 3, 1000}, {3, 15, 5}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s) {
    const int64_t outer = shapes[s][0], ch = shapes[s][1], inner = shapes[s][2];
    RUN(float, f32);
    RUN(double, f64);
  }
  float x[6] = {0}, y[2];
  check(amo_maxout_k3_fwd_f32(x, y, 1, 4, 1) == AMO_ERR_ARGUMENT, "4 channels refused", 1, 4, 1);
  printf("%s\n", failures ? "FAILED" : "all passed");
  return failures ? 1 : 0;
}
