// check_rules(): an HLS kernel's C compiled by gcc, clang and g++, its objects' undefined symbols
// listed by nm, and its source scanned for what the fpga rules forbid.
#include "actforge/error.hpp"
#include "actforge/targets/fpga.hpp"
#include "actforge/targets/process.hpp"
#include "actforge/targets/program.hpp"
#include "actforge/targets/temp_dir.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>
#include <sstream>

namespace actforge::targets::fpga {
namespace {

// ---- Compilers and nm ----------------------------------------------------------------------

std::string join(const std::vector<std::string> &words) {
  std::string s;
  for (const auto &w : words)
    s += (s.empty() ? "" : " ") + w;
  return s;
}

const char *package_of(const std::string &tool) {
  if (tool == "nm") return "binutils";
  return tool == "g++" ? "g++" : tool == "clang" ? "clang" : "gcc";
}

// Compiles c_file with one compiler and flag set, then lists the object's undefined symbols.
void compile_and_nm(const TempDir &dir, const Compiler &cc, const std::vector<std::string> &flags,
                    const std::string &label, const std::string &c_file, const std::string &nm,
                    RuleCheck &check) {
  const std::string object = c_file + "." + label + ".o";
  std::vector<std::string> args{cc.path};
  args.insert(args.end(), flags.begin(), flags.end());
  args.insert(args.end(), {"-c", dir.path() + "/" + c_file, "-o", dir.path() + "/" + object});
  std::vector<std::string> shown{cc.name};
  shown.insert(shown.end(), flags.begin(), flags.end());
  shown.insert(shown.end(), {"-c", c_file});
  check.ran.push_back(join(shown));
  try {
    run_program(args, c_file + " does not compile with " + join(shown));
  } catch (const Error &e) {
    check.problems.push_back(dir.relative(e.what()));
    return;
  }
  if (nm.empty()) return;
  check.ran.push_back("nm -u " + object);
  std::string undefined;
  try {
    undefined = run_program({nm, "-u", dir.path() + "/" + object}, "nm -u " + object + " failed");
  } catch (const Error &e) {
    check.problems.push_back(dir.relative(e.what()));
    return;
  }
  std::istringstream lines(undefined);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string symbol;
    for (std::string w; words >> w;)
      symbol = w;
    if (!symbol.empty())
      check.problems.push_back(c_file + " (" + label + "): the object calls `" + symbol +
                               "` (nm -u): a kernel calls no library function");
  }
}

// ---- Source text ---------------------------------------------------------------------------

// Comments replaced by spaces (newlines kept, so line numbers hold); string and character
// literals too unless keep_literals.
std::string strip(const std::string &text, bool keep_literals) {
  std::string out = text;
  enum { Code, Line, Block, Str, Chr } state = Code;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    switch (state) {
    case Code:
      if (c == '/' && next == '/')
        state = Line, out[i] = ' ';
      else if (c == '/' && next == '*')
        state = Block, out[i] = out[i + 1] = ' ', ++i;
      else if (c == '"')
        state = Str;
      else if (c == '\'')
        state = Chr;
      break;
    case Line:
      if (c == '\n')
        state = Code;
      else
        out[i] = ' ';
      break;
    case Block:
      if (c == '*' && next == '/')
        state = Code, out[i] = out[i + 1] = ' ', ++i;
      else if (c != '\n')
        out[i] = ' ';
      break;
    case Str:
    case Chr:
      if (c == '\\' && next != '\0') {
        if (!keep_literals) out[i] = out[i + 1] = ' ';
        ++i;
      } else if (c == (state == Str ? '"' : '\'') || c == '\n') {
        state = Code;
      } else if (!keep_literals) {
        out[i] = ' ';
      }
      break;
    }
  }
  return out;
}

