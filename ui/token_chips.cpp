#include "token_chips.h"

#include <QColor>
#include <QFontDatabase>
#include <QTextCharFormat>
#include <QTextCursor>
#include <QTextDocument>
#include <QTextEdit>

#include <algorithm>

namespace {
constexpr std::size_t kContextTokens = 4;  // decoded before a token to find its text
constexpr std::size_t kMaxGroup = 4;       // tokens one character may span (UTF-8: 4 bytes)
const char* const kReplacement = "\xEF\xBF\xBD";

bool endsWith(const std::string& s, const char* suffix) {
  const std::string t(suffix);
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

std::string decodeRange(const t2::Tokenizer& tok, const std::vector<std::int32_t>& ids,
                        std::size_t begin, std::size_t end) {
  return tok.decode(std::vector<std::int32_t>(ids.begin() + begin, ids.begin() + end));
}

QString hexCode(char32_t c) {
  return QStringLiteral("U+") +
         QStringLiteral("%1").arg(uint(c), 4, 16, QLatin1Char('0')).toUpper();
}
}  // namespace

std::vector<TokenChip> tokenChips(const t2::Tokenizer& tokenizer,
                                  const std::vector<std::int32_t>& ids) {
  std::vector<TokenChip> chips(ids.size());
  std::size_t groupStart = 0;  // first token whose text is not assigned yet
  for (std::size_t i = 0; i < ids.size(); ++i) {
    TokenChip& chip = chips[i];
    chip.id = ids[i];
    chip.piece = QString::fromStdString(tokenizer.token_to_piece(ids[i]));
    chip.special = tokenizer.decode({ids[i]}, true).empty() && !tokenizer.decode({ids[i]}).empty();
    const std::size_t context = groupStart - std::min(groupStart, kContextTokens);
    const std::string before = decodeRange(tokenizer, ids, context, groupStart);
    const std::string after = decodeRange(tokenizer, ids, context, i + 1);
    const bool incomplete =
        endsWith(after, kReplacement) && i + 1 < ids.size() && i + 1 - groupStart < kMaxGroup;
    if (incomplete) continue;  // the character goes on in the next token
    const std::string text = after.compare(0, before.size(), before) == 0
                                 ? after.substr(before.size())
                                 : decodeRange(tokenizer, ids, groupStart, i + 1);
    for (std::size_t j = groupStart; j < i; ++j) chips[j].partial = true;
    chip.text = QString::fromStdString(text);
    groupStart = i + 1;
  }
  return chips;
}

QString visibleWhitespace(const QString& text) {
  QString out;
  out.reserve(text.size());
  for (QChar c : text) {
    switch (c.unicode()) {
      case ' ':
        out += QChar(0x00B7);
        break;
      case '\n':
        out += QChar(0x21B5);
        break;
      case '\t':
        out += QChar(0x2192);
        break;
      case '\r':
        out += QChar(0x240D);
        break;
      default:
        out += c;
    }
  }
  return out;
}

void renderChips(QTextEdit* view, const std::vector<TokenChip>& chips, ChipStyle style) {
  static const QColor kChip[2] = {QColor(0xdb, 0xea, 0xfe), QColor(0xfe, 0xf0, 0xc7)};
  static const QColor kSpecialBack(0x6d, 0x28, 0xd9);
  static const QColor kPartialBack(0xe5, 0xe7, 0xeb);
  view->clear();
  QTextCursor cursor(view->document());
  QTextCharFormat plain;
  plain.setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  plain.setForeground(view->palette().text());
  QTextCharFormat gap;  // a narrow plain space between chips: separates them, allows wrapping
  gap.setFontPointSize(4);
  for (std::size_t i = 0; i < chips.size(); ++i) {
    const TokenChip& chip = chips[i];
    QTextCharFormat format = plain;
    format.setToolTip(QStringLiteral("id %1 · piece '%2'%3")
                          .arg(chip.id)
                          .arg(chip.piece.toHtmlEscaped())
                          .arg(chip.special   ? QStringLiteral(" · special token")
                               : chip.partial ? QStringLiteral(" · part of a multi-token character")
                                              : QString()));
    if (chip.special) {
      format.setBackground(kSpecialBack);
      format.setForeground(Qt::white);
      format.setFontWeight(QFont::Bold);
    } else if (style == ChipStyle::Chips) {
      format.setBackground(chip.partial ? kPartialBack : kChip[i % 2]);
      format.setForeground(QColor(0x11, 0x18, 0x27));
    }
    // Chips: a partial token shows "…" (its character is on the group's last chip).
    QString shown = chip.partial && style == ChipStyle::Chips ? QStringLiteral("…") : chip.text;
    if (style == ChipStyle::Chips && !chip.special) shown = visibleWhitespace(shown);
    if (style == ChipStyle::Chips && shown.isEmpty()) shown = QStringLiteral("∅");
    if (style == ChipStyle::Chips && !cursor.atBlockStart())
      cursor.insertText(QStringLiteral(" "), gap);
    // Split at newlines so that the layout breaks lines where the text does.
    const QStringList lines = shown.split(style == ChipStyle::Chips ? QChar(0x21B5) : QChar('\n'));
    for (int l = 0; l < lines.size(); ++l) {
      if (l > 0) {
        if (style == ChipStyle::Chips) cursor.insertText(QString(QChar(0x21B5)), format);
        cursor.insertBlock();
      }
      if (!lines[l].isEmpty()) cursor.insertText(lines[l], format);
    }
  }
  view->moveCursor(QTextCursor::Start);
}

QString countOf(qsizetype n, const char* one, const char* many) {
  return QStringLiteral("%1 %2").arg(n).arg(QString::fromUtf8(n == 1 ? one : many));
}

QString firstDifference(const QString& expected, const QString& actual) {
  const QList<uint> a = expected.toUcs4();
  const QList<uint> b = actual.toUcs4();
  qsizetype i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  if (i == a.size() && i == b.size()) return {};
  const auto describe = [](const QList<uint>& s, qsizetype at) {
    if (at >= s.size()) return QStringLiteral("end of text");
    const char32_t c = s[at];
    return QStringLiteral("'%1' (%2)").arg(visibleWhitespace(QString::fromUcs4(&c, 1)), hexCode(c));
  };
  return QStringLiteral("differs at character %1: expected %2, got %3")
      .arg(i + 1)
      .arg(describe(a, i), describe(b, i));
}
