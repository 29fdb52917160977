// Shared pieces of the actforge subcommands: argument parsing, exit codes, usage errors.
#pragma once

#include "actforge/check/reference.hpp"

#include "actforge/codegen/hls/hls.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace actforge::cli {

/// Exit codes: 0 all passed, 1 a check failed, 2 bad usage or bad input.
inline constexpr int kOk = 0;
inline constexpr int kCheckFailed = 1;
inline constexpr int kUsage = 2;

/// Thrown for a usage mistake; main() prints it with a pointer to --help and exits 2.
struct UsageError {
  std::string message;
};

/// A minimal argument reader: flags (--json), options with a value (--order 2 or --order=2) and
/// positional arguments, in any order. Unknown flags are usage errors.
class Args {
public:
  Args(std::vector<std::string> args, std::vector<std::string> flags,
       std::vector<std::string> options);
  bool flag(std::string_view name) const;
  std::optional<std::string> option(std::string_view name) const;
  const std::vector<std::string> &positional() const { return positional_; }

private:
  std::vector<std::string> set_flags_;
  std::vector<std::pair<std::string, std::string>> options_;
  std::vector<std::string> positional_;
};

/// An integer option within [lo, hi], or `fallback` when absent.
int int_option(const Args &a, std::string_view name, int fallback, int lo, int hi);

/// A ParseError of `text` as a message quoting the offending line with a caret under the column.
std::string describe_parse_error(std::string_view text, int line, int column,
                                 const std::string &message);

/// check::make_subject(text), with a parse error turned into a UsageError quoting the text.
check::Subject resolve_subject(const std::string &text);

/// The fpga target's numeric options, read from --fixed W.F[:W.F] (input:output formats),
/// --max-error E and --table N into `o` (left as they are when absent). `fpga`: whether the
/// target is fpga; the options are a usage error otherwise.
void read_fpga_options(const Args &a, bool fpga, codegen::hls::Options &o);

/// A comma-separated list; an empty item is a usage error.
std::vector<std::string> split(const std::string &list);
/// --role and --dtype lists, when given, replace the defaults in `roles` / `dtypes`.
void read_roles(const Args &args, std::vector<codegen::Role> &roles);
void read_dtypes(const Args &args, std::vector<codegen::DType> &dtypes);

int cmd_list(const std::vector<std::string> &args);
int cmd_show(const std::vector<std::string> &args);
int cmd_check(const std::vector<std::string> &args);
int cmd_gen(const std::vector<std::string> &args);
int cmd_tune(const std::vector<std::string> &args);
int cmd_report(const std::vector<std::string> &args);
int cmd_analyze(const std::vector<std::string> &args);
int cmd_plot(const std::vector<std::string> &args);

} // namespace actforge::cli
