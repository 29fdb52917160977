// The MLIR emitter: the element computation from lower_values() in MLIR syntax, wrapped in a
// vector loop (CPU) or a grid-stride loop (GPU), and the C ABI entry. See emit.hpp.
#include "actforge/codegen/mlir/emit.hpp"

#include "../hls/c_prims.hpp"
#include "../hls/lower_values.hpp"

#include "actforge/dsl/from_output.hpp"
#include "actforge/error.hpp"
#include "actforge/ir/differentiate.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/print.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>

namespace actforge::codegen::mlir {
namespace {

namespace c = hls::c;

std::string storage(DType d) {
  switch (d) {
  case DType::F32: return "f32";
  case DType::F16: return "f16";
  case DType::BF16: return "i16"; // bf16 as its bits: x86 without AVX512-BF16 has no bf16 type
  case DType::F64: break;
  }
  throw Error("the MLIR backend computes in f32: f64 kernels are the Halide backend's");
}

std::string vec(int lanes, const std::string &element) {
  return lanes > 0 ? "vector<" + std::to_string(lanes) + "x" + element + ">" : element;
}

std::string zero_of(const std::string &st) { return st == "i16" ? "0" : "0.0"; }

std::string splat(const std::string &literal, int lanes) {
  return lanes > 0 ? "dense<" + literal + ">" : literal;
}

/// Lines defining `out` (f32) from `raw` in storage type st: f16 by extf; bf16 bits (i16) as the
/// high half of an f32. Vectors of bf16 then pass an empty inline asm (no instruction): LLVM 19's
/// x86 instruction selection for AVX-512 miscompiles our primitives on values whose low 16 bits
/// it knows are zero (tanh of bf16 came out as garbage; correct with -O0, with AVX2, and behind
/// this barrier, which hides the known bits).
std::string widen(const std::string &out, const std::string &raw, const std::string &st, int lanes,
                  const std::string &ind) {
  const std::string fv = vec(lanes, "f32");
  if (st == "f16")
    return ind + out + " = arith.extf " + raw + " : " + vec(lanes, st) + " to " + fv + "\n";
  const std::string i32 = vec(lanes, "i32");
  const std::string bits = lanes > 0 ? out + "_v" : out;
  std::string s = ind + out + "_w = arith.extui " + raw + " : " + vec(lanes, "i16") + " to " + i32 +
                  "\n" + ind + out + "_k = arith.constant " + splat("16", lanes) + " : " + i32 +
                  "\n" + ind + out + "_h = arith.shli " + out + "_w, " + out + "_k : " + i32 +
                  "\n" + ind + bits + " = arith.bitcast " + out + "_h : " + i32 + " to " + fv +
                  "\n";
  if (lanes > 0)
    s +=
        ind + out + " = llvm.inline_asm \"\", \"=v,0\" " + bits + " : (" + fv + ") -> " + fv + "\n";
  return s;
}

/// Lines defining `out` (storage type st) from the f32 `v`, rounded to nearest even: f16 by
/// truncf; bf16 by adding 0x7fff plus the lowest kept bit to the f32 bits (NaN: 0x7fc0).
std::string narrow(const std::string &out, const std::string &v, const std::string &st, int lanes,
                   const std::string &ind) {
  const std::string fv = vec(lanes, "f32");
  if (st == "f16")
    return ind + out + " = arith.truncf " + v + " : " + fv + " to " + vec(lanes, st) + "\n";
  const std::string i32 = vec(lanes, "i32"), i16 = vec(lanes, "i16"), c = vec(lanes, "i1");
  auto line = [&](const std::string &name, const std::string &rhs) {
    return ind + out + name + " = " + rhs + "\n";
  };
  return line("_b", "arith.bitcast " + v + " : " + fv + " to " + i32) +
         line("_16", "arith.constant " + splat("16", lanes) + " : " + i32) +
         line("_1", "arith.constant " + splat("1", lanes) + " : " + i32) +
         line("_half", "arith.constant " + splat("32767", lanes) + " : " + i32) +
         line("_nan", "arith.constant " + splat("32704", lanes) + " : " + i16) +
         line("_s", "arith.shrui " + out + "_b, " + out + "_16 : " + i32) +
         line("_l", "arith.andi " + out + "_s, " + out + "_1 : " + i32) +
         line("_a", "arith.addi " + out + "_half, " + out + "_l : " + i32) +
         line("_r", "arith.addi " + out + "_b, " + out + "_a : " + i32) +
         line("_h", "arith.shrui " + out + "_r, " + out + "_16 : " + i32) +
         line("_t", "arith.trunci " + out + "_h : " + i32 + " to " + i16) +
         line("_u", "arith.cmpf uno, " + v + ", " + v + " : " + fv) + ind + out +
         " = arith.select " + out + "_u, " + out + "_nan, " + out +
         "_t : " + (lanes > 0 ? c + ", " : std::string()) + i16 + "\n";
}

std::string join(const std::vector<std::string> &items, const std::string &sep = ", ") {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i)
    s += (i ? sep : "") + items[i];
  return s;
}

/// A result group's values: %r#0, %r#1, ...
std::vector<std::string> results(const std::string &group, std::size_t n) {
  std::vector<std::string> v;
  for (std::size_t i = 0; i < n; ++i)
    v.push_back(group + "#" + std::to_string(i));
  return v;
}

/// What the element computation reads and produces.
struct Plan {
  std::vector<std::string> inputs;  // array names, argument order
  std::vector<ir::Expr> exprs;      // one per output, of ir::input(k) = inputs[k]
  bool times_dy = false;            // the last input is dy, multiplying every expression
  std::vector<std::string> outputs; // array names
  bool grad = false;                // param_grad: outputs are sums
};

Plan plan(const KernelSpec &spec) {
  Plan p;
  const int n = std::max(1, ir::count_inputs(spec.expr));
  const std::vector<std::string> data =
      n > 1 ? std::vector<std::string>{"x", "g"} : std::vector<std::string>{"x"};
  switch (spec.role) {
  case Role::Forward:
    p.inputs = data;
    p.exprs = {spec.expr};
    p.outputs = {"y"};
    break;
  case Role::Backward:
    p.inputs = data;
    p.inputs.push_back("dy");
    p.times_dy = true;
    for (int k = 0; k < n; ++k) {
      p.exprs.push_back(ir::differentiate(spec.expr, ir::input(k)));
      p.outputs.push_back(k == 0 ? "dx" : "dg");
    }
    break;
  case Role::BackwardFromOutput:
    p.inputs = {"y", "dy"};
    p.times_dy = true;
    p.exprs = {dsl::derivative_from_output(spec.expr)};
    p.outputs = {"dx"};
    break;
  case Role::ParamGrad:
    p.inputs = data;
    p.inputs.push_back("dy");
    p.times_dy = true;
    p.grad = true;
    for (const auto &name : grad_params(spec)) {
      p.exprs.push_back(ir::differentiate(spec.expr, ir::param(name)));
      p.outputs.push_back("d" + name);
    }
    break;
  }
  return p;
}

/// The element function: inputs and parameters as f32 values (vectors of `lanes`), the outputs.
std::string element_function(const std::string &name, const Plan &p,
                             const std::vector<std::string> &params, int lanes) {
  c::Module module(c::Syntax{true, lanes});
  c::Body body("t");
  std::vector<c::V> outs;
  const std::string vt = vec(lanes, "f32");
  std::vector<std::string> args;
  {
    c::Scope scope(body, module);
    std::vector<c::V> inputs;
    const std::size_t data = p.inputs.size() - (p.times_dy ? 1 : 0);
    for (std::size_t k = 0; k < data; ++k) {
      inputs.push_back({"%" + p.inputs[k] + "v", c::Ty::F});
      args.push_back(inputs.back().s + ": " + vt);
    }
    c::OptV dy;
    if (p.times_dy) {
      dy = c::V{"%dyv", c::Ty::F};
      args.push_back("%dyv: " + vt);
    }
    std::map<std::string, c::V> values;
    for (const auto &param : params) {
      values[param] = {"%p_" + param, c::Ty::F};
      args.push_back("%p_" + param + ": " + vt);
    }
    outs = hls::lower_values(inputs, values, p.exprs, dy);
  }
  std::vector<std::string> roots, types;
  for (const auto &o : outs) {
    roots.push_back(o.s);
    types.push_back(vt);
  }
  std::string s =
      "  func.func private @" + name + "_element(" + join(args) + ") -> (" + join(types) + ") {\n";
  for (const auto &line : body.finish(roots).lines)
    s += "    " + line + "\n";
  return s + "    return " + join(roots) + " : " + join(types) + "\n  }\n";
}

/// Loads of every input at `at` (masked by %mask when given) as f32 vectors, prefixed `pre`.
std::string load_inputs(const Plan &p, const std::string &st, int lanes, const std::string &at,
                        const std::string &pre, bool masked, const std::string &ind,
                        std::vector<std::string> &values) {
  const std::string sv = vec(lanes, st), fv = vec(lanes, "f32"), mask = vec(lanes, "i1");
  std::string s;
  for (const auto &in : p.inputs) {
    const std::string raw = "%" + pre + in;
    if (masked) {
      s += ind + raw + " = vector.maskedload %" + in + "[" + at + "], %mask, %pass : memref<?x" +
           st + ">, " + mask + ", " + sv + " into " + sv + "\n";
    } else {
      s +=
          ind + raw + " = vector.load %" + in + "[" + at + "] : memref<?x" + st + ">, " + sv + "\n";
    }
    if (st == "f32") {
      values.push_back(raw);
    } else {
      s += widen(raw + "_f", raw, st, lanes, ind);
      values.push_back(raw + "_f");
    }
  }
  return s;
}

std::string call_element(const std::string &name, const Plan &p, std::vector<std::string> args,
                         const std::vector<std::string> &params, int lanes,
                         const std::string &group, const std::string &ind) {
  for (const auto &param : params)
    args.push_back("%pv_" + param);
  const std::string fv = vec(lanes, "f32");
  const std::vector<std::string> in_types(args.size(), fv), out_types(p.exprs.size(), fv);
  return ind + group + ":" + std::to_string(p.exprs.size()) + " = func.call @" + name +
         "_element(" + join(args) + ") : (" + join(in_types) + ") -> (" + join(out_types) + ")\n";
}

/// The memref function of the elementwise roles: full vectors, then one masked vector.
std::string memref_elementwise(const std::string &name, const Plan &p, const std::string &st,
                               const std::vector<std::string> &params, int lanes) {
  const std::string sv = vec(lanes, st), fv = vec(lanes, "f32"), mask = vec(lanes, "i1");
  std::string s;
  auto store = [&](const std::string &group, const std::string &at, bool masked,
                   const std::string &ind) {
    const auto vals = results(group, p.outputs.size());
    for (std::size_t k = 0; k < p.outputs.size(); ++k) {
      std::string v = vals[k];
      if (st != "f32") {
        s += narrow(group + "_s" + std::to_string(k), v, st, lanes, ind);
        v = group + "_s" + std::to_string(k);
      }
      s += ind + (masked ? "vector.maskedstore %" + p.outputs[k] + "[" + at + "], %mask, " + v +
                               " : memref<?x" + st + ">, " + mask + ", " + sv + "\n"
                         : "vector.store " + v + ", %" + p.outputs[k] + "[" + at + "] : memref<?x" +
                               st + ">, " + sv + "\n");
    }
  };
  std::vector<std::string> vals;
  s += "    scf.for %i = %c0 to %full step %lanes {\n";
  s += load_inputs(p, st, lanes, "%i", "l_", false, "      ", vals);
  s += call_element(name, p, vals, params, lanes, "%l_r", "      ");
  store("%l_r", "%i", false, "      ");
  s += "    }\n";
  s += "    scf.if %has_tail {\n";
  s += "      %mask = vector.create_mask %tail : " + mask + "\n";
  s += "      %pass = arith.constant dense<" + zero_of(st) + "> : " + sv + "\n";
  vals.clear();
  s += load_inputs(p, st, lanes, "%full", "m_", true, "      ", vals);
  s += call_element(name, p, vals, params, lanes, "%m_r", "      ");
  store("%m_r", "%full", true, "      ");
  s += "    }\n";
  return s;
}

/// The memref function of param_grad: dy·∂f/∂p summed in f64 lanes, then across them.
std::string memref_param_grad(const std::string &name, const Plan &p, const std::string &st,
                              const std::vector<std::string> &params, int lanes) {
  const std::string fv = vec(lanes, "f32"), dv = vec(lanes, "f64"), mask = vec(lanes, "i1");
  const std::size_t np = p.outputs.size();
  std::vector<std::string> acc_types(np, dv), zeros(np, "%zero64");
  const std::string k = std::to_string(np);
  std::string s = "    %zero64 = arith.constant dense<0.0> : " + dv + "\n";
  std::vector<std::string> iter;
  for (std::size_t i = 0; i < np; ++i)
    iter.push_back("%acc" + std::to_string(i) + " = %zero64");
  s += "    %sum:" + k + " = scf.for %i = %c0 to %full step %lanes iter_args(" + join(iter) +
       ") -> (" + join(acc_types) + ") {\n";
  std::vector<std::string> vals;
  s += load_inputs(p, st, lanes, "%i", "l_", false, "      ", vals);
  s += call_element(name, p, vals, params, lanes, "%l_r", "      ");
  std::vector<std::string> next;
  for (std::size_t i = 0; i < np; ++i) {
    const std::string e = "%l_e" + std::to_string(i), a = "%l_a" + std::to_string(i);
    s += "      " + e + " = arith.extf %l_r#" + std::to_string(i) + " : " + fv + " to " + dv + "\n";
    s += "      " + a + " = arith.addf %acc" + std::to_string(i) + ", " + e + " : " + dv + "\n";
    next.push_back(a);
  }
  s += "      scf.yield " + join(next) + " : " + join(acc_types) + "\n    }\n";
  s += "    %total:" + k + " = scf.if %has_tail -> (" + join(acc_types) + ") {\n";
  s += "      %mask = vector.create_mask %tail : " + mask + "\n";
  s += "      %pass = arith.constant dense<" + zero_of(st) + "> : " + vec(lanes, st) + "\n";
  s += "      %zero32 = arith.constant dense<0.0> : " + fv + "\n";
  vals.clear();
  s += load_inputs(p, st, lanes, "%full", "m_", true, "      ", vals);
  s += call_element(name, p, vals, params, lanes, "%m_r", "      ");
  next.clear();
  for (std::size_t i = 0; i < np; ++i) {
    const std::string id = std::to_string(i);
    s += "      %m_q" + id + " = arith.select %mask, %m_r#" + id + ", %zero32 : " + mask + ", " +
         fv + "\n";
    s += "      %m_e" + id + " = arith.extf %m_q" + id + " : " + fv + " to " + dv + "\n";
    s += "      %m_a" + id + " = arith.addf %sum#" + id + ", %m_e" + id + " : " + dv + "\n";
    next.push_back("%m_a" + id);
  }
  s += "      scf.yield " + join(next) + " : " + join(acc_types) + "\n";
  s += "    } else {\n      scf.yield " + join(results("%sum", np)) + " : " + join(acc_types) +
       "\n    }\n";
  for (std::size_t i = 0; i < np; ++i) {
    const std::string id = std::to_string(i);
    s += "    %g" + id + " = vector.reduction <add>, %total#" + id + " : " + dv + " into f64\n";
    // f64 -> f32 (-> f16/bf16: arith-expand rounds f32 to bf16 itself; there is no f64 form).
    s += "    %g" + id + "_f = arith.truncf %g" + id + " : f64 to f32\n";
    std::string stored = "%g" + id + "_f";
    if (st != "f32") {
      s += narrow("%g" + id + "_s", stored, st, 0, "    ");
      stored = "%g" + id + "_s";
    }
    s += "    memref.store " + stored + ", %" + p.outputs[i] + "[%c0] : memref<?x" + st + ">\n";
  }
  return s;
}

/// `%NAME = a memref<?xT> of n elements at pointer %NAME_ptr` (a descriptor cast to a memref,
/// which finalize-memref-to-llvm and reconcile-unrealized-casts turn back into the pointer).
std::string descriptor(const std::string &array, const std::string &st, const std::string &size) {
  const std::string d = "!llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>";
  const std::string a = "%" + array;
  std::string s;
  s += "      " + a + "_d0 = llvm.insertvalue " + a + "_ptr, %undef[0] : " + d + "\n";
  s += "      " + a + "_d1 = llvm.insertvalue " + a + "_ptr, " + a + "_d0[1] : " + d + "\n";
  s += "      " + a + "_d2 = llvm.insertvalue %zero_i64, " + a + "_d1[2] : " + d + "\n";
  s += "      " + a + "_d3 = llvm.insertvalue " + size + ", " + a + "_d2[3, 0] : " + d + "\n";
  s += "      " + a + "_d4 = llvm.insertvalue %one_i64, " + a + "_d3[4, 0] : " + d + "\n";
  s += "      " + a + " = builtin.unrealized_conversion_cast " + a + "_d4 : " + d +
       " to memref<?x" + st + ">\n";
  return s;
}

std::string literal_f32(double v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X",
                std::bit_cast<std::uint32_t>(static_cast<float>(std::isnan(v) ? 0.0 : v)));
  return buf;
}

