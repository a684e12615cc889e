// Internals shared by the run store's source files.
#pragma once

#include <t2/run_store.h>

#include "core/store/sqlite.h"

#include <string>
#include <unordered_map>

namespace t2 {
namespace detail::store {

double now_seconds();
// Throws InvalidArgument unless `text` parses as a JSON object; `what` names the field.
void require_json_object(const std::string& text, const std::string& what);
// Shortest text that reads back as the same double ("nan", "inf", "-inf" for non-finite).
std::string format_double(double value);
// Indices kept by the min/max-preserving downsampling described at SeriesQuery.
std::vector<std::size_t> downsample_indices(const std::vector<MetricPoint>& points,
                                            std::size_t max_points);

// Inserts metric rows with statements prepared once; interns key names in metric_keys.
class MetricInserter {
 public:
  explicit MetricInserter(t2::store::Connection& db);
  void insert(std::int64_t run_id, std::int64_t step, const std::string& key, double value,
              double wall_time);
  void forget_keys();  // after a rollback: key rows inserted by it may be gone

 private:
  std::int64_t key_id(const std::string& key);
  t2::store::Connection& db_;
  t2::store::Statement insert_;
  t2::store::Statement find_key_;
  t2::store::Statement add_key_;
  std::unordered_map<std::string, std::int64_t> key_ids_;
};

}  // namespace detail::store

struct RunStore::Impl {
  Impl(const std::string& path, t2::store::Connection::Mode mode, int busy_timeout_ms)
      : db(path, mode, busy_timeout_ms) {}
  t2::store::Connection db;
  int version = 0;
  std::vector<std::int64_t> interrupted;
  void require_run(std::int64_t run_id);  // throws InvalidArgument when absent
};

}  // namespace t2
