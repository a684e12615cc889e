// The one way into QCustomPlot. Qt targets compile with QT_NO_KEYWORDS (Qt's `slots` macro breaks
// LibTorch headers), but qcustomplot.h uses the bare keywords; map them for this include only.
#pragma once

#pragma push_macro("signals")
#pragma push_macro("slots")
#pragma push_macro("emit")
#pragma push_macro("foreach")
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define emit Q_EMIT
#define foreach Q_FOREACH
#include <qcustomplot.h>
#pragma pop_macro("foreach")
#pragma pop_macro("emit")
#pragma pop_macro("slots")
#pragma pop_macro("signals")
