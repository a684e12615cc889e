// Run store: schema and migrations, runs, records, metric queries, params diff. All on real
// database files in a fresh folder per test.
#include <t2/error.h>
#include <t2/run_store.h>

#include "backend/run_store_test_support.h"
#include "core/store/schema.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

namespace {

using t2_test::fresh_dir;
using t2_test::RawDb;

template <typename F>
t2::ErrorKind error_kind(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const t2::Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "expected a t2::Error";
  return t2::ErrorKind::Internal;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

t2::NewRun new_run(const std::string& kind, const std::string& name,
                   const std::string& params = "{}", std::vector<std::string> tags = {}) {
  t2::NewRun run;
  run.kind = kind;
  run.name = name;
  run.params_json = params;
  run.tags = std::move(tags);
  return run;
}

// --- schema ------------------------------------------------------------------------------------

TEST(RunStoreSchema, FreshFileGetsCurrentVersionWalAndAllTables) {
  const auto db = (fresh_dir() / "sub" / "dir" / "w.db").string();  // folders are created
  {
    t2::RunStore store(db);
    EXPECT_EQ(store.schema_version(), t2::RunStore::kSchemaVersion);
    EXPECT_EQ(store.integrity_check(), "ok");
  }
  RawDb raw(db);
  EXPECT_EQ(raw.query("PRAGMA user_version"), std::to_string(t2::RunStore::kSchemaVersion));
  EXPECT_EQ(raw.query("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.query("PRAGMA application_id"), std::to_string(t2::store::kApplicationId));
  for (const char* table :
       {"models", "decompositions", "runs", "run_tags", "metric_keys", "metrics", "artifacts",
        "experts", "evaluations", "evaluation_items", "samples", "chats", "messages"}) {
    EXPECT_EQ(raw.count(std::string("sqlite_master WHERE type='table' AND name='") + table + "'"),
              1)
        << table;
  }
}

TEST(RunStoreSchema, ForeignKeysAreEnforced) {
  t2::RunStore store((fresh_dir() / "w.db").string());
  t2::MessageRecord orphan;
  orphan.chat_id = 12345;  // no such chat
  orphan.role = "user";
  orphan.content = "hi";
  std::string message;
  EXPECT_EQ(error_kind([&] { store.add_message(orphan); }, &message),
            t2::ErrorKind::InvalidArgument);
  EXPECT_TRUE(contains(message, "FOREIGN KEY")) << message;
}

TEST(RunStoreSchema, ReopenKeepsDataAndVersion) {
  const auto db = (fresh_dir() / "w.db").string();
  std::int64_t id = 0;
  {
    t2::RunStore store(db);
    id = store.begin_run(new_run("eval", "kept"));
    store.finish_run(id, t2::RunStatus::Finished);
  }
  t2::RunStore again(db);
  EXPECT_EQ(again.schema_version(), t2::RunStore::kSchemaVersion);
  EXPECT_EQ(again.get_run(id).name, "kept");
  EXPECT_EQ(again.list_runs().size(), 1u);
  t2::RunStoreOptions read_only;
  read_only.read_only = true;
  t2::RunStore viewer(db, read_only);  // e.g. a browser of someone else's workspace
  EXPECT_EQ(viewer.list_runs().size(), 1u);
  EXPECT_EQ(error_kind([&] { viewer.begin_run(new_run("eval", "no")); }), t2::ErrorKind::Io);
}

TEST(RunStoreSchema, NewerSchemaIsRefusedAndLeftUnmodified) {
  const auto db = (fresh_dir() / "w.db").string();
  { t2::RunStore store(db); }
  { RawDb(db).exec("PRAGMA user_version = 99"); }
  std::string message;
  EXPECT_EQ(error_kind([&] { t2::RunStore store(db); }, &message), t2::ErrorKind::Unsupported);
  EXPECT_TRUE(contains(message, "schema version 99")) << message;
  EXPECT_TRUE(contains(message, "newer T2 Workbench")) << message;
  EXPECT_TRUE(contains(message, db)) << message;
  EXPECT_EQ(error_kind([&] {
              t2::RunStore store(db, {false, true, 100});
            }),
            t2::ErrorKind::Unsupported);  // read-only too
  EXPECT_EQ(RawDb(db).query("PRAGMA user_version"), "99");
}

TEST(RunStoreSchema, ForeignSqliteFileAndNonDatabaseAreRefused) {
  const auto dir = fresh_dir();
  const auto other = (dir / "other.db").string();
  { RawDb(other).exec("CREATE TABLE notes(x); INSERT INTO notes VALUES(1)"); }
  std::string message;
  EXPECT_EQ(error_kind([&] { t2::RunStore store(other); }, &message),
            t2::ErrorKind::InvalidArgument);
  EXPECT_TRUE(contains(message, "not a T2 Workbench workspace")) << message;
  EXPECT_EQ(RawDb(other).count("notes"), 1);

  const auto text = (dir / "text.db").string();
  std::ofstream(text) << "this is not a database, just some text that is long enough...........\n"
                      << std::string(200, 'x');
  EXPECT_EQ(error_kind([&] { t2::RunStore store(text); }), t2::ErrorKind::Corrupt);
}

TEST(RunStoreSchema, MissingFileWithoutCreateSaysHowToChooseOne) {
  const auto db = (fresh_dir() / "absent.db").string();
  std::string message;
  EXPECT_EQ(error_kind(
                [&] {
                  t2::RunStore store(db, {false, false, 100});
                },
                &message),
            t2::ErrorKind::Io);
  EXPECT_TRUE(contains(message, "--db")) << message;
  EXPECT_FALSE(std::filesystem::exists(db));
}

TEST(RunStoreSchema, MigrationsApplyInOrderAndAFailingOneRollsBack) {
  const auto db = (fresh_dir() / "m.db").string();
  using t2::store::Migration;
  const std::vector<Migration> v1 = {{1, "CREATE TABLE a(x); INSERT INTO a VALUES(1);"}};
  const std::vector<Migration> v3 = {
      v1[0],
      {2, "CREATE TABLE b(y); INSERT INTO a VALUES(2);"},
      {3, "CREATE TABLE c(z); INSERT INTO no_such_table VALUES(3);"}};
  {
    t2::store::Connection c(db, t2::store::Connection::Mode::ReadWriteCreate, 100);
    EXPECT_EQ(t2::store::migrate(c, v1), 1);
    EXPECT_EQ(t2::store::migrate(c, v1), 1);  // idempotent: a is not filled twice
    std::string message;
    EXPECT_EQ(error_kind([&] { t2::store::migrate(c, v3); }, &message), t2::ErrorKind::Internal);
    EXPECT_TRUE(contains(message, "schema version 3")) << message;
    EXPECT_TRUE(contains(message, "keeps version 2")) << message;
  }
  RawDb raw(db);
  EXPECT_EQ(raw.query("PRAGMA user_version"), "2");
  EXPECT_EQ(raw.count("a"), 2);  // 1 from v1, 2 from v2
  EXPECT_EQ(raw.count("sqlite_master WHERE name='b'"), 1);
  EXPECT_EQ(raw.count("sqlite_master WHERE name='c'"), 0);  // v3 rolled back entirely
  t2::store::Connection c(db, t2::store::Connection::Mode::ReadWrite, 100);
  EXPECT_EQ(error_kind([&] { t2::store::migrate(c, v1); }), t2::ErrorKind::Unsupported);
}

// --- runs --------------------------------------------------------------------------------------

TEST(RunStoreRuns, BeginFinishRoundTrip) {
  t2::RunStore store((fresh_dir() / "w.db").string());
  const std::string params = "{ \"lr\" : 1e-3,\n  \"z\": [1, 2] }";  // kept verbatim
  auto spec = new_run("train-expert", "first", params, {"svf", "math", "svf"});
  spec.notes = "note";
  const auto id = store.begin_run(spec);
  auto run = store.get_run(id);
  EXPECT_EQ(run.kind, "train-expert");
  EXPECT_EQ(run.name, "first");
  EXPECT_EQ(run.params_json, params);
  EXPECT_EQ(run.status, t2::RunStatus::Running);
  EXPECT_EQ(run.notes, "note");
  EXPECT_EQ(run.tags, (std::vector<std::string>{"math", "svf"}));  // sorted, deduplicated
  EXPECT_EQ(run.writer.pid, static_cast<std::int64_t>(::getpid()));
  EXPECT_FALSE(run.writer.host.empty());
  EXPECT_FALSE(run.writer.start_token.empty());
  EXPECT_FALSE(run.finished_at.has_value());
  store.finish_run(id, t2::RunStatus::Failed, "diverged");
  run = store.get_run(id);
  EXPECT_EQ(run.status, t2::RunStatus::Failed);
  EXPECT_EQ(run.message, "diverged");
  ASSERT_TRUE(run.finished_at.has_value());
  EXPECT_GE(*run.finished_at, run.started_at);
  EXPECT_EQ(error_kind([&] { store.finish_run(id, t2::RunStatus::Running); }),
            t2::ErrorKind::InvalidArgument);
  EXPECT_EQ(error_kind([&] { store.finish_run(999, t2::RunStatus::Finished); }),
            t2::ErrorKind::InvalidArgument);
  EXPECT_EQ(error_kind([&] { store.get_run(999); }), t2::ErrorKind::InvalidArgument);
}

TEST(RunStoreRuns, ParamsMustBeAJsonObject) {
  t2::RunStore store((fresh_dir() / "w.db").string());
  for (const char* bad : {"", "[1,2]", "{\"a\":", "3"}) {
    EXPECT_EQ(error_kind([&] { store.begin_run(new_run("eval", "x", bad)); }),
              t2::ErrorKind::InvalidArgument)
        << bad;
  }
  EXPECT_TRUE(store.list_runs().empty());
}

TEST(RunStoreRuns, ListFiltersAndSorts) {
  t2::RunStore store((fresh_dir() / "w.db").string());
  const auto a = store.begin_run(new_run("eval", "gsm8k base", "{}", {"math"}));
  const auto b = store.begin_run(new_run("train-expert", "math expert", "{}", {"math", "svf"}));
  const auto c = store.begin_run(new_run("train-expert", "code expert", "{}", {"code"}));
  const auto d = store.begin_run(new_run("eval", "humaneval", "{}", {}));
  store.finish_run(a, t2::RunStatus::Finished);
  store.finish_run(c, t2::RunStatus::Cancelled);
  auto ids = [&](const t2::RunFilter& f) {
    std::vector<std::int64_t> out;
    for (const auto& r : store.list_runs(f)) out.push_back(r.id);
    return out;
  };
  t2::RunFilter f;
  f.sort = t2::RunSort::IdAsc;
  EXPECT_EQ(ids(f), (std::vector<std::int64_t>{a, b, c, d}));
  f.kind = "train-expert";
  EXPECT_EQ(ids(f), (std::vector<std::int64_t>{b, c}));
  f.status = t2::RunStatus::Running;
  EXPECT_EQ(ids(f), (std::vector<std::int64_t>{b}));
  f = {};
  f.tag = "math";
  f.sort = t2::RunSort::IdDesc;
  EXPECT_EQ(ids(f), (std::vector<std::int64_t>{b, a}));
  f = {};
  f.name_contains = "expert";
  f.sort = t2::RunSort::NameAsc;
  EXPECT_EQ(ids(f), (std::vector<std::int64_t>{c, b}));  // "code expert" < "math expert"
  f.name_contains = "Expert";                            // case-sensitive
  EXPECT_TRUE(ids(f).empty());
  f = {};
  f.sort = t2::RunSort::StartedAsc;
  f.limit = 2;
  EXPECT_EQ(ids(f), (std::vector<std::int64_t>{a, b}));
  f.sort = t2::RunSort::StartedDesc;  // ties on started_at fall back to id
  EXPECT_EQ(ids(f), (std::vector<std::int64_t>{d, c}));
  store.add_tag(d, "code");
  store.remove_tag(c, "code");
  f = {};
  f.tag = "code";
  EXPECT_EQ(ids(f), (std::vector<std::int64_t>{d}));
}

TEST(RunStoreRuns, FolderArtifactsRecordTheirSizeAndAreDeletedWithTheirFiles) {
  const auto dir = fresh_dir();
  t2::RunStore store((dir / "w.db").string());
  const auto id = store.begin_run(new_run("train", "lora"));
  const auto adapter = dir / "adapter_best";
  std::filesystem::create_directories(adapter / "sub");
  std::ofstream(adapter / "adapter_config.json") << "12345";              // 5 bytes
  std::ofstream(adapter / "sub" / "adapter_model.safetensors") << "abc";  // 3 bytes
  store.register_artifact(id, "adapter", adapter.string());
  const auto arts = store.artifacts(id);
  ASSERT_EQ(arts.size(), 1u);
  EXPECT_EQ(arts[0].bytes, 8);
  const auto removed = store.delete_run(id, true);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(adapter));
}

TEST(RunStoreRuns, ResolveByIdOrUniqueName) {
  t2::RunStore store((fresh_dir() / "w.db").string());
  const auto a = store.begin_run(new_run("eval", "solo"));
  const auto b = store.begin_run(new_run("eval", "twin"));
  const auto c = store.begin_run(new_run("eval", "twin"));
  const auto numeric = store.begin_run(new_run("eval", "77"));
  EXPECT_EQ(store.resolve_run(std::to_string(a)), a);
  EXPECT_EQ(store.resolve_run("solo"), a);
  EXPECT_EQ(store.resolve_run("77"), numeric);  // no run 77: the name matches
  std::string message;
  EXPECT_EQ(error_kind([&] { store.resolve_run("twin"); }, &message),
            t2::ErrorKind::InvalidArgument);
  EXPECT_TRUE(contains(message, "ids " + std::to_string(b) + ", " + std::to_string(c))) << message;
  EXPECT_EQ(error_kind([&] { store.resolve_run("nobody"); }), t2::ErrorKind::InvalidArgument);
}

TEST(RunStoreRuns, DeleteRemovesEverythingOfTheRunAndOptionallyItsFiles) {
  const auto dir = fresh_dir();
  const auto db = (dir / "w.db").string();
  t2::RunStore store(db);
  auto fill = [&](const std::string& name) {
    const auto id = store.begin_run(new_run("train-expert", name));
    store.log_metrics(id, 0, {{"loss", 1.0}, {"acc", 0.5}});
    const auto file = (dir / (name + ".expert")).string();
    store.save_artifact(id, "expert", file,
                        [](const std::string& temp) { std::ofstream(temp) << "bytes"; });
    t2::ExpertRecord e;
    e.run_id = id;
    e.name = name;
    e.path = file;
    store.add_expert(e);
    store.add_evaluation({0, id, "gsm8k", "base", 0, 0, 0, 0}, {{0, "q", "1", "1", "1", true}});
    store.add_sample({0, id, 3, "prompt", "completion", 0.5, 0});
    const auto chat = store.add_chat({0, id, "chat", 0});
    store.add_message({0, chat, "user", "hello", "", "{}", "{}", 0});
    return id;
  };
  const auto keep = fill("keep");
  const auto gone = fill("gone");
  const auto gone_files = fill("gone-files");
  EXPECT_TRUE(store.delete_run(gone, false).empty());
  EXPECT_TRUE(std::filesystem::exists(dir / "gone.expert"));  // rows only
  const auto removed = store.delete_run(gone_files, true);
  EXPECT_EQ(removed.size(), 1u);  // artifact and expert name the same file
  EXPECT_FALSE(std::filesystem::exists(dir / "gone-files.expert"));
  EXPECT_TRUE(std::filesystem::exists(dir / "keep.expert"));
  RawDb raw(db);
  const std::string k = std::to_string(keep);
  EXPECT_EQ(raw.count("runs"), 1);
  EXPECT_EQ(raw.count("metrics"), 2);
  EXPECT_EQ(raw.count("metrics WHERE run_id = " + k), 2);
  for (const char* table : {"artifacts", "experts", "evaluations", "samples", "chats"}) {
    EXPECT_EQ(raw.count(std::string(table)), 1) << table;
  }
  EXPECT_EQ(raw.count("evaluation_items"), 1);
  EXPECT_EQ(raw.count("messages"), 1);
  EXPECT_EQ(error_kind([&] { store.delete_run(gone, false); }), t2::ErrorKind::InvalidArgument);
}

// --- records -----------------------------------------------------------------------------------

TEST(RunStoreRecords, ModelsDecompositionsExpertsEvaluationsSamplesChats) {
  t2::RunStore store((fresh_dir() / "w.db").string());
  const auto m = store.add_model({0, "/models/a", "fp1", "LlamaForCausalLM", "{\"layers\":2}", 0});
  EXPECT_EQ(store.add_model({0, "/moved/a", "fp1", "LlamaForCausalLM", "{}", 0}), m);
  EXPECT_EQ(store.find_model("fp1")->path, "/moved/a");
  EXPECT_FALSE(store.find_model("fp2").has_value());
  store.add_decomposition({0, m, "mlp", "/cache/1", 0});
  store.add_decomposition({0, m, "mlp", "/cache/2", 0});  // replaces
  store.add_decomposition({0, m, "attn", "/cache/3", 0});
  const auto decs = store.decompositions(m);
  ASSERT_EQ(decs.size(), 2u);
  EXPECT_EQ(decs[0].target_set, "attn");
  EXPECT_EQ(decs[1].cache_path, "/cache/2");

  auto spec = new_run("eval", "e");
  spec.model_id = m;
  const auto run = store.begin_run(spec);
  EXPECT_EQ(store.get_run(run).model_id, m);
  const auto ev = store.add_evaluation({0, run, "gsm8k", "cem", 99, 99, 0, 0},
                                       {{0, "q0", "4", "four", "4", true},
                                        {1, "q1", "5", "six", "6", false},
                                        {2, "q2", "7", "seven", "7", true},
                                        {3, "q3,\"x\"", "8", "?", "", false}});
  const auto evals = store.evaluations(run);
  ASSERT_EQ(evals.size(), 1u);
  EXPECT_EQ(evals[0].n, 4);  // from the items, not the given 99
  EXPECT_EQ(evals[0].correct, 2);
  EXPECT_DOUBLE_EQ(evals[0].accuracy, 0.5);
  const auto items = store.evaluation_items(ev);
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[3].prompt, "q3,\"x\"");
  EXPECT_EQ(items[1].extracted_answer, "6");
  EXPECT_FALSE(items[1].correct);
  EXPECT_EQ(error_kind([&] {
              store.add_evaluation({0, run, "t", "s", 2, 3, 0, 0});
            }),
            t2::ErrorKind::InvalidArgument);

  store.add_sample({0, run, 5, "p5", "c5", 1.0, 0});
  store.add_sample({0, run, 2, "p2", "c2", std::nan(""), 0});
  const auto samples = store.samples(run);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].step, 2);  // by step
  EXPECT_TRUE(std::isnan(samples[0].reward));
  EXPECT_EQ(samples[1].completion, "c5");
  EXPECT_EQ(store.samples(run, 1).size(), 1u);
  // A batch is all or nothing: the second sample names an unknown run.
  EXPECT_THROW(store.add_samples({{0, run, 9, "p9", "c9", 0.0, 0}, {0, 999, 9, "p", "c", 0, 0}}),
               t2::Error);
  EXPECT_EQ(store.samples(run).size(), 2u);
  store.add_samples({{0, run, 9, "p9", "c9", 0.0, 0}, {0, run, 9, "q9", "d9", 1.0, 0}});
  EXPECT_EQ(store.samples(run).size(), 4u);

