// The Model panel's "Overview" tab: what `t2 inspect` shows, from config.json and the safetensors
// headers (t2::inspect_model, run by the panel's loader job; no weights are loaded): architecture,
// dimensions, RoPE, sliding window, tied embeddings, parameter count, dtypes, files, and a
// sortable, filterable tensor table (name, shape, dtype, elements, bytes). A folder without
// config.json/weights says "no model weights in this folder".
#pragma once

#include "model_tab.h"

#include <QList>
#include <QPair>

class QLabel;
class QLineEdit;
class QScrollArea;
class QSortFilterProxyModel;
class QTableView;
class TensorTableModel;

class OverviewTab : public ModelTab {
  Q_OBJECT

 public:
  explicit OverviewTab(QWidget* parent = nullptr);
  void setModel(std::shared_ptr<const LoadedModel> model) override;

  // The facts shown above the table, in order ("Hidden size" -> "32"); empty without a summary.
  const QList<QPair<QString, QString>>& facts() const { return m_facts; }
  QString fact(const QString& key) const;  // "" if absent
  QString messageText() const;             // the hint / "no model weights" / error line
  // The model's parameter count as Model::load would report it (distinct tensors the model
  // uses: unexpected checkpoint tensors excluded).
  std::int64_t parameterCount() const { return m_parameters; }
  TensorTableModel* tensorModel() const { return m_tensors; }
  QSortFilterProxyModel* proxy() const { return m_proxy; }
  QTableView* table() const { return m_table; }
  void setFilter(const QString& text);

 protected:
  void resizeEvent(QResizeEvent* event) override;

 private:
  static constexpr int kTwoColumnWidth = 640;  // px; narrower tabs list the facts in one column

  void renderFacts();
  void showSummary(const t2::ModelSummary& summary);
  void showMessage(const QString& text, bool error);

  QLabel* m_message;
  QLabel* m_factsView;
  QScrollArea* m_factsScroll;
  int m_columns = 0;
  QLineEdit* m_filter;
  QLabel* m_tableCount;
  TensorTableModel* m_tensors;
  QSortFilterProxyModel* m_proxy;
  QTableView* m_table;
  QList<QPair<QString, QString>> m_facts;
  std::int64_t m_parameters = 0;
};
