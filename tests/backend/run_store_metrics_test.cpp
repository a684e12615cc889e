// Run store: metrics (writer, series, downsampling, best values), CSV/JSON export, artifacts.
#include <t2/error.h>
#include <t2/run_store.h>

#include "backend/run_store_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

namespace {

using t2_test::fresh_dir;
using t2_test::RawDb;

std::int64_t start(t2::RunStore& store, const std::string& name) {
  t2::NewRun run;
  run.kind = "train-expert";
  run.name = name;
  return store.begin_run(run);
}

std::vector<std::int64_t> steps_of(const t2::MetricSeries& s) {
  std::vector<std::int64_t> out;
  for (const auto& p : s.points) out.push_back(p.step);
  return out;
}

std::vector<double> values_of(const t2::MetricSeries& s) {
  std::vector<double> out;
  for (const auto& p : s.points) out.push_back(p.value);
  return out;
}

TEST(RunStoreMetrics, SeriesForSeveralRunsAndKeys) {
  t2::RunStore store((fresh_dir() / "w.db").string());
  const auto a = start(store, "a");
  const auto b = start(store, "b");
  store.log_metrics(a, 0, {{"loss", 3.0}, {"acc", 0.1}});
  store.log_metrics(a, 2, {{"loss", 2.0}, {"acc", std::nan("")}});
  store.log_metrics(a, 1, {{"loss", 2.5}});
  store.log_metrics(a, 2, {{"loss", 1.5}});  // replaces step 2
  store.log_metrics(b, 0, {{"loss", 9.0}});
  EXPECT_EQ(store.metric_keys(a), (std::vector<std::string>{"acc", "loss"}));
  EXPECT_EQ(store.metric_count(a), 5);
  const auto series = store.metric_series({{b, a}, {"loss", "acc"}, 0});
  ASSERT_EQ(series.size(), 4u);
  EXPECT_EQ(series[0].run_id, b);
  EXPECT_EQ(values_of(series[0]), (std::vector<double>{9.0}));
  EXPECT_TRUE(series[1].points.empty());  // b has no acc
  EXPECT_EQ(series[2].key, "loss");
  EXPECT_EQ(steps_of(series[2]), (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(values_of(series[2]), (std::vector<double>{3.0, 2.5, 1.5}));
  ASSERT_EQ(series[3].points.size(), 2u);
  EXPECT_TRUE(std::isnan(series[3].points[1].value));  // NaN round-trips
  const auto all = store.metric_series({{a}, {}, 0});  // every key, sorted
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].key, "acc");
  EXPECT_THROW(store.metric_series({{999}, {}, 0}), t2::Error);  // unknown run
}

TEST(RunStoreMetrics, DownsamplingKeepsEndsAndPerBucketMinMax) {
  t2::RunStore store((fresh_dir() / "w.db").string());
  const auto a = start(store, "a");
  const double v[] = {0, 5, 1, 9, 2, 3, -4, 6, 7, 8};
  for (int i = 0; i < 10; ++i) store.log_metrics(a, i * 10, {{"x", v[i]}});
  // 6 points: first, last, and 2 buckets of the 8 interior points: {5,1,9,2} -> 1 (step 20)
  // and 9 (step 30); {3,-4,6,7} -> -4 (step 60) and 7 (step 80).
  auto s = store.metric_series({{a}, {"x"}, 6})[0];
  EXPECT_EQ(s.total_points, 10);
  EXPECT_EQ(steps_of(s), (std::vector<std::int64_t>{0, 20, 30, 60, 80, 90}));
  EXPECT_EQ(values_of(s), (std::vector<double>{0, 1, 9, -4, 7, 8}));
  s = store.metric_series({{a}, {"x"}, 7})[0];  // (7-2)/2 = 2 buckets as well
  EXPECT_EQ(steps_of(s), (std::vector<std::int64_t>{0, 20, 30, 60, 80, 90}));
  s = store.metric_series({{a}, {"x"}, 2})[0];
  EXPECT_EQ(steps_of(s), (std::vector<std::int64_t>{0, 90}));
  s = store.metric_series({{a}, {"x"}, 10})[0];  // short enough: untouched
  EXPECT_EQ(s.points.size(), 10u);
  EXPECT_THROW(store.metric_series({{a}, {"x"}, 1}), t2::Error);
}

TEST(RunStoreMetrics, DownsamplingLongSeriesKeepsTheSpike) {
  const auto db = (fresh_dir() / "w.db").string();
  t2::RunStore store(db);
  const auto a = start(store, "a");
  {
    t2::MetricWriter writer(db, a);
    for (int i = 0; i < 20000; ++i) {
      writer.log(i, "loss", i == 12345 ? 100.0 : std::sin(i * 0.01));
    }
  }
  const auto s = store.metric_series({{a}, {"loss"}, 200})[0];
  EXPECT_EQ(s.total_points, 20000);
  EXPECT_LE(s.points.size(), 200u);
  EXPECT_GE(s.points.size(), 150u);
  EXPECT_EQ(s.points.front().step, 0);
  EXPECT_EQ(s.points.back().step, 19999);
  bool spike = false;
  double lo = 1e9, hi = -1e9;
  for (const auto& p : s.points) {
    spike = spike || (p.step == 12345 && p.value == 100.0);
    if (p.step != 12345) lo = std::min(lo, p.value), hi = std::max(hi, p.value);
  }
  EXPECT_TRUE(spike);
  EXPECT_LT(lo, -0.999);  // the sine's extremes survive as well
  EXPECT_GT(hi, 0.999);
}

TEST(RunStoreMetrics, BestValuePerRunAndKey) {
  t2::RunStore store((fresh_dir() / "w.db").string());
  const auto a = start(store, "a");
  const auto b = start(store, "b");
  const double loss[] = {3, 1, 2, 1, std::nan(""), 4};
  for (int i = 0; i < 6; ++i) store.log_metrics(a, i, {{"loss", loss[i]}});
  store.log_metrics(b, 7, {{"loss", 5.0}});
  auto best = store.best_values({a, b}, {"loss", "acc"}, t2::BestMode::Min);
  ASSERT_EQ(best.size(), 4u);
  EXPECT_TRUE(best[0].found);
  EXPECT_EQ(best[0].step, 1);  // ties: the earliest step
  EXPECT_EQ(best[0].value, 1.0);
  EXPECT_FALSE(best[1].found);  // a has no acc
  EXPECT_EQ(best[2].run_id, b);
  EXPECT_EQ(best[2].value, 5.0);
  best = store.best_values({a}, {"loss"}, t2::BestMode::Max);
  EXPECT_EQ(best[0].step, 5);
  EXPECT_EQ(best[0].value, 4.0);
  store.log_metrics(a, 6, {{"loss", std::nan("")}});
  best = store.best_values({a}, {"loss"}, t2::BestMode::Last);  // last non-NaN
  EXPECT_EQ(best[0].step, 5);
  EXPECT_EQ(best[0].value, 4.0);
}

TEST(RunStoreMetrics, WriterFlushesByCountByAgeAndOnDestruction) {
  const auto db = (fresh_dir() / "w.db").string();
  t2::RunStore reader(db);
  const auto a = start(reader, "a");
  {
    t2::MetricWriterOptions options;
    options.flush_rows = 5;
    options.flush_seconds = 3600;
    t2::MetricWriter writer(db, a, options);
    for (int i = 0; i < 12; ++i) writer.log(i / 3, "k" + std::to_string(i % 3), i);
    EXPECT_EQ(writer.committed_rows(), 10);
    EXPECT_EQ(writer.buffered_rows(), 2u);
    EXPECT_EQ(reader.metric_count(a), 10);  // another connection sees committed batches only
  }
  EXPECT_EQ(reader.metric_count(a), 12);
  t2::MetricWriterOptions by_age;
  by_age.flush_seconds = 0;
  t2::MetricWriter writer(db, a, by_age);
  writer.log(100, "k0", 1.0);
  EXPECT_EQ(writer.buffered_rows(), 0u);
  EXPECT_EQ(reader.metric_count(a), 13);
  EXPECT_THROW(writer.log(101, "", 1.0), t2::Error);
  EXPECT_THROW(t2::MetricWriter(db, 999), t2::Error);
  EXPECT_THROW(t2::MetricWriter((fresh_dir() / "none.db").string(), a), t2::Error);
}

// --- export ------------------------------------------------------------------------------------

// A strict RFC 4180 reader: records end with CRLF; quoted fields may hold , " CR LF.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
        field += '"', ++i;
      else if (c == '"')
        quoted = false;
      else
        field += c;
    } else if (c == '"') {
      EXPECT_TRUE(field.empty() && !was_quoted) << "stray quote at " << i;
      quoted = was_quoted = true;
    } else if (c == ',') {
      rows.back().push_back(field), field.clear(), was_quoted = false;
    } else if (c == '\r') {
      EXPECT_EQ(text[i + 1], '\n') << "bare CR at " << i;
      rows.back().push_back(field), field.clear(), was_quoted = false;
      rows.emplace_back();
      ++i;
    } else {
      EXPECT_NE(c, '\n') << "bare LF at " << i;
      field += c;
    }
  }
  EXPECT_FALSE(quoted);
  EXPECT_TRUE(rows.back().empty() && field.empty()) << "last record lacks CRLF";
  rows.pop_back();
  return rows;
}