std::vector<std::string> split_lines(const std::string &text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

// A preprocessor directive: its first line (1-based), its name and the rest, continuations joined.
struct Directive {
  int line = 0;
  std::string name; // include, define, pragma, ifdef, ...
  std::string rest;
};

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string trim(const std::string &s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

struct Token {
  enum Kind { Ident, Number, Punct } kind;
  std::string text;
  int line;
};

// Tokens of one line of code: identifiers, preprocessing numbers (so 1e-5f is one token), and
// single punctuation characters.
void tokenize(const std::string &text, int line, std::vector<Token> &out) {
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (is_ident_start(c)) {
      std::size_t j = i;
      while (j < text.size() && is_ident_char(text[j]))
        ++j;
      out.push_back({Token::Ident, text.substr(i, j - i), line});
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < text.size() &&
                std::isdigit(static_cast<unsigned char>(text[i + 1])))) {
      std::size_t j = i + 1;
      while (j < text.size() && (is_ident_char(text[j]) || text[j] == '.' ||
                                 ((text[j] == '+' || text[j] == '-') &&
                                  std::string("eEpP").find(text[j - 1]) != std::string::npos)))
        ++j;
      out.push_back({Token::Number, text.substr(i, j - i), line});
      i = j;
    } else {
      out.push_back({Token::Punct, std::string(1, c), line});
      ++i;
    }
  }
}

// One file split into directives and code tokens.
struct Source {
  std::string name;
  std::vector<std::string> lines; // comments and literals removed
  std::vector<Directive> directives;
  std::vector<Token> code;                   // tokens outside directives
  std::vector<Token> macro_bodies;           // tokens of #define bodies
  std::map<std::string, std::string> macros; // object-like #define name -> body (of all files,
                                             // once every file's directives are read)
  std::vector<bool> directive_line;          // per line (0-based): part of a directive
  std::vector<bool> pipeline;  // per line: `#pragma HLS PIPELINE II=1` inside __SYNTHESIS__
  std::vector<bool> unroll;    // per line: `#pragma HLS UNROLL` inside __SYNTHESIS__
  std::vector<bool> tripcount; // per line: `#pragma HLS LOOP_TRIPCOUNT` inside __SYNTHESIS__
};

std::string where(const Source &s, int line) { return s.name + ":" + std::to_string(line) + ": "; }

Source parse(const std::string &name, const std::string &text) {
  Source s;
  s.name = name;
  s.lines = split_lines(strip(text, false));
  const std::size_t n = s.lines.size();
  s.directive_line.assign(n, false);
  s.pipeline.assign(n, false);
  s.unroll.assign(n, false);
  s.tripcount.assign(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string first = trim(s.lines[i]);
    if (first.empty() || first[0] != '#') {
      tokenize(s.lines[i], static_cast<int>(i + 1), s.code);
      continue;
    }
    Directive d;
    d.line = static_cast<int>(i + 1);
    std::string joined = first.substr(1);
    s.directive_line[i] = true;
    while (!joined.empty() && joined.back() == '\\' && i + 1 < n) {
      joined.pop_back();
      joined += " " + s.lines[++i];
      s.directive_line[i] = true;
    }
    joined = trim(joined);
    std::size_t end = 0;
    while (end < joined.size() && is_ident_char(joined[end]))
      ++end;
    d.name = joined.substr(0, end);
    d.rest = trim(joined.substr(end));
    s.directives.push_back(d);
  }
  return s;
}

// ---- The rules -----------------------------------------------------------------------------

