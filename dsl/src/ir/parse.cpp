// The parser of the runtime IR's text form: a lexer and a recursive-descent parser.
#include "actforge/ir/parse.hpp"

#include "actforge/ir/mutate.hpp"
#include "actforge/ir/print.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace actforge::ir {
namespace {

constexpr long double kPi = 3.14159265358979323846264338327950288L;

// ---- Positions and errors -----------------------------------------------------------------------

struct Pos {
  int line = 1;
  int column = 1;
};

std::string at_text(Pos p) { return std::to_string(p.line) + ":" + std::to_string(p.column); }

// Out of line and cold: the parser recurses, and message building must not bloat its frames.
[[noreturn, gnu::noinline, gnu::cold]] void fail(Pos p, const std::string &message) {
  throw ParseError(p.line, p.column, message);
}

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string too_deep(std::uint32_t limit) {
  return "expression is nested too deeply (limit " + std::to_string(limit) + ")";
}

const char *const kComparisonMisuse = "a comparison can only be the condition of select() or '?:'";

// ---- Names --------------------------------------------------------------------------------------

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

struct Builtin {
  std::string_view name;
  Kind kind;
  int arity;
};

// Generated from kind.hpp so that a new function kind is callable from text without edits here.
const std::vector<Builtin> &builtins() {
  static const std::vector<Builtin> table = [] {
    std::vector<Builtin> t;
    for (int i = 0; i < kKindCount; ++i) {
      const auto k = static_cast<Kind>(i);
      if (is_unary_function(k) || k == Kind::Min || k == Kind::Max || k == Kind::Select)
        t.push_back({spelling(k), k, arity(k)});
      else if (k == Kind::Pow)
        t.push_back({spelling(k), k, 2});
    }
    return t;
  }();
  return table;
}

const Builtin *find_builtin(std::string_view name) {
  for (const Builtin &b : builtins())
    if (b.name == name) return &b;
  return nullptr;
}

std::string input_list() {
  std::string s;
  for (int i = 0; i < kMaxInputs; ++i)
    s += std::string(i == 0                ? ""
                     : i + 1 == kMaxInputs ? " and "
                                           : ", ") +
         std::string(input_name(i));
  return s;
}

// What a reserved word stands for; nullopt for names free to be parameters.
struct Reserved {
  enum Type { Input, Constant, Function, BadInput } type;
  int input = 0;
  long double value = 0;
};

std::optional<Reserved> reserved(std::string_view name) {
  for (int i = 0; i < kMaxInputs; ++i)
    if (name == input_name(i)) return Reserved{Reserved::Input, i, 0};
  if (name == "inf")
    return Reserved{Reserved::Constant, 0, std::numeric_limits<long double>::infinity()};
  if (name == "nan")
    return Reserved{Reserved::Constant, 0, std::numeric_limits<long double>::quiet_NaN()};
  if (name == "pi") return Reserved{Reserved::Constant, 0, kPi};
  if (find_builtin(name)) return Reserved{Reserved::Function, 0, 0};
  // in0, in1, in4, ...: almost certainly meant as an input, so not silently a parameter.
  if (name.size() > 2 && name.substr(0, 2) == "in" &&
      std::all_of(name.begin() + 2, name.end(), is_digit))
    return Reserved{Reserved::BadInput, 0, 0};
  return std::nullopt;
}

// Optimal string alignment distance: edit distance that counts a transposition as one edit.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::string suggestion(std::string_view name) {
  // Short names are too close to everything: "sin" is not a typo of "min".
  const std::size_t allowed = std::min<std::size_t>(2, (name.size() - 1) / 3);
  if (allowed == 0 || name.size() > 64) return "";
  std::string_view best;
  std::size_t best_distance = allowed + 1;
  for (const Builtin &b : builtins()) {
    const std::size_t dist = edit_distance(name, b.name);
    if (dist < best_distance) {
      best = b.name;
      best_distance = dist;
    }
  }
  return best.empty() ? "" : " (did you mean " + quote(best) + "?)";
}