  const auto chat = store.add_chat({0, std::nullopt, "free chat", 0});
  store.add_message({0, chat, "user", "2+2?", "", "{}", "{}", 0});
  store.add_message(
      {0, chat, "assistant", "4", "math", "{\"math\":0.8,\"code\":0.2}", "{\"pass1_ms\":12}", 0});
  const auto msgs = store.messages(chat);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[1].pass1_decision, "math");
  EXPECT_EQ(msgs[1].expert_mix_json, "{\"math\":0.8,\"code\":0.2}");
  EXPECT_EQ(store.chats().size(), 1u);
  EXPECT_TRUE(store.chats(run).empty());
  EXPECT_EQ(error_kind([&] {
              store.add_message({0, chat, "robot", "x", "", "{}", "{}", 0});
            }),
            t2::ErrorKind::InvalidArgument);

  t2::ExpertRecord e;
  e.name = "imported";
  e.path = "/x.expert";
  e.stats_json = "{\"norm\":1.5}";
  const auto eid = store.add_expert(e);
  const auto experts = store.experts();
  ASSERT_EQ(experts.size(), 1u);
  EXPECT_EQ(experts[0].id, eid);
  EXPECT_FALSE(experts[0].run_id.has_value());
  EXPECT_EQ(experts[0].stats_json, "{\"norm\":1.5}");
}

