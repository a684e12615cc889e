// Task specs, datasets, prompts and verdicts: hand-written specs and items, and the real GSM8K
// data (every gold solution fed back as the model's output must be judged correct).
#include <t2/chat_template.h>
#include <t2/error.h>
#include <t2/tasks.h>

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// A scratch folder per test with helpers to write a spec and data files into it.
class TaskFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(T2_TEST_OUTPUT_DIR) / "tasks" /
           (std::string(info->test_suite_name()) + "." + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }
  t2::Task task(const std::string& spec) { return t2::Task::load(write("task.json", spec)); }
  std::string load_error(const std::string& spec) {
    try {
      task(spec);
    } catch (const t2::Error& e) {
      return e.what();
    }
    return "<no error>";
  }
  fs::path dir_;
};

using TasksSpec = TaskFiles;

TEST_F(TasksSpec, Gsm8kKindDefaults) {
  write("test.jsonl", R"({"question": "Q1 has 2 and 3?", "answer": "2+3=<<2+3=5>>5\n#### 5"})"
                      "\n\n"
                      R"({"question": "Q2", "answer": "#### 1,234"})"
                      "\n");
  const auto t = task(R"({"name": "mini", "kind": "gsm8k", "data": {"test": "test.jsonl"},
                          "prompt": {"system": "Solve.", "user": "Q: {question}",
                                     "assistant_prefill": "A:"}})");
  EXPECT_EQ(t.spec().category, t2::TaskCategory::Math);
  EXPECT_EQ(t.spec().extractor.kind, t2::ExtractorKind::LastNumber);
  EXPECT_EQ(t.spec().data.at("test"), (dir_ / "test.jsonl").string());
  const auto items = t.load_split("test");
  ASSERT_EQ(items.size(), 2u);  // the blank line is skipped
  EXPECT_EQ(items[0].gold, "5");
  EXPECT_EQ(items[1].gold, "1234");
  EXPECT_EQ(items[1].id, "test:3");
  EXPECT_EQ(items[1].line, 3);
  const auto prompt = t.build_prompt(items[0]);
  ASSERT_EQ(prompt.messages.size(), 2u);
  EXPECT_EQ(prompt.messages[0].role, "system");
  EXPECT_EQ(prompt.messages[1].content, "Q: Q1 has 2 and 3?");
  EXPECT_EQ(prompt.assistant_prefill, "A:");
  EXPECT_EQ(prompt.plain_text(), "Solve.\n\nQ: Q1 has 2 and 3?\nA:");

  auto v = t.judge(" It is $5.00.", items[0]);
  EXPECT_TRUE(v.correct);
  EXPECT_EQ(v.reward, 1.0);
  v = t.judge(" 1234", items[1]);
  EXPECT_TRUE(v.correct);
  v = t.judge(" 6", items[0]);
  EXPECT_FALSE(v.correct);
  EXPECT_EQ(v.reward, -1.0);
  v = t.judge(" I do not know", items[0]);
  EXPECT_FALSE(v.extraction.found);
  EXPECT_EQ(v.reward, -1.0);
  EXPECT_TRUE(has(v.detail, "no answer")) << v.detail;
  EXPECT_EQ(t.load_split("test", 1).size(), 1u);
}

TEST_F(TasksSpec, RewardsAndStopStrings) {
  write("d.jsonl", R"({"question": "q", "answer": "#### 3"})"
                   "\n");
  const auto t = task(R"({"name": "r", "kind": "gsm8k", "data": {"train": "d.jsonl"},
      "generation": {"max_new_tokens": 16, "stop": ["\n\n", "Question:"]},
      "reward": {"correct": 2, "wrong": 0, "unextractable": -5}})");
  const auto item = t.load_split("train")[0];
  EXPECT_EQ(t.judge("3", item).reward, 2.0);
  EXPECT_EQ(t.judge("4", item).reward, 0.0);
  EXPECT_EQ(t.judge("none", item).reward, -5.0);
  EXPECT_EQ(t.spec().generation.max_new_tokens, 16);
  EXPECT_EQ(t.truncate_at_stop("3 apples\n\nQuestion: 9"), "3 apples");
  EXPECT_EQ(t.truncate_at_stop("x Question: y"), "x ");
  EXPECT_EQ(t.truncate_at_stop("plain"), "plain");
}

