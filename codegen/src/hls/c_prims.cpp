// The C builder of c_prims.hpp.
#include "c_prims.hpp"

#include "actforge/error.hpp"

#include <bit>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

namespace actforge::codegen::hls::c {
namespace {

const char *ctype(Ty t) {
  switch (t) {
  case Ty::F: return "float";
  case Ty::I: return "int32_t";
  case Ty::U: return "uint32_t";
  case Ty::C: return "int";
  }
  return "float";
}

/// The identifiers of the form <letter>... in `text` (enough to find temporaries).
void identifiers(const std::string &text, std::set<std::string> &out) {
  for (std::size_t i = 0; i < text.size();) {
    const char ch = text[i];
    const bool start = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
    const bool after_digit =
        i > 0 && ((text[i - 1] >= '0' && text[i - 1] <= '9') || text[i - 1] == '.');
    if (!start || after_digit) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_'))
      ++j;
    out.insert(text.substr(i, j - i));
    i = j;
  }
}

thread_local Context g_context;

bool mlir() { return g_context.module != nullptr && g_context.module->syntax().mlir; }

Body &body() {
  if (g_context.body == nullptr) throw Error("internal error: no C body to build into");
  return *g_context.body;
}

V op(const std::string &expr, Ty t, int OpCount::*field) {
  OpCount ops;
  if (field != nullptr) ops.*field = 1;
  return body().bind(expr, t, ops);
}

V binary(const V &a, const char *o, const V &b, Ty t, int OpCount::*field) {
  return op("(" + a.s + " " + o + " " + b.s + ")", t, field);
}

} // namespace

V Body::bind(const std::string &expr, Ty t, const OpCount &ops) {
  std::string name = prefix_ + std::to_string(lines_.size());
  if (mlir()) {
    lines_.push_back({name, "%" + name + " = " + expr, ops});
    return {"%" + name, t};
  }
  lines_.push_back({name, "const " + std::string(ctype(t)) + " " + name + " = " + expr + ";", ops});
  return {name, t};
}

Body::Finished Body::finish(const std::vector<std::string> &roots) const {
  std::set<std::string> used;
  for (const auto &r : roots)
    identifiers(r, used);
  std::vector<bool> keep(lines_.size(), false);
  for (std::size_t i = lines_.size(); i-- > 0;) {
    if (used.count(lines_[i].name) == 0) continue;
    keep[i] = true;
    identifiers(lines_[i].text.substr(lines_[i].text.find('=')), used);
  }
  Finished f;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (!keep[i]) continue;
    f.lines.push_back(lines_[i].text);
    f.ops += lines_[i].ops;
  }
  return f;
}

V Module::call(const std::string &name, const std::vector<V> &args, const std::vector<Ty> &params,
               Ty result, const Builder &build) {
  if (args.size() != params.size())
    throw Error("internal error: helper " + name + " called with a wrong number of arguments");
  if (syntax_.mlir) return build(args); // MLIR: in place (the inliner would do the same)
  if (helpers_.count(name) == 0) {
    Body b("t");
    std::vector<V> ps;
    std::string signature = "static " + std::string(ctype(result)) + " " + name + "(";
    for (std::size_t i = 0; i < params.size(); ++i) {
      ps.push_back({"p" + std::to_string(i), params[i]});
      signature += (i ? ", " : "") + std::string(ctype(params[i])) + " p" + std::to_string(i);
    }
    signature += params.empty() ? "void)" : ")";
    V r;
    {
      Scope scope(b, *this);
      r = build(ps);
    }
    const Body::Finished fin = b.finish({r.s});
    std::string text = signature + " {\n";
    for (const auto &l : fin.lines)
      text += "  " + l + "\n";
    text += "  return " + r.s + ";\n}\n";
    helpers_[name] = {text, fin.ops};
    order_.push_back(name);
  }
  std::string expr = name + "(";
  for (std::size_t i = 0; i < args.size(); ++i)
    expr += (i ? ", " : "") + args[i].s;
  expr += ")";
  return body().bind(expr, result, helpers_[name].ops);
}

std::string Module::text(const std::vector<std::string> &code) const {
  if (syntax_.mlir) return {};
  std::set<std::string> used;
  for (const auto &line : code)
    identifiers(line, used);
  std::vector<bool> keep(order_.size(), false);
  for (std::size_t i = order_.size(); i-- > 0;) {
    if (used.count(order_[i]) == 0) continue;
    keep[i] = true;
    identifiers(helpers_.at(order_[i]).text, used);
  }
  std::string out;
  if (used.count("af_bits"))
    out += "static uint32_t af_bits(float f) {\n  union { float f; uint32_t u; } v;\n  v.f = f;\n"
           "  return v.u;\n}\n\n";
  if (used.count("af_float"))
    out += "static float af_float(uint32_t u) {\n  union { float f; uint32_t u; } v;\n  v.u = u;\n"
           "  return v.f;\n}\n\n";
  for (std::size_t i = 0; i < order_.size(); ++i)
    if (keep[i]) out += helpers_.at(order_[i]).text + "\n";
  return out;
}

