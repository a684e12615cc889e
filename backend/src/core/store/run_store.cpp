// RunStore: opening (migrations, WAL, interrupted runs) and the runs table.
#include "core/store/run_store_impl.h"
#include "core/store/schema.h"

#include <t2/error.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace t2 {
namespace detail::store {

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

void require_json_object(const std::string& text, const std::string& what) {
  const auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    throw Error(
        ErrorKind::InvalidArgument,
        what + " must be a JSON object such as {\"lr\": 0.001}, got '" + text.substr(0, 80) + "'");
  }
}

void mark_interrupted_runs(t2::store::Connection& db, std::vector<std::int64_t>* marked) {
  struct Candidate {
    std::int64_t id;
    ProcessIdentity writer;
  };
  std::vector<Candidate> dead;
  {
    t2::store::Statement st(db,
                            "SELECT id, pid, host, process_token FROM runs "
                            "WHERE status = 'running'");
    while (st.step()) {
      Candidate c{st.column_int(0), {st.column_int(1), st.column_text(2), st.column_text(3)}};
      if (process_liveness(c.writer) == Liveness::Dead) dead.push_back(c);
    }
  }
  if (dead.empty()) return;
  t2::store::Transaction tx(db);
  t2::store::Statement update(db,
                              "UPDATE runs SET status = 'interrupted', finished_at = ?, "
                              "message = ? WHERE id = ? AND status = 'running'");
  const double now = now_seconds();
  for (const auto& c : dead) {
    update.bind(1, now)
        .bind(2, "the writing process (pid " + std::to_string(c.writer.pid) + " on " +
                     c.writer.host + ") ended without finishing the run")
        .bind(3, c.id)
        .run();
    if (db.changes() > 0) marked->push_back(c.id);
  }
  tx.commit();
}

RunRecord read_run(t2::store::Statement& st) {
  // Columns: see kRunColumns.
  RunRecord r;
  r.id = st.column_int(0);
  r.kind = st.column_text(1);
  r.name = st.column_text(2);
  r.status = run_status_from_string(st.column_text(3));
  r.params_json = st.column_text(4);
  if (!st.column_is_null(5)) r.model_id = st.column_int(5);
  r.started_at = st.column_double(6);
  if (!st.column_is_null(7)) r.finished_at = st.column_double(7);
  r.writer = {st.column_int(8), st.column_text(9), st.column_text(10)};
  r.notes = st.column_text(11);
  r.message = st.column_text(12);
  return r;
}

constexpr const char* kRunColumns =
    "id, kind, name, status, params_json, model_id, started_at, finished_at, pid, host, "
    "process_token, notes, message";

std::vector<std::string> run_tags(t2::store::Connection& db, std::int64_t run_id) {
  t2::store::Statement st(db, "SELECT tag FROM run_tags WHERE run_id = ? ORDER BY tag");
  st.bind(1, run_id);
  std::vector<std::string> tags;
  while (st.step()) tags.push_back(st.column_text(0));
  return tags;
}

const char* order_by(RunSort sort) {
  switch (sort) {
    case RunSort::StartedAsc:
      return " ORDER BY started_at ASC, id ASC";
    case RunSort::NameAsc:
      return " ORDER BY name ASC, id ASC";
    case RunSort::IdAsc:
      return " ORDER BY id ASC";
    case RunSort::IdDesc:
      return " ORDER BY id DESC";
    case RunSort::StartedDesc:
      break;
  }
  return " ORDER BY started_at DESC, id DESC";
}

}  // namespace detail::store

using namespace detail::store;
using t2::store::Connection;
using t2::store::Statement;
using t2::store::Transaction;

const char* to_string(RunStatus status) noexcept {
  switch (status) {
    case RunStatus::Running:
      return "running";
    case RunStatus::Finished:
      return "finished";
    case RunStatus::Failed:
      return "failed";
    case RunStatus::Cancelled:
      return "cancelled";
    case RunStatus::Interrupted:
      return "interrupted";
  }
  return "unknown";
}

RunStatus run_status_from_string(const std::string& text) {
  for (auto s : {RunStatus::Running, RunStatus::Finished, RunStatus::Failed, RunStatus::Cancelled,
                 RunStatus::Interrupted}) {
    if (text == to_string(s)) return s;
  }
  throw Error(
      ErrorKind::InvalidArgument,
      "unknown run status '" + text + "'; use running, finished, failed, cancelled or interrupted");
}

std::string default_run_store_path() {
  if (const char* db = std::getenv("T2_DB"); db && *db) return db;
  fs::path base;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    base = fs::path(home) / ".local" / "share";
  } else {
    throw Error(ErrorKind::InvalidArgument,
                "cannot find a place for the workspace database: neither $T2_DB, "
                "$XDG_DATA_HOME nor $HOME is set; pass --db PATH");
  }
  return (base / "t2-workbench" / "workspace.db").string();
}

void RunStore::Impl::require_run(std::int64_t run_id) {
  Statement st(db, "SELECT 1 FROM runs WHERE id = ?");
  st.bind(1, run_id);
  if (!st.step()) {
    throw Error(ErrorKind::InvalidArgument, "no run with id " + std::to_string(run_id) + " in '" +
                                                db.path() + "'; see `t2 runs list`");
  }
}

