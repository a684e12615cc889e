// The run store: every experiment, metric, expert, evaluation, sample and chat of a workspace,
// kept in one SQLite database file (WAL mode, foreign keys on, busy timeout).
//
// Invariants:
//  - The schema version is PRAGMA user_version; opening applies the missing migrations, each in
//    its own transaction. A database written by a newer T2 Workbench is refused (Unsupported),
//    never modified. A SQLite file that is not a T2 workspace is refused (InvalidArgument).
//  - A run is created `running` with its writer's pid, host and process start token. Opening a
//    store (read-write) marks `running` runs whose writer process is provably gone (same host,
//    and the pid no longer exists, is a zombie, or now belongs to another process) as
//    `interrupted`. Runs of living processes, and runs written on other hosts, are left alone.
//  - Everything a call writes is committed atomically (one transaction) before it returns;
//    MetricWriter batches rows and commits them at its flushes. Committed data survives a crash
//    of the writing process (SIGKILL) — synchronous=FULL also makes it survive power loss.
//  - Artifact files are written to a temporary name, fsynced, renamed, the folder fsynced, and
//    only then registered, so a registered path always names a complete file.
//  - Times are Unix seconds (double, UTC). Metric values are doubles; NaN is stored as NULL
//    and reads back as NaN. A (run, key, step) holds one value: logging it again replaces it.
//
// Thread-safety: a RunStore (and a MetricWriter) is one SQLite connection; use each from one
// thread at a time. Open one per thread: readers (the GUI) never block the writer and never
// see a partly committed batch (WAL snapshot isolation).
//
// Errors: t2::Error — Io (cannot open/write, busy past the timeout, disk full), Corrupt (not a
// healthy database, malformed stored JSON), Unsupported (newer schema), InvalidArgument (bad
// argument, unknown run id/name).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace t2 {

enum class RunStatus { Running, Finished, Failed, Cancelled, Interrupted };
const char* to_string(RunStatus status) noexcept;           // "running", "finished", ...
RunStatus run_status_from_string(const std::string& text);  // throws InvalidArgument

// Identifies a process across pid reuse: pid + host + a start token (Linux: boot id and the
// process start time in clock ticks from /proc/PID/stat).
struct ProcessIdentity {
  std::int64_t pid = 0;     // operating-system process id
  std::string host;         // gethostname()
  std::string start_token;  // "BOOT_ID:START_TICKS"; "" when unknown
};
ProcessIdentity current_process_identity();
// Alive: same host, the pid exists, is not a zombie and has the same start token.
// Dead: same host and any of those fails. Unknown: another host (cannot tell).
enum class Liveness { Alive, Dead, Unknown };
Liveness process_liveness(const ProcessIdentity& identity);

// $T2_DB if set, else $XDG_DATA_HOME/t2-workbench/workspace.db, else
// ~/.local/share/t2-workbench/workspace.db. Does not create anything.
std::string default_run_store_path();

struct RunStoreOptions {
  bool create = true;           // create the file (and its folders) when missing
  bool read_only = false;       // open read-only: no migrations, no interrupted-marking
  int busy_timeout_ms = 10000;  // wait this long for another writer's lock (ms), >= 0
};

struct ModelRecord {
  std::int64_t id = 0;           // assigned by the store
  std::string path;              // model folder or file
  std::string fingerprint;       // model_fingerprint() of the folder (unique)
  std::string architecture;      // e.g. "LlamaForCausalLM"
  std::string dims_json = "{}";  // JSON object, e.g. {"hidden":2048,"layers":16}
  double created_at = 0.0;       // Unix seconds; set by the store
};

struct DecompositionRecord {
  std::int64_t id = 0;
  std::int64_t model_id = 0;
  std::string target_set;  // e.g. "mlp" or "q,k,v,o,gate,up,down"
  std::string cache_path;  // folder/file of the cached SVD factors
  double created_at = 0.0;
};

struct NewRun {
  std::string kind;                // what made it; the engine writes train | pretrain | eval
  std::string name;                // human-readable; need not be unique
  std::string params_json = "{}";  // a JSON object, stored verbatim
  std::string notes;
  std::vector<std::string> tags;
  std::optional<std::int64_t> model_id;  // models.id, if the run uses a registered model
};

