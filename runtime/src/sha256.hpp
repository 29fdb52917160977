// SHA-256 (FIPS 180-4): the content hash of disk-cache entries and the source of cache keys and
// generated names. A cache is code that will run, so its check is a cryptographic hash.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace actforge::runtime {

class Sha256 {
public:
  Sha256();
  Sha256 &update(const void *data, std::size_t size);
  Sha256 &update(std::string_view text) { return update(text.data(), text.size()); }
  std::array<std::uint8_t, 32> digest(); // finishes the hash: call once
  std::string hex();                     // digest() as 64 lowercase hex digits

private:
  void block(const std::uint8_t *p);
  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t length_ = 0;
};

/// The hex SHA-256 of `text`.
std::string sha256_hex(std::string_view text);

} // namespace actforge::runtime
