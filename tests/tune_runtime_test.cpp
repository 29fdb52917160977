// runtime/tune: the tuning database, its lookup by jit(), and a small real tuning job.
#include "actforge/runtime/tune.hpp"

#include "actforge/error.hpp"
#include "actforge/ir/parse.hpp"
#include "actforge/runtime/jit.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace actforge::runtime::tune {
namespace {

namespace fs = std::filesystem;

struct TempFile {
  std::string path;
  explicit TempFile(const std::string &name)
      : path((fs::temp_directory_path() /
              ("actforge_tune_" + std::to_string(::getpid()) + "_" + name))
                 .string()) {}
  ~TempFile() { fs::remove(path); }
  void write(const std::string &text) const { std::ofstream(path) << text; }
};

Entry entry_for(const std::string &text, Role role, const std::string &size_class,
                codegen::Schedule schedule) {
  Entry e;
  e.key = {expression_hash(ir::parse(text)),
           std::string(codegen::to_string(role)),
           "f32",
           jit(text, {.role = role}).target(),
           this_machine().cpu,
           size_class};
  e.activation = text;
  e.schedule = schedule;
  e.default_schedule = "v16u2p0";
  e.n = 16384;
  e.default_ns = 2000;
  e.tuned_ns = 1000;
  e.memcpy_ns = 900;
  e.autoschedulers_ns["Li2018"] = 1500;
  e.date = "2026-11-27";
  return e;
}

TEST(TuningDb, RoundTripAndReplace) {
  TempFile f("db.json");
  Database db;
  db.put(entry_for("x * sigmoid(x)", Role::Forward, "cache", {32, 4, 0, 0}));
  db.put(entry_for("x * sigmoid(x)", Role::Backward, "dram", {16, 8, 0, 0}));
  db.put(entry_for("x * sigmoid(x)", Role::Forward, "cache", {64, 1, 0, 0})); // replaces
  ASSERT_EQ(db.entries().size(), 2u);
  db.save(f.path);
  const Database back = Database::load(f.path);
  ASSERT_EQ(back.entries().size(), 2u);
  const Entry *e = back.find(db.entries()[0].key);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->schedule, (codegen::Schedule{64, 1, 0, 0}));
  EXPECT_EQ(e->activation, "x * sigmoid(x)");
  EXPECT_DOUBLE_EQ(e->tuned_ns, 1000);
  EXPECT_DOUBLE_EQ(e->autoschedulers_ns.at("Li2018"), 1500);
  EXPECT_EQ(e->date, "2026-11-27");
  // Human-readable: one member a line, the schedule's name spelled out.
  std::ifstream in(f.path);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("\"schedule_name\": \"v64u1p0\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"schema\": 1"), std::string::npos);
}

