#include "core/store/schema.h"

#include <t2/error.h>

#include <string>

namespace t2::store {
namespace {

const char* const kSchemaV1 = R"sql(
CREATE TABLE models(
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  fingerprint TEXT NOT NULL UNIQUE,
  architecture TEXT NOT NULL DEFAULT '',
  dims_json TEXT NOT NULL DEFAULT '{}',
  created_at REAL NOT NULL);
CREATE TABLE decompositions(
  id INTEGER PRIMARY KEY,
  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  target_set TEXT NOT NULL,
  cache_path TEXT NOT NULL,
  created_at REAL NOT NULL,
  UNIQUE(model_id, target_set));
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL
    CHECK(status IN ('running','finished','failed','cancelled','interrupted')),
  params_json TEXT NOT NULL DEFAULT '{}',
  model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,
  started_at REAL NOT NULL,
  finished_at REAL,
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  process_token TEXT NOT NULL DEFAULT '',
  notes TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '');
CREATE INDEX runs_status ON runs(status);
CREATE INDEX runs_model ON runs(model_id);
CREATE TABLE run_tags(
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY(run_id, tag)) WITHOUT ROWID;
CREATE INDEX run_tags_tag ON run_tags(tag);
CREATE TABLE metric_keys(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE);
CREATE TABLE metrics(
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  key_id INTEGER NOT NULL REFERENCES metric_keys(id),
  step INTEGER NOT NULL,
  value REAL,
  wall_time REAL NOT NULL,
  PRIMARY KEY(run_id, key_id, step)) WITHOUT ROWID;
CREATE TABLE artifacts(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  path TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  created_at REAL NOT NULL);
CREATE INDEX artifacts_run ON artifacts(run_id);
CREATE TABLE experts(
  id INTEGER PRIMARY KEY,
  run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  parametrization TEXT NOT NULL,
  target_set TEXT NOT NULL,
  base_fingerprint TEXT NOT NULL,
  stats_json TEXT NOT NULL DEFAULT '{}',
  created_at REAL NOT NULL);
CREATE INDEX experts_run ON experts(run_id);
CREATE TABLE evaluations(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  task TEXT NOT NULL,
  strategy TEXT NOT NULL,
  n INTEGER NOT NULL,
  correct INTEGER NOT NULL,
  accuracy REAL NOT NULL,
  created_at REAL NOT NULL);
CREATE INDEX evaluations_run ON evaluations(run_id);
CREATE TABLE evaluation_items(
  evaluation_id INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
  item_index INTEGER NOT NULL,
  prompt TEXT NOT NULL,
  reference TEXT NOT NULL,
  prediction TEXT NOT NULL,
  extracted_answer TEXT NOT NULL,
  correct INTEGER NOT NULL,
  PRIMARY KEY(evaluation_id, item_index)) WITHOUT ROWID;
CREATE TABLE samples(
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  step INTEGER NOT NULL,
  prompt TEXT NOT NULL,
  completion TEXT NOT NULL,
  reward REAL,
  created_at REAL NOT NULL);
CREATE INDEX samples_run_step ON samples(run_id, step);
CREATE TABLE chats(
  id INTEGER PRIMARY KEY,
  run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
  title TEXT NOT NULL DEFAULT '',
  created_at REAL NOT NULL);
CREATE INDEX chats_run ON chats(run_id);
CREATE TABLE messages(
  id INTEGER PRIMARY KEY,
  chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK(role IN ('system','user','assistant')),
  content TEXT NOT NULL,
  pass1_decision TEXT NOT NULL DEFAULT '',
  expert_mix_json TEXT NOT NULL DEFAULT '{}',
  timings_json TEXT NOT NULL DEFAULT '{}',
  created_at REAL NOT NULL);
CREATE INDEX messages_chat ON messages(chat_id, id);
)sql";

bool has_tables(Connection& db) {
  Statement st(db, "SELECT count(*) FROM sqlite_master WHERE type='table'");
  return st.step() && st.column_int(0) > 0;
}

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {{1, kSchemaV1}};
  return all;
}

int check_schema(Connection& db, int known_version) {
  const auto version = static_cast<int>(db.pragma_int("user_version"));
  const auto application = db.pragma_int("application_id");
  if (version > known_version) {
    throw Error(ErrorKind::Unsupported,
                "database '" + db.path() + "' has schema version " + std::to_string(version) +
                    ", but this T2 Workbench knows versions up to " +
                    std::to_string(known_version) +
                    "; it was written by a newer T2 Workbench. Upgrade T2 Workbench, or choose "
                    "another database with --db (the file was not modified)");
  }
  const bool foreign = (application != 0 && application != kApplicationId) ||
                       (application == 0 && version == 0 && has_tables(db));
  if (foreign) {
    throw Error(ErrorKind::InvalidArgument,
                "'" + db.path() +
                    "' is an SQLite database but not a T2 Workbench workspace; "
                    "choose another file with --db (the file was not modified)");
  }
  return version;
}

int migrate(Connection& db, const std::vector<Migration>& list) {
  const int known = list.empty() ? 0 : list.back().version;
  int version = check_schema(db, known);
  for (const auto& migration : list) {
    if (migration.version <= version) continue;
    Transaction tx(db);
    version = check_schema(db, known);  // another process may have migrated meanwhile
    if (migration.version <= version) continue;
    try {
      db.exec(migration.sql);
    } catch (const Error& e) {
      throw Error(e.kind(), "migrating to schema version " + std::to_string(migration.version) +
                                " failed (the database keeps version " + std::to_string(version) +
                                "): " + e.what());
    }
    db.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    db.exec("PRAGMA user_version = " + std::to_string(migration.version));
    tx.commit();
    version = migration.version;
  }
  return version;
}

}  // namespace t2::store
