// The JSON reader and writer of json.hpp.
#include "json.hpp"

#include "actforge/check/record.hpp"
#include "actforge/error.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

namespace actforge::runtime::json {

namespace {

[[noreturn]] void wrong_type(std::string_view what, std::string_view want) {
  throw Error(std::string(what) + ": expected " + std::string(want));
}

class Parser {
public:
  Parser(std::string_view text, std::string_view source) : t_(text), source_(source) {}

  Value document() {
    Value v = value(0);
    space();
    if (i_ != t_.size()) fail("unexpected text after the value");
    return v;
  }

private:
  [[noreturn]] void fail(const std::string &what) const {
    int line = 1, column = 1;
    for (std::size_t k = 0; k < i_ && k < t_.size(); ++k)
      if (t_[k] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    throw Error(std::string(source_) + ":" + std::to_string(line) + ":" + std::to_string(column) +
                ": " + what);
  }
  void space() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t'))
      ++i_;
  }
  bool eat(char c) {
    space();
    if (i_ < t_.size() && t_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  bool word(std::string_view w) {
    if (t_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }

  Value value(int depth) {
    if (depth > 64) fail("nested too deeply");
    space();
    if (i_ >= t_.size()) fail("unexpected end of input");
    const char c = t_[i_];
    if (c == '{') {
      ++i_;
      Object o;
      if (eat('}')) return o;
      do {
        space();
        if (i_ >= t_.size() || t_[i_] != '"') fail("expected a member name in quotes");
        std::string key = string();
        expect(':');
        o.emplace_back(std::move(key), value(depth + 1));
      } while (eat(','));
      expect('}');
      return o;
    }
    if (c == '[') {
      ++i_;
      Array a;
      if (eat(']')) return a;
      do
        a.push_back(value(depth + 1));
      while (eat(','));
      expect(']');
      return a;
    }
    if (c == '"') return string();
    if (word("true")) return true;
    if (word("false")) return false;
    if (word("null")) return nullptr;
    return number();
  }

  std::string string() {
    ++i_; // the opening quote
    std::string out;
    while (true) {
      if (i_ >= t_.size()) fail("unterminated string");
      const char c = t_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= t_.size()) fail("unterminated string");
      const char e = t_[i_++];
      switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        unsigned code = 0;
        if (i_ + 4 > t_.size() ||
            std::from_chars(t_.data() + i_, t_.data() + i_ + 4, code, 16).ptr != t_.data() + i_ + 4)
          fail("bad \\u escape");
        i_ += 4;
        if (code >= 0xD800 && code < 0xE000) fail("surrogate \\u escapes are not supported");
        if (code < 0x80) {
          out += static_cast<char>(code);
        } else if (code < 0x800) {
          out += static_cast<char>(0xC0 | (code >> 6));
          out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
          out += static_cast<char>(0xE0 | (code >> 12));
          out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (code & 0x3F));
        }
        break;
      }
      default: fail(std::string("bad escape \\") + e);
      }
    }
  }

  Value number() {
    const std::size_t start = i_;
    if (i_ < t_.size() && t_[i_] == '-') ++i_;
    while (i_ < t_.size() && (std::isdigit(static_cast<unsigned char>(t_[i_])) || t_[i_] == '.' ||
                              t_[i_] == 'e' || t_[i_] == 'E' || t_[i_] == '+' || t_[i_] == '-'))
      ++i_;
    double d = 0;
    const auto r = std::from_chars(t_.data() + start, t_.data() + i_, d);
    if (start == i_ || r.ec != std::errc() || r.ptr != t_.data() + i_) {
      i_ = start;
      fail("expected a value");
    }
    return d;
  }

  std::string_view t_, source_;
  std::size_t i_ = 0;
};

void quote(std::string &out, const std::string &s) { out += check::json_quote(s); }

void write(std::string &out, const Value &v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  if (std::holds_alternative<std::nullptr_t>(v.v)) {
    out += "null";
  } else if (const bool *b = std::get_if<bool>(&v.v)) {
    out += *b ? "true" : "false";
  } else if (const double *d = std::get_if<double>(&v.v)) {
    if (!std::isfinite(*d)) {
      out += "null"; // JSON has no inf or NaN
    } else {
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, *d); // shortest round-trip form
      out.append(buf, r.ptr);
    }
  } else if (const std::string *s = std::get_if<std::string>(&v.v)) {
    quote(out, *s);
  } else if (const auto *a = std::get_if<std::shared_ptr<Array>>(&v.v)) {
    if ((*a)->empty()) {
      out += "[]";
      return;
    }
    // Arrays of scalars stay on one line.
    bool flat = true;
    for (const Value &e : **a)
      flat = flat && !e.is_array() && !e.is_object();
    out += flat ? "[" : "[\n";
    for (std::size_t k = 0; k < (*a)->size(); ++k) {
      if (!flat) out += pad + "  ";
      write(out, (**a)[k], indent + 1);
      if (k + 1 < (*a)->size()) out += flat ? ", " : ",\n";
    }
    out += flat ? "]" : "\n" + pad + "]";
  } else {
    const auto &o = *std::get<std::shared_ptr<Object>>(v.v);
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    for (std::size_t k = 0; k < o.size(); ++k) {
      out += pad + "  ";
      quote(out, o[k].first);
      out += ": ";
      write(out, o[k].second, indent + 1);
      out += k + 1 < o.size() ? ",\n" : "\n";
    }
    out += pad + "}";
  }
}

} // namespace

const Object &Value::object(std::string_view what) const {
  if (!is_object()) wrong_type(what, "an object");
  return *std::get<std::shared_ptr<Object>>(v);
}
const Array &Value::array(std::string_view what) const {
  if (!is_array()) wrong_type(what, "an array");
  return *std::get<std::shared_ptr<Array>>(v);
}
double Value::number(std::string_view what) const {
  if (!is_number()) wrong_type(what, "a number");
  return std::get<double>(v);
}
const std::string &Value::string(std::string_view what) const {
  if (!is_string()) wrong_type(what, "a string");
  return std::get<std::string>(v);
}
const Value *Value::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto &[k, value] : *std::get<std::shared_ptr<Object>>(v))
    if (k == key) return &value;
  return nullptr;
}
const Value &Value::at(std::string_view key) const {
  const Value *found = find(key);
  if (!found) throw Error("missing member \"" + std::string(key) + "\"");
  return *found;
}

Value parse(std::string_view text, std::string_view source) {
  return Parser(text, source).document();
}

std::string print(const Value &value) {
  std::string out;
  write(out, value, 0);
  return out + "\n";
}

} // namespace actforge::runtime::json
