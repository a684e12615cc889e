#include "plot/chart_base.h"

#include "plot/chart_export.h"
#include "plot/qcp.h"

#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>
#include <QVBoxLayout>

ChartBase::ChartBase(QWidget* parent)
    : QWidget(parent), m_plot(new QCustomPlot(this)), m_title(nullptr), m_placeholder(nullptr) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_plot);
  m_plot->setMinimumSize(240, 180);
  m_plot->plotLayout()->insertRow(0);
  m_title = new QCPTextElement(m_plot, QString(), QFont(font().family(), 10, QFont::Bold));
  m_plot->plotLayout()->addElement(0, 0, m_title);
  m_placeholder = new QCPItemText(m_plot);
  m_placeholder->position->setType(QCPItemPosition::ptAxisRectRatio);
  m_placeholder->position->setCoords(0.5, 0.5);
  m_placeholder->setColor(Qt::gray);
  m_plot->yAxis->grid()->setSubGridVisible(false);
  m_plot->setContextMenuPolicy(Qt::CustomContextMenu);
  connect(m_plot, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
    QMenu menu(this);
    menu.addAction(tr("Export chart..."), this, &ChartBase::exportInteractively);
    menu.exec(m_plot->mapToGlobal(pos));
  });
}

void ChartBase::setTitles(const QString& title, const QString& xLabel, const QString& yLabel) {
  m_title->setText(title);
  m_plot->xAxis->setLabel(xLabel);
  m_plot->yAxis->setLabel(yLabel);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void ChartBase::setPlaceholder(const QString& text) {
  m_placeholder->setText(text);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void ChartBase::setHasData(bool hasData) {
  m_placeholder->setVisible(!hasData);
  m_plot->replot(QCustomPlot::rpQueuedReplot);
}

QString ChartBase::exportTo(const QString& path) const { return exportChart(m_plot, path); }

void ChartBase::exportInteractively() {
  const QString path =
      QFileDialog::getSaveFileName(this, tr("Export chart"), QString(), chartExportFilter());
  if (path.isEmpty()) return;
  const QString error = exportTo(path);
  if (!error.isEmpty()) QMessageBox::warning(this, tr("Export chart"), error);
}
