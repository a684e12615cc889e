// The demo task suite: determinism (byte-identical regeneration, and the committed suite equals a
// fresh build), answers checked by independent means (arithmetic re-done from the worked lines,
// Python itself for the code tasks, the world's fact sentences for reasoning), the difficulty and
// surface knobs, split disjointness, the classifier's coverage, and every gold judged correct
// through the task specs.
#include <t2/demo_suite.h>
#include <t2/error.h>
#include <t2/sandbox.h>
#include <t2/tasks.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

t2::DemoSuiteParams small_params(std::uint64_t seed) {
  t2::DemoSuiteParams p;
  p.seed = seed;
  p.train_items = 60;
  p.validation_items = 10;
  p.test_items = 20;
  p.unseen_validation_items = 5;
  p.unseen_test_items = 20;
  p.unseen_pretrain_items = 30;
  p.classify_per_category = 10;
  return p;
}

fs::path out_dir(const std::string& name) {
  const fs::path dir = fs::path(T2_TEST_OUTPUT_DIR) / "demo" / name;
  fs::remove_all(dir);
  return dir;
}

std::vector<std::string> relative_files(const t2::DemoSuite& suite) {
  std::vector<std::string> out;
  for (const auto& f : suite.files) out.push_back(fs::relative(f, suite.dir).string());
  return out;
}

TEST(DemoSuite, SameSeedGivesByteIdenticalFiles) {
  const auto a = t2::build_demo_suite(out_dir("a").string(), small_params(7));
  const auto b = t2::build_demo_suite(out_dir("b").string(), small_params(7));
  const auto c = t2::build_demo_suite(out_dir("c").string(), small_params(8));
  ASSERT_EQ(relative_files(a), relative_files(b));
  EXPECT_EQ(a.files.size(), 32u);  // 8 specs, 3x3 + 3x3 + 2 + 3 JSONL, suite.json
  int differing = 0;
  for (const auto& rel : relative_files(a)) {
    EXPECT_EQ(read_file(fs::path(a.dir) / rel), read_file(fs::path(b.dir) / rel)) << rel;
    if (read_file(fs::path(a.dir) / rel) != read_file(fs::path(c.dir) / rel)) ++differing;
  }
  EXPECT_GE(differing, 23) << "another seed must change every data file";
}

TEST(DemoSuite, CommittedSuiteMatchesAFreshBuild) {
  const fs::path shipped = fs::path(T2_SOURCE_DIR) / "resources" / "demo" / "tasks";
  if (!fs::exists(shipped / "suite.json"))
    GTEST_SKIP() << "no suite at " << shipped << "; run 't2 demo build'";
  const json manifest = json::parse(read_file(shipped / "suite.json"));
  t2::DemoSuiteParams p;
  p.seed = manifest.at("seed").get<std::uint64_t>();
  const auto& sizes = manifest.at("sizes");
  p.train_items = sizes.at("train");
  p.validation_items = sizes.at("validation");
  p.test_items = sizes.at("test");
  p.unseen_validation_items = sizes.at("unseen_validation");
  p.unseen_test_items = sizes.at("unseen_test");
  p.unseen_pretrain_items = sizes.at("unseen_pretrain");
  p.classify_per_category = sizes.at("classify_train_per_category");
  const auto fresh = t2::build_demo_suite(out_dir("fresh").string(), p);
  for (const auto& rel : relative_files(fresh))
    EXPECT_TRUE(read_file(shipped / rel) == read_file(fs::path(fresh.dir) / rel))
        << rel << " differs from a fresh 't2 demo build' with the manifest's seed and sizes";
}

TEST(DemoSuite, EveryGoldIsJudgedCorrectAndSplitsAreDisjoint) {
  const auto suite = t2::build_demo_suite(out_dir("gold").string(), small_params(11));
  std::vector<std::string> specs = suite.training_tasks;
  specs.insert(specs.end(), suite.unseen_tasks.begin(), suite.unseen_tasks.end());
  specs.push_back(suite.classification_task);
  for (const auto& spec : specs) {
    const auto task = t2::Task::load(spec);
    std::set<std::string> questions;
    std::size_t total = 0;
    for (const auto& split : task.splits()) {
      for (const auto& item : task.load_split(split)) {
        ++total;
        const std::string q = task.build_prompt(item).messages.back().content;
        if (task.spec().kind != t2::TaskKind::Classification)
          EXPECT_TRUE(questions.insert(q).second) << spec << ": repeated question " << q;
        std::string output;
        switch (task.spec().kind) {
          case t2::TaskKind::Gsm8k:
            output = item.fields.at("answer");
            break;
          case t2::TaskKind::MultipleChoice:
            output = "The answer is (" + item.gold + ")";
            break;
          case t2::TaskKind::Classification:
            output = "Classification: \\boxed{" + item.gold + "}";
            break;
          default:  // mixed math items are answered with their worked lines, as math is
            output = item.fields.count("work") ? item.fields.at("work") : item.gold + "\n";
            break;
        }
        const auto v = task.judge(output, item);
        EXPECT_TRUE(v.correct) << spec << " " << item.id << ": " << output << " -> " << v.detail;
      }
    }
    EXPECT_GT(total, 0u) << spec;
  }
}

