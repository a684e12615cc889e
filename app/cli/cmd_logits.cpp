// `t2 logits MODEL_DIR --ids 1,2,3 [--greedy N] [--dtype f32|bf16] [--device cpu|cuda]
// [--expert FILE [--allow-transfer] [--apply-mode auto|recompose|factored]] --json`: logits of a
// token-id prompt (no tokenizer needed), plus N greedy steps decoded with the KV cache and the
// last-position logits of each step. --expert applies an SVF expert (t2 expert file, or JSON
// {parameter name: [z...]}) first, each matrix recomposed or factored as --apply-mode says.
#include "commands.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

namespace t2::cli {
namespace {

void print_row(std::string& out, const float* v, std::int64_t n) {
  out += '[';
  char buf[32];
  for (std::int64_t i = 0; i < n; ++i) {
    if (i) out += ',';
    if (std::isfinite(v[i])) {
      std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v[i]));
      out += buf;
    } else {
      out += "null";
    }
  }
  out += ']';
}

std::string to_json(const Logits& logits, const GenerateResult* greedy) {
  std::string out = "{\"logits\":[";
  const auto vocab = logits.shape.back();
  const auto rows = static_cast<std::int64_t>(logits.data.size()) / vocab;
  for (std::int64_t r = 0; r < rows; ++r) {
    if (r) out += ',';
    print_row(out, logits.data.data() + r * vocab, vocab);
  }
  out += "],\"greedy_tokens\":[";
  if (greedy) {
    const auto& tokens = greedy->sequences.front().tokens;
    for (std::size_t i = 0; i < tokens.size(); ++i)
      out += (i ? "," : "") + std::to_string(tokens[i]);
  }
  out += "],\"step_logits\":[";
  if (greedy) {
    for (std::size_t s = 0; s < greedy->step_logits.size(); ++s) {
      if (s) out += ',';
      print_row(out, greedy->step_logits[s].data.data(), vocab);
    }
  }
  return out + "]}\n";
}

std::string to_text(const Logits& logits, const GenerateResult* greedy) {
  std::string out;
  const auto vocab = logits.shape.back();
  const auto rows = static_cast<std::int64_t>(logits.data.size()) / vocab;
  char buf[96];
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* v = logits.data.data() + r * vocab;
    std::int64_t best = 0;
    for (std::int64_t i = 1; i < vocab; ++i)
      if (v[i] > v[best]) best = i;
    std::snprintf(buf, sizeof buf, "position %lld: argmax %lld (logit %.6g)\n",
                  static_cast<long long>(r), static_cast<long long>(best),
                  static_cast<double>(v[best]));
    out += buf;
  }
  if (greedy) {
    out += "greedy:";
    for (auto t : greedy->sequences.front().tokens) out += " " + std::to_string(t);
    out += "\n";
  }
  return out;
}

}  // namespace

void add_logits_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  struct Options {
    std::string model_dir;
    std::vector<std::int32_t> ids;
    int greedy = 0;
    LoadParams load;
    std::string expert;
    bool allow_transfer = false;
    std::string apply_mode = "recompose";  // the exact weights export-merged writes
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "logits",
      "Print the logits of a prompt given as token ids (one row per position) and "
      "optionally N greedy tokens decoded with the KV cache (EOS does not stop them)");
  sub->add_option("MODEL_DIR", opts->model_dir, "Folder with config.json and *.safetensors")
      ->required();
  sub->add_option("--ids", opts->ids, "Prompt token ids, comma-separated, e.g. 1,2,3")
      ->required()
      ->delimiter(',');
  sub->add_option("--greedy", opts->greedy, "Greedy tokens to generate after the prompt")
      ->check(CLI::Range(0, 1 << 20));
  sub->add_option("--dtype", opts->load.dtype, "Compute dtype: f32 or bf16")->capture_default_str();
  sub->add_option("--device", opts->load.device, "cpu, cuda, cuda:N or auto")
      ->capture_default_str();
  add_expert_file_options(sub, opts->expert, opts->allow_transfer, /*required=*/false);
  sub->add_option("--apply-mode", opts->apply_mode,
                  "How --expert's matrices are applied: recompose (dense W', the weights "
                  "export-merged writes), factored (((x Vh^T) * sigma') U^T, no recomposition: "
                  "faster for large models, equal up to float rounding), or auto (by flop cost "
                  "for this prompt + --greedy)")
      ->check(CLI::IsMember({"auto", "recompose", "factored"}))
      ->capture_default_str();
  sub->add_flag("--json", opts->json,
                "Print {\"logits\": [[...]], \"greedy_tokens\": [...], \"step_logits\": [[...]]}");
  auto runner = std::make_shared<Runner>([opts, &global]() {
    Engine engine = make_engine(global);
    const auto job = make_cli_job();
    Session session(Model::load(opts->model_dir, opts->load, job));
    if (!opts->expert.empty()) {
      const auto e = load_cli_expert(opts->model_dir, opts->expert, opts->allow_transfer, job);
      ApplyParams apply;
      apply.mode = parse_apply_mode(opts->apply_mode);
      apply.expected_tokens = static_cast<double>(opts->ids.size()) + opts->greedy;
      apply_expert(session, e.decomposition, e.expert, apply);
    }
    const auto logits = session.forward({opts->ids});
    GenerateResult greedy;
    if (opts->greedy > 0) {
      GenerateParams p;
      p.max_new_tokens = opts->greedy;
      p.ignore_eos = true;  // exactly N tokens
      p.collect_step_logits = true;
      greedy = session.generate({opts->ids}, p, {}, job);
    }
    const GenerateResult* g = opts->greedy > 0 ? &greedy : nullptr;
    std::cout << (opts->json ? to_json(logits, g) : to_text(logits, g));
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace t2::cli
