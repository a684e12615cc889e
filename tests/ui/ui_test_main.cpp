// GoogleTest main for widget tests: one QApplication (offscreen unless told otherwise).
#include "qt_messages.h"

#include <QApplication>

#include <gtest/gtest.h>

#include <cstdlib>

int main(int argc, char** argv) {
  ::setenv("QT_QPA_PLATFORM", "offscreen", 0);
  ::testing::InitGoogleTest(&argc, argv);
  installQtMessageHandler();
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("t2-workbench-tests"));
  return RUN_ALL_TESTS();
}