TEST(DemoGenerators, MathWorkedLinesAreRightAndDifficultyHolds) {
  const std::regex line(R"((\d+) ([-+*]) (\d+) = (\d+))");
  for (const auto& d : {t2::MathDifficulty{}, t2::MathDifficulty{3, 4, 20, 100, true},
                        t2::MathDifficulty{1, 2, 9, 30, false, true}}) {
    int multiplications = 0;
    for (const auto& text : t2::generate_math_items(d, 400, 3)) {
      const json item = json::parse(text);
      const std::string q = item["question"], a = item["answer"];
      std::smatch m;
      ASSERT_TRUE(std::regex_search(
          q, m, std::regex(d.containers ? R"(^There are (\d+) \w+ in a \w+\.)" : R"(has (\d+) )")))
          << q;
      if (d.containers) EXPECT_NE(q.find(" are in the "), std::string::npos) << q;
      long value = std::stol(m[1]);
      int steps = 0;
      for (auto it = std::sregex_iterator(a.begin(), a.end(), line); it != std::sregex_iterator();
           ++it, ++steps) {
        const long x = std::stol((*it)[1]), y = std::stol((*it)[3]), z = std::stol((*it)[4]);
        const char op = (*it)[2].str()[0];
        EXPECT_EQ(x, value) << text;  // each step starts from the previous total
        EXPECT_EQ(z, op == '+' ? x + y : op == '-' ? x - y : x * y) << text;
        if (op != '*') EXPECT_LE(y, d.max_operand) << text;
        multiplications += op == '*';
        EXPECT_GE(z, 0);
        EXPECT_LE(z, d.max_value);
        value = z;
      }
      EXPECT_GE(steps, d.min_steps) << text;
      EXPECT_LE(steps, d.max_steps) << text;
      EXPECT_EQ(a.substr(a.rfind("#### ") + 5), std::to_string(value)) << text;
    }
    EXPECT_EQ(multiplications > 0, d.multiply);
  }
}

// Runs every program in one Python process and compares with the generated answers.
TEST(DemoGenerators, CodeAnswersMatchPython) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 is missing";
  std::vector<json> items;
  for (const auto& t : t2::generate_code_items(t2::CodeDifficulty{}, 300, 5))
    items.push_back(json::parse(t));
  for (const auto& t : t2::generate_code_items(t2::CodeDifficulty{2, 3, 4, 6, true}, 300, 5))
    items.push_back(json::parse(t));
  for (const auto& t :
       t2::generate_code_items(t2::CodeDifficulty{1, 2, 3, 4, false, true}, 300, 5)) {
    items.push_back(json::parse(t));
    EXPECT_EQ(items.back()["question"].get<std::string>().rfind("What is printed?\nx = ", 0), 0u);
  }
  json programs = json::array();
  for (const auto& i : items) programs.push_back(i["program"]);
  const std::string script =
      "import io, json, contextlib\nout = []\nfor p in json.loads(" + json(programs.dump()).dump() +
      "):\n    buf = io.StringIO()\n    with contextlib.redirect_stdout(buf):\n        exec(p)\n"
      "    out.append(buf.getvalue().rstrip('\\n'))\nprint(json.dumps(out))\n";
  t2::SandboxParams params;
  params.limits.wall_seconds = 30;
  params.limits.max_output_bytes = 1 << 20;
  const auto r = t2::run_sandboxed(script, params);
  ASSERT_EQ(r.status, t2::SandboxStatus::Passed) << r.message << r.stderr_text;
  const json python = json::parse(r.stdout_text);
  ASSERT_EQ(python.size(), items.size());
  int ints = 0;
  for (std::size_t k = 0; k < items.size(); ++k) {
    EXPECT_EQ(python[k].get<std::string>(), items[k]["answer"].get<std::string>())
        << items[k]["program"];
    ints += std::regex_match(items[k]["answer"].get<std::string>(), std::regex("\\d+"));
  }
  EXPECT_GT(ints, 0);  // the hard variant ends with len/count/sum/max/min sometimes
}

