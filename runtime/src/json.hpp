// A small JSON value: parsed with line:column errors, printed with two-space indentation. For
// the tuning database (runtime/tune.hpp); numbers are doubles, objects keep their key order.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace actforge::runtime::json {

struct Value;
using Array = std::vector<Value>;
using Object = std::vector<std::pair<std::string, Value>>;

struct Value {
  std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<Array>,
               std::shared_ptr<Object>>
      v = nullptr;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : v(b) {}
  Value(double d) : v(d) {}
  Value(int i) : v(static_cast<double>(i)) {}
  Value(long i) : v(static_cast<double>(i)) {}
  Value(long long i) : v(static_cast<double>(i)) {}
  Value(std::string s) : v(std::move(s)) {}
  Value(const char *s) : v(std::string(s)) {}
  Value(Array a) : v(std::make_shared<Array>(std::move(a))) {}
  Value(Object o) : v(std::make_shared<Object>(std::move(o))) {}

  bool is_object() const { return std::holds_alternative<std::shared_ptr<Object>>(v); }
  bool is_array() const { return std::holds_alternative<std::shared_ptr<Array>>(v); }
  bool is_number() const { return std::holds_alternative<double>(v); }
  bool is_string() const { return std::holds_alternative<std::string>(v); }

  // Typed access; `what` names the value in the Error thrown for a wrong type.
  const Object &object(std::string_view what) const;
  const Array &array(std::string_view what) const;
  double number(std::string_view what) const;
  const std::string &string(std::string_view what) const;
  /// The member `key` of an object, or nullptr.
  const Value *find(std::string_view key) const;
  /// The member `key` of an object; throws naming it when missing.
  const Value &at(std::string_view key) const;
};

/// Throws actforge::Error "<source>:<line>:<column>: <what>" for malformed text.
Value parse(std::string_view text, std::string_view source = "json");
std::string print(const Value &value);

} // namespace actforge::runtime::json