namespace {

Connection::Mode open_mode(const std::string& path, const RunStoreOptions& options) {
  const bool memory = path == ":memory:" || path.empty();
  if (options.read_only) return Connection::Mode::ReadOnly;
  if (!options.create) return Connection::Mode::ReadWrite;
  if (!memory) {
    const fs::path parent = fs::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec) {
      throw Error(ErrorKind::Io, "cannot create the folder '" + parent.string() +
                                     "' for the database: " + ec.message() +
                                     "; choose another path with --db");
    }
  }
  return Connection::Mode::ReadWriteCreate;
}

}  // namespace

RunStore::RunStore(const std::string& path, const RunStoreOptions& options) {
  if (options.busy_timeout_ms < 0) {
    throw Error(ErrorKind::InvalidArgument, "busy_timeout_ms must be >= 0");
  }
  if (!options.create && path != ":memory:" && !fs::exists(path)) {
    throw Error(ErrorKind::Io, "no workspace database at '" + path +
                                   "'; pass --db PATH (or set $T2_DB) to choose one");
  }
  impl_ = std::make_unique<Impl>(path, open_mode(path, options), options.busy_timeout_ms);
  Connection& db = impl_->db;
  db.exec("PRAGMA foreign_keys = ON");
  if (options.read_only) {
    impl_->version = t2::store::check_schema(db, kSchemaVersion);
    if (impl_->version < kSchemaVersion) {
      throw Error(ErrorKind::Unsupported,
                  "database '" + path + "' has schema version " + std::to_string(impl_->version) +
                      " (this build uses " + std::to_string(kSchemaVersion) +
                      "); open it once read-write to upgrade");
    }
    return;
  }
  impl_->version = t2::store::check_schema(db, kSchemaVersion);  // refuse before writing
  {
    Statement wal(db, "PRAGMA journal_mode = WAL");
    const std::string mode = wal.step() ? wal.column_text(0) : "";
    if (mode != "wal" && mode != "memory") {
      throw Error(ErrorKind::Io, "database '" + path + "' cannot use write-ahead logging (mode '" +
                                     mode + "'); put it on a local file system");
    }
  }
  db.exec("PRAGMA synchronous = FULL");
  impl_->version = t2::store::migrate(db, t2::store::migrations());
  mark_interrupted_runs(db, &impl_->interrupted);
}

RunStore::~RunStore() = default;
RunStore::RunStore(RunStore&&) noexcept = default;
RunStore& RunStore::operator=(RunStore&&) noexcept = default;

const std::string& RunStore::path() const { return impl_->db.path(); }
int RunStore::schema_version() const { return impl_->version; }
const std::vector<std::int64_t>& RunStore::interrupted_on_open() const {
  return impl_->interrupted;
}

std::string RunStore::integrity_check() {
  Statement st(impl_->db, "PRAGMA integrity_check");
  std::string result;
  while (st.step()) result += (result.empty() ? "" : "\n") + st.column_text(0);
  return result;
}

std::int64_t RunStore::begin_run(const NewRun& run) {
  if (run.kind.empty()) throw Error(ErrorKind::InvalidArgument, "a run needs a kind, e.g. 'eval'");
  require_json_object(run.params_json, "run params");
  const ProcessIdentity me = current_process_identity();
  Transaction tx(impl_->db);
  Statement st(impl_->db,
               "INSERT INTO runs(kind, name, status, params_json, model_id, started_at, host, "
               "pid, process_token, notes) VALUES(?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)");
  st.bind(1, run.kind).bind(2, run.name).bind(3, run.params_json).bind(4, run.model_id);
  st.bind(5, now_seconds()).bind(6, me.host).bind(7, me.pid).bind(8, me.start_token);
  st.bind(9, run.notes).run();
  const std::int64_t id = impl_->db.last_insert_id();
  Statement tag(impl_->db, "INSERT OR IGNORE INTO run_tags(run_id, tag) VALUES(?, ?)");
  for (const auto& t : run.tags) tag.bind(1, id).bind(2, t).run();
  tx.commit();
  return id;
}

void RunStore::finish_run(std::int64_t run_id, RunStatus status, const std::string& message) {
  if (status == RunStatus::Running) {
    throw Error(ErrorKind::InvalidArgument, "finish_run needs a final status, not 'running'");
  }
  Statement st(impl_->db, "UPDATE runs SET status = ?, finished_at = ?, message = ? WHERE id = ?");
  st.bind(1, std::string(to_string(status))).bind(2, now_seconds()).bind(3, message);
  st.bind(4, run_id).run();
  if (impl_->db.changes() == 0) impl_->require_run(run_id);
}

