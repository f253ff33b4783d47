// commands.h — the `spot` command table and a small argument parser shared by the commands.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/communicator.h"

namespace spot::cli {

// A command's command line, on CLI11 (Debian's libcli11-dev): every option and flag is declared
// with its value's name, what it does and its default, so that `--help` lists them all; `--key
// value`, `--key=value` and `--flag`; positional arguments in order. Unknown options, missing values
// and unexpected arguments are errors naming the option. Values are read as text and converted by
// the getters (or by a field table, base/fields.h), which name the option in their errors.
class Args {
 public:
  // command: "train" (help shows "spot train"); description: the paragraph above the options.
  Args(const std::string& command, const std::string& description);
  ~Args();
  Args(const Args&) = delete;
  Args& operator=(const Args&) = delete;

  // meta: the value's name in --help ("N", "X", "FILE"); default_text: shown as the default ("" = none).
  Args& option(const std::string& name, const std::string& meta, const std::string& help,
               const std::string& default_text = "");
  Args& flag(const std::string& name, const std::string& help);
  // An option that may be given more than once (--x A --x B), each time with one value.
  Args& repeated(const std::string& name, const std::string& meta, const std::string& help);
  // The positional arguments (all of them, in order), as one entry of --help.
  Args& positional(const std::string& name, const std::string& help);
  Args& footer(const std::string& text);  // printed after the options

  // Parses argv (the words after the command). Returns false when --help was asked for: the help is
  // printed to stdout and the command returns 0.
  bool parse(const std::vector<std::string>& argv);
  std::string help() const;

  const std::vector<std::string>& positional() const { return positional_; }
  std::string positional_at(size_t i, const char* what) const;
  bool declared(const std::string& name) const;  // an option or flag of this command
  bool flag(const std::string& name) const;
  std::optional<std::string> get(const std::string& name) const;
  std::vector<std::string> get_all(const std::string& name) const;  // a repeated option's values, in order
  std::string get_or(const std::string& name, const std::string& fallback) const;
  int64_t get_int(const std::string& name, int64_t fallback) const;
  double get_double(const std::string& name, double fallback) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> positional_;
};

struct Command {
  std::string name;
  std::string summary;
  std::function<int(const std::vector<std::string>& args)> run;
  bool data_parallel = false;  // runs over the ranks of world() (`mpirun -np N spot <command>`)
};

const std::vector<Command>& commands();  // cli/commands/table.cpp
// Runs `spot <command> ...` as one of world's ranks (cli/main.cpp: MPI's world when an MPI launcher
// started spot, else local_communicator()). A command that is not data_parallel refuses more than one.
int run(int argc, char** argv, Communicator& world);
// The world run() was given, for the data-parallel commands.
Communicator& world();

}  // namespace spot::cli
