// caller_args.cpp — the caller of a library command (caller_args.h).
#include "cli/commands/caller_args.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "base/check.h"

namespace spot::cli {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

void add_caller_options(Args& a) {
  a.option("user", "NAME", "who is asking: the owner of what is added; restricted entries are visible only to their "
                           "owner and readers", "$SPOT_USER, else the login name")
      .option("groups", "A,B", "the caller's groups (readers group:<name> of restricted entries)");
}

retrieval::Caller caller_from(const Args& a) {
  retrieval::Caller c;
  if (auto u = a.get("user")) {
    SPOT_CHECK(!u->empty(), "--user: the name must not be empty");
    c.user = *u;
  } else if (const char* env = std::getenv("SPOT_USER"); env && *env) {
    c.user = env;
  } else if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) {
    c.user = pw->pw_name;
  }
  c.groups = split_commas(a.get_or("groups", ""));
  return c;
}

}  // namespace spot::cli
