#include "plot/line_chart.h"

#include "plot/qcp.h"

#include <algorithm>
#include <cmath>

#include <limits>

namespace {
// A qualitative palette that stays distinguishable on white and in print.
const QColor kPalette[] = {QColor(31, 119, 180),  QColor(255, 127, 14),  QColor(44, 160, 44),
                           QColor(214, 39, 40),   QColor(148, 103, 189), QColor(140, 86, 75),
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
    if (s.x.size() <= kMarkerMaxPoints)
      graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
  }
  m_series = series;
  m_count = series.size();
  plot()->legend->setVisible(m_count > 0);
  if (m_count > 0) {
    plot()->rescaleAxes();
    // A margin so that end points and their markers are not cut by the axis rect.
    plot()->xAxis->scaleRange(1.06);
    plot()->yAxis->scaleRange(1.08);
    if (m_yLow < m_yHigh) {  // a fixed y range, widened only by data outside it
      double low = m_yLow, high = m_yHigh;
      for (const auto& s : series)
        for (double y : s.y)
          if (std::isfinite(y)) low = std::min(low, y), high = std::max(high, y);
      const double pad = 0.04 * (high - low);
      plot()->yAxis->setRange(low - pad, high + pad);
    }
  }
  setHasData(m_count > 0);
}

void LineChart::setYRange(double low, double high) {
  m_yLow = low;
  m_yHigh = high;
  setSeries(QVector<LineSeries>(m_series));
}

int LineChart::seriesCount() const { return m_count; }

void LineChart::setLogY(bool logY) {
  if (logY == m_logY) return;
  m_logY = logY;
  auto* axis = plot()->yAxis;
  if (logY) {
    axis->setScaleType(QCPAxis::stLogarithmic);
    axis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    // "g" keeps labels distinct when the range spans less than a decade (2.5, 3, 4, ...).
    axis->setNumberFormat(QStringLiteral("gb"));
    axis->setNumberPrecision(3);
  } else {
    axis->setScaleType(QCPAxis::stLinear);
    axis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    axis->setNumberFormat(QStringLiteral("gb"));
    axis->setNumberPrecision(6);
  }
  setSeries(QVector<LineSeries>(m_series));
}

void LineChart::setIntegerX(bool integerX) {
  if (integerX) {
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    plot()->xAxis->setTicker(ticker);
  } else {
    plot()->xAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
  }
  plot()->replot(QCustomPlot::rpQueuedReplot);
}

void LineChart::setLegendBelow() {
  auto* legend = plot()->legend;
  auto* layout = plot()->plotLayout();
  if (legend->layout() == layout) return;  // already below
  auto* inset = plot()->axisRect()->insetLayout();
  inset->take(legend);
  inset->simplify();
  const int row = layout->rowCount();
  layout->addElement(row, 0, legend);
  layout->setRowStretchFactor(row, 0.001);
  legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  legend->setMargins(QMargins(6, 0, 6, 0));
  legend->setBorderPen(Qt::NoPen);
  legend->setMinimumMargins(QMargins(0, 0, 0, 6));
  plot()->replot(QCustomPlot::rpQueuedReplot);
}
