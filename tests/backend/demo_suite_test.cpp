// The demo task suite: determinism (byte-identical regeneration, and the committed suite equals a
// fresh build), answers checked by independent means (arithmetic re-done from the worked lines,
// Python itself for the code task, a small ordering solver for reasoning), the difficulty knobs,
// split disjointness, and every gold judged correct through the task specs.
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
  EXPECT_EQ(a.files.size(), 26u);  // 7 specs, 3x3 + 3x2 + 3 JSONL, suite.json
  int differing = 0;
  for (const auto& rel : relative_files(a)) {
    EXPECT_EQ(read_file(fs::path(a.dir) / rel), read_file(fs::path(b.dir) / rel)) << rel;
    if (read_file(fs::path(a.dir) / rel) != read_file(fs::path(c.dir) / rel)) ++differing;
  }
  EXPECT_GE(differing, 19) << "another seed must change every data file";
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
          default:
            output = item.gold + "\n";
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
  for (const auto& d : {t2::MathDifficulty{}, t2::MathDifficulty{3, 4, 20, 100, true}}) {
    int multiplications = 0;
    for (const auto& text : t2::generate_math_items(d, 400, 3)) {
      const json item = json::parse(text);
      const std::string q = item["question"], a = item["answer"];
      std::smatch m;
      std::regex_search(q, m, std::regex(R"(has (\d+) )"));
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

// Orders the people from the statements ("X is taller than Y." / "Y is shorter than X.").
std::vector<std::string> solve_order(const std::string& question) {
  const std::regex stmt(R"((\w+) is (\w+) than (\w+)\.)");
  const std::set<std::string> more = {"taller", "older", "faster", "heavier"};
  std::map<std::string, std::set<std::string>> above;  // name -> names ranked below it
  std::set<std::string> people;
  for (auto it = std::sregex_iterator(question.begin(), question.end(), stmt);
       it != std::sregex_iterator(); ++it) {
    const std::string a = (*it)[1], rel = (*it)[2], b = (*it)[3];
    people.insert(a);
    people.insert(b);
    if (more.count(rel))
      above[a].insert(b);
    else
      above[b].insert(a);
  }
  std::vector<std::string> order;  // most first: repeatedly take the one nobody is above
  while (!people.empty()) {
    for (const auto& p : people) {
      bool top = true;
      for (const auto& q : people) top = top && !(q != p && above[q].count(p));
      if (top) {
        order.push_back(p);
        people.erase(p);
        break;
      }
    }
  }
  return order;
}

TEST(DemoGenerators, ReasoningAnswersMatchASolver) {
  for (const auto& d : {t2::ReasoningDifficulty{}, t2::ReasoningDifficulty{4, 5, 4, true}}) {
    std::map<std::size_t, int> sizes;
    for (const auto& text : t2::generate_reasoning_items(d, 400, 9)) {
      const json item = json::parse(text);
      const std::string q = item["question"];
      const auto order = solve_order(q);
      ++sizes[order.size()];
      std::string answer;
      if (std::regex_search(q, std::regex("second (tallest|oldest|fastest|heaviest)\\?")))
        answer = order[1];
      else if (std::regex_search(q, std::regex("second \\w+\\?")))
        answer = order[order.size() - 2];
      else if (std::regex_search(q, std::regex("(tallest|oldest|fastest|heaviest)\\?")))
        answer = order.front();
      else
        answer = order.back();
      EXPECT_EQ(item["answer_text"], answer) << q;
      const auto& choices = item["choices"];
      ASSERT_EQ(choices.size(), static_cast<std::size_t>(d.options)) << q;
      const std::string key = item["answerKey"];
      EXPECT_EQ(choices[static_cast<std::size_t>(key[0] - 'A')], answer) << q;
      std::set<std::string> distinct(choices.begin(), choices.end());
      EXPECT_EQ(distinct.size(), choices.size()) << q;
    }
    for (const auto& [n, count] : sizes) {
      EXPECT_GE(static_cast<int>(n), d.min_entities);
      EXPECT_LE(static_cast<int>(n), d.max_entities);
    }
    EXPECT_EQ(sizes.size(), static_cast<std::size_t>(d.max_entities - d.min_entities + 1));
  }
}

TEST(DemoGenerators, AnswerLettersAreBalanced) {
  std::map<std::string, int> letters;
  for (const auto& text : t2::generate_reasoning_items(t2::ReasoningDifficulty{}, 900, 1))
    ++letters[json::parse(text)["answerKey"].get<std::string>()];
  ASSERT_EQ(letters.size(), 3u);
  for (const auto& [letter, n] : letters) EXPECT_NEAR(n, 300, 60) << letter;
}

TEST(DemoGenerators, TooNarrowDifficultyIsAnError) {
  t2::MathDifficulty tiny{1, 1, 1, 2, false};
  EXPECT_THROW(t2::generate_math_items(tiny, 10000, 1), t2::Error);
  EXPECT_EQ(t2::generate_math_items(tiny, 200, 1).size(), 200u);
  EXPECT_THROW(t2::generate_code_items(t2::CodeDifficulty{2, 1, 3, 4, false}, 5, 1), t2::Error);
}

TEST(DemoInfo, ListsSpecsAndReportsTheModelMissing) {
  const fs::path res = out_dir("resources");
  t2::build_demo_suite((res / "demo" / "tasks").string(), small_params(3));
  const auto info = t2::demo_info(res.string());
  EXPECT_EQ(info.model_dir, (res / "demo" / "model").string());
  EXPECT_FALSE(info.model_present);
  ASSERT_EQ(info.training_tasks.size(), 3u);
  EXPECT_EQ(info.training_tasks[0], (res / "demo" / "tasks" / "math" / "task.json").string());
  ASSERT_EQ(info.unseen_tasks.size(), 3u);
  EXPECT_TRUE(info.missing.empty());
  const json j = json::parse(t2::to_json(info));
  EXPECT_TRUE(j["model"].is_string());
  EXPECT_EQ(j["model_present"], false);
  EXPECT_EQ(j["unseen_tasks"].size(), 3u);
  fs::create_directories(res / "demo" / "model");
  std::ofstream(res / "demo" / "model" / "config.json") << "{}";
  EXPECT_TRUE(t2::demo_info(res.string()).model_present);
  EXPECT_EQ(j["habits_model"], (res / "demo" / "model-habits").string());
  EXPECT_FALSE(t2::demo_info(res.string()).habits_model_present);
  fs::create_directories(res / "demo" / "model-habits");
  std::ofstream(res / "demo" / "model-habits" / "config.json") << "{}";
  EXPECT_TRUE(t2::demo_info(res.string()).habits_model_present);
}

}  // namespace