// ---- Lexer --------------------------------------------------------------------------------------

enum class Tok : std::uint8_t {
  End,
  Number,
  Ident,
  LParen,
  RParen,
  Comma,
  Plus,
  Minus,
  Star,
  Slash,
  Question,
  Colon,
  Gt,
  Ge,
  Lt,
  Le,
  EqEq,
  Ne,
  Assign,
};

struct Token {
  Tok kind = Tok::End;
  Pos pos;
  std::string_view text;
  long double value = 0; // Number only
};

std::string describe(const Token &t) {
  if (t.kind == Tok::End) return "end of input";
  constexpr std::size_t kShown = 40;
  if (t.text.size() > kShown) return "'" + std::string(t.text.substr(0, kShown)) + "...'";
  return quote(t.text);
}

std::string describe_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return quote(std::string_view(&c, 1));
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", u);
  return std::string("byte ") + buf;
}

class Lexer {
public:
  explicit Lexer(std::string_view text) : text_(text) {}
  Token next();

private:
  bool at(std::size_t i, char c) const { return i < text_.size() && text_[i] == c; }
  template <class Pred> bool at(std::size_t i, Pred pred) const {
    return i < text_.size() && pred(text_[i]);
  }
  Pos pos_of(std::size_t offset) const;
  void skip_blanks();
  Token number();

  std::string_view text_;
  std::size_t i_ = 0;
  std::size_t line_ = 1;
  std::size_t line_start_ = 0;
};

Pos Lexer::pos_of(std::size_t offset) const {
  constexpr std::size_t kMax = INT_MAX;
  return {static_cast<int>(std::min(line_, kMax)),
          static_cast<int>(std::min(offset - line_start_ + 1, kMax))};
}

void Lexer::skip_blanks() {
  while (i_ < text_.size()) {
    const char c = text_[i_];
    if (c == '\n') {
      ++line_;
      line_start_ = ++i_;
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
      ++i_;
    } else if (c == '#') {
      while (i_ < text_.size() && text_[i_] != '\n')
        ++i_;
    } else {
      break;
    }
  }
}

// Scans a C literal by hand rather than letting strtold decide where it ends, so that "2e" or
// "1.5.3" are errors and "0x1e+2" is 0x1e plus 2 (strtold would stop quietly, or read "inf").
Token Lexer::number() {
  const std::size_t start = i_;
  const Pos pos = pos_of(start);
  const bool hex = at(i_, '0') && (at(i_ + 1, 'x') || at(i_ + 1, 'X'));
  const auto digit = hex ? is_hex_digit : is_digit;
  bool ok = true;
  bool fraction = false;
  bool exponent = false;
  std::size_t digits = 0;
  if (hex) i_ += 2;
  for (; at(i_, digit); ++i_)
    ++digits;
  if (at(i_, '.')) {
    fraction = true;
    for (++i_; at(i_, digit); ++i_)
      ++digits;
  }
  ok = digits > 0;
  const char e_lower = hex ? 'p' : 'e';
  const char e_upper = hex ? 'P' : 'E';
  if (ok && (at(i_, e_lower) || at(i_, e_upper))) {
    exponent = true;
    std::size_t j = i_ + 1;
    if (at(j, '+') || at(j, '-')) ++j;
    ok = at(j, is_digit);
    for (i_ = j; at(i_, is_digit); ++i_) {
    }
  }
  const std::size_t literal_end = i_;
  if (at(i_, 'f') || at(i_, 'F') || at(i_, 'l') || at(i_, 'L')) ++i_;
  // Glued letters or digits make the whole run one bad token, reported in full.
  while (at(i_, is_ident_char) || at(i_, '.')) {
    ok = false;
    ++i_;
  }
  const std::string_view text = text_.substr(start, i_ - start);
  if (!ok) fail(pos, "invalid number " + quote(text));
  if (!hex && !fraction && !exponent && literal_end - start > 1 && text_[start] == '0')
    fail(pos, "invalid number " + quote(text) +
                  ": a leading 0 would make it octal in C; write it without the leading zero");

  const std::string literal(text_.substr(start, literal_end - start));
  char *end = nullptr;
  errno = 0;
  const long double value = std::strtold(literal.c_str(), &end);
  if (end != literal.c_str() + literal.size()) fail(pos, "invalid number " + quote(text));
  if (errno == ERANGE && std::isinf(value)) fail(pos, "number " + quote(text) + " is too large");
  Token t;
  t.kind = Tok::Number;
  t.pos = pos;
  t.text = text;
  t.value = value;
  return t;
}

