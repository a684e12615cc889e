#include "plot/bar_chart.h"
#include "test_support.h"

#include <QFile>
#include <QImage>

#include <gtest/gtest.h>

namespace {

QByteArray readAll(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

TEST(BarChart, ExportsEveryFormat) {
  BarChart chart;
  chart.resize(480, 320);
  chart.setTitles(QStringLiteral("GEMM throughput"), QStringLiteral("n"),
                  QStringLiteral("GFLOP/s"));
  chart.setData({QStringLiteral("512"), QStringLiteral("1024")}, {120.0, 240.0});
  EXPECT_EQ(chart.barCount(), 2);

  const QString png = testOutputPath(QStringLiteral("bar_chart.png"));
  ASSERT_EQ(chart.exportTo(png), QString());
  QImage image(png);
  ASSERT_FALSE(image.isNull());
  EXPECT_EQ(image.width(), 800 * 2);  // never shown: default size, at 2x for print quality
  EXPECT_EQ(image.height(), 500 * 2);
  // Pixels of the bar colour are present (the data was drawn, not just the axes).
  int barPixels = 0;
  for (int y = 0; y < image.height(); y += 4)
    for (int x = 0; x < image.width(); x += 4)
      if (image.pixelColor(x, y) == QColor(90, 150, 210)) ++barPixels;
  EXPECT_GT(barPixels, 100);

  const QString svg = testOutputPath(QStringLiteral("bar_chart.svg"));
  ASSERT_EQ(chart.exportTo(svg), QString());
  EXPECT_TRUE(readAll(svg).contains("<svg"));

  const QString pdf = testOutputPath(QStringLiteral("bar_chart.pdf"));
  ASSERT_EQ(chart.exportTo(pdf), QString());
  EXPECT_TRUE(readAll(pdf).startsWith("%PDF"));
}

TEST(BarChart, BadExportTargetsSayWhatToDo) {
  BarChart chart;
  EXPECT_TRUE(chart.exportTo(testOutputPath(QStringLiteral("chart.bmpx")))
                  .contains(QStringLiteral("use .png, .svg, .pdf or .jpg")));
  EXPECT_TRUE(chart.exportTo(QStringLiteral("/nonexistent-dir/x/chart.png"))
                  .contains(QStringLiteral("could not write")));
}

}  // namespace
