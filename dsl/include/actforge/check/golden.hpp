// The golden oracle: shared/golden/activations.csv, values computed without our formulas.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace actforge::check {

struct GoldenPoint {
  long double x, f, df;
};

/// activation name → points, in file order. Throws actforge::Error naming the line on bad input.
using Golden = std::map<std::string, std::vector<GoldenPoint>, std::less<>>;
Golden load_golden(const std::string &path);

/// The copy of the oracle that ships with the source tree (tests/golden/activations.csv).
std::string default_golden_path();

} // namespace actforge::check