/// int NAME(const T *in..., T *out..., int64_t n, const P *p[, T *grads...]).
std::string c_abi(const std::string &name, const Plan &p, const std::string &st,
                  const std::vector<std::string> &params, const std::vector<double> &defaults) {
  std::vector<std::string> args, arrays;
  for (const auto &in : p.inputs)
    arrays.push_back(in);
  if (!p.grad) arrays.insert(arrays.end(), p.outputs.begin(), p.outputs.end());
  for (const auto &a : arrays)
    args.push_back("%" + a + "_ptr: !llvm.ptr");
  args.push_back("%n: i64");
  if (!params.empty()) args.push_back("%p: !llvm.ptr");
  if (p.grad)
    for (const auto &o : p.outputs)
      args.push_back("%" + o + "_ptr: !llvm.ptr");
  std::string s = "  func.func @" + name + "(" + join(args) + ") -> i32 {\n";
  s += "    %null = llvm.mlir.zero : !llvm.ptr\n";
  s += "    %zero_i64 = arith.constant 0 : i64\n    %one_i64 = arith.constant 1 : i64\n";
  s += "    %rc_ok = arith.constant 0 : i32\n    %rc_argument = arith.constant 1 : i32\n"
       "    %rc_param = arith.constant 2 : i32\n";
  // 1: n < 0, or n > 0 and an array is NULL (param_grad's sums are written for any n).
  s += "    %negative = arith.cmpi slt, %n, %zero_i64 : i64\n";
  s += "    %some = arith.cmpi sgt, %n, %zero_i64 : i64\n";
  std::string any_null = "%false";
  s += "    %false = arith.constant false\n";
  int k = 0;
  for (const auto &a : arrays) {
    const std::string is = "%null" + std::to_string(k++);
    s += "    " + is + " = llvm.icmp \"eq\" %" + a + "_ptr, %null : !llvm.ptr\n";
    s += "    " + is + "_any = arith.ori " + any_null + ", " + is + " : i1\n";
    any_null = is + "_any";
  }
  s += "    %null_data = arith.andi %some, " + any_null + " : i1\n";
  std::string bad = "%bad_size";
  s += "    %bad_size = arith.ori %negative, %null_data : i1\n";
  for (const auto &o : p.grad ? p.outputs : std::vector<std::string>{}) {
    const std::string is = "%null_" + o;
    s += "    " + is + " = llvm.icmp \"eq\" %" + o + "_ptr, %null : !llvm.ptr\n";
    s += "    " + is + "_bad = arith.ori " + bad + ", " + is + " : i1\n";
    bad = is + "_bad";
  }
  // 2: p == NULL and a parameter has no default.
  std::string missing = "%false";
  bool required = false;
  for (double d : defaults)
    required = required || std::isnan(d);
  if (!params.empty()) s += "    %p_null = llvm.icmp \"eq\" %p, %null : !llvm.ptr\n";
  if (required) missing = "%p_null";
  s += "    %rc_if_param = arith.select " + missing + ", %rc_param, %rc_ok : i32\n";
  s += "    %rc = arith.select " + bad + ", %rc_argument, %rc_if_param : i32\n";
  s += "    %go = arith.cmpi eq, %rc, %rc_ok : i32\n";
  s += "    scf.if %go {\n";
  s += "      %undef = llvm.mlir.undef : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x "
       "i64>)>\n";
  std::vector<std::string> call_args, call_types;
  for (const auto &a : arrays) {
    s += descriptor(a, st, "%n");
    call_args.push_back("%" + a);
    call_types.push_back("memref<?x" + st + ">");
  }
  for (const auto &o : p.grad ? p.outputs : std::vector<std::string>{}) {
    s += descriptor(o, st, "%one_i64");
    call_args.push_back("%" + o);
    call_types.push_back("memref<?x" + st + ">");
  }
  if (!params.empty()) {
    const std::vector<std::string> f32s(params.size(), "f32");
    std::vector<std::string> dflt, loaded;
    for (std::size_t i = 0; i < params.size(); ++i) {
      s += "      %default" + std::to_string(i) + " = arith.constant " + literal_f32(defaults[i]) +
           " : f32\n";
      dflt.push_back("%default" + std::to_string(i));
    }
    s += "      %pv:" + std::to_string(params.size()) + " = scf.if %p_null -> (" + join(f32s) +
         ") {\n        scf.yield " + join(dflt) + " : " + join(f32s) + "\n      } else {\n";
    for (std::size_t i = 0; i < params.size(); ++i) {
      const std::string id = std::to_string(i);
      s += "        %field" + id + " = llvm.getelementptr %p[" + id +
           "] : (!llvm.ptr) -> !llvm.ptr, f32\n";
      s += "        %load" + id + " = llvm.load %field" + id + " : !llvm.ptr -> f32\n";
      loaded.push_back("%load" + id);
    }
    s += "        scf.yield " + join(loaded) + " : " + join(f32s) + "\n      }\n";
    for (std::size_t i = 0; i < params.size(); ++i) {
      call_args.push_back("%pv#" + std::to_string(i));
      call_types.push_back("f32");
    }
  }
  s += "      func.call @" + name + "_memref(" + join(call_args) + ") : (" + join(call_types) +
       ") -> ()\n";
  s += "    }\n    return %rc : i32\n  }\n";
  return s;
}

