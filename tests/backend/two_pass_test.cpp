// Two-pass self-adaptation building blocks (t2/two_pass.h): the pass-1 answer parser, the expert
// library file, and CEM over mixing coefficients.
#include <t2/error.h>
#include <t2/job.h>
#include <t2/tasks.h>
#include <t2/two_pass.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace t2;

namespace {

const std::vector<std::string> kCategories = {"code", "math", "reasoning"};

std::string parse(const std::string& text) { return parse_boxed_category(text, kCategories); }

// ---- pass 1 ----

TEST(TwoPassParse, NoBoxIsOther) {
  EXPECT_EQ(parse(""), "other");
  EXPECT_EQ(parse("This is clearly math."), "other");
  EXPECT_EQ(parse("boxed{math}"), "other");  // no backslash
  EXPECT_EQ(parse("\\boxed math"), "other");
}

TEST(TwoPassParse, PlainBox) {
  EXPECT_EQ(parse("\\boxed{math}"), "math");
  EXPECT_EQ(parse("\\boxed{code}"), "code");
  EXPECT_EQ(parse("\\boxed{reasoning}"), "reasoning");
}

TEST(TwoPassParse, BoxInsideSurroundingText) {
  EXPECT_EQ(parse("The question asks for a function.\nClassification: \\boxed{code}."), "code");
}

TEST(TwoPassParse, FirstBoxWins) {
  EXPECT_EQ(parse("\\boxed{math} or maybe \\boxed{code}"), "math");
  EXPECT_EQ(parse("\\boxed{geometry} then \\boxed{math}"), "other");  // first unknown: other
}

TEST(TwoPassParse, CaseSensitive) {
  EXPECT_EQ(parse("\\boxed{Math}"), "other");
  EXPECT_EQ(parse("\\boxed{CODE}"), "other");
}

TEST(TwoPassParse, ContentIsTrimmed) {
  EXPECT_EQ(parse("\\boxed{ math }"), "math");
  EXPECT_EQ(parse("\\boxed{\n\treasoning \n}"), "reasoning");
  EXPECT_EQ(parse("\\boxed{   }"), "other");
  EXPECT_EQ(parse("\\boxed{}"), "other");
  EXPECT_EQ(parse("\\boxed{ma th}"), "other");  // inner whitespace stays
}

TEST(TwoPassParse, OtherAndUnknownAreOther) {
  EXPECT_EQ(parse("\\boxed{other}"), "other");
  EXPECT_EQ(parse("\\boxed{geometry}"), "other");
  EXPECT_EQ(parse("\\boxed{math.}"), "other");
  // "other" is returned even when the caller lists it as a category.
  EXPECT_EQ(parse_boxed_category("\\boxed{other}", {"math", "other"}), "other");
  // Only the given categories count.
  EXPECT_EQ(parse_boxed_category("\\boxed{math}", {"code"}), "other");
  EXPECT_EQ(parse_boxed_category("\\boxed{math}", {}), "other");
  EXPECT_EQ(parse_boxed_category("\\boxed{physics}", {"physics", "math"}), "physics");
}

TEST(TwoPassParse, UnterminatedBoxIsOther) {
  EXPECT_EQ(parse("\\boxed{math"), "other");
  EXPECT_EQ(parse("Classification: \\boxed{"), "other");
  // The unterminated first box swallows the rest, later boxes included.
  EXPECT_EQ(parse("\\boxed{oops \\boxed{math}"), "other");
  EXPECT_FALSE(first_boxed_content("\\boxed{oops \\boxed{math}").has_value());
}

TEST(TwoPassParse, NestedBracesAreReadToTheMatchingBrace) {
  EXPECT_EQ(first_boxed_content("\\boxed{\\text{math}} rest"), std::string("\\text{math}"));
  EXPECT_EQ(first_boxed_content("x \\boxed{a{b}c{d{e}}} \\boxed{math}"),
            std::string("a{b}c{d{e}}"));
  EXPECT_EQ(parse("\\boxed{\\text{math}}"), "other");
  EXPECT_EQ(parse("\\boxed{{math}}"), "other");
  EXPECT_EQ(parse("\\boxed{a{b}c} \\boxed{math}"), "other");  // first box is "a{b}c"
  EXPECT_EQ(parse("\\boxed{{math}"), "other");                // unterminated
  EXPECT_EQ(first_boxed_content("\\boxed{ math }"), std::string(" math "));
  EXPECT_FALSE(first_boxed_content("no box").has_value());
}

TEST(TwoPassParse, PaperPromptText) {
  // The classification task kind's system prompt (tasks.h): the reference's text, whose first
  // line starts with "# ".
  const std::string prompt = t2::classification_system_prompt();
  EXPECT_EQ(
      prompt.rfind("# Analyze the given question and classify it into one of four categories: "
                   "'code', 'math', 'reasoning' or 'other'. Follow these guidelines:\n\n1. ",
                   0),
      0u);
  EXPECT_NE(prompt.find("4. Other: Questions not clearly fit into above categories.\n\n"),
            std::string::npos);
  EXPECT_NE(prompt.find("within \\boxed{} notation. Example: \\boxed{reasoning}\n\n"),
            std::string::npos);
  const std::string tail = "Format your response as follows:\nClassification: \\boxed{category}";
  ASSERT_GE(prompt.size(), tail.size());
  EXPECT_EQ(prompt.substr(prompt.size() - tail.size()), tail);
  // The prompt's own example parses like a reply would.
  EXPECT_EQ(parse(prompt.substr(prompt.find("Example:"))), "reasoning");
}

// ---- the expert library ----

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "two_pass" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path.string();
}

