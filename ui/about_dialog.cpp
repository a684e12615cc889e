#include "about_dialog.h"

#include <t2/engine.h>

#include <QApplication>
#include <QClipboard>
#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QIcon>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

AboutDialog::AboutDialog(const QString& reportText, QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("About T2 Workbench"));
  auto* icon = new QLabel(this);
  icon->setPixmap(QIcon(QStringLiteral(":/t2/icons/t2-workbench.svg")).pixmap(64, 64));
  auto* text = new QLabel(
      tr("<h3>T2 Workbench %1</h3>"
         "<p>A desktop workbench for researchers who study self-adaptive LLMs in the manner of "
         "Transformer&sup2; (Sun, Cetin, Tang, 2025): decompose a model's weights by SVD, train "
         "singular-value expert vectors with reinforcement learning, and adapt the model in two "
         "passes - and see every step.</p>"
         "<p>Everything runs locally; nothing leaves the machine.</p>")
          .arg(QString::fromLatin1(t2::version())),
      this);
  text->setWordWrap(true);
  auto* header = new QHBoxLayout;
  header->addWidget(icon, 0, Qt::AlignTop);
  header->addWidget(text, 1);

  auto* report = new QPlainTextEdit(reportText, this);
  report->setReadOnly(true);
  report->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  report->setLineWrapMode(QPlainTextEdit::NoWrap);
  report->setObjectName(QStringLiteral("aboutReport"));

  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  auto* copy = buttons->addButton(tr("Copy report"), QDialogButtonBox::ActionRole);
  connect(copy, &QPushButton::clicked, this,
          [reportText] { QApplication::clipboard()->setText(reportText); });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(header);
  layout->addWidget(report, 1);
  layout->addWidget(buttons);
  resize(640, 520);
}
