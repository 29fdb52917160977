/* An AArch64 C host of AOT kernels: calls relu and swish forward and backward, f32 and f16,
 * through the dispatching functions, the NEON ones (_neon) and the ARMv8.2 FP16 ones (_fp16),
 * and checks each value against a double-precision formula written here: relu exactly, f32
 * swish within the accuracy targets of ACTIVATIONS.md (4 ULP forward, 8 ULP backward), f16
 * within 1 ULP of the correctly rounded value (the kernels compute in f32). Exits 1 on a
 * mismatch. */
#include "actforge_kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

static int failures = 0;

static void check(int ok, const char *what) {
  if (!ok) {
    if (failures < 20) printf("FAILED: %s\n", what);
    ++failures;
  }
}

/* ---- f16 storage (IEEE binary16 bits in a uint16_t), written out so that no compiler
 * extension is needed. */
static double from_f16(uint16_t h) {
  const int e = (h >> 10) & 31, m = h & 1023;
  const double v = e == 0    ? ldexp(m, -24)
                   : e == 31 ? (m ? NAN : INFINITY)
                             : ldexp(m + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

/* Round to nearest even. */
static uint16_t to_f16(double v) {
  const uint16_t sign = signbit(v) ? 0x8000 : 0;
  const double a = fabs(v);
  if (isnan(v)) return 0x7e00;
  if (a >= 65520.0) return sign | 0x7c00;
  if (a < 0x1p-14) return sign | (uint16_t)nearbyint(a * 0x1p24);
  int e;
  double s = nearbyint(frexp(a, &e) * 2048.0); /* 11 significant bits */
  if (s == 2048.0) {
    s = 1024.0;
    ++e;
  }
  return sign | (uint16_t)(((e + 14) << 10) | ((int)s - 1024));
}

/* Distance in units in the last place: values ordered as integers (+0 and -0 coincide). */
static int64_t ulps_f32(float a, float b) {
  int32_t ia, ib;
  memcpy(&ia, &a, 4);
  memcpy(&ib, &b, 4);
  const int64_t ka = ia < 0 ? -(int64_t)(ia & 0x7fffffff) : ia;
  const int64_t kb = ib < 0 ? -(int64_t)(ib & 0x7fffffff) : ib;
  return ka > kb ? ka - kb : kb - ka;
}

static int ulps_f16(uint16_t a, uint16_t b) {
  const int ka = (a & 0x8000) ? -(int)(a & 0x7fff) : (int)a;
  const int kb = (b & 0x8000) ? -(int)(b & 0x7fff) : (int)b;
  return ka > kb ? ka - kb : kb - ka;
}

/* ---- The formulas, in double. */
static double swish(double x, double beta) { return x / (1.0 + exp(-beta * x)); }
static double dswish(double x, double beta) {
  const double s = 1.0 / (1.0 + exp(-beta * x));
  return s + beta * x * s * (1.0 - s);
}

/* One dispatch level's functions. */
typedef struct level {
  const char *name;
  int (*relu_fwd_f32)(const float *, float *, int64_t);
  int (*relu_bwd_f32)(const float *, const float *, float *, int64_t);
  int (*swish_fwd_f32)(const float *, float *, int64_t, const actforge_swish_params *);
  int (*swish_bwd_f32)(const float *, const float *, float *, int64_t,
                       const actforge_swish_params *);
  int (*relu_fwd_f16)(const uint16_t *, uint16_t *, int64_t);
  int (*relu_bwd_f16)(const uint16_t *, const uint16_t *, uint16_t *, int64_t);
  int (*swish_fwd_f16)(const uint16_t *, uint16_t *, int64_t, const actforge_swish_params *);
  int (*swish_bwd_f16)(const uint16_t *, const uint16_t *, uint16_t *, int64_t,
                       const actforge_swish_params *);
} level;

static const level dispatching = {"dispatch",
                                  actforge_relu_fwd_f32,
                                  actforge_relu_bwd_f32,
                                  actforge_swish_fwd_f32,
                                  actforge_swish_bwd_f32,
                                  actforge_relu_fwd_f16,
                                  actforge_relu_bwd_f16,
                                  actforge_swish_fwd_f16,
                                  actforge_swish_bwd_f16};
static const level neon = {"neon",
                           actforge_relu_fwd_f32_neon,
                           actforge_relu_bwd_f32_neon,
                           actforge_swish_fwd_f32_neon,
                           actforge_swish_bwd_f32_neon,
                           actforge_relu_fwd_f16_neon,
                           actforge_relu_bwd_f16_neon,
                           actforge_swish_fwd_f16_neon,
                           actforge_swish_bwd_f16_neon};
static const level fp16 = {"fp16",
                           actforge_relu_fwd_f32_fp16,
                           actforge_relu_bwd_f32_fp16,
                           actforge_swish_fwd_f32_fp16,
                           actforge_swish_bwd_f32_fp16,
                           actforge_relu_fwd_f16_fp16,
                           actforge_relu_bwd_f16_fp16,
                           actforge_swish_fwd_f16_fp16,
                           actforge_swish_bwd_f16_fp16};

enum { N32 = 1012, N16 = 326 };

static void run_f32(const level *l) {
  static float x[N32], dy[N32], y[N32], dx[N32];
  for (int i = 0; i < 1001; ++i)
    x[i] = (float)(i - 500) / 50.0f; /* -10 .. 10 */
  const float specials[] = {0.0f,  -0.0f,  1e-30f, -1e-30f, 20.0f, -20.0f,
                            88.0f, -88.0f, 1e-4f,  -1e-4f,  3.0f};
  memcpy(x + 1001, specials, sizeof specials);
  for (int i = 0; i < N32; ++i)
    dy[i] = (float)(i % 5 - 2) * 0.75f;
  char what[200];

  check(l->relu_fwd_f32(x, y, N32) == ACTFORGE_OK, "relu_fwd_f32 runs");
  for (int i = 0; i < N32; ++i) {
    snprintf(what, sizeof what, "%s: relu(%a) = %a", l->name, x[i], y[i]);
    check(y[i] == (x[i] > 0 ? x[i] : 0.0f), what);
  }
  check(l->relu_bwd_f32(x, dy, dx, N32) == ACTFORGE_OK, "relu_bwd_f32 runs");
  for (int i = 0; i < N32; ++i) {
    snprintf(what, sizeof what, "%s: relu'(%a) * %g = %a", l->name, x[i], dy[i], dx[i]);
    check(dx[i] == (x[i] > 0 ? dy[i] : 0.0f), what);
  }

  const double betas[] = {1.0, 1.75};
  for (int b = 0; b < 2; ++b) {
    const actforge_swish_params p = {(float)betas[b]};
    const actforge_swish_params *pp = b == 0 ? NULL : &p; /* NULL: the default beta = 1 */
    int64_t worst_fwd = 0, worst_bwd = 0;
    check(l->swish_fwd_f32(x, y, N32, pp) == ACTFORGE_OK, "swish_fwd_f32 runs");
    check(l->swish_bwd_f32(x, dy, dx, N32, pp) == ACTFORGE_OK, "swish_bwd_f32 runs");
    for (int i = 0; i < N32; ++i) {
      const double want = swish(x[i], betas[b]);
      const int64_t u = ulps_f32(y[i], (float)want);
      worst_fwd = u > worst_fwd ? u : worst_fwd;
      snprintf(what, sizeof what, "%s: swish(%a), beta %g = %a, want %a (%lld ulp)", l->name, x[i],
               betas[b], y[i], want, (long long)u);
      check(u <= 4, what);

      const double dwant = dy[i] * dswish(x[i], betas[b]);
      const int64_t du = ulps_f32(dx[i], (float)dwant);
      const double tiny = 0x1p-24 * fmax(1.0, fabs(dy[i]));
      snprintf(what, sizeof what, "%s: %g * swish'(%a), beta %g = %a, want %a (%lld ulp)", l->name,
               dy[i], x[i], betas[b], dx[i], dwant, (long long)du);
      if (fabs(dwant) >= 0x1p-20 || fabs(dx[i] - dwant) > tiny) {
        worst_bwd = du > worst_bwd ? du : worst_bwd;
        check(du <= 8, what);
      }
    }
    printf("  %-8s f32 swish beta %-4g: forward worst %lld ulp, backward worst %lld ulp\n", l->name,
           betas[b], (long long)worst_fwd, (long long)worst_bwd);
  }
  check(l->swish_fwd_f32(x, y, 0, NULL) == ACTFORGE_OK, "n = 0 does nothing");
  check(l->swish_fwd_f32(NULL, y, 5, NULL) == ACTFORGE_ERR_ARGUMENT, "a NULL input is refused");
  check(l->relu_fwd_f32(x, y, -1) == ACTFORGE_ERR_ARGUMENT, "n < 0 is refused");
}

static void run_f16(const level *l) {
  static uint16_t x[N16], dy[N16], y[N16], dx[N16];
  for (int i = 0; i < 321; ++i)
    x[i] = to_f16((i - 160) / 16.0); /* -10 .. 10, exact in f16 */
  const double specials[] = {-0.0, 0x1p-24, -0x1p-20, 11.0, -11.0};
  for (int i = 0; i < 5; ++i)
    x[321 + i] = to_f16(specials[i]);
  for (int i = 0; i < N16; ++i)
    dy[i] = to_f16((i % 7 - 3) * 0.25);
  char what[200];

  check(l->relu_fwd_f16(x, y, N16) == ACTFORGE_OK, "relu_fwd_f16 runs");
  check(l->relu_bwd_f16(x, dy, dx, N16) == ACTFORGE_OK, "relu_bwd_f16 runs");
  for (int i = 0; i < N16; ++i) {
    const double xi = from_f16(x[i]);
    snprintf(what, sizeof what, "%s: f16 relu(%g) = %g", l->name, xi, from_f16(y[i]));
    check(from_f16(y[i]) == (xi > 0 ? xi : 0.0), what);
    snprintf(what, sizeof what, "%s: f16 relu'(%g) * dy = %g", l->name, xi, from_f16(dx[i]));
    check(from_f16(dx[i]) == (xi > 0 ? from_f16(dy[i]) : 0.0), what);
  }

  const actforge_swish_params p = {1.75f};
  int worst_fwd = 0, worst_bwd = 0;
  for (int b = 0; b < 2; ++b) {
    const double beta = b == 0 ? 1.0 : 1.75;
    check(l->swish_fwd_f16(x, y, N16, b == 0 ? NULL : &p) == ACTFORGE_OK, "swish_fwd_f16 runs");
    check(l->swish_bwd_f16(x, dy, dx, N16, b == 0 ? NULL : &p) == ACTFORGE_OK,
          "swish_bwd_f16 runs");
    for (int i = 0; i < N16; ++i) {
      const double xi = from_f16(x[i]);
      const uint16_t want = to_f16(swish(xi, beta));
      const int u = ulps_f16(y[i], want);
      worst_fwd = u > worst_fwd ? u : worst_fwd;
      snprintf(what, sizeof what, "%s: f16 swish(%g), beta %g = %g, want %g (%d ulp)", l->name, xi,
               beta, from_f16(y[i]), from_f16(want), u);
      check(u <= 1, what);
      const uint16_t dwant = to_f16(from_f16(dy[i]) * dswish(xi, beta));
      const int du = ulps_f16(dx[i], dwant);
      worst_bwd = du > worst_bwd ? du : worst_bwd;
      snprintf(what, sizeof what, "%s: f16 %g * swish'(%g), beta %g = %g, want %g (%d ulp)",
               l->name, from_f16(dy[i]), xi, beta, from_f16(dx[i]), from_f16(dwant), du);
      check(du <= 1, what);
    }
  }
  printf("  %-8s f16 swish: forward worst %d ulp, backward worst %d ulp\n", l->name, worst_fwd,
         worst_bwd);
}

int main(void) {
  /* The generated dispatch's test: HWCAP_FPHP | HWCAP_ASIMDHP, ARMv8.2 half precision. */
  const unsigned long want = (1ul << 9) | (1ul << 10);
  const int has_fp16 = (getauxval(AT_HWCAP) & want) == want;
  printf("%zu kernels in the registry; this CPU %s FP16 arithmetic: dispatch to %s\n",
         actforge_kernel_count(), has_fp16 ? "has" : "lacks",
         has_fp16 ? "arm-64-linux-fp16" : "arm-64-linux");

  float one = 1.5f, out = 0.0f;
  check(actforge_swish_fwd_f32(&one, &out, 1, NULL) == ACTFORGE_OK, "swish(1.5)");
  printf("swish(1.5) = %.9g (double formula: %.17g)\n", out, swish(1.5, 1.0));
  uint16_t h = to_f16(1.5), hout = 0;
  check(actforge_swish_bwd_f16(&h, &(uint16_t){to_f16(1.0)}, &hout, 1, NULL) == ACTFORGE_OK,
        "f16 swish'(1.5)");
  printf("f16 swish'(1.5) = %.6g (double formula: %.17g)\n", from_f16(hout), dswish(1.5, 1.0));

  run_f32(&dispatching);
  run_f16(&dispatching);
  run_f32(&neon);
  run_f16(&neon);
  if (has_fp16) {
    run_f32(&fp16);
    run_f16(&fp16);
  } else {
    float x = 1.0f, y;
    check(actforge_swish_fwd_f32_fp16(&x, &y, 1, NULL) == ACTFORGE_ERR_CPU,
          "without FP16 the _fp16 kernels answer ACTFORGE_ERR_CPU");
  }
  /* Dispatch limited to the NEON baseline, then lifted. */
  check(actforge_limit_target("arm-64-linux") == ACTFORGE_OK, "limit dispatch to arm-64-linux");
  run_f32(&dispatching);
  check(actforge_swish_fwd_f16_fp16(&h, &hout, 1, NULL) == ACTFORGE_ERR_CPU,
        "the limit applies to the _fp16 kernels");
  check(actforge_limit_target("x86-64-avx2") == ACTFORGE_ERR_ARGUMENT, "an x86 target is refused");
  check(actforge_limit_target(NULL) == ACTFORGE_OK, "lift the limit");
  check(actforge_find_kernel("swish_bwd_f16") != NULL, "swish_bwd_f16 in the registry");

  if (failures) {
    printf("aot arm example: %d checks failed\n", failures);
    return 1;
  }
  printf("aot arm example: all checks passed\n");
  return 0;
}