TEST_F(TasksSpec, MultipleChoiceArcStyle) {
  write(
      "arc.jsonl",
      R"({"id": "q1", "question": "Which is a metal?", "choices": {"text": ["wood", "iron", "glass"], "label": ["A", "B", "C"]}, "answerKey": "B"})"
      "\n"
      R"({"id": "q2", "question": "Pick two.", "choices": {"text": ["one", "two", "three", "four"], "label": ["1", "2", "3", "4"]}, "answerKey": "2"})"
      "\n"
      R"({"id": "q3", "question": "Index.", "choices": ["x", "y"], "answerKey": 1})"
      "\n");
  const auto t = task(R"({"name": "arc", "kind": "multiple-choice", "id_field": "id",
      "data": {"test": "arc.jsonl"},
      "prompt": {"user": "{question}\n{choices}\nAnswer with one of {letters}."}})");
  const auto items = t.load_split("test");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].id, "q1");
  EXPECT_EQ(items[0].gold, "B");
  EXPECT_EQ(items[1].gold, "B");  // label "2" is the second choice
  EXPECT_EQ(items[2].gold, "B");  // 0-based index 1
  EXPECT_EQ(items[1].choices, "ABCD");
  EXPECT_EQ(t.build_prompt(items[0]).messages[0].content,
            "Which is a metal?\nA. wood\nB. iron\nC. glass\nAnswer with one of ABC.");
  EXPECT_TRUE(t.judge("Iron conducts, so the answer is (B).", items[0]).correct);
  EXPECT_FALSE(t.judge("Answer: A", items[0]).correct);
  EXPECT_FALSE(t.judge("the answer is D", items[0]).extraction.found);  // D is not a choice here
  EXPECT_TRUE(t.judge("the answer is D", items[1]).extraction.found);
  const auto none = t.judge("I cannot tell.", items[0]);
  EXPECT_FALSE(none.extraction.found);
  EXPECT_FALSE(none.correct);
}

TEST_F(TasksSpec, ClassificationUsesPaperPromptAndFirstBox) {
  write("c.jsonl", R"({"question": "What is 2+2?", "label": "Math"})"
                   "\n");
  const auto t = task(R"({"name": "cls", "kind": "classification", "data": {"test": "c.jsonl"},
      "prompt": {"assistant_prefill": "Classification: \\boxed{"}})");
  const auto item = t.load_split("test")[0];
  EXPECT_EQ(item.gold, "math");
  const auto prompt = t.build_prompt(item);
  EXPECT_TRUE(has(prompt.messages[0].content, "classify it into one of four categories"));
  EXPECT_TRUE(has(prompt.messages[0].content, "\\boxed{reasoning}"));
  EXPECT_EQ(prompt.assistant_prefill, "Classification: \\boxed{");
  EXPECT_TRUE(t.judge("math}", item).correct);
  EXPECT_TRUE(t.judge("Math} and later \\boxed{code}", item).correct);  // the first box
  const auto other = t.judge("banana}", item);
  EXPECT_FALSE(other.correct);
  EXPECT_TRUE(has(other.detail, "not one of the labels")) << other.detail;
}

TEST_F(TasksSpec, GenericWithRegexAndExact) {
  write("g.jsonl", R"({"q": "Capital of France?", "a": "Paris"})"
                   "\n");
  auto t = task(R"j({"name": "g", "kind": "generic", "fields": {"question": "q", "answer": "a"},
      "data": {"test": "g.jsonl"}, "extractor": {"kind": "regex", "pattern": "City: (\\w+)"}})j");
  auto item = t.load_split("test")[0];
  EXPECT_EQ(t.build_prompt(item).messages[0].content, "Capital of France?");
  EXPECT_TRUE(t.judge("City: Lyon. No wait. City: paris", item).correct);  // last match
  EXPECT_FALSE(t.judge("City: Lyon", item).correct);
  t = task(R"({"name": "g", "kind": "generic", "fields": {"question": "q", "answer": "a"},
      "data": {"test": "g.jsonl"}, "extractor": {"kind": "exact", "case_sensitive": true}})");
  item = t.load_split("test")[0];
  EXPECT_TRUE(t.judge("  Paris\n", item).correct);
  EXPECT_FALSE(t.judge("paris", item).correct);
}

