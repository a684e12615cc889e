// Models, decompositions, experts, evaluations, samples, chats and artifacts.
#include "core/store/run_store_impl.h"

#include <t2/error.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace t2 {

using detail::store::now_seconds;
using detail::store::require_json_object;
using t2::store::Statement;
using t2::store::Transaction;

std::int64_t RunStore::add_model(const ModelRecord& model) {
  if (model.fingerprint.empty()) {
    throw Error(ErrorKind::InvalidArgument, "a model record needs a fingerprint");
  }
  require_json_object(model.dims_json, "model dims");
  Transaction tx(impl_->db);
  Statement st(impl_->db,
               "INSERT INTO models(path, fingerprint, architecture, dims_json, created_at) "
               "VALUES(?, ?, ?, ?, ?) ON CONFLICT(fingerprint) DO UPDATE SET path = excluded.path");
  st.bind(1, model.path).bind(2, model.fingerprint).bind(3, model.architecture);
  st.bind(4, model.dims_json).bind(5, now_seconds()).run();
  Statement id(impl_->db, "SELECT id FROM models WHERE fingerprint = ?");
  id.bind(1, model.fingerprint).step();
  const std::int64_t model_id = id.column_int(0);
  tx.commit();
  return model_id;
}

std::optional<ModelRecord> RunStore::find_model(const std::string& fingerprint) {
  Statement st(impl_->db,
               "SELECT id, path, fingerprint, architecture, dims_json, created_at "
               "FROM models WHERE fingerprint = ?");
  st.bind(1, fingerprint);
  if (!st.step()) return std::nullopt;
  return ModelRecord{st.column_int(0),  st.column_text(1), st.column_text(2),
                     st.column_text(3), st.column_text(4), st.column_double(5)};
}

std::int64_t RunStore::add_decomposition(const DecompositionRecord& d) {
  Transaction tx(impl_->db);
  Statement st(impl_->db,
               "INSERT INTO decompositions(model_id, target_set, cache_path, created_at) "
               "VALUES(?, ?, ?, ?) ON CONFLICT(model_id, target_set) DO UPDATE SET "
               "cache_path = excluded.cache_path, created_at = excluded.created_at");
  st.bind(1, d.model_id).bind(2, d.target_set).bind(3, d.cache_path).bind(4, now_seconds());
  st.run();
  Statement id(impl_->db, "SELECT id FROM decompositions WHERE model_id = ? AND target_set = ?");
  id.bind(1, d.model_id).bind(2, d.target_set).step();
  const std::int64_t result = id.column_int(0);
  tx.commit();
  return result;
}

std::vector<DecompositionRecord> RunStore::decompositions(std::int64_t model_id) {
  Statement st(impl_->db,
               "SELECT id, model_id, target_set, cache_path, created_at "
               "FROM decompositions WHERE model_id = ? ORDER BY target_set");
  st.bind(1, model_id);
  std::vector<DecompositionRecord> out;
  while (st.step()) {
    out.push_back({st.column_int(0), st.column_int(1), st.column_text(2), st.column_text(3),
                   st.column_double(4)});
  }
  return out;
}

