// A thin QCustomPlot wrapper: one labelled bar series fed with plain data, a placeholder text
// while empty, and "Export chart..." on right click.
#pragma once

#include <QString>
#include <QVector>
#include <QWidget>

class QCustomPlot;
class QCPBars;
class QCPItemText;

class BarChart : public QWidget {
  Q_OBJECT

 public:
  explicit BarChart(QWidget* parent = nullptr);

  void setTitles(const QString& title, const QString& valueAxisLabel);
  void setPlaceholder(const QString& text);  // shown while there is no data
  void setData(const QVector<QString>& labels, const QVector<double>& values);
  int barCount() const { return m_values.size(); }
  QCustomPlot* plot() const { return m_plot; }

  QString exportTo(const QString& path) const;  // empty on success, else the error

 private:
  void exportInteractively();

  QCustomPlot* m_plot;
  QCPBars* m_bars;
  QCPItemText* m_placeholder;
  QVector<double> m_values;
};
