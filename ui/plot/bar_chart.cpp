#include "plot/bar_chart.h"

#include "plot/chart_export.h"
#include "plot/qcp.h"

#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>
#include <QVBoxLayout>

#include <algorithm>

BarChart::BarChart(QWidget* parent)
    : QWidget(parent), m_plot(new QCustomPlot(this)), m_bars(nullptr), m_placeholder(nullptr) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_plot);
  m_plot->setMinimumSize(240, 180);
  m_plot->plotLayout()->insertRow(0);
  m_plot->plotLayout()->addElement(0, 0, new QCPTextElement(m_plot, QString(), QFont(font().family(), 10, QFont::Bold)));
  m_bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
  m_bars->setPen(QPen(QColor(31, 78, 121)));
  m_bars->setBrush(QColor(90, 150, 210));
  m_bars->setWidth(0.6);
  m_placeholder = new QCPItemText(m_plot);
  m_placeholder->position->setType(QCPItemPosition::ptAxisRectRatio);
  m_placeholder->position->setCoords(0.5, 0.5);
  m_placeholder->setColor(Qt::gray);
  m_plot->yAxis->grid()->setSubGridVisible(false);
  m_plot->setContextMenuPolicy(Qt::CustomContextMenu);
  connect(m_plot, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
    QMenu menu(this);
    menu.addAction(tr("Export chart..."), this, &BarChart::exportInteractively);
    menu.exec(m_plot->mapToGlobal(pos));
  });
  setData({}, {});
}

void BarChart::setTitles(const QString& title, const QString& valueAxisLabel) {
  if (auto* text = qobject_cast<QCPTextElement*>(m_plot->plotLayout()->element(0, 0)))
    text->setText(title);
  m_plot->yAxis->setLabel(valueAxisLabel);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void BarChart::setPlaceholder(const QString& text) {
  m_placeholder->setText(text);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void BarChart::setData(const QVector<QString>& labels, const QVector<double>& values) {
  m_values = values;
  QVector<double> keys;
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  for (int i = 0; i < values.size(); ++i) {
    keys << i + 1;
    ticker->addTick(i + 1, i < labels.size() ? labels[i] : QString::number(i + 1));
  }
  m_bars->setData(keys, values, true);
  m_plot->xAxis->setTicker(ticker);
  m_plot->xAxis->setRange(0.3, std::max<int>(1, values.size()) + 0.7);
  const double top = values.isEmpty() ? 1.0 : *std::max_element(values.begin(), values.end());
  m_plot->yAxis->setRange(0, top > 0 ? top * 1.15 : 1.0);
  m_placeholder->setVisible(values.isEmpty());
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString BarChart::exportTo(const QString& path) const { return exportChart(m_plot, path); }

void BarChart::exportInteractively() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Export chart"), QString(),
                                                    chartExportFilter());
  if (path.isEmpty()) return;
  const QString error = exportTo(path);
  if (!error.isEmpty()) QMessageBox::warning(this, tr("Export chart"), error);
}
