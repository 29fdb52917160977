// Peer: loops over Sleef's 1-ULP AVX-512 functions (expf, expm1f, tanhf, erff), building the
// activations the way a hand-written library would: sigmoid as 1/(1+e^-x), gelu through erf,
// gelu_tanh through tanh. Compiled for x86-64-v4; main() registers it only where the CPU has it.
#include "bench_common.hpp"
#include "implementations.hpp"
#include "thread_pool.hpp"

#include <immintrin.h>
#include <sleef.h>

#include <cmath>

namespace actforge::bench {
namespace {

using V = __m512;

V splat(float v) { return _mm512_set1_ps(v); }
V sigmoid(V x) {
  const V e = Sleef_expf16_u10(_mm512_sub_ps(_mm512_setzero_ps(), x));
  return _mm512_div_ps(splat(1.0f), _mm512_add_ps(splat(1.0f), e));
}
V positive(V x, V if_positive, V otherwise) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ), otherwise,
                              if_positive);
}
V half_one_plus(V v) { return _mm512_mul_ps(splat(0.5f), _mm512_add_ps(splat(1.0f), v)); }

// Φ(x) = (1 + erf(x/√2))/2.
V normal_cdf(V x) { return half_one_plus(Sleef_erff16_u10(_mm512_mul_ps(x, splat(M_SQRT1_2)))); }

V fwd_sigmoid(V x, V) { return sigmoid(x); }
V fwd_tanh(V x, V) { return Sleef_tanhf16_u10(x); }
V fwd_gelu(V x, V) { return _mm512_mul_ps(x, normal_cdf(x)); }
V fwd_gelu_tanh(V x, V) {
  const V x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
  const V u = _mm512_mul_ps(splat(0.7978845608028654f), _mm512_fmadd_ps(splat(0.044715f), x3, x));
  return _mm512_mul_ps(x, half_one_plus(Sleef_tanhf16_u10(u)));
}
V fwd_swish(V x, V) { return _mm512_mul_ps(x, sigmoid(_mm512_mul_ps(splat(kSwishBeta), x))); }
V fwd_elu(V x, V) { return positive(x, x, _mm512_mul_ps(splat(kEluAlpha), Sleef_expm1f16_u10(x))); }

V bwd_sigmoid(V x, V dy) {
  const V s = sigmoid(x);
  return _mm512_mul_ps(dy, _mm512_mul_ps(s, _mm512_sub_ps(splat(1.0f), s)));
}
V bwd_tanh(V x, V dy) {
  const V t = Sleef_tanhf16_u10(x);
  return _mm512_mul_ps(dy, _mm512_fnmadd_ps(t, t, splat(1.0f)));
}
V bwd_gelu(V x, V dy) {
  // Φ(x) + x·φ(x), φ(x) = e^(-x²/2)/√(2π).
  const V phi = _mm512_mul_ps(splat(0.3989422804014327f),
                              Sleef_expf16_u10(_mm512_mul_ps(splat(-0.5f), _mm512_mul_ps(x, x))));
  return _mm512_mul_ps(dy, _mm512_fmadd_ps(x, phi, normal_cdf(x)));
}
V bwd_swish(V x, V dy) {
  const V s = sigmoid(_mm512_mul_ps(splat(kSwishBeta), x));
  const V ds = _mm512_mul_ps(s, _mm512_sub_ps(splat(1.0f), s));
  return _mm512_mul_ps(dy, _mm512_fmadd_ps(_mm512_mul_ps(splat(kSwishBeta), x), ds, s));
}
V bwd_elu(V x, V dy) {
  return positive(x, dy, _mm512_mul_ps(dy, _mm512_mul_ps(splat(kEluAlpha), Sleef_expf16_u10(x))));
}

using Fn = V (*)(V x, V dy);
struct Loop {
  std::string_view activation;
  Direction direction;
  Fn fn;
};
constexpr Loop kLoops[] = {
    {"sigmoid", Direction::Forward, fwd_sigmoid},  {"tanh", Direction::Forward, fwd_tanh},
    {"gelu", Direction::Forward, fwd_gelu},        {"gelu_tanh", Direction::Forward, fwd_gelu_tanh},
    {"swish", Direction::Forward, fwd_swish},      {"elu", Direction::Forward, fwd_elu},
    {"sigmoid", Direction::Backward, bwd_sigmoid}, {"tanh", Direction::Backward, bwd_tanh},
    {"gelu", Direction::Backward, bwd_gelu},       {"swish", Direction::Backward, bwd_swish},
    {"elu", Direction::Backward, bwd_elu},
};

// y[i] = fn(x[i], dy[i]) over [begin, end); the tail is one masked vector.
void apply(Fn fn, const float *x, const float *dy, float *y, std::int64_t begin, std::int64_t end) {
  std::int64_t i = begin;
  for (; i + 16 <= end; i += 16)
    _mm512_storeu_ps(y + i, fn(_mm512_loadu_ps(x + i), dy ? _mm512_loadu_ps(dy + i) : V{}));
  if (i < end) {
    const __mmask16 m = static_cast<__mmask16>((1u << (end - i)) - 1);
    const V vx = _mm512_maskz_loadu_ps(m, x + i);
    _mm512_mask_storeu_ps(y + i, m, fn(vx, dy ? _mm512_maskz_loadu_ps(m, dy + i) : V{}));
  }
}

void run(benchmark::State &state, const Case &c, Fn fn) {
  const Arrays &a = arrays(c.n);
  const float *dy = c.direction == Direction::Backward ? a.dy : nullptr;
  for (auto _ : state) {
    parallel_for(c.threads, c.n, [&](std::int64_t begin, std::int64_t end) {
      apply(fn, a.x, dy, a.out, begin, end);
    });
    benchmark::ClobberMemory();
  }
}

} // namespace

Implementation sleef_implementation() {
  return {"sleef",
          [] {
            return "Sleef " + std::to_string(SLEEF_VERSION_MAJOR) + "." +
                   std::to_string(SLEEF_VERSION_MINOR) + "." +
                   std::to_string(SLEEF_VERSION_PATCHLEVEL) + " u10 AVX-512 loops";
          },
          [](std::int64_t n, int threads) {
            for (const Loop &l : kLoops) {
              const Fn fn = l.fn;
              register_case("sleef", {l.activation, l.direction, n, threads},
                            [fn](benchmark::State &s, const Case &c) { run(s, c, fn); });
            }
          }};
}

} // namespace actforge::bench
