// Engine start-up: torch's intra-op thread count follows option > $T2_NUM_THREADS > all cores.
#include <t2/engine.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <thread>

namespace {

int cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

class EngineThreads : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv("T2_NUM_THREADS"); }
  void TearDown() override {
    ::unsetenv("T2_NUM_THREADS");
    t2::Engine restore;  // leave torch on all cores for the other tests
  }
};

TEST_F(EngineThreads, DefaultUsesAllCores) {
  t2::Engine engine;
  auto info = engine.system_info();
  EXPECT_EQ(info.intra_op_threads, cores());
  EXPECT_EQ(info.hardware_threads, cores());
  EXPECT_EQ(info.threads_source, "default: all cores");
}

TEST_F(EngineThreads, OptionWins) {
  ::setenv("T2_NUM_THREADS", "2", 1);
  t2::EngineOptions options;
  options.threads = 1;
  t2::Engine engine(options);
  EXPECT_EQ(engine.system_info().intra_op_threads, 1);
  EXPECT_EQ(engine.system_info().threads_source, "option");
}

TEST_F(EngineThreads, EnvironmentOverridesDefault) {
  ::setenv("T2_NUM_THREADS", "1", 1);
  t2::Engine engine;
  EXPECT_EQ(engine.system_info().intra_op_threads, 1);
  EXPECT_EQ(engine.system_info().threads_source, "T2_NUM_THREADS");
}

TEST_F(EngineThreads, EmptyEnvironmentMeansUnset) {
  ::setenv("T2_NUM_THREADS", "", 1);
  t2::Engine engine;
  EXPECT_EQ(engine.system_info().intra_op_threads, cores());
}

TEST_F(EngineThreads, MalformedEnvironmentIsAClearError) {
  for (const char* bad : {"abc", "0", "-3", "2x", "99999"}) {
    ::setenv("T2_NUM_THREADS", bad, 1);
    try {
      t2::Engine engine;
      ADD_FAILURE() << "accepted T2_NUM_THREADS=" << bad;
    } catch (const t2::Error& e) {
      EXPECT_EQ(e.kind(), t2::ErrorKind::InvalidArgument) << bad;
      EXPECT_NE(std::string(e.what()).find("T2_NUM_THREADS='" + std::string(bad) + "'"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST_F(EngineThreads, NegativeOptionIsRejected) {
  t2::EngineOptions options;
  options.threads = -2;
  EXPECT_THROW(t2::Engine{options}, t2::Error);
}

TEST(EngineInfo, ReportsVersionsDevicesAndBlas) {
  t2::Engine engine;
  auto info = engine.system_info();
  EXPECT_EQ(info.t2_version, t2::version());
  EXPECT_EQ(info.torch_version.substr(0, 2) == "1." || info.torch_version.substr(0, 2) == "2.",
            true)
      << info.torch_version;
  ASSERT_FALSE(info.devices.empty());
  EXPECT_EQ(info.devices.front().id, "cpu");
  EXPECT_FALSE(info.devices.front().name.empty());
  for (std::size_t i = 1; i < info.devices.size(); ++i)
    EXPECT_EQ(info.devices[i].id, "cuda:" + std::to_string(i - 1));
  EXPECT_GE(info.inter_op_threads, 1);
  // LibTorch links a BLAS; the process map must show which one.
  EXPECT_FALSE(info.blas_libraries.empty());
}

}  // namespace
