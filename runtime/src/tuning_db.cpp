// The tuning database: one JSON file of measured schedules, and the lookup jit() and gen use.
#include "actforge/runtime/tune.hpp"

#include "actforge/error.hpp"
#include "actforge/ir/print.hpp"
#include "actforge/targets/target.hpp"
#include "json.hpp"
#include "sha256.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace actforge::runtime::tune {

namespace fs = std::filesystem;

std::string_view to_string(SizeClass c) {
  switch (c) {
  case SizeClass::Cache: return "cache";
  case SizeClass::L3: return "l3";
  case SizeClass::Dram: return "dram";
  }
  return "?";
}

SizeClass parse_size_class(std::string_view text) {
  for (SizeClass c : {SizeClass::Cache, SizeClass::L3, SizeClass::Dram})
    if (text == to_string(c)) return c;
  throw Error("unknown size class '" + std::string(text) + "' (cache, l3, dram)");
}

const Machine &this_machine() {
  static const Machine m = [] {
    Machine out;
    out.cpu = "unknown";
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
      if (line.rfind("model name", 0) == 0) {
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
          out.cpu = line.substr(line.find_first_not_of(" \t", colon + 1));
          while (!out.cpu.empty() && std::isspace(static_cast<unsigned char>(out.cpu.back())))
            out.cpu.pop_back();
        }
        break;
      }
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE), l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    out.l2_bytes = l2 > 0 ? l2 : 1 << 20;
    out.l3_bytes = l3 > 0 ? l3 : 32 << 20;
    out.threads = std::max(1u, std::thread::hardware_concurrency());
    return out;
  }();
  return m;
}

int bytes_per_element(Role role, DType dtype, int num_inputs) {
  const int size = dtype == DType::F64 ? 8 : dtype == DType::F32 ? 4 : 2;
  switch (role) {
  case Role::Forward: return size * (num_inputs + 1);
  case Role::Backward: return size * (2 * num_inputs + 1);
  case Role::BackwardFromOutput: return size * 3;
  case Role::ParamGrad: return size * (num_inputs + 1);
  }
  return size;
}

std::int64_t representative_n(SizeClass c, int bpe, const Machine &m) {
  switch (c) {
  case SizeClass::Cache: return 16384;
  case SizeClass::L3: return std::max(m.l3_bytes / 4, 4 * m.l2_bytes) / bpe;
  case SizeClass::Dram:
    return std::clamp<std::int64_t>(2 * m.l3_bytes / bpe, std::int64_t{1} << 24,
                                    std::int64_t{1} << 26);
  }
  return 16384;
}

SizeClass size_class_of(std::int64_t n, int bpe, const Machine &m) {
  const std::int64_t bytes = n * bpe;
  if (bytes <= m.l2_bytes) return SizeClass::Cache;
  if (bytes <= m.l3_bytes) return SizeClass::L3;
  return SizeClass::Dram;
}

std::string expression_hash(const ir::Expr &e) { return sha256_hex(ir::print(e)).substr(0, 16); }

