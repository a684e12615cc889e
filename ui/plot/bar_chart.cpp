#include "plot/bar_chart.h"

#include "plot/qcp.h"

#include <algorithm>

BarChart::BarChart(QWidget* parent) : ChartBase(parent), m_bars(nullptr) {
  m_bars = new QCPBars(plot()->xAxis, plot()->yAxis);
  m_bars->setPen(QPen(QColor(31, 78, 121)));
  m_bars->setBrush(QColor(90, 150, 210));
  m_bars->setWidth(0.6);
  setData({}, {});
}

void BarChart::setData(const QVector<QString>& labels, const QVector<double>& values) {
  m_labels = labels;
  m_values = values;
  QVector<double> keys;
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  for (int i = 0; i < values.size(); ++i) {
    keys << i + 1;
    ticker->addTick(i + 1, i < labels.size() ? labels[i] : QString::number(i + 1));
  }
  m_bars->setData(keys, values, true);
  plot()->xAxis->setTicker(ticker);
  plot()->xAxis->setRange(0.3, std::max<int>(1, values.size()) + 0.7);
  const double top = values.isEmpty() ? 1.0 : *std::max_element(values.begin(), values.end());
  if (m_fixedTop > 0)
    plot()->yAxis->setRange(0, m_fixedTop);
  else
    plot()->yAxis->setRange(0, top > 0 ? top * 1.15 : 1.0);
  setHasData(!values.isEmpty());
}

void BarChart::setFixedTop(double top) {
  m_fixedTop = top;
  setData(m_labels, m_values);
}