TEST(RunStoreExport, CsvLongFormatParsesBack) {
  const auto dir = fresh_dir();
  t2::RunStore store((dir / "w.db").string());
  const auto a = start(store, "a");
  const auto b = start(store, "b");
  store.log_metrics(a, 1, {{"loss", 0.1}, {"acc, top-1", 0.25}, {"say \"hi\"\nnow", -3e-9}});
  store.log_metrics(a, 0, {{"loss", 1.0 / 3.0}});
  store.log_metrics(b, 5, {{"loss", std::nan("")}, {"inf", -HUGE_VAL}});
  const auto path = (dir / "out" / "m.csv").string();
  std::filesystem::create_directories(dir / "out");
  store.export_metrics_csv({b, a}, path);
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const auto rows = parse_csv(text.str());
  const std::string A = std::to_string(a), B = std::to_string(b);
  const std::vector<std::vector<std::string>> expected = {{"run", "step", "key", "value"},
                                                          {B, "5", "inf", "-inf"},
                                                          {B, "5", "loss", "nan"},
                                                          {A, "1", "acc, top-1", "0.25"},
                                                          {A, "0", "loss", "0.3333333333333333"},
                                                          {A, "1", "loss", "0.1"},
                                                          {A, "1", "say \"hi\"\nnow", "-3e-09"}};
  EXPECT_EQ(rows, expected);
  EXPECT_EQ(std::stod(rows[4][3]), 1.0 / 3.0);  // shortest form round-trips exactly
  EXPECT_THROW(store.export_metrics_csv({a, 999}, path), t2::Error);
}

