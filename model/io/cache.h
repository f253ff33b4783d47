// cache.h — where spot keeps downloaded models and other large artefacts.
// `spot model fetch <name>` writes under <cache>/models/<name>/; tests and loaders read from the
// same place, so the path rule lives here once.
#pragma once

#include <string>

namespace spot::io {

// $SPOT_CACHE when set and non-empty, else $HOME/.cache/spot. No trailing slash; the directory is
// not created. Throws spot::Error when neither SPOT_CACHE nor HOME is set.
std::string default_cache_dir();

}  // namespace spot::io