namespace {

json::Value to_json(const Entry &e) {
  json::Object autos;
  for (const auto &[name, ns] : e.autoschedulers_ns)
    autos.emplace_back(name, ns);
  return json::Object{{"key", json::Object{{"expr", e.key.expr_hash},
                                           {"role", e.key.role},
                                           {"dtype", e.key.dtype},
                                           {"target", e.key.target},
                                           {"cpu", e.key.cpu},
                                           {"size_class", e.key.size_class}}},
                      {"activation", e.activation},
                      {"schedule", json::Object{{"lanes", e.schedule.lanes},
                                                {"unroll", e.schedule.unroll},
                                                {"parallel_chunk",
                                                 static_cast<long long>(e.schedule.parallel_chunk)},
                                                {"gpu_threads", e.schedule.gpu_threads}}},
                      {"schedule_name", e.schedule.describe()},
                      {"default_schedule", e.default_schedule},
                      {"threads", e.threads},
                      {"n", static_cast<long long>(e.n)},
                      {"default_ns", e.default_ns},
                      {"tuned_ns", e.tuned_ns},
                      {"speedup", e.tuned_ns > 0 ? e.default_ns / e.tuned_ns : 0.0},
                      {"noise", e.noise},
                      {"memcpy_ns", e.memcpy_ns},
                      {"autoschedulers_ns", std::move(autos)},
                      {"trials", e.trials},
                      {"strategy", e.strategy},
                      {"date", e.date}};
}

Entry from_json(const json::Value &v) {
  Entry e;
  const json::Value &k = v.at("key");
  e.key = {k.at("expr").string("key.expr"),   k.at("role").string("key.role"),
           k.at("dtype").string("key.dtype"), k.at("target").string("key.target"),
           k.at("cpu").string("key.cpu"),     k.at("size_class").string("key.size_class")};
  parse_size_class(e.key.size_class);
  e.activation = v.at("activation").string("activation");
  const json::Value &s = v.at("schedule");
  e.schedule.lanes = static_cast<int>(s.at("lanes").number("schedule.lanes"));
  e.schedule.unroll = static_cast<int>(s.at("unroll").number("schedule.unroll"));
  e.schedule.parallel_chunk =
      static_cast<std::int64_t>(s.at("parallel_chunk").number("schedule.parallel_chunk"));
  e.schedule.gpu_threads = static_cast<int>(s.at("gpu_threads").number("schedule.gpu_threads"));
  codegen::validate(e.schedule);
  auto number = [&](std::string_view name, double fallback) {
    const json::Value *f = v.find(name);
    return f && f->is_number() ? f->number(name) : fallback;
  };
  auto text = [&](std::string_view name) {
    const json::Value *f = v.find(name);
    return f && f->is_string() ? f->string(name) : std::string();
  };
  e.default_schedule = text("default_schedule");
  e.threads = static_cast<int>(number("threads", 1));
  e.n = static_cast<std::int64_t>(number("n", 0));
  e.default_ns = number("default_ns", 0);
  e.tuned_ns = number("tuned_ns", 0);
  e.noise = number("noise", 0);
  e.memcpy_ns = number("memcpy_ns", 0);
  if (const json::Value *a = v.find("autoschedulers_ns"); a && a->is_object())
    for (const auto &[name, ns] : a->object("autoschedulers_ns"))
      if (ns.is_number()) e.autoschedulers_ns[name] = ns.number(name);
  e.trials = static_cast<int>(number("trials", 0));
  e.strategy = text("strategy");
  e.date = text("date");
  return e;
}

} // namespace

std::string entries_json(const std::vector<Entry> &entries) {
  json::Array list;
  for (const Entry &e : entries)
    list.push_back(to_json(e));
  return json::print(list);
}

Database Database::load(const std::string &path) {
  Database db;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (fs::exists(path)) throw Error("cannot read the tuning database " + path);
    return db;
  }
  std::stringstream text;
  text << in.rdbuf();
  const json::Value doc = json::parse(text.str(), path);
  if (!doc.is_object()) throw Error(path + ": the tuning database is a JSON object");
  const json::Value *schema = doc.find("schema");
  if (!schema || !schema->is_number() || schema->number("schema") != kSchema)
    throw Error(path + ": unknown tuning database schema (this actforge reads schema " +
                std::to_string(kSchema) + ")");
  const json::Array &entries = doc.at("entries").array("entries");
  for (std::size_t i = 0; i < entries.size(); ++i) {
    try {
      db.put(from_json(entries[i]));
    } catch (const Error &e) {
      throw Error(path + ": entry " + std::to_string(i) + ": " + e.what());
    }
  }
  return db;
}

void Database::save(const std::string &path) const {
  json::Array list;
  for (const Entry &e : entries_)
    list.push_back(to_json(e));
  const json::Value doc = json::Object{{"schema", kSchema},
                                       {"about", "actforge tuning database: measured schedules "
                                                 "(actforge tune); edit or delete freely"},
                                       {"entries", std::move(list)}};
  const fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << json::print(doc);
    if (!out.flush()) throw Error("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) {
    fs::remove(tmp);
    throw Error("cannot replace " + path + ": " + ec.message());
  }
}