Context &current() { return g_context; }

Scope::Scope(Body &body, Module &module) : saved_(g_context) { g_context = {&body, &module}; }
Scope::~Scope() { g_context = saved_; }

// The bit-pattern helpers af_bits/af_float (a union, C99 type punning; no operations) are written
// by Module::text() where the code uses them.

std::string type_name(Ty t) {
  if (!mlir()) return ctype(t);
  const char *e = t == Ty::F ? "f32" : t == Ty::C ? "i1" : "i32";
  const int w = g_context.module->syntax().width;
  return w > 0 ? "vector<" + std::to_string(w) + "x" + e + ">" : std::string(e);
}

namespace {

/// An MLIR constant of type t: a scalar, or a splat vector.
V mlir_constant(const std::string &literal, Ty t) {
  const bool vec = g_context.module->syntax().width > 0;
  return op("arith.constant " + (vec ? "dense<" + literal + ">" : literal) + " : " + type_name(t),
            t, nullptr);
}
V mlir_float(float f) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", std::bit_cast<std::uint32_t>(f));
  return mlir_constant(buf, Ty::F);
}
V mlir_int(std::int64_t v, Ty t) { return mlir_constant(std::to_string(v), t); }

/// `arith.<name> %a, %b : T`, T the type of a.
V arith(const std::string &name, const V &a, const V &b, Ty result, int OpCount::*field) {
  return op("arith." + name + " " + a.s + ", " + b.s + " : " + type_name(a.t), result, field);
}
/// The arith operation for a C operator on values of type t.
V arith_binary(const V &a, const char *o, const V &b, int OpCount::*field) {
  const bool f = a.t == Ty::F, u = a.t == Ty::U;
  const std::string s = o;
  std::string name;
  if (s == "+") name = f ? "addf" : "addi";
  if (s == "-") name = f ? "subf" : "subi";
  if (s == "*") name = f ? "mulf" : "muli";
  if (s == "/") name = f ? "divf" : u ? "divui" : "divsi";
  if (s == "&" || s == "&&") name = "andi";
  if (s == "|" || s == "||") name = "ori";
  if (!name.empty()) return arith(name, a, b, s == "&&" || s == "||" ? Ty::C : a.t, field);
  // Comparisons: ordered for floats (false with a NaN) except !=, as C.
  const char *pred = nullptr;
  if (s == "<") pred = f ? "olt" : u ? "ult" : "slt";
  if (s == "<=") pred = f ? "ole" : u ? "ule" : "sle";
  if (s == ">") pred = f ? "ogt" : u ? "ugt" : "sgt";
  if (s == ">=") pred = f ? "oge" : u ? "uge" : "sge";
  if (s == "==") pred = f ? "oeq" : "eq";
  if (s == "!=") pred = f ? "une" : "ne";
  if (pred == nullptr) throw Error("internal error: no MLIR form of C operator " + s);
  return op(std::string(f ? "arith.cmpf " : "arith.cmpi ") + pred + ", " + a.s + ", " + b.s +
                " : " + type_name(a.t),
            Ty::C, field);
}
V mlir_cast(const char *name, const V &a, Ty to) {
  return op(std::string("arith.") + name + " " + a.s + " : " + type_name(a.t) + " to " +
                type_name(to),
            to, nullptr);
}

} // namespace

V fc(long double v) {
  const float f = static_cast<float>(v);
  if (mlir()) return mlir_float(f);
  if (std::isnan(f)) return nan_f();
  if (std::isinf(f)) {
    return {f > 0 ? "af_float(0x7f800000u)" : "af_float(0xff800000u)", Ty::F};
  }
  if (f == 0) return {std::signbit(f) ? "(-0.0f)" : "0.0f", Ty::F};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%af", static_cast<double>(f));
  return {f < 0 ? "(" + std::string(buf) + ")" : std::string(buf), Ty::F};
}

V ic(std::int64_t v) {
  if (mlir()) return mlir_int(v, Ty::I);
  return {v < 0 ? "(" + std::to_string(v) + ")" : std::to_string(v), Ty::I};
}
V uc(std::uint32_t v) {
  if (mlir()) return mlir_int(static_cast<std::int32_t>(v), Ty::U);
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%08xu", v);
  return {buf, Ty::U};
}

V bits(const V &f) {
  if (mlir()) return mlir_cast("bitcast", f, Ty::U);
  return op("af_bits(" + f.s + ")", Ty::U, nullptr);
}
V from_bits(const V &u) {
  if (mlir()) return mlir_cast("bitcast", u, Ty::F);
  return op("af_float(" + u.s + ")", Ty::F, nullptr);
}

