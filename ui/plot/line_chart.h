// Several named (x, y) line series with a legend, e.g. one metric of several runs overlaid.
#pragma once

#include "plot/chart_base.h"

#include <QVector>

struct LineSeries {
  QString name;       // legend entry, e.g. "run 12: reward/mean"
  QVector<double> x;  // ascending, same length as y
  QVector<double> y;  // NaN leaves a gap
};

class LineChart : public ChartBase {
  Q_OBJECT

 public:
  explicit LineChart(QWidget* parent = nullptr);

  void setSeries(const QVector<LineSeries>& series);  // replaces all series, rescales axes
  int seriesCount() const;
  const QVector<LineSeries>& series() const { return m_series; }  // as last set
  // Logarithmic y axis (powers of ten); non-positive y values are left out (gaps).
  void setLogY(bool logY);
  bool logY() const { return m_logY; }
  // Shows at least [low, high] on y (e.g. 0-100 for percentages, whatever the data); data
  // outside widens it. low >= high: fit the data (the default).
  void setYRange(double low, double high);
  // Integer ticks on x (e.g. layer indices) instead of fractional ones.
  void setIntegerX(bool integerX);
  // Moves the legend from inside the plot (top right) to a row below it, in columns, so that it
  // never hides data (for series that rise to the right).
  void setLegendBelow();

  // Series with at most this many points also draw a marker at each point.
  static constexpr int kMarkerMaxPoints = 64;

 private:
  int m_count = 0;
  bool m_logY = false;
  double m_yLow = 0.0, m_yHigh = 0.0;
  QVector<LineSeries> m_series;
};
