// `t2 generate MODEL_DIR --prompt TEXT [--chat] [--system TEXT] [--max-new-tokens N]
// [--greedy | --temperature T --top-p P --top-k K] [--repetition-penalty R] [--seed S]
// [--stop STRING]... [--dtype f32|bf16] [--device cpu|cuda|auto] [--json]`: generates text,
// streaming it to stdout as tokens arrive, and prints prefill/decode tokens/s to stderr.
#include "commands.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>

namespace t2::cli {
namespace detail::generate_cmd {

struct Options {
  std::string model_dir;
  std::string prompt;
  bool chat = false;
  std::string system;
  int max_new_tokens = 128;
  bool greedy = false;
  bool sample = false;  // set when --temperature, --top-p or --top-k is given
  double temperature = 1.0;
  double top_p = 1.0;
  int top_k = 0;
  double repetition_penalty = 1.0;
  std::int64_t seed = -1;
  std::vector<std::string> stops;
  LoadParams load;
  bool json = false;
};

GenerateParams generate_params(const Options& o) {
  GenerateParams p;
  p.max_new_tokens = o.max_new_tokens;
  if (o.sample) {
    p.sampling.temperature = o.temperature;
    p.sampling.top_p = o.top_p;
    p.sampling.top_k = o.top_k;
  }
  p.sampling.repetition_penalty = o.repetition_penalty;
  p.seed = o.seed >= 0 ? o.seed : static_cast<std::int64_t>(std::random_device{}() & 0x7FFFFFFF);
  p.stop_strings = o.stops;
  return p;
}

void print_json(std::size_t prompt_tokens, const std::string& text,
                const std::vector<std::int32_t>& tokens, const std::string& finish_reason,
                double prefill, double decode) {
  nlohmann::ordered_json out;
  out["prompt_tokens"] = prompt_tokens;
  out["text"] = text;
  out["tokens"] = tokens;
  out["finish_reason"] = finish_reason;
  out["prefill_tokens_per_s"] = prefill;
  out["decode_tokens_per_s"] = decode;
  std::cout << out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  std::cout.flush();
}

void write(const std::string& s) {
  if (s.empty()) return;
  std::cout << s;
  std::cout.flush();
}

int run(const Options& o, const GlobalOptions& global) {
  Engine engine = make_engine(global);
  const JobContext cli_job = make_cli_job();
  const JobContext job({}, cli_job.cancel_token());  // no progress line between the text
  const Tokenizer tokenizer = Tokenizer::from_model_dir(o.model_dir);
  std::optional<ChatTemplate> chat;
  if (o.chat) chat.emplace(ChatTemplate::from_model_dir(o.model_dir));
  Session session(Model::load(o.model_dir, o.load, job));
  TextPrompt prompt;
  prompt.kind = o.chat ? TextPrompt::Kind::Chat : TextPrompt::Kind::Plain;
  prompt.text = o.prompt;
  prompt.system = o.system;
  const GenerateParams params = generate_params(o);
  // What was generated so far, so that a cancelled run can still print it.
  std::vector<std::int32_t> tokens;
  std::string text;
  TextCallbacks callbacks;
  callbacks.on_token = [&tokens](std::int32_t token) { tokens.push_back(token); };
  callbacks.on_text = [&text, &o](const std::string& piece) {
    text += piece;
    if (!o.json) write(piece);
  };
  TextGeneration result;
  try {
    result =
        generate_text(session, &tokenizer, chat ? &*chat : nullptr, prompt, params, callbacks, job);
  } catch (const Error& e) {
    if (!e.is_cancelled()) throw;
    if (o.json) print_json(0, text, tokens, "cancelled", 0.0, 0.0);
    throw;
  }
  const auto& seq = result.sequence;
  if (o.json)
    print_json(result.prompt_ids.size(), seq.text, seq.tokens, seq.finish_reason,
               result.prefill_tokens_per_second, result.decode_tokens_per_second);
  else if (::isatty(STDOUT_FILENO))
    write("\n");
  std::fprintf(stderr,
               "prefill: %lld tokens, %.1f tokens/s; decode: %lld tokens, %.1f tokens/s "
               "(finish: %s, seed %lld)\n",
               static_cast<long long>(result.prompt_ids.size()), result.prefill_tokens_per_second,
               static_cast<long long>(seq.tokens.size()), result.decode_tokens_per_second,
               seq.finish_reason.c_str(), static_cast<long long>(params.seed));
  return kExitOk;
}

}  // namespace detail::generate_cmd

void add_generate_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  using detail::generate_cmd::Options;
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "generate",
      "Generate text from a prompt, streaming it to stdout; prefill and decode tokens/s go to "
      "stderr. Greedy unless --temperature, --top-p or --top-k is given");
  sub->add_option("MODEL_DIR", opts->model_dir,
                  "Folder with config.json, *.safetensors, tokenizer.json (and "
                  "tokenizer_config.json for --chat)")
      ->required();
  sub->add_option("--prompt", opts->prompt, "Prompt text (the user message with --chat)")
      ->required();
  auto* chat = sub->add_flag("--chat", opts->chat,
                             "Render the chat template (tokenizer_config.json) with the prompt as "
                             "the user message and a generation prompt");
  sub->add_option("--system", opts->system, "System message (with --chat)")->needs(chat);
  sub->add_option("--max-new-tokens", opts->max_new_tokens, "Most tokens to generate")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  auto* greedy = sub->add_flag("--greedy", opts->greedy, "Argmax decoding (the default)");
  auto* temperature = sub->add_option("--temperature", opts->temperature,
                                      "Sample softmax(logits / T); T > 0 (default 1 when sampling)")
                          ->check(CLI::PositiveNumber);
  auto* top_p = sub->add_option("--top-p", opts->top_p,
                                "Nucleus sampling: keep the smallest set with "
                                "cumulative probability >= P; P in (0, 1]")
                    ->check(CLI::Number)
                    ->check(CLI::Validator(
                        [](std::string& s) -> std::string {
                          const double p = std::stod(s);
                          return p > 0.0 && p <= 1.0 ? "" : "top-p must be in (0, 1], got " + s;
                        },
                        "(0,1]"));
  auto* top_k = sub->add_option("--top-k", opts->top_k, "Keep the K most likely tokens; 0 = off")
                    ->check(CLI::NonNegativeNumber);
  for (auto* o : {temperature, top_p, top_k}) greedy->excludes(o);
  sub->add_option("--repetition-penalty", opts->repetition_penalty,
                  "HF CTRL-style penalty over prompt and output ids; 1 = off")
      ->check(CLI::PositiveNumber);
  sub->add_option("--seed", opts->seed, "RNG seed (default: a random one, printed at the end)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--stop", opts->stops,
                  "Stop when the output contains STRING (repeatable); the text is cut before it")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--dtype", opts->load.dtype, "Compute dtype: f32 or bf16")->capture_default_str();
  sub->add_option("--device", opts->load.device, "cpu, cuda, cuda:N or auto")
      ->capture_default_str();
  sub->add_flag("--json", opts->json,
                "No streaming; print {\"prompt_tokens\", \"text\", \"tokens\", \"finish_reason\", "
                "\"prefill_tokens_per_s\", \"decode_tokens_per_s\"} at the end");
  auto runner = std::make_shared<Runner>([opts, &global, temperature, top_p, top_k]() {
    opts->sample = temperature->count() + top_p->count() + top_k->count() > 0;
    return detail::generate_cmd::run(*opts, global);
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace t2::cli