const std::set<std::string> kLibm = {
    "acos",   "acosf",   "acosh",     "acoshf",     "asin",       "asinf",     "asinh",
    "asinhf", "atan",    "atanf",     "atan2",      "atan2f",     "atanh",     "atanhf",
    "cbrt",   "cbrtf",   "ceil",      "ceilf",      "copysign",   "copysignf", "cos",
    "cosf",   "cosh",    "coshf",     "erf",        "erff",       "erfc",      "erfcf",
    "exp",    "expf",    "exp2",      "exp2f",      "expm1",      "expm1f",    "fabs",
    "fabsf",  "fdim",    "fdimf",     "floor",      "floorf",     "fma",       "fmaf",
    "fmax",   "fmaxf",   "fmin",      "fminf",      "fmod",       "fmodf",     "frexp",
    "frexpf", "hypot",   "hypotf",    "ilogb",      "ilogbf",     "ldexp",     "ldexpf",
    "lgamma", "lgammaf", "llrint",    "llrintf",    "llround",    "llroundf",  "log",
    "logf",   "log10",   "log10f",    "log1p",      "log1pf",     "log2",      "log2f",
    "logb",   "logbf",   "lrint",     "lrintf",     "lround",     "lroundf",   "modf",
    "modff",  "nan",     "nanf",      "nearbyint",  "nearbyintf", "nextafter", "nextafterf",
    "pow",    "powf",    "remainder", "remainderf", "remquo",     "remquof",   "rint",
    "rintf",  "round",   "roundf",    "scalbln",    "scalblnf",   "scalbn",    "scalbnf",
    "sin",    "sinf",    "sinh",      "sinhf",      "sqrt",       "sqrtf",     "tan",
    "tanf",   "tanh",    "tanhf",     "tgamma",     "tgammaf",    "trunc",     "truncf"};

const std::set<std::string> kHeap = {"malloc", "calloc", "realloc",
                                     "free",   "alloca", "__builtin_alloca"};

// Identifiers forbidden wherever they appear (code and macro bodies).
void check_identifiers(const Source &s, const std::vector<Token> &tokens,
                       std::vector<std::string> &problems) {
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const Token &t = tokens[i];
    const bool called = i + 1 < tokens.size() && tokens[i + 1].text == "(";
    if (t.kind == Token::Number) {
      const std::string &v = t.text;
      const bool hex = v.size() > 1 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X');
      const bool floating = hex ? v.find_first_of("pP") != std::string::npos
                                : v.find_first_of(".eE") != std::string::npos;
      const char suffix = static_cast<char>(std::tolower(static_cast<unsigned char>(v.back())));
      if (floating && suffix != 'f')
        problems.push_back(where(s, t.line) + "`" + v + "` is a " +
                           (suffix == 'l' ? "long double" : "double") +
                           " constant: float mode is IEEE f32 only (write " +
                           (suffix == 'l' ? v.substr(0, v.size() - 1) : v) + "f)");
      continue;
    }
    if (t.kind != Token::Ident) continue;
    const std::string &w = t.text;
    if (w == "if" || w == "else" || w == "switch")
      problems.push_back(where(s, t.line) + "`" + w +
                         "`: kernels are branch-free (select with ?: instead)");
    else if (w == "while" || w == "do" || w == "goto")
      problems.push_back(where(s, t.line) + "`" + w +
                         "`: the only loops are `for` loops with a static bound or trip count");
    else if (w == "double")
      problems.push_back(where(s, t.line) +
                         "`double`: float mode is IEEE f32 only (no double or long double)");
    else if (kHeap.count(w))
      problems.push_back(where(s, t.line) + "`" + w + "`: no heap (HLS has no dynamic memory)");
    else if (w.rfind("__builtin", 0) == 0)
      problems.push_back(where(s, t.line) + "`" + w + "`: compiler builtins are not HLS C");
    else if (called && kLibm.count(w))
      problems.push_back(where(s, t.line) + "call of `" + w +
                         "`: no libm (every function is written out in the kernel)");
  }
}

// `(*name)(` or `(*)(`: a function pointer declared or called.
void check_function_pointers(const Source &s, std::vector<std::string> &problems) {
  const auto &t = s.code;
  for (std::size_t i = 0; i + 3 < t.size(); ++i) {
    if (t[i].text != "(" || t[i + 1].text != "*") continue;
    std::size_t j = i + 2;
    while (j < t.size() && (t[j].text == "const" || t[j].text == "volatile"))
      ++j;
    if (j < t.size() && t[j].kind == Token::Ident) ++j;
    if (j + 1 < t.size() && t[j].text == ")" && t[j + 1].text == "(")
      problems.push_back(where(s, t[i].line) + "function pointer: HLS needs every call static");
  }
}

