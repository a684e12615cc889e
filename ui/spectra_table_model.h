// The Spectra dock's per-matrix table: one row per t2::MatrixSpectrum (name, layer, part, shape,
// rank, sigma max/min, condition, effective rank, stable rank, power-law alpha). Display strings
// are formatted; Qt::UserRole gives the value to sort by (numbers as numbers; alpha of a failed
// fit sorts first and shows blank), so a QSortFilterProxyModel with sortRole Qt::UserRole sorts
// numerically.
#pragma once

#include <t2/spectra.h>

#include <QAbstractTableModel>

#include <vector>

class SpectraTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column {
    Name,
    Layer,
    Part,
    Shape,
    Rank,
    SigmaMax,
    SigmaMin,
    Condition,
    EffectiveRank,
    StableRank,
    Alpha,
    ColumnCount
  };

  using QAbstractTableModel::QAbstractTableModel;

  void setSpectra(std::vector<t2::MatrixSpectrum> spectra);
  const std::vector<t2::MatrixSpectrum>& spectra() const { return m_spectra; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation,
                      int role = Qt::DisplayRole) const override;

  // CSV of every row (header + rows, model order, full precision, RFC 4180 quoting).
  QString toCsv() const;

 private:
  std::vector<t2::MatrixSpectrum> m_spectra;
};
