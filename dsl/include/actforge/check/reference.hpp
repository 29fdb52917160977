// check_reference(): the checks of `actforge check --reference` for one activation.
//
// For the long-double reference of an activation (library entry or user expression) it checks
// the forward values (golden oracle, compile-time vs IR agreement, NaN and infinity semantics),
// every first derivative (central differences away from kinks, pinned kink conventions, golden
// derivatives, compile-time vs IR), second derivatives, and parameter gradients.
#pragma once

#include "actforge/check/golden.hpp"
#include "actforge/check/record.hpp"
#include "actforge/dsl/catalog.hpp"

#include <string_view>
#include <vector>

namespace actforge::check {

/// What to check: a library entry, or a user expression (entry == nullptr).
struct Subject {
  std::string name;
  ir::Expr expr;
  const dsl::Entry *entry = nullptr;
  dsl::ParamValues params; // a value for every parameter of expr
};

/// A library name, or else an expression in text (library activations callable as functions).
/// Throws actforge::ParseError for bad text, actforge::Error for a parameter without a value.
Subject make_subject(std::string_view name_or_text);

/// The records of every check of one subject on the long-double reference. `golden` may be
/// null (then the golden comparisons are skipped, and said so).
std::vector<Record> check_reference(const Subject &subject, const Golden *golden);

/// Maxout's reference semantics: the gradient goes to the first arg-max of each group.
std::vector<Record> check_maxout();

/// Tolerances against the golden oracle: relative, with an absolute allowance of a few
/// long-double ulps of |x| for formulas that subtract x-sized terms (tanhshrink near 0).
inline constexpr long double kGoldenRel = 1e-15L;
inline constexpr long double kGoldenDerivativeRel = 1e-13L;
/// Compile-time and IR references run the same rules through different code: they must agree
/// to within rounding of long double.
inline constexpr long double kAgreementRel = 1e-15L;

} // namespace actforge::check