TEST(RunStoreRecords, DefaultPathFollowsEnvironment) {
  const auto dir = fresh_dir();
  auto with_env = [](const char* t2db, const char* xdg, const char* home) {
    auto set = [](const char* name, const char* value) {
      if (value)
        ::setenv(name, value, 1);
      else
        ::unsetenv(name);
    };
    const std::string old_db = std::getenv("T2_DB") ? std::getenv("T2_DB") : "";
    const std::string old_xdg = std::getenv("XDG_DATA_HOME") ? std::getenv("XDG_DATA_HOME") : "";
    const std::string old_home = std::getenv("HOME") ? std::getenv("HOME") : "";
    set("T2_DB", t2db);
    set("XDG_DATA_HOME", xdg);
    set("HOME", home);
    std::string result;
    try {
      result = t2::default_run_store_path();
    } catch (const t2::Error&) {
      result = "<error>";
    }
    set("T2_DB", old_db.empty() ? nullptr : old_db.c_str());
    set("XDG_DATA_HOME", old_xdg.empty() ? nullptr : old_xdg.c_str());
    set("HOME", old_home.empty() ? nullptr : old_home.c_str());
    return result;
  };
  EXPECT_EQ(with_env("/a/b.db", "/x", "/h"), "/a/b.db");
  EXPECT_EQ(with_env(nullptr, "/x", "/h"), "/x/t2-workbench/workspace.db");
  EXPECT_EQ(with_env("", "", "/h"), "/h/.local/share/t2-workbench/workspace.db");
  EXPECT_EQ(with_env(nullptr, nullptr, nullptr), "<error>");
  const auto xdg = (dir / "xdg").string();
  const auto path = with_env(nullptr, xdg.c_str(), "/h");
  { t2::RunStore store(path); }  // creates the folders
  EXPECT_TRUE(std::filesystem::exists(dir / "xdg" / "t2-workbench" / "workspace.db"));
}

