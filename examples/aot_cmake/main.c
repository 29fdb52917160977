/* A C host of AOT kernels: calls them by their C names and through the registry, on both
 * dispatch levels, and checks values against formulas written here. */
#include "actforge_kernels.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

static void check(int ok, const char *what) {
  if (!ok) {
    printf("FAILED: %s\n", what);
    ++failures;
  }
}

static int close_to(double got, double want) {
  return fabs(got - want) <= 1e-5 * (1.0 + fabs(want));
}

static double swish(double x, double beta) { return x / (1.0 + exp(-beta * x)); }
static double dswish(double x, double beta) {
  const double s = 1.0 / (1.0 + exp(-beta * x));
  return s + beta * x * s * (1.0 - s);
}
static double mish(double x) { return x * tanh(log1p(exp(x))); }

static void run_all(const char *level) {
  enum { N = 1001 };
  static float x[N], y[N], dy[N], dx[N];
  for (int i = 0; i < N; ++i) {
    x[i] = (float)(i - N / 2) / 50.0f; /* -10 .. 10 */
    dy[i] = 1.0f;
  }
  char what[160];

  check(actforge_relu_fwd_f32(x, y, N) == ACTFORGE_OK, "relu forward runs");
  for (int i = 0; i < N; ++i)
    check(y[i] == (x[i] > 0 ? x[i] : 0.0f), "relu forward is exact");

  actforge_swish_params p = {2.0f};
  check(actforge_swish_fwd_f32(x, y, N, NULL) == ACTFORGE_OK, "swish forward, default beta");
  for (int i = 0; i < N; i += 37) {
    snprintf(what, sizeof what, "%s: swish(%g)", level, x[i]);
    check(close_to(y[i], swish(x[i], 1.0)), what);
  }
  check(actforge_swish_bwd_f32(x, dy, dx, N, &p) == ACTFORGE_OK, "swish backward, beta = 2");
  for (int i = 0; i < N; i += 37) {
    snprintf(what, sizeof what, "%s: d swish(%g)/dx, beta = 2", level, x[i]);
    check(close_to(dx[i], dswish(x[i], 2.0)), what);
  }

  /* The expression without a name: found in the registry by its activation name's prefix. */
  const actforge_kernel_info *mish_fwd = NULL;
  for (size_t i = 0; i < actforge_kernel_count(); ++i) {
    const actforge_kernel_info *k = actforge_kernel_at(i);
    if (strncmp(k->activation, "expr_", 5) == 0 && strcmp(k->role, "forward") == 0 &&
        strcmp(k->name + strlen(k->name) - 4, "_f32") == 0)
      mish_fwd = k;
  }
  check(mish_fwd != NULL, "the unnamed expression is in the registry");
  if (mish_fwd) {
    const void *in[] = {x};
    void *out[] = {y};
    check(mish_fwd->call(in, out, N, NULL) == ACTFORGE_OK, "mish through the registry");
    for (int i = 0; i < N; i += 37) {
      snprintf(what, sizeof what, "%s: mish(%g)", level, x[i]);
      check(close_to(y[i], mish(x[i])), what);
    }
  }
  const actforge_kernel_info *lisht = actforge_find_kernel("lisht_fwd_f32");
  check(lisht && lisht->num_params == 0, "lisht_fwd_f32 by its short name");

  /* In place, and the error codes. */
  float v[3] = {-1.0f, 0.5f, 3.0f};
  check(actforge_relu_fwd_f32(v, v, 3) == ACTFORGE_OK && v[0] == 0.0f && v[2] == 3.0f,
        "relu in place");
  check(actforge_relu_fwd_f32(x, y, 0) == ACTFORGE_OK, "n = 0 does nothing");
  check(actforge_relu_fwd_f32(NULL, y, 0) == ACTFORGE_OK, "NULL arrays are fine for n = 0");
  check(actforge_relu_fwd_f32(x, y, -1) == ACTFORGE_ERR_ARGUMENT, "n < 0");
  check(actforge_swish_fwd_f32(NULL, y, 5, NULL) == ACTFORGE_ERR_ARGUMENT, "NULL input");
}

int main(void) {
  printf("%zu kernels in the registry\n", actforge_kernel_count());
  run_all("best target");
  check(actforge_limit_target("x86-64-avx2") == ACTFORGE_OK, "limit dispatch to AVX2");
  run_all("x86-64-avx2");
  check(actforge_swish_fwd_f32_avx2(NULL, NULL, 0, NULL) == ACTFORGE_OK, "the AVX2 kernel runs");
  check(actforge_limit_target("arm") == ACTFORGE_ERR_ARGUMENT, "an unknown target is refused");
  check(actforge_limit_target(NULL) == ACTFORGE_OK, "lift the limit");
  if (failures) {
    printf("aot example: %d checks failed\n", failures);
    return 1;
  }
  printf("aot example: all checks passed\n");
  return 0;
}
