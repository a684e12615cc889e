// Saving QCustomPlot charts to files; the format follows the suffix (.png .jpg .pdf .svg).
#pragma once

#include <QString>

class QCustomPlot;

// Size defaults to the widget's (800x500 if never shown); raster formats are written at 2x.
// Returns an empty string on success, else a message saying what went wrong and what to do.
QString exportChart(QCustomPlot* plot, const QString& path, int width = 0, int height = 0);

// The file-dialog filter listing the supported formats.
QString chartExportFilter();
