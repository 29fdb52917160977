// Record: one line of a check report, and its JSON form (the schema every target extends).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace actforge::check {

enum class Status { Pass, Fail, Skip };

/// {activation, role, target, dtype, status, max_ulp, max_rel_grad_err, max_abs_err, points,
/// reason};
/// fields that do not apply are empty and print as null.
struct Record {
  std::string activation;
  std::string role;   // forward, backward, backward_g, second_derivative, param_grad:NAME
  std::string target; // reference, host, x86-64-avx2, ...
  std::string dtype;  // f80 for the long-double reference; f32, f64, ...
  Status status = Status::Pass;
  std::optional<double> max_ulp;
  std::optional<double> max_rel_grad_err;
  std::optional<double> max_abs_err; // fixed-point kernels: the error in output units
  std::optional<long> points;
  std::string reason; // why it failed or was skipped; notes and warnings otherwise
};

const char *to_string(Status s);

/// The records as one JSON array, one record a line.
std::string to_json(const std::vector<Record> &records);

/// A JSON string literal (quotes and escapes included).
std::string json_quote(const std::string &s);

} // namespace actforge::check
