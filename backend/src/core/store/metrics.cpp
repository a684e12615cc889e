// Metrics: batched insertion (MetricWriter), series queries with downsampling, best values.
#include "core/store/run_store_impl.h"
#include "core/store/schema.h"

#include <t2/error.h>

#include <chrono>
#include <cmath>
#include <filesystem>

namespace t2 {
namespace detail::store {

using t2::store::Connection;
using t2::store::Statement;

MetricInserter::MetricInserter(Connection& db)
    : db_(db),
      insert_(db,
              "INSERT OR REPLACE INTO metrics(run_id, key_id, step, value, wall_time) "
              "VALUES(?, ?, ?, ?, ?)"),
      find_key_(db, "SELECT id FROM metric_keys WHERE name = ?"),
      add_key_(db, "INSERT INTO metric_keys(name) VALUES(?)") {}

std::int64_t MetricInserter::key_id(const std::string& key) {
  if (auto it = key_ids_.find(key); it != key_ids_.end()) return it->second;
  find_key_.bind(1, key);
  std::int64_t id = 0;
  if (find_key_.step()) {
    id = find_key_.column_int(0);
    find_key_.reset();
  } else {
    find_key_.reset();
    add_key_.bind(1, key).run();
    id = db_.last_insert_id();
  }
  // A key inserted by a transaction that is later rolled back must not stay cached: callers
  // call forget_keys() on failure.
  key_ids_.emplace(key, id);
  return id;
}

void MetricInserter::insert(std::int64_t run_id, std::int64_t step, const std::string& key,
                            double value, double wall_time) {
  if (key.empty()) throw Error(ErrorKind::InvalidArgument, "a metric key must not be empty");
  insert_.bind(1, run_id).bind(2, key_id(key)).bind(3, step).bind(4, value).bind(5, wall_time);
  insert_.run();
}

void MetricInserter::forget_keys() { key_ids_.clear(); }

// Indices of the points kept by the min/max-preserving downsampling (see SeriesQuery).
std::vector<std::size_t> downsample_indices(const std::vector<MetricPoint>& points,
                                            std::size_t max_points) {
  const std::size_t n = points.size();
  std::vector<std::size_t> kept;
  if (n <= max_points) {
    for (std::size_t i = 0; i < n; ++i) kept.push_back(i);
    return kept;
  }
  kept.push_back(0);
  const std::size_t buckets = (max_points - 2) / 2;
  const std::size_t interior = n - 2;
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t begin = 1 + b * interior / buckets;
    const std::size_t end = 1 + (b + 1) * interior / buckets;
    std::size_t lo = end, hi = end;
    for (std::size_t i = begin; i < end; ++i) {
      const double v = points[i].value;
      if (std::isnan(v)) continue;
      if (lo == end || v < points[lo].value) lo = i;
      if (hi == end || v > points[hi].value) hi = i;
    }
    if (lo == end) {
      if (begin < end) kept.push_back(begin);  // all NaN: keep one to show the gap
      continue;
    }
    kept.push_back(std::min(lo, hi));
    if (lo != hi) kept.push_back(std::max(lo, hi));
  }
  kept.push_back(n - 1);
  return kept;
}

}  // namespace detail::store

using namespace detail::store;
using t2::store::Statement;
using t2::store::Transaction;

void RunStore::log_metrics(std::int64_t run_id, std::int64_t step,
                           const std::vector<std::pair<std::string, double>>& values) {
  impl_->require_run(run_id);
  MetricInserter inserter(impl_->db);
  const double now = now_seconds();
  Transaction tx(impl_->db);
  for (const auto& [key, value] : values) inserter.insert(run_id, step, key, value, now);
  tx.commit();
}

std::vector<std::string> RunStore::metric_keys(std::int64_t run_id) {
  Statement st(impl_->db,
               "SELECT name FROM metric_keys WHERE id IN "
               "(SELECT DISTINCT key_id FROM metrics WHERE run_id = ?) ORDER BY name");
  st.bind(1, run_id);
  std::vector<std::string> keys;
  while (st.step()) keys.push_back(st.column_text(0));
  return keys;
}

std::int64_t RunStore::metric_count(std::int64_t run_id) {
  Statement st(impl_->db, "SELECT count(*) FROM metrics WHERE run_id = ?");
  st.bind(1, run_id);
  return st.step() ? st.column_int(0) : 0;
}

std::vector<MetricSeries> RunStore::metric_series(const SeriesQuery& query) {
  if (query.max_points == 1) {
    throw Error(ErrorKind::InvalidArgument,
                "max_points must be 0 (all points) or >= 2 (first and last are always kept)");
  }
  Statement st(impl_->db,
               "SELECT step, value, wall_time FROM metrics WHERE run_id = ? AND key_id = "
               "(SELECT id FROM metric_keys WHERE name = ?) ORDER BY step");
  t2::store::ReadSnapshot snapshot(impl_->db);  // all series from one committed state
  std::vector<MetricSeries> result;
  for (const std::int64_t run_id : query.run_ids) {
    impl_->require_run(run_id);
    const auto keys = query.keys.empty() ? metric_keys(run_id) : query.keys;
    for (const auto& key : keys) {
      MetricSeries series{run_id, key, {}, 0};
      st.bind(1, run_id).bind(2, key);
      while (st.step()) {
        series.points.push_back({st.column_int(0), st.column_double(1), st.column_double(2)});
      }
      st.reset();
      series.total_points = static_cast<std::int64_t>(series.points.size());
      if (query.max_points > 0 && series.points.size() > query.max_points) {
        std::vector<MetricPoint> kept;
        for (auto i : downsample_indices(series.points, query.max_points)) {
          kept.push_back(series.points[i]);
        }
        series.points = std::move(kept);
      }
      result.push_back(std::move(series));
    }
  }
  return result;
}

