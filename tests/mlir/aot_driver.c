/* The C ABI of MLIR-compiled objects (actforge gen --backend mlir --emit obj), called as a C host
 * would: values against libm in double, error codes, parameters through the struct and NULL,
 * param_grad's sum, bf16 storage, and no write past n. Exit 0 when all hold. */
#include "actforge_relu_fwd_f32.h"
#include "actforge_swish_bwd_f32.h"
#include "actforge_swish_fwd_bf16.h"
#include "actforge_swish_fwd_f32.h"
#include "actforge_swish_pgrad_f32.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      printf("FAIL line %d: ", __LINE__);                                                          \
      printf(__VA_ARGS__);                                                                         \
      printf("\n");                                                                                \
      ++failures;                                                                                  \
    }                                                                                              \
  } while (0)

static double swish(double x, double beta) { return x / (1 + exp(-beta * x)); }
static double swish_d(double x, double beta) {
  const double s = 1 / (1 + exp(-beta * x));
  return s + beta * x * s * (1 - s);
}
static float ulps(float got, double want) {
  const float w = (float)want;
  const float ulp = nextafterf(fabsf(w), INFINITY) - fabsf(w);
  return (float)(fabs(got - want) / ulp);
}
static unsigned short to_bf16(float f) {
  unsigned int u;
  memcpy(&u, &f, 4);
  return (unsigned short)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
static float from_bf16(unsigned short h) {
  const unsigned int u = (unsigned int)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

enum { N = 1000 };

int main(void) {
  static float x[N + 16], y[N + 16], dy[N + 16], dx[N + 16];
  for (int i = 0; i < N; ++i) {
    x[i] = -8.0f + 16.0f * (float)i / N;
    dy[i] = 0.5f + (float)(i % 7) / 8;
  }
  /* relu, every length around the vector width (16): exact, and nothing past n written. */
  for (int n = 0; n <= 40; ++n) {
    for (int i = 0; i < N + 16; ++i) y[i] = 12345.0f;
    CHECK(actforge_relu_fwd_f32(x + 400, y, n) == 0, "relu rc");
    for (int i = 0; i < n; ++i) CHECK(y[i] == (x[400 + i] > 0 ? x[400 + i] : 0), "relu %d", i);
    for (int i = n; i < N + 16; ++i) CHECK(y[i] == 12345.0f, "relu wrote y[%d] for n=%d", i, n);
  }
  CHECK(actforge_relu_fwd_f32(x, y, -1) == 1, "n < 0 gives 1");
  CHECK(actforge_relu_fwd_f32(NULL, y, 4) == 1, "NULL x gives 1");
  CHECK(actforge_relu_fwd_f32(NULL, NULL, 0) == 0, "n = 0 needs no arrays");
  /* swish: NULL parameters take beta = 1; the struct's beta = 2 is used. */
  float worst = 0;
  CHECK(actforge_swish_fwd_f32(x, y, N, NULL) == 0, "swish rc");
  for (int i = 0; i < N; ++i) worst = fmaxf(worst, ulps(y[i], swish(x[i], 1)));
  CHECK(worst <= 4, "swish beta=1: %g ulp", worst);
  const actforge_swish_params two = {2.0f};
  CHECK(actforge_swish_fwd_f32(x, y, N, &two) == 0, "swish rc");
  worst = 0;
  for (int i = 0; i < N; ++i) worst = fmaxf(worst, ulps(y[i], swish(x[i], 2)));
  CHECK(worst <= 4, "swish beta=2: %g ulp", worst);
  /* backward: dx = dy * swish'(x), away from swish' = 0 at -1.278 (where computing in f32 the
   * cancelling terms lose their bits: check --backend mlir holds that region to the formula's
   * error bound instead). */
  CHECK(actforge_swish_bwd_f32(x, dy, dx, N, NULL) == 0, "swish bwd rc");
  worst = 0;
  for (int i = 0; i < N; ++i)
    if (fabs(swish_d(x[i], 1)) > 0.05) worst = fmaxf(worst, ulps(dx[i], dy[i] * swish_d(x[i], 1)));
  CHECK(worst <= 8, "swish backward: %g ulp", worst);
  /* param_grad: one sum after p. */
  float dbeta = 0;
  CHECK(actforge_swish_pgrad_f32(x, dy, N, NULL, &dbeta) == 0, "pgrad rc");
  double sum = 0, mag = 0;
  for (int i = 0; i < N; ++i) {
    const double s = 1 / (1 + exp(-x[i]));
    const double term = dy[i] * x[i] * x[i] * s * (1 - s);
    sum += term;
    mag += fabs(term);
  }
  CHECK(fabs(dbeta - sum) <= 1e-6 * mag, "dbeta %g vs %g", dbeta, sum);
  CHECK(actforge_swish_pgrad_f32(x, dy, N, NULL, NULL) == 1, "NULL gradient gives 1");
  /* bf16 storage: inputs and outputs are bits. */
  static unsigned short xb[N], yb[N];
  for (int i = 0; i < N; ++i) xb[i] = to_bf16(x[i]);
  CHECK(actforge_swish_fwd_bf16(xb, yb, N, NULL) == 0, "bf16 rc");
  worst = 0;
  for (int i = 0; i < N; ++i) {
    const double want = swish(from_bf16(xb[i]), 1);
    const float w = from_bf16(to_bf16((float)want));
    const float ulp = from_bf16((unsigned short)(to_bf16(fabsf(w)) + 1)) - fabsf(w);
    if (fabsf(w) > 0) worst = fmaxf(worst, (float)fabs(from_bf16(yb[i]) - want) / ulp);
  }
  CHECK(worst <= 1, "bf16 swish: %g ulp", worst);
  if (failures) return 1;
  printf("ok: the C ABI of the MLIR objects holds\n");
  return 0;
}
