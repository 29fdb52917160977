// `run`: one C ABI function of a module called in-process through mlir::ExecutionEngine.
#include "driver.hpp"

#include <llvm/ADT/StringExtras.h>
#include <llvm/TargetParser/Host.h>
#include <mlir/Dialect/LLVMIR/LLVMTypes.h>
#include <mlir/ExecutionEngine/ExecutionEngine.h>
#include <mlir/IR/SymbolTable.h>
#include <mlir/Interfaces/FunctionInterfaces.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace actforge::mlir_tool {
namespace {

enum class Kind { In, Out, Ptr, I64, Null };

/// One item of --args.
struct Arg {
  Kind kind;
  std::string file;      ///< in, out, ptr
  std::size_t bytes = 0; ///< out
  std::int64_t value = 0;
};

constexpr std::size_t kGuardBytes = 64;
constexpr unsigned char kGuardByte = 0xA5;

/// `size` bytes at a 64-byte aligned address, followed by kGuardBytes guard bytes.
class Buffer {
public:
  explicit Buffer(std::size_t size) : size_(size), storage_(size + kGuardBytes + 63) {
    std::memset(guard(), kGuardByte, kGuardBytes);
  }
  unsigned char *data() {
    const auto address = reinterpret_cast<std::uintptr_t>(storage_.data());
    return storage_.data() + ((64 - address % 64) % 64);
  }
  std::size_t size() const { return size_; }
  unsigned char *guard() { return data() + size_; }
  bool guard_intact() {
    for (std::size_t i = 0; i < kGuardBytes; ++i)
      if (guard()[i] != kGuardByte) return false;
    return true;
  }

private:
  std::size_t size_;
  std::vector<unsigned char> storage_;
};

std::uint64_t parse_number(llvm::StringRef text, llvm::StringRef item) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.begin(), text.end(), value);
  if (ec != std::errc() || end != text.end() || text.empty())
    throw UsageError{"--args item '" + item.str() + "': '" + text.str() + "' is not a number"};
  return value;
}

Arg parse_item(llvm::StringRef item) {
  const auto [kind, rest] = item.split(':');
  if (kind == "null" && rest.empty() && !item.contains(':')) return {Kind::Null, {}};
  if ((kind == "in" || kind == "ptr") && !rest.empty())
    return {kind == "in" ? Kind::In : Kind::Ptr, rest.str()};
  if (kind == "out") {
    const auto [file, bytes] = rest.rsplit(':');
    if (!file.empty() && !bytes.empty())
      return {Kind::Out, file.str(), static_cast<std::size_t>(parse_number(bytes, item))};
  }
  if (kind == "i64" && !rest.empty()) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(rest.begin(), rest.end(), value);
    if (ec != std::errc() || end != rest.end())
      throw UsageError{"--args item '" + item.str() + "': '" + rest.str() + "' is not an i64"};
    return {Kind::I64, {}, 0, value};
  }
  throw UsageError{"--args item '" + item.str() +
                   "' is none of in:FILE, out:FILE:BYTES, ptr:FILE, i64:V, null"};
}

std::vector<Arg> parse_spec(llvm::StringRef spec) {
  std::vector<Arg> args;
  if (spec.empty()) return args;
  llvm::SmallVector<llvm::StringRef> items;
  spec.split(items, ',');
  for (llvm::StringRef item : items)
    args.push_back(parse_item(item));
  return args;
}

std::string str(mlir::Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return text;
}

// invokePacked reads each argument as the type the function declares: a mismatch would read
// garbage, so --args must fit the signature exactly.
void check_signature(mlir::ModuleOp module, const std::string &entry,
                     const std::vector<Arg> &args) {
  auto fn = llvm::dyn_cast_or_null<mlir::FunctionOpInterface>(module.lookupSymbol(entry));
  if (!fn || fn.isExternal()) throw UsageError{"the module defines no function @" + entry};
  if (mlir::SymbolTable::getSymbolVisibility(fn) != mlir::SymbolTable::Visibility::Public)
    throw UsageError{"@" + entry + " is private: run calls public functions"};
  const auto types = fn.getArgumentTypes();
  if (types.size() != args.size())
    throw UsageError{"--args has " + std::to_string(args.size()) + " items but @" + entry +
                     " takes " + std::to_string(types.size()) + " arguments"};
  for (std::size_t i = 0; i < args.size(); ++i) {
    const bool pointer = llvm::isa<mlir::LLVM::LLVMPointerType>(types[i]);
    const bool fits =
        args[i].kind == Kind::I64 ? types[i].isInteger(64) || types[i].isIndex() : pointer;
    if (!fits)
      throw UsageError{"--args item " + std::to_string(i + 1) + " does not fit argument " +
                       std::to_string(i + 1) + " of @" + entry + ", of type " + str(types[i]) +
                       " (pointers are !llvm.ptr, i64:V is i64 or index)"};
  }
  const auto results = fn.getResultTypes();
  if (results.size() != 1 || !results[0].isInteger(32))
    throw UsageError{"@" + entry + " must return one i32"};
}