std::vector<BestValue> RunStore::best_values(const std::vector<std::int64_t>& run_ids,
                                             const std::vector<std::string>& keys, BestMode mode) {
  const char* order = mode == BestMode::Max   ? "value DESC, step ASC"
                      : mode == BestMode::Min ? "value ASC, step ASC"
                                              : "step DESC";
  Statement st(impl_->db,
               std::string("SELECT step, value FROM metrics WHERE run_id = ? AND key_id = "
                           "(SELECT id FROM metric_keys WHERE name = ?) AND value IS NOT NULL "
                           "ORDER BY ") +
                   order + " LIMIT 1");
  t2::store::ReadSnapshot snapshot(impl_->db);
  std::vector<BestValue> result;
  for (const std::int64_t run_id : run_ids) {
    impl_->require_run(run_id);
    for (const auto& key : keys) {
      BestValue best{run_id, key, false, 0, 0.0};
      st.bind(1, run_id).bind(2, key);
      if (st.step()) {
        best.found = true;
        best.step = st.column_int(0);
        best.value = st.column_double(1);
      }
      st.reset();
      result.push_back(best);
    }
  }
  return result;
}

struct MetricWriter::Impl {
  struct Row {
    std::int64_t step;
    std::string key;
    double value;
    double wall_time;
  };
  Impl(const std::string& path, std::int64_t run, const MetricWriterOptions& given)
      : db(path, t2::store::Connection::Mode::ReadWrite, given.busy_timeout_ms),
        run_id(run),
        options(given) {
    db.exec("PRAGMA foreign_keys = ON");
    db.exec("PRAGMA synchronous = FULL");
    inserter = std::make_unique<MetricInserter>(db);
  }
  t2::store::Connection db;
  std::unique_ptr<MetricInserter> inserter;
  std::int64_t run_id;
  MetricWriterOptions options;
  std::vector<Row> buffer;
  std::chrono::steady_clock::time_point oldest;
  std::int64_t committed = 0;
};

MetricWriter::MetricWriter(const std::string& db_path, std::int64_t run_id,
                           const MetricWriterOptions& options) {
  if (options.flush_rows == 0 || !(options.flush_seconds >= 0)) {
    throw Error(ErrorKind::InvalidArgument,
                "MetricWriterOptions: flush_rows must be >= 1 and flush_seconds >= 0");
  }
  if (!std::filesystem::exists(db_path)) {
    throw Error(ErrorKind::Io, "no workspace database at '" + db_path +
                                   "'; open it with RunStore first (that creates it)");
  }
  impl_ = std::make_unique<Impl>(db_path, run_id, options);
  if (t2::store::check_schema(impl_->db, RunStore::kSchemaVersion) != RunStore::kSchemaVersion) {
    throw Error(ErrorKind::InvalidArgument,
                "database '" + db_path + "' is not initialised; open it with RunStore first");
  }
  Statement st(impl_->db, "SELECT 1 FROM runs WHERE id = ?");
  st.bind(1, run_id);
  if (!st.step()) {
    throw Error(ErrorKind::InvalidArgument,
                "MetricWriter: no run with id " + std::to_string(run_id) + " in '" + db_path + "'");
  }
  impl_->buffer.reserve(options.flush_rows);
}

MetricWriter::~MetricWriter() {
  try {
    flush();
  } catch (...) {
    // Documented: the destructor cannot report errors; callers flush() explicitly.
  }
}

void MetricWriter::log(std::int64_t step, const std::string& key, double value) {
  if (key.empty()) throw Error(ErrorKind::InvalidArgument, "a metric key must not be empty");
  auto& buffer = impl_->buffer;
  if (buffer.empty()) impl_->oldest = std::chrono::steady_clock::now();
  buffer.push_back({step, key, value, now_seconds()});
  if (buffer.size() >= impl_->options.flush_rows) {
    flush();
  } else if (std::chrono::duration<double>(std::chrono::steady_clock::now() - impl_->oldest)
                 .count() >= impl_->options.flush_seconds) {
    flush();
  }
}

void MetricWriter::log(std::int64_t step,
                       const std::vector<std::pair<std::string, double>>& values) {
  for (const auto& [key, value] : values) log(step, key, value);
}

void MetricWriter::flush() {
  auto& buffer = impl_->buffer;
  if (buffer.empty()) return;
  try {
    Transaction tx(impl_->db);
    for (const auto& row : buffer) {
      impl_->inserter->insert(impl_->run_id, row.step, row.key, row.value, row.wall_time);
    }
    tx.commit();
  } catch (...) {
    impl_->inserter->forget_keys();  // key rows may have been rolled back
    throw;                           // the buffer is kept: a later flush() retries
  }
  impl_->committed += static_cast<std::int64_t>(buffer.size());
  buffer.clear();
}

std::size_t MetricWriter::buffered_rows() const { return impl_->buffer.size(); }
std::int64_t MetricWriter::committed_rows() const { return impl_->committed; }
std::int64_t MetricWriter::run_id() const { return impl_->run_id; }

}  // namespace t2
