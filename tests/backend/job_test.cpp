#include <t2/error.h>
#include <t2/job.h>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace {

TEST(CancelToken, CopiesShareTheFlag) {
  t2::CancelToken a;
  t2::CancelToken b = a;
  EXPECT_FALSE(b.cancel_requested());
  a.request_cancel();
  EXPECT_TRUE(b.cancel_requested());
  t2::CancelToken fresh;
  EXPECT_FALSE(fresh.cancel_requested());
}

TEST(CancelToken, CancelFromAnotherThreadIsSeen) {
  t2::CancelToken token;
  t2::JobContext job({}, token);
  std::thread canceller([token] { token.request_cancel(); });
  canceller.join();
  EXPECT_TRUE(job.cancel_requested());
  try {
    job.throw_if_cancelled();
    FAIL() << "expected a Cancelled error";
  } catch (const t2::Error& e) {
    EXPECT_EQ(e.kind(), t2::ErrorKind::Cancelled);
  }
}

TEST(JobContext, ReportsClampedProgress) {
  std::vector<t2::Progress> seen;
  t2::JobContext job([&](const t2::Progress& p) { seen.push_back(p); });
  job.report("load", -0.5, "starting");
  job.report("load", 0.25);
  job.report("load", 7.0, "done");
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_DOUBLE_EQ(seen[0].fraction, 0.0);
  EXPECT_EQ(seen[0].message, "starting");
  EXPECT_DOUBLE_EQ(seen[1].fraction, 0.25);
  EXPECT_DOUBLE_EQ(seen[2].fraction, 1.0);
  EXPECT_EQ(seen[2].stage, "load");
}

TEST(JobContext, DefaultContextIsSilentAndNotCancelled) {
  t2::JobContext job;
  job.report("x", 0.5, "nobody listens");
  EXPECT_FALSE(job.cancel_requested());
  EXPECT_NO_THROW(job.throw_if_cancelled());
}

}  // namespace
