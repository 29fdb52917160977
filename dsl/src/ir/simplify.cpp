// simplify(e): rebuild bottom-up through the folding constructors.
#include "actforge/ir/simplify.hpp"

#include "actforge/ir/fold.hpp"
#include "actforge/ir/mutate.hpp"

namespace actforge::ir {
namespace {
class Simplify : public Mutator {
protected:
  Expr rewrite(Expr e) override {
    std::array<Expr, 3> c;
    for (int i = 0; i < e.num_children(); ++i)
      c[static_cast<std::size_t>(i)] = visit(e.child(i));
    return fold::node(e,
                      std::span<const Expr>(c.data(), static_cast<std::size_t>(e.num_children())));
  }
};
} // namespace

Expr simplify(Expr e) { return Simplify().visit(e); }

} // namespace actforge::ir