Token Lexer::next() {
  skip_blanks();
  Token t;
  t.pos = pos_of(i_);
  if (i_ == text_.size()) return t;
  const char c = text_[i_];
  if (is_digit(c) || (c == '.' && at(i_ + 1, is_digit))) return number();
  const std::size_t start = i_;
  if (is_ident_start(c)) {
    while (at(i_, is_ident_char))
      ++i_;
    t.kind = Tok::Ident;
    t.text = text_.substr(start, i_ - start);
    return t;
  }
  std::size_t length = 1;
  const bool then_eq = at(i_ + 1, '=');
  switch (c) {
  case '(': t.kind = Tok::LParen; break;
  case ')': t.kind = Tok::RParen; break;
  case ',': t.kind = Tok::Comma; break;
  case '+': t.kind = Tok::Plus; break;
  case '-': t.kind = Tok::Minus; break;
  case '*': t.kind = Tok::Star; break;
  case '/': t.kind = Tok::Slash; break;
  case '?': t.kind = Tok::Question; break;
  case ':': t.kind = Tok::Colon; break;
  case '>': t.kind = then_eq ? Tok::Ge : Tok::Gt; break;
  case '<': t.kind = then_eq ? Tok::Le : Tok::Lt; break;
  case '=': t.kind = then_eq ? Tok::EqEq : Tok::Assign; break;
  case '!':
    if (!then_eq) fail(t.pos, "unexpected character '!' (the only operator with '!' is '!=')");
    t.kind = Tok::Ne;
    break;
  case '^': fail(t.pos, "unexpected character '^' (write powers as pow(x, 3))");
  default: fail(t.pos, "unexpected character " + describe_char(c));
  }
  if (then_eq && (c == '>' || c == '<' || c == '=' || c == '!')) length = 2;
  i_ += length;
  t.text = text_.substr(start, length);
  return t;
}

// ---- Parser -------------------------------------------------------------------------------------

bool is_comparison_token(Tok t) { return t >= Tok::Gt && t <= Tok::Ne; }

Kind comparison_kind(Tok t) {
  switch (t) {
  case Tok::Gt: return Kind::Gt;
  case Tok::Ge: return Kind::Ge;
  case Tok::Lt: return Kind::Lt;
  case Tok::Le: return Kind::Le;
  case Tok::EqEq: return Kind::Eq;
  default: return Kind::Ne;
  }
}

