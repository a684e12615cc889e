// Qt message handling shared by the workbench and the widget tests: drops known platform-plugin
// noise and counts warnings (for --fail-on-warning).
#pragma once

// Installs the handler; messages still go to stderr. Call before creating QApplication.
void installQtMessageHandler();

// Warnings, criticals and fatals logged since installation (noise excluded).
int qtWarningCount();
