// args.cpp — command lines on CLI11 (commands.h) and the top-level dispatch of `spot <command>`.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "base/check.h"

namespace spot::cli {

namespace {

// Text wrapped at `width` columns (CLI11 indents the lines after a newline under the help column).
std::string wrap(const std::string& text, size_t width) {
  std::string out, line, word;
  auto flush_word = [&] {
    if (word.empty()) return;
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    word.clear();
  };
  for (char c : text) {
    if (c == ' ') {
      flush_word();
    } else if (c == '\n') {
      flush_word();
      out += line + "\n";
      line.clear();
    } else {
      word += c;
    }
  }
  flush_word();
  return out + line;
}

constexpr size_t kColumn = 26, kWidth = 100;

}  // namespace

struct Args::Impl {
  CLI::App app;
  std::map<std::string, std::string> values;  // std::map: nodes stay where CLI11 was told they are
  std::map<std::string, CLI::Option*> options;
  std::map<std::string, std::vector<std::string>> multi_values;
  std::map<std::string, CLI::Option*> multi;
  std::map<std::string, bool> flag_values;
  std::map<std::string, CLI::Option*> flags;
  std::vector<std::string> names;  // "--x" of every option and flag, for the unknown-option message
  std::string footer;
  Impl(const std::string& command, const std::string& description) : app(description, "spot " + command) {}
};

Args::Args(const std::string& command, const std::string& description)
    : impl_(std::make_unique<Impl>(command, description)) {
  impl_->app.description(wrap(description, kWidth) + "\n");
  impl_->app.get_formatter()->column_width(kColumn);
  impl_->app.get_formatter()->label("REQUIRED", "required");
}

Args::~Args() = default;

Args& Args::option(const std::string& name, const std::string& meta, const std::string& help,
                   const std::string& default_text) {
  std::string& slot = impl_->values[name];
  CLI::Option* o = impl_->app.add_option("--" + name, slot, wrap(help, kWidth - kColumn));
  o->type_name(meta)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  if (!default_text.empty()) o->default_str(default_text);
  impl_->options[name] = o;
  impl_->names.push_back("--" + name);
  return *this;
}

Args& Args::flag(const std::string& name, const std::string& help) {
  bool& slot = impl_->flag_values[name];
  impl_->flags[name] = impl_->app.add_flag("--" + name, slot, wrap(help, kWidth - kColumn));
  impl_->names.push_back("--" + name);
  return *this;
}

Args& Args::repeated(const std::string& name, const std::string& meta, const std::string& help) {
  std::vector<std::string>& slot = impl_->multi_values[name];
  CLI::Option* o = impl_->app.add_option("--" + name, slot, wrap(help, kWidth - kColumn));
  // One value per occurrence: a following positional argument is not swallowed.
  o->type_name(meta)->expected(1)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  impl_->multi[name] = o;
  impl_->names.push_back("--" + name);
  return *this;
}

Args& Args::positional(const std::string& name, const std::string& help) {
  impl_->app.add_option(name, positional_, wrap(help, kWidth - kColumn))->expected(0, -1)->type_name("");
  return *this;
}

Args& Args::footer(const std::string& text) {
  impl_->footer = text;
  impl_->app.footer(wrap(text, kWidth));
  return *this;
}

std::string Args::help() const { return impl_->app.help(); }

bool Args::parse(const std::vector<std::string>& argv) {
  std::vector<std::string> reversed(argv.rbegin(), argv.rend());  // CLI11 takes the words last first
  try {
    impl_->app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", impl_->app.help().c_str());
    return false;
  } catch (const CLI::ExtrasError&) {
    // The first word CLI11 did not expect: an unknown option, or a positional argument too many.
    std::string word;
    for (const std::string& a : impl_->app.remaining()) {
      word = a;
      break;
    }
    if (word.rfind("--", 0) == 0) {
      std::string known;
      for (const std::string& n : impl_->names) known += " " + n;
      SPOT_FAIL("unknown option " << word.substr(0, word.find('=')) << " (accepted:" << (known.empty() ? " none" : known)
                                  << "; --help lists them)");
    }
    SPOT_FAIL(impl_->app.get_name() << ": unexpected argument '" << word << "' (--help lists the arguments)");
  } catch (const CLI::ParseError& e) {
    SPOT_FAIL(impl_->app.get_name() << ": " << e.what() << " (--help lists the options)");
  }
  return true;
}

std::string Args::positional_at(size_t i, const char* what) const {
  SPOT_CHECK(i < positional_.size(), "missing argument: " << what);
  return positional_[i];
}

bool Args::declared(const std::string& name) const {
  return impl_->options.count(name) > 0 || impl_->flags.count(name) > 0 || impl_->multi.count(name) > 0;
}

std::vector<std::string> Args::get_all(const std::string& name) const {
  auto it = impl_->multi.find(name);
  SPOT_CHECK(it != impl_->multi.end(), "internal: option --" << name << " was not declared repeatable");
  return it->second->count() == 0 ? std::vector<std::string>{} : impl_->multi_values.at(name);
}

bool Args::flag(const std::string& name) const {
  auto it = impl_->flags.find(name);
  SPOT_CHECK(it != impl_->flags.end(), "internal: flag --" << name << " was not declared");
  return it->second->count() > 0 && impl_->flag_values.at(name);
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = impl_->options.find(name);
  SPOT_CHECK(it != impl_->options.end(), "internal: option --" << name << " was not declared");
  if (it->second->count() == 0) return std::nullopt;
  return impl_->values.at(name);
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

int64_t Args::get_int(const std::string& name, int64_t fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v->c_str(), &end, 10);
  SPOT_CHECK(errno != ERANGE, "option --" << name << ": '" << *v << "' is out of range");
  SPOT_CHECK(end && *end == '\0' && !v->empty(), "option --" << name << ": '" << *v << "' is not an integer");
  return x;
}

double Args::get_double(const std::string& name, double fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  char* end = nullptr;
  const double x = std::strtod(v->c_str(), &end);
  SPOT_CHECK(end && *end == '\0' && !v->empty(), "option --" << name << ": '" << *v << "' is not a number");
  SPOT_CHECK(std::isfinite(x), "option --" << name << ": '" << *v << "' is not a finite number");
  return x;
}

static void usage() {
  std::fprintf(stderr, "usage: spot [--version] <command> [args] [--verbose]\n\ncommands:\n");
  for (const Command& c : commands()) std::fprintf(stderr, "  %-10s %s\n", c.name.c_str(), c.summary.c_str());
  std::fprintf(stderr, "\n`spot <command> --help` for its options; --verbose (or SPOT_DEBUG=1) adds the source location\n"
                       "to an error; `spot --version` names the build.\n");
}

int print_version();  // cli/commands/info.cpp

namespace {
Communicator* g_world = nullptr;  // set once by run(), before any command runs
}  // namespace

Communicator& world() { return g_world ? *g_world : local_communicator(); }

int run(int argc, char** argv, Communicator& world) {
  g_world = &world;
  if (argc >= 2 && (std::string(argv[1]) == "--version" || std::string(argv[1]) == "-V")) return print_version();
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  for (const Command& c : commands())
    if (c.name == name) {
      SPOT_CHECK(c.data_parallel || world.size() == 1,
                 "spot " << name << " does not run data-parallel over " << world.size()
                         << " ranks: run it without an MPI launcher (`spot train` and `spot run` split their batches "
                            "over ranks)");
      return c.run(std::vector<std::string>(argv + 2, argv + argc));
    }
  std::fprintf(stderr, "spot: unknown command '%s'\n", name.c_str());
  usage();
  return 2;
}

}  // namespace spot::cli
