#include "runs_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <sstream>

namespace t2::cli {

using nlohmann::json;

std::string format_time(double unix_seconds) {
  if (unix_seconds <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buffer;
}

std::string format_duration(const RunRecord& run) {
  if (!run.finished_at) return run.status == RunStatus::Running ? "running" : "-";
  const double s = std::max(0.0, *run.finished_at - run.started_at);
  char buffer[48];
  if (s < 60) {
    std::snprintf(buffer, sizeof buffer, "%.1f s", s);
  } else if (s < 3600) {
    std::snprintf(buffer, sizeof buffer, "%d min %02d s", static_cast<int>(s) / 60,
                  static_cast<int>(s) % 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%d h %02d min", static_cast<int>(s) / 3600,
                  static_cast<int>(s) % 3600 / 60);
  }
  return buffer;
}

std::string format_number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, r.ptr);
}

namespace {

json parsed_or_text(const std::string& text) {
  const json parsed = json::parse(text, nullptr, false);
  return parsed.is_discarded() ? json(text) : parsed;
}

json number_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string pad(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

}  // namespace

json run_json(const RunRecord& r) {
  return {{"id", r.id},
          {"name", r.name},
          {"kind", r.kind},
          {"status", to_string(r.status)},
          {"started_at", r.started_at},
          {"finished_at", r.finished_at ? json(*r.finished_at) : json(nullptr)},
          {"tags", r.tags},
          {"notes", r.notes},
          {"message", r.message},
          {"model_id", r.model_id ? json(*r.model_id) : json(nullptr)},
          {"host", r.writer.host},
          {"pid", r.writer.pid},
          {"params", parsed_or_text(r.params_json)}};
}

std::string runs_table(const std::vector<RunRecord>& runs) {
  if (runs.empty()) return "no runs\n";
  std::vector<std::vector<std::string>> rows = {
      {"ID", "STATUS", "KIND", "NAME", "STARTED", "DURATION", "TAGS"}};
  for (const auto& r : runs) {
    rows.push_back({std::to_string(r.id), to_string(r.status), r.kind, r.name,
                    format_time(r.started_at), format_duration(r), join(r.tags, ",")});
  }
  std::vector<std::size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += c + 1 == row.size() ? row[c] : pad(row[c], width[c] + 2);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

RunDetails load_details(RunStore& store, std::int64_t run_id) {
  RunDetails d;
  d.run = store.get_run(run_id);
  d.ends = store.metric_series({{run_id}, {}, 2});
  const auto keys = store.metric_keys(run_id);
  d.minima = store.best_values({run_id}, keys, BestMode::Min);
  d.maxima = store.best_values({run_id}, keys, BestMode::Max);
  d.experts = store.experts(run_id);
  d.evaluations = store.evaluations(run_id);
  d.artifacts = store.artifacts(run_id);
  d.samples = static_cast<std::int64_t>(store.samples(run_id).size());
  return d;
}

std::string details_text(const RunDetails& d) {
  const RunRecord& r = d.run;
  std::ostringstream out;
  out << "run " << r.id << ": " << r.name << " (" << r.kind << ")\n"
      << "  status    " << to_string(r.status) << (r.message.empty() ? "" : " - " + r.message)
      << "\n"
      << "  started   " << format_time(r.started_at) << "\n"
      << "  finished  " << (r.finished_at ? format_time(*r.finished_at) : "-") << " ("
      << format_duration(r) << ")\n"
      << "  writer    pid " << r.writer.pid << " on " << r.writer.host << "\n";
  if (!r.tags.empty()) out << "  tags      " << join(r.tags, ", ") << "\n";
  if (!r.notes.empty()) out << "  notes     " << r.notes << "\n";
  out << "  params    " << parsed_or_text(r.params_json).dump() << "\n";
  out << "metrics (" << d.ends.size() << " keys)\n";
  for (std::size_t i = 0; i < d.ends.size(); ++i) {
    const auto& s = d.ends[i];
    if (s.points.empty()) continue;
    out << "  " << pad(s.key, 16) << " " << s.total_points << " points, steps "
        << s.points.front().step << ".." << s.points.back().step << ", last "
        << format_number(s.points.back().value);
    if (d.minima[i].found) {
      out << ", min " << format_number(d.minima[i].value) << " @" << d.minima[i].step << ", max "
          << format_number(d.maxima[i].value) << " @" << d.maxima[i].step;
    }
    out << "\n";
  }
  for (const auto& e : d.evaluations) {
    char accuracy[32];
    std::snprintf(accuracy, sizeof accuracy, "%.1f %%", 100.0 * e.accuracy);
    out << "evaluation " << e.id << ": " << e.task << " / " << e.strategy << ": " << e.correct
        << "/" << e.n << " = " << accuracy << "\n";
  }
  for (const auto& e : d.experts) {
    out << "expert " << e.id << ": " << e.name << " " << e.path << "\n";
  }
  for (const auto& a : d.artifacts) {
    out << "artifact " << a.id << ": " << a.kind << " " << a.path << " (" << a.bytes << " bytes)\n";
  }
  if (d.samples > 0) out << "samples   " << d.samples << "\n";
  return out.str();
}

json details_json(const RunDetails& d) {
  json metrics = json::array();
  for (std::size_t i = 0; i < d.ends.size(); ++i) {
    const auto& s = d.ends[i];
    if (s.points.empty()) continue;
    json m = {{"key", s.key},
              {"points", s.total_points},
              {"first_step", s.points.front().step},
              {"last_step", s.points.back().step},
              {"last", number_or_null(s.points.back().value)},
              {"min", d.minima[i].found ? json(d.minima[i].value) : json(nullptr)},
              {"min_step", d.minima[i].found ? json(d.minima[i].step) : json(nullptr)},
              {"max", d.maxima[i].found ? json(d.maxima[i].value) : json(nullptr)},
              {"max_step", d.maxima[i].found ? json(d.maxima[i].step) : json(nullptr)}};
    metrics.push_back(std::move(m));
  }
  json experts = json::array(), evaluations = json::array(), artifacts = json::array();
  for (const auto& e : d.experts) {
    experts.push_back({{"id", e.id},
                       {"name", e.name},
                       {"path", e.path},
                       {"parametrization", e.parametrization},
                       {"target_set", e.target_set},
                       {"base_fingerprint", e.base_fingerprint},
                       {"stats", parsed_or_text(e.stats_json)}});
  }
  for (const auto& e : d.evaluations) {
    evaluations.push_back({{"id", e.id},
                           {"task", e.task},
                           {"strategy", e.strategy},
                           {"n", e.n},
                           {"correct", e.correct},
                           {"accuracy", e.accuracy}});
  }
  for (const auto& a : d.artifacts) {
    artifacts.push_back({{"id", a.id}, {"kind", a.kind}, {"path", a.path}, {"bytes", a.bytes}});
  }
  return {{"run", run_json(d.run)},     {"metrics", metrics},     {"experts", experts},
          {"evaluations", evaluations}, {"artifacts", artifacts}, {"samples", d.samples}};
}

std::string diff_text(const std::vector<RunRecord>& runs,
                      const std::vector<ParamDifference>& diffs) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"PARAM"};
  for (const auto& r : runs) header.push_back("run " + std::to_string(r.id) + " (" + r.name + ")");
  rows.push_back(header);
  for (const auto& d : diffs) {
    std::vector<std::string> row = {d.key};
    for (const auto& v : d.values) row.push_back(v ? *v : "(absent)");
    rows.push_back(row);
  }
  if (diffs.empty()) return "params are identical\n";
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += c + 1 == row.size() ? row[c] : pad(row[c], width[c] + 2);
    }
    out += line + "\n";
  }
  return out;
}

json diff_json(const std::vector<RunRecord>& runs, const std::vector<ParamDifference>& diffs) {
  json ids = json::array(), differences = json::array();
  for (const auto& r : runs) ids.push_back(r.id);
  for (const auto& d : diffs) {
    json values = json::array(), present = json::array();
    for (const auto& v : d.values) {
      values.push_back(v ? parsed_or_text(*v) : json(nullptr));
      present.push_back(v.has_value());
    }
    differences.push_back({{"key", d.key}, {"values", values}, {"present", present}});
  }
  return {{"runs", ids}, {"differences", differences}};
}

}  // namespace t2::cli
