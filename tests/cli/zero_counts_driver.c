/* Zero counts through the C ABI on the machine (or emulator) that runs this program: each
 * F_zero_counts function must write what F writes, bit for bit, and count per channel what a
 * plain count over that output gives. Built against `actforge gen relu reglu --zero-counts
 * --layout flat,channels --dtype f32,f16 --name azc` by tests/cli/aot_arm.sh. Prints one
 * line per check and exits 1 on any mismatch. */
#include "azc_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

static void check(int ok, const char *what) {
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

/* n values: pseudo-random in [-3, 3) as float, with +0 and -0 sprinkled in. */
static void fill_f32(float *v, int64_t n, unsigned seed) {
  for (int64_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    v[i] = (seed >> 3) % 11 == 0 ? ((seed >> 9) & 1 ? -0.0f : 0.0f)
                                 : -3.0f + 6.0f * (float)(seed >> 8) / 16777216.0f;
  }
}
/* f16 bits of the same kind: sign, exponent 13..16 (0.25 .. 4), random mantissa, or ±0. */
static void fill_f16(uint16_t *v, int64_t n, unsigned seed) {
  for (int64_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    const uint16_t sign = (uint16_t)((seed >> 20) & 1) << 15;
    v[i] = (seed >> 3) % 11 == 0
               ? sign
               : (uint16_t)(sign | ((13 + (seed >> 24) % 4) << 10) | ((seed >> 8) & 1023));
  }
}

static int64_t plain_count(const void *y, int bytes, int64_t from, int64_t n) {
  int64_t count = 0;
  for (int64_t j = from; j < from + n; ++j) {
    if (bytes == 4) {
      uint32_t b;
      memcpy(&b, (const unsigned char *)y + 4 * j, 4);
      count += (b & 0x7fffffffu) == 0;
    } else {
      uint16_t b;
      memcpy(&b, (const unsigned char *)y + 2 * j, 2);
      count += (b & 0x7fffu) == 0;
    }
  }
  return count;
}

int main(void) {
  const int64_t n = 50001, outer = 3, channels = 5, inner = 7001, m = outer * channels * inner;
  float *x = malloc(4 * n), *g = malloc(4 * n), *dy = malloc(4 * n), *want = malloc(4 * n),
        *got = malloc(4 * n), *dg = malloc(4 * n), *dg2 = malloc(4 * n);
  uint16_t *hx = malloc(2 * m), *hdy = malloc(2 * m), *hwant = malloc(2 * m), *hgot = malloc(2 * m);
  int64_t count = -1, counts[5];
  fill_f32(x, n, 1);
  fill_f32(g, n, 2);
  fill_f32(dy, n, 3);
  fill_f16(hx, m, 4);
  fill_f16(hdy, m, 5);

  check(azc_relu_fwd_f32(x, want, n) == AZC_OK, "relu_fwd_f32");
  check(azc_relu_fwd_f32_zero_counts(x, got, n, &count) == AZC_OK,
        "relu_fwd_f32_zero_counts returns OK");
  check(memcmp(got, want, 4 * n) == 0, "relu_fwd_f32_zero_counts writes relu_fwd_f32's y");
  check(count == plain_count(want, 4, 0, n) && count > n / 3, "relu_fwd_f32 zero count");
  printf("     relu_fwd_f32: %lld of %lld outputs zero\n", (long long)count, (long long)n);

  check(azc_reglu_bwd_f32(x, g, dy, want, dg, n) == AZC_OK, "reglu_bwd_f32");
  check(azc_reglu_bwd_f32_zero_counts(x, g, dy, got, dg2, n, &count) == AZC_OK,
        "reglu_bwd_f32_zero_counts returns OK");
  check(memcmp(got, want, 4 * n) == 0 && memcmp(dg2, dg, 4 * n) == 0,
        "reglu_bwd_f32_zero_counts writes reglu_bwd_f32's dx and dg");
  check(count == plain_count(want, 4, 0, n), "reglu_bwd_f32 zero count (dx)");

  check(azc_relu_bwd_ch_f16(hx, hdy, hwant, outer, channels, inner) == AZC_OK, "relu_bwd_ch_f16");
  check(azc_relu_bwd_ch_f16_zero_counts(hx, hdy, hgot, outer, channels, inner, counts) == AZC_OK,
        "relu_bwd_ch_f16_zero_counts returns OK");
  check(memcmp(hgot, hwant, 2 * m) == 0, "relu_bwd_ch_f16_zero_counts writes relu_bwd_ch_f16's dx");
  int same = 1;
  for (int64_t c = 0; c < channels; ++c) {
    int64_t want_c = 0;
    for (int64_t o = 0; o < outer; ++o)
      want_c += plain_count(hwant, 2, (o * channels + c) * inner, inner);
    same = same && counts[c] == want_c;
  }
  check(same, "relu_bwd_ch_f16 zero counts per channel");
  check(azc_relu_fwd_f32_zero_counts(x, got, n, NULL) == AZC_ERR_ARGUMENT,
        "a NULL zero_counts is refused");
  printf("%s\n", failures ? "FAILED" : "all passed");
  return failures ? 1 : 0;
}
