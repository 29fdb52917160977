// inspect_aarch64() and audit_neon(): objdump text -> instructions -> basic blocks -> dominators
// -> natural loops -> the main loop's counts -> a verdict.
#include "actforge/runtime/neon_audit.hpp"

#include "actforge/error.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>

namespace actforge::runtime {
namespace {

struct Insn {
  std::uint64_t address = 0;
  std::string mnemonic;
  std::string operands; // without the trailing `// comment`
  std::string line;     // as printed, for messages
  std::string callee;   // from an R_AARCH64_CALL26/JUMP26 relocation at this address
};

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::optional<std::uint64_t> parse_hex(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// "expf+0x10" -> "expf"
std::string strip_offset(std::string_view sym) {
  const auto plus = sym.find('+');
  return std::string(trim(plus == std::string_view::npos ? sym : sym.substr(0, plus)));
}

// "0000000000000000 <name>:" -> name
std::optional<std::string_view> function_header(std::string_view line) {
  const auto lt = line.find(" <");
  if (lt == std::string_view::npos || line.size() < lt + 4 || line.substr(line.size() - 2) != ">:")
    return std::nullopt;
  if (!parse_hex(line.substr(0, lt))) return std::nullopt;
  return line.substr(lt + 2, line.size() - lt - 4);
}

// The instructions of `symbol`, with relocations attached; nullopt when it is not in the text.
std::optional<std::vector<Insn>> read_function(std::string_view text, std::string_view symbol) {
  std::vector<Insn> out;
  bool inside = false, found = false;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto nl = text.find('\n', pos);
    const std::string_view raw =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    const std::string_view line = trim(raw);
    if (line.empty()) continue;
    if (const auto name = function_header(line)) {
      if (found && inside) break;
      inside = *name == symbol;
      found = found || inside;
      continue;
    }
    if (starts_with(line, "Disassembly of section")) {
      if (inside) break;
      continue;
    }
    if (!inside) continue;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue; // "..." (zeros skipped)
    const auto address = parse_hex(line.substr(0, colon));
    if (!address) continue;
    std::string_view rest = trim(line.substr(colon + 1));
    if (starts_with(rest, "R_")) { // a relocation: "R_AARCH64_CALL26\texpf"
      const auto sep = rest.find_first_of(" \t");
      const std::string_view type = rest.substr(0, sep);
      if ((type == "R_AARCH64_CALL26" || type == "R_AARCH64_JUMP26") &&
          sep != std::string_view::npos)
        for (auto it = out.rbegin(); it != out.rend(); ++it)
          if (it->address == *address) {
            it->callee = strip_offset(trim(rest.substr(sep)));
            break;
          }
      continue;
    }
    // With raw bytes shown, the first field is the encoding: "d10603ff \tsub\tsp, ...".
    const auto tab = rest.find('\t');
    if (tab != std::string_view::npos && tab >= 8 && parse_hex(trim(rest.substr(0, tab))) &&
        trim(rest.substr(0, tab)).size() == 8)
      rest = trim(rest.substr(tab + 1));
    Insn insn;
    insn.address = *address;
    insn.line = std::string(line);
    const auto sep = rest.find_first_of(" \t");
    insn.mnemonic = std::string(rest.substr(0, sep));
    if (sep != std::string_view::npos) {
      std::string_view ops = rest.substr(sep + 1);
      ops = ops.substr(0, ops.find("//"));
      insn.operands = std::string(trim(ops));
    }
    out.push_back(std::move(insn));
  }
  if (!found) return std::nullopt;
  return out;
}

// --- classification -------------------------------------------------------------------------

bool is_cond_branch(std::string_view m) {
  return starts_with(m, "b.") || m == "cbz" || m == "cbnz" || m == "tbz" || m == "tbnz";
}
bool is_return(std::string_view m) { return starts_with(m, "ret") || starts_with(m, "br"); }
bool is_load(std::string_view m) { return starts_with(m, "ld"); }
bool is_store(std::string_view m) { return starts_with(m, "st"); }

bool is_fp(std::string_view m) {
  if (m == "fmov") return false; // a move or a constant, not arithmetic
  return starts_with(m, "f") || m == "scvtf" || m == "ucvtf" || starts_with(m, "bfcvt") ||
         starts_with(m, "bfml") || starts_with(m, "bfdot");
}

bool is_conversion(std::string_view m) {
  for (std::string_view p : {"fcvtl", "fcvtn", "fcvtxn", "bfcvt", "shll", "ushll", "sshll", "uxtl",
                             "sxtl", "xtn", "shrn", "rshrn", "addhn", "raddhn"})
    if (starts_with(m, p)) return true;
  return false;
}

// The operand tokens: "{v0.4s, v1.4s}, [x0], #32" -> v0.4s v1.4s x0 #32; "v1.s[1]" -> v1.s[1.
std::vector<std::string_view> tokens(std::string_view ops) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < ops.size()) {
    const std::size_t j = std::min(ops.find_first_of(" ,{}!", i), ops.size());
    std::string_view t = ops.substr(i, j - i);
    while (!t.empty() && t.front() == '[')
      t.remove_prefix(1);
    while (!t.empty() && t.back() == ']')
      t.remove_suffix(1);
    if (!t.empty()) out.push_back(t);
    i = j + 1;
  }
  return out;
}