ErrorKind kind_of(const std::function<void()>& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "no t2::Error thrown";
  return ErrorKind::Internal;
}

LibraryExpert entry(const std::string& category, const std::string& file,
                    const std::string& task = "") {
  LibraryExpert e;
  e.category = category;
  e.file = file;
  e.task = task;
  return e;
}

ExpertLibrary sample_library() {
  ExpertLibrary lib;
  lib.name = "demo";
  lib.base_fingerprint = "fp-1234";
  lib.experts = {entry("math", "math/math.safetensors", "../tasks/math/task.json"),
                 entry("code", "/abs/code.safetensors"),
                 entry("reasoning", "reasoning.safetensors")};
  lib.experts[2].name = "reasoning-v2";
  lib.experts[2].recipe = "r/recipe.json";
  lib.experts[2].report = "r/report.json";
  return lib;
}

TEST(TwoPassLibrary, RoundTrip) {
  const fs::path dir = fresh_dir("round_trip");
  const std::string path = (dir / "library.json").string();
  const ExpertLibrary lib = sample_library();
  write_expert_library(path, lib);
  const ExpertLibrary back = read_expert_library(path);
  EXPECT_EQ(back.path, path);
  EXPECT_EQ(back.name, "demo");
  EXPECT_EQ(back.base_fingerprint, "fp-1234");
  EXPECT_EQ(back.model, "");
  ASSERT_EQ(back.experts.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back.experts[i].category, lib.experts[i].category);
    EXPECT_EQ(back.experts[i].file, lib.experts[i].file);
    EXPECT_EQ(back.experts[i].task, lib.experts[i].task);
    EXPECT_EQ(back.experts[i].name, lib.experts[i].name);
    EXPECT_EQ(back.experts[i].recipe, lib.experts[i].recipe);
    EXPECT_EQ(back.experts[i].report, lib.experts[i].report);
  }
  EXPECT_EQ(back.categories(), (std::vector<std::string>{"math", "code", "reasoning"}));
  ASSERT_NE(back.find("code"), nullptr);
  EXPECT_EQ(back.find("code")->file, "/abs/code.safetensors");
  EXPECT_EQ(back.find("other"), nullptr);
  EXPECT_EQ(back.find("Math"), nullptr);
  // Paths: relative to the library's folder, absolute ones kept.
  const fs::path abs_dir = fs::absolute(dir).lexically_normal();
  EXPECT_EQ(back.resolve(*back.find("math")), (abs_dir / "math" / "math.safetensors").string());
  EXPECT_EQ(back.resolve(*back.find("code")), "/abs/code.safetensors");
  EXPECT_EQ(back.resolve_path(back.find("math")->task),
            (abs_dir.parent_path() / "tasks" / "math" / "task.json").string());
  EXPECT_EQ(back.resolve_path(""), "");
  // No temporary file left behind by the atomic write.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST(TwoPassLibrary, ClassifierAndMixesRoundTripAndAreValidated) {
  const fs::path dir = fresh_dir("mixes");
  const std::string path = (dir / "library.json").string();
  ExpertLibrary lib = sample_library();
  lib.classifier.file = "classifier/classifier.safetensors";
  lib.classifier.task = "../tasks/classify/task.json";
  LibraryMix mix;
  mix.name = "gsm-mix";
  mix.file = "mixes/gsm-mix.safetensors";
  mix.task = "../tasks/math/task.json";
  mix.experts = {"math", "code", "reasoning"};
  mix.alpha = {{0.75}, {0.125}, {0.0}};
  mix.run_id = 12;
  mix.selection = "held-out";
  lib.mixes = {mix};
  write_expert_library(path, lib);
  const ExpertLibrary back = read_expert_library(path);
  ASSERT_TRUE(back.has_classifier());
  EXPECT_EQ(back.classifier.file, lib.classifier.file);
  EXPECT_EQ(back.classifier.task, lib.classifier.task);
  ASSERT_EQ(back.mixes.size(), 1u);
  const LibraryMix* m = back.find_mix("gsm-mix");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->file, mix.file);
  EXPECT_EQ(m->task, mix.task);
  EXPECT_EQ(m->experts, mix.experts);
  EXPECT_EQ(m->shape, "per-expert");
  EXPECT_EQ(m->alpha, mix.alpha);
  EXPECT_EQ(m->run_id, 12);
  EXPECT_EQ(m->selection, "held-out");
  EXPECT_EQ(back.find_mix("nope"), nullptr);
  EXPECT_FALSE(sample_library().has_classifier());

  auto invalid = [&](auto change) {
    ExpertLibrary l = lib;
    change(l.mixes[0]);
    EXPECT_THROW(validate_expert_library(l), t2::Error);
  };
  invalid([](LibraryMix& x) { x.experts[1] = "poetry"; });  // not a category of the library
  invalid([](LibraryMix& x) { x.alpha.pop_back(); });       // one row per expert
  invalid([](LibraryMix& x) { x.alpha[0] = {0.5, 0.5}; });  // per-expert: one value
  invalid([](LibraryMix& x) { x.shape = "per-matrix"; });
  invalid([](LibraryMix& x) { x.name = "Mix One"; });
  invalid([](LibraryMix& x) { x.file.clear(); });
  invalid([](LibraryMix& x) { x.alpha[2][0] = std::nan(""); });
  ExpertLibrary twice = lib;
  twice.mixes.push_back(mix);
  EXPECT_THROW(validate_expert_library(twice), t2::Error);
  // Malformed JSON of a mix is Corrupt and names the key.
  std::ofstream(dir / "bad.json") << R"({"format": "t2-expert-library", "version": 1,
    "experts": [{"category": "math", "file": "m.safetensors"}],
    "mixes": [{"name": "a", "file": "a.safetensors", "experts": ["math"], "shape": "per-expert",
               "alpha": [["x"]]}]})";
  try {
    read_expert_library((dir / "bad.json").string());
    ADD_FAILURE() << "a non-number alpha was accepted";
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), t2::ErrorKind::Corrupt);
    EXPECT_NE(std::string(e.what()).find("alpha"), std::string::npos) << e.what();
  }
}