// The world's facts, read back from its sentences ("A dax is red.", "A dax lives in the hill.",
// "A dax eats fish.", "A dax's sound is a hum.") into creature -> property value.
std::map<std::string, std::set<std::string>> facts_by_creature(std::uint64_t world_seed) {
  std::map<std::string, std::set<std::string>> out;
  const std::regex fact(R"(^A (\w+)(?:'s sound is a| is| lives in the| eats) (\w+)\.$)");
  for (const auto& s : t2::demo_world_facts(world_seed)) {
    std::smatch m;
    EXPECT_TRUE(std::regex_match(s, m, fact)) << s;
    out[m[1]].insert(m[2]);
  }
  return out;
}

TEST(DemoGenerators, ReasoningAnswersAreTheWorldsFacts) {
  const auto facts = facts_by_creature(2501);
  ASSERT_EQ(facts.size(), 24u);
  std::map<std::string, int> value_counts;
  for (const auto& [c, values] : facts) {
    EXPECT_EQ(values.size(), 4u) << c;  // colour, home, food, sound: four distinct words
    for (const auto& v : values) ++value_counts[v];
  }
  for (const auto& [v, n] : value_counts) EXPECT_EQ(n, 6) << v;  // each value held by 6
  EXPECT_NE(t2::demo_world_facts(2502), t2::demo_world_facts(2501));
  std::map<std::string, std::string> letter_of;  // value -> its letter, over both surfaces
  for (bool unseen : {false, true}) {
    t2::ReasoningDifficulty d;
    d.unseen_surface = unseen;
    std::set<std::string> asked;
    for (const auto& text : t2::generate_reasoning_items(d, 600, 9)) {
      const json item = json::parse(text);
      const std::string q = item["question"];
      std::string creature;  // the one creature the question names
      for (const auto& [c, values] : facts)
        if (std::regex_search(q, std::regex("\\b" + c + "\\b"))) {
          EXPECT_TRUE(creature.empty()) << q;
          creature = c;
        }
      ASSERT_FALSE(creature.empty()) << q;
      const std::string answer = item["answer_text"];
      EXPECT_EQ(facts.at(creature).count(answer), 1u) << q << " -> " << answer;
      asked.insert(creature);
      std::vector<std::string> choices;
      std::string key;
      // Options read "<text> (<letter>)": one per line after the question (training) or inline
      // after "Pick one: " (unseen); a value's letter is the same in every item.
      const std::string options = unseen ? q.substr(q.find("Pick one: ")) : q.substr(q.find('\n'));
      const std::regex opt(R"((\w+) \(([A-D])\))");
      std::string letters;
      for (auto it = std::sregex_iterator(options.begin(), options.end(), opt);
           it != std::sregex_iterator(); ++it) {
        choices.push_back((*it)[1]);
        letters += (*it)[2].str();
        const auto [at, fresh] = letter_of.emplace((*it)[1], (*it)[2]);
        EXPECT_EQ(at->second, (*it)[2].str()) << (*it)[1] << " changed its letter: " << q;
      }
      std::sort(letters.begin(), letters.end());
      EXPECT_EQ(letters, "ABCD") << q;
      key = item["answer"];
      if (unseen) EXPECT_NE(q.find("Answer with a letter."), std::string::npos);
      std::map<std::string, std::string> shown;  // this item's text -> letter
      for (auto it = std::sregex_iterator(options.begin(), options.end(), opt);
           it != std::sregex_iterator(); ++it)
        shown[(*it)[1]] = (*it)[2];
      EXPECT_EQ(shown[answer], key) << q;
      ASSERT_EQ(choices.size(), 4u) << q;
      EXPECT_EQ(std::set<std::string>(choices.begin(), choices.end()).size(), 4u) << q;
      int right = 0;  // exactly one option is the creature's fact
      for (const auto& c : choices) right += static_cast<int>(facts.at(creature).count(c));
      EXPECT_EQ(right, 1) << q;
    }
    EXPECT_EQ(asked.size(), 24u);
  }
}

TEST(DemoGenerators, AnswerLettersAreBalanced) {
  std::map<std::string, int> letters;
  for (const auto& text : t2::generate_reasoning_items(t2::ReasoningDifficulty{}, 800, 1))
    ++letters[json::parse(text)["answer"].get<std::string>()];
  ASSERT_EQ(letters.size(), 4u);
  for (const auto& [letter, n] : letters) EXPECT_NEAR(n, 200, 50) << letter;
}