TEST_F(TasksSpec, CodeTaskRunsTestsInSandbox) {
  write(
      "mbpp.jsonl",
      R"({"task_id": 7, "text": "Write add(a, b).", "test_list": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0"], "entry_point": "add"})"
      "\n");
  const auto t = task(R"({"name": "mbpp", "kind": "code", "id_field": "task_id",
      "fields": {"prompt": "text", "test": "test_list"}, "data": {"test": "mbpp.jsonl"},
      "extractor": {"program": "{completion}\n\n{test_list}\n",
                    "sandbox": {"wall_seconds": 5, "cpu_seconds": 1}}})");
  const auto item = t.load_split("test")[0];
  EXPECT_EQ(item.id, "7");
  const auto good = t.judge("```python\ndef add(a, b):\n    return a + b\n```", item);
  EXPECT_TRUE(good.correct) << good.detail << good.sandbox.stderr_text;
  EXPECT_TRUE(good.executed);
  const auto bad = t.judge("def add(a, b):\n    return a - b\n", item);
  EXPECT_FALSE(bad.correct);
  EXPECT_EQ(bad.sandbox.status, t2::SandboxStatus::Failed);
  const auto loop = t.judge("def add(a, b):\n    while True: pass\n", item);
  EXPECT_EQ(loop.sandbox.status, t2::SandboxStatus::Timeout);
  EXPECT_TRUE(has(loop.detail, "timeout")) << loop.detail;
  const auto empty = t.judge("   ", item);
  EXPECT_FALSE(empty.executed);
  EXPECT_FALSE(empty.correct);
}

