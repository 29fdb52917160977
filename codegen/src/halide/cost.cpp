// count_ops(): a visitor over the forward kernel's output definition (see cost.hpp).
#include "actforge/codegen/halide/cost.hpp"
#include "actforge/codegen/halide/pipeline.hpp"

#include <Halide.h>

namespace actforge::codegen::halide {
namespace {

using namespace Halide::Internal;

class Counter : public IRVisitor {
public:
  OpCount n;

private:
  using IRVisitor::visit;
  template <class T> void arith(const T *op) {
    ++n.arithmetic;
    IRVisitor::visit(op);
  }
  template <class T> void compare(const T *op) {
    ++n.compare;
    IRVisitor::visit(op);
  }
  void visit(const Add *op) override { arith(op); }
  void visit(const Sub *op) override { arith(op); }
  void visit(const Mul *op) override { arith(op); }
  void visit(const Div *op) override { arith(op); }
  void visit(const Mod *op) override { arith(op); }
  void visit(const Min *op) override { arith(op); }
  void visit(const Max *op) override { arith(op); }
  void visit(const LT *op) override { compare(op); }
  void visit(const LE *op) override { compare(op); }
  void visit(const GT *op) override { compare(op); }
  void visit(const GE *op) override { compare(op); }
  void visit(const EQ *op) override { compare(op); }
  void visit(const NE *op) override { compare(op); }
  void visit(const And *op) override { compare(op); }
  void visit(const Or *op) override { compare(op); }
  void visit(const Not *op) override { compare(op); }
  void visit(const Select *op) override {
    ++n.select;
    IRVisitor::visit(op);
  }
  void visit(const Cast *op) override {
    ++n.cast;
    IRVisitor::visit(op);
  }
  void visit(const Call *op) override {
    if (op->call_type == Call::Image || op->call_type == Call::Halide) return; // a load
    if (op->is_intrinsic(Call::reinterpret))
      ++n.cast;
    else if (!op->is_intrinsic(Call::likely) && !op->is_intrinsic(Call::likely_if_innermost) &&
             !op->is_intrinsic(Call::strict_float) && !op->is_intrinsic(Call::promise_clamped) &&
             !op->is_intrinsic(Call::unsafe_promise_clamped))
      ++n.call;
    IRVisitor::visit(op);
  }
};

} // namespace

OpCount count_ops(const KernelSpec &spec) {
  KernelSpec forward = spec;
  forward.role = Role::Forward;
  forward.wrt.clear();
  const Pipeline p = build_pipeline(forward, Schedule{});
  Counter c;
  for (const Halide::Func &f : p.pipeline.outputs()) {
    const Halide::Tuple values = f.values();
    for (const Halide::Expr &v : values.as_vector())
      common_subexpression_elimination(v).accept(&c);
  }
  return c.n;
}

} // namespace actforge::codegen::halide
