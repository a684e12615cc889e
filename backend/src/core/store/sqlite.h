// A small RAII wrapper over the SQLite C API (internal to the run store).
//
// Connection owns one sqlite3 handle; Statement one prepared statement; Transaction one
// BEGIN IMMEDIATE ... COMMIT (rolled back by its destructor unless committed). Every SQLite
// failure becomes a t2::Error naming the database file and what to do next.
// Thread-safety: one thread uses a Connection (and its statements) at a time.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

namespace t2::store {

class Connection {
 public:
  enum class Mode { ReadWriteCreate, ReadWrite, ReadOnly };
  Connection(const std::string& path, Mode mode, int busy_timeout_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* handle() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }
  // Runs one or more statements without results; throws t2::Error on failure.
  void exec(const std::string& sql);
  std::int64_t pragma_int(const std::string& name);
  std::int64_t last_insert_id() const noexcept;
  int changes() const noexcept;
  // Throws t2::Error for SQLite result `rc` (a no-op for OK/ROW/DONE); `what` names the action.
  void check(int rc, const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Statement {
 public:
  Statement(Connection& db, const std::string& sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Bind by 1-based index; return *this for chaining.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);  // NaN is stored as NULL
  Statement& bind(int index, const std::string& value);
  Statement& bind_null(int index);
  Statement& bind(int index, const std::optional<std::int64_t>& value);

  bool step();   // true when a row is available, false when done
  void run();    // step() expecting no row; then reset()
  void reset();  // reset + clear bindings, ready to bind again

  std::int64_t column_int(int index) const;
  double column_double(int index) const;  // NULL reads as NaN
  std::string column_text(int index) const;
  bool column_is_null(int index) const;

 private:
  Connection& db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
};

// BEGIN IMMEDIATE (takes the write lock at once, so the busy timeout applies), COMMIT on
// commit(); the destructor rolls back an uncommitted transaction.
class Transaction {
 public:
  explicit Transaction(Connection& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& db_;
  bool open_ = false;
};

// A read snapshot: several SELECTs see the same committed state (BEGIN DEFERRED ... COMMIT).
// A no-op when the connection is already inside a transaction.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(Connection& db);
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  Connection& db_;
  bool owns_ = false;
};

}  // namespace t2::store
