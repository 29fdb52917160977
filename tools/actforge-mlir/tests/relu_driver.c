/* The C host of the relu_fwd object that actforge-mlir compiles from relu_cpu.mlir.
 *   relu_driver            checks n = 0, 1, 15, 16, 17, 1000, aligned and not, against
 *                          relu(x) = x > 0 ? x : +0 (NaN stays NaN), and that y[n] and after
 *                          are untouched; exit 0 when all pass.
 *   relu_driver write N X Y  writes N inputs to file X and relu_fwd's N outputs to file Y. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int relu_fwd(const float *x, float *y, int64_t n);

enum { kMaxN = 1000, kGuard = 16, kSentinel = 0x5A };

static uint32_t bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* The special values first, then a spread of ordinary ones of both signs. */
static float input(int64_t i) {
  static const float special[] = {NAN,      -0.0f,   0.0f,        INFINITY,     -INFINITY,
                                  -1.5f,    2.5f,    FLT_MIN / 2, -FLT_MIN / 2, FLT_MAX,
                                  -FLT_MAX, FLT_MIN, -FLT_MIN,    -NAN,         1e-30f};
  const int64_t count = (int64_t)(sizeof special / sizeof special[0]);
  return i < count ? special[i] : (float)(i % 97) * 0.37f - 17.0f;
}

static int check(int64_t n, int offset) {
  static float x_store[kMaxN + kGuard + 4], y_store[kMaxN + kGuard + 4];
  float *x = x_store + offset, *y = y_store + offset;
  for (int64_t i = 0; i < n; ++i)
    x[i] = input(i);
  memset(y, kSentinel, (size_t)(n + kGuard) * sizeof(float));
  const int rc = relu_fwd(x, y, n);
  int failures = rc != 0;
  if (rc != 0) printf("n=%lld offset=%d: rc=%d\n", (long long)n, offset, rc);
  for (int64_t i = 0; i < n; ++i) {
    const int ok = isnan(x[i]) ? isnan(y[i]) : bits(y[i]) == bits(x[i] > 0 ? x[i] : 0.0f);
    if (!ok && failures++ < 5)
      printf("n=%lld offset=%d: relu(%a) gave %a (bits %08x)\n", (long long)n, offset, x[i], y[i],
             bits(y[i]));
  }
  const unsigned char *guard = (const unsigned char *)(y + n);
  for (size_t i = 0; i < kGuard * sizeof(float); ++i) {
    if (guard[i] != kSentinel) {
      printf("n=%lld offset=%d: y[%lld] and after were written\n", (long long)n, offset,
             (long long)n);
      ++failures;
      break;
    }
  }
  return failures;
}

static int write_files(int64_t n, const char *x_path, const char *y_path) {
  static float x[kMaxN], y[kMaxN];
  if (n < 0 || n > kMaxN) return 2;
  for (int64_t i = 0; i < n; ++i)
    x[i] = input(i);
  if (relu_fwd(x, y, n) != 0) return 1;
  FILE *fx = fopen(x_path, "wb"), *fy = fopen(y_path, "wb");
  if (!fx || !fy) return 2;
  const int ok = fwrite(x, sizeof(float), (size_t)n, fx) == (size_t)n &&
                 fwrite(y, sizeof(float), (size_t)n, fy) == (size_t)n;
  return fclose(fx) == 0 && fclose(fy) == 0 && ok ? 0 : 2;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "write") == 0)
    return write_files(strtoll(argv[2], NULL, 10), argv[3], argv[4]);
  static const int64_t sizes[] = {0, 1, 15, 16, 17, 1000};
  int failures = 0;
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s)
    for (int offset = 0; offset < 4; offset += 3)
      failures += check(sizes[s], offset);
  printf("%s: %d failures\n", failures ? "FAIL" : "ok", failures);
  return failures != 0;
}
