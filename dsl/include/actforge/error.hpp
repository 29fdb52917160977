// actforge::Error, the one exception type every Actforge library throws.
#pragma once

#include <stdexcept>
#include <string>

namespace actforge {

/// Thrown for bad input or misuse. what() is a complete sentence for a user to read.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A parse error: `line` and `column` are 1-based and point at the offending character.
/// what() reads "LINE:COL: MESSAGE"; message() is the bare message.
class ParseError : public Error {
public:
  ParseError(int line, int column, const std::string &message)
      : Error(std::to_string(line) + ":" + std::to_string(column) + ": " + message), line_(line),
        column_(column), message_(message) {}
  int line() const { return line_; }
  int column() const { return column_; }
  const std::string &message() const { return message_; }

private:
  int line_;
  int column_;
  std::string message_;
};

} // namespace actforge
