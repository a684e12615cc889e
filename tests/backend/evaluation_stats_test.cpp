// wilson_interval, summarize_evaluation and the report JSON (torch-free parts of
// t2/evaluation.h). Interval values are computed by hand from the Wilson formula (checked with
// 40-digit decimal arithmetic); the p = 0 and p = 1 bounds have the closed forms
// n / (n + z^2) and z^2 / (n + z^2).
#include <t2/error.h>
#include <t2/evaluation.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>

namespace {

constexpr double kTol = 1e-12;

TEST(WilsonInterval, HandComputedValues) {
  struct Case {
    std::int64_t k, n;
    double low, high;
  };
  const Case cases[] = {
      {8, 10, 0.490162471536642, 0.943317848545625},
      {50, 100, 0.403831530365996, 0.596168469634004},
      {1, 3, 0.061491944720396, 0.792340399197952},
      {987, 1319, 0.724174882882810, 0.770971376430781},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.k) + "/" + std::to_string(c.n));
    const auto ci = t2::wilson_interval(c.k, c.n);
    EXPECT_NEAR(ci.low, c.low, kTol);
    EXPECT_NEAR(ci.high, c.high, kTol);
  }
}

TEST(WilsonInterval, EdgeCases) {
  const double z2 = t2::kZ95 * t2::kZ95;
  // n = 0: nothing is known.
  auto ci = t2::wilson_interval(0, 0);
  EXPECT_EQ(ci.low, 0.0);
  EXPECT_EQ(ci.high, 1.0);
  // p = 0: [0, z^2 / (n + z^2)] with an exact 0.
  ci = t2::wilson_interval(0, 10);
  EXPECT_EQ(ci.low, 0.0);
  EXPECT_NEAR(ci.high, z2 / (10 + z2), kTol);
  EXPECT_NEAR(ci.high, 0.277532799862889, kTol);
  ci = t2::wilson_interval(0, 1);
  EXPECT_NEAR(ci.high, 0.793450685622763, kTol);
  // p = 1: [n / (n + z^2), 1] with an exact 1.
  ci = t2::wilson_interval(10, 10);
  EXPECT_NEAR(ci.low, 10 / (10 + z2), kTol);
  EXPECT_NEAR(ci.low, 0.722467200137111, kTol);
  EXPECT_EQ(ci.high, 1.0);
  ci = t2::wilson_interval(1, 1);
  EXPECT_NEAR(ci.low, 0.206549314377237, kTol);
  EXPECT_EQ(ci.high, 1.0);
  // Symmetry: k of n mirrors n - k of n.
  const auto a = t2::wilson_interval(3, 17), b = t2::wilson_interval(14, 17);
  EXPECT_NEAR(a.low, 1.0 - b.high, kTol);
  EXPECT_NEAR(a.high, 1.0 - b.low, kTol);
  // A wider z widens the interval.
  const auto wide = t2::wilson_interval(3, 17, 2.575829303549);
  EXPECT_LT(wide.low, a.low);
  EXPECT_GT(wide.high, a.high);
}

TEST(WilsonInterval, RejectsImpossibleCounts) {
  EXPECT_THROW(t2::wilson_interval(-1, 3), t2::Error);
  EXPECT_THROW(t2::wilson_interval(4, 3), t2::Error);
  EXPECT_THROW(t2::wilson_interval(0, -1), t2::Error);
  EXPECT_THROW(t2::wilson_interval(1, 3, 0.0), t2::Error);
}

t2::EvalItemResult item(std::int64_t index, bool found, bool correct) {
  t2::EvalItemResult r;
  r.index = index;
  r.id = "test:" + std::to_string(index + 1);
  r.found = found;
  r.correct = correct;
  r.output = found ? "42" : "";
  r.extracted_answer = found ? "42" : "";
  r.prompt_tokens = 10 + index;
  r.generated_tokens = 3;
  return r;
}

