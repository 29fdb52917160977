// IntProgram: the straight-line integer program of a fixed-point kernel. The C source is printed
// from it and the error is measured by running it, so the two cannot disagree.
#pragma once

#include "actforge/codegen/hls/ops.hpp"

#include <algorithm>
#include <cmath>
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

  /// The interval of every register's value over all input words (sound interval arithmetic;
  /// long double holds int64 values exactly): it decides each register's C type.
  std::vector<std::pair<long double, long double>> ranges(int input_width) const {
    std::vector<std::pair<long double, long double>> r(ins.size());
    const long double half = static_cast<long double>(std::int64_t{1} << (input_width - 1));
    for (std::size_t k = 0; k < ins.size(); ++k) {
      const Ins &i = ins[k];
      auto A = [&] { return r[static_cast<std::size_t>(i.a)]; };
      auto B = [&] { return r[static_cast<std::size_t>(i.b)]; };
      std::pair<long double, long double> v{0, 0};
      switch (i.op) {
      case Op::Const: v = {static_cast<long double>(i.imm), static_cast<long double>(i.imm)}; break;
      case Op::Input: v = {-half, half - 1}; break;
      case Op::Add: v = {A().first + B().first, A().second + B().second}; break;
      case Op::Sub: v = {A().first - B().second, A().second - B().first}; break;
      case Op::Neg: v = {-A().second, -A().first}; break;
      case Op::Mul: {
        const long double p[] = {A().first * B().first, A().first * B().second,
                                 A().second * B().first, A().second * B().second};
        v = {*std::min_element(p, p + 4), *std::max_element(p, p + 4)};
        break;
      }
      case Op::Scale:
        v = {std::ldexp(A().first, static_cast<int>(i.imm)),
             std::ldexp(A().second, static_cast<int>(i.imm))};
        break;
      case Op::Shr:
        v = {std::floor(std::ldexp(A().first, -static_cast<int>(i.imm))),
             std::floor(std::ldexp(A().second, -static_cast<int>(i.imm)))};
        break;
      case Op::And: v = {0, static_cast<long double>(i.imm)}; break;
      case Op::Lt:
      case Op::Le:
      case Op::Gt:
      case Op::Ge:
      case Op::Eq:
      case Op::Ne: v = {0, 1}; break;
      case Op::Select:
        v = {std::min(B().first, r[static_cast<std::size_t>(i.c)].first),
             std::max(B().second, r[static_cast<std::size_t>(i.c)].second)};
        break;
      case Op::Load: {
        const auto &t = tables[static_cast<std::size_t>(i.table)].values;
        v = {static_cast<long double>(*std::min_element(t.begin(), t.end())),
             static_cast<long double>(*std::max_element(t.begin(), t.end()))};
        break;
      }
      }
      r[k] = v;
    }
    return r;
  }

  /// Bits of a signed register holding [lo, hi].
  static int bits(std::pair<long double, long double> range) {
    int b = 1;
    while (std::ldexp(-1.0L, b - 1) > range.first || std::ldexp(1.0L, b - 1) - 1 < range.second)
      ++b;
    return b;
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
