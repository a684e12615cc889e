#include "plot/chart_export.h"

#include "plot/qcp.h"

#include <QFileInfo>
#include <QSvgGenerator>

QString chartExportFilter() {
  return QStringLiteral(
      "PNG image (*.png);;SVG vector image (*.svg);;PDF document (*.pdf);;"
      "JPEG image (*.jpg)");
}

QString exportChart(QCustomPlot* plot, const QString& path, int width, int height) {
  // A chart that was never shown has no layout yet; export it at a readable default size.
  const bool laidOut = plot->isVisible();
  const int w = width > 0 ? width : (laidOut ? plot->width() : 800);
  const int h = height > 0 ? height : (laidOut ? plot->height() : 500);
  const QString suffix = QFileInfo(path).suffix().toLower();
  bool ok = false;
  if (suffix == QLatin1String("png")) {
    ok = plot->savePng(path, w, h, 2.0);
  } else if (suffix == QLatin1String("jpg") || suffix == QLatin1String("jpeg")) {
    ok = plot->saveJpg(path, w, h, 2.0);
  } else if (suffix == QLatin1String("pdf")) {
    ok = plot->savePdf(path, w, h);
  } else if (suffix == QLatin1String("svg")) {
    QSvgGenerator svg;
    svg.setFileName(path);
    svg.setSize(QSize(w, h));
    svg.setViewBox(QRect(0, 0, w, h));
    svg.setTitle(QStringLiteral("T2 Workbench chart"));
    QCPPainter painter;
    ok = painter.begin(&svg);
    if (ok) {
      plot->toPainter(&painter, w, h);
      painter.end();
    }
  } else {
    return QStringLiteral("unsupported chart format '.%1'; use .png, .svg, .pdf or .jpg")
        .arg(suffix);
  }
  if (!ok)
    return QStringLiteral("could not write %1; check that the folder exists and is writable")
        .arg(path);
  return {};
}