// The index of the token closing the bracket opened at `open` (t.size() when unbalanced).
std::size_t closing(const std::vector<Token> &t, std::size_t open) {
  const std::string o = t[open].text, c = o == "(" ? ")" : o == "{" ? "}" : "]";
  int depth = 0;
  for (std::size_t i = open; i < t.size(); ++i) {
    if (t[i].text == o) ++depth;
    if (t[i].text == c && --depth == 0) return i;
  }
  return t.size();
}

const std::set<std::string> kNotFunctions = {"for",    "if",     "while",   "switch",
                                             "sizeof", "return", "_Alignof"};

// A function definition whose body calls the function itself.
void check_recursion(const Source &s, std::vector<std::string> &problems) {
  const auto &t = s.code;
  for (std::size_t i = 0; i + 1 < t.size(); ++i) {
    if (t[i].kind != Token::Ident || kNotFunctions.count(t[i].text) || t[i + 1].text != "(")
      continue;
    const std::size_t close = closing(t, i + 1);
    if (close + 1 >= t.size() || t[close + 1].text != "{") continue;
    const std::size_t end = closing(t, close + 1);
    for (std::size_t j = close + 2; j + 1 < end && j + 1 < t.size(); ++j)
      if (t[j].text == t[i].text && t[j + 1].text == "(")
        problems.push_back(where(s, t[j].line) + "`" + t[i].text +
                           "` calls itself: no recursion (HLS needs a static call graph)");
    i = end;
  }
}

// Whether an expression's tokens are a compile-time constant: integer literals, operators and
// object-like macros whose bodies are such constants.
bool is_static(const Source &s, const std::vector<Token> &tokens, const std::string &loop_var,
               int depth = 0) {
  if (depth > 8) return false;
  bool any = false;
  for (const Token &t : tokens) {
    if (t.kind == Token::Number) {
      any = true;
    } else if (t.kind == Token::Ident) {
      if (t.text == loop_var) continue;
      const auto m = s.macros.find(t.text);
      if (m == s.macros.end()) return false;
      std::vector<Token> body;
      tokenize(m->second, t.line, body);
      if (!is_static(s, body, "", depth + 1)) return false;
      any = true;
    } else if (std::string("()+-*/%<>=!&|^~").find(t.text) == std::string::npos) {
      return false;
    }
  }
  return any;
}

// Whether any line in [from, to) (1-based, to exclusive) carries the flag.
bool any_line(const std::vector<bool> &flag, int from, int to) {
  for (int l = std::max(from, 1); l < to && l <= static_cast<int>(flag.size()); ++l)
    if (flag[static_cast<std::size_t>(l - 1)]) return true;
  return false;
}