TEST(DemoSuite, MixedInterleavesMathAndCodeAndClassifierCoversEveryTestQuestion) {
  const auto suite = t2::build_demo_suite(out_dir("cover").string(), small_params(13));
  const fs::path root = suite.dir;
  std::map<std::string, int> domains;
  std::size_t i = 0;
  for (const auto& item :
       t2::Task::load((root / "mixed" / "task.json").string()).load_split("test")) {
    ++domains[item.fields.at("domain")];
    EXPECT_EQ(item.fields.at("domain"), i++ % 2 ? "code" : "math");
  }
  EXPECT_EQ(domains["math"], 10);
  EXPECT_EQ(domains["code"], 10);
  // classify/test.jsonl: every test question of the seven tasks, labelled with its domain.
  std::map<std::string, std::string> label_of;
  for (const auto& item : t2::Task::load(suite.classification_task).load_split("test"))
    label_of[item.fields.at("question")] = item.gold;
  std::vector<std::string> specs = suite.training_tasks;
  specs.insert(specs.end(), suite.unseen_tasks.begin(), suite.unseen_tasks.end());
  std::size_t total = 0;
  for (const auto& spec : specs) {
    const auto task = t2::Task::load(spec);
    for (const auto& item : task.load_split("test")) {
      ++total;
      const std::string q = task.build_prompt(item).messages.back().content;
      ASSERT_EQ(label_of.count(q), 1u) << spec << ": " << q;
      const std::string want = item.fields.count("domain") ? item.fields.at("domain")
                                                           : t2::to_string(task.spec().category);
      EXPECT_EQ(label_of[q], want) << q;
    }
  }
  EXPECT_EQ(label_of.size(), total);
  // Train rows: 10 per category, balanced round-robin; none is a test question.
  std::map<std::string, int> train;
  for (const auto& item : t2::Task::load(suite.classification_task).load_split("train")) {
    ++train[item.gold];
    EXPECT_EQ(label_of.count(item.fields.at("question")), 0u);
  }
  EXPECT_EQ(train, (std::map<std::string, int>{{"code", 10}, {"math", 10}, {"reasoning", 10}}));
}

TEST(DemoGenerators, TooNarrowDifficultyIsAnError) {
  t2::MathDifficulty tiny{1, 1, 1, 2, false};
  EXPECT_THROW(t2::generate_math_items(tiny, 10000, 1), t2::Error);
  EXPECT_EQ(t2::generate_math_items(tiny, 200, 1).size(), 200u);
  EXPECT_THROW(t2::generate_code_items(t2::CodeDifficulty{2, 1, 3, 4, false}, 5, 1), t2::Error);
}

TEST(DemoInfo, ListsSpecsExpertsAndReportsWhatIsMissing) {
  const fs::path res = out_dir("resources");
  t2::build_demo_suite((res / "demo" / "tasks").string(), small_params(3));
  const auto info = t2::demo_info(res.string());
  EXPECT_EQ(info.model_dir, (res / "demo" / "model").string());
  EXPECT_FALSE(info.model_present);
  ASSERT_EQ(info.training_tasks.size(), 3u);
  EXPECT_EQ(info.training_tasks[0], (res / "demo" / "tasks" / "math" / "task.json").string());
  ASSERT_EQ(info.unseen_tasks.size(), 4u);
  EXPECT_EQ(info.unseen_tasks[3], (res / "demo" / "tasks" / "mixed" / "task.json").string());
  EXPECT_TRUE(info.missing.empty());
  EXPECT_TRUE(info.experts.empty());
  const json j = json::parse(t2::to_json(info));
  EXPECT_TRUE(j["model"].is_string());
  EXPECT_EQ(j["model_present"], false);
  EXPECT_EQ(j["unseen_tasks"].size(), 4u);
  fs::create_directories(res / "demo" / "model");
  std::ofstream(res / "demo" / "model" / "config.json") << "{}";
  EXPECT_TRUE(t2::demo_info(res.string()).model_present);
  // An expert library: paths relative to it; an absent file is listed and reported missing.
  fs::create_directories(res / "demo" / "experts" / "math");
  std::ofstream(res / "demo" / "experts" / "math" / "math.safetensors") << "x";
  std::ofstream(res / "demo" / "experts" / "library.json")
      << R"({"experts": [{"name": "math", "category": "math", "file": "math/math.safetensors",
                          "task": "../tasks/math/task.json"},
                         {"name": "code", "file": "code/code.safetensors"}]})";
  const auto lib = t2::demo_info(res.string());
  ASSERT_EQ(lib.experts.size(), 2u);
  EXPECT_TRUE(lib.experts[0].present);
  EXPECT_EQ(lib.experts[0].task, (res / "demo" / "tasks" / "math" / "task.json").string());
  EXPECT_FALSE(lib.experts[1].present);
  EXPECT_EQ(lib.experts[1].category, "code");
  ASSERT_EQ(lib.missing.size(), 1u);
  EXPECT_NE(lib.missing[0].find("code.safetensors"), std::string::npos);
  std::ofstream(res / "demo" / "experts" / "library.json") << "{not json";
  const auto broken = t2::demo_info(res.string());
  EXPECT_TRUE(broken.experts.empty());
  ASSERT_EQ(broken.missing.size(), 1u);
  EXPECT_NE(broken.missing[0].find("not a valid expert library"), std::string::npos);
}

}  // namespace