TEST(EvalSummary, CountsIntervalAndRates) {
  const auto r = t2::summarize_evaluation(
      {item(0, true, true), item(1, true, false), item(2, false, false), item(3, true, true)},
      /*generation_seconds=*/2.0, /*judging_seconds=*/0.5);
  EXPECT_EQ(r.n, 4);
  EXPECT_EQ(r.correct, 2);
  EXPECT_EQ(r.unextractable, 1);
  EXPECT_DOUBLE_EQ(r.accuracy, 0.5);
  EXPECT_EQ(r.prompt_tokens, 10 + 11 + 12 + 13);
  EXPECT_EQ(r.generated_tokens, 12);
  const auto ci = t2::wilson_interval(2, 4);
  EXPECT_EQ(r.ci_low, ci.low);
  EXPECT_EQ(r.ci_high, ci.high);
  EXPECT_DOUBLE_EQ(r.ms_per_example, 500.0);     // 2 s of generation / 4 items
  EXPECT_DOUBLE_EQ(r.examples_per_second, 1.6);  // 4 items / 2.5 s
  const auto empty = t2::summarize_evaluation({}, 0.0, 0.0);
  EXPECT_EQ(empty.n, 0);
  EXPECT_EQ(empty.accuracy, 0.0);
  EXPECT_EQ(empty.ci_low, 0.0);
  EXPECT_EQ(empty.ci_high, 1.0);
  EXPECT_EQ(empty.ms_per_example, 0.0);
}

TEST(EvalSummary, JsonHasItemsOnlyWhenAsked) {
  auto r = t2::summarize_evaluation({item(0, true, true), item(1, false, false)}, 1.0, 0.0);
  r.task = "demo-math";
  r.split = "test";
  const auto compact = nlohmann::json::parse(t2::to_json(r));
  EXPECT_FALSE(compact.contains("items"));
  EXPECT_EQ(compact["task"], "demo-math");
  EXPECT_EQ(compact["n"], 2);
  EXPECT_EQ(compact["correct"], 1);
  EXPECT_EQ(compact["accuracy"], 0.5);
  EXPECT_EQ(compact["unextractable"], 1);
  const auto full = nlohmann::json::parse(t2::to_json(r, /*with_items=*/true, 2));
  ASSERT_EQ(full["items"].size(), 2u);
  EXPECT_EQ(full["items"][0]["id"], "test:1");
  EXPECT_EQ(full["items"][0]["correct"], true);
  EXPECT_EQ(full["items"][1]["found"], false);
  // Invalid UTF-8 in an output (a character cut by max_new_tokens) does not break the JSON.
  r.items[0].output = "ok \xE2\x82";
  EXPECT_NO_THROW(nlohmann::json::parse(t2::to_json(r, true)));
}

TEST(EvalSummary, Strategy) {
  using t2::Strategy;
  EXPECT_EQ(t2::strategy_label(Strategy::from_path("")), "base");
  EXPECT_EQ(t2::strategy_label(Strategy::from_path("/a/b/math.t2expert")), "expert:math.t2expert");
  // An existing folder is a LoRA adapter (t2 eval --adapter), with or without a final slash.
  const std::string folder = std::string(T2_TEST_OUTPUT_DIR) + "/strategy/adapter_best";
  std::filesystem::create_directories(folder);
  EXPECT_EQ(Strategy::from_path(folder).kind, t2::StrategyKind::Adapter);
  EXPECT_EQ(t2::strategy_label(Strategy::from_path(folder)), "adapter:adapter_best");
  EXPECT_EQ(t2::strategy_label(Strategy::from_path(folder + "/")), "adapter:adapter_best");
  EXPECT_EQ(
      t2::strategy_label(Strategy::mix({"/x/math.safetensors", "code.safetensors"}, {0.75, -0.25})),
      "mix:0.75*math.safetensors+-0.25*code.safetensors");
}

TEST(EvalSummary, MalformedStrategiesAreRefused) {
  using t2::Strategy;
  EXPECT_NO_THROW(t2::validate_strategy(Strategy::base()));
  EXPECT_NO_THROW(t2::validate_strategy(Strategy::mix({"a", "b"}, {0.5, 0.5})));
  Strategy base_with_file = Strategy::base();
  base_with_file.files = {"a"};
  EXPECT_THROW(t2::validate_strategy(base_with_file), t2::Error);
  EXPECT_THROW(t2::validate_strategy(Strategy::expert("")), t2::Error);
  EXPECT_THROW(t2::validate_strategy(Strategy::mix({"a"}, {1.0})), t2::Error);
  EXPECT_THROW(t2::validate_strategy(Strategy::mix({"a", "b"}, {1.0})), t2::Error);
  EXPECT_THROW(t2::validate_strategy(Strategy::mix({"a", "b"}, {1.0, std::nan("")})), t2::Error);
  try {
    t2::validate_strategy(Strategy::mix({"a", "b", "c"}, {1.0, 2.0}));
    FAIL() << "a mix with fewer weights than files was accepted";
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), t2::ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("one weight per expert file"), std::string::npos)
        << e.what();
  }
}

}  // namespace