TEST(TwoPassLibrary, WritesTheDocumentedFormat) {
  const fs::path dir = fresh_dir("format");
  const std::string path = (dir / "library.json").string();
  ExpertLibrary lib;
  lib.experts = {entry("math", "m.safetensors")};
  write_expert_library(path, lib);
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"format\": \"t2-expert-library\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"version\": 1"), std::string::npos) << text;
  EXPECT_NE(text.find("\"base_fingerprint\": \"\""), std::string::npos) << text;
  EXPECT_EQ(text.find("\"task\""), std::string::npos) << text;  // empty optional: omitted
  // In memory (no path): relative files resolve against the current folder.
  EXPECT_EQ(lib.resolve(lib.experts[0]), (fs::current_path() / "m.safetensors").string());
}

TEST(TwoPassLibrary, ReadErrorsAreCorruptAndNameTheFile) {
  const fs::path dir = fresh_dir("corrupt");
  const std::string good_expert = R"({"category": "math", "file": "m.safetensors"})";
  struct Case {
    std::string name, text, needle;
  };
  const std::vector<Case> cases = {
      {"not_json", "{not json", "not valid JSON"},
      {"array", "[1, 2]", "not a JSON object"},
      {"no_format", R"({"version": 1, "experts": []})", "\"format\""},
      {"wrong_format", R"({"format": "t2-expert", "version": 1, "experts": []})", "\"format\""},
      {"newer", R"({"format": "t2-expert-library", "version": 2, "experts": []})", "newer"},
      {"no_version", R"({"format": "t2-expert-library", "experts": []})", "\"version\""},
      {"string_version", R"({"format": "t2-expert-library", "version": "1", "experts": []})",
       "\"version\""},
      {"no_experts", R"({"format": "t2-expert-library", "version": 1})", "\"experts\""},
      {"experts_object", R"({"format": "t2-expert-library", "version": 1, "experts": {}})",
       "\"experts\""},
      {"no_category",
       R"({"format": "t2-expert-library", "version": 1, "experts": [{"file": "a"}]})",
       "experts[0] has no \"category\""},
      {"no_file",
       R"({"format": "t2-expert-library", "version": 1, "experts": [)" + good_expert +
           R"(, {"category": "code"}]})",
       "experts[1] has no \"file\""},
      {"number_file",
       R"({"format": "t2-expert-library", "version": 1, "experts": )"
       R"([{"category": "math", "file": 3}]})",
       "\"file\" is not a string"},
      {"number_name", R"({"format": "t2-expert-library", "version": 1, "name": 7, "experts": []})",
       "\"name\" is not a string"},
      {"unknown_key",
       R"({"format": "t2-expert-library", "version": 1, "base_fingerprnt": "x", "experts": []})",
       "unknown key \"base_fingerprnt\""},
      {"unknown_expert_key",
       R"({"format": "t2-expert-library", "version": 1, "experts": )"
       R"([{"category": "math", "file": "a", "weight": 1}]})",
       "unknown key \"weight\""},
  };
  for (const auto& c : cases) {
    const std::string path = write_text(dir / (c.name + ".json"), c.text);
    std::string message;
    EXPECT_EQ(kind_of([&] { read_expert_library(path); }, &message), ErrorKind::Corrupt) << c.name;
    EXPECT_NE(message.find(path), std::string::npos) << c.name << ": " << message;
    EXPECT_NE(message.find(c.needle), std::string::npos) << c.name << ": " << message;
  }
  std::string message;
  EXPECT_EQ(kind_of([&] { read_expert_library((dir / "absent.json").string()); }, &message),
            ErrorKind::Io);
  EXPECT_NE(message.find("absent.json"), std::string::npos) << message;
}

