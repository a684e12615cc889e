// Internal helpers shared by the task module's files (nlohmann-json allowed here, not in the
// public header).
#pragma once

#include <t2/tasks.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace t2::detail::tasks {

std::string trim(const std::string& s);  // ASCII whitespace
std::string lower_ascii(std::string s);
TaskSpec parse_spec(const nlohmann::json& root, const std::string& path);

// Replaces "{name}" with values[name]; "{{" and "}}" are literal braces; a '{' that does not
// start "{identifier}" is kept as is (so "\boxed{}" survives). Throws InvalidArgument naming
// `where` for a placeholder missing from `values`.
std::string substitute(const std::string& text, const std::map<std::string, std::string>& values,
                       const std::string& where);

// Calls on_line(text, 1-based line number) for every line of a file (".gz" files are
// decompressed with zlib); stops when it returns false. Throws Io naming the file when it cannot
// be read.
void read_lines(const std::string& path,
                const std::function<bool(const std::string&, std::int64_t)>& on_line);

}  // namespace t2::detail::tasks
