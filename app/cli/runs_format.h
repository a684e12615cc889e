// Text and JSON rendering of run-store records for `t2 runs` (CLI only).
#pragma once

#include <t2/run_store.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace t2::cli {

std::string format_time(double unix_seconds);       // "2026-11-23 01:40:12Z"; "-" for 0
std::string format_duration(const RunRecord& run);  // "12.3 s", "4 min 02 s", "running"
std::string format_number(double value);            // shortest round-trip; nan, inf

nlohmann::json run_json(const RunRecord& run);
std::string runs_table(const std::vector<RunRecord>& runs);

// `t2 runs show`: everything stored about one run.
struct RunDetails {
  RunRecord run;
  std::vector<MetricSeries> ends;  // per key: first and last point (max_points = 2)
  std::vector<BestValue> minima, maxima;
  std::vector<ExpertRecord> experts;
  std::vector<EvaluationRecord> evaluations;
  std::vector<ArtifactRecord> artifacts;
  std::int64_t samples = 0;
};
RunDetails load_details(RunStore& store, std::int64_t run_id);
std::string details_text(const RunDetails& d);
nlohmann::json details_json(const RunDetails& d);

std::string diff_text(const std::vector<RunRecord>& runs,
                      const std::vector<ParamDifference>& diffs);
nlohmann::json diff_json(const std::vector<RunRecord>& runs,
                         const std::vector<ParamDifference>& diffs);

}  // namespace t2::cli