TEST(TuningDb, MissingFileIsEmptyAndBadFilesSayWhere) {
  EXPECT_TRUE(Database::load("/nonexistent/actforge/tuning.json").entries().empty());
  TempFile f("bad.json");
  f.write("{\n  \"schema\": 1,\n  \"entries\": [ { \"key\": 3 ]\n}\n");
  try {
    Database::load(f.path);
    FAIL() << "malformed JSON accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(f.path + ":3:"), std::string::npos) << e.what();
  }
  f.write("{\"schema\": 99, \"entries\": []}");
  EXPECT_THROW(Database::load(f.path), Error);
  f.write("{\"schema\": 1, \"entries\": [{\"key\": {\"expr\": \"a\"}}]}");
  try {
    Database::load(f.path);
    FAIL() << "an entry without fields accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("entry 0"), std::string::npos) << e.what();
  }
  // An invalid schedule is refused too.
  Database db;
  db.put(entry_for("x * sigmoid(x)", Role::Forward, "cache", {32, 4, 0, 0}));
  db.save(f.path);
  std::ifstream in(f.path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text.replace(text.find("\"lanes\": 32"), 11, "\"lanes\": 33");
  f.write(text);
  EXPECT_THROW(Database::load(f.path), Error);
}

TEST(TuningDb, SizeClasses) {
  Machine m;
  m.l2_bytes = 1 << 20;
  m.l3_bytes = 32 << 20;
  EXPECT_EQ(representative_n(SizeClass::Cache, 8, m), 16384);
  EXPECT_EQ(size_class_of(16384, 8, m), SizeClass::Cache);
  EXPECT_EQ(size_class_of(representative_n(SizeClass::L3, 8, m), 8, m), SizeClass::L3);
  EXPECT_EQ(size_class_of(representative_n(SizeClass::Dram, 8, m), 8, m), SizeClass::Dram);
  EXPECT_EQ(parse_size_class("dram"), SizeClass::Dram);
  EXPECT_THROW(parse_size_class("l4"), Error);
  EXPECT_EQ(bytes_per_element(Role::Backward, DType::F32), 12);
  EXPECT_EQ(bytes_per_element(Role::Forward, DType::BF16), 4);
}

TEST(TuningDb, JitAndLookupTakeTheEntry) {
  TempFile f("jit.json");
  const std::string text = "x * sigmoid(1.25 * x)"; // a kernel no other test compiles
  Database db;
  db.put(entry_for(text, Role::Forward, "dram", {32, 4, 0, 0}));
  db.put(entry_for(text, Role::Forward, "cache", {16, 1, 0, 0}));
  db.save(f.path);
  const ir::Expr e = ir::parse(text);
  Choice c = lookup(e, Role::Forward, DType::F32, "host", 0, f.path);
  ASSERT_TRUE(c.schedule);
  EXPECT_EQ(c.schedule->describe(), "v32u4p0"); // no size given: the largest class tuned
  c = lookup(e, Role::Forward, DType::F32, "host", 1000, f.path);
  ASSERT_TRUE(c.schedule);
  EXPECT_EQ(c.schedule->describe(), "v16u1p0");
  c = lookup(e, Role::Backward, DType::F32, "host", 0, f.path);
  EXPECT_FALSE(c.schedule);
  EXPECT_NE(c.why.find("no entry"), std::string::npos) << c.why;
  c = lookup(e, Role::Forward, DType::F32, "host", 0, "");
  EXPECT_FALSE(c.schedule);

  ASSERT_EQ(setenv("ACTFORGE_TUNING_DB", f.path.c_str(), 1), 0);
  const Kernel tuned = jit(text);
  EXPECT_EQ(tuned.schedule().describe(), "v32u4p0");
  EXPECT_EQ(tuned.schedule_origin().rfind("tuned", 0), 0u) << tuned.schedule_origin();
  const Kernel small = jit(text, {.size_hint = 1000});
  EXPECT_EQ(small.schedule().describe(), "v16u1p0");
  const Kernel plain = jit(text, {.use_tuning_db = false});
  EXPECT_EQ(plain.schedule_origin(), "default schedule");
  EXPECT_NE(plain.schedule().describe(), "v32u4p0");
  // Same results whatever the schedule.
  std::vector<float> x(1000), a(1000), b(1000);
  for (int i = 0; i < 1000; ++i)
    x[i] = -10 + 0.02f * static_cast<float>(i);
  tuned.forward(x.data(), a.data(), 1000);
  plain.forward(x.data(), b.data(), 1000);
  EXPECT_EQ(a, b);
  ASSERT_EQ(setenv("ACTFORGE_TUNING_DB", "none", 1), 0);
  EXPECT_EQ(jit(text).schedule_origin().rfind("default", 0), 0u);
}

TEST(TuningDb, OtherCpusEntriesApplyOnlyToOtherTargets) {
  TempFile f("cpus.json");
  const std::string text = "x * sigmoid(1.5 * x)";
  const ir::Expr e = ir::parse(text);
  Database db;
  Entry x86 = entry_for(text, Role::Forward, "dram", {32, 4, 0, 0});
  x86.key.cpu = "Some Other CPU";
  db.put(x86);
  Entry arm = x86;
  arm.key.target = "arm-64-linux";
  arm.key.cpu = "Neoverse-N1";
  arm.schedule = {8, 4, 0, 0};
  db.put(arm);
  db.save(f.path);
  // An x86 entry tuned on another CPU model does not apply here.
  EXPECT_FALSE(lookup(e, Role::Forward, DType::F32, "host", 0, f.path).schedule);
  // An ARM entry tuned on an ARM board applies to ARM builds on any machine (imported).
  const Choice c = lookup(e, Role::Forward, DType::F32, "arm-64-linux", 0, f.path);
  ASSERT_TRUE(c.schedule);
  EXPECT_EQ(c.schedule->describe(), "v8u4p0");
  EXPECT_NE(c.why.find("Neoverse-N1"), std::string::npos) << c.why;
}

TEST(Tune, TimeCalls) {
  int calls = 0;
  const auto s = time_calls(
      [&] {
        ++calls;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      },
      5, 0.002);
  EXPECT_EQ(s.samples, 5);
  EXPECT_GE(s.median, 150e-6);
  EXPECT_LT(s.median, 50e-3);
  EXPECT_GE(calls, 7);
  EXPECT_THROW(time_calls([] {}, 0, 0.001), Error);
}

TEST(Tune, ASmallJobEndToEnd) {
  Options o;
  o.roles = {Role::Forward};
  o.classes = {SizeClass::Cache};
  o.budget_s = 4;
  o.autoschedulers = false;
  o.repetitions = 3;
  std::vector<std::string> seen;
  Hooks h;
  h.trial = [&](const std::string &job, int, int, const codegen::tune::Trial &t) {
    seen.push_back(job + " " + t.schedule.describe());
    EXPECT_TRUE(t.evaluation.failure.empty()) << t.evaluation.failure;
  };
  const auto results = tune_activation("relu", o, h);
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(results[0].entries.size(), 1u);
  const Entry &e = results[0].entries[0];
  EXPECT_EQ(e.key.role, "forward");
  EXPECT_EQ(e.key.size_class, "cache");
  EXPECT_EQ(e.n, 16384);
  EXPECT_GT(e.default_ns, 0);
  EXPECT_GT(e.tuned_ns, 0);
  EXPECT_GT(e.memcpy_ns, 0);
  EXPECT_LE(e.tuned_ns, e.default_ns);
  EXPECT_NO_THROW(codegen::validate(e.schedule));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), "relu forward " + e.default_schedule); // the default first
  EXPECT_THROW(tune_activation("relu", {.target = "arm-64-linux"}), Error);
  EXPECT_THROW(tune_activation("maxout", o), Error);
}

} // namespace
} // namespace actforge::runtime::tune