void check_host_runs(const CpuTarget &target) {
  const auto host = llvm::sys::getHostCPUFeatures();
  llvm::SmallVector<llvm::StringRef> features;
  llvm::StringRef(target.features).split(features, ',', -1, false);
  for (llvm::StringRef feature : features)
    if (feature.consume_front("+") && !host.lookup(feature))
      throw Error("this CPU lacks " + feature.str() + ": it cannot run code for " + target.name);
}

Buffer read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Buffer buffer(bytes.size());
  if (!bytes.empty()) std::memcpy(buffer.data(), bytes.data(), bytes.size()); // empty: no data()
  return buffer;
}

void write_file(const std::string &path, Buffer &buffer) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char *>(buffer.data()), static_cast<long>(buffer.size()));
  if (!out) throw Error("cannot write " + path);
}

std::unique_ptr<mlir::ExecutionEngine> make_engine(mlir::ModuleOp module, const CpuTarget &target) {
  lower_for_cpu(module);
  std::unique_ptr<llvm::TargetMachine> tm = make_target_machine(target);
  // The engine translates through this builder, so that the JIT gets what `compile` emits. An
  // exception must not cross the engine's frames (LLVM is built without them): keep the message.
  std::string failure;
  auto builder = [&](mlir::Operation *op, llvm::LLVMContext &context) {
    try {
      return to_llvm_ir(llvm::cast<mlir::ModuleOp>(op), context, *tm);
    } catch (const Error &e) {
      failure = e.what();
      return std::unique_ptr<llvm::Module>();
    }
  };
  mlir::ExecutionEngineOptions options;
  options.llvmModuleBuilder = builder;
  options.enableGDBNotificationListener = false;
  options.enablePerfNotificationListener = false;
  auto engine = mlir::ExecutionEngine::create(module, options, make_target_machine(target));
  if (!engine) {
    const std::string message = llvm::toString(engine.takeError());
    throw Error(failure.empty() ? "the JIT failed: " + message : failure);
  }
  return std::move(*engine);
}

} // namespace

bool run_entry(mlir::ModuleOp module, const CpuTarget &target, const std::string &entry,
               const std::string &spec) {
  const std::vector<Arg> args = parse_spec(spec);
  check_signature(module, entry, args);
  check_host_runs(target);
  std::unique_ptr<mlir::ExecutionEngine> engine = make_engine(module, target);

  // invokePacked takes one pointer per argument, to its value, and one to the result.
  std::vector<Buffer> buffers;
  buffers.reserve(args.size());
  std::vector<void *> pointers(args.size(), nullptr);
  std::vector<std::int64_t> integers(args.size(), 0);
  std::vector<void *> packed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const Arg &a = args[i];
    if (a.kind == Kind::In || a.kind == Kind::Ptr) buffers.push_back(read_file(a.file));
    if (a.kind == Kind::Out) buffers.emplace_back(a.bytes);
    if (a.kind == Kind::In || a.kind == Kind::Ptr || a.kind == Kind::Out)
      pointers[i] = buffers.back().data();
    integers[i] = a.value;
    packed.push_back(a.kind == Kind::I64 ? static_cast<void *>(&integers[i]) : &pointers[i]);
  }
  std::int32_t rc = 0;
  packed.push_back(&rc);
  if (llvm::Error e = engine->invokePacked(entry, packed))
    throw Error("cannot call @" + entry + ": " + llvm::toString(std::move(e)));
  std::printf("rc=%d\n", rc);
  std::fflush(stdout);

  bool intact = true;
  for (std::size_t i = 0, b = 0; i < args.size(); ++i) {
    if (args[i].kind == Kind::In || args[i].kind == Kind::Ptr) ++b;
    if (args[i].kind != Kind::Out) continue;
    Buffer &buffer = buffers[b++];
    write_file(args[i].file, buffer);
    if (!buffer.guard_intact()) {
      std::fprintf(stderr, "@%s wrote past the %zu bytes of out:%s (its guard bytes changed)\n",
                   entry.c_str(), args[i].bytes, args[i].file.c_str());
      intact = false;
    }
  }
  return intact;
}

} // namespace actforge::mlir_tool
