// The fpga target: its name and description, element sizes.
#include "actforge/targets/fpga.hpp"

#include "actforge/error.hpp"


namespace actforge::targets::fpga {

const std::vector<std::string> &names() {
  static const std::vector<std::string> n{"fpga"};
  return n;
}

bool is_fpga(std::string_view name) { return name == "fpga"; }

TargetInfo resolve(std::string_view name) {
  if (!is_fpga(name)) throw Error("'" + std::string(name) + "' is not an fpga target (fpga)");
  return {"fpga", Halide::Target(), 32, false, Family::Fpga};
}

std::size_t element_size(std::string_view c_type) {
  if (c_type == "float" || c_type == "int32_t") return 4;
  if (c_type == "double" || c_type == "int64_t") return 8;
  if (c_type == "int16_t") return 2;
  if (c_type == "int8_t") return 1;
  throw Error("no element size for the C type '" + std::string(c_type) +
              "' (float, double, int8_t, int16_t, int32_t, int64_t)");
}

} // namespace actforge::targets::fpga
