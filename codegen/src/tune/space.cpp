// The schedule space of a target, and neighbourhoods in it.
#include "actforge/codegen/tune.hpp"

#include "actforge/error.hpp"

#include <algorithm>
#include <set>

namespace actforge::codegen::tune {

namespace {

void add(std::vector<Schedule> &out, const Schedule &s) {
  try {
    validate(s);
  } catch (const Error &) {
    return; // e.g. lanes beyond 64, or a chunk that is not a multiple of lanes·unroll
  }
  if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
}

std::vector<std::int64_t> chunks(const SpaceOptions &o, int step) {
  const std::int64_t n = std::max<std::int64_t>(o.n, step);
  std::vector<std::int64_t> raw{n / o.threads, n / (4 * std::int64_t{o.threads}), 1 << 16, 1 << 20};
  std::vector<std::int64_t> out;
  for (std::int64_t c : raw) {
    c = std::min(c, n) / step * step;
    if (c >= step && std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  return out;
}

} // namespace

std::vector<Schedule> space(const SpaceOptions &o) {
  validate(o.natural);
  if (o.threads < 1) throw Error("tune: threads must be at least 1");
  std::vector<Schedule> out{o.natural};
  const int unrolls[] = {1, 2, 4, 8};
  if (o.natural.gpu()) {
    for (int lanes : {1, o.natural.lanes})
      for (int unroll : unrolls)
        for (int threads : {128, 256, 512})
          add(out, Schedule{lanes, unroll, 0, threads});
    return out;
  }
  for (int factor : {1, 2, 4})
    for (int unroll : unrolls) {
      const int lanes = o.natural.lanes * factor;
      add(out, Schedule{lanes, unroll, 0, 0});
      if (o.threads > 1)
        for (std::int64_t c : chunks(o, lanes * unroll))
          add(out, Schedule{lanes, unroll, c, 0});
    }
  return out;
}

std::vector<Schedule> neighbours(const Schedule &s, const std::vector<Schedule> &space) {
  // The distinct values of each dimension, sorted: a step is to the next or previous one.
  auto values = [&](auto field) {
    std::set<std::int64_t> v;
    for (const Schedule &t : space)
      v.insert(field(t));
    return std::vector<std::int64_t>(v.begin(), v.end());
  };
  const auto lanes = [](const Schedule &t) { return std::int64_t{t.lanes}; };
  const auto unroll = [](const Schedule &t) { return std::int64_t{t.unroll}; };
  const auto chunk = [](const Schedule &t) { return t.parallel_chunk; };
  const auto threads = [](const Schedule &t) { return std::int64_t{t.gpu_threads}; };
  auto adjacent = [&](auto field, const Schedule &t) {
    const auto v = values(field);
    const auto a = std::find(v.begin(), v.end(), field(s)) - v.begin();
    const auto b = std::find(v.begin(), v.end(), field(t)) - v.begin();
    return a - b == 1 || b - a == 1;
  };
  std::vector<Schedule> out;
  for (const Schedule &t : space) {
    const int differ = (t.lanes != s.lanes) + (t.unroll != s.unroll) +
                       (t.parallel_chunk != s.parallel_chunk) + (t.gpu_threads != s.gpu_threads);
    if (differ != 1) continue;
    if ((t.lanes != s.lanes && adjacent(lanes, t)) ||
        (t.unroll != s.unroll && adjacent(unroll, t)) ||
        (t.parallel_chunk != s.parallel_chunk &&
         (adjacent(chunk, t) || t.parallel_chunk == 0 || s.parallel_chunk == 0)) ||
        (t.gpu_threads != s.gpu_threads && adjacent(threads, t)))
      out.push_back(t);
  }
  return out;
}

} // namespace actforge::codegen::tune