bool same_value(long double a, long double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

std::string number_text(long double v) { return print_body(constant(v)); }

// A parsed operand. A comparison travels as an operand so that "(x > 0) ? a : b" works, and is
// rejected, at its operator, wherever a number is needed.
struct Operand {
  Expr e;
  Pos start;
  Pos comparison; // the comparison operator, when e is a condition
};

struct ExplicitDefault {
  std::string_view name;
  long double value;
  Pos pos;
};

class Parser {
public:
  Parser(std::string_view text, const ParseOptions &options) : lexer_(text), options_(options) {
    tok_ = lexer_.next();
  }
  Expr parse_all();

private:
  // Counts one level of nesting in the text for its lifetime; every recursion of the parser
  // passes through one, which bounds the parser's stack by max_depth.
  class Nest {
  public:
    Nest(Parser &parser, Pos at) : parser_(parser) {
      if (parser_.nest_ >= parser_.options_.max_depth) parser_.fail_too_deep(at);
      ++parser_.nest_;
    }
    ~Nest() { --parser_.nest_; }
    Nest(const Nest &) = delete;
    Nest &operator=(const Nest &) = delete;

  private:
    Parser &parser_;
  };

  [[gnu::noinline]] void advance() { tok_ = lexer_.next(); }
  Token take() {
    Token t = tok_;
    advance();
    return t;
  }
  // Builds the message out of line, so that the recursive callers hold no string temporaries.
  template <class... Parts>
  [[noreturn, gnu::noinline, gnu::cold]] void expected(const Parts &...parts) const {
    std::string what;
    (append(what, parts), ...);
    fail(tok_.pos, "expected " + what + ", found " + describe(tok_));
  }
  static void append(std::string &s, std::string_view part) { s += part; }
  static void append(std::string &s, Pos p) { s += at_text(p); }
  bool at_signed_literal() const {
    return tok_.kind == Tok::Number ||
           (tok_.kind == Tok::Ident && (tok_.text == "inf" || tok_.text == "nan"));
  }
  static long double literal_value(const Token &t) {
    return t.kind == Tok::Number ? t.value : reserved(t.text)->value;
  }

  Operand ternary();
  Operand arithmetic();
  Operand operand();
  Operand primary();
  struct Callee {
    const Builtin *builtin = nullptr;
    const Macro *macro = nullptr;
  };
  // Out of line, like leaf() and advance(): what they inline would bloat the recursive frames.
  [[gnu::noinline]] Operand call(const Token &name);
  [[gnu::noinline]] Callee callee(const Token &name) const;
  [[gnu::noinline]] Operand apply(const Token &name, const Callee &c,
                                  const std::vector<Operand> &args);
  [[gnu::noinline]] Expr leaf(const Token &name) const;
  long double default_value(std::string_view name);
  Expr unify_parameters(Expr e, const std::vector<ExplicitDefault> &explicit_defaults) const;

  static Expr value(const Operand &o) {
    if (o.e.is_condition()) fail(o.comparison, kComparisonMisuse);
    return o.e;
  }

  // Runs an Expr factory, turning its errors into parse errors at `at`, and bounds tree depth.
  template <class F> Expr build(Pos at, F &&factory) const {
    Expr r;
    try {
      r = factory();
    } catch (const Error &e) { // the factories and substitute() throw no ParseError
      fail_with(at, e);
    }
    if (r.depth() > options_.max_depth) fail_too_deep(at);
    return r;
  }
  [[noreturn, gnu::noinline, gnu::cold]] static void fail_with(Pos at, const Error &e) {
    fail(at, e.what());
  }
  [[noreturn, gnu::noinline, gnu::cold]] void fail_too_deep(Pos at) const {
    fail(at, too_deep(options_.max_depth));
  }

  Lexer lexer_;
  const ParseOptions &options_;
  Token tok_;
  std::uint32_t nest_ = 0;
  // Defaults that macro bodies brought, per parameter name, each distinct value once with the
  // call that brought it first.
  struct MacroDefault {
    long double value;
    Pos pos;
  };
  std::map<std::string, std::vector<MacroDefault>, std::less<>> macro_defaults_;
};

Expr Parser::parse_all() {
  const Expr body = value(ternary());
  std::vector<ExplicitDefault> defaults;
  while (tok_.kind == Tok::Comma) {
    take();
    if (tok_.kind != Tok::Ident) expected("a parameter default such as ', beta=1'");
    const Token name = take();
    if (auto r = reserved(name.text)) {
      const char *what = r->type == Reserved::Input      ? "an input"
                         : r->type == Reserved::Constant ? "a constant"
                         : r->type == Reserved::Function ? "a function"
                                                         : "reserved for inputs";
      fail(name.pos,
           quote(name.text) + " is " + what + ", not a parameter; it cannot have a default");
    }
    for (const ExplicitDefault &d : defaults)
      if (d.name == name.text)
        fail(name.pos, "parameter " + quote(name.text) + " already has a default (at " +
                           at_text(d.pos) + ")");
    if (tok_.kind != Tok::Assign) expected("'=' after parameter name '", name.text, "'");
    take();
    defaults.push_back({name.text, default_value(name.text), name.pos});
  }
  if (tok_.kind != Tok::End) {
    if (!defaults.empty())
      expected("',' or end of input after the default of '", defaults.back().name, "'");
    if (tok_.kind == Tok::RParen) fail(tok_.pos, "found ')' with no matching '('");
    expected("an operator or end of input");
  }
  return unify_parameters(body, defaults);
}

long double Parser::default_value(std::string_view name) {
  bool negative = false;
  if (tok_.kind == Tok::Minus || tok_.kind == Tok::Plus) negative = take().kind == Tok::Minus;
  const bool pi = tok_.kind == Tok::Ident && tok_.text == "pi";
  if (!at_signed_literal() && !pi) expected("a number as the default of '", name, "'");
  const long double v = literal_value(take());
  return negative ? -v : v;
}

Expr Parser::unify_parameters(Expr e, const std::vector<ExplicitDefault> &explicit_defaults) const {
  std::map<std::string, std::vector<Expr>, std::less<>> occurrences;
  for_each_node(e, [&](Expr n) {
    if (n.kind() == Kind::Param) occurrences[n.param_name()].push_back(n);
  });
  for (const ExplicitDefault &d : explicit_defaults)
    if (occurrences.find(d.name) == occurrences.end())
      fail(d.pos, "parameter " + quote(d.name) + " is not used");

  std::unordered_map<Expr, Expr, ExprHash> replacements;
  for (const auto &entry : occurrences) {
    const std::string &name = entry.first;
    std::optional<long double> target;
    const auto given = std::find_if(explicit_defaults.begin(), explicit_defaults.end(),
                                    [&](const ExplicitDefault &d) { return d.name == name; });
    if (given != explicit_defaults.end()) {
      target = given->value;
    } else if (auto it = macro_defaults_.find(name); it != macro_defaults_.end()) {
      const std::vector<MacroDefault> &seen = it->second;
      if (seen.size() > 1)
        fail(seen[1].pos, "parameter " + quote(name) + " gets the default " +
                              number_text(seen[1].value) + " here but " +
                              number_text(seen[0].value) + " at " + at_text(seen[0].pos) +
                              "; choose one by writing ', " + name + "=VALUE' at the end");
      target = seen[0].value;
    }
    const Expr wanted = param(name, target);
    for (const Expr n : entry.second)
      if (n != wanted) replacements.emplace(n, wanted);
  }
  return replacements.empty() ? e : substitute(e, replacements);
}

Operand Parser::ternary() {
  Operand lhs = arithmetic();
  if (is_comparison_token(tok_.kind)) {
    const Tok op = tok_.kind;
    const Pos op_pos = tok_.pos;
    advance();
    const Expr l = value(lhs);
    const Expr r = value(arithmetic());
    lhs = {build(op_pos, [&] { return make(comparison_kind(op), l, r); }), lhs.start, op_pos};
    if (is_comparison_token(tok_.kind))
      fail(tok_.pos, std::string(kComparisonMisuse) + " (comparisons do not chain)");
  }
  if (tok_.kind != Tok::Question) return lhs;
  const Pos question = tok_.pos;
  advance();
  if (!lhs.e.is_condition())
    fail(lhs.start, "the condition of '?:' must be a comparison such as x > 0");
  const Nest nest(*this, question);
  const Expr a = value(ternary());
  if (tok_.kind != Tok::Colon) expected("':' to go with '?' at ", question);
  advance();
  const Expr b = value(ternary());
  return {build(question, [&] { return select(lhs.e, a, b); }), lhs.start, {}};
}

// Both precedence levels of + - * / in one loop, holding at most one pending left operand per
// level: nesting in the text then costs few stack frames (ternary, arithmetic, operand).
Operand Parser::arithmetic() {
  struct Pending {
    Expr lhs;
    Pos start;
    Kind kind = Kind::Add;
    Pos at;
    bool active = false;
  };
  Pending sum;
  Pending product;
  const auto reduce = [this](Pending &p, const Operand &rhs) -> Operand {
    p.active = false;
    const Expr r = value(rhs);
    return {build(p.at, [&] { return make(p.kind, p.lhs, r); }), p.start, {}};
  };
  for (;;) {
    Operand o = operand();
    if (product.active) o = reduce(product, o);
    const Tok t = tok_.kind;
    if (t == Tok::Star || t == Tok::Slash) {
      product = {value(o), o.start, t == Tok::Star ? Kind::Mul : Kind::Div, tok_.pos, true};
      advance();
      continue;
    }
    if (sum.active) o = reduce(sum, o);
    if (t == Tok::Plus || t == Tok::Minus) {
      sum = {value(o), o.start, t == Tok::Plus ? Kind::Add : Kind::Sub, tok_.pos, true};
      advance();
      continue;
    }
    return o;
  }
}

// Prefix signs are collected in a loop, not by recursion, so a long run of them cannot exhaust
// the stack; the Neg chain they build is bounded by the tree depth check instead.
Operand Parser::operand() {
  std::vector<Pos> negations;
  Pos first = tok_.pos;
  bool signed_ = false;
  bool last_is_minus = false;
  while (tok_.kind == Tok::Minus || tok_.kind == Tok::Plus) {
    signed_ = true;
    last_is_minus = tok_.kind == Tok::Minus;
    if (last_is_minus) negations.push_back(tok_.pos);
    advance();
  }
  Operand o;
  if (last_is_minus && at_signed_literal()) {
    const Pos minus = negations.back();
    negations.pop_back();
    o = {constant(-literal_value(tok_)), minus, {}};
    advance();
  } else {
    o = primary();
  }
  if (!signed_) return o;
  Expr v = value(o);
  for (auto it = negations.rbegin(); it != negations.rend(); ++it)
    v = build(*it, [&] { return -v; });
  return {v, first, {}};
}

Operand Parser::primary() {
  const Pos pos = tok_.pos;
  switch (tok_.kind) {
  case Tok::Number: {
    const long double v = tok_.value;
    advance();
    return {constant(v), pos, {}};
  }
  case Tok::LParen: {
    advance();
    const Nest nest(*this, pos);
    Operand inner = ternary();
    if (tok_.kind != Tok::RParen) expected("')' to close '(' at ", pos);
    advance();
    inner.start = pos;
    return inner;
  }
  case Tok::Ident: {
    const Token name = tok_;
    advance();
    if (tok_.kind == Tok::LParen) return call(name);
    return {leaf(name), pos, {}};
  }
  default: expected("an expression");
  }
}

Expr Parser::leaf(const Token &name) const {
  const std::optional<Reserved> r = reserved(name.text);
  if (!r) return param(std::string(name.text));
  switch (r->type) {
  case Reserved::Input: return input(r->input);
  case Reserved::Constant: return constant(r->value);
  case Reserved::Function:
    fail(name.pos,
         quote(name.text) + " is a function; call it as " + std::string(name.text) + "(...)");
  case Reserved::BadInput: break;
  }
  fail(name.pos, quote(name.text) + " is not an input; the inputs are " + input_list());
}

Parser::Callee Parser::callee(const Token &name) const {
  const std::string_view fn = name.text;
  Callee c;
  c.builtin = find_builtin(fn);
  if (c.builtin) return c;
  if (auto r = reserved(fn); r && r->type != Reserved::BadInput)
    fail(name.pos, quote(fn) + " is " + (r->type == Reserved::Input ? "an input" : "a constant") +
                       ", not a function");
  if (options_.macros) c.macro = options_.macros(fn);
  if (!c.macro) fail(name.pos, "unknown function " + quote(fn) + suggestion(fn));
  if (c.macro->arity < 0 || c.macro->arity > kMaxInputs || !c.macro->body.defined())
    fail(name.pos, "macro " + quote(fn) + " is malformed (arity " + std::to_string(c.macro->arity) +
                       ", or no body)");
  return c;
}

// Only the argument loop sits on the recursion path; resolving and applying the callee happen in
// out-of-line functions whose frames are gone by the time the arguments are parsed.
Operand Parser::call(const Token &name) {
  const Callee c = callee(name);
  const Pos open = tok_.pos;
  advance();
  const Nest nest(*this, open);
  std::vector<Operand> args;
  if (tok_.kind != Tok::RParen) {
    for (;;) {
      args.push_back(ternary());
      if (tok_.kind == Tok::RParen) break;
      if (tok_.kind != Tok::Comma) expected("',' or ')' to close '", name.text, "(' at ", open);
      advance();
    }
  }
  advance();
  return apply(name, c, args);
}

Operand Parser::apply(const Token &name, const Callee &c, const std::vector<Operand> &args) {
  const int wanted = c.builtin ? c.builtin->arity : c.macro->arity;
  if (args.size() != static_cast<std::size_t>(wanted))
    fail(name.pos, quote(name.text) + " takes " + std::to_string(wanted) +
                       (wanted == 1 ? " argument" : " arguments") + ", got " +
                       std::to_string(args.size()));

  if (c.macro) {
    std::unordered_map<Expr, Expr, ExprHash> arguments;
    for (int i = 0; i < wanted; ++i)
      arguments.emplace(input(i), value(args[static_cast<std::size_t>(i)]));
    const Expr body = c.macro->body;
    const Expr e = build(name.pos, [&] { return substitute(body, arguments); });
    for_each_node(body, [&](Expr n) {
      if (n.kind() != Kind::Param || !n.param_default()) return;
      std::vector<MacroDefault> &seen = macro_defaults_[n.param_name()];
      const long double v = *n.param_default();
      if (std::none_of(seen.begin(), seen.end(),
                       [&](const MacroDefault &d) { return same_value(d.value, v); }))
        seen.push_back({v, name.pos});
    });
    return {e, name.pos, name.pos};
  }

  const Kind k = c.builtin->kind;
  switch (k) {
  case Kind::Select: {
    if (!args[0].e.is_condition())
      fail(args[0].start, "the condition of select() must be a comparison such as x > 0");
    const Expr a = value(args[1]);
    const Expr b = value(args[2]);
    return {build(name.pos, [&] { return select(args[0].e, a, b); }), name.pos, {}};
  }
  case Kind::Pow: {
    const Expr base = value(args[0]);
    const Expr n = args[1].e;
    if (!n.is_const() || !std::isfinite(n.value()) || n.value() != std::trunc(n.value()))
      fail(args[1].start, "pow() needs an integer literal exponent");
    if (n.value() < INT_MIN || n.value() > INT_MAX)
      fail(args[1].start, "the exponent of pow() must lie between " + std::to_string(INT_MIN) +
                              " and " + std::to_string(INT_MAX));
    const int exponent = static_cast<int>(n.value());
    return {build(name.pos, [&] { return pow(base, exponent); }), name.pos, {}};
  }
  case Kind::Min:
  case Kind::Max: {
    const Expr a = value(args[0]);
    const Expr b = value(args[1]);
    return {build(name.pos, [&] { return make(k, a, b); }), name.pos, {}};
  }
  default: {
    const Expr a = value(args[0]);
    return {build(name.pos, [&] { return make(k, a); }), name.pos, {}};
  }
  }
}

} // namespace

Expr parse(std::string_view text, const ParseOptions &options) {
  if (text.size() > options.max_bytes)
    throw ParseError(1, 1,
                     "input is " + std::to_string(text.size()) + " bytes; the limit is " +
                         std::to_string(options.max_bytes));
  Parser parser(text, options);
  return parser.parse_all();
}

} // namespace actforge::ir
