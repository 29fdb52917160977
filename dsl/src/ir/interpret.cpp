// Program: topological flattening of an IR DAG and its evaluation.
#include "actforge/ir/interpret.hpp"

#include "actforge/dsl/scalar.hpp"
#include "actforge/ir/mutate.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace actforge::ir {
namespace sc = actforge::dsl::scalar;

std::vector<ParamInfo> collect_params(Expr e) {
  std::map<std::string, std::optional<long double>> seen;
  for_each_node(e, [&](Expr n) {
    if (n.kind() != Kind::Param) return;
    auto [it, fresh] = seen.emplace(n.param_name(), n.param_default());
    if (fresh) return;
    const auto &old = it->second;
    const auto now = n.param_default();
    const bool same = old.has_value() == now.has_value() && (!old || *old == *now);
    if (!same)
      throw Error("parameter '" + n.param_name() + "' appears with two different defaults");
  });
  std::vector<ParamInfo> out;
  for (auto &[name, def] : seen)
    out.push_back({name, def});
  return out;
}

int count_inputs(Expr e) {
  int n = 0;
  for_each_node(e, [&](Expr node) {
    if (node.kind() == Kind::Input) n = std::max(n, node.input_index() + 1);
  });
  return n;
}

Program::Program(Expr e) : params_(collect_params(e)), num_inputs_(count_inputs(e)) {
  std::unordered_map<const Node *, std::int32_t> slot;
  for_each_node(e, [&](Expr n) {
    Op op{n.kind(), -1, -1, -1, 0, 0, false};
    auto child = [&](int i) { return slot.at(n.child(i).get()); };
    if (n.num_children() > 0) op.a = child(0);
    if (n.num_children() > 1) op.b = child(1);
    if (n.num_children() > 2) op.c = child(2);
    switch (n.kind()) {
    case Kind::Const: op.value = n.value(); break;
    case Kind::Input: op.index = n.input_index(); break;
    case Kind::Pow: op.index = n.exponent(); break;
    case Kind::Sub:
      op.x_minus_tanh = n.child(1).kind() == Kind::Tanh && n.child(1).child(0) == n.child(0);
      break;
    case Kind::Param:
      op.index = static_cast<std::int32_t>(
          std::find_if(params_.begin(), params_.end(),
                       [&](const ParamInfo &p) { return p.name == n.param_name(); }) -
          params_.begin());
      break;
    default: break;
    }
    slot.emplace(n.get(), static_cast<std::int32_t>(ops_.size()));
    ops_.push_back(op);
  });
  defaults_ok_ = std::all_of(params_.begin(), params_.end(),
                             [](const ParamInfo &p) { return p.default_value.has_value(); });
  if (defaults_ok_)
    for (const auto &p : params_)
      defaults_cache_.push_back(*p.default_value);
}

std::vector<long double> Program::default_params() const {
  if (!defaults_ok_)
    for (const auto &p : params_)
      if (!p.default_value)
        throw Error("parameter '" + p.name + "' has no default: give it a value");
  return defaults_cache_;
}

template <class T>
T Program::eval(std::span<const T> inputs, std::span<const T> param_values,
                std::vector<std::int8_t> *trace) const {
  if (inputs.size() < static_cast<std::size_t>(num_inputs_))
    throw Error("the expression reads " + std::to_string(num_inputs_) + " inputs, got " +
                std::to_string(inputs.size()));
  if (param_values.size() != params_.size())
    throw Error("the expression has " + std::to_string(params_.size()) + " parameters, got " +
                std::to_string(param_values.size()) + " values");
  if (trace) trace->clear();
  // Conditions are stored as 0/1 in the same slots as values.
  std::vector<T> v(ops_.size());
  for (std::size_t i = 0; i < ops_.size(); ++i) {
    const Op &op = ops_[i];
    auto A = [&] { return v[static_cast<std::size_t>(op.a)]; };
    auto B = [&] { return v[static_cast<std::size_t>(op.b)]; };
    auto C = [&] { return v[static_cast<std::size_t>(op.c)]; };
    auto record = [&](int decision) {
      if (trace) trace->push_back(static_cast<std::int8_t>(decision));
    };
    T r{};
    switch (op.kind) {
    case Kind::Const: r = static_cast<T>(op.value); break;
    case Kind::Input: r = inputs[static_cast<std::size_t>(op.index)]; break;
    case Kind::Param: r = param_values[static_cast<std::size_t>(op.index)]; break;
    case Kind::Add: r = A() + B(); break;
    case Kind::Sub: r = op.x_minus_tanh ? sc::x_minus_tanh(A()) : A() - B(); break;
    case Kind::Mul: r = A() * B(); break;
    case Kind::Div: r = A() / B(); break;
    case Kind::Neg: r = -A(); break;
    case Kind::Exp: r = sc::exp(A()); break;
    case Kind::Expm1: r = sc::expm1(A()); break;
    case Kind::Log: r = sc::log(A()); break;
    case Kind::Log1p: r = sc::log1p(A()); break;
    case Kind::Sqrt: r = sc::sqrt(A()); break;
    case Kind::Rsqrt: r = sc::rsqrt(A()); break;
    case Kind::Abs:
      r = sc::abs(A());
      record(A() > 0 ? 1 : (A() < 0 ? -1 : 0));
      break;
    case Kind::Pow: r = sc::powi(A(), op.index); break;
    case Kind::Min:
      r = sc::min(A(), B());
      record(A() < B() ? -1 : (A() > B() ? 1 : 0));
      break;
    case Kind::Max:
      r = sc::max(A(), B());
      record(A() < B() ? -1 : (A() > B() ? 1 : 0));
      break;
    case Kind::Select:
      r = A() != T(0) ? B() : C();
      record(A() != T(0));
      break;
    case Kind::Gt: r = A() > B() ? T(1) : T(0); break;
    case Kind::Ge: r = A() >= B() ? T(1) : T(0); break;
    case Kind::Lt: r = A() < B() ? T(1) : T(0); break;
    case Kind::Le: r = A() <= B() ? T(1) : T(0); break;
    case Kind::Eq: r = A() == B() ? T(1) : T(0); break;
    case Kind::Ne: r = A() != B() ? T(1) : T(0); break;
    case Kind::Sigmoid: r = sc::sigmoid(A()); break;
    case Kind::Tanh: r = sc::tanh(A()); break;
    case Kind::Erf: r = sc::erf(A()); break;
    case Kind::Erfc: r = sc::erfc(A()); break;
    case Kind::Softplus: r = sc::softplus(A()); break;
    }
    v[i] = r;
  }
  return v.back();
}

long double Program::operator()(long double x) const {
  const std::vector<long double> p = default_params();
  return eval<long double>(std::span<const long double>(&x, 1), p);
}

template float Program::eval<float>(std::span<const float>, std::span<const float>,
                                    std::vector<std::int8_t> *) const;
template double Program::eval<double>(std::span<const double>, std::span<const double>,
                                      std::vector<std::int8_t> *) const;
template long double Program::eval<long double>(std::span<const long double>,
                                                std::span<const long double>,
                                                std::vector<std::int8_t> *) const;

} // namespace actforge::ir