// Every `for`: its body opens with `#pragma HLS PIPELINE II=1` (a loop nested in another may be
// unrolled instead) and its bound is static or given by `#pragma HLS LOOP_TRIPCOUNT`.
void check_loops(const Source &s, std::vector<std::string> &problems) {
  const auto &t = s.code;
  struct Body {
    std::size_t begin, end;
  };
  std::vector<Body> bodies; // of the loops seen so far, to tell nested loops
  for (std::size_t i = 0; i + 1 < t.size(); ++i) {
    if (t[i].text != "for") continue;
    const int line = t[i].line;
    if (t[i + 1].text != "(") {
      problems.push_back(where(s, line) + "`for` without its header");
      continue;
    }
    const std::size_t close = closing(t, i + 1);
    if (close >= t.size()) {
      problems.push_back(where(s, line) + "unbalanced `for` header");
      continue;
    }
    // init; cond; step
    std::vector<std::vector<Token>> parts(1);
    int depth = 0;
    for (std::size_t j = i + 2; j < close; ++j) {
      if (t[j].text == "(") ++depth;
      if (t[j].text == ")") --depth;
      if (t[j].text == ";" && depth == 0)
        parts.emplace_back();
      else
        parts.back().push_back(t[j]);
    }
    std::string loop_var;
    if (!parts.empty())
      for (std::size_t j = 0; j + 1 < parts[0].size(); ++j)
        if (parts[0][j].kind == Token::Ident && parts[0][j + 1].text == "=")
          loop_var = parts[0][j].text;
    // The body: a braced block, or one statement.
    std::size_t first = close + 1;
    std::size_t end = t.size();
    if (first < t.size() && t[first].text == "{") {
      end = closing(t, first);
      ++first;
    } else {
      int d = 0;
      for (std::size_t j = first; j < t.size(); ++j) {
        if (t[j].text == "(" || t[j].text == "{") ++d;
        if (t[j].text == ")" || t[j].text == "}") --d;
        if (t[j].text == ";" && d == 0) {
          end = j;
          break;
        }
      }
    }
    bool nested = false;
    for (const Body &b : bodies)
      nested = nested || (i > b.begin && i < b.end);
    bodies.push_back({close, end});
    // The pragmas between the header and the body's first statement.
    const int from = t[close].line + 1;
    const int to = first < t.size() ? t[first].line : static_cast<int>(s.lines.size()) + 1;
    if (!any_line(s.pipeline, from, to) && !(nested && any_line(s.unroll, from, to)))
      problems.push_back(where(s, line) +
                         "`for` loop whose body does not open with `#pragma HLS PIPELINE II=1` "
                         "(inside #ifdef __SYNTHESIS__)");
    if (parts.size() != 3 || parts[1].empty()) {
      problems.push_back(where(s, line) + "`for` loop without a condition: no bound");
    } else if (!is_static(s, parts[1], loop_var) && !any_line(s.tripcount, from, to)) {
      problems.push_back(where(s, line) +
                         "`for` loop with a run-time bound and no `#pragma HLS LOOP_TRIPCOUNT` "
                         "(inside #ifdef __SYNTHESIS__)");
    }
  }
}

// Includes, pragma placement, macros; fills the per-line pragma flags.
void check_directives(Source &s, const std::string &raw,
                      const std::map<std::string, std::string> &files,
                      std::vector<std::string> &problems) {
  const std::vector<std::string> with_literals = split_lines(strip(raw, true));
  static const std::regex pipeline(R"(\bPIPELINE\b.*\bII\s*=\s*1\b)", std::regex::icase);
  static const std::regex unroll(R"(\bUNROLL\b)", std::regex::icase);
  static const std::regex tripcount(R"(\bLOOP_TRIPCOUNT\b)", std::regex::icase);
  static const std::regex synthesis(R"(^(defined\s*\(?\s*)?__SYNTHESIS__\b)");
  struct Conditional {
    bool synthesis;      // the branch being read holds only under __SYNTHESIS__
    bool else_synthesis; // and its #else branch
  };
  std::vector<Conditional> open;
  for (const Directive &d : s.directives) {
    const auto in_synthesis = [&] {
      return std::any_of(open.begin(), open.end(),
                         [](const Conditional &c) { return c.synthesis; });
    };
    if (d.name == "include") {
      std::string target = trim(with_literals[static_cast<std::size_t>(d.line - 1)]);
      target = trim(target.substr(target.find("include") + 7));
      const bool own = target.size() > 2 && target.front() == '"' && target.back() == '"' &&
                       files.count(target.substr(1, target.size() - 2));
      if (target != "<stdint.h>" && !own)
        problems.push_back(where(s, d.line) + "#include " + target +
                           ": only <stdint.h> and the kernel's own files may be included");
    } else if (d.name == "ifdef" || d.name == "if" || d.name == "ifndef") {
      // #ifdef __SYNTHESIS__, #if defined(__SYNTHESIS__); negated: #ifndef, #if !defined(...)
      std::string test = d.rest;
      bool negated = d.name == "ifndef";
      if (d.name == "if" && !test.empty() && test[0] == '!')
        negated = true, test = trim(test.substr(1));
      const bool on = std::regex_search(test, synthesis);
      open.push_back({on && !negated, on && negated});
    } else if (d.name == "else") {
      if (!open.empty()) open.back() = {open.back().else_synthesis, false};
    } else if (d.name == "elif") {
      if (!open.empty()) open.back() = {false, false};
    } else if (d.name == "endif") {
      if (!open.empty()) open.pop_back();
    } else if (d.name == "define") {
      std::size_t end = 0;
      while (end < d.rest.size() && is_ident_char(d.rest[end]))
        ++end;
      const std::string name = d.rest.substr(0, end);
      std::string body = d.rest.substr(end);
      if (!body.empty() && body[0] == '(') { // function-like: skip its parameters
        const auto close = body.find(')');
        body = close == std::string::npos ? "" : body.substr(close + 1);
      } else {
        s.macros[name] = body;
      }
      tokenize(body, d.line, s.macro_bodies);
    } else if (d.name == "pragma") {
      std::istringstream words(d.rest);
      std::string first;
      words >> first;
      std::transform(first.begin(), first.end(), first.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      if (first != "HLS") continue;
      if (!in_synthesis()) {
        problems.push_back(where(s, d.line) + "`#pragma HLS` outside `#ifdef __SYNTHESIS__`");
        continue;
      }
      const auto l = static_cast<std::size_t>(d.line - 1);
      s.pipeline[l] = std::regex_search(d.rest, pipeline);
      s.unroll[l] = std::regex_search(d.rest, unroll);
      s.tripcount[l] = std::regex_search(d.rest, tripcount);
    }
  }
}

} // namespace