TEST(TwoPassLibrary, ValidationErrorsAreInvalidArgument) {
  const fs::path dir = fresh_dir("invalid");
  struct Case {
    std::string name;
    std::vector<LibraryExpert> experts;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"duplicate", {entry("math", "a"), entry("code", "b"), entry("math", "c")}, "repeats"},
      {"other", {entry("other", "a")}, "reserved"},
      {"empty", {entry("", "a")}, "empty category"},
      {"upper", {entry("Math", "a")}, "lowercase"},
      {"space", {entry("math problems", "a")}, "lowercase"},
      {"dot", {entry("math.v2", "a")}, "lowercase"},
      {"no_file", {entry("math", "")}, "no expert file"},
  };
  for (const auto& c : cases) {
    ExpertLibrary lib;
    lib.experts = c.experts;
    std::string message;
    EXPECT_EQ(kind_of([&] { validate_expert_library(lib); }, &message), ErrorKind::InvalidArgument)
        << c.name;
    EXPECT_NE(message.find(c.needle), std::string::npos) << c.name << ": " << message;
    // Writing refuses it (nothing written) ...
    const fs::path path = dir / (c.name + ".json");
    EXPECT_EQ(kind_of([&] { write_expert_library(path.string(), lib); }),
              ErrorKind::InvalidArgument)
        << c.name;
    EXPECT_FALSE(fs::exists(path)) << c.name;
  }
  // ... and reading a file with such entries does too, naming the file.
  const std::string path =
      write_text(dir / "read.json",
                 R"({"format": "t2-expert-library", "version": 1, "experts": [)"
                 R"({"category": "math", "file": "a"}, {"category": "math", "file": "b"}]})");
  std::string message;
  EXPECT_EQ(kind_of([&] { read_expert_library(path); }, &message), ErrorKind::InvalidArgument);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("\"math\""), std::string::npos) << message;
  // Categories with digits, '_' and '-' are fine; so is an empty library.
  ExpertLibrary ok;
  ok.experts = {entry("math_2", "a"), entry("code-py3", "b")};
  EXPECT_NO_THROW(validate_expert_library(ok));
  EXPECT_NO_THROW(validate_expert_library(ExpertLibrary{}));
}

