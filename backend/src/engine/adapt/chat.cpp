// TwoPassChat and store_chat_turn (t2/adapt.h): one message at a time, any strategy.
#include <t2/adapt.h>
#include <t2/adaptation.h>
#include <t2/decomposition.h>
#include <t2/error.h>
#include <t2/run_store.h>

#include "dispatch_internal.h"
#include "mix_rows.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>

namespace t2 {

struct TwoPassChat::Impl {
  std::shared_ptr<const Model> model;
  std::string model_dir;
  const Tokenizer* tokenizer = nullptr;
  const ChatTemplate* chat_template = nullptr;
  ExpertLibrary library;
  const Task* classifier = nullptr;
  std::map<std::string, Session> sessions;  // "base", "classifier", "expert:<category>", labels
  std::optional<engine::Mixer> mixer;       // classifier-soft: experts + identity

  Session& base() { return session_for("base", Strategy::base()); }
  Session& session_for(const std::string& key, const Strategy& strategy) {
    auto it = sessions.find(key);
    if (it != sessions.end()) return it->second;
    Session s(model);
    if (strategy.kind != StrategyKind::Base) apply_strategy(s, model_dir, strategy);
    return sessions.emplace(key, std::move(s)).first->second;
  }
};

TwoPassChat::TwoPassChat(std::shared_ptr<const Model> model, std::string model_dir,
                         const Tokenizer& tokenizer, const ChatTemplate* chat_template,
                         ExpertLibrary library, const Task* classifier)
    : impl_(std::make_unique<Impl>()) {
  impl_->model = std::move(model);
  impl_->model_dir = std::move(model_dir);
  impl_->tokenizer = &tokenizer;
  impl_->chat_template = chat_template;
  impl_->library = std::move(library);
  impl_->classifier = classifier;
  if (!impl_->library.experts.empty())
    check_library_for_model(impl_->library, model_fingerprint(impl_->model_dir));
}

TwoPassChat::~TwoPassChat() = default;

ChatTurn TwoPassChat::reply(const std::vector<ChatMessage>& history, const std::string& message,
                            const ChatTurnParams& params, const TextCallbacks& callbacks,
                            const JobContext& job) {
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  Impl& m = *impl_;
  const auto start = Clock::now();
  ChatTurn turn;
  turn.strategy = strategy_label(params.strategy);
  const StrategyKind kind = params.strategy.kind;
  const bool two_pass = kind == StrategyKind::Prompt || kind == StrategyKind::Classifier ||
                        kind == StrategyKind::ClassifierSoft;
  Session* answering = nullptr;
  auto pass2_start = start;  // pass 2 includes switching the weights
  if (!two_pass) {
    validate_strategy(params.strategy);
    answering = &m.session_for(turn.strategy, params.strategy);
  } else {
    if (m.library.experts.empty() || !m.classifier)
      throw Error(ErrorKind::InvalidArgument,
                  std::string("the ") + to_string(kind) +
                      " strategy needs an expert library and the classification task of pass 1");
    if (kind != StrategyKind::Prompt && !m.library.has_classifier())
      throw Error(ErrorKind::InvalidArgument,
                  "the expert library has no classifier expert; use the prompt strategy or add "
                  "one under \"classifier\"");
    Session& pass1_session =
        kind == StrategyKind::Prompt
            ? m.base()
            : m.session_for("classifier",
                            Strategy::expert(m.library.resolve(m.library.classifier)));
    DispatchParams dp;
    dp.eval.batch_size = 1;
    DispatchReport report;
    std::vector<RenderedPrompt> rendered;
    const auto categories = m.library.categories();
    auto decisions =
        detail::dispatch::pass1(pass1_session, *m.tokenizer, m.chat_template, *m.classifier,
                                {message}, categories, dp, report, rendered, job);
    if (kind == StrategyKind::ClassifierSoft)
      detail::dispatch::soft_probabilities(pass1_session, *m.tokenizer, rendered, categories,
                                           decisions, job);
    turn.pass1_output = decisions[0].output;
    turn.decision = decisions[0].category;
    if (kind == StrategyKind::ClassifierSoft)
      turn.mix = decisions[0].probabilities;
    else
      turn.mix[m.library.find(turn.decision) ? turn.decision : std::string(kOtherCategory)] = 1.0;
    turn.pass1_seconds = since(start);
    if (params.on_decision) params.on_decision(turn);
    pass2_start = Clock::now();
    if (kind == StrategyKind::ClassifierSoft) {
      if (!m.mixer)
        m.mixer.emplace(
            engine::load_mixer(m.model_dir, m.library, AlphaShape::PerExpert, job, true));
      MixAlpha alpha;
      for (const auto& c : m.mixer->categories)
        alpha.rows.push_back({decisions[0].probabilities.at(c)});
      Session& soft = m.session_for("soft", Strategy::base());
      apply_expert(soft, m.mixer->decomposition(), mix_experts(m.mixer->experts, alpha).expert);
      answering = &soft;
    } else if (const LibraryExpert* e = m.library.find(turn.decision)) {
      answering = &m.session_for("expert:" + e->category, Strategy::expert(m.library.resolve(*e)));
    } else {
      answering = &m.base();
    }
  }
  TextPrompt prompt;
  prompt.kind = TextPrompt::Kind::Chat;
  prompt.text = message;
  prompt.system = params.system;
  prompt.history = history;
  TextCallbacks cb = callbacks;
  cb.on_text = [&](const std::string& piece) {
    if (turn.first_token_seconds < 0) turn.first_token_seconds = since(start);
    if (callbacks.on_text) callbacks.on_text(piece);
  };
  turn.answer =
      generate_text(*answering, m.tokenizer, m.chat_template, prompt, params.generation, cb, job);
  turn.pass2_seconds = since(pass2_start);
  return turn;
}

std::int64_t store_chat_turn(RunStore& store, std::int64_t chat_id, const std::string& message,
                             const ChatTurn& turn) {
  if (chat_id == 0) {
    ChatRecord chat;
    chat.title = message.substr(0, 80);
    chat_id = store.add_chat(chat);
  }
  MessageRecord user;
  user.chat_id = chat_id;
  user.role = "user";
  user.content = message;
  store.add_message(user);
  MessageRecord assistant;
  assistant.chat_id = chat_id;
  assistant.role = "assistant";
  assistant.content = turn.answer.sequence.text;
  assistant.pass1_decision = turn.decision;
  assistant.expert_mix_json = nlohmann::json(turn.mix).dump();
  const double tokens = static_cast<double>(turn.answer.sequence.tokens.size());
  assistant.timings_json = nlohmann::json{
      {"strategy", turn.strategy},
      {"pass1_ms", 1000.0 * turn.pass1_seconds},
      {"pass2_ms", 1000.0 * turn.pass2_seconds},
      {"first_token_ms", turn.first_token_seconds < 0 ? -1.0 : 1000.0 * turn.first_token_seconds},
      {"tokens_per_s", turn.pass2_seconds > 0 ? tokens / turn.pass2_seconds : 0.0},
      {"generated_tokens",
       tokens}}.dump();
  store.add_message(assistant);
  return chat_id;
}

}  // namespace t2
