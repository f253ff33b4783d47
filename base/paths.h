// paths.h — where the running program is, and the files found beside its build tree.
#pragma once

#include <optional>
#include <string>

namespace spot {

// The folder of the running executable (/proc/self/exe); "" when it cannot be read.
std::string executable_dir();

// The first <ancestor>/<relative> that exists, for the executable's folder and each folder above
// it (build/spot and build/tests/spot_tests both find <checkout>/tools/plot_runs.py and
// <checkout>/../shared/data). nullopt when none exists.
std::optional<std::string> find_beside_executable(const std::string& relative);

}  // namespace spot
