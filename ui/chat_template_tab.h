// The Model panel's "Chat template" tab: edit a conversation (system message + role/content
// rows), toggle add_generation_prompt / enable_thinking, and see the prompt the model's chat
// template renders (monospace, special tokens highlighted) with its token count. Rendering runs
// on the GUI thread (milliseconds), debounced like the tokenizer tab. Template errors (with the
// template's line) show in red.
#pragma once

#include "model_tab.h"
#include "token_chips.h"

#include <t2/chat_message.h>

#include <vector>

class QCheckBox;
class QLabel;
class QPlainTextEdit;
class QTableWidget;
class QTextEdit;
class QTimer;

class ChatTemplateTab : public ModelTab {
  Q_OBJECT

 public:
  explicit ChatTemplateTab(QWidget* parent = nullptr);
  void setModel(std::shared_ptr<const LoadedModel> model) override;

  // The conversation as edited: the system message (if not blank) then the rows.
  std::vector<t2::ChatMessage> messages() const;
  void setConversation(const QString& system, const std::vector<t2::ChatMessage>& rows);
  void addRow(const QString& role = QStringLiteral("user"), const QString& content = {});
  void removeSelectedRows();
  t2::ChatTemplateOptions options() const;  // from the two check boxes
  QCheckBox* generationPromptBox() const { return m_generationPrompt; }
  QCheckBox* thinkingBox() const { return m_thinking; }

  void updateNow();
  QString rendered() const { return m_rendered; }
  const std::vector<TokenChip>& chips() const { return m_chips; }
  QString countText() const;
  QString errorText() const;

 private:
  void scheduleUpdate();
  void showError(const QString& error);

  std::shared_ptr<const LoadedModel> m_model;
  QPlainTextEdit* m_system;
  QTableWidget* m_table;
  QCheckBox* m_generationPrompt;
  QCheckBox* m_thinking;
  QLabel* m_error;
  QLabel* m_count;
  QTextEdit* m_view;
  QTimer* m_debounce;
  QString m_rendered;
  std::vector<TokenChip> m_chips;
};
