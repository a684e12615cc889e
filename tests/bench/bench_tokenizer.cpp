// Tokenizer encode throughput (MB/s of UTF-8 input, tokens/s) on a text corpus, beside the
// reference @huggingface/tokenizers (JS, spawned with node on the same texts in the same run),
// as a ratio. Single thread on both sides; load time excluded on both sides.
//
// Usage: t2_bench_tokenizer [NPM_REFS_DIR] [CORPUS.jsonl]
//   NPM_REFS_DIR  from tests/fixtures/fetch_npm_refs.sh (default: build/test-data/npm)
//   CORPUS.jsonl  lines {"text": ...}; default: GSM8K train questions and answers from
//                 ../shared/data/gsm8k, else synthetic English-like text.
#include <t2/tokenizer.h>

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::string> synthetic_corpus() {
  static const char* kWords[] = {"the",
                                 "model",
                                 "tokens",
                                 "of",
                                 "and",
                                 "a",
                                 "in",
                                 "is",
                                 "42",
                                 "1984",
                                 "transformer",
                                 "singular",
                                 "values",
                                 "expert",
                                 "vector",
                                 "learning",
                                 "\xE4\xB8\xAD\xE6\x96\x87",
                                 "caf\xC3\xA9",
                                 "don't",
                                 "it's",
                                 "(x)",
                                 "+",
                                 "=",
                                 "\n",
                                 "    "};
  std::mt19937 gen(7);
  std::uniform_int_distribution<int> word(0, 24), len(20, 120);
  std::vector<std::string> texts;
  for (int i = 0; i < 20000; ++i) {
    std::string t;
    for (int n = len(gen), k = 0; k < n; ++k) t += std::string(kWords[word(gen)]) + " ";
    texts.push_back(t);
  }
  return texts;
}

std::vector<std::string> read_corpus(const std::string& path) {
  std::vector<std::string> texts;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto row = nlohmann::json::parse(line);
    if (row.contains("text")) texts.push_back(row["text"]);
    if (row.contains("question")) texts.push_back(row["question"]);
    if (row.contains("answer")) texts.push_back(row["answer"]);
  }
  return texts;
}

struct Figures {
  double seconds = 0;
  std::size_t tokens = 0;
};

Figures time_encode(const t2::Tokenizer& tokenizer, const std::vector<std::string>& texts) {
  Figures f;
  const auto start = Clock::now();
  for (const auto& t : texts) f.tokens += tokenizer.encode(t).size();
  f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return f;
}

// Runs the reference; returns {encode_seconds, tokens} or seconds < 0 when it could not run.
Figures time_reference(const std::string& npm, const std::string& model_dir,
                       const std::string& corpus_jsonl) {
  const std::string command = "node '" + std::string(T2_SOURCE_DIR) +
                              "/tests/fixtures/tokenizer/encode_ref.mjs' '" + npm +
                              "/tokenizers/package/dist/tokenizers.mjs' '" + model_dir + "' '" +
                              corpus_jsonl + "' --timing-only 2>/dev/null";
  Figures f{-1, 0};
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return f;
  std::string out;
  char buffer[4096];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
  if (::pclose(pipe) != 0 || out.empty()) return f;
  const auto j = nlohmann::json::parse(out);
  f.seconds = j.at("encode_seconds").get<double>();
  f.tokens = j.at("tokens").get<std::size_t>();
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string npm = argc > 1 ? argv[1] : std::string(T2_SOURCE_DIR) + "/build/test-data/npm";
  const std::string gsm8k = std::string(T2_SOURCE_DIR) + "/../shared/data/gsm8k/train.jsonl";
  std::vector<std::string> texts;
  std::string corpus_name;
  if (argc > 2) {
    texts = read_corpus(argv[2]);
    corpus_name = argv[2];
  } else if (exists(gsm8k)) {
    texts = read_corpus(gsm8k);
    corpus_name = "GSM8K train (questions + answers)";
  } else {
    texts = synthetic_corpus();
    corpus_name = "synthetic";
  }
  std::size_t bytes = 0;
  for (const auto& t : texts) bytes += t.size();
  const std::string corpus_jsonl =
      "/tmp/t2_bench_tokenizer_corpus_" + std::to_string(::getpid()) + ".jsonl";
  {
    std::ofstream out(corpus_jsonl);
    for (const auto& t : texts) out << nlohmann::json({{"text", t}}).dump() << "\n";
  }
  std::printf("corpus: %s, %zu texts, %.2f MB\n", corpus_name.c_str(), texts.size(), bytes / 1e6);
  std::printf("%-9s %11s %11s %11s | %11s %11s | %7s %-6s %6s\n", "model", "t2 MB/s", "warm MB/s",
              "t2 Mtok/s", "ref MB/s", "ref Mtok/s", "t2/ref", "tokens", "load s");
  for (const std::string model : {"qwen3", "llama3_1", "gemma3", "llama2"}) {
    const std::string dir = npm + "/tokenizer-" + model + "/package/models";
    if (!exists(dir + "/tokenizer.json")) {
      std::printf("%-9s (absent; run tests/fixtures/fetch_npm_refs.sh %s)\n", model.c_str(),
                  npm.c_str());
      continue;
    }
    const auto load_start = Clock::now();
    const t2::Tokenizer tokenizer = t2::Tokenizer::from_model_dir(dir);
    const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
    const Figures cold = time_encode(tokenizer, texts);  // first pass: empty word cache
    const Figures warm = time_encode(tokenizer, texts);
    const Figures ref = time_reference(npm, dir, corpus_jsonl);
    const double mb = bytes / 1e6;
    if (ref.seconds > 0) {
      std::printf("%-9s %11.2f %11.2f %11.3f | %11.2f %11.3f | %6.2fx %-6s %6.2f\n", model.c_str(),
                  mb / cold.seconds, mb / warm.seconds, cold.tokens / cold.seconds / 1e6,
                  mb / ref.seconds, ref.tokens / ref.seconds / 1e6, ref.seconds / cold.seconds,
                  cold.tokens == ref.tokens ? "equal" : "DIFFER", load_s);
    } else {
      std::printf("%-9s %11.2f %11.2f %11.3f | %11s %11s | %7s\n", model.c_str(), mb / cold.seconds,
                  mb / warm.seconds, cold.tokens / cold.seconds / 1e6, "n/a", "n/a", "(no node)");
    }
  }
  std::printf(
      "t2/ref = reference encode time / t2 encode time (first pass, one thread each); "
      "load s = t2's tokenizer load time\n");
  std::remove(corpus_jsonl.c_str());
  return 0;
}
