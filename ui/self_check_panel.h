// Shows the machine report (versions, devices, threads, BLAS) and, once measured, the compute
// self-check (GEMM GFLOP/s, memory bandwidth, warnings). Plain data in, no engine calls.
#pragma once

#include <t2/self_check.h>

#include <QWidget>

class QLabel;
class QPlainTextEdit;
class QPushButton;

class SelfCheckPanel : public QWidget {
  Q_OBJECT

 public:
  explicit SelfCheckPanel(QWidget* parent = nullptr);

  void setSystemInfo(const t2::SystemInfo& info);  // before any measurement
  void setReport(const t2::SelfCheckReport& report);
  void setBusy(bool busy);  // disables the run button
  QString reportText() const;

 Q_SIGNALS:
  void runRequested();

 private:
  QLabel* m_headline;
  QPlainTextEdit* m_text;
  QPushButton* m_run;
};
