// The Model panel's "Generate" tab: loads the folder's weights (the workspace's, with the dtype
// and device chosen here; load time and weight memory shown),
// then generates from a prompt with the sampling controls (greedy or temperature / top-p /
// top-k, repetition penalty, seed, max new tokens). With "Chat" the prompt is the user message
// of a conversation rendered by the chat template (optional system message) and encoded without
// special tokens; without it the prompt is encoded with add_special_tokens=true. "Token ids"
// takes the prompt as ids ("1, 15, 27"), the only way for a folder without a tokenizer.
//
// Load and generation run as one job on the JobRunner's interactive lane, so a generation runs
// while a training or an evaluation is active (Generate, Ctrl+Return; Stop or Esc cancels). The
// weights are the workspace's (shared with the other docks, loaded once per folder, dtype and
// device); the generation is the engine's t2::generate_text (the same prompt building, stop ids
// and streamed text as `t2 generate`). Tokens and text pieces stream to the GUI through a
// PartialChannel (batched, at most 10 a second). At the end the tab shows prompt and generated
// token counts, the finish reason and prefill / decode tokens per second.
#pragma once

#include "model_tab.h"

#include <t2/model.h>
#include <t2/text_generation.h>

#include <QVector>

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

class JobRunner;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class Workspace;

class GenerateTab : public ModelTab {
  Q_OBJECT

 public:
  // `jobs` must outlive the tab.
  explicit GenerateTab(JobRunner* jobs, QWidget* parent = nullptr);
  ~GenerateTab() override;
  void setModel(std::shared_ptr<const LoadedModel> model) override;
  // The shared workspace (weights); a private one until this is called.
  void setWorkspace(Workspace* workspace);

  // Inputs (the widgets' values).
  void setLoadOptions(const QString& dtype, const QString& device);
  void setPrompt(const QString& text, bool tokenIds = false);
  void setChat(bool chat, const QString& system = {});
  void setParams(const t2::GenerateParams& params);  // sampling, seed, max new tokens
  t2::GenerateParams params() const;
  // The prompt's ids as Generate would feed them; throws t2::Error on a bad prompt.
  std::vector<std::int32_t> promptIds() const;

  bool isGenerating() const { return m_generating; }
  const std::vector<std::int32_t>& generatedIds() const { return m_generated; }  // streamed
  const std::optional<t2::TextGeneration>& lastResult() const { return m_result; }
  QString outputText() const;  // the streamed text (control characters escaped)
  // Writes control characters other than newline and tab as \xNN (no font draws them).
  static QString visibleControls(const QString& text);
  QString statsText() const;
  QString loadText() const;
  QString errorText() const;  // red line ("" when none)
  // The workspace's weights for the folder, dtype and device chosen here (null = not loaded).
  std::shared_ptr<const t2::Model> loadedModel() const;
  const t2::Model* lastWeights() const { return m_lastWeights; }  // used by the last run

 public Q_SLOTS:
  void generate();  // loads the weights if needed, then generates
  void loadWeights();
  void stop();

 private:
  struct Outcome;
  struct Piece;

  t2::LoadParams loadParams() const;
  t2::TextPrompt textPrompt() const;  // throws t2::Error on a bad prompt
  void start(bool generateToo);
  void finishRun(const Outcome& outcome);
  void endRun(const QString& why);
  void appendStream(const QVector<Piece>& batch);
  void showError(const QString& error);
  void updateControls();

  JobRunner* m_jobs;
  std::shared_ptr<const LoadedModel> m_model;
  const t2::Model* m_lastWeights = nullptr;
  std::vector<std::int32_t> m_generated;
  std::optional<t2::TextGeneration> m_result;
  bool m_generating = false;
  bool m_showText = false;  // the output shows decoded text (else token ids)
  std::int64_t m_usedSeed = 0;

  QComboBox* m_dtype;
  QComboBox* m_device;
  QPushButton* m_load;
  QLabel* m_loadInfo;
  QPlainTextEdit* m_prompt;
  QCheckBox* m_chat;
  QLineEdit* m_system;
  QCheckBox* m_tokenIds;
  QCheckBox* m_greedy;
  QDoubleSpinBox* m_temperature;
  QDoubleSpinBox* m_topP;
  QSpinBox* m_topK;
  QDoubleSpinBox* m_repetition;
  QSpinBox* m_seed;
  QSpinBox* m_maxTokens;
  QPushButton* m_generateButton;
  QPushButton* m_stopButton;
  QLabel* m_error;
  QPlainTextEdit* m_output;
  QLabel* m_stats;
  Workspace* m_workspace;
};
