// Runs a command through /bin/sh and captures its exit code, stdout and stderr (test helper).
#pragma once

#include <string>

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// `command` is a shell command line; quote arguments yourself (see shell_quote).
ProcessResult run_process(const std::string& command);
std::string shell_quote(const std::string& arg);