bool is_register(std::string_view t, char kind) {
  if (t.size() < 2 || t[0] != kind) return false;
  return std::all_of(t.begin() + 1, t.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// "v12.4s" -> "4s"; "v1.s[1" and "v22.s" (of "{v22.s}[3]") -> "s[]"; "" for other tokens.
std::string arrangement(std::string_view t) {
  const auto dot = t.find('.');
  if (t.size() < 4 || t[0] != 'v' || dot == std::string_view::npos || dot < 2) return {};
  if (!std::all_of(t.begin() + 1, t.begin() + static_cast<long>(dot),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return {};
  const std::string_view a = t.substr(dot + 1, t.find('[') - dot - 1);
  if (a.empty()) return {};
  if (std::isdigit(static_cast<unsigned char>(a.front()))) return std::string(a);
  return std::string(a) + "[]";
}

// The arrangement that makes `insn` a vector instruction ("q" for q-register memory accesses).
std::string vector_arrangement(const Insn &insn) {
  const auto ts = tokens(insn.operands);
  for (std::string_view t : ts)
    if (std::string a = arrangement(t); !a.empty()) return a;
  if (is_load(insn.mnemonic) || is_store(insn.mnemonic))
    for (std::string_view t : ts)
      if (is_register(t, 'q')) return "q";
  return {};
}

bool is_scalar_fp(const Insn &insn) {
  if (!is_fp(insn.mnemonic)) return false;
  for (std::string_view t : tokens(insn.operands))
    if (is_register(t, 's') || is_register(t, 'd') || is_register(t, 'h')) return true;
  return false;
}

// The address a branch goes to: the number before "<sym+off>", else the last operand.
std::optional<std::uint64_t> branch_target(const Insn &insn) {
  std::string_view ops = insn.operands;
  ops = trim(ops.substr(0, ops.find('<')));
  const auto comma = ops.rfind(',');
  return parse_hex(trim(comma == std::string_view::npos ? ops : ops.substr(comma + 1)));
}

std::string callee_of(const Insn &insn) {
  if (!insn.callee.empty()) return insn.callee;
  if (insn.mnemonic == "blr") return "*" + insn.operands; // an indirect call
  const auto lt = insn.operands.find('<');
  const auto gt = insn.operands.rfind('>');
  if (lt == std::string::npos || gt == std::string::npos || gt < lt) return insn.operands;
  return strip_offset(std::string_view(insn.operands).substr(lt + 1, gt - lt - 1));
}

// --- control flow ---------------------------------------------------------------------------

struct Block {
  std::size_t begin = 0, end = 0; // instruction indices [begin, end)
  std::vector<std::size_t> succ, pred;
  bool reachable = false;
};

struct Cfg {
  std::vector<Block> blocks;
  std::vector<std::size_t> calls; // instruction indices of calls (bl, blr, tail-call b)
};

Cfg build_cfg(const std::vector<Insn> &code) {
  Cfg cfg;
  std::unordered_map<std::uint64_t, std::size_t> index;
  for (std::size_t i = 0; i < code.size(); ++i)
    index.emplace(code[i].address, i);
  // The branch each instruction makes: its target index, or none (exits the function).
  std::vector<std::optional<std::size_t>> target(code.size());
  std::vector<bool> leader(code.size() + 1, false), ends(code.size(), false);
  leader[0] = true;
  for (std::size_t i = 0; i < code.size(); ++i) {
    const std::string &m = code[i].mnemonic;
    const bool branch = m == "b" || is_cond_branch(m);
    if (m == "bl" || m == "blr" || (m == "b" && !code[i].callee.empty())) cfg.calls.push_back(i);
    if (branch && code[i].callee.empty())
      if (const auto t = branch_target(code[i]))
        if (const auto it = index.find(*t); it != index.end()) {
          target[i] = it->second;
          leader[it->second] = true;
        }
    if (m == "b" && code[i].callee.empty() && !target[i])
      cfg.calls.push_back(i); // a tail call out of a linked function
    if (branch || is_return(m)) {
      ends[i] = true;
      leader[i + 1] = true;
    }
  }
  std::vector<std::size_t> block_of(code.size());
  for (std::size_t i = 0; i < code.size(); ++i) {
    if (leader[i]) cfg.blocks.push_back({i, i, {}, {}, false});
    cfg.blocks.back().end = i + 1;
    block_of[i] = cfg.blocks.size() - 1;
  }
  for (std::size_t b = 0; b < cfg.blocks.size(); ++b) {
    const std::size_t last = cfg.blocks[b].end - 1;
    const std::string &m = code[last].mnemonic;
    auto &succ = cfg.blocks[b].succ;
    if (target[last]) succ.push_back(block_of[*target[last]]);
    const bool falls_through = !(m == "b" || is_return(m));
    if (falls_through && b + 1 < cfg.blocks.size()) succ.push_back(b + 1);
    std::sort(succ.begin(), succ.end());
    succ.erase(std::unique(succ.begin(), succ.end()), succ.end());
    for (std::size_t s : succ)
      cfg.blocks[s].pred.push_back(b);
  }
  std::vector<std::size_t> work{0};
  while (!work.empty()) {
    const std::size_t b = work.back();
    work.pop_back();
    if (cfg.blocks[b].reachable) continue;
    cfg.blocks[b].reachable = true;
    for (std::size_t s : cfg.blocks[b].succ)
      work.push_back(s);
  }
  return cfg;
}

using Bits = std::vector<bool>;

// dom[b][d]: block d dominates block b (iterative data flow; functions are a few hundred blocks).
std::vector<Bits> dominators(const Cfg &cfg) {
  const std::size_t n = cfg.blocks.size();
  std::vector<Bits> dom(n, Bits(n, true));
  dom[0].assign(n, false);
  dom[0][0] = true;
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t b = 1; b < n; ++b) {
      if (!cfg.blocks[b].reachable) continue;
      Bits next(n, true);
      for (std::size_t p : cfg.blocks[b].pred) {
        if (!cfg.blocks[p].reachable) continue;
        for (std::size_t i = 0; i < n; ++i)
          next[i] = next[i] && dom[p][i];
      }
      next[b] = true;
      if (next != dom[b]) {
        dom[b] = std::move(next);
        changed = true;
      }
    }
  }
  return dom;
}

struct Loop {
  std::size_t header = 0;
  Bits body;
};

// One natural loop per header that some back edge u -> h (h dominates u) enters.
std::vector<Loop> natural_loops(const Cfg &cfg) {
  const auto dom = dominators(cfg);
  const std::size_t n = cfg.blocks.size();
  std::vector<Loop> loops;
  for (std::size_t u = 0; u < n; ++u) {
    if (!cfg.blocks[u].reachable) continue;
    for (std::size_t h : cfg.blocks[u].succ) {
      if (!dom[u][h]) continue;
      auto it =
          std::find_if(loops.begin(), loops.end(), [&](const Loop &l) { return l.header == h; });
      if (it == loops.end()) {
        loops.push_back({h, Bits(n, false)});
        it = std::prev(loops.end());
        it->body[h] = true;
      }
      std::vector<std::size_t> work{u};
      while (!work.empty()) {
        const std::size_t b = work.back();
        work.pop_back();
        if (it->body[b]) continue;
        it->body[b] = true;
        for (std::size_t p : cfg.blocks[b].pred)
          if (cfg.blocks[p].reachable) work.push_back(p);
      }
    }
  }
  return loops;
}

void add_unique(std::vector<std::string> &v, const std::string &s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

LoopReport measure(const std::vector<Insn> &code, const Cfg &cfg, const Loop &loop) {
  LoopReport r;
  bool first = true;
  for (std::size_t b = 0; b < cfg.blocks.size(); ++b) {
    if (!loop.body[b]) continue;
    ++r.blocks;
    for (std::size_t i = cfg.blocks[b].begin; i < cfg.blocks[b].end; ++i) {
      const Insn &insn = code[i];
      r.first = first ? insn.address : std::min(r.first, insn.address);
      r.last = first ? insn.address : std::max(r.last, insn.address);
      first = false;
      ++r.instructions;
      if (is_load(insn.mnemonic)) ++r.loads;
      if (is_store(insn.mnemonic)) ++r.stores;
      if (is_conversion(insn.mnemonic)) ++r.conversions;
      if (const std::string a = vector_arrangement(insn); !a.empty()) {
        ++r.vector;
        ++r.vector_by_arrangement[a];
        if (is_fp(insn.mnemonic)) ++r.fp_by_arrangement[a];
      } else if (is_scalar_fp(insn)) {
        ++r.scalar_fp;
        if (r.scalar_fp_examples.size() < 3) r.scalar_fp_examples.push_back(insn.line);
      }
    }
  }
  for (std::size_t c : cfg.calls)
    for (std::size_t b = 0; b < cfg.blocks.size(); ++b)
      if (loop.body[b] && cfg.blocks[b].begin <= c && c < cfg.blocks[b].end)
        r.calls.push_back(callee_of(code[c]));
  return r;
}

std::string hex(std::uint64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  (void)ec;
  return "0x" + std::string(buf, end);
}

std::string counts(const std::map<std::string, int> &m) {
  std::vector<std::pair<std::string, int>> v(m.begin(), m.end());
  std::stable_sort(v.begin(), v.end(),
                   [](const auto &a, const auto &b) { return a.second > b.second; });
  std::string s;
  for (const auto &[k, n] : v)
    s += (s.empty() ? "" : " ") + k + ":" + std::to_string(n);
  return s.empty() ? "none" : s;
}

int fp_on(const LoopReport &l, std::string_view a) {
  const auto it = l.fp_by_arrangement.find(std::string(a));
  return it == l.fp_by_arrangement.end() ? 0 : it->second;
}

} // namespace

bool is_libm_function(std::string_view name) {
  static const std::set<std::string, std::less<>> kNames = {
      "exp",   "exp2",      "exp10",  "expm1",  "log",       "log2",     "log10", "log1p", "logb",
      "pow",   "sqrt",      "cbrt",   "hypot",  "sin",       "cos",      "tan",   "asin",  "acos",
      "atan",  "atan2",     "sinh",   "cosh",   "tanh",      "asinh",    "acosh", "atanh", "erf",
      "erfc",  "tgamma",    "lgamma", "fmod",   "remainder", "floor",    "ceil",  "round", "trunc",
      "rint",  "nearbyint", "lround", "lrint",  "fma",       "fmax",     "fmin",  "fdim",  "ldexp",
      "frexp", "modf",      "scalbn", "sincos", "copysign",  "nextafter"};
  if (starts_with(name, "__")) name.remove_prefix(2);
  if (name.size() > 7 && name.substr(name.size() - 7) == "_finite") name.remove_suffix(7);
  if (kNames.count(name)) return true;
  if (name.size() > 1 && (name.back() == 'f' || name.back() == 'l'))
    return kNames.count(name.substr(0, name.size() - 1)) > 0;
  return false;
}

FunctionReport inspect_aarch64(std::string_view objdump_text, std::string_view symbol) {
  const auto code = read_function(objdump_text, symbol);
  if (!code)
    throw Error("the disassembly holds no function '" + std::string(symbol) +
                "' (is it the object's symbol? run objdump -dr on the object)");
  FunctionReport r;
  r.symbol = std::string(symbol);
  r.instructions = static_cast<int>(code->size());
  if (code->empty()) return r;
  const Cfg cfg = build_cfg(*code);
  for (std::size_t c : cfg.calls) {
    const std::string callee = callee_of((*code)[c]);
    add_unique(r.calls, callee);
    if (is_libm_function(callee)) add_unique(r.libm_calls, callee);
  }
  const std::vector<Loop> loops = natural_loops(cfg);
  r.loops = static_cast<int>(loops.size());
  // The main loop: innermost, branch-free first, then the most vector instructions, then the
  // lowest address (see the header).
  std::optional<std::tuple<bool, int, std::uint64_t>> best;
  for (const Loop &l : loops) {
    const bool innermost = std::none_of(loops.begin(), loops.end(), [&](const Loop &m) {
      return m.header != l.header && l.body[m.header];
    });
    if (!innermost) continue;
    ++r.innermost;
    LoopReport report = measure(*code, cfg, l);
    const std::tuple<bool, int, std::uint64_t> key{report.blocks == 1, report.vector,
                                                   ~report.first};
    if (!best || key > *best) {
      best = key;
      r.main_loop = std::move(report);
      r.has_loop = true;
    }
  }
  return r;
}

NeonAudit audit_neon(std::string_view objdump_text, std::string_view symbol, codegen::DType dtype) {
  NeonAudit a;
  a.function = inspect_aarch64(objdump_text, symbol);
  const LoopReport &l = a.function.main_loop;
  a.loop_instructions = l.instructions;
  a.loop_vector = l.vector;
  // The arrangements that count as the kernel's arithmetic, preferred first: a kernel computes in
  // its compute type (codegen's precision.cpp): f32 for f32/f16/bf16 storage, f64 for f64 and
  // for 32-bit-or-narrower kernels whose expression needs it; f16 natively with ARMFp16.
  std::vector<std::string_view> allowed;
  switch (dtype) {
  case codegen::DType::F64: allowed = {"2d"}; break;
  case codegen::DType::F32:
  case codegen::DType::BF16: allowed = {"4s", "2d"}; break;
  case codegen::DType::F16: allowed = {"4s", "8h", "4h", "2d"}; break;
  }
  a.arrangement = std::string(allowed.front());
  for (std::string_view arr : allowed)
    if (fp_on(l, arr) > a.loop_fp) {
      a.loop_fp = fp_on(l, arr);
      a.arrangement = std::string(arr);
    }
  std::string allowed_text;
  for (std::string_view arr : allowed)
    allowed_text += (allowed_text.empty() ? "." : " or .") + std::string(arr);
  if (!a.function.libm_calls.empty())
    a.reason = "calls the math library (" + a.function.libm_calls.front() + ")";
  else if (!a.function.has_loop)
    a.reason = "no loop";
  else if (!l.calls.empty())
    a.reason = "the main loop calls " + l.calls.front();
  else if (l.scalar_fp > 0)
    a.reason = "the main loop has " + std::to_string(l.scalar_fp) +
               " scalar floating-point instructions (" + l.scalar_fp_examples.front() + ")";
  else if (a.loop_fp == 0)
    a.reason =
        "the main loop has no vector floating-point instruction on " + allowed_text + " registers";
  a.ok = a.reason.empty();
  return a;
}

std::string NeonAudit::describe() const {
  const LoopReport &l = function.main_loop;
  std::string s = function.symbol + ": " + (ok ? "ok" : "FAIL: " + reason);
  if (function.has_loop)
    s += "; main loop " + hex(l.first) + "-" + hex(l.last) + ": " + std::to_string(l.instructions) +
         " instructions, " + std::to_string(l.blocks) + (l.blocks == 1 ? " block, " : " blocks, ") +
         std::to_string(l.vector) + " vector (" + counts(l.vector_by_arrangement) + "), " +
         std::to_string(loop_fp) + " FP on ." + arrangement + " (FP " +
         counts(l.fp_by_arrangement) + "), " + std::to_string(l.conversions) +
         " width conversions, " + std::to_string(l.scalar_fp) + " scalar FP, " +
         std::to_string(l.loads) + " loads, " + std::to_string(l.stores) + " stores, " +
         std::to_string(l.calls.size()) + " calls";
  s += "; " + std::to_string(function.loops) + " loops (" + std::to_string(function.innermost) +
       " innermost) in " + std::to_string(function.instructions) + " instructions";
  if (!function.calls.empty()) {
    s += "; calls";
    for (const auto &c : function.calls)
      s += " " + c;
  }
  return s;
}

} // namespace actforge::runtime
