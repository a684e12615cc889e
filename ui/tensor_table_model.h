// The Overview tab's tensor table: one row per tensor of a ModelSummary (name, shape, dtype,
// elements, bytes as stored). Display strings are formatted; Qt::UserRole gives the value to sort
// by (bytes and elements as numbers, shape by element count), so a QSortFilterProxyModel with
// sortRole Qt::UserRole sorts numerically.
#pragma once

#include <t2/model_config.h>

#include <QAbstractTableModel>

#include <vector>

class TensorTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Name, Shape, DType, Elements, Bytes, ColumnCount };

  using QAbstractTableModel::QAbstractTableModel;

  void setTensors(std::vector<t2::TensorSummary> tensors);
  const std::vector<t2::TensorSummary>& tensors() const { return m_tensors; }
  // Bytes of one tensor as stored (elements x dtype size; 0 for an unknown dtype).
  static std::uint64_t bytesOf(const t2::TensorSummary& tensor);
  static std::int64_t elementsOf(const t2::TensorSummary& tensor);
  static QString shapeText(const std::vector<std::int64_t>& shape);  // "[128, 32]"

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

 private:
  std::vector<t2::TensorSummary> m_tensors;
};

// "1.5 MiB", "512 B".
QString formatBytes(std::uint64_t bytes);
// "1,234,567 (1.23 M)".
QString formatCount(std::int64_t count);
