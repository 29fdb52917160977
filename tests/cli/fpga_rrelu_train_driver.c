/* RReLU in training mode on the fpga target (`gen rrelu_train --uniform-g --target fpga`): the
 * HLS kernels, run as a C simulation, against the x86 kernels of the same activation (`gen
 * rrelu_train --uniform-g --name frx`, bit-identical to dsl/rrelu.hpp's reference in
 * rrelu_test): y and dx within 2 ulp (the HLS kernel computes in f32, the x86 one in f64 and is
 * correctly rounded), exactly x where x >= 0; slopes y/x in [lower, upper]; a call on [k, n) with
 * offset + k continuing one on [0, n) bit for bit. Built
 * and run by tests/cli/fpga_rrelu_train.sh; prints "all passed" or exits 1. */
#include "frx_kernels.h"
#include "rrelu_train_bwd.h"
#include "rrelu_train_fwd.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N 5000 /* the kernels' --max-n */

static int failures = 0;
static float x[N], dy[N], y_hls[N], y_x86[N], dx_hls[N], dx_x86[N], part[N], shifted[N];

static void check(int ok, const char *what) {
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

/* Distance in units in the last place between two finite floats of one sign (or both zero). */
static long ulps(float a, float b) {
  int32_t ia, ib;
  memcpy(&ia, &a, 4);
  memcpy(&ib, &b, 4);
  if (ia < 0) ia = INT32_MIN - ia;
  if (ib < 0) ib = INT32_MIN - ib;
  const long d = (long)ia - (long)ib;
  return d < 0 ? -d : d;
}

int main(void) {
  unsigned s = 11;
  for (int i = 0; i < N; ++i) {
    s = s * 1664525u + 1013904223u;
    x[i] = i % 9 == 0 ? 0.0f : -40.0f + 80.0f * (float)(s >> 8) / 16777216.0f;
    dy[i] = 0.25f + (float)(i % 5);
  }
  const uint64_t seed = 0x9e3779b97f4a7c15ull;
  for (int pass = 0; pass < 2; ++pass) {
    const uint64_t offset = pass ? 0xfffffffffffff000ull : 0; /* the counter wraps mod 2^64 */
    rrelu_train_fwd(x, y_hls, N, seed, offset);
    rrelu_train_bwd(x, dy, dx_hls, N, seed, offset);
    if (frx_rrelu_train_fwd_rng_f32(x, y_x86, N, NULL, seed, offset) != FRX_OK ||
        frx_rrelu_train_bwd_rng_f32(x, dy, dx_x86, N, NULL, seed, offset) != FRX_OK) {
      check(0, "the x86 kernels ran");
      continue;
    }
    long worst_y = 0, worst_dx = 0;
    int exact = 1, slopes = 1;
    for (int i = 0; i < N; ++i) {
      const long uy = ulps(y_hls[i], y_x86[i]), ud = ulps(dx_hls[i], dx_x86[i]);
      worst_y = uy > worst_y ? uy : worst_y;
      worst_dx = ud > worst_dx ? ud : worst_dx;
      if (x[i] >= 0 && (y_hls[i] != x[i] || dx_hls[i] != dy[i])) exact = 0;
      if (x[i] < 0) {
        const double slope = (double)y_hls[i] / (double)x[i];
        if (!(slope >= 0.125 * (1 - 1e-6) && slope <= (1.0 / 3) * (1 + 1e-6))) slopes = 0;
      }
    }
    printf("     offset %llu: forward %ld ulp, backward %ld ulp from x86\n",
           (unsigned long long)offset, worst_y, worst_dx);
    check(worst_y <= 2 && worst_dx <= 2, "forward and backward within 2 ulp of x86");
    check(exact, "y = x and dx = dy where x >= 0");
    check(slopes, "slopes y/x in [1/8, 1/3]");
    /* Elements [k, n) moved to the front of arrays of the kernel's size, with offset + k. */
    const int k = 1237;
    memcpy(shifted, x + k, sizeof(float) * (N - k));
    rrelu_train_fwd(shifted, part, N - k, seed, offset + k);
    check(memcmp(part, y_hls + k, sizeof(float) * (N - k)) == 0,
          "elements [k, n) with offset + k: what one call on [0, n) gives them");
  }
  printf("%s\n", failures ? "FAILED" : "all passed");
  return failures ? 1 : 0;
}