std::string header_comment(const KernelSpec &spec, const std::string &name) {
  return "// Actforge " + name + ": " + std::string(to_string(spec.role)) +
         " of f(x) = " + ir::print(spec.expr) + ", " + std::string(to_string(spec.dtype)) +
         " storage, computed in f32.\n";
}

Module emit_cpu(const KernelSpec &spec, const std::string &name, const Options &o, const Plan &p,
                Module m) {
  const std::string st = storage(spec.dtype);
  const int lanes = o.lanes;
  std::string s = element_function(name, p, m.params, lanes);
  std::vector<std::string> args;
  for (const auto &in : p.inputs)
    args.push_back("%" + in + ": memref<?x" + st + ">");
  for (const auto &out : p.outputs)
    args.push_back("%" + out + ": memref<?x" + st + ">");
  for (const auto &param : m.params)
    args.push_back("%arg_" + param + ": f32");
  s += "  func.func @" + name + "_memref(" + join(args) + ") {\n";
  s += "    %c0 = arith.constant 0 : index\n";
  s += "    %lanes = arith.constant " + std::to_string(lanes) + " : index\n";
  s += "    %n = memref.dim %" + p.inputs.front() + ", %c0 : memref<?x" + st + ">\n";
  s += "    %tail = arith.remui %n, %lanes : index\n";
  s += "    %full = arith.subi %n, %tail : index\n";
  s += "    %has_tail = arith.cmpi ugt, %tail, %c0 : index\n";
  for (const auto &param : m.params)
    s += "    %pv_" + param + " = vector.broadcast %arg_" + param + " : f32 to " +
         vec(lanes, "f32") + "\n";
  s += p.grad ? memref_param_grad(name, p, st, m.params, lanes)
              : memref_elementwise(name, p, st, m.params, lanes);
  s += "    return\n  }\n";
  if (o.c_abi) s += c_abi(name, p, st, m.params, m.defaults);
  m.functions = s;
  m.text = header_comment(spec, name) + "module {\n" + s + "}\n";
  m.function = name;
  return m;
}

