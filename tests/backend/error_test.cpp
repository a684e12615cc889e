#include <t2/error.h>

#include <gtest/gtest.h>

#include <new>
#include <set>
#include <string>

namespace {

t2::Error translate(void (*thrower)()) {
  try {
    thrower();
  } catch (...) {
    return t2::error_from_current_exception();
  }
  ADD_FAILURE() << "thrower did not throw";
  return t2::Error(t2::ErrorKind::Internal, "none");
}

TEST(Error, CarriesKindAndMessage) {
  t2::Error e(t2::ErrorKind::Corrupt, "header of model.safetensors is truncated; re-download it");
  EXPECT_EQ(e.kind(), t2::ErrorKind::Corrupt);
  EXPECT_STREQ(e.what(), "header of model.safetensors is truncated; re-download it");
  EXPECT_FALSE(e.is_cancelled());
  EXPECT_TRUE(t2::Error(t2::ErrorKind::Cancelled, "x").is_cancelled());
}

TEST(Error, KindNamesAreDistinctAndStable) {
  using K = t2::ErrorKind;
  const K kinds[] = {K::InvalidArgument, K::Io,          K::Corrupt, K::Unsupported,
                     K::Cancelled,       K::OutOfMemory, K::Internal};
  std::set<std::string> names;
  for (K k : kinds) names.insert(t2::to_string(k));
  EXPECT_EQ(names.size(), 7u);
  EXPECT_STREQ(t2::to_string(K::InvalidArgument), "invalid-argument");
  EXPECT_STREQ(t2::to_string(K::OutOfMemory), "out-of-memory");
}

TEST(Error, TranslatesCurrentException) {
  auto passthrough = translate([] { throw t2::Error(t2::ErrorKind::Io, "cannot open x"); });
  EXPECT_EQ(passthrough.kind(), t2::ErrorKind::Io);
  EXPECT_STREQ(passthrough.what(), "cannot open x");

  auto oom = translate([] { throw std::bad_alloc(); });
  EXPECT_EQ(oom.kind(), t2::ErrorKind::OutOfMemory);

  auto std_error = translate([] { throw std::logic_error("boom"); });
  EXPECT_EQ(std_error.kind(), t2::ErrorKind::Internal);
  EXPECT_NE(std::string(std_error.what()).find("boom"), std::string::npos);

  auto unknown = translate([] { throw 42; });
  EXPECT_EQ(unknown.kind(), t2::ErrorKind::Internal);
}

}  // namespace