TEST(TwoPassLibrary, FingerprintCheck) {
  ExpertLibrary lib = sample_library();
  EXPECT_NO_THROW(check_library_for_model(lib, "fp-1234"));
  std::string message;
  EXPECT_EQ(kind_of([&] { check_library_for_model(lib, "fp-9999"); }, &message),
            ErrorKind::InvalidArgument);
  EXPECT_NE(message.find("fp-1234"), std::string::npos) << message;
  EXPECT_NE(message.find("fp-9999"), std::string::npos) << message;
  EXPECT_EQ(kind_of([&] { check_library_for_model(lib, ""); }), ErrorKind::InvalidArgument);
  lib.base_fingerprint.clear();  // unchecked
  EXPECT_NO_THROW(check_library_for_model(lib, "fp-9999"));
}

TEST(TwoPassLibrary, ReadsTheBundledDemoLibrary) {
  const fs::path path = fs::path(T2_SOURCE_DIR) / "resources" / "demo" / "experts" / "library.json";
  if (!fs::is_regular_file(path)) GTEST_SKIP() << "no bundled demo library at " << path;
  const ExpertLibrary lib = read_expert_library(path.string());
  for (const char* category : {"math", "code", "reasoning"}) {
    const LibraryExpert* e = lib.find(category);
    ASSERT_NE(e, nullptr) << category;
    EXPECT_EQ(e->name, category);
    EXPECT_EQ(e->file, std::string(category) + "/" + category + ".safetensors");
    EXPECT_EQ(lib.resolve(*e), (fs::absolute(path.parent_path()) / category /
                                (std::string(category) + ".safetensors"))
                                   .lexically_normal()
                                   .string());
    EXPECT_FALSE(e->task.empty());
    EXPECT_EQ(lib.resolve_path(e->task),
              (fs::absolute(path.parent_path().parent_path()) / "tasks" / category / "task.json")
                  .lexically_normal()
                  .string());
  }
  EXPECT_EQ(lib.model, "../model");
  EXPECT_EQ(lib.base_fingerprint, "");  // the demo library does not pin its model
  EXPECT_NO_THROW(check_library_for_model(lib, "any"));
}

// ---- CEM ----

using Population = std::vector<std::vector<double>>;

// Per-dimension mean and population std of the given members (the test's own computation).
void mean_std(const std::vector<std::vector<double>>& xs, std::vector<double>* mean,
              std::vector<double>* stdev) {
  const std::size_t dim = xs.front().size();
  mean->assign(dim, 0.0);
  stdev->assign(dim, 0.0);
  for (std::size_t d = 0; d < dim; ++d) {
    for (const auto& x : xs) (*mean)[d] += x[d];
    (*mean)[d] /= static_cast<double>(xs.size());
    for (const auto& x : xs) (*stdev)[d] += (x[d] - (*mean)[d]) * (x[d] - (*mean)[d]);
    (*stdev)[d] = std::sqrt((*stdev)[d] / static_cast<double>(xs.size()));
  }
}

