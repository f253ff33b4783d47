// commands.h — the `spot` command table and a small argument parser shared by the commands.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spot::cli {

// `--key value`, `--key=value` and `--flag`; everything else is positional. Unknown options are
// errors: every command declares the options it accepts.
class Args {
 public:
  Args(std::vector<std::string> argv, const std::vector<std::string>& flags, const std::vector<std::string>& options);
  const std::vector<std::string>& positional() const { return positional_; }
  std::string positional_at(size_t i, const char* what) const;
  bool flag(const std::string& name) const;
  std::optional<std::string> get(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;
  int64_t get_int(const std::string& name, int64_t fallback) const;
  double get_double(const std::string& name, double fallback) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> flags_;
};

struct Command {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>& args)> run;
};

const std::vector<Command>& commands();  // cli/commands/table.cpp
int run(int argc, char** argv);

}  // namespace spot::cli
