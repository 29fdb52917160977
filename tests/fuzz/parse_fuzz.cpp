// libFuzzer target: parse() must accept or reject any text cleanly, and print() must round-trip.
//
// A finding is a crash, a sanitizer report, an exception other than actforge::Error, an error
// position outside the text, or an expression that does not read back from its printout.
#include "actforge/ir/parse.hpp"
#include "actforge/ir/print.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

using namespace actforge::ir;

const Macro *fuzz_macros(std::string_view name) {
  // Two macros give "alpha" different defaults so that the conflict paths get exercised.
  static const Macro twice{1, input(0) + input(0)};
  static const Macro elu{
      1, select(input(0) > constant(0), input(0), param("alpha", 1.0L) * expm1(input(0)))};
  static const Macro leaky{
      1, select(input(0) > constant(0), input(0), param("alpha", 0.01L) * input(0))};
  static const Macro swap{2, input(1) - input(0)};
  static const Macro positive{1, input(0) > constant(0)};
  static const Macro zero{0, constant(0)};
  if (name == "twice") return &twice;
  if (name == "elu") return &elu;
  if (name == "leaky") return &leaky;
  if (name == "swap") return &swap;
  if (name == "positive") return &positive;
  if (name == "zero") return &zero;
  return nullptr;
}

// Size of the printout's tree (a DAG node counts once per use), saturating: nested macro calls
// such as twice(twice(...)) double it per level, and printing that is slow, not wrong.
std::size_t tree_size(Expr e, std::unordered_map<const Node *, std::size_t> &memo) {
  constexpr std::size_t kCap = std::size_t{1} << 40;
  if (auto it = memo.find(e.get()); it != memo.end()) return it->second;
  std::size_t n = 1;
  for (int i = 0; i < e.num_children(); ++i)
    n = std::min(kCap, n + tree_size(e.child(i), memo));
  memo.emplace(e.get(), n);
  return n;
}

[[noreturn]] void finding(const char *what, std::string_view input, const std::string &detail) {
  std::fprintf(stderr, "FINDING: %s\ninput: %.*s\n%s\n", what, static_cast<int>(input.size()),
               input.data(), detail.c_str());
  std::abort();
}

// An error must point into the text or one past its end.
void check_position(std::string_view text, const actforge::ParseError &err) {
  int lines = 1;
  std::size_t last_line_start = 0;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') {
      ++lines;
      last_line_start = i + 1;
    }
  bool ok = err.line() >= 1 && err.line() <= lines && err.column() >= 1;
  if (ok && err.line() == lines)
    ok = static_cast<std::size_t>(err.column()) <= text.size() - last_line_start + 1;
  if (!ok) finding("error position outside the text", text, err.what());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char *>(data), size);
  ParseOptions options;
  options.macros = fuzz_macros;

  Expr e;
  try {
    e = parse(text, options);
  } catch (const actforge::ParseError &err) {
    check_position(text, err);
    return 0;
  } catch (const actforge::Error &err) {
    finding("an Error that is not a ParseError", text, err.what());
  }

  std::unordered_map<const Node *, std::size_t> memo;
  if (tree_size(e, memo) > 100000) return 0;
  const std::string printed = print(e);
  if (printed.rfind(print_body(e), 0) != 0)
    finding("print() does not start with print_body()", text, printed);
  Expr back;
  try {
    back = parse(printed, options);
  } catch (const actforge::Error &err) {
    finding("the printout does not parse", text, printed + "\n" + err.what());
  }
  if (back != e)
    finding("the printout reads back as another expression", text,
            printed + "\nreads back as\n" + print(back));
  if (print(back) != printed) finding("printing is not stable", text, printed);
  return 0;
}