std::int64_t RunStore::add_expert(const ExpertRecord& e) {
  require_json_object(e.stats_json, "expert stats");
  if (e.run_id) impl_->require_run(*e.run_id);
  Statement st(impl_->db,
               "INSERT INTO experts(run_id, name, path, parametrization, target_set, "
               "base_fingerprint, stats_json, created_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
  st.bind(1, e.run_id).bind(2, e.name).bind(3, e.path).bind(4, e.parametrization);
  st.bind(5, e.target_set).bind(6, e.base_fingerprint).bind(7, e.stats_json);
  st.bind(8, now_seconds()).run();
  return impl_->db.last_insert_id();
}

std::vector<ExpertRecord> RunStore::experts(std::optional<std::int64_t> run_id) {
  Statement st(impl_->db,
               "SELECT id, run_id, name, path, parametrization, target_set, base_fingerprint, "
               "stats_json, created_at FROM experts WHERE ?1 IS NULL OR run_id = ?1 ORDER BY id");
  st.bind(1, run_id);
  std::vector<ExpertRecord> out;
  while (st.step()) {
    ExpertRecord e;
    e.id = st.column_int(0);
    if (!st.column_is_null(1)) e.run_id = st.column_int(1);
    e.name = st.column_text(2);
    e.path = st.column_text(3);
    e.parametrization = st.column_text(4);
    e.target_set = st.column_text(5);
    e.base_fingerprint = st.column_text(6);
    e.stats_json = st.column_text(7);
    e.created_at = st.column_double(8);
    out.push_back(std::move(e));
  }
  return out;
}

std::int64_t RunStore::add_evaluation(const EvaluationRecord& evaluation,
                                      const std::vector<EvaluationItem>& items) {
  impl_->require_run(evaluation.run_id);
  EvaluationRecord e = evaluation;
  if (!items.empty()) {
    e.n = static_cast<std::int64_t>(items.size());
    e.correct = 0;
    for (const auto& item : items) e.correct += item.correct ? 1 : 0;
  }
  if (e.n < 0 || e.correct < 0 || e.correct > e.n) {
    throw Error(ErrorKind::InvalidArgument, "evaluation counts must satisfy 0 <= correct <= n");
  }
  e.accuracy = e.n > 0 ? static_cast<double>(e.correct) / static_cast<double>(e.n) : 0.0;
  Transaction tx(impl_->db);
  Statement st(impl_->db,
               "INSERT INTO evaluations(run_id, task, strategy, n, correct, accuracy, "
               "created_at) VALUES(?, ?, ?, ?, ?, ?, ?)");
  st.bind(1, e.run_id).bind(2, e.task).bind(3, e.strategy).bind(4, e.n).bind(5, e.correct);
  st.bind(6, e.accuracy).bind(7, now_seconds()).run();
  const std::int64_t id = impl_->db.last_insert_id();
  Statement item_st(impl_->db,
                    "INSERT INTO evaluation_items(evaluation_id, item_index, prompt, reference, "
                    "prediction, extracted_answer, correct) VALUES(?, ?, ?, ?, ?, ?, ?)");
  for (const auto& item : items) {
    item_st.bind(1, id).bind(2, item.index).bind(3, item.prompt).bind(4, item.reference);
    item_st.bind(5, item.prediction).bind(6, item.extracted_answer);
    item_st.bind(7, item.correct ? 1 : 0).run();
  }
  tx.commit();
  return id;
}

std::vector<EvaluationRecord> RunStore::evaluations(std::int64_t run_id) {
  Statement st(impl_->db,
               "SELECT id, run_id, task, strategy, n, correct, accuracy, created_at "
               "FROM evaluations WHERE run_id = ? ORDER BY id");
  st.bind(1, run_id);
  std::vector<EvaluationRecord> out;
  while (st.step()) {
    out.push_back({st.column_int(0), st.column_int(1), st.column_text(2), st.column_text(3),
                   st.column_int(4), st.column_int(5), st.column_double(6), st.column_double(7)});
  }
  return out;
}

std::vector<EvaluationItem> RunStore::evaluation_items(std::int64_t evaluation_id) {
  Statement st(impl_->db,
               "SELECT item_index, prompt, reference, prediction, extracted_answer, "
               "correct FROM evaluation_items WHERE evaluation_id = ? "
               "ORDER BY item_index");
  st.bind(1, evaluation_id);
  std::vector<EvaluationItem> out;
  while (st.step()) {
    out.push_back({st.column_int(0), st.column_text(1), st.column_text(2), st.column_text(3),
                   st.column_text(4), st.column_int(5) != 0});
  }
  return out;
}

std::int64_t RunStore::add_sample(const SampleRecord& s) {
  impl_->require_run(s.run_id);
  Statement st(impl_->db,
               "INSERT INTO samples(run_id, step, prompt, completion, reward, "
               "created_at) VALUES(?, ?, ?, ?, ?, ?)");
  st.bind(1, s.run_id).bind(2, s.step).bind(3, s.prompt).bind(4, s.completion);
  st.bind(5, s.reward).bind(6, now_seconds()).run();
  return impl_->db.last_insert_id();
}

void RunStore::add_samples(const std::vector<SampleRecord>& samples) {
  Transaction tx(impl_->db);
  for (const auto& s : samples) add_sample(s);
  tx.commit();
}

std::vector<SampleRecord> RunStore::samples(std::int64_t run_id, std::int64_t limit) {
  Statement st(impl_->db,
               "SELECT id, run_id, step, prompt, completion, reward, created_at "
               "FROM samples WHERE run_id = ? ORDER BY step, id LIMIT ?");
  st.bind(1, run_id).bind(2, limit > 0 ? limit : std::int64_t{-1});
  std::vector<SampleRecord> out;
  while (st.step()) {
    out.push_back({st.column_int(0), st.column_int(1), st.column_int(2), st.column_text(3),
                   st.column_text(4), st.column_double(5), st.column_double(6)});
  }
  return out;
}

std::int64_t RunStore::add_chat(const ChatRecord& chat) {
  if (chat.run_id) impl_->require_run(*chat.run_id);
  Statement st(impl_->db, "INSERT INTO chats(run_id, title, created_at) VALUES(?, ?, ?)");
  st.bind(1, chat.run_id).bind(2, chat.title).bind(3, now_seconds()).run();
  return impl_->db.last_insert_id();
}

std::vector<ChatRecord> RunStore::chats(std::optional<std::int64_t> run_id) {
  Statement st(impl_->db,
               "SELECT id, run_id, title, created_at FROM chats "
               "WHERE ?1 IS NULL OR run_id = ?1 ORDER BY id");
  st.bind(1, run_id);
  std::vector<ChatRecord> out;
  while (st.step()) {
    ChatRecord c{st.column_int(0), std::nullopt, st.column_text(2), st.column_double(3)};
    if (!st.column_is_null(1)) c.run_id = st.column_int(1);
    out.push_back(std::move(c));
  }
  return out;
}

std::int64_t RunStore::add_message(const MessageRecord& m) {
  require_json_object(m.expert_mix_json, "message expert mix");
  require_json_object(m.timings_json, "message timings");
  if (m.role != "system" && m.role != "user" && m.role != "assistant") {
    throw Error(ErrorKind::InvalidArgument,
                "message role '" + m.role + "' is not one of system, user, assistant");
  }
  Statement st(impl_->db,
               "INSERT INTO messages(chat_id, role, content, pass1_decision, "
               "expert_mix_json, timings_json, created_at) VALUES(?, ?, ?, ?, ?, ?, ?)");
  st.bind(1, m.chat_id).bind(2, m.role).bind(3, m.content).bind(4, m.pass1_decision);
  st.bind(5, m.expert_mix_json).bind(6, m.timings_json).bind(7, now_seconds()).run();
  return impl_->db.last_insert_id();
}

std::vector<MessageRecord> RunStore::messages(std::int64_t chat_id) {
  Statement st(impl_->db,
               "SELECT id, chat_id, role, content, pass1_decision, expert_mix_json, "
               "timings_json, created_at FROM messages WHERE chat_id = ? ORDER BY id");
  st.bind(1, chat_id);
  std::vector<MessageRecord> out;
  while (st.step()) {
    out.push_back({st.column_int(0), st.column_int(1), st.column_text(2), st.column_text(3),
                   st.column_text(4), st.column_text(5), st.column_text(6), st.column_double(7)});
  }
  return out;
}

std::int64_t RunStore::register_artifact(std::int64_t run_id, const std::string& kind,
                                         const std::string& path) {
  impl_->require_run(run_id);
  std::error_code ec;
  std::uintmax_t bytes = 0;
  if (fs::is_directory(path, ec)) {  // a folder artifact (e.g. a LoRA adapter): its files' sizes
    for (const auto& entry : fs::recursive_directory_iterator(path, ec))
      if (entry.is_regular_file(ec)) bytes += entry.file_size(ec);
  } else {
    bytes = fs::file_size(path, ec);
  }
  if (ec) {
    throw Error(ErrorKind::Io, "cannot register artifact '" + path + "': " + ec.message() +
                                   "; write the file completely before registering it");
  }
  Statement st(impl_->db,
               "INSERT INTO artifacts(run_id, kind, path, bytes, created_at) "
               "VALUES(?, ?, ?, ?, ?)");
  st.bind(1, run_id).bind(2, kind).bind(3, fs::absolute(path).string());
  st.bind(4, static_cast<std::int64_t>(bytes)).bind(5, now_seconds()).run();
  return impl_->db.last_insert_id();
}

std::int64_t RunStore::save_artifact(
    std::int64_t run_id, const std::string& kind, const std::string& path,
    const std::function<void(const std::string& temp_path)>& write) {
  impl_->require_run(run_id);
  write_file_atomically(path, write);
  return register_artifact(run_id, kind, path);
}

std::vector<ArtifactRecord> RunStore::artifacts(std::int64_t run_id) {
  Statement st(impl_->db,
               "SELECT id, run_id, kind, path, bytes, created_at FROM artifacts "
               "WHERE run_id = ? ORDER BY id");
  st.bind(1, run_id);
  std::vector<ArtifactRecord> out;
  while (st.step()) {
    out.push_back({st.column_int(0), st.column_int(1), st.column_text(2), st.column_text(3),
                   st.column_int(4), st.column_double(5)});
  }
  return out;
}

}  // namespace t2