struct RunRecord {
  std::int64_t id = 0;
  std::string kind;
  std::string name;
  RunStatus status = RunStatus::Running;
  std::string params_json;  // verbatim, as given to begin_run
  std::optional<std::int64_t> model_id;
  double started_at = 0.0;  // Unix seconds
  std::optional<double> finished_at;
  ProcessIdentity writer;  // the process that created the run
  std::string notes;
  std::string message;            // error/cancel/interrupt explanation; "" when finished normally
  std::vector<std::string> tags;  // sorted
};

enum class RunSort { StartedDesc, StartedAsc, NameAsc, IdAsc, IdDesc };

struct RunFilter {
  std::string kind;                     // exact kind; "" = any
  std::optional<RunStatus> status;      // any when empty
  std::string tag;                      // runs carrying this tag; "" = any
  std::string name_contains;            // case-sensitive substring of the name; "" = any
  RunSort sort = RunSort::StartedDesc;  // ties broken by id, in the same direction
  int limit = 0;                        // at most this many runs; 0 = all
};

struct MetricPoint {
  std::int64_t step = 0;
  double value = 0.0;      // NaN if a NaN was logged
  double wall_time = 0.0;  // Unix seconds when logged
};

struct MetricSeries {
  std::int64_t run_id = 0;
  std::string key;
  std::vector<MetricPoint> points;  // ascending step
  std::int64_t total_points = 0;    // points stored before downsampling
};

// Downsampling of a series longer than max_points: the first and last points are kept, and the
// interior is split into (max_points - 2) / 2 equal-count buckets, each contributing its
// minimum and its maximum value (in step order; NaN points are skipped unless the bucket has no
// other). Peaks and dips therefore survive, which a stride would miss.
struct SeriesQuery {
  std::vector<std::int64_t> run_ids;  // in output order
  std::vector<std::string> keys;      // in output order; empty = every key of each run
  std::size_t max_points = 0;         // 0 = all points; otherwise >= 2
};

enum class BestMode { Max, Min, Last };

struct BestValue {
  std::int64_t run_id = 0;
  std::string key;
  bool found = false;     // false when the run has no non-NaN value for the key
  std::int64_t step = 0;  // earliest step reaching the best value (Last: the last step)
  double value = 0.0;
};

// One parameter that differs between runs. Nested JSON objects are flattened into dotted keys
// ("optimizer.lr"); arrays and scalars are leaves, compared and shown as compact JSON text.
struct ParamDifference {
  std::string key;
  std::vector<std::optional<std::string>> values;  // one per run, in order; empty = absent
};

struct ExpertRecord {
  std::int64_t id = 0;
  std::optional<std::int64_t> run_id;  // the training run; empty for imported experts
  std::string name;
  std::string path;             // expert file (written atomically)
  std::string parametrization;  // "paper" | "sakana-compat" | "sakana-mixed" (t2/experts.h)
  std::string target_set;
  std::string base_fingerprint;   // models.fingerprint of the base model
  std::string stats_json = "{}";  // summary statistics, a JSON object
  double created_at = 0.0;
};

struct EvaluationItem {
  std::int64_t index = 0;  // position in the task's item list
  std::string prompt;
  std::string reference;   // expected answer
  std::string prediction;  // full model output
  std::string extracted_answer;
  bool correct = false;
};

struct EvaluationRecord {
  std::int64_t id = 0;
  std::int64_t run_id = 0;
  std::string task;      // e.g. "gsm8k"
  std::string strategy;  // e.g. "base", "expert:<file name>" (eval_strategy, t2/evaluation.h)
  std::int64_t n = 0;    // items evaluated
  std::int64_t correct = 0;
  double accuracy = 0.0;  // correct / n (0 when n = 0); computed by the store
  double created_at = 0.0;
};

struct SampleRecord {
  std::int64_t id = 0;
  std::int64_t run_id = 0;
  std::int64_t step = 0;
  std::string prompt;
  std::string completion;
  double reward = 0.0;  // NaN when not scored
  double created_at = 0.0;
};

struct ChatRecord {
  std::int64_t id = 0;
  std::optional<std::int64_t> run_id;  // the run it belongs to, if any (nothing writes chats yet)
  std::string title;
  double created_at = 0.0;
};