TEST(TwoPassCem, UpdateMatchesAHandComputation) {
  CemParams p;
  p.population = 4;
  p.elite_ratio = 0.5;  // 2 elites
  p.init_std = 0.3;
  p.generations = 2;
  p.seed = 7;
  p.lower = -100.0;  // no clamping, so the draws can be recovered
  p.upper = 100.0;
  std::vector<Population> seen;
  std::vector<CemGeneration> reported;
  const auto result = cem_search(
      1, {0.5},
      [&](const Population& pop) {
        seen.push_back(pop);
        return std::vector<double>{0.1, 0.9, 0.5, 0.3};  // ranks members 1, 2, 3, 0
      },
      p, [&](const CemGeneration& g) { reported.push_back(g); });
  ASSERT_EQ(seen.size(), 2u);
  ASSERT_EQ(reported.size(), 2u);
  for (int g = 0; g < 2; ++g) {
    const Population& pop = seen[g];
    ASSERT_EQ(pop.size(), 4u);
    std::vector<double> mean, stdev;
    mean_std({pop[1], pop[2]}, &mean, &stdev);  // the two best: fitness 0.9 and 0.5
    EXPECT_EQ(reported[g].generation, g + 1);
    EXPECT_EQ(reported[g].fitness, (std::vector<double>{0.1, 0.9, 0.5, 0.3}));
    ASSERT_EQ(reported[g].elite_mean.size(), 1u);
    EXPECT_NEAR(reported[g].elite_mean[0], mean[0], 1e-12);
    EXPECT_NEAR(reported[g].elite_mean[0], (pop[1][0] + pop[2][0]) / 2, 1e-12);
    EXPECT_NEAR(reported[g].elite_std[0], stdev[0], 1e-12);
    EXPECT_NEAR(reported[g].elite_std[0], std::abs(pop[1][0] - pop[2][0]) / 2, 1e-12);
    EXPECT_NEAR(reported[g].elite_fitness_mean, (0.9 + 0.5) / 2, 1e-12);
  }
  // Generation 2 samples around generation 1's new mean and std: x = mu + sigma * n with the
  // same stream of N(0, 1) draws, which a 1-generation search from mu 0, sigma 1 shows raw.
  CemParams raw = p;
  raw.population = 8;
  raw.init_std = 1.0;
  raw.generations = 1;
  Population draws;
  cem_search(
      1, {0.0},
      [&](const Population& pop) {
        draws = pop;
        return std::vector<double>(pop.size(), 0.0);
      },
      raw);
  ASSERT_EQ(draws.size(), 8u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(seen[0][i][0], 0.5 + 0.3 * draws[i][0], 1e-12) << i;
    EXPECT_NEAR(seen[1][i][0],
                reported[0].elite_mean[0] + reported[0].elite_std[0] * draws[4 + i][0], 1e-12)
        << i;
  }
  // The best member ever: the 0.9 member of the first generation (ties do not replace it).
  EXPECT_EQ(result.best, seen[0][1]);
  EXPECT_EQ(result.best_fitness, 0.9);
  EXPECT_EQ(result.generations_run, 2);
  EXPECT_FALSE(result.stopped_early);
  EXPECT_EQ(result.history.size(), 2u);
}

TEST(TwoPassCem, TiesKeepPopulationOrderAndSamplesAreClamped) {
  CemParams p;
  p.population = 6;
  p.elite_ratio = 0.5;  // 3 elites
  p.init_std = 2.0;     // wide: many samples hit the bounds
  p.generations = 1;
  p.seed = 3;
  Population seen;
  const auto result = cem_search(
      2, {},
      [&](const Population& pop) {
        seen = pop;
        return std::vector<double>(pop.size(), 1.0);
      },
      p);
  ASSERT_EQ(seen.size(), 6u);
  int at_bound = 0;
  for (const auto& x : seen)
    for (double v : x) {
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
      at_bound += (v == 0.0 || v == 1.0) ? 1 : 0;
    }
  EXPECT_GT(at_bound, 0);
  std::vector<double> mean, stdev;
  mean_std({seen[0], seen[1], seen[2]}, &mean, &stdev);  // equal fitness: the first three
  const auto& g = result.history.at(0);
  for (std::size_t d = 0; d < 2; ++d) {
    EXPECT_NEAR(g.elite_mean[d], mean[d], 1e-12);
    EXPECT_NEAR(g.elite_std[d], stdev[d], 1e-12);
  }
  EXPECT_EQ(result.best, seen[0]);
}

TEST(TwoPassCem, EmptyInitMeanIsUniform) {
  CemParams p;
  p.population = 4;
  p.init_std = 0.0;  // every member is the mean
  p.generations = 1;
  Population seen;
  cem_search(
      4, {},
      [&](const Population& pop) {
        seen = pop;
        return std::vector<double>(pop.size(), 0.0);
      },
      p);
  for (const auto& x : seen) EXPECT_EQ(x, (std::vector<double>{0.25, 0.25, 0.25, 0.25}));
}

TEST(TwoPassCem, ConvergesOnASmoothFitness) {
  const std::vector<double> target = {0.2, 0.85, 0.5};
  auto fitness = [&](const Population& pop) {
    std::vector<double> f;
    for (const auto& x : pop) {
      double s = 0.0;
      for (std::size_t d = 0; d < 3; ++d) s += (x[d] - target[d]) * (x[d] - target[d]);
      f.push_back(-s);
    }
    return f;
  };
  CemParams p;
  p.seed = 11;
  const auto result = cem_search(3, {}, fitness, p);
  ASSERT_EQ(result.best.size(), 3u);
  for (std::size_t d = 0; d < 3; ++d) {
    EXPECT_NEAR(result.best[d], target[d], 0.05) << d;
    EXPECT_NEAR(result.history.back().elite_mean[d], target[d], 0.05) << d;
  }
  EXPECT_GT(result.best_fitness, -3 * 0.05 * 0.05);
  // best_fitness never decreases over the generations.
  for (std::size_t g = 1; g < result.history.size(); ++g)
    EXPECT_GE(result.history[g].best_fitness, result.history[g - 1].best_fitness);
}

