// Philox-4x32-10 (Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3", SC11) and the
// uniform variate that kernels with a generated input compute from it.
//
// A counter-based generator: the output is a pure function of (counter, key), so a kernel can
// draw element i's number without state, in any order, on any target, and a backward pass can
// draw the same number again instead of reading a stored noise tensor. This header is the
// reference every backend's generated code is tested against (codegen/halide/pipeline.cpp
// lowers the same arithmetic to Halide).
//
// The generator contract of a generated input (KernelSpec::uniform_g):
//   key     = the 64-bit seed as two words, low word first;
//   counter = (element index + offset) mod 2^64 as words 0 (low) and 1 (high); words 2, 3 = 0;
//   u       = (word 0 of philox4x32_10(counter, key) >> 8) · 2^-24, in [0, 1): 24 bits, exactly
//             representable in f32, f64 and long double.
#pragma once

#include <array>
#include <cstdint>

namespace actforge::dsl::philox {

using Counter = std::array<std::uint32_t, 4>;
using Key = std::array<std::uint32_t, 2>;

inline constexpr std::uint32_t kMultiplier0 = 0xD2511F53u;
inline constexpr std::uint32_t kMultiplier1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kWeyl0 = 0x9E3779B9u; // golden ratio
inline constexpr std::uint32_t kWeyl1 = 0xBB67AE85u; // sqrt(3) - 1
inline constexpr int kRounds = 10;

/// The high and low words of the 64-bit product a·b.
constexpr std::uint32_t mulhi(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::uint32_t>((std::uint64_t{a} * b) >> 32);
}

/// One round: two multiplications, their high words mixed with the other words and the key.
constexpr Counter round(const Counter &c, const Key &k) {
  return {mulhi(kMultiplier1, c[2]) ^ c[1] ^ k[0], kMultiplier1 * c[2],
          mulhi(kMultiplier0, c[0]) ^ c[3] ^ k[1], kMultiplier0 * c[0]};
}

/// Philox-4x32 with `rounds` rounds; the key advances by the Weyl increments between rounds.
constexpr Counter philox4x32(Counter c, Key k, int rounds = kRounds) {
  for (int r = 0; r < rounds; ++r) {
    if (r > 0) k = {k[0] + kWeyl0, k[1] + kWeyl1};
    c = round(c, k);
  }
  return c;
}

constexpr Key key_of(std::uint64_t seed) {
  return {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
}
constexpr Counter counter_of(std::uint64_t index) {
  return {static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32), 0, 0};
}

/// The 24 bits of a uniform variate: the top 24 of output word 0 for element `index`
/// (offset already added).
constexpr std::uint32_t uniform_bits(std::uint64_t seed, std::uint64_t index) {
  return philox4x32(counter_of(index), key_of(seed))[0] >> 8;
}

/// u in [0, 1) for element `index` of a call with `offset`: uniform_bits · 2^-24 (exact).
constexpr double uniform(std::uint64_t seed, std::uint64_t index, std::uint64_t offset = 0) {
  return static_cast<double>(uniform_bits(seed, index + offset)) * 0x1p-24;
}

} // namespace actforge::dsl::philox