void RunStore::resume_run(std::int64_t run_id) {
  const RunRecord run = get_run(run_id);
  const bool gone =
      run.status == RunStatus::Interrupted ||
      (run.status == RunStatus::Running && process_liveness(run.writer) == Liveness::Dead);
  if (!gone)
    throw Error(
        ErrorKind::InvalidArgument,
        "run " + std::to_string(run_id) + " is " + to_string(run.status) +
            (run.status == RunStatus::Running ? " (its process is alive or on another host)" : "") +
            "; only an interrupted run can be resumed");
  const ProcessIdentity me = current_process_identity();
  Statement st(impl_->db,
               "UPDATE runs SET status = 'running', finished_at = NULL, message = '', host = ?, "
               "pid = ?, process_token = ? WHERE id = ?");
  st.bind(1, me.host).bind(2, me.pid).bind(3, me.start_token).bind(4, run_id).run();
}

std::optional<RunRecord> RunStore::find_run(std::int64_t run_id) {
  Statement st(impl_->db, std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?");
  st.bind(1, run_id);
  if (!st.step()) return std::nullopt;
  RunRecord r = read_run(st);
  r.tags = run_tags(impl_->db, run_id);
  return r;
}

RunRecord RunStore::get_run(std::int64_t run_id) {
  auto r = find_run(run_id);
  if (!r) impl_->require_run(run_id);
  return *r;
}

std::int64_t RunStore::resolve_run(const std::string& id_or_name) {
  const bool numeric = !id_or_name.empty() && id_or_name.size() < 19 &&
                       std::all_of(id_or_name.begin(), id_or_name.end(),
                                   [](unsigned char c) { return std::isdigit(c); });
  if (numeric) {
    const std::int64_t id = std::stoll(id_or_name);
    if (find_run(id)) return id;
  }
  Statement st(impl_->db, "SELECT id FROM runs WHERE name = ? ORDER BY id");
  st.bind(1, id_or_name);
  std::vector<std::int64_t> ids;
  while (st.step()) ids.push_back(st.column_int(0));
  if (ids.size() == 1) return ids.front();
  if (ids.empty()) {
    throw Error(ErrorKind::InvalidArgument, "no run with id or name '" + id_or_name + "' in '" +
                                                path() + "'; see `t2 runs list`");
  }
  std::string list;
  for (auto id : ids) list += (list.empty() ? "" : ", ") + std::to_string(id);
  throw Error(ErrorKind::InvalidArgument, "several runs are named '" + id_or_name + "' (ids " +
                                              list + "); give the run id instead");
}

std::vector<RunRecord> RunStore::list_runs(const RunFilter& filter) {
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs WHERE 1";
  if (!filter.kind.empty()) sql += " AND kind = ?";
  if (filter.status) sql += " AND status = ?";
  if (!filter.tag.empty()) {
    sql += " AND id IN (SELECT run_id FROM run_tags WHERE tag = ?)";
  }
  if (!filter.name_contains.empty()) sql += " AND instr(name, ?) > 0";
  sql += order_by(filter.sort);
  if (filter.limit > 0) sql += " LIMIT " + std::to_string(filter.limit);
  Statement st(impl_->db, sql);
  int index = 1;
  if (!filter.kind.empty()) st.bind(index++, filter.kind);
  if (filter.status) st.bind(index++, std::string(to_string(*filter.status)));
  if (!filter.tag.empty()) st.bind(index++, filter.tag);
  if (!filter.name_contains.empty()) st.bind(index++, filter.name_contains);
  std::vector<RunRecord> runs;
  while (st.step()) runs.push_back(read_run(st));
  for (auto& r : runs) r.tags = run_tags(impl_->db, r.id);
  return runs;
}

void RunStore::set_notes(std::int64_t run_id, const std::string& notes) {
  impl_->require_run(run_id);
  Statement st(impl_->db, "UPDATE runs SET notes = ? WHERE id = ?");
  st.bind(1, notes).bind(2, run_id).run();
}

void RunStore::add_tag(std::int64_t run_id, const std::string& tag) {
  impl_->require_run(run_id);
  Statement st(impl_->db, "INSERT OR IGNORE INTO run_tags(run_id, tag) VALUES(?, ?)");
  st.bind(1, run_id).bind(2, tag).run();
}

void RunStore::remove_tag(std::int64_t run_id, const std::string& tag) {
  Statement st(impl_->db, "DELETE FROM run_tags WHERE run_id = ? AND tag = ?");
  st.bind(1, run_id).bind(2, tag).run();
}

std::vector<std::string> RunStore::delete_run(std::int64_t run_id, bool delete_files) {
  impl_->require_run(run_id);
  std::vector<std::string> files;
  Transaction tx(impl_->db);
  {
    Statement st(impl_->db,
                 "SELECT path FROM artifacts WHERE run_id = ?1 "
                 "UNION SELECT path FROM experts WHERE run_id = ?1");
    st.bind(1, run_id);
    while (st.step()) files.push_back(st.column_text(0));
  }
  Statement del(impl_->db, "DELETE FROM runs WHERE id = ?");
  del.bind(1, run_id).run();
  tx.commit();
  std::vector<std::string> removed;
  if (!delete_files) return removed;
  for (const auto& file : files) {
    std::error_code ec;
    if (fs::is_directory(file, ec) ? fs::remove_all(file, ec) > 0 : fs::remove(file, ec))
      removed.push_back(file);
  }
  return removed;
}

}  // namespace t2
