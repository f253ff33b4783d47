// data_dir.h — the one answer to "where is the benchmark data", shared by every reader, the T5
// tokenizer fallback and `spot data fetch`.
#pragma once

#include <optional>
#include <string>

namespace spot::io {

// The data directory, the first of: `flag` (--data) when given, $SPOT_DATA, ../shared/data (from a
// checkout's root), ./data (where `spot data fetch` writes when nothing else exists), shared/data
// beside a folder above the spot executable (a build tree in a checkout next to ../shared). A
// directory named by --data or $SPOT_DATA must exist. Throws naming what was tried when none does.
std::string resolve_data_dir(const std::optional<std::string>& flag = std::nullopt);

// Where `spot data fetch` writes: --data or $SPOT_DATA when given, else the data directory when one
// exists, else ./data.
std::string data_dir_for_writing(const std::optional<std::string>& flag = std::nullopt);

}  // namespace spot::io
