// The printer of the runtime IR: expressions back to the text that parse() reads.
#include "actforge/ir/print.hpp"

#include "actforge/ir/mutate.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

namespace actforge::ir {
namespace {

// Binding strength of what an expression prints as; a child binding more loosely than its
// context needs parentheses.
enum Precedence : int {
  kCondition = 0,
  kAdditive = 1,
  kMultiplicative = 2,
  kUnary = 3, // negation, and negative constants (they print with a leading '-')
  kPrimary = 4,
};

bool is_negative_constant(Expr e) {
  return e.is_const() && !std::isnan(e.value()) && std::signbit(e.value());
}

int precedence(Expr e) {
  switch (e.kind()) {
  case Kind::Add:
  case Kind::Sub: return kAdditive;
  case Kind::Mul:
  case Kind::Div: return kMultiplicative;
  case Kind::Neg: return kUnary;
  case Kind::Const: return is_negative_constant(e) ? kUnary : kPrimary;
  default: return is_comparison(e.kind()) ? kCondition : kPrimary;
  }
}

// The decimal for v with `digits` significant digits, written without an exponent when that
// stays short. The digits come from "%.*Le", so the text denotes exactly the number that the
// exponent form denotes and strtold reads both to the same value.
std::string decimal(long double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*Le", digits - 1, v);
  const std::string sci = buf;
  const std::size_t e_at = sci.find('e');
  std::string mantissa;
  for (std::size_t i = 0; i < e_at; ++i)
    if (sci[i] >= '0' && sci[i] <= '9') mantissa += sci[i];
  while (mantissa.size() > 1 && mantissa.back() == '0')
    mantissa.pop_back();
  const int exponent = std::atoi(sci.c_str() + e_at + 1);
  const int n = static_cast<int>(mantissa.size());

  std::string out = std::signbit(v) ? "-" : "";
  if (exponent >= 0 && exponent < 21) {
    if (exponent >= n - 1) {
      out += mantissa + std::string(static_cast<std::size_t>(exponent - n + 1), '0');
    } else {
      const auto point = static_cast<std::size_t>(exponent + 1);
      out += mantissa.substr(0, point) + "." + mantissa.substr(point);
    }
  } else if (exponent < 0 && exponent >= -5) {
    out += "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + mantissa;
  } else {
    out += mantissa.substr(0, 1);
    if (n > 1) out += "." + mantissa.substr(1);
    out += "e" + std::to_string(exponent);
  }
  return out;
}

std::string format_constant(long double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  // More digits never read back worse, so the shortest that works can be bisected; long double
  // formatting of large exponents is slow enough for the linear search to show.
  const auto reads_back = [v](int digits) {
    return std::strtold(decimal(v, digits).c_str(), nullptr) == v;
  };
  int lo = 1;
  int hi = LDBL_DECIMAL_DIG;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (reads_back(mid))
      hi = mid;
    else
      lo = mid + 1;
  }
  return decimal(v, lo);
}

void emit(Expr e, std::string &out);

void emit_wrapped(Expr e, bool parens, std::string &out) {
  if (parens) out += '(';
  emit(e, out);
  if (parens) out += ')';
}

void emit_binary(Expr e, std::string &out) {
  const int p = precedence(e);
  const Expr l = e.child(0);
  const Expr r = e.child(1);
  const int pl = precedence(l);
  const int pr = precedence(r);
  // Left associativity: an equal-precedence right operand needs parentheses, a left one not.
  emit_wrapped(l, pl < p || (p == kMultiplicative && pl == kUnary), out);
  out += ' ';
  out += spelling(e.kind());
  out += ' ';
  emit_wrapped(r, pr <= p || pr == kUnary, out);
}

void emit_call(std::string_view name, Expr e, std::string &out) {
  out += name;
  out += '(';
  for (int i = 0; i < e.num_children(); ++i) {
    if (i > 0) out += ", ";
    emit(e.child(i), out);
  }
  out += ')';
}

void emit(Expr e, std::string &out) {
  const Kind k = e.kind();
  switch (k) {
  case Kind::Const: out += format_constant(e.value()); return;
  case Kind::Input: out += input_name(e.input_index()); return;
  case Kind::Param: out += e.param_name(); return;
  case Kind::Add:
  case Kind::Sub:
  case Kind::Mul:
  case Kind::Div: emit_binary(e, out); return;
  case Kind::Neg: {
    // "-2" would read back as a negative constant and "--x" looks like a typo.
    const Expr u = e.child(0);
    out += '-';
    emit_wrapped(u, precedence(u) < kPrimary || u.is_const(), out);
    return;
  }
  case Kind::Pow:
    out += "pow(";
    emit(e.child(0), out);
    out += ", " + std::to_string(e.exponent()) + ")";
    return;
  default: break;
  }
  if (is_comparison(k)) {
    // Operands of a comparison are never comparisons, and everything else binds tighter.
    emit(e.child(0), out);
    out += ' ';
    out += spelling(k);
    out += ' ';
    emit(e.child(1), out);
    return;
  }
  emit_call(spelling(k), e, out);
}

void require_defined(Expr e) {
  if (!e.defined()) throw Error("cannot print an undefined expression");
}

} // namespace

std::string print_body(Expr e) {
  require_defined(e);
  std::string out;
  emit(e, out);
  return out;
}

std::string print(Expr e) {
  std::string out = print_body(e);
  std::vector<std::pair<std::string, std::string>> defaults;
  for_each_node(e, [&](Expr n) {
    if (n.kind() == Kind::Param && n.param_default())
      defaults.emplace_back(n.param_name(), format_constant(*n.param_default()));
  });
  std::sort(defaults.begin(), defaults.end());
  defaults.erase(std::unique(defaults.begin(), defaults.end()), defaults.end());
  for (const auto &[name, value] : defaults)
    out += ", " + name + "=" + value;
  return out;
}

} // namespace actforge::ir
