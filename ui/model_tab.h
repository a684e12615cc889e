// What the Model panel loads from a model folder, and the base class of its tabs. A new tab
// (e.g. an "Overview" of architecture and tensors) derives from ModelTab, reads what it needs
// from LoadedModel (add the field and load it in ModelPanel's loader job) and is added with
// ModelPanel::addTab; nothing else changes.
#pragma once

#include <t2/chat_template.h>
#include <t2/model_config.h>
#include <t2/tokenizer.h>

#include <QString>
#include <QWidget>

#include <memory>
#include <optional>

// Everything loaded from one folder. Immutable once loaded; shared between tabs and the cache.
// Each component loads independently: one failing leaves the others usable.
struct LoadedModel {
  QString dir;
  std::optional<t2::Tokenizer> tokenizer;
  QString tokenizerError;  // why `tokenizer` is empty (the t2::Error message)
  std::optional<t2::ChatTemplate> chatTemplate;
  QString templateError;
  // config.json + safetensors headers (t2::inspect_model; no weights loaded). Empty when the
  // folder has no config.json/weights (summaryError says so) or they are unreadable.
  std::optional<t2::ModelSummary> summary;
  QString summaryError;
  bool hasWeights = false;  // config.json or *.safetensors present (Generate can try to load)
  double seconds = 0.0;     // load time
};

class ModelTab : public QWidget {
  Q_OBJECT

 public:
  using QWidget::QWidget;
  // Null: no folder loaded (show a hint). Called on the GUI thread.
  virtual void setModel(std::shared_ptr<const LoadedModel> model) = 0;

 Q_SIGNALS:
  void message(const QString& text);  // for the log
};