struct MessageRecord {
  std::int64_t id = 0;
  std::int64_t chat_id = 0;
  std::string role;  // system | user | assistant
  std::string content;
  std::string pass1_decision;          // e.g. "math" (two-pass dispatch), "" if none
  std::string expert_mix_json = "{}";  // e.g. {"math":0.7,"code":0.3}
  std::string timings_json = "{}";     // e.g. {"pass1_ms":12,"tokens_per_s":40}
  double created_at = 0.0;
};

struct ArtifactRecord {
  std::int64_t id = 0;
  std::int64_t run_id = 0;
  std::string kind;  // training writes "expert"/"adapter" (+ "-latest") and "checkpoint"
  std::string path;
  std::int64_t bytes = 0;
  double created_at = 0.0;
};

// Writes `path` crash-safely: `write` fills a temporary file in the same folder (it receives
// that temporary path), which is then fsynced, renamed over `path`, and the folder fsynced.
// On any failure the temporary file is removed and `path` is left as it was.
void write_file_atomically(const std::string& path,
                           const std::function<void(const std::string& temp_path)>& write);
void write_file_atomically(const std::string& path, const std::string& bytes);

class MetricWriter;

class RunStore {
 public:
  static constexpr int kSchemaVersion = 1;

  explicit RunStore(const std::string& path, const RunStoreOptions& options = {});
  ~RunStore();
  RunStore(RunStore&&) noexcept;
  RunStore& operator=(RunStore&&) noexcept;

  const std::string& path() const;
  int schema_version() const;
  // Runs this open marked `interrupted` (their writer process was gone).
  const std::vector<std::int64_t>& interrupted_on_open() const;
  // "ok", or SQLite's list of problems (PRAGMA integrity_check).
  std::string integrity_check();

  // --- models and decompositions -------------------------------------------------------------
  // Inserts, or returns the id of the model with the same fingerprint (updating its path).
  std::int64_t add_model(const ModelRecord& model);
  std::optional<ModelRecord> find_model(const std::string& fingerprint);
  std::int64_t add_decomposition(const DecompositionRecord& decomposition);  // replaces same target
  std::vector<DecompositionRecord> decompositions(std::int64_t model_id);

  // --- runs ----------------------------------------------------------------------------------
  // Creates a `running` run owned by this process. params_json must be a JSON object.
  std::int64_t begin_run(const NewRun& run);
  // Sets the final status (not Running) and finished_at; `message` explains failures.
  void finish_run(std::int64_t run_id, RunStatus status, const std::string& message = {});
  // Takes over a run that stopped without finishing (interrupted, or running with a writer that
  // is provably gone) so that this process continues it (e.g. `t2 train --resume`): status
  // `running` again, writer = this process, finished_at and message cleared. InvalidArgument
  // when the run finished, failed or was cancelled, or its writer is alive or on another host.
  void resume_run(std::int64_t run_id);
  RunRecord get_run(std::int64_t run_id);  // throws InvalidArgument when absent
  std::optional<RunRecord> find_run(std::int64_t run_id);
  // A run id ("12") or a unique run name; throws InvalidArgument when none or several match.
  std::int64_t resolve_run(const std::string& id_or_name);
  std::vector<RunRecord> list_runs(const RunFilter& filter = {});
  void set_notes(std::int64_t run_id, const std::string& notes);
  void add_tag(std::int64_t run_id, const std::string& tag);
  void remove_tag(std::int64_t run_id, const std::string& tag);
  // Removes the run and everything that belongs to it (metrics, experts, evaluations, samples,
  // chats, artifact rows). With delete_files, also removes its artifact and expert files
  // (after the rows are committed; a missing file is not an error). Returns the files removed.
  std::vector<std::string> delete_run(std::int64_t run_id, bool delete_files);

  // --- metrics -------------------------------------------------------------------------------
  // One transaction for all rows. For training loops prefer metric_writer().
  void log_metrics(std::int64_t run_id, std::int64_t step,
                   const std::vector<std::pair<std::string, double>>& values);
  std::vector<std::string> metric_keys(std::int64_t run_id);  // sorted
  std::int64_t metric_count(std::int64_t run_id);
  std::vector<MetricSeries> metric_series(const SeriesQuery& query);
  // One entry per (run, key), runs outer, keys inner, in the given order.
  std::vector<BestValue> best_values(const std::vector<std::int64_t>& run_ids,
                                     const std::vector<std::string>& keys, BestMode mode);
  // Keys whose values differ between the runs (>= 2 runs), sorted by key.
  std::vector<ParamDifference> diff_params(const std::vector<std::int64_t>& run_ids);

