#include "self_check_panel.h"

#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

SelfCheckPanel::SelfCheckPanel(QWidget* parent)
    : QWidget(parent),
      m_headline(new QLabel(this)),
      m_text(new QPlainTextEdit(this)),
      m_run(new QPushButton(tr("Run self-check"), this)) {
  m_text->setReadOnly(true);
  m_text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  m_text->setLineWrapMode(QPlainTextEdit::NoWrap);
  m_headline->setWordWrap(true);
  m_run->setToolTip(tr("Measure GEMM throughput and memory bandwidth (F5)"));
  connect(m_run, &QPushButton::clicked, this, &SelfCheckPanel::runRequested);

  auto* top = new QHBoxLayout;
  top->addWidget(m_headline, 1);
  top->addWidget(m_run);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(m_text, 1);
}

void SelfCheckPanel::setSystemInfo(const t2::SystemInfo& info) {
  m_headline->setText(
      tr("<b>This machine</b> - run the self-check (F5) to measure GEMM "
         "throughput and memory bandwidth."));
  m_text->setPlainText(QString::fromStdString(t2::to_text(info)));
}

void SelfCheckPanel::setReport(const t2::SelfCheckReport& report) {
  m_headline->setText(report.warnings.empty()
                          ? tr("<b>Self-check passed</b> - %1 GFLOP/s GEMM, %2 GB/s memory copy.")
                                .arg(report.gemm_gflops, 0, 'f', 1)
                                .arg(report.copy_bandwidth_gbs, 0, 'f', 1)
                          : tr("<b><font color='#b00020'>Self-check found %n problem(s)</font></b>"
                               " - see the warnings below.",
                               nullptr, int(report.warnings.size())));
  m_text->setPlainText(QString::fromStdString(t2::to_text(report)));
}

void SelfCheckPanel::setBusy(bool busy) { m_run->setEnabled(!busy); }

QString SelfCheckPanel::reportText() const { return m_text->toPlainText(); }
