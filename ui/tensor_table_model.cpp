#include "tensor_table_model.h"

#include <t2/safetensors.h>

#include <QLocale>
#include <QStringList>

void TensorTableModel::setTensors(std::vector<t2::TensorSummary> tensors) {
  beginResetModel();
  m_tensors = std::move(tensors);
  endResetModel();
}

std::int64_t TensorTableModel::elementsOf(const t2::TensorSummary& tensor) {
  std::int64_t n = 1;
  for (auto d : tensor.shape) n *= d;
  return n;
}

std::uint64_t TensorTableModel::bytesOf(const t2::TensorSummary& tensor) {
  t2::DType dtype;
  if (!t2::parse_dtype(tensor.dtype, &dtype)) return 0;
  return std::uint64_t(elementsOf(tensor)) * t2::dtype_size(dtype);
}

QString TensorTableModel::shapeText(const std::vector<std::int64_t>& shape) {
  QStringList dims;
  for (auto d : shape) dims << QString::number(d);
  return QLatin1Char('[') + dims.join(QStringLiteral(", ")) + QLatin1Char(']');
}

int TensorTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(m_tensors.size());
}

int TensorTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : ColumnCount;
}

QVariant TensorTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount) return {};
  const auto& t = m_tensors[std::size_t(index.row())];
  if (role == Qt::TextAlignmentRole)
    return index.column() >= Elements ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
  if (role == Qt::ToolTipRole && index.column() == Name) return QString::fromStdString(t.name);
  if (role != Qt::DisplayRole && role != Qt::UserRole) return {};
  const bool sortKey = role == Qt::UserRole;
  switch (index.column()) {
    case Name:
      return QString::fromStdString(t.name);
    case Shape:
      return sortKey ? QVariant(qlonglong(elementsOf(t))) : QVariant(shapeText(t.shape));
    case DType:
      return QString::fromStdString(t.dtype);
    case Elements:
      return sortKey ? QVariant(qlonglong(elementsOf(t)))
                     : QVariant(QLocale::c().toString(qlonglong(elementsOf(t))));
    case Bytes:
      return sortKey ? QVariant(qulonglong(bytesOf(t))) : QVariant(formatBytes(bytesOf(t)));
  }
  return {};
}

QVariant TensorTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (role != Qt::DisplayRole) return {};
  if (orientation == Qt::Vertical) return section + 1;
  switch (section) {
    case Name:
      return tr("Name");
    case Shape:
      return tr("Shape");
    case DType:
      return tr("Dtype");
    case Elements:
      return tr("Elements");
    case Bytes:
      return tr("Bytes");
  }
  return {};
}

QString formatBytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = double(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  return unit == 0 ? QStringLiteral("%1 B").arg(bytes)
                   : QStringLiteral("%1 %2").arg(value, 0, 'f', 2).arg(QLatin1String(units[unit]));
}

QString formatCount(std::int64_t count) {
  const QString full = QLocale::c().toString(qlonglong(count));
  const double c = double(count);
  if (c >= 1e9) return QStringLiteral("%1 (%2 B)").arg(full).arg(c / 1e9, 0, 'f', 2);
  if (c >= 1e6) return QStringLiteral("%1 (%2 M)").arg(full).arg(c / 1e6, 0, 'f', 2);
  if (c >= 1e3) return QStringLiteral("%1 (%2 K)").arg(full).arg(c / 1e3, 0, 'f', 1);
  return full;
}
