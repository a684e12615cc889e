// `t2 chat MODEL_DIR [--strategy S] [--library LIB] [--compare S2] ...`: a terminal chat, one
// user message per line of standard input (a literal \n inside it is a line break). For each
// message: the pass-1 decision (category, or the classifier's probabilities), the streamed pass-2
// answer, then pass-1 time, time to the first token and tokens/s; with --compare the same message
// answered by a second configuration (e.g. base) below it. Every exchange is stored in the run
// store's chats/messages (one chat per configuration) unless --no-store. S = base | expert
// (--expert FILE) | prompt | classifier | classifier-soft | few-shot (--mix NAME, a mix saved by
// `t2 adapt cem`).
#include "commands.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

namespace t2::cli {
namespace detail::chat_cmd {

struct Options {
  std::string model_dir;
  std::string strategy = "prompt";
  std::string compare;
  std::string library;
  std::string classify;
  std::string expert;
  std::string mix;
  std::string system;
  int max_new_tokens = 128;
  double temperature = 0.0;
  std::int64_t seed = -1;
  LoadParams load;
  bool no_store = false;
};

Strategy strategy_named(const std::string& name, const Options& o, const ExpertLibrary& library) {
  if (name == "base") return Strategy::base();
  if (name == "prompt") return Strategy::prompt(library.path);
  if (name == "classifier" || name == "classifier-soft")
    return Strategy::classifier(library.path, name == "classifier-soft");
  if (name == "expert") {
    if (o.expert.empty())
      throw Error(ErrorKind::InvalidArgument, "the expert strategy needs --expert FILE");
    return Strategy::expert(o.expert);
  }
  if (name == "few-shot") {
    const LibraryMix* mix = library.find_mix(o.mix);
    if (!mix) {
      std::string names;
      for (const auto& m : library.mixes) names += (names.empty() ? "" : ", ") + m.name;
      throw Error(
          ErrorKind::InvalidArgument,
          "the few-shot strategy needs --mix NAME, a mix of the library (" +
              (names.empty() ? std::string("it has none; make one with t2 adapt cem") : names) +
              ")");
    }
    return Strategy::few_shot(library.resolve_path(mix->file));
  }
  throw Error(ErrorKind::InvalidArgument,
              "unknown strategy '" + name +
                  "'; use base, expert, prompt, classifier, classifier-soft or few-shot");
}

void print_decision(const ChatTurn& t) {
  if (t.decision.empty()) return;
  std::cout << "[pass 1: " << t.decision;
  if (t.mix.size() > 1) {
    std::cout << " —";
    char buf[64];
    for (const auto& [category, p] : t.mix) {
      std::snprintf(buf, sizeof buf, " %s %.2f", category.c_str(), p);
      std::cout << buf;
    }
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, ", %.2f s]\n", t.pass1_seconds);
  std::cout << buf;
  std::cout.flush();
}

void print_timings(const ChatTurn& t) {
  const double tokens = static_cast<double>(t.answer.sequence.tokens.size());
  char buf[200];
  std::snprintf(
      buf, sizeof buf, "\n[pass 2: first token after %.2f s, %.2f s, %.0f tok/s, %lld tokens]\n",
      t.first_token_seconds < 0 ? 0.0 : t.first_token_seconds, t.pass2_seconds,
      t.pass2_seconds > 0 ? tokens / t.pass2_seconds : 0.0, static_cast<long long>(tokens));
  std::cout << buf;
  std::cout.flush();
}

int run(Options& o, const GlobalOptions& global) {
  const JobContext job = make_cli_job();
  Engine engine = make_engine(global);
  const DemoInfo demo = demo_info(resources_dir_or_default());
  if (o.library.empty() && !demo.experts_dir.empty())
    o.library = (std::filesystem::path(demo.experts_dir) / "library.json").string();
  if (o.classify.empty()) o.classify = demo.classification_task;
  ExpertLibrary library;
  if (!o.library.empty()) library = read_expert_library(o.library);
  std::optional<Task> classifier;
  if (!o.classify.empty()) classifier.emplace(Task::load(o.classify));
  std::vector<std::pair<std::string, Strategy>> configs = {
      {o.strategy, strategy_named(o.strategy, o, library)}};
  if (!o.compare.empty()) configs.emplace_back(o.compare, strategy_named(o.compare, o, library));
  const Tokenizer tokenizer = Tokenizer::from_model_dir(o.model_dir);
  const ChatTemplate chat_template = ChatTemplate::from_model_dir(o.model_dir);
  const auto model = Model::load(o.model_dir, o.load, job);
  const std::string dir = std::filesystem::absolute(o.model_dir).lexically_normal().string();
  TwoPassChat chat(model, dir, tokenizer, &chat_template, library,
                   classifier ? &*classifier : nullptr);
  std::optional<RunStore> store;
  if (!o.no_store) store.emplace(open_store(global, /*must_exist=*/false));
  std::vector<std::vector<ChatMessage>> histories(configs.size());
  std::vector<std::int64_t> chat_ids(configs.size(), 0);
  ChatTurnParams params;
  params.system = o.system;
  params.generation.max_new_tokens = o.max_new_tokens;
  params.generation.sampling.temperature = o.temperature;
  params.generation.seed = o.seed;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    for (std::size_t at = line.find("\\n"); at != std::string::npos; at = line.find("\\n", at + 1))
      line.replace(at, 2, "\n");  // a literal \n in the line is a line break of the message
    for (std::size_t c = 0; c < configs.size(); ++c) {
      if (configs.size() > 1) std::cout << "[" << configs[c].first << "]\n";
      params.strategy = configs[c].second;
      TextCallbacks cb;
      cb.on_text = [](const std::string& piece) {
        std::cout << piece;
        std::cout.flush();
      };
      params.on_decision = print_decision;  // after pass 1, before pass 2 streams
      const ChatTurn turn = chat.reply(histories[c], line, params, cb, job);
      if (turn.answer.sequence.text.empty()) std::cout << "(no answer)";
      print_timings(turn);
      histories[c].push_back({"user", line});
      histories[c].push_back({"assistant", turn.answer.sequence.text});
      if (store) chat_ids[c] = store_chat_turn(*store, chat_ids[c], line, turn);
    }
  }
  if (store)
    for (std::size_t c = 0; c < configs.size(); ++c)
      if (chat_ids[c] > 0)
        std::cerr << "chat " << chat_ids[c] << " (" << configs[c].first << ") stored in "
                  << store->path() << "\n";
  return kExitOk;
}

}  // namespace detail::chat_cmd

