// Schema migrations of the run store (internal). Version N of the schema is the result of
// applying migrations 1..N in order; PRAGMA user_version records N.
#pragma once

#include "core/store/sqlite.h"

#include <vector>

namespace t2::store {

constexpr int kApplicationId = 0x54325742;  // "T2WB": marks a T2 workspace database

struct Migration {
  int version;      // 1, 2, ... consecutive
  const char* sql;  // statements that bring version-1 to version
};

// The migrations of this build (the last one's version is RunStore::kSchemaVersion).
const std::vector<Migration>& migrations();

// Checks the file is a T2 workspace no newer than `migrations`, then applies the missing
// migrations, each in its own transaction (re-checking the version under the write lock, so
// concurrent openers do not race). Returns the resulting version. Throws Unsupported for a
// newer schema and InvalidArgument for a foreign SQLite file; a failing migration is rolled
// back and leaves the previous version intact.
int migrate(Connection& db, const std::vector<Migration>& migrations);

// The checks of migrate() without writing (read-only opens). Returns the version.
int check_schema(Connection& db, int known_version);

}  // namespace t2::store