TEST(TwoPassCem, DeterministicForASeed) {
  auto fitness = [](const Population& pop) {
    std::vector<double> f;
    for (const auto& x : pop) f.push_back(std::sin(5 * x[0]) + std::cos(3 * x[1]));
    return f;
  };
  CemParams p;
  p.generations = 10;
  p.seed = 42;
  const auto a = cem_search(2, {0.3, 0.6}, fitness, p);
  const auto b = cem_search(2, {0.3, 0.6}, fitness, p);
  EXPECT_EQ(a.best, b.best);
  EXPECT_EQ(a.best_fitness, b.best_fitness);
  ASSERT_EQ(a.history.size(), b.history.size());
  for (std::size_t g = 0; g < a.history.size(); ++g) {
    EXPECT_EQ(a.history[g].fitness, b.history[g].fitness);
    EXPECT_EQ(a.history[g].elite_mean, b.history[g].elite_mean);
    EXPECT_EQ(a.history[g].elite_std, b.history[g].elite_std);
  }
  p.seed = 43;
  const auto c = cem_search(2, {0.3, 0.6}, fitness, p);
  EXPECT_NE(a.history[0].fitness, c.history[0].fitness);
}

TEST(TwoPassCem, EarlyStopWithPatience) {
  int calls = 0;
  auto constant = [&](const Population& pop) {
    ++calls;
    return std::vector<double>(pop.size(), 0.5);
  };
  CemParams p;
  p.generations = 50;
  p.patience = 3;
  // Generation 1 improves on nothing-yet; 2, 3, 4 do not improve: stop after 4.
  const auto r = cem_search(2, {}, constant, p);
  EXPECT_TRUE(r.stopped_early);
  EXPECT_EQ(r.generations_run, 4);
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(r.history.size(), 4u);
  // patience 0: never stops early.
  p.patience = 0;
  p.generations = 7;
  calls = 0;
  const auto all = cem_search(2, {}, constant, p);
  EXPECT_FALSE(all.stopped_early);
  EXPECT_EQ(all.generations_run, 7);
  EXPECT_EQ(calls, 7);
  // Running out of generations exactly when patience runs out is not an early stop.
  p.patience = 3;
  p.generations = 4;
  const auto edge = cem_search(2, {}, constant, p);
  EXPECT_FALSE(edge.stopped_early);
  EXPECT_EQ(edge.generations_run, 4);
  // An improving fitness keeps going: generation g scores g.
  int g = 0;
  p.generations = 12;
  p.patience = 2;
  const auto improving = cem_search(
      1, {},
      [&](const Population& pop) {
        ++g;
        return std::vector<double>(pop.size(), static_cast<double>(g));
      },
      p);
  EXPECT_FALSE(improving.stopped_early);
  EXPECT_EQ(improving.generations_run, 12);
}

TEST(TwoPassCem, NonFiniteFitnessNeverWins) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  CemParams p;
  p.population = 8;
  p.elite_ratio = 0.5;
  p.generations = 15;
  p.seed = 5;
  // Members with x > 0.5 get NaN or +inf; the others -(x - 0.3)^2.
  auto fitness = [&](const Population& pop) {
    std::vector<double> f;
    for (std::size_t i = 0; i < pop.size(); ++i) {
      const double x = pop[i][0];
      f.push_back(x > 0.5 ? (i % 2 == 0 ? nan : inf) : -(x - 0.3) * (x - 0.3));
    }
    return f;
  };
  const auto r = cem_search(1, {0.5}, fitness, p);
  EXPECT_TRUE(std::isfinite(r.best_fitness));
  EXPECT_LE(r.best[0], 0.5);
  for (const auto& g : r.history) {
    EXPECT_TRUE(std::isfinite(g.best_fitness));
    EXPECT_LE(g.best[0], 0.5);
    for (double m : g.elite_mean) EXPECT_TRUE(std::isfinite(m));
    for (double s : g.elite_std) EXPECT_TRUE(std::isfinite(s));
  }
  // All NaN: means stay finite; nothing finite was ever seen.
  const auto all_nan = cem_search(
      2, {}, [&](const Population& pop) { return std::vector<double>(pop.size(), nan); }, p);
  EXPECT_EQ(all_nan.best_fitness, -inf);
  ASSERT_EQ(all_nan.best.size(), 2u);
  for (const auto& g : all_nan.history) {
    for (double m : g.elite_mean) EXPECT_TRUE(std::isfinite(m));
    for (double s : g.elite_std) EXPECT_TRUE(std::isfinite(s));
    EXPECT_TRUE(std::isnan(g.fitness[0]));  // reported as returned
  }
}

