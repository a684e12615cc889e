#include "core/store/sqlite.h"

#include <t2/error.h>

#include <cmath>

namespace t2::store {
namespace {

ErrorKind kind_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorKind::Corrupt;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return ErrorKind::InvalidArgument;
    case SQLITE_NOMEM:
      return ErrorKind::OutOfMemory;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
      return ErrorKind::Io;
    default:
      return ErrorKind::Internal;
  }
}

std::string advice_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "the file is not a healthy SQLite database; restore it from a backup or choose "
             "another file with --db";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "another process held the database lock longer than the busy timeout; retry, or "
             "close the other program writing to it";
    case SQLITE_FULL:
      return "the disk is full; free some space and retry";
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return "check that the file and its folder exist and are writable, or choose another "
             "file with --db";
    case SQLITE_IOERR:
      return "the disk reported an I/O error; check the device and retry";
    default:
      return "this is unexpected; please report it";
  }
}

}  // namespace

Connection::Connection(const std::string& path, Mode mode, int busy_timeout_ms) : path_(path) {
  int flags = SQLITE_OPEN_READWRITE;
  if (mode == Mode::ReadWriteCreate) flags |= SQLITE_OPEN_CREATE;
  if (mode == Mode::ReadOnly) flags = SQLITE_OPEN_READONLY;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(kind_for(rc),
                "cannot open database '" + path + "': " + message + "; " + advice_for(rc));
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
}

Connection::~Connection() {
  if (db_) sqlite3_close_v2(db_);
}

void Connection::check(int rc, const std::string& what) const {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
  throw Error(kind_for(rc), "database '" + path_ + "': " + what +
                                " failed: " + sqlite3_errmsg(db_) + " (" + sqlite3_errstr(rc) +
                                "); " + advice_for(rc));
}

void Connection::exec(const std::string& sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    const std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw Error(kind_for(rc), "database '" + path_ + "': '" + sql.substr(0, 60) +
                                  "' failed: " + text + "; " + advice_for(rc));
  }
}

std::int64_t Connection::pragma_int(const std::string& name) {
  Statement st(*this, "PRAGMA " + name);
  return st.step() ? st.column_int(0) : 0;
}

std::int64_t Connection::last_insert_id() const noexcept { return sqlite3_last_insert_rowid(db_); }

int Connection::changes() const noexcept { return sqlite3_changes(db_); }

Statement::Statement(Connection& db, const std::string& sql) : db_(db), sql_(sql) {
  db_.check(sqlite3_prepare_v2(db_.handle(), sql.c_str(), -1, &stmt_, nullptr),
            "preparing '" + sql.substr(0, 60) + "'");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::int64_t value) {
  db_.check(sqlite3_bind_int64(stmt_, index, value), "binding");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  if (std::isnan(value)) return bind_null(index);
  db_.check(sqlite3_bind_double(stmt_, index, value), "binding");
  return *this;
}

Statement& Statement::bind(int index, const std::string& value) {
  db_.check(sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                              SQLITE_TRANSIENT),
            "binding");
  return *this;
}

Statement& Statement::bind_null(int index) {
  db_.check(sqlite3_bind_null(stmt_, index), "binding");
  return *this;
}

Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(stmt_);
  db_.check(rc, "'" + sql_.substr(0, 60) + "'");
  return false;
}

void Statement::run() {
  step();
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }

double Statement::column_double(int index) const {
  if (column_is_null(index)) return std::nan("");
  return sqlite3_column_double(stmt_, index);
}

std::string Statement::column_text(int index) const {
  const auto* text = sqlite3_column_text(stmt_, index);
  if (!text) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, index)));
}

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

Transaction::Transaction(Connection& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
  open_ = true;
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

ReadSnapshot::ReadSnapshot(Connection& db) : db_(db) {
  if (sqlite3_get_autocommit(db_.handle()) != 0) {
    db_.exec("BEGIN DEFERRED");
    owns_ = true;
  }
}

ReadSnapshot::~ReadSnapshot() {
  if (owns_) sqlite3_exec(db_.handle(), "COMMIT", nullptr, nullptr, nullptr);
}

}  // namespace t2::store