  // --- export --------------------------------------------------------------------------------
  // CSV, long format, header "run,step,key,value", CRLF line ends, RFC 4180 quoting; rows by
  // run (given order), key, step. Values in shortest round-trip form; nan, inf, -inf.
  std::string metrics_csv(const std::vector<std::int64_t>& run_ids);
  // JSON: {"format":"t2-metrics","version":1,"runs":[{"id","name","kind","status","params",
  // "started_at","finished_at","metrics":{KEY:{"step":[..],"value":[..],"wall_time":[..]}}}]};
  // non-finite values are null.
  std::string metrics_json(const std::vector<std::int64_t>& run_ids, int indent = 2);
  // Write the above to a file (atomically).
  void export_metrics_csv(const std::vector<std::int64_t>& run_ids, const std::string& path);
  void export_metrics_json(const std::vector<std::int64_t>& run_ids, const std::string& path);

  // --- experts, evaluations, samples, chats, artifacts ---------------------------------------
  std::int64_t add_expert(const ExpertRecord& expert);
  std::vector<ExpertRecord> experts(std::optional<std::int64_t> run_id = std::nullopt);
  // Stores the evaluation and its items in one transaction; n, correct and accuracy are
  // computed from the items when items are given.
  std::int64_t add_evaluation(const EvaluationRecord& evaluation,
                              const std::vector<EvaluationItem>& items = {});
  std::vector<EvaluationRecord> evaluations(std::int64_t run_id);
  std::vector<EvaluationItem> evaluation_items(std::int64_t evaluation_id);
  std::int64_t add_sample(const SampleRecord& sample);
  // Several samples (e.g. one step's rollouts) in one transaction.
  void add_samples(const std::vector<SampleRecord>& samples);
  std::vector<SampleRecord> samples(std::int64_t run_id, std::int64_t limit = 0);  // by step
  std::int64_t add_chat(const ChatRecord& chat);
  std::int64_t add_message(const MessageRecord& message);
  std::vector<MessageRecord> messages(std::int64_t chat_id);
  std::vector<ChatRecord> chats(std::optional<std::int64_t> run_id = std::nullopt);
  // Registers an existing, complete file (its size is recorded) or folder (e.g. a LoRA adapter;
  // the sum of its files' sizes); throws Io when it is missing. delete_run(…, true) removes a
  // folder artifact with its contents.
  std::int64_t register_artifact(std::int64_t run_id, const std::string& kind,
                                 const std::string& path);
  // write_file_atomically(path, write), then register_artifact.
  std::int64_t save_artifact(std::int64_t run_id, const std::string& kind, const std::string& path,
                             const std::function<void(const std::string& temp_path)>& write);
  std::vector<ArtifactRecord> artifacts(std::int64_t run_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct MetricWriterOptions {
  std::size_t flush_rows = 2000;  // commit when this many rows are buffered, >= 1
  double flush_seconds = 2.0;     // commit at the next log() once the oldest buffered row is
                                  // this old (s), >= 0
  int busy_timeout_ms = 10000;    // lock wait for its connection (ms)
};

// Buffered metric logging for training loops. It owns its own connection to the database, so
// it can live on the training thread while readers use theirs. Rows are committed in batches
// (one transaction per flush): by count, by age (checked at log()), on flush() and on
// destruction. A crash loses at most the unflushed rows; committed batches are complete.
class MetricWriter {
 public:
  MetricWriter(const std::string& db_path, std::int64_t run_id,
               const MetricWriterOptions& options = {});
  ~MetricWriter();  // flushes; errors are swallowed here, so call flush() to see them
  MetricWriter(const MetricWriter&) = delete;
  MetricWriter& operator=(const MetricWriter&) = delete;

  void log(std::int64_t step, const std::string& key, double value);
  void log(std::int64_t step, const std::vector<std::pair<std::string, double>>& values);
  void flush();
  std::size_t buffered_rows() const;
  std::int64_t committed_rows() const;  // rows committed by this writer so far
  std::int64_t run_id() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace t2
