// Program: an expression flattened for fast repeated evaluation in double or long double.
//
// The IR's reference interpreter. Nodes are evaluated once each in topological order (the DAG's
// sharing is kept), with the scalar semantics of dsl/scalar.hpp — the same code as the
// compile-time eval(), so the two references cannot drift apart. Like eval(), it evaluates
// u - tanh(u) (the same u) as scalar::x_minus_tanh, without the cancellation near u = 0.
#pragma once

#include "actforge/ir/expr.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace actforge::ir {

struct ParamInfo {
  std::string name;
  std::optional<long double> default_value;
};

/// The parameters of e, each name once, sorted by name. Throws actforge::Error if one name
/// carries two different defaults.
std::vector<ParamInfo> collect_params(Expr e);

/// How many inputs e reads (1 + the highest input index; 0 for a constant).
int count_inputs(Expr e);

class Program {
public:
  explicit Program(Expr e);

  const std::vector<ParamInfo> &params() const { return params_; }
  int num_inputs() const { return num_inputs_; }
  /// Defaults of params(), in order; throws actforge::Error naming a parameter without default.
  std::vector<long double> default_params() const;

  /// Evaluate at `inputs` (num_inputs() values) with `param_values` (one per params()). When
  /// `trace` is given, it receives one entry per branching node (select condition, min/max
  /// order, abs sign): where the trace changes between two points, a kink lies between them.
  template <class T>
  T eval(std::span<const T> inputs, std::span<const T> param_values,
         std::vector<std::int8_t> *trace = nullptr) const;

  /// One-input convenience: f(x) with default parameters.
  long double operator()(long double x) const;

private:
  struct Op {
    Kind kind;
    std::int32_t a, b, c; // operand slots
    std::int32_t index;   // input/param slot or exponent
    long double value;
    bool x_minus_tanh = false; // a Sub node u - tanh(u)
  };
  std::vector<Op> ops_;
  std::vector<ParamInfo> params_;
  int num_inputs_ = 0;
  std::vector<long double> defaults_cache_;
  bool defaults_ok_ = false;
};

extern template float Program::eval<float>(std::span<const float>, std::span<const float>,
                                           std::vector<std::int8_t> *) const;
extern template double Program::eval<double>(std::span<const double>, std::span<const double>,
                                             std::vector<std::int8_t> *) const;
extern template long double Program::eval<long double>(std::span<const long double>,
                                                       std::span<const long double>,
                                                       std::vector<std::int8_t> *) const;

} // namespace actforge::ir