void add_chat_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  using detail::chat_cmd::Options;
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "chat",
      "Chat in the terminal, one message per line of stdin: pass-1 decision, streamed pass-2 "
      "answer, timings of each pass; --compare answers again with a second configuration");
  sub->add_option("MODEL_DIR", o->model_dir, "Model folder (with a chat template)")->required();
  sub->add_option("--strategy", o->strategy,
                  "base | expert | prompt | classifier | classifier-soft | few-shot")
      ->capture_default_str();
  sub->add_option("--compare", o->compare, "A second strategy answering every message too");
  sub->add_option("--library", o->library, "Expert library; default: the bundled demo's");
  sub->add_option("--classify", o->classify,
                  "Classification task of pass 1; default: the bundled demo's");
  sub->add_option("--expert", o->expert, "Expert file of the expert strategy");
  sub->add_option("--mix", o->mix, "A mix of the library (t2 adapt cem) for few-shot");
  sub->add_option("--system", o->system, "System message");
  sub->add_option("--max-new-tokens", o->max_new_tokens, "Tokens per answer")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  sub->add_option("--temperature", o->temperature, "0 = greedy")->capture_default_str();
  sub->add_option("--seed", o->seed, "Sampling seed; -1 = the session's stream");
  sub->add_option("--dtype", o->load.dtype, "f32 | bf16")->capture_default_str();
  sub->add_option("--device", o->load.device, "cpu | cuda | auto")->capture_default_str();
  sub->add_flag("--no-store", o->no_store, "Do not store the chat in the workspace database");
  auto runner =
      std::make_shared<Runner>([o, &global]() { return detail::chat_cmd::run(*o, global); });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace t2::cli
