// Help > About: what T2 Workbench is, its version, and the machine report.
#pragma once

#include <QDialog>

class AboutDialog : public QDialog {
  Q_OBJECT

 public:
  AboutDialog(const QString& reportText, QWidget* parent = nullptr);
};
