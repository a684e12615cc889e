// House rules that a compiler cannot check: backend/ never includes Qt.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

// Lines of `text` that include a Qt (or QCustomPlot) header.
std::vector<std::string> qt_includes(const std::string& text) {
  static const std::regex include(
      R"(^\s*#\s*include\s*[<"]\s*(Q[A-Za-z]\w*|Qt\w*/[^>"]+|qcustomplot\.h|q(t|global|string|object|list|vector|map|hash|variant|debug|file|dir|core|gui|widget|pointer|metatype|namespace)\w*\.h)\s*[>"])");
  std::vector<std::string> hits;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    if (std::regex_search(line, include)) hits.push_back(line);
  return hits;
}

TEST(SourceRules, DetectorRecognisesQtIncludes) {
  EXPECT_EQ(qt_includes("#include <QString>").size(), 1u);
  EXPECT_EQ(qt_includes("  #  include \"QtCore/qglobal.h\"").size(), 1u);
  EXPECT_EQ(qt_includes("#include <QtWidgets>").size(), 1u);
  EXPECT_EQ(qt_includes("#include <qcustomplot.h>").size(), 1u);
  EXPECT_EQ(qt_includes("#include <qglobal.h>").size(), 1u);
  EXPECT_TRUE(qt_includes("#include <queue>\n#include <t2/engine.h>\n// QString\n").empty());
  EXPECT_TRUE(qt_includes("#include \"quantize.h\"").empty());
}

TEST(SourceRules, BackendHasNoQtInclude) {
  const fs::path backend = fs::path(T2_SOURCE_DIR) / "backend";
  ASSERT_TRUE(fs::is_directory(backend)) << backend;
  int scanned = 0;
  std::vector<std::string> offenders;
  for (const auto& entry : fs::recursive_directory_iterator(backend)) {
    const auto ext = entry.path().extension().string();
    if (!entry.is_regular_file() ||
        (ext != ".h" && ext != ".hpp" && ext != ".cpp" && ext != ".cc" && ext != ".inl"))
      continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    ++scanned;
    for (const auto& line : qt_includes(text.str()))
      offenders.push_back(entry.path().string() + ": " + line);
  }
  EXPECT_GT(scanned, 5) << "backend sources not found";
  EXPECT_TRUE(offenders.empty()) << "backend/ must stay Qt-free:\n"
                                 << [&] {
                                      std::string all;
                                      for (const auto& o : offenders) all += o + "\n";
                                      return all;
                                    }();
}

TEST(SourceRules, BackendBuildDoesNotLinkQt) {
  std::ifstream in(fs::path(T2_SOURCE_DIR) / "backend" / "CMakeLists.txt");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str().find("Qt6::"), std::string::npos);
  EXPECT_EQ(text.str().find("QCustomPlot"), std::string::npos);
}

}  // namespace
