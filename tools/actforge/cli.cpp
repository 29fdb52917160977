// Argument parsing for the actforge subcommands.
#include "cli.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace actforge::cli {

Args::Args(std::vector<std::string> args, std::vector<std::string> flags,
           std::vector<std::string> options) {
  auto known = [](const std::vector<std::string> &set, const std::string &s) {
    return std::find(set.begin(), set.end(), s) != set.end();
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) {
      positional_.push_back(
          a); // includes "-x..." text such as "-x*2": expressions may start with '-'
      continue;
    }
    const auto eq = a.find('=');
    const std::string name = a.substr(0, eq);
    if (known(flags, name) && eq == std::string::npos) {
      set_flags_.push_back(name);
    } else if (known(options, name)) {
      if (eq != std::string::npos)
        options_.emplace_back(name, a.substr(eq + 1));
      else if (i + 1 < args.size())
        options_.emplace_back(name, args[++i]);
      else
        throw UsageError{name + " needs a value"};
    } else {
      throw UsageError{"unknown option '" + a + "'"};
    }
  }
}

bool Args::flag(std::string_view name) const {
  return std::find(set_flags_.begin(), set_flags_.end(), name) != set_flags_.end();
}

std::optional<std::string> Args::option(std::string_view name) const {
  std::optional<std::string> last;
  for (const auto &[k, v] : options_)
    if (k == name) last = v;
  return last;
}

int int_option(const Args &a, std::string_view name, int fallback, int lo, int hi) {
  const auto text = a.option(name);
  if (!text) return fallback;
  int v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || end != text->data() + text->size() || v < lo || v > hi)
    throw UsageError{std::string(name) + " must be an integer from " + std::to_string(lo) + " to " +
                     std::to_string(hi) + ", got '" + *text + "'"};
  return v;
}

std::string describe_parse_error(std::string_view text, int line, int column,
                                 const std::string &message) {
  std::string_view rest = text;
  for (int l = 1; l < line; ++l) {
    const auto nl = rest.find('\n');
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  std::string quoted(rest.substr(0, std::min(rest.find('\n'), std::size_t{200})));
  std::string caret(static_cast<std::size_t>(std::max(0, column - 1)), ' ');
  for (std::size_t i = 0; i < caret.size() && i < quoted.size(); ++i)
    if (quoted[i] == '\t') caret[i] = '\t'; // keep the caret aligned under tabs
  return "at " + std::to_string(line) + ":" + std::to_string(column) + ": " + message + "\n  " +
         quoted + "\n  " + caret + "^";
}

check::Subject resolve_subject(const std::string &text) {
  try {
    return check::make_subject(text);
  } catch (const ParseError &e) {
    throw UsageError{"cannot read the expression " +
                     describe_parse_error(text, e.line(), e.column(), e.message())};
  }
}

void read_fpga_options(const Args &a, bool fpga, codegen::hls::Options &o) {
  const auto fixed = a.option("--fixed");
  const auto bound = a.option("--max-error");
  const auto table = a.option("--table");
  if (!fpga) {
    if (fixed || bound || table)
      throw UsageError{"--fixed, --max-error and --table go with --target fpga"};
    return;
  }
  if ((bound || table) && !fixed)
    throw UsageError{"--max-error and --table choose table sizes: they go with --fixed W.F"};
  if (bound && table) throw UsageError{"give --max-error or --table, not both"};
  try {
    if (fixed) {
      const std::size_t colon = fixed->find(':');
      o.in = codegen::hls::parse_fixed(fixed->substr(0, colon));
      o.out =
          colon == std::string::npos ? *o.in : codegen::hls::parse_fixed(fixed->substr(colon + 1));
    }
  } catch (const Error &e) {
    throw UsageError{std::string("--fixed: ") + e.what()};
  }
  if (bound) {
    char *end = nullptr;
    const double v = std::strtod(bound->c_str(), &end);
    if (bound->empty() || *end || !(v > 0) || !std::isfinite(v))
      throw UsageError{"--max-error must be a positive number, got '" + *bound + "'"};
    o.max_error = v;
  }
  if (table) {
    char *end = nullptr;
    const long v = std::strtol(table->c_str(), &end, 10);
    if (table->empty() || *end || v < 1 || v > 65536 || (v & (v - 1)) != 0)
      throw UsageError{"--table must be a power of two from 1 to 65536 (intervals), got '" +
                       *table + "'"};
    o.table_intervals = static_cast<int>(v);
  }
}

std::vector<std::string> split(const std::string &list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t comma; (comma = list.find(',', start)) != std::string::npos; start = comma + 1)
    out.push_back(list.substr(start, comma - start));
  out.push_back(list.substr(start));
  for (const auto &s : out)
    if (s.empty()) throw UsageError{"empty item in the list '" + list + "'"};
  return out;
}

/// --role and --dtype lists, when given, replace the defaults in `roles` / `dtypes`.
void read_roles(const Args &args, std::vector<codegen::Role> &roles) {
  if (auto r = args.option("--role")) {
    roles.clear();
    for (const auto &s : split(*r))
      roles.push_back(codegen::parse_role(s));
  }
}
void read_dtypes(const Args &args, std::vector<codegen::DType> &dtypes) {
  if (auto d = args.option("--dtype")) {
    dtypes.clear();
    for (const auto &s : split(*d))
      dtypes.push_back(codegen::parse_dtype(s));
  }
}

} // namespace actforge::cli