TEST_F(TasksSpec, ErrorsNameFileAndKey) {
  write("d.jsonl", R"({"question": "q", "answer": "#### 1"})"
                   "\n");
  const std::string base = R"("name": "x", "kind": "gsm8k", "data": {"test": "d.jsonl"})";
  auto e = load_error("{" + base + R"(, "extractr": {}})");
  EXPECT_TRUE(has(e, "task.json") && has(e, "extractr") && has(e, "unknown key")) << e;
  e = load_error("{" + base + R"(, "extractor": {"kind": "lastnum"}})");
  EXPECT_TRUE(has(e, "extractor.kind") && has(e, "lastnum")) << e;
  e = load_error("{" + base + R"(, "extractor": {"kind": "regex", "pattern": "(x"}})");
  EXPECT_TRUE(has(e, "extractor.pattern") && has(e, "compile")) << e;
  e = load_error("{" + base + R"(, "generation": {"max_new_tokens": 0}})");
  EXPECT_TRUE(has(e, "generation.max_new_tokens")) << e;
  e = load_error("{" + base + R"(, "category": "poetry"})");
  EXPECT_TRUE(has(e, "category") && has(e, "poetry")) << e;
  e = load_error(R"({"name": "x", "kind": "gsm8k"})");
  EXPECT_TRUE(has(e, "data") && has(e, "required")) << e;
  e = load_error(R"({"name": "x", "kind": "essay", "data": {"test": "d.jsonl"}})");
  EXPECT_TRUE(has(e, "kind") && has(e, "essay")) << e;
  e = load_error("{" + base + R"(, "extractor": {"kind": "code-exec", "program": "x"}})");
  EXPECT_TRUE(has(e, "{completion}")) << e;
  e = load_error("{" + base + ", }");
  EXPECT_TRUE(has(e, "not valid JSON")) << e;
  EXPECT_THROW(t2::Task::load((dir_ / "missing.json").string()), t2::Error);
}

TEST_F(TasksSpec, DatasetErrorsNameFileAndLine) {
  const std::string spec = R"({"name": "x", "kind": "gsm8k", "data": {"test": "d.jsonl"}})";
  write("d.jsonl", R"({"question": "q", "answer": "#### 1"})"
                   "\n{broken\n");
  try {
    task(spec).load_split("test");
    FAIL() << "no error";
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), t2::ErrorKind::Corrupt);
    EXPECT_TRUE(has(e.what(), "d.jsonl:2")) << e.what();
  }
  write("d.jsonl", R"({"question": "q", "answer": "no final line"})"
                   "\n");
  try {
    task(spec).load_split("test");
    FAIL() << "no error";
  } catch (const t2::Error& e) {
    EXPECT_TRUE(has(e.what(), "d.jsonl:1") && has(e.what(), "####")) << e.what();
  }
  write("d.jsonl", R"({"q": "q", "answer": "#### 1"})"
                   "\n");
  try {
    task(spec).load_split("test");
    FAIL() << "no error";
  } catch (const t2::Error& e) {
    EXPECT_TRUE(has(e.what(), "\"question\"") && has(e.what(), "fields.question")) << e.what();
  }
  const auto t = task(R"({"name": "x", "kind": "gsm8k", "data": {"test": "d2.jsonl"},
                          "prompt": {"user": "{nope} {{literal}} \\boxed{}"}})");
  write("d2.jsonl", R"({"question": "q", "answer": "#### 1"})"
                    "\n");
  const auto item = t.load_split("test")[0];
  try {
    t.build_prompt(item);
    FAIL() << "no error";
  } catch (const t2::Error& e) {
    EXPECT_TRUE(has(e.what(), "{nope}") && has(e.what(), "task.json")) << e.what();
  }
  EXPECT_THROW(t.load_split("train"), t2::Error);
  try {
    task(R"({"name": "x", "kind": "gsm8k", "data": {"test": "absent.jsonl"}})").load_split("test");
    FAIL() << "no error";
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), t2::ErrorKind::Io);
    EXPECT_TRUE(has(e.what(), "absent.jsonl")) << e.what();
  }
}

TEST_F(TasksSpec, GzipDatasetsReadLikePlainOnes) {
  if (std::system("command -v gzip >/dev/null 2>&1") != 0) GTEST_SKIP() << "gzip is missing";
  std::string lines;
  for (int i = 0; i < 3000; ++i)  // > 64 KiB, so the reader crosses buffer boundaries
    lines += R"({"question": "q)" + std::to_string(i) + R"(", "answer": "#### )" +
             std::to_string(i) + "\"}\n";
  write("d.jsonl", lines);
  ASSERT_EQ(std::system(("gzip -kf " + (dir_ / "d.jsonl").string()).c_str()), 0);
  const auto plain = task(R"({"name": "p", "kind": "gsm8k", "data": {"test": "d.jsonl"}})");
  const auto gz = task(R"({"name": "z", "kind": "gsm8k", "data": {"test": "d.jsonl.gz"}})");
  const auto a = plain.load_split("test"), b = gz.load_split("test");
  ASSERT_EQ(a.size(), 3000u);
  ASSERT_EQ(b.size(), 3000u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].gold, std::to_string(i));
    EXPECT_EQ(b[i].gold, a[i].gold);
    EXPECT_EQ(b[i].fields, a[i].fields);
  }
  std::ofstream(dir_ / "bad.jsonl.gz", std::ios::binary) << std::string("\x1f\x8b\x08\x00junk", 8);
  EXPECT_THROW(task(R"({"name": "b", "kind": "gsm8k", "data": {"test": "bad.jsonl.gz"}})")
                   .load_split("test"),
               t2::Error);
}

