// The HLS emitter's front: parameters bound, roles formed, the C files and report assembled.
#include "actforge/codegen/hls/hls.hpp"

#include "actforge/codegen/hls/float_lower.hpp"
#include "actforge/dsl/philox.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/mutate.hpp"
#include "actforge/ir/print.hpp"
#include "actforge/ir/simplify.hpp"
#include "fixed.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace actforge::codegen::hls {
namespace {

using detail::IntProgram;

bool is_identifier(const std::string &s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

std::string upper(std::string s) {
  for (char &c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

/// Text safe inside a C block comment.
std::string comment_text(std::string s) {
  for (std::size_t at; (at = s.find("*/")) != std::string::npos;)
    s.replace(at, 2, "* /");
  return s;
}

std::string number(long double v, int digits = 9) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*Lg", digits, v);
  return buf;
}

std::string entry_type(int bits) {
  return bits <= 8 ? "int8_t" : bits <= 16 ? "int16_t" : bits <= 32 ? "int32_t" : "int64_t";
}

/// An integer literal: plain within int32_t, INT64_C beyond (portable for values beyond int).
std::string literal(std::int64_t v) {
  if (v >= 0 && v <= 2147483647) return std::to_string(v);
  if (v < 0 && v >= -2147483647) return "(" + std::to_string(v) + ")";
  return "INT64_C(" + std::to_string(v) + ")";
}

/// The C statements of an integer program, one per instruction (constants and inputs inline).
/// A register whose range fits 32 bits is an int32_t, else an int64_t (then its first operand
/// is widened, so the operation itself is carried out in 64 bits).
std::vector<std::string> program_statements(const IntProgram &p,
                                            const std::vector<std::string> &input_values,
                                            int input_width, std::vector<std::string> &names) {
  std::vector<std::string> out;
  names.assign(p.ins.size(), "");
  const auto ranges = p.ranges(input_width);
  int next = 0;
  for (std::size_t k = 0; k < p.ins.size(); ++k) {
    const IntProgram::Ins &i = p.ins[k];
    const bool wide = IntProgram::bits(ranges[k]) > 32;
    auto A = [&] {
      const std::size_t a = static_cast<std::size_t>(i.a);
      // Widen the first operand: a register by a cast, a constant as an INT64_C literal.
      if (!wide || IntProgram::bits(ranges[a]) > 32) return names[a];
      if (p.ins[a].op == IntProgram::Op::Const)
        return "INT64_C(" + std::to_string(p.ins[a].imm) + ")";
      return "(int64_t)" + names[a];
    };
    auto B = [&] { return names[static_cast<std::size_t>(i.b)]; };
    std::string e;
    switch (i.op) {
    case IntProgram::Op::Const: names[k] = literal(i.imm); continue;
    case IntProgram::Op::Input: names[k] = input_values[static_cast<std::size_t>(i.imm)]; continue;
    case IntProgram::Op::Add: e = A() + " + " + B(); break;
    case IntProgram::Op::Sub: e = A() + " - " + B(); break;
    case IntProgram::Op::Neg: e = "-" + A(); break;
    case IntProgram::Op::Mul: e = A() + " * " + B(); break;
    case IntProgram::Op::Scale: e = A() + " * " + literal(std::int64_t{1} << i.imm); break;
    case IntProgram::Op::Shr: e = A() + " >> " + std::to_string(i.imm); break;
    case IntProgram::Op::And: e = A() + " & " + literal(i.imm); break;
    case IntProgram::Op::Lt: e = A() + " < " + B(); break;
    case IntProgram::Op::Le: e = A() + " <= " + B(); break;
    case IntProgram::Op::Gt: e = A() + " > " + B(); break;
    case IntProgram::Op::Ge: e = A() + " >= " + B(); break;
    case IntProgram::Op::Eq: e = A() + " == " + B(); break;
    case IntProgram::Op::Ne: e = A() + " != " + B(); break;
    case IntProgram::Op::Select:
      e = names[static_cast<std::size_t>(i.a)] + " ? " + B() + " : " +
          names[static_cast<std::size_t>(i.c)];
      break;
    case IntProgram::Op::Load:
      e = p.tables[static_cast<std::size_t>(i.table)].name + "[" +
          names[static_cast<std::size_t>(i.a)] + "]";
      break;
    }
    names[k] = "t" + std::to_string(next++);
    out.push_back(std::string(wide ? "const int64_t " : "const int32_t ") + names[k] + " = " + e +
                  ";");
  }
  return out;
}

/// The operand widths of each multiplier (signed bits), for the report.
std::vector<std::pair<int, int>> multiplier_widths(const IntProgram &p, int input_width) {
  const auto ranges = p.ranges(input_width);
  std::vector<std::pair<int, int>> out;
  for (const auto &i : p.ins)
    if (i.op == IntProgram::Op::Mul)
      out.emplace_back(IntProgram::bits(ranges[static_cast<std::size_t>(i.a)]),
                       IntProgram::bits(ranges[static_cast<std::size_t>(i.b)]));
  return out;
}

std::string table_definition(const IntProgram::TableData &t, const Table &info) {
  std::ostringstream s;
  s << "/* " << comment_text(info.function) << " at " << ir::input_name(info.input) << " = "
    << number(info.lo) << " + j*" << number((info.hi - info.lo) / info.intervals) << ", j = 0.."
    << info.intervals << "; values * 2^-" << info.frac << ". */\n";
  s << "static const " << entry_type(t.entry_bits) << " " << t.name << "[" << t.values.size()
    << "] = {";
  for (std::size_t j = 0; j < t.values.size(); ++j) {
    if (j % 10 == 0) s << "\n   ";
    s << " " << t.values[j] << (j + 1 < t.values.size() ? "," : "");
  }
  s << "\n};\n\n";
  return s.str();
}

} // namespace

namespace {

// g = U[0, 1) of a generated input (Options::uniform_g): Philox-4x32-10 with key = seed (low word
// first) and counter = (index, 0, 0) as 64 bits in words 0 and 1, g = (word 0 >> 8) * 2^-24 —
// dsl/philox.hpp's contract and constants, written out round by round (the rules allow no loop
// but the element loop): 32x32 -> 64-bit products, which HLS maps to DSP blocks.
std::string philox_helper() {
  std::string s =
      "/* Philox-4x32-10 (Salmon et al. 2011): g = U[0, 1) at counter `index` under `seed`. */\n"
      "static float af_uniform(uint64_t seed, uint64_t index) {\n"
      "  uint32_t c0 = (uint32_t)index, c1 = (uint32_t)(index >> 32), c2 = 0, c3 = 0;\n"
      "  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);\n"
      "  uint64_t p0, p1;\n";
  auto hex = [](std::uint32_t v) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08Xu", v);
    return std::string(text);
  };
  namespace ph = dsl::philox;
  for (int r = 0; r < ph::kRounds; ++r) {
    if (r > 0) s += "  k0 += " + hex(ph::kWeyl0) + ";\n  k1 += " + hex(ph::kWeyl1) + ";\n";
    s += "  p0 = (uint64_t)" + hex(ph::kMultiplier0) + " * c0;\n  p1 = (uint64_t)" +
         hex(ph::kMultiplier1) +
         " * c2;\n"
         "  c0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;\n  c2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;\n"
         "  c1 = (uint32_t)p1;\n  c3 = (uint32_t)p0;\n";
  }
  return s + "  (void)c1;\n  (void)c2;\n  (void)c3;\n  return (float)(c0 >> 8) * 0x1p-24f;\n}\n\n";
}

} // namespace

Kernel generate(ir::Expr f, Role role, const std::string &c_name, const Options &options) {
  if (!f.defined()) throw Error("hls: no expression");
  if (role != Role::Forward && role != Role::Backward)
    throw Error("hls: the fpga target has the roles forward and backward, not " +
                std::string(to_string(role)));
  if (!is_identifier(c_name)) throw Error("hls: '" + c_name + "' is not a C identifier");
  if (f.is_condition()) throw Error("hls: a comparison is not an activation");
  if (options.in.has_value() != options.out.has_value())
    throw Error("hls: fixed point needs both the input and the output format");
  if (options.max_n < 1 || options.max_n > (std::int64_t{1} << 31) - 1)
    throw Error("hls: the largest count per call must be 1 to 2^31-1");

  // Bind the parameters: an FPGA kernel is specialised to their values.
  std::unordered_map<ir::Expr, ir::Expr, ir::ExprHash> bind;
  std::map<std::string, long double> used;
  const std::vector<ir::ParamInfo> params = ir::collect_params(f);
  for (const auto &p : params) {
    auto it = options.params.find(p.name);
    if (it == options.params.end() && !p.default_value)
      throw Error("hls: parameter '" + p.name + "' has no default: give it a value");
    const long double v = it != options.params.end() ? it->second : *p.default_value;
    used[p.name] = v;
    bind[ir::param(p.name, p.default_value)] = ir::constant(v);
  }
  for (const auto &[name, value] : options.params) {
    (void)value;
    if (!used.count(name)) throw Error("hls: the activation has no parameter '" + name + "'");
  }
  const ir::Expr g = params.empty() ? f : ir::simplify(ir::substitute(f, bind));
  if (!ir::collect_params(g).empty())
    throw Error("hls: internal error: a parameter survived binding");
  const int num_inputs = ir::count_inputs(g);
  if (num_inputs > 2) throw Error("hls: an activation has at most two inputs (x, g)");

  const bool fixed = options.in.has_value();
  const bool backward = role == Role::Backward;
  Report r;
  r.name = c_name;
  r.expression = ir::print(g);
  r.role = role;
  r.mode = fixed ? "fixed" : "float";
  r.in = options.in;
  r.out = options.out;
  r.params = used;
  for (int k = 0; k < std::max(num_inputs, 1); ++k)
    r.inputs.push_back(std::string(ir::input_name(k)));
  if (options.uniform_g) {
    // g is generated in the loop (philox_helper), not read; backward has no dg.
    if (num_inputs != 2)
      throw Error("hls: uniform_g generates input g, but the activation has no input g");
    if (fixed) throw Error("hls: a generated g (uniform_g) is for the float mode, not fixed point");
    r.inputs.pop_back();
  }
  if (backward) {
    r.inputs.push_back("dy");
    r.outputs.push_back("dx");
    if (num_inputs == 2 && !options.uniform_g) r.outputs.push_back("dg");
  } else {
    r.outputs.push_back("y");
  }

  const std::string in_t = fixed ? options.in->c_type() : "float";
  const std::string out_t = fixed ? options.out->c_type() : "float";
  const std::string N = upper(c_name) + "_MAX_N";
  std::string helpers;
  std::vector<std::string> body, results;
  std::string tables;
  std::vector<std::string> values; // the element values the code reads, per input
  for (const auto &name : r.inputs)
    values.push_back(name + "v");
  Kernel kernel;

  if (fixed) {
    detail::FixedRequest q;
    const ir::Expr dy = ir::input(2);
    if (backward) {
      for (int k = 0; k < num_inputs; ++k)
        q.outputs.push_back(dy * ir::simplify(ir::differentiate(g, ir::input(k))));
    } else {
      q.outputs.push_back(g);
    }
    for (int k = 0; k < std::max(num_inputs, 1); ++k)
      q.ir_inputs.push_back(k);
    if (backward) q.ir_inputs.push_back(2);
    q.in = *options.in;
    q.out = *options.out;
    q.max_error = options.max_error;
    if (!q.max_error && !options.table_intervals)
      q.max_error = static_cast<double>(options.out->lsb());
    if (q.max_error && *q.max_error <= 0) throw Error("hls: the error bound must be positive");
    q.table_intervals = options.table_intervals;
    if (q.table_intervals &&
        (*q.table_intervals < 1 || (*q.table_intervals & (*q.table_intervals - 1))))
      throw Error("hls: the table size must be a power of two intervals");
    q.table_prefix = c_name;
    q.backward = backward;
    q.gated = num_inputs == 2;
    if (q.max_error && *q.max_error < static_cast<double>(options.out->lsb()) / 2)
      throw Error("hls: the error bound " + number(*q.max_error, 3) +
                  " is below the rounding of the output format " + options.out->to_string() +
                  " (half an LSB: " + number(options.out->lsb() / 2, 3) + ")");
    detail::FixedResult res = detail::lower_fixed(q);
    r.tables = res.tables;
    r.requested_error = q.max_error;
    r.achieved_error = res.achieved_error;
    r.error_scale = res.error_scale;
    r.measured_over = res.measured_over;
    r.measured_points = res.measured_points;
    if (q.max_error && res.achieved_error > static_cast<long double>(*q.max_error))
      throw Error("hls: " + c_name + " reaches only " + number(res.achieved_error, 4) +
                  ", above the requested " + number(*q.max_error, 4));
    r.ops = res.program.count();
    for (const Table &t : r.tables)
      r.table_bits += t.bits();
    for (std::size_t t = 0; t < res.program.tables.size(); ++t)
      tables += table_definition(res.program.tables[t], r.tables[t]);
    std::vector<std::string> names;
    body = program_statements(res.program, values, options.in->width, names);
    r.multiplier_bits = multiplier_widths(res.program, options.in->width);
    for (int o : res.program.outputs)
      results.push_back("(" + out_t + ")" + names[static_cast<std::size_t>(o)]);
    kernel.program = std::make_shared<IntProgram>(std::move(res.program));
    kernel.measured_sets = std::move(res.measured_sets);
  } else {
    // A generated g has no gradient array: backward computes dx alone.
    const FloatCode code = lower_float(g, role, options.uniform_g);
    if (code.outputs.size() != r.outputs.size())
      throw Error("hls: internal error: the float lowering gave " +
                  std::to_string(code.outputs.size()) + " outputs for " +
                  std::to_string(r.outputs.size()));
    helpers = code.helpers + (options.uniform_g ? philox_helper() : std::string());
    body = code.statements;
    results = code.outputs;
    r.ops = code.ops;
    r.achieved_error = std::numeric_limits<long double>::quiet_NaN(); // measured by a C simulation
  }

  // ---- The files.
  const std::string guard = upper(c_name) + "_H";
  const std::string what = std::string(to_string(role)) + " of " + comment_text(r.expression);
  const std::string mode =
      fixed ? "fixed point, in Q" + options.in->to_string() + ", out Q" + options.out->to_string()
            : "IEEE f32";
  std::string params_text;
  for (const auto &[name, v] : used)
    params_text += (params_text.empty() ? "" : ", ") + name + " = " + number(v, 17);
  // The kernel's prototype; with `zero_count` the _zero_count form's, which also counts the
  // elements of its first output that are zero (Options::zero_count).
  auto signature = [&](bool zero_count) {
    std::ostringstream sig;
    sig << "void " << c_name << (zero_count ? "_zero_count(" : "(");
    for (std::size_t i = 0; i < r.inputs.size(); ++i)
      sig << "const " << in_t << " " << r.inputs[i] << "[" << N << "], ";
    for (std::size_t i = 0; i < r.outputs.size(); ++i)
      sig << out_t << " " << r.outputs[i] << "[" << N << "], ";
    sig << "int32_t n" << (options.uniform_g ? ", uint64_t seed, uint64_t offset" : "")
        << (zero_count ? ", int64_t *zero_count)" : ")");
    return sig.str();
  };

  std::ostringstream h;
  h << "/* " << c_name << ".h: generated by actforge (fpga target). " << what << "\n"
    << "   " << mode << (params_text.empty() ? "" : "; parameters " + params_text) << ".\n";
  if (fixed)
    h << "   Arrays hold signed words: value = word * 2^-frac; outputs saturate. */\n";
  else
    h << "   Transcendental functions are generated polynomials: no libm. */\n";
  h << "#ifndef " << guard << "\n#define " << guard << "\n\n#include <stdint.h>\n\n";
  h << "/* The largest element count of one call. */\n#define " << N << " " << options.max_n
    << "\n";
  if (fixed) {
    h << "#define " << upper(c_name) << "_IN_FRAC " << options.in->frac << "\n";
    h << "#define " << upper(c_name) << "_OUT_FRAC " << options.out->frac << "\n";
  }
  h << "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  h << "/* " << (backward ? "dx[i] = dy[i] * df/dx" : "y[i] = f") << " for 0 <= i < n <= " << N
    << "."
    << (options.uniform_g
            ? "\n   g[i] is generated, not read: U[0, 1) from Philox-4x32-10 with key = seed and\n"
              "   counter = offset + i (codegen::KernelSpec::uniform_g); the same (seed, offset)\n"
              "   gives the same g in forward and backward and on every target."
            : "")
    << " */\n";
  h << signature(false) << ";\n";
  if (options.zero_count)
    h << "/* The same, also writing to *zero_count how many of " << r.outputs.front()
      << "[0..n) are zero (+0 or -0" << (fixed ? ": word 0" : "")
      << "): dead-unit statistics in the same pass. */\n"
      << signature(true) << ";\n";
  h << "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n";

  std::ostringstream c;
  c << "/* " << c_name << ".c: generated by actforge (fpga target). " << what << "\n"
    << "   " << mode << (params_text.empty() ? "" : "; parameters " + params_text) << ".\n"
    << "   HLS C: no heap, no recursion, no library calls, branch-free; the element loop is\n"
    << "   pipelined at II=1. Pragmas apply under synthesis (__SYNTHESIS__). */\n";
  c << "#include \"" << c_name << ".h\"\n\n";
  if (!helpers.empty()) c << helpers << "\n";
  c << tables;
  for (const bool zero_count : {false, true}) {
    if (zero_count && !options.zero_count) break;
    c << (zero_count ? "\n" : "") << signature(zero_count) << " {\n#ifdef __SYNTHESIS__\n";
    int bundle = 0;
    for (const auto &a : r.inputs)
      c << "#pragma HLS INTERFACE m_axi port=" << a << " depth=" << options.max_n
        << " offset=slave bundle=gmem" << bundle++ << "\n";
    for (const auto &a : r.outputs)
      c << "#pragma HLS INTERFACE m_axi port=" << a << " depth=" << options.max_n
        << " offset=slave bundle=gmem" << bundle++ << "\n";
    c << "#pragma HLS INTERFACE s_axilite port=n\n";
    if (options.uniform_g)
      c << "#pragma HLS INTERFACE s_axilite port=seed\n#pragma HLS INTERFACE s_axilite "
           "port=offset\n";
    if (zero_count) c << "#pragma HLS INTERFACE s_axilite port=zero_count\n";
    c << "#pragma HLS INTERFACE s_axilite port=return\n#endif\n  int32_t i;\n";
    if (zero_count) c << "  int64_t zeros = 0;\n";
    c << "  for (i = 0; i < n; ++i) {\n#ifdef __SYNTHESIS__\n"
      << "#pragma HLS PIPELINE II=1\n#pragma HLS LOOP_TRIPCOUNT min=1 max=" << options.max_n
      << "\n#endif\n";
    for (std::size_t k = 0; k < r.inputs.size(); ++k)
      c << "    const " << (fixed ? std::string("int32_t") : std::string("float")) << " "
        << values[k] << " = " << r.inputs[k] << "[i];\n";
    if (options.uniform_g) c << "    const float gv = af_uniform(seed, offset + (uint64_t)i);\n";
    for (const auto &st : body)
      c << "    " << st << "\n";
    for (std::size_t o = 0; o < r.outputs.size(); ++o)
      c << "    " << r.outputs[o] << "[i] = " << results[o] << ";\n";
    if (zero_count)
      c << "    zeros += ((" << results.front() << ") == " << (fixed ? "0" : "0.0f")
        << "); /* the value just stored, not read back over the bus */\n";
    c << "  }\n";
    if (zero_count) c << "  *zero_count = zeros;\n";
    c << "}\n";
  }

  kernel.c_name = c_name;
  kernel.header = h.str();
  kernel.source = c.str();
  kernel.report = r;
  return kernel;
}

Kernel generate_maxout(Role role, const std::string &c_name, const Options &options) {
  if (role != Role::Forward && role != Role::Backward)
    throw Error("hls: maxout has the roles forward and backward, not " +
                std::string(to_string(role)));
  if (!is_identifier(c_name)) throw Error("hls: '" + c_name + "' is not a C identifier");
  long double kv = 2;
  for (const auto &[name, value] : options.params) {
    if (name != "k") throw Error("hls: maxout has one parameter, k, not '" + name + "'");
    kv = value;
  }
  if (kv != std::floor(kv) || kv < 2 || kv > 64)
    throw Error("hls: maxout's k must be an integer from 2 to 64");
  const int k = static_cast<int>(kv);
  if (options.max_n < 1 || options.max_n * k > (std::int64_t{1} << 31) - 1)
    throw Error("hls: maxout's largest count times k must fit in int32_t");
  const bool fixed = options.in.has_value();
  const bool backward = role == Role::Backward;
  const std::string t = fixed ? options.in->c_type() : "float";
  const std::string N = upper(c_name) + "_MAX_N", K = upper(c_name) + "_K";

  Report r;
  r.name = c_name;
  r.expression = "max over each group of " + std::to_string(k) + " consecutive channels";
  r.role = role;
  r.mode = fixed ? "fixed" : "float";
  r.in = options.in;
  r.out = options.in;
  r.params = {{"k", kv}};
  r.inputs = backward ? std::vector<std::string>{"x", "dy"} : std::vector<std::string>{"x"};
  r.outputs = {backward ? "dx" : "y"};
  r.achieved_error = 0; // a selection: exact, which the check confirms bit for bit
  r.error_scale = "exact";
  r.measured_over = "exact by construction (a selection); actforge check maxout --target fpga "
                    "compares k = 2 and 3 on six shapes bit for bit with the reference";
  // First arg-max: in float a NaN counts as the maximum (m != m keeps it, v != v takes it).
  r.ops.comparators = (k - 1) * (fixed ? 1 : 3) + 1 + (backward ? k : 0);
  r.ops.selects = 2 * (k - 1) + 2 + (backward ? k : 0);
  r.ops.adders = k + 2;

  std::ostringstream sig;
  sig << "void " << c_name << "(const " << t << " x[" << N << " * " << K << "], ";
  if (backward)
    sig << "const " << t << " dy[" << N << "], " << t << " dx[" << N << " * " << K << "], ";
  else
    sig << t << " y[" << N << "], ";
  sig << "int32_t outer, int32_t groups, int32_t inner)";

  std::ostringstream h;
  h << "/* " << c_name << ".h: generated by actforge (fpga target). maxout " << to_string(role)
    << ", k = " << k << ": [outer, groups*k, inner] -> [outer, groups, inner].\n   "
    << (fixed ? "fixed point Q" + options.in->to_string() : std::string("IEEE f32"))
    << "; exact. The gradient goes to each group's first arg-max"
    << (fixed ? "" : " (a NaN counts as the maximum)") << ". */\n";
  h << "#ifndef " << upper(c_name) << "_H\n#define " << upper(c_name)
    << "_H\n\n#include <stdint.h>\n\n";
  h << "/* The largest outer*groups*inner of one call, and the group size. */\n#define " << N << " "
    << options.max_n << "\n#define " << K << " " << k << "\n\n";
  h << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
    << sig.str() << ";\n\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n";

  std::ostringstream c;
  c << "/* " << c_name << ".c: generated by actforge (fpga target). maxout " << to_string(role)
    << ", k = " << k << ".\n   HLS C: no heap, no recursion, no library calls, branch-free; one "
    << "pipelined loop over the\n   outputs, no division. Pragmas apply under synthesis "
    << "(__SYNTHESIS__). */\n";
  c << "#include \"" << c_name << ".h\"\n\n" << sig.str() << " {\n#ifdef __SYNTHESIS__\n";
  int bundle = 0;
  for (const auto &a : r.inputs)
    c << "#pragma HLS INTERFACE m_axi port=" << a << " offset=slave bundle=gmem" << bundle++
      << "\n";
  c << "#pragma HLS INTERFACE m_axi port=" << r.outputs[0] << " offset=slave bundle=gmem" << bundle
    << "\n";
  for (const char *a : {"outer", "groups", "inner", "return"})
    c << "#pragma HLS INTERFACE s_axilite port=" << a << "\n";
  c << "#endif\n  const int32_t n = outer * groups * inner;\n  const int32_t stride = " << k
    << " * inner;\n  int32_t e;\n  int32_t i = 0;\n  int32_t row = 0;\n";
  c << "  for (e = 0; e < n; ++e) {\n#ifdef __SYNTHESIS__\n#pragma HLS PIPELINE II=1\n"
    << "#pragma HLS LOOP_TRIPCOUNT min=1 max=" << options.max_n << "\n#endif\n";
  c << "    const int32_t b = row + i;\n    const int32_t wrap = i + 1 == inner;\n";
  for (int j = 0; j < k; ++j)
    c << "    const " << t << " v" << j << " = x[b"
      << (j ? " + " + std::to_string(j) + " * inner" : "") << "];\n";
  c << "    const " << t << " m0 = v0;\n    const int32_t a0 = 0;\n";
  for (int j = 1; j < k; ++j) {
    const std::string p = std::to_string(j - 1), q = std::to_string(j);
    if (fixed)
      c << "    const int32_t take" << q << " = v" << q << " > m" << p << ";\n";
    else
      c << "    const int32_t take" << q << " = (m" << p << " == m" << p << ") & ((v" << q << " > m"
        << p << ") | (v" << q << " != v" << q << "));\n";
    c << "    const " << t << " m" << q << " = take" << q << " ? v" << q << " : m" << p << ";\n";
    c << "    const int32_t a" << q << " = take" << q << " ? " << j << " : a" << p << ";\n";
  }
  const std::string last = std::to_string(k - 1);
  if (backward) {
    c << "    const " << t << " g = dy[e];\n";
    for (int j = 0; j < k; ++j)
      c << "    dx[b" << (j ? " + " + std::to_string(j) + " * inner" : "") << "] = a" << last
        << " == " << j << " ? g : (" << t << ")0;\n";
  } else {
    c << "    y[e] = m" << last << ";\n";
  }
  c << "    (void)" << (backward ? "m" : "a") << last << ";\n"
    << "    i = wrap ? 0 : i + 1;\n    row = wrap ? row + stride : row;\n  }\n}\n";

  Kernel kernel;
  kernel.c_name = c_name;
  kernel.header = h.str();
  kernel.source = c.str();
  kernel.report = r;
  return kernel;
}

std::vector<std::vector<std::int64_t>>
Kernel::simulate(const std::vector<std::vector<std::int64_t>> &inputs) const {
  if (!program) throw Error("hls: simulate() is for fixed-point kernels");
  const auto &p = *static_cast<const IntProgram *>(program.get());
  if (inputs.size() != static_cast<std::size_t>(p.num_inputs))
    throw Error("hls: simulate() needs " + std::to_string(p.num_inputs) + " inputs");
  const std::size_t n = inputs.empty() ? 0 : inputs[0].size();
  std::vector<std::vector<std::int64_t>> out(p.outputs.size(), std::vector<std::int64_t>(n));
  std::vector<std::int64_t> in(inputs.size()), regs;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < inputs.size(); ++k)
      in[k] = inputs[k].at(i);
    p.run(in.data(), regs);
    for (std::size_t o = 0; o < p.outputs.size(); ++o)
      out[o][i] = regs[static_cast<std::size_t>(p.outputs[o])];
  }
  return out;
}

