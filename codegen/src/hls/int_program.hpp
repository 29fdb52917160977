// IntProgram: the straight-line integer program of a fixed-point kernel. The C source is printed
// from it and the error is measured by running it, so the two cannot disagree.
#pragma once

#include "actforge/codegen/hls/ops.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace actforge::codegen::hls::detail {

struct IntProgram {
  enum class Op : std::uint8_t {
    Const, // imm
    Input, // input word imm (sign-extended)
    Add,   // a + b
    Sub,   // a - b
    Neg,   // -a
    Mul,   // a * b
    Scale, // a * 2^imm (a shift left, written as a product: C99 leaves << of negatives undefined)
    Shr,   // a >> imm, arithmetic (floor)
    And,   // a & imm
    Lt,    // a < b, as 0 or 1
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    Select, // a ? b : c
    Load,   // tables[table][a]
  };
  struct Ins {
    Op op;
    int a = -1, b = -1, c = -1;
    std::int64_t imm = 0;
    int table = -1;
  };
  struct TableData {
    std::string name;
    std::vector<std::int64_t> values;
    int entry_bits = 0;
  };

  std::vector<Ins> ins;
  std::vector<TableData> tables;
  std::vector<int> outputs; // the register of each output word
  int num_inputs = 0;

  int add(Ins i) {
    ins.push_back(i);
    return static_cast<int>(ins.size()) - 1;
  }

  /// Runs the program; `regs` is scratch space (resized here), `in` holds num_inputs words.
  void run(const std::int64_t *in, std::vector<std::int64_t> &regs) const {
    regs.resize(ins.size());
    for (std::size_t k = 0; k < ins.size(); ++k) {
      const Ins &i = ins[k];
      auto A = [&] { return regs[static_cast<std::size_t>(i.a)]; };
      auto B = [&] { return regs[static_cast<std::size_t>(i.b)]; };
      std::int64_t v = 0;
      switch (i.op) {
      case Op::Const: v = i.imm; break;
      case Op::Input: v = in[i.imm]; break;
      case Op::Add: v = A() + B(); break;
      case Op::Sub: v = A() - B(); break;
      case Op::Neg: v = -A(); break;
      case Op::Mul: v = A() * B(); break;
      case Op::Scale: v = A() * (std::int64_t{1} << i.imm); break;
      case Op::Shr: v = A() >> i.imm; break;
      case Op::And: v = A() & i.imm; break;
      case Op::Lt: v = A() < B(); break;
      case Op::Le: v = A() <= B(); break;
      case Op::Gt: v = A() > B(); break;
      case Op::Ge: v = A() >= B(); break;
      case Op::Eq: v = A() == B(); break;
      case Op::Ne: v = A() != B(); break;
      case Op::Select: v = A() ? B() : regs[static_cast<std::size_t>(i.c)]; break;
      case Op::Load:
        v = tables[static_cast<std::size_t>(i.table)].values[static_cast<std::size_t>(A())];
        break;
      }
      regs[k] = v;
    }
  }

  OpCount count() const {
    OpCount c;
    for (const Ins &i : ins) {
      switch (i.op) {
      case Op::Add:
      case Op::Sub:
      case Op::Neg: ++c.adders; break;
      case Op::Mul: ++c.multipliers; break;
      case Op::Lt:
      case Op::Le:
      case Op::Gt:
      case Op::Ge:
      case Op::Eq:
      case Op::Ne: ++c.comparators; break;
      case Op::Select: ++c.selects; break;
      case Op::Load: ++c.table_reads; break;
      default: break;
      }
    }
    return c;
  }
};

} // namespace actforge::codegen::hls::detail
