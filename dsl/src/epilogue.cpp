// Fused epilogues (epilogue.hpp): x replaced by the pre-activation in f's expression.
#include "actforge/dsl/epilogue.hpp"

#include "actforge/error.hpp"
#include "actforge/ir/interpret.hpp"
#include "actforge/ir/mutate.hpp"

#include <algorithm>

namespace actforge::dsl {

std::string_view to_string(Epilogue e) {
  switch (e) {
  case Epilogue::None: return "none";
  case Epilogue::Bias: return "bias";
  case Epilogue::Affine: return "affine";
  case Epilogue::Residual: return "residual";
  }
  return "?";
}

Epilogue parse_epilogue(std::string_view s) {
  for (Epilogue e : {Epilogue::None, Epilogue::Bias, Epilogue::Affine, Epilogue::Residual})
    if (s == to_string(e)) return e;
  throw Error("unknown epilogue '" + std::string(s) + "' (choices: none, bias, affine, residual)");
}

std::vector<std::string> epilogue_params(Epilogue e) {
  switch (e) {
  case Epilogue::Bias: return {"bias"};
  case Epilogue::Affine: return {"scale", "shift"};
  default: return {};
  }
}

ir::Expr with_epilogue(ir::Expr f, Epilogue e) {
  if (e == Epilogue::None) return f;
  if (ir::count_inputs(f) > 1)
    throw Error("the " + std::string(to_string(e)) +
                " epilogue takes an activation of one input (x); this one has two");
  const auto params = ir::collect_params(f);
  for (const std::string &name : epilogue_params(e))
    if (std::any_of(params.begin(), params.end(), [&](const auto &p) { return p.name == name; }))
      throw Error("the " + std::string(to_string(e)) + " epilogue adds a parameter '" + name +
                  "', which the activation already has");
  const ir::Expr x = ir::input(0);
  ir::Expr pre;
  switch (e) {
  case Epilogue::Bias: pre = x + ir::param("bias", 0.0L); break;
  case Epilogue::Affine: pre = ir::param("scale", 1.0L) * x + ir::param("shift", 0.0L); break;
  case Epilogue::Residual: pre = x + ir::input(1); break;
  case Epilogue::None: break;
  }
  return ir::substitute(f, {{x, pre}});
}

} // namespace actforge::dsl
