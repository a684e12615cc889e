// One labelled bar series fed with plain data (e.g. GEMM GFLOP/s per matrix size).
#pragma once

#include "plot/chart_base.h"

#include <QVector>

class QCPBars;

class BarChart : public ChartBase {
  Q_OBJECT

 public:
  explicit BarChart(QWidget* parent = nullptr);

  void setData(const QVector<QString>& labels, const QVector<double>& values);
  int barCount() const { return m_values.size(); }
  // Value axis from 0 to `top` whatever the data (e.g. 100 for percentages); <= 0: fit the data.
  void setFixedTop(double top);

 private:
  QCPBars* m_bars;
  QVector<QString> m_labels;
  QVector<double> m_values;
  double m_fixedTop = 0.0;
};