TEST(TwoPassCem, CancellationAndProgress) {
  CancelToken token;
  std::vector<Progress> progress;
  JobContext job([&](const Progress& pr) { progress.push_back(pr); }, token);
  int calls = 0;
  auto fitness = [&](const Population& pop) {
    ++calls;
    return std::vector<double>(pop.size(), 0.0);
  };
  CemParams p;
  p.generations = 10;
  std::string message;
  const ErrorKind kind = kind_of(
      [&] {
        cem_search(
            2, {}, fitness, p,
            [&](const CemGeneration& g) {
              if (g.generation == 2) token.request_cancel();
            },
            job);
      },
      &message);
  EXPECT_EQ(kind, ErrorKind::Cancelled);
  EXPECT_EQ(calls, 2);
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_EQ(progress[0].stage, "cem");
  EXPECT_DOUBLE_EQ(progress[0].fraction, 0.1);
  EXPECT_DOUBLE_EQ(progress[1].fraction, 0.2);
  // Cancelled before it starts: the fitness is never called.
  calls = 0;
  EXPECT_EQ(kind_of([&] { cem_search(2, {}, fitness, p, {}, job); }), ErrorKind::Cancelled);
  EXPECT_EQ(calls, 0);
}

TEST(TwoPassCem, InvalidParams) {
  auto fitness = [](const Population& pop) { return std::vector<double>(pop.size(), 0.0); };
  struct Case {
    std::string name;
    std::function<void(CemParams&)> change;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"population", [](CemParams& p) { p.population = 1; }, "population"},
      {"elite_ratio 0", [](CemParams& p) { p.elite_ratio = 0.0; }, "elite_ratio"},
      {"elite_ratio > 1", [](CemParams& p) { p.elite_ratio = 1.5; }, "elite_ratio"},
      {"elite_ratio nan",
       [](CemParams& p) { p.elite_ratio = std::numeric_limits<double>::quiet_NaN(); },
       "elite_ratio"},
      {"init_std", [](CemParams& p) { p.init_std = -0.1; }, "init_std"},
      {"generations", [](CemParams& p) { p.generations = 0; }, "generations"},
      {"patience", [](CemParams& p) { p.patience = -1; }, "patience"},
      {"min_improvement", [](CemParams& p) { p.min_improvement = -1.0; }, "min_improvement"},
      {"bounds", [](CemParams& p) { p.lower = p.upper = 0.5; }, "lower < upper"},
      {"bounds inf", [](CemParams& p) { p.upper = std::numeric_limits<double>::infinity(); },
       "lower < upper"},
  };
  for (const auto& c : cases) {
    CemParams p;
    c.change(p);
    std::string message;
    EXPECT_EQ(kind_of([&] { cem_search(2, {}, fitness, p); }, &message), ErrorKind::InvalidArgument)
        << c.name;
    EXPECT_NE(message.find(c.needle), std::string::npos) << c.name << ": " << message;
  }
  std::string message;
  EXPECT_EQ(kind_of(
                [&] {
                  cem_search(3, {0.5, 0.5}, fitness, CemParams{});
                },
                &message),
            ErrorKind::InvalidArgument);
  EXPECT_NE(message.find("init_mean"), std::string::npos) << message;
  EXPECT_EQ(kind_of([&] { cem_search(0, {}, fitness, CemParams{}); }), ErrorKind::InvalidArgument);
  EXPECT_EQ(kind_of([&] {
              cem_search(1, {std::numeric_limits<double>::quiet_NaN()}, fitness, CemParams{});
            }),
            ErrorKind::InvalidArgument);
  // A fitness that returns the wrong number of values.
  EXPECT_EQ(
      kind_of(
          [&] {
            cem_search(
                2, {},
                [](const Population& pop) { return std::vector<double>(pop.size() - 1, 0.0); },
                CemParams{});
          },
          &message),
      ErrorKind::InvalidArgument);
  EXPECT_NE(message.find("one per member"), std::string::npos) << message;
}

}  // namespace
