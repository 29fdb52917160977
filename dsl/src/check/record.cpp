// JSON output of check records.
#include "actforge/check/record.hpp"

#include <cmath>
#include <cstdio>

namespace actforge::check {

const char *to_string(Status s) {
  switch (s) {
  case Status::Pass: return "pass";
  case Status::Fail: return "fail";
  case Status::Skip: return "skip";
  }
  return "?";
}

std::string json_quote(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    case '\r': out += "\\r"; break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  return out + "\"";
}

namespace {
std::string number(const std::optional<double> &v) {
  if (!v || !std::isfinite(*v))
    return "null"; // JSON has no inf/NaN; a non-finite figure is explained in reason
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  return buf;
}
} // namespace

std::string to_json(const std::vector<Record> &records) {
  std::string out = "[";
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Record &r = records[i];
    out += i ? ",\n " : "\n ";
    out += "{\"activation\": " + json_quote(r.activation) + ", \"role\": " + json_quote(r.role) +
           ", \"target\": " + json_quote(r.target) + ", \"dtype\": " + json_quote(r.dtype) +
           ", \"status\": " + json_quote(to_string(r.status)) +
           ", \"max_ulp\": " + number(r.max_ulp) +
           ", \"max_rel_grad_err\": " + number(r.max_rel_grad_err) +
           (r.max_abs_err ? ", \"max_abs_err\": " + number(r.max_abs_err) : std::string()) +
           ", \"points\": " + (r.points ? std::to_string(*r.points) : std::string("null")) +
           ", \"reason\": " + (r.reason.empty() ? std::string("null") : json_quote(r.reason)) + "}";
  }
  return out + (records.empty() ? "]\n" : "\n]\n");
}

} // namespace actforge::check
