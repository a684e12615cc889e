// The pretraining corpus: every train item of every recipe task, prompted exactly as evaluation
// prompts the model (Task::build_prompt -> render_task_prompt), then its answer and EOS.
#include "core/pretrain/corpus_internal.h"

#include "core/tasks/demo_rng.h"

#include <t2/chat_template.h>
#include <t2/error.h>
#include <t2/tasks.h>

#include <filesystem>

namespace t2 {
namespace detail::pretrain_corpus {

std::string fill_answer(const std::string& tmpl, const std::map<std::string, std::string>& fields,
                        const std::string& where) {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if ((c == '{' || c == '}') && i + 1 < tmpl.size() && tmpl[i + 1] == c) {
      out += c;
      ++i;
    } else if (c == '{') {
      const auto end = tmpl.find('}', i);
      if (end == std::string::npos)
        throw Error(ErrorKind::InvalidArgument,
                    where + ": unclosed '{' in answer template '" + tmpl + "' (write {{ for {)");
      const std::string key = tmpl.substr(i + 1, end - i - 1);
      auto it = fields.find(key);
      if (it == fields.end())
        throw Error(ErrorKind::InvalidArgument,
                    where + ": answer template names '{" + key +
                        "}', which the item lacks (use one of its JSON keys)");
      out += it->second;
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

std::string resolve_spec(const PretrainRecipe& recipe, const std::string& spec) {
  namespace fs = std::filesystem;
  fs::path p(spec);
  if (p.is_relative() && !recipe.path.empty()) p = fs::path(recipe.path).parent_path() / p;
  return fs::absolute(p).lexically_normal().string();
}

// Replaces the answers of round(noise * n) items with the answer of another item whose gold
// differs (up to 64 draws; an item with no such partner keeps its answer).
void apply_label_noise(std::vector<CorpusExample>& items, const std::vector<std::string>& golds,
                       double noise, std::uint64_t seed) {
  const auto n = items.size();
  const auto wrong = static_cast<std::size_t>(noise * static_cast<double>(n) + 0.5);
  if (wrong == 0 || n < 2) return;
  demo::Rng rng(seed);
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  rng.shuffle(order);
  std::vector<std::string> answers;
  for (const auto& e : items) answers.push_back(e.answer);
  for (std::size_t k = 0; k < wrong; ++k) {
    const std::size_t i = order[k];
    for (int tries = 0; tries < 64; ++tries) {
      const auto j = static_cast<std::size_t>(rng.range(0, static_cast<int>(n) - 1));
      if (golds[j] == golds[i]) continue;
      items[i].answer = answers[j];
      items[i].noisy = true;
      break;
    }
  }
}

// English words for 0 <= n <= 999 ("forty-two", "one hundred and five"); "" otherwise.
std::string number_words(const std::string& text) {
  static const char* ones[] = {"zero",    "one",     "two",       "three",    "four",
                               "five",    "six",     "seven",     "eight",    "nine",
                               "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                               "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
  static const char* tens[] = {"",      "",      "twenty",  "thirty", "forty",
                               "fifty", "sixty", "seventy", "eighty", "ninety"};
  if (text.empty() || text.size() > 3 || text.find_first_not_of("0123456789") != std::string::npos)
    return "";
  const int n = std::stoi(text);
  auto below_100 = [&](int v) {
    if (v < 20) return std::string(ones[v]);
    return std::string(tens[v / 10]) + (v % 10 ? std::string("-") + ones[v % 10] : "");
  };
  if (n < 100) return below_100(n);
  return std::string(ones[n / 100]) + " hundred" + (n % 100 ? " and " + below_100(n % 100) : "");
}

// Shows each item the task's alt_answer style with probability alt_cue_share when its prompt
// contains a cue, else alt_share (one seeded draw per item, in split order).
void apply_alt_answers(std::vector<CorpusExample>& items, const std::vector<std::string>& alt,
                       const PretrainTask& pt, std::uint64_t seed) {
  if (pt.alt_share <= 0 && pt.alt_cue_share <= 0) return;
  demo::Rng rng(seed);
  for (std::size_t i = 0; i < items.size(); ++i) {
    bool cued = false;
    for (const auto& cue : pt.alt_cues)
      cued = cued || items[i].prompt.find(cue) != std::string::npos;
    const double p = cued ? pt.alt_cue_share : pt.alt_share;
    const double u = static_cast<double>(rng.next() >> 11) * 0x1.0p-53;  // [0, 1)
    if (u < p) {
      items[i].answer = alt[i];
      items[i].alt = true;
    }
  }
}

}  // namespace detail::pretrain_corpus

std::vector<CorpusExample> build_pretrain_corpus(const PretrainRecipe& recipe,
                                                 const JobContext& job) {
  using namespace detail::pretrain_corpus;
  const CharTokenizerSpecials specials;
  const ChatTemplate chat =
      ChatTemplate::from_string(char_chat_template(), specials.bos, specials.eos);
  std::vector<CorpusExample> corpus;
  for (std::size_t t = 0; t < recipe.tasks.size(); ++t) {
    job.throw_if_cancelled();
    const PretrainTask& pt = recipe.tasks[t];
    const Task task = Task::load(resolve_spec(recipe, pt.spec));
    const std::string name = task.spec().name;
    std::vector<CorpusExample> items;
    std::vector<std::string> golds, alt;
    for (const TaskItem& item : task.load_split(pt.split)) {
      const RenderedPrompt rp = render_task_prompt(task.build_prompt(item), &chat);
      CorpusExample e;
      e.task = name;
      e.prompt = rp.text;
      e.prompt_add_special_tokens = rp.add_special_tokens;
      e.answer =
          fill_answer(pt.answer, item.fields, task.spec().path + " item " + item.id) + specials.eos;
      if (!pt.alt_answer.empty()) {
        auto fields = item.fields;
        fields.emplace("gold", item.gold);  // an item's own "gold" field wins
        const std::string words = number_words(item.gold);
        if (!words.empty()) fields.emplace("gold_words", words);
        alt.push_back(fill_answer(pt.alt_answer, fields, task.spec().path + " item " + item.id) +
                      specials.eos);
      }
      items.push_back(std::move(e));
      golds.push_back(item.gold);
    }
    apply_alt_answers(items, alt, pt, recipe.seed ^ (0x616C74ull + 0x1000193ull * (t + 1)));
    apply_label_noise(items, golds, pt.label_noise,
                      recipe.seed ^ (0x6E6F697365ull + 0x1000193ull * (t + 1)));
    corpus.insert(corpus.end(), items.begin(), items.end());
    job.report("corpus", static_cast<double>(t + 1) / static_cast<double>(recipe.tasks.size()),
               name + ": " + std::to_string(items.size()) + " items");
  }
  return corpus;
}

}  // namespace t2
