/* The fpga kernels' zero-count forms (`actforge gen relu hardsigmoid --target fpga --zero-counts`,
 * float; relu again in fixed point 16.10 as relu_q): each NAME_zero_count must write what NAME
 * writes, bit for bit, and count the zeros of that output as a plain loop does. Run as a C
 * simulation by tests/cli/fpga_zero_counts.sh; prints "all passed" or exits 1. */
#include "hardsigmoid_bwd.h"
#include "hardsigmoid_fwd.h"
#include "relu_fwd.h"
#include "relu_q_fwd.h"

#include <stdio.h>
#include <string.h>

#define N 40000 /* the kernels' --max-n */

static int failures = 0;
static float x[N], dy[N], y1[N], y2[N];
static int16_t qx[N], qy1[N], qy2[N];

static void check(int ok, const char *what, long long count) {
  printf("%s %s (%lld zeros)\n", ok ? "ok  " : "FAIL", what, count);
  if (!ok) ++failures;
}

static long long zeros_of(const float *v) {
  long long count = 0;
  for (int i = 0; i < N; ++i)
    count += v[i] == 0.0f;
  return count;
}

int main(void) {
  unsigned seed = 5;
  for (int i = 0; i < N; ++i) {
    seed = seed * 1664525u + 1013904223u;
    x[i] = (seed >> 3) % 13 == 0 ? ((seed >> 9) & 1 ? -0.0f : 0.0f)
                                 : -5.0f + 10.0f * (float)(seed >> 8) / 16777216.0f;
    dy[i] = (seed >> 5) % 7 == 0 ? 0.0f : 1.0f - 2.0f * (float)((seed >> 12) & 255) / 255.0f;
    qx[i] = (int16_t)((int)(seed >> 16) - 32768);
  }
  int64_t count = -1;
  relu_fwd(x, y1, N);
  relu_fwd_zero_count(x, y2, N, &count);
  check(!memcmp(y1, y2, sizeof y1) && count == zeros_of(y1) && count > N / 3, "relu_fwd", count);
  hardsigmoid_fwd(x, y1, N);
  hardsigmoid_fwd_zero_count(x, y2, N, &count);
  check(!memcmp(y1, y2, sizeof y1) && count == zeros_of(y1) && count > 0, "hardsigmoid_fwd", count);
  hardsigmoid_bwd(x, dy, y1, N);
  hardsigmoid_bwd_zero_count(x, dy, y2, N, &count);
  check(!memcmp(y1, y2, sizeof y1) && count == zeros_of(y1) && count > N / 3, "hardsigmoid_bwd",
        count);
  relu_q_fwd(qx, qy1, N);
  relu_q_fwd_zero_count(qx, qy2, N, &count);
  long long want = 0;
  for (int i = 0; i < N; ++i)
    want += qy1[i] == 0;
  check(!memcmp(qy1, qy2, sizeof qy1) && count == want && count > N / 3, "relu_fwd fixed 16.10",
        count);
  relu_fwd_zero_count(x, y2, 0, &count);
  check(count == 0, "n = 0", count);
  printf("%s\n", failures ? "FAILED" : "all passed");
  return failures ? 1 : 0;
}
