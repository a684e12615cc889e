#include "spectra_table_model.h"

#include <cmath>

namespace {

QString formatNumber(double v) {
  if (std::isinf(v)) return QStringLiteral("inf");
  if (std::isnan(v)) return {};
  return QString::number(v, 'g', 4);
}

QString csvField(const QString& s) {
  if (!s.contains(QLatin1Char(',')) && !s.contains(QLatin1Char('"')) &&
      !s.contains(QLatin1Char('\n')))
    return s;
  QString quoted = s;
  quoted.replace(QLatin1String("\""), QLatin1String("\"\""));
  return QLatin1Char('"') + quoted + QLatin1Char('"');
}

}  // namespace

void SpectraTableModel::setSpectra(std::vector<t2::MatrixSpectrum> spectra) {
  beginResetModel();
  m_spectra = std::move(spectra);
  endResetModel();
}

int SpectraTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(m_spectra.size());
}

int SpectraTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : ColumnCount;
}

QVariant SpectraTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount) return {};
  const auto& s = m_spectra[size_t(index.row())];
  const auto& m = s.metrics;
  if (role == Qt::TextAlignmentRole)
    return index.column() == Name || index.column() == Part
               ? QVariant(int(Qt::AlignLeft | Qt::AlignVCenter))
               : QVariant(int(Qt::AlignRight | Qt::AlignVCenter));
  if (role == Qt::ToolTipRole && index.column() == Alpha)
    return m.power_law.ok ? QStringLiteral("xmin %1, KS %2, tail of %3 eigenvalues")
                                .arg(m.power_law.xmin, 0, 'g', 4)
                                .arg(m.power_law.ks_distance, 0, 'g', 3)
                                .arg(m.power_law.n_tail)
                          : tr("power-law fit failed (too few distinct eigenvalues)");
  if (role != Qt::DisplayRole && role != Qt::UserRole) return {};
  const bool sortKey = role == Qt::UserRole;
  switch (index.column()) {
    case Name:
      return QString::fromStdString(s.name);
    case Layer:
      return sortKey ? QVariant(qlonglong(s.layer)) : QVariant(QString::number(s.layer));
    case Part:
      return QString::fromStdString(s.part);
    case Shape:
      return sortKey ? QVariant(qlonglong(s.out_features * s.in_features))
                     : QVariant(QStringLiteral("%1 x %2").arg(s.out_features).arg(s.in_features));
    case Rank:
      return sortKey ? QVariant(qlonglong(m.rank)) : QVariant(QString::number(m.rank));
    case SigmaMax:
      return sortKey ? QVariant(m.sigma_max) : QVariant(formatNumber(m.sigma_max));
    case SigmaMin:
      return sortKey ? QVariant(m.sigma_min) : QVariant(formatNumber(m.sigma_min));
    case Condition:
      return sortKey ? QVariant(m.condition) : QVariant(formatNumber(m.condition));
    case EffectiveRank:
      return sortKey ? QVariant(m.effective_rank) : QVariant(formatNumber(m.effective_rank));
    case StableRank:
      return sortKey ? QVariant(m.stable_rank) : QVariant(formatNumber(m.stable_rank));
    case Alpha:
      if (!m.power_law.ok) return sortKey ? QVariant(-1.0) : QVariant(QString());
      return sortKey ? QVariant(m.power_law.alpha) : QVariant(formatNumber(m.power_law.alpha));
    default:
      return {};
  }
}

QVariant SpectraTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal)
    return QAbstractTableModel::headerData(section, orientation, role);
  if (role == Qt::ToolTipRole) {
    switch (section) {
      case Condition:
        return tr("sigma_max / sigma_min");
      case EffectiveRank:
        return tr("exp(entropy of sigma / sum sigma) (Roy & Vetterli)");
      case StableRank:
        return tr("sum sigma^2 / sigma_max^2");
      case Alpha:
        return tr(
            "WeightWatcher power-law exponent of the eigenvalue tail; blank when the fit failed");
      default:
        return {};
    }
  }
  if (role != Qt::DisplayRole) return {};
  switch (section) {
    case Name:
      return tr("Name");
    case Layer:
      return tr("Layer");
    case Part:
      return tr("Part");
    case Shape:
      return tr("Shape");
    case Rank:
      return tr("Rank");
    case SigmaMax:
      return QStringLiteral("σ max");
    case SigmaMin:
      return QStringLiteral("σ min");
    case Condition:
      return tr("Condition");
    case EffectiveRank:
      return tr("Eff. rank");
    case StableRank:
      return tr("Stable rank");
    case Alpha:
      return QStringLiteral("α");
    default:
      return {};
  }
}

QString SpectraTableModel::toCsv() const {
  QString csv = QStringLiteral(
      "name,layer,part,out_features,in_features,rank,sigma_max,sigma_min,condition,"
      "effective_rank,stable_rank,alpha\n");
  const auto num = [](double v) { return QString::number(v, 'g', 17); };
  for (const auto& s : m_spectra) {
    const auto& m = s.metrics;
    QStringList row{csvField(QString::fromStdString(s.name)),
                    QString::number(s.layer),
                    csvField(QString::fromStdString(s.part)),
                    QString::number(s.out_features),
                    QString::number(s.in_features),
                    QString::number(m.rank),
                    num(m.sigma_max),
                    num(m.sigma_min),
                    num(m.condition),
                    num(m.effective_rank),
                    num(m.stable_rank),
                    m.power_law.ok ? num(m.power_law.alpha) : QString()};
    csv += row.join(QLatin1Char(',')) + QLatin1Char('\n');
  }
  return csv;
}
