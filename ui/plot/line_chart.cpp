#include "plot/line_chart.h"

#include "plot/qcp.h"

#include <limits>

namespace {
// A qualitative palette that stays distinguishable on white and in print.
const QColor kPalette[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44),
                           QColor(214, 39, 40),  QColor(148, 103, 189), QColor(140, 86, 75),
                           QColor(227, 119, 194), QColor(127, 127, 127)};
}  // namespace

LineChart::LineChart(QWidget* parent) : ChartBase(parent) {
  plot()->legend->setVisible(false);
  plot()->legend->setFont(QFont(font().family(), 8));
  plot()->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  plot()->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  setSeries({});
}

void LineChart::setSeries(const QVector<LineSeries>& series) {
  plot()->clearGraphs();
  int index = 0;
  for (const auto& s : series) {
    auto* graph = plot()->addGraph();
    graph->setName(s.name);
    graph->setPen(QPen(kPalette[index++ % (sizeof kPalette / sizeof kPalette[0])], 1.6));
    QVector<double> y = s.y;
    if (m_logY)
      for (double& v : y)
        if (!(v > 0.0)) v = std::numeric_limits<double>::quiet_NaN();
    graph->setData(s.x, y, true);
  }
  m_series = series;
  m_count = series.size();
  plot()->legend->setVisible(m_count > 0);
  if (m_count > 0) plot()->rescaleAxes();
  setHasData(m_count > 0);
}

int LineChart::seriesCount() const { return m_count; }

void LineChart::setLogY(bool logY) {
  if (logY == m_logY) return;
  m_logY = logY;
  auto* axis = plot()->yAxis;
  if (logY) {
    axis->setScaleType(QCPAxis::stLogarithmic);
    auto ticker = QSharedPointer<QCPAxisTickerLog>::create();
    axis->setTicker(ticker);
    axis->setNumberFormat(QStringLiteral("eb"));
    axis->setNumberPrecision(0);
  } else {
    axis->setScaleType(QCPAxis::stLinear);
    axis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    axis->setNumberFormat(QStringLiteral("gb"));
    axis->setNumberPrecision(6);
  }
  setSeries(QVector<LineSeries>(m_series));
}
