// RunStore::resume_run: only a run whose writer is gone may be taken over, and taking it over
// makes this process its writer again.
#include <t2/error.h>
#include <t2/run_store.h>

#include "run_store_test_support.h"

namespace t2 {
namespace {

TEST(RunStoreResume, TakesOverAnInterruptedRunOnly) {
  const auto dir = t2_test::fresh_dir();
  RunStore store((dir / "w.db").string());
  const std::int64_t id = store.begin_run({"train", "r", "{}", "", {}, std::nullopt});
  // Running with a live writer (this process): refused.
  EXPECT_THROW(store.resume_run(id), Error);
  // Its writer gone: the run is interrupted (what opening the store would mark); now it works.
  store.finish_run(id, RunStatus::Interrupted, "writer gone");
  t2_test::RawDb raw((dir / "w.db").string());
  raw.query("UPDATE runs SET pid = 0, process_token = 'x' WHERE id = " + std::to_string(id));
  store.resume_run(id);
  const RunRecord run = store.get_run(id);
  EXPECT_EQ(run.status, RunStatus::Running);
  EXPECT_FALSE(run.finished_at.has_value());
  EXPECT_EQ(run.message, "");
  EXPECT_EQ(run.writer.pid, current_process_identity().pid);
  EXPECT_EQ(run.writer.start_token, current_process_identity().start_token);
  // Finished, failed and cancelled runs stay as they are.
  for (RunStatus final_status : {RunStatus::Finished, RunStatus::Failed, RunStatus::Cancelled}) {
    store.finish_run(id, final_status);
    try {
      store.resume_run(id);
      ADD_FAILURE() << "resumed a " << to_string(final_status) << " run";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("only an interrupted run can be resumed"),
                std::string::npos)
          << e.what();
    }
    EXPECT_EQ(store.get_run(id).status, final_status);
  }
  EXPECT_THROW(store.resume_run(id + 100), Error);
}

}  // namespace
}  // namespace t2
