// Params diff and metric export (CSV long format, JSON).
#include "core/store/run_store_impl.h"

#include <t2/error.h>

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <map>

namespace t2 {
namespace detail::store {

using nlohmann::json;

std::string format_double(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

// RFC 4180: quote a field containing a comma, quote, CR or LF; double the quotes inside.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void flatten(const json& value, const std::string& prefix, std::map<std::string, json>* out) {
  if (value.is_object() && !value.empty()) {
    for (const auto& [key, child] : value.items()) {
      flatten(child, prefix.empty() ? key : prefix + "." + key, out);
    }
    return;
  }
  (*out)[prefix] = value;
}

std::map<std::string, json> flat_params(const RunRecord& run) {
  const json parsed = json::parse(run.params_json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    throw Error(ErrorKind::Corrupt, "run " + std::to_string(run.id) +
                                        " has params that are not valid JSON; edit or delete it");
  }
  std::map<std::string, json> flat;
  if (!parsed.is_object() || !parsed.empty()) flatten(parsed, "", &flat);
  return flat;
}

json finite_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

}  // namespace detail::store

using namespace detail::store;
using nlohmann::json;
using t2::store::Statement;

std::vector<ParamDifference> RunStore::diff_params(const std::vector<std::int64_t>& run_ids) {
  if (run_ids.size() < 2) {
    throw Error(ErrorKind::InvalidArgument, "a params diff needs at least two runs");
  }
  std::vector<std::map<std::string, json>> flats;
  std::map<std::string, bool> all_keys;
  for (const auto id : run_ids) {
    flats.push_back(flat_params(get_run(id)));
    for (const auto& entry : flats.back()) all_keys[entry.first] = true;
  }
  std::vector<ParamDifference> diffs;
  for (const auto& [key, unused] : all_keys) {
    ParamDifference d{key, {}};
    bool differ = false;
    const json* first = nullptr;
    for (std::size_t i = 0; i < flats.size(); ++i) {
      const auto it = flats[i].find(key);
      const json* value = it == flats[i].end() ? nullptr : &it->second;
      d.values.push_back(value ? std::optional<std::string>(
                                     value->dump(-1, ' ', false, json::error_handler_t::replace))
                               : std::nullopt);
      if (i == 0) {
        first = value;
      } else if ((first == nullptr) != (value == nullptr) ||
                 (first != nullptr && !(*first == *value))) {
        differ = true;
      }
    }
    if (differ) diffs.push_back(std::move(d));
  }
  return diffs;
}

std::string RunStore::metrics_csv(const std::vector<std::int64_t>& run_ids) {
  t2::store::ReadSnapshot snapshot(impl_->db);
  std::string csv = "run,step,key,value\r\n";
  Statement st(impl_->db,
               "SELECT k.name, m.step, m.value FROM metrics m JOIN metric_keys k "
               "ON k.id = m.key_id WHERE m.run_id = ? ORDER BY k.name, m.step");
  for (const auto id : run_ids) {
    impl_->require_run(id);
    st.bind(1, id);
    const std::string run = std::to_string(id) + ",";
    while (st.step()) {
      csv += run + std::to_string(st.column_int(1)) + "," + csv_field(st.column_text(0)) + "," +
             format_double(st.column_double(2)) + "\r\n";
    }
    st.reset();
  }
  return csv;
}

std::string RunStore::metrics_json(const std::vector<std::int64_t>& run_ids, int indent) {
  t2::store::ReadSnapshot snapshot(impl_->db);
  json runs = json::array();
  for (const auto id : run_ids) {
    const RunRecord r = get_run(id);
    json run = {{"id", r.id},
                {"name", r.name},
                {"kind", r.kind},
                {"status", to_string(r.status)},
                {"started_at", r.started_at},
                {"finished_at", r.finished_at ? json(*r.finished_at) : json(nullptr)},
                {"tags", r.tags}};
    const json params = json::parse(r.params_json, nullptr, false);
    run["params"] = params.is_discarded() ? json(r.params_json) : params;
    json metrics = json::object();
    for (const auto& series : metric_series({{id}, {}, 0})) {
      json steps = json::array(), values = json::array(), times = json::array();
      for (const auto& p : series.points) {
        steps.push_back(p.step);
        values.push_back(finite_or_null(p.value));
        times.push_back(p.wall_time);
      }
      metrics[series.key] = {{"step", steps}, {"value", values}, {"wall_time", times}};
    }
    run["metrics"] = std::move(metrics);
    runs.push_back(std::move(run));
  }
  const json doc = {{"format", "t2-metrics"}, {"version", 1}, {"runs", runs}};
  return doc.dump(indent, ' ', false, json::error_handler_t::replace);
}

void RunStore::export_metrics_csv(const std::vector<std::int64_t>& run_ids,
                                  const std::string& path) {
  write_file_atomically(path, metrics_csv(run_ids));
}

void RunStore::export_metrics_json(const std::vector<std::int64_t>& run_ids,
                                   const std::string& path) {
  write_file_atomically(path, metrics_json(run_ids) + "\n");
}

}  // namespace t2
