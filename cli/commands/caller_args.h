// caller_args.h — who is asking, for the commands that touch the prompt library (`spot library`,
// `spot train --library`): --user NAME and --groups A,B, by default $SPOT_USER, else the login name
// (getpwuid). The library enforces access with it (retrieval/library.h).
#pragma once

#include "cli/commands.h"
#include "retrieval/library.h"

namespace spot::cli {

void add_caller_options(Args& args);
retrieval::Caller caller_from(const Args& args);
// "a,b,,c" -> {"a", "b", "c"} (empty items dropped).
std::vector<std::string> split_commas(const std::string& s);

}  // namespace spot::cli
