#include "overview_tab.h"

#include "tensor_table_model.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QResizeEvent>
#include <QScrollArea>
#include <QSortFilterProxyModel>
#include <QStyle>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

namespace {
QString yesNo(bool value) { return value ? QObject::tr("yes") : QObject::tr("no"); }

QString ropeScalingText(const t2::RopeScaling& s) {
  switch (s.type) {
    case t2::RopeScalingType::None:
      return QObject::tr("none");
    case t2::RopeScalingType::Linear:
      return QObject::tr("linear, factor %1").arg(s.factor);
    case t2::RopeScalingType::Llama3:
      return QObject::tr("llama3, factor %1, low/high freq %2/%3, original %4")
          .arg(s.factor)
          .arg(s.low_freq_factor)
          .arg(s.high_freq_factor)
          .arg(s.original_max_position_embeddings);
  }
  return {};
}

QString slidingWindowText(const std::vector<std::int64_t>& windows) {
  if (std::all_of(windows.begin(), windows.end(), [](auto w) { return w == 0; }))
    return QObject::tr("none (full attention)");
  const auto first = windows.front();
  if (std::all_of(windows.begin(), windows.end(), [&](auto w) { return w == first; }))
    return QObject::tr("%1 tokens, all layers").arg(first);
  QStringList parts;
  for (auto w : windows) parts << (w == 0 ? QStringLiteral("full") : QString::number(w));
  return QObject::tr("per layer: %1").arg(parts.join(QStringLiteral(", ")));
}
}  // namespace

OverviewTab::OverviewTab(QWidget* parent)
    : ModelTab(parent),
      m_message(new QLabel(this)),
      m_factsView(new QLabel(this)),
      m_factsScroll(new QScrollArea(this)),
      m_filter(new QLineEdit(this)),
      m_tableCount(new QLabel(this)),
      m_tensors(new TensorTableModel(this)),
      m_proxy(new QSortFilterProxyModel(this)),
      m_table(new QTableView(this)) {
  m_message->setObjectName(QStringLiteral("overviewMessage"));
  m_message->setWordWrap(true);
  m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_factsView->setObjectName(QStringLiteral("overviewFacts"));
  m_factsView->setTextFormat(Qt::RichText);
  m_factsView->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_factsView->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  m_factsView->setWordWrap(false);  // exact size hint; the scroll area scrolls if needed
  m_filter->setPlaceholderText(tr("Filter tensors by name (e.g. layers.0. or q_proj)"));
  m_filter->setClearButtonEnabled(true);
  m_proxy->setSourceModel(m_tensors);
  m_proxy->setSortRole(Qt::UserRole);
  m_proxy->setFilterKeyColumn(TensorTableModel::Name);
  m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
  m_table->setObjectName(QStringLiteral("tensorTable"));
  m_table->setModel(m_proxy);
  m_table->setSortingEnabled(true);
  m_table->sortByColumn(TensorTableModel::Name, Qt::AscendingOrder);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setAlternatingRowColors(true);
  m_table->verticalHeader()->setVisible(false);
  m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
  // Full names (scroll sideways in a narrow dock) rather than elided ones.
  m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  m_table->horizontalHeader()->setStretchLastSection(false);
  m_table->setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
  m_factsScroll->setWidget(m_factsView);
  m_factsScroll->setWidgetResizable(true);
  m_factsScroll->setFrameShape(QFrame::NoFrame);
  m_factsScroll->viewport()->setAutoFillBackground(false);
  m_factsView->setAutoFillBackground(false);

  auto* filterRow = new QHBoxLayout;
  filterRow->addWidget(m_filter, 1);
  filterRow->addWidget(m_tableCount);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(m_message);
  layout->addWidget(m_factsScroll);
  layout->addLayout(filterRow);
  layout->addWidget(m_table, 1);

  connect(m_filter, &QLineEdit::textChanged, this, &OverviewTab::setFilter);
  setModel(nullptr);
}

QString OverviewTab::fact(const QString& key) const {
  for (const auto& [k, v] : m_facts)
    if (k == key) return v;
  return {};
}

QString OverviewTab::messageText() const {
  return m_message->isVisibleTo(this) ? m_message->text() : QString();
}

void OverviewTab::setFilter(const QString& text) {
  if (m_filter->text() != text) m_filter->setText(text);  // re-enters through textChanged
  m_proxy->setFilterFixedString(text);
  m_tableCount->setText(tr("%1 of %2 tensors").arg(m_proxy->rowCount()).arg(m_tensors->rowCount()));
}

void OverviewTab::showMessage(const QString& text, bool error) {
  m_message->setText(text);
  m_message->setStyleSheet(error ? QStringLiteral("color: #b00020") : QString());
  m_message->setVisible(!text.isEmpty());
}