/// The GPU form: the element computation in scalars, one element per thread, grid-stride.
Module emit_gpu(const KernelSpec &spec, const std::string &name, const Plan &p, Module m) {
  if (p.grad)
    throw Error("the MLIR GPU path builds the elementwise roles; param_grad (a reduction) is "
                "the Halide CUDA target's");
  const std::string st = storage(spec.dtype);
  // Pointers in, memrefs built from them (the bare pointers are the PTX parameters).
  std::vector<std::string> args, arrays = p.inputs;
  arrays.insert(arrays.end(), p.outputs.begin(), p.outputs.end());
  for (const auto &a : arrays)
    args.push_back("%" + a + "_ptr: !llvm.ptr");
  args.push_back("%n64: i64");
  for (const auto &param : m.params)
    args.push_back("%pv_" + param + ": f32");
  std::string s = header_comment(spec, name) + "module attributes {gpu.container_module} {\n";
  s += "  gpu.module @" + name + "_gpu {\n";
  s += "    gpu.func @" + name + "(" + join(args) + ") kernel {\n";
  s += "      %zero_i64 = arith.constant 0 : i64\n      %one_i64 = arith.constant 1 : i64\n";
  s += "      %undef = llvm.mlir.undef : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x "
       "i64>)>\n";
  for (const auto &a : arrays)
    s += descriptor(a, st, "%n64");
  s += "      %n = arith.index_cast %n64 : i64 to index\n";
  s += "      %bid = gpu.block_id x\n      %bdim = gpu.block_dim x\n";
  s += "      %tid = gpu.thread_id x\n      %gdim = gpu.grid_dim x\n";
  s += "      %base = arith.muli %bid, %bdim : index\n";
  s += "      %start = arith.addi %base, %tid : index\n";
  s += "      %stride = arith.muli %gdim, %bdim : index\n";
  s += "      scf.for %i = %start to %n step %stride {\n";
  // The element computation, inline (scalar syntax).
  c::Module module(c::Syntax{true, 0});
  c::Body body("t");
  std::vector<c::V> outs;
  std::string loads;
  {
    c::Scope scope(body, module);
    std::vector<c::V> inputs;
    c::OptV dy;
    for (std::size_t k = 0; k < p.inputs.size(); ++k) {
      const std::string raw = "%" + p.inputs[k] + "_raw", v = "%" + p.inputs[k] + "v";
      loads += "        " + (st == "f32" ? v : raw) + " = memref.load %" + p.inputs[k] +
               "[%i] : memref<?x" + st + ">\n";
      if (st != "f32") loads += widen(v, raw, st, 0, "        ");
      const c::V value{v, c::Ty::F};
      if (p.times_dy && k + 1 == p.inputs.size())
        dy = value;
      else
        inputs.push_back(value);
    }
    std::map<std::string, c::V> values;
    for (const auto &param : m.params)
      values[param] = {"%pv_" + param, c::Ty::F};
    outs = hls::lower_values(inputs, values, p.exprs, dy);
  }
  std::vector<std::string> roots;
  for (const auto &o : outs)
    roots.push_back(o.s);
  s += loads;
  for (const auto &line : body.finish(roots).lines)
    s += "        " + line + "\n";
  for (std::size_t k = 0; k < outs.size(); ++k) {
    std::string v = outs[k].s;
    if (st != "f32") {
      s += narrow("%out" + std::to_string(k), v, st, 0, "        ");
      v = "%out" + std::to_string(k);
    }
    s += "        memref.store " + v + ", %" + p.outputs[k] + "[%i] : memref<?x" + st + ">\n";
  }
  s += "      }\n      gpu.return\n    }\n  }\n}\n";
  m.text = s;
  m.function = name;
  return m;
}

} // namespace

