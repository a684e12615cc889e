// The Model panel's "Tokenizer" tab: type text, see it as tokens (count, ids, coloured chips with
// visible whitespace and special tokens highlighted; tooltips give id and piece) and whether the
// ids decode back to exactly the text. Encoding runs on the GUI thread, debounced (~150 ms):
// short texts take milliseconds; texts over kMaxChars are cut (and the panel says so).
#pragma once

#include "model_tab.h"
#include "token_chips.h"

#include <vector>

class QLabel;
class QPlainTextEdit;
class QTextEdit;
class QTimer;

class TokenizerTab : public ModelTab {
  Q_OBJECT

 public:
  static constexpr int kMaxChars = 20000;
  static constexpr int kDebounceMs = 150;

  explicit TokenizerTab(QWidget* parent = nullptr);
  void setModel(std::shared_ptr<const LoadedModel> model) override;

  void setText(const QString& text);  // edits the input (the update follows the debounce)
  void updateNow();                   // encodes the current text now
  QString text() const;
  const std::vector<std::int32_t>& ids() const { return m_ids; }
  const std::vector<TokenChip>& chips() const { return m_chips; }
  QString countText() const;      // "12 tokens · 40 characters · 41 bytes"
  QString roundTripText() const;  // "decodes back exactly" or the difference
  QString errorText() const;      // red line: no tokenizer, encode error; empty when fine
  QTextEdit* chipView() const { return m_chipView; }

 private:
  void showError(const QString& error);

  std::shared_ptr<const LoadedModel> m_model;
  QPlainTextEdit* m_input;
  QTimer* m_debounce;
  QLabel* m_count;
  QLabel* m_roundTrip;
  QLabel* m_error;
  QTextEdit* m_chipView;
  QPlainTextEdit* m_idsView;
  std::vector<std::int32_t> m_ids;
  std::vector<TokenChip> m_chips;
};