TEST(RunStoreExport, JsonParsesBack) {
  const auto dir = fresh_dir();
  t2::RunStore store((dir / "w.db").string());
  t2::NewRun spec;
  spec.kind = "eval";
  spec.name = "a";
  spec.params_json = R"({"lr": 0.5, "nested": {"k": [1, 2]}})";
  spec.tags = {"t"};
  const auto a = store.begin_run(spec);
  store.log_metrics(a, 0, {{"loss", 2.0}, {"acc", std::nan("")}});
  store.log_metrics(a, 3, {{"loss", 1.0}});
  store.finish_run(a, t2::RunStatus::Finished);
  const auto path = (dir / "m.json").string();
  store.export_metrics_json({a}, path);
  std::ifstream in(path);
  const auto doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["format"], "t2-metrics");
  ASSERT_EQ(doc["runs"].size(), 1u);
  const auto& run = doc["runs"][0];
  EXPECT_EQ(run["id"], a);
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(run["params"]["nested"]["k"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(run["tags"], nlohmann::json::array({"t"}));
  EXPECT_EQ(run["metrics"]["loss"]["step"], nlohmann::json::array({0, 3}));
  EXPECT_EQ(run["metrics"]["loss"]["value"], nlohmann::json::array({2.0, 1.0}));
  EXPECT_TRUE(run["metrics"]["acc"]["value"][0].is_null());
  EXPECT_EQ(run["metrics"]["loss"]["wall_time"].size(), 2u);
}

// --- artifacts ---------------------------------------------------------------------------------

TEST(RunStoreArtifacts, AtomicWriteReplacesOnlyOnSuccessAndRegistersAfter) {
  const auto dir = fresh_dir();
  t2::RunStore store((dir / "w.db").string());
  const auto a = start(store, "a");
  const auto file = (dir / "ckpt.bin").string();
  store.save_artifact(a, "checkpoint", file, [](const std::string& temp) {
    std::ofstream(temp, std::ios::binary) << "version-1";
  });
  auto artifacts = store.artifacts(a);
  ASSERT_EQ(artifacts.size(), 1u);
  EXPECT_EQ(artifacts[0].bytes, 9);
  EXPECT_EQ(artifacts[0].path, file);
  // A writer that fails half-way leaves the old file and no temporary behind, registers nothing.
  EXPECT_THROW(store.save_artifact(a, "checkpoint", file,
                                   [](const std::string& temp) {
                                     std::ofstream(temp) << "partial";
                                     throw t2::Error(t2::ErrorKind::Io, "disk full");
                                   }),
               t2::Error);
  std::ifstream in(file);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "version-1");
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    entries += e.path().filename().string().find(".tmp-") != std::string::npos;
  }
  EXPECT_EQ(entries, 0);
  EXPECT_EQ(store.artifacts(a).size(), 1u);
  t2::write_file_atomically(file, std::string("version-2"));
  std::ifstream again(file);
  std::getline(again, content);
  EXPECT_EQ(content, "version-2");
  EXPECT_THROW(store.register_artifact(a, "x", (dir / "missing").string()), t2::Error);
  EXPECT_THROW(t2::write_file_atomically((dir / "no" / "such" / "dir" / "f").string(), "x"),
               t2::Error);
}

}  // namespace