void OverviewTab::setModel(std::shared_ptr<const LoadedModel> model) {
  m_facts.clear();
  m_parameters = 0;
  m_tensors->setTensors({});
  m_factsView->clear();
  m_factsScroll->setVisible(false);
  if (!model) {
    showMessage(tr("Open a model folder (Ctrl+O) — a Hugging Face folder with config.json and "
                   "*.safetensors"),
                false);
  } else if (model->summary) {
    showMessage({}, false);
    showSummary(*model->summary);
  } else {
    showMessage(model->summaryError, model->hasWeights);
  }
  setFilter(m_filter->text());
}

void OverviewTab::showSummary(const t2::ModelSummary& s) {
  const t2::ModelConfig& c = s.config;
  std::int64_t unused = 0;
  for (const auto& t : s.tensors)
    if (std::binary_search(s.unexpected_tensors.begin(), s.unexpected_tensors.end(), t.name))
      unused += TensorTableModel::elementsOf(t);
  m_parameters = s.parameter_count - unused;
  QStringList dtypes;
  for (const auto& [dtype, count] : s.parameters_by_dtype)
    dtypes << QStringLiteral("%1 (%2)").arg(QString::fromStdString(dtype), formatCount(count));
  QString stored = dtypes.join(QStringLiteral(", "));
  if (!c.torch_dtype.empty())
    stored += tr("; config.json says %1").arg(QString::fromStdString(c.torch_dtype));
  const auto n = [](std::int64_t v) { return QString::number(v); };
  m_facts = {
      {tr("Architecture"), QStringLiteral("%1 (%2)").arg(QString::fromStdString(c.architecture),
                                                         QString::fromStdString(c.family))},
      {tr("Hidden size"), n(c.hidden_size)},
      {tr("Layers"), n(c.num_hidden_layers)},
      {tr("Attention heads"), n(c.num_attention_heads)},
      {tr("KV heads"), n(c.num_key_value_heads)},
      {tr("Head dim"), n(c.head_dim)},
      {tr("Intermediate size"), n(c.intermediate_size)},
      {tr("Vocabulary"), n(c.vocab_size)},
      {tr("Max positions"), n(c.max_position_embeddings)},
      {tr("RoPE theta"), QString::number(c.rope_theta, 'g', 10)},
      {tr("RoPE scaling"), ropeScalingText(c.rope_scaling)},
      {tr("Sliding window"), slidingWindowText(c.sliding_window)},
      {tr("Tied embeddings"), yesNo(c.tie_word_embeddings)},
      {tr("Biases"),
       tr("qkv %1, o %2, mlp %3").arg(yesNo(c.qkv_bias), yesNo(c.o_bias), yesNo(c.mlp_bias))},
      {tr("QK norm"), yesNo(c.qk_norm)},
      {tr("Parameters"), formatCount(m_parameters)},
      {tr("Stored dtypes"), stored},
      {tr("Size on disk"), formatBytes(s.bytes)},
      {tr("Files"), QString::number(s.files.size())},
  };
  if (!s.missing_tensors.empty())
    m_facts.append({tr("Missing tensors"), QString::number(s.missing_tensors.size())});
  if (!s.unexpected_tensors.empty())
    m_facts.append({tr("Unused tensors"), QString::number(s.unexpected_tensors.size())});

  renderFacts();
  m_tensors->setTensors(s.tensors);
  m_table->resizeColumnsToContents();
}

void OverviewTab::renderFacts() {
  m_factsScroll->setVisible(!m_facts.isEmpty());
  if (m_facts.isEmpty()) return;
  // Two columns of key/value pairs when there is room, one in a narrow dock.
  const int columns = width() >= kTwoColumnWidth ? 2 : 1;
  QString html = QStringLiteral("<table cellspacing='0' cellpadding='1'>");
  const int rows = int((m_facts.size() + columns - 1) / columns);
  for (int r = 0; r < rows; ++r) {
    html += QStringLiteral("<tr>");
    for (int col = 0; col < columns; ++col) {
      const int i = r + col * rows;
      if (i >= m_facts.size()) break;
      html += QStringLiteral(
                  "<td style='color:#555; white-space:nowrap'>%1:</td>"
                  "<td style='padding-left:6px; padding-right:18px'><b>%2</b></td>")
                  .arg(m_facts[i].first.toHtmlEscaped(), m_facts[i].second.toHtmlEscaped());
    }
    html += QStringLiteral("</tr>");
  }
  html += QStringLiteral("</table>");
  m_factsView->setText(html);
  m_columns = columns;
  // The facts take at most ~45% of the tab; the table gets the rest (the facts scroll).
  m_factsScroll->setMaximumHeight(
      std::min(m_factsView->sizeHint().height() + 4 +
                   (m_factsView->sizeHint().width() > m_factsScroll->width()
                        ? style()->pixelMetric(QStyle::PM_ScrollBarExtent)
                        : 0),
               height() * 45 / 100));
}

void OverviewTab::resizeEvent(QResizeEvent* event) {
  ModelTab::resizeEvent(event);
  const int columns = width() >= kTwoColumnWidth ? 2 : 1;
  if (columns != m_columns || event->oldSize().height() != event->size().height()) renderFacts();
}