namespace {
std::string json_string(const std::string &s) {
  std::string o = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      o += buf;
      continue;
    }
    o += ch;
  }
  return o + "\"";
}
std::string json_number(long double v) {
  if (std::isnan(v) || std::isinf(v)) return "null";
  return number(v, 6);
}
} // namespace

std::string to_json(const Report &r) {
  std::ostringstream s;
  s << "{\n  \"kernel\": " << json_string(r.name) << ",\n";
  s << "  \"expression\": " << json_string(r.expression) << ",\n";
  s << "  \"role\": " << json_string(std::string(to_string(r.role))) << ",\n";
  s << "  \"mode\": " << json_string(r.mode) << ",\n";
  if (r.in) s << "  \"in_format\": " << json_string(r.in->to_string()) << ",\n";
  if (r.out) s << "  \"out_format\": " << json_string(r.out->to_string()) << ",\n";
  auto list = [&](const std::vector<std::string> &v) {
    std::string o = "[";
    for (std::size_t i = 0; i < v.size(); ++i)
      o += (i ? ", " : "") + json_string(v[i]);
    return o + "]";
  };
  s << "  \"inputs\": " << list(r.inputs) << ",\n  \"outputs\": " << list(r.outputs) << ",\n";
  s << "  \"params\": {";
  bool first = true;
  for (const auto &[k, v] : r.params) {
    s << (first ? "" : ", ") << json_string(k) << ": " << number(v, 17);
    first = false;
  }
  s << "},\n  \"error\": {\n";
  if (r.mode == "fixed") {
    s << "    \"requested\": "
      << (r.requested_error ? json_number(*r.requested_error) : std::string("null")) << ",\n";
    s << "    \"achieved\": " << json_number(r.achieved_error) << ",\n";
    s << "    \"scale\": " << json_string(r.error_scale) << ",\n";
  } else {
    s << "    \"achieved_ulp\": " << json_number(r.achieved_error) << ",\n";
  }
  s << "    \"measured_over\": " << json_string(r.measured_over) << ",\n";
  s << "    \"points\": " << r.measured_points << "\n  },\n";
  s << "  \"tables\": [";
  for (std::size_t i = 0; i < r.tables.size(); ++i) {
    const Table &t = r.tables[i];
    s << (i ? "," : "") << "\n    {\"name\": " << json_string(t.name)
      << ", \"function\": " << json_string(t.function)
      << ", \"input\": " << json_string(std::string(ir::input_name(t.input)))
      << ", \"lo\": " << json_number(t.lo) << ", \"hi\": " << json_number(t.hi)
      << ", \"intervals\": " << t.intervals << ", \"entries\": " << t.intervals + 1
      << ", \"entry_bits\": " << t.entry_bits << ", \"frac\": " << t.frac
      << ", \"tails\": " << (t.tails ? "true" : "false") << ", \"bits\": " << t.bits()
      << ", \"max_error\": " << json_number(t.max_error) << "}";
  }
  s << (r.tables.empty() ? "" : "\n  ") << "],\n";
  s << "  \"table_bits\": " << r.table_bits << ",\n";
  if (r.mode == "fixed") {
    s << "  \"multiplier_bits\": [";
    for (std::size_t i = 0; i < r.multiplier_bits.size(); ++i)
      s << (i ? ", " : "") << "[" << r.multiplier_bits[i].first << ", "
        << r.multiplier_bits[i].second << "]";
    s << "],\n";
  }
  s << "  \"ops_per_element\": {\"multipliers\": " << r.ops.multipliers
    << ", \"adders\": " << r.ops.adders << ", \"dividers\": " << r.ops.dividers
    << ", \"comparators\": " << r.ops.comparators << ", \"selects\": " << r.ops.selects
    << ", \"table_reads\": " << r.ops.table_reads << "}\n}\n";
  return s.str();
}

} // namespace actforge::codegen::hls
