// Loader of the golden CSV: activation,x_hex,x,f,df with '#' comment lines.
#include "actforge/check/golden.hpp"

#include "actforge/error.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace actforge::check {
namespace {
long double number(const std::string &field, const std::string &path, int line) {
  char *end = nullptr;
  const long double v = std::strtold(field.c_str(), &end);
  if (field.empty() || *end != '\0')
    throw Error(path + ":" + std::to_string(line) + ": '" + field + "' is not a number");
  return v;
}
} // namespace

Golden load_golden(const std::string &path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open the golden values '" + path + "'");
  Golden golden;
  std::string text;
  int line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.empty() || text[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream row(text);
    for (std::string field; std::getline(row, field, ',');)
      fields.push_back(field);
    if (fields.size() != 5)
      throw Error(path + ":" + std::to_string(line) + ": expected 5 fields, found " +
                  std::to_string(fields.size()));
    golden[fields[0]].push_back({number(fields[1], path, line), number(fields[3], path, line),
                                 number(fields[4], path, line)});
  }
  return golden;
}

std::string default_golden_path() {
  if (const char *env = std::getenv("ACTFORGE_GOLDEN")) return env;
  return ACTFORGE_GOLDEN_CSV;
}

} // namespace actforge::check