V nan_f() {
  if (mlir()) return mlir_float(std::bit_cast<float>(0x7fc00000u));
  return {"af_float(0x7fc00000u)", Ty::F};
}
V inf_f() {
  if (mlir()) return mlir_float(std::bit_cast<float>(0x7f800000u));
  return {"af_float(0x7f800000u)", Ty::F};
}

namespace {
V either(const V &a, const char *o, const V &b, Ty t, int OpCount::*field) {
  return mlir() ? arith_binary(a, o, b, field) : binary(a, o, b, t, field);
}
} // namespace

V operator+(const V &a, const V &b) { return either(a, "+", b, a.t, &OpCount::adders); }
V operator-(const V &a, const V &b) { return either(a, "-", b, a.t, &OpCount::adders); }
V operator*(const V &a, const V &b) { return either(a, "*", b, a.t, &OpCount::multipliers); }
V operator/(const V &a, const V &b) { return either(a, "/", b, a.t, &OpCount::dividers); }
V operator-(const V &a) {
  if (mlir()) {
    if (a.t != Ty::F) return mlir_int(0, a.t) - a;
    OpCount ops;
    ops.adders = 1;
    return body().bind("arith.negf " + a.s + " : " + type_name(a.t), a.t, ops);
  }
  return op("(-" + a.s + ")", a.t, &OpCount::adders);
}
V operator<(const V &a, const V &b) { return either(a, "<", b, Ty::C, &OpCount::comparators); }
V operator<=(const V &a, const V &b) { return either(a, "<=", b, Ty::C, &OpCount::comparators); }
V operator>(const V &a, const V &b) { return either(a, ">", b, Ty::C, &OpCount::comparators); }
V operator>=(const V &a, const V &b) { return either(a, ">=", b, Ty::C, &OpCount::comparators); }
V operator==(const V &a, const V &b) { return either(a, "==", b, Ty::C, &OpCount::comparators); }
V operator!=(const V &a, const V &b) { return either(a, "!=", b, Ty::C, &OpCount::comparators); }
V operator&&(const V &a, const V &b) { return either(a, "&&", b, Ty::C, nullptr); }
V operator||(const V &a, const V &b) { return either(a, "||", b, Ty::C, nullptr); }
V operator!(const V &a) {
  if (mlir()) return arith("xori", a, mlir_constant("true", Ty::C), Ty::C, nullptr);
  return op("(!" + a.s + ")", Ty::C, nullptr);
}
V sel(const V &c, const V &a, const V &b) {
  if (mlir()) {
    const bool vec = g_context.module->syntax().width > 0;
    return op("arith.select " + c.s + ", " + a.s + ", " + b.s + " : " +
                  (vec ? type_name(Ty::C) + ", " : std::string()) + type_name(a.t),
              a.t, &OpCount::selects);
  }
  return op("(" + c.s + " ? " + a.s + " : " + b.s + ")", a.t, &OpCount::selects);
}
V shr(const V &a, int n) {
  if (mlir()) return arith(a.t == Ty::U ? "shrui" : "shrsi", a, mlir_int(n, a.t), a.t, nullptr);
  return op("(" + a.s + " >> " + std::to_string(n) + ")", a.t, nullptr);
}
V shl(const V &a, int n) {
  if (mlir()) return arith("shli", a, mlir_int(n, a.t), a.t, nullptr);
  return op("(" + a.s + " << " + std::to_string(n) + ")", a.t, nullptr);
}
V band(const V &a, const V &b) { return either(a, "&", b, a.t, nullptr); }
V bor(const V &a, const V &b) { return either(a, "|", b, a.t, nullptr); }
V to_int(const V &f) {
  if (mlir()) return f.t == Ty::F ? mlir_cast("fptosi", f, Ty::I) : V{f.s, Ty::I};
  return op("(int32_t)" + f.s, Ty::I, nullptr);
}
V to_float(const V &i) {
  if (mlir()) {
    if (i.t == Ty::F) return i;
    return mlir_cast(i.t == Ty::U ? "uitofp" : "sitofp", i, Ty::F);
  }
  return op("(float)" + i.s, Ty::F, nullptr);
}
V to_u(const V &i) {
  if (mlir()) return {i.s, Ty::U}; // the same i32 bits
  return op("(uint32_t)" + i.s, Ty::U, nullptr);
}

V is_nan(const V &a) { return a != a; }
V fabs_(const V &a) { return from_bits(band(bits(a), uc(0x7fffffffu))); }
V copysign_(const V &y, const V &s) {
  return from_bits(bor(band(bits(y), uc(0x7fffffffu)), band(bits(s), uc(0x80000000u))));
}
V is_inf(const V &a) { return fabs_(a) == inf_f(); }

} // namespace actforge::codegen::hls::c