std::vector<Compiler> rule_compilers() {
  std::vector<Compiler> found;
  for (const char *name : {"gcc", "clang", "g++"})
    if (std::string path = find_program(name); !path.empty()) found.push_back({name, path});
  return found;
}

RuleCheck check_rules(const std::map<std::string, std::string> &files, const std::string &c_file) {
  if (!files.count(c_file))
    throw Error("check_rules: '" + c_file + "' is not one of the kernel's files");
  TempDir dir;
  dir.write_all(files);
  RuleCheck check;

  const std::vector<Compiler> compilers = rule_compilers();
  const std::string nm = find_program("nm");
  if (nm.empty()) check.problems.push_back("nm not found: apt-get install binutils");
  const std::vector<std::string> c_flags{"-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror"};
  for (const char *name : {"gcc", "clang", "g++"}) {
    const auto cc = std::find_if(compilers.begin(), compilers.end(),
                                 [&](const Compiler &c) { return c.name == name; });
    if (cc == compilers.end()) {
      check.problems.push_back(std::string(name) + " not found: apt-get install " +
                               package_of(name));
      continue;
    }
    if (cc->name == "g++") {
      compile_and_nm(dir, *cc,
                     {"-x", "c++", "-std=c++17", "-pedantic", "-Wall", "-Wextra", "-Werror"}, "g++",
                     c_file, nm, check);
      continue;
    }
    for (const char *opt : {"-O0", "-O2"}) {
      std::vector<std::string> flags = c_flags;
      flags.push_back(opt);
      compile_and_nm(dir, *cc, flags, cc->name + opt, c_file, nm, check);
    }
  }

  std::vector<Source> sources;
  std::map<std::string, std::string> macros; // of every file: a bound may be the header's macro
  for (const auto &[name, text] : files) {
    sources.push_back(parse(name, text));
    check_directives(sources.back(), text, files, check.problems);
    macros.insert(sources.back().macros.begin(), sources.back().macros.end());
  }
  for (Source &s : sources) {
    s.macros = macros;
    check_identifiers(s, s.code, check.problems);
    check_identifiers(s, s.macro_bodies, check.problems);
    check_function_pointers(s, check.problems);
    check_recursion(s, check.problems);
    check_loops(s, check.problems);
  }
  return check;
}

} // namespace actforge::targets::fpga