TEST_F(TasksSpec, LiteralBracesSurviveTemplates) {
  write("d.jsonl", R"({"question": "q", "answer": "#### 1"})"
                   "\n");
  const auto t = task(R"({"name": "x", "kind": "gsm8k", "data": {"test": "d.jsonl"},
                          "prompt": {"user": "{question} {{x}} \\boxed{} {not closed"}})");
  EXPECT_EQ(t.build_prompt(t.load_split("test")[0]).messages[0].content,
            "q {x} \\boxed{} {not closed");
}

// ---- real GSM8K ---------------------------------------------------------------------------

class TasksGsm8kData : public TaskFiles {
 protected:
  void SetUp() override {
    TaskFiles::SetUp();
    const fs::path data = fs::path(T2_SHARED_DATA_DIR) / "gsm8k";
    if (!fs::exists(data / "train.jsonl") || !fs::exists(data / "test.jsonl"))
      GTEST_SKIP() << "GSM8K not found at " << data
                   << " (train.jsonl/test.jsonl from openai/grade-school-math, MIT)";
    spec_ = write("gsm8k.json", R"({"name": "gsm8k", "kind": "gsm8k", "data": {"train": ")" +
                                    (data / "train.jsonl").string() + R"(", "test": ")" +
                                    (data / "test.jsonl").string() + R"("}})");
  }
  std::string spec_;
};

TEST_F(TasksGsm8kData, EveryGoldSolutionIsCorrectAndCorruptionsAreWrong) {
  const auto t = t2::Task::load(spec_);
  for (const auto& [split, expected] : {std::pair<std::string, std::size_t>{"train", 7473},
                                        std::pair<std::string, std::size_t>{"test", 1319}}) {
    const auto items = t.load_split(split);
    ASSERT_EQ(items.size(), expected) << split;
    std::size_t correct = 0, changed_wrong = 0, stripped_wrong = 0, stripped_unfound = 0;
    for (const auto& item : items) {
      const std::string& gold_text = item.fields.at("answer");
      if (t.judge(gold_text, item).correct)
        ++correct;
      else
        ADD_FAILURE() << item.id << ": gold judged wrong: " << gold_text;
      // The final number with a digit appended is a different number.
      std::string changed = gold_text;
      while (!changed.empty() && std::isspace(static_cast<unsigned char>(changed.back())))
        changed.pop_back();
      changed += "7";
      if (!t.judge(changed, item).correct) ++changed_wrong;
      std::string stripped;
      for (char c : gold_text)
        if (c < '0' || c > '9') stripped.push_back(c);
      const auto v = t.judge(stripped, item);
      if (!v.correct) ++stripped_wrong;
      if (!v.extraction.found && v.reward == -1.0) ++stripped_unfound;
    }
    EXPECT_EQ(correct, expected) << split;
    EXPECT_EQ(changed_wrong, expected) << split;
    EXPECT_EQ(stripped_wrong, expected) << split;
    EXPECT_EQ(stripped_unfound, expected) << split;
  }
}

}  // namespace

TEST(TaskPromptRender, ChatTemplateThenPrefillElsePlainText) {
  t2::BuiltPrompt prompt;
  prompt.messages = {{"system", "Be brief."}, {"user", "2+2?"}};
  prompt.assistant_prefill = "Answer:";
  const t2::ChatTemplate tmpl = t2::ChatTemplate::from_string(
      "{% for m in messages %}<{{ m.role }}>{{ m.content }}\n{% endfor %}"
      "{% if add_generation_prompt %}<assistant>{% endif %}");
  const t2::RenderedPrompt chat = t2::render_task_prompt(prompt, &tmpl);
  EXPECT_EQ(chat.text, "<system>Be brief.\n<user>2+2?\n<assistant>Answer:");
  EXPECT_FALSE(chat.add_special_tokens);

  const t2::RenderedPrompt plain = t2::render_task_prompt(prompt, nullptr);
  EXPECT_EQ(plain.text, "Be brief.\n\n2+2?\nAnswer:");
  EXPECT_TRUE(plain.add_special_tokens);

  prompt.use_chat_template = false;
  EXPECT_EQ(t2::render_task_prompt(prompt, &tmpl).text, plain.text);
}