Module emit(const KernelSpec &spec, const std::string &name, const Options &options) {
  validate(spec);
  if (spec.uniform_g) throw Error("generated inputs are not supported by the mlir backend yet");
  if (spec.layout == Layout::Halves)
    throw Error("the MLIR backend builds the flat layout; the halves layout (one tensor [rows, "
                "2d] split into x and g) is the Halide backend's, through jit");
  if (spec.layout != Layout::Flat)
    throw Error("the MLIR backend builds the flat layout; the [outer, C, inner] layout is the "
                "Halide backend's");
  storage(spec.dtype); // throws for f64
  if (options.device == Device::Cpu && (options.lanes < 1 || options.lanes > 64))
    throw Error("MLIR lanes must be 1..64, not " + std::to_string(options.lanes));
  const Plan p = plan(spec);
  Module m;
  m.inputs = p.inputs;
  m.outputs = p.outputs;
  m.sums = p.grad;
  for (const auto &info : ir::collect_params(spec.expr)) {
    m.params.push_back(info.name);
    m.defaults.push_back(info.default_value ? static_cast<double>(*info.default_value)
                                            : std::numeric_limits<double>::quiet_NaN());
  }
  return options.device == Device::Cpu ? emit_cpu(spec, name, options, p, std::move(m))
                                       : emit_gpu(spec, name, p, std::move(m));
}

} // namespace actforge::codegen::mlir