const Entry *Database::find(const Key &key) const {
  for (const Entry &e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

void Database::put(Entry entry) {
  for (Entry &e : entries_)
    if (e.key == entry.key) {
      e = std::move(entry);
      return;
    }
  entries_.push_back(std::move(entry));
}

std::string Database::default_path() {
  if (const char *p = std::getenv("ACTFORGE_TUNING_DB"); p && *p)
    return std::string(p) == "none" ? std::string() : std::string(p);
  if (const char *x = std::getenv("XDG_CONFIG_HOME"); x && *x)
    return std::string(x) + "/actforge/tuning.json";
  if (const char *h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.config/actforge/tuning.json";
  return "";
}

namespace {

/// The database at `path`, read once and again when the file changes (jit() asks per kernel).
std::shared_ptr<const Database> cached(const std::string &path, std::string &error) {
  static std::mutex mutex;
  static std::map<std::string, std::pair<fs::file_time_type, std::shared_ptr<const Database>>> dbs;
  std::error_code ec;
  const auto stamp = fs::last_write_time(path, ec);
  if (ec) return nullptr; // no file: no entries
  std::lock_guard<std::mutex> lock(mutex);
  auto it = dbs.find(path);
  if (it != dbs.end() && it->second.first == stamp) return it->second.second;
  try {
    auto db = std::make_shared<const Database>(Database::load(path));
    dbs[path] = {stamp, db};
    return db;
  } catch (const Error &e) {
    error = e.what();
    return nullptr;
  }
}

} // namespace

Choice lookup(const ir::Expr &expr, Role role, DType dtype, const std::string &target,
              std::int64_t size_hint, const std::string &db_path) {
  Choice c;
  if (db_path.empty()) {
    c.why = "default schedule (no tuning database: ACTFORGE_TUNING_DB=none or no home)";
    return c;
  }
  std::string error;
  const auto db = cached(db_path, error);
  if (!db) {
    c.why = error.empty() ? "default schedule (no tuning database at " + db_path + ")"
                          : "default schedule (the tuning database is unreadable: " + error + ")";
    return c;
  }
  const targets::TargetInfo info = targets::resolve(target);
  Key key{expression_hash(expr),
          std::string(codegen::to_string(role)),
          std::string(codegen::to_string(dtype)),
          info.name,
          this_machine().cpu,
          ""};
  // x86 kernels run on this CPU: its own entries. Other targets (ARM, a GPU) run elsewhere:
  // an entry tuned on that hardware and imported, whatever CPU it names.
  const bool any_cpu = info.family != targets::Family::X86;
  auto find = [&](const Key &k) -> const Entry * {
    if (!any_cpu) return db->find(k);
    for (const Entry &e : db->entries())
      if (e.key.expr_hash == k.expr_hash && e.key.role == k.role && e.key.dtype == k.dtype &&
          e.key.target == k.target && e.key.size_class == k.size_class)
        return &e;
    return nullptr;
  };
  std::vector<SizeClass> order;
  if (size_hint > 0) {
    order.push_back(size_class_of(size_hint, bytes_per_element(role, dtype), this_machine()));
  } else {
    order = {SizeClass::Dram, SizeClass::L3, SizeClass::Cache};
  }
  for (SizeClass sc : order) {
    key.size_class = std::string(to_string(sc));
    if (const Entry *e = find(key)) {
      c.schedule = e->schedule;
      char speed[32];
      std::snprintf(speed, sizeof speed, "%.2fx",
                    e->tuned_ns > 0 ? e->default_ns / e->tuned_ns : 1);
      c.why = "tuned schedule " + e->schedule.describe() + " (" + key.size_class + ", " + e->date +
              ", " + speed + " the default's speed" + (any_cpu ? ", on " + e->key.cpu : "") +
              "): " + db_path;
      return c;
    }
  }
  c.why = "default schedule (no entry for this kernel" +
          (size_hint > 0 ? " in size class " + key.size_class : std::string()) + " on " + key.cpu +
          " in " + db_path + ")";
  return c;
}

} // namespace actforge::runtime::tune
