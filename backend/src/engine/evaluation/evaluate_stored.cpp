// evaluate_and_store (t2/evaluation.h): one evaluation recorded as a run, whatever its ending.
#include <t2/error.h>
#include <t2/evaluation.h>
#include <t2/tasks.h>

#include <utility>

namespace t2 {

StoredEvaluation evaluate_and_store(Session& session, const Tokenizer& tokenizer,
                                    const ChatTemplate* chat_template, const Task& task,
                                    EvalParams params, RunStore* store, EvalRunInfo info,
                                    const JobContext& job) {
  info.task_path = task.spec().path;
  info.task_name = task.spec().name;
  EvalReport last;  // the items finished so far, stored when the evaluation stops early
  last.task = info.task_name;
  last.split = params.split;
  auto caller = std::move(params.on_batch);
  params.on_batch = [&last, &caller](const EvalReport& so_far) {
    last = so_far;
    if (caller) caller(so_far);
  };
  StoredEvaluation out;
  if (store) out.run_id = begin_eval_run(*store, info, params);
  try {
    out.report = evaluate(session, tokenizer, chat_template, task, params, job);
  } catch (const Error& e) {
    if (store)
      finish_eval_run(*store, out.run_id, info, last,
                      e.is_cancelled() ? RunStatus::Cancelled : RunStatus::Failed, e.what());
    throw;
  }
  if (store) finish_eval_run(*store, out.run_id, info, out.report, RunStatus::Finished);
  return out;
}

}  // namespace t2