// --- params diff -------------------------------------------------------------------------------

TEST(RunStoreParams, DiffShowsOnlyDifferingFlattenedKeys) {
  t2::RunStore store((fresh_dir() / "w.db").string());
  const auto a = store.begin_run(
      new_run("train-expert", "a",
              R"({"lr": 0.001, "opt": {"name": "adam", "betas": [0.9, 0.99], "eps": 1}, "seed": 1,
          "tags": {}})"));
  const auto b = store.begin_run(new_run(
      "train-expert", "b",
      R"({"lr": 0.002, "opt": {"name": "adam", "betas": [0.9, 0.999], "eps": 1.0}, "seed": 1,
          "steps": 10, "tags": {}})"));
  const auto diffs = store.diff_params({a, b});
  ASSERT_EQ(diffs.size(), 3u);
  EXPECT_EQ(diffs[0].key, "lr");
  EXPECT_EQ(diffs[0].values[0], "0.001");
  EXPECT_EQ(diffs[0].values[1], "0.002");
  EXPECT_EQ(diffs[1].key, "opt.betas");  // arrays are leaves; opt.eps 1 == 1.0 is no difference
  EXPECT_EQ(diffs[1].values[0], "[0.9,0.99]");
  EXPECT_EQ(diffs[2].key, "steps");
  EXPECT_FALSE(diffs[2].values[0].has_value());
  EXPECT_EQ(diffs[2].values[1], "10");

  const auto c = store.begin_run(new_run("eval", "c", R"({"lr": 0.001, "seed": 2})"));
  const auto three = store.diff_params({a, b, c});
  std::vector<std::string> keys;
  for (const auto& d : three) keys.push_back(d.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"lr", "opt.betas", "opt.eps", "opt.name", "seed",
                                            "steps", "tags"}));
  EXPECT_TRUE(store.diff_params({a, a}).empty());
  EXPECT_EQ(error_kind([&] { store.diff_params({a}); }), t2::ErrorKind::InvalidArgument);
}

}  // namespace
