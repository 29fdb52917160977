// Running the external tools Actforge needs (the system linker; the AArch64 cross compiler,
// objdump; the C compilers, nm and simulation drivers of the fpga target): spawned without a
// shell, their output captured.
#pragma once

#include <string>
#include <vector>

namespace actforge::targets {

/// Runs argv (argv[0] a path) to completion, stdout and stderr captured together, and returns
/// what it printed. Throws actforge::Error: "cannot run <argv[0]>: <why>" when it does not start,
/// "<failure>: <its output>" when it exits with another code than 0 or dies.
std::string run_program(const std::vector<std::string> &argv, const std::string &failure);

} // namespace actforge::targets
