// Maxout's reference semantics: y = max over each group of k consecutive channels.
//
// Not elementwise, so not an expression: x has layout [outer, C, inner] with C = groups·k, and
// y has layout [outer, groups, inner]. The gradient of a group goes to its first arg-max (the
// convention of PyTorch's max with indices), and a NaN in a group makes its maximum NaN.
#pragma once

#include "actforge/error.hpp"

#include <cstdint>
#include <span>

namespace actforge::dsl {

struct MaxoutShape {
  std::int64_t outer, channels, inner, k;
  std::int64_t groups() const { return channels / k; }
  /// Throws unless x has outer·channels·inner elements and y (or dy) outer·groups·inner.
  void validate(std::size_t in_size, std::size_t out_size) const {
    if (k < 2) throw Error("maxout needs groups of k >= 2 channels");
    if (outer < 0 || inner < 0 || channels < 0 || channels % k != 0)
      throw Error("maxout: the channel count must be a multiple of k");
    if (static_cast<std::size_t>(outer * channels * inner) != in_size)
      throw Error("maxout: the input size does not match [outer, channels, inner]");
    if (static_cast<std::size_t>(outer * groups() * inner) != out_size)
      throw Error("maxout: the output size does not match [outer, channels / k, inner]");
  }
};

/// Index within x of the first arg-max of group (o, grp, i); a NaN counts as the maximum.
template <class T>
std::int64_t maxout_argmax(std::span<const T> in, const MaxoutShape &s, std::int64_t o,
                           std::int64_t grp, std::int64_t i) {
  auto at = [&](std::int64_t c) { return (o * s.channels + grp * s.k + c) * s.inner + i; };
  std::int64_t best = at(0);
  for (std::int64_t c = 1; c < s.k; ++c) {
    const T v = in[static_cast<std::size_t>(at(c))], b = in[static_cast<std::size_t>(best)];
    if (!(b != b) && (v > b || v != v)) best = at(c);
  }
  return best;
}

template <class T>
void maxout_forward(std::span<const T> in, std::span<T> y, const MaxoutShape &s) {
  s.validate(in.size(), y.size());
  for (std::int64_t o = 0; o < s.outer; ++o)
    for (std::int64_t grp = 0; grp < s.groups(); ++grp)
      for (std::int64_t i = 0; i < s.inner; ++i)
        y[static_cast<std::size_t>((o * s.groups() + grp) * s.inner + i)] =
            in[static_cast<std::size_t>(maxout_argmax(in, s, o, grp, i))];
}

/// dx = 0 except at each group's first arg-max, which receives dy.
template <class T>
void maxout_backward(std::span<const T> in, std::span<const T> dy, std::span<T> dx,
                     const MaxoutShape &s) {
  s.validate(in.size(), dy.size());
  if (dx.size() != in.size()) throw Error("maxout: dx must have the size of x");
  for (auto &v : dx)
    v = T(0);
  for (std::int64_t o = 0; o < s.outer; ++o)
    for (std::int64_t grp = 0; grp < s.groups(); ++grp)
      for (std::int64_t i = 0; i < s.inner; ++i)
        dx[static_cast<std::size_t>(maxout_argmax(in, s, o, grp, i))] +=
            dy[static_cast<std::size_t>((o * s.groups() + grp) * s.inner + i)];
}

} // namespace actforge::dsl
