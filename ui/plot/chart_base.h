// Common frame of the workbench's charts: a QCustomPlot with a title, a placeholder text shown
// while there is no data, and "Export chart..." (PNG, SVG, PDF, JPEG) on right click.
// Subclasses feed plain data and never expose QCustomPlot types in their own API.
#pragma once

#include <QString>
#include <QWidget>

class QCustomPlot;
class QCPItemText;
class QCPTextElement;

class ChartBase : public QWidget {
  Q_OBJECT

 public:
  explicit ChartBase(QWidget* parent = nullptr);

  void setTitles(const QString& title, const QString& xLabel, const QString& yLabel);
  void setPlaceholder(const QString& text);  // shown while hasData() is false
  QCustomPlot* plot() const { return m_plot; }
  QString exportTo(const QString& path) const;  // empty on success, else the error

 protected:
  void setHasData(bool hasData);  // shows/hides the placeholder and queues a replot

 private:
  void exportInteractively();

  QCustomPlot* m_plot;
  QCPTextElement* m_title;
  QCPItemText* m_placeholder;
};
