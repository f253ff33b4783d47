// main.cpp — the `spot` binary: `spot <command> [args]`. Commands live in cli/commands/.
// An error is one line naming the file, option or field ("spot: error: ..."), exit status 1; the
// source location that raised it is added with --verbose or SPOT_DEBUG=1.
// Started by an MPI launcher (`mpirun -np N spot train ...`), the process is one rank of MPI's world
// (base/mpi_communicator.h); otherwise MPI is never touched.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "base/check.h"
#include "base/context.h"
#include "base/mpi_communicator.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  std::unique_ptr<spot::MpiCommunicator> mpi;
  bool verbose = false;
  // A rank that fails ends the whole run (the others would wait for it in a collective); its line
  // names the rank.
  auto fail = [&](const std::string& what, const std::string& where) {
    const std::string rank = mpi && mpi->size() > 1 ? "rank " + std::to_string(mpi->rank()) + ": " : "";
    if (verbose && !where.empty()) std::fprintf(stderr, "spot: error: %s%s [%s]\n", rank.c_str(), what.c_str(), where.c_str());
    else std::fprintf(stderr, "spot: error: %s%s\n", rank.c_str(), what.c_str());
    if (mpi && mpi->size() > 1) {
      std::fflush(stderr);
      mpi->abort(1);
    }
    return 1;
  };
  try {
    if (spot::started_by_mpi_launcher()) {
      mpi = std::make_unique<spot::MpiCommunicator>(&argc, &argv);
      // The ranks on a node share its cores: each takes its share of threads, unless the user chose
      // (OMP_NUM_THREADS here; --threads still sets a command's own).
      if (mpi->size() > 1 && !std::getenv("OMP_NUM_THREADS")) spot::set_process_cpu_threads(mpi->cpu_threads_per_rank());
    }
    // --verbose stands before the command (`spot --verbose eval ...`) or last on the line; it is taken
    // out before the command parses its options (elsewhere it could be an option's value or text).
    std::vector<char*> args(argv, argv + argc);
    if (args.size() > 1 && std::strcmp(args[1], "--verbose") == 0) verbose = true, args.erase(args.begin() + 1);
    if (args.size() > 2 && std::strcmp(args.back(), "--verbose") == 0) verbose = true, args.pop_back();
    if (const char* d = std::getenv("SPOT_DEBUG"); d && *d && std::strcmp(d, "0") != 0) verbose = true;
    spot::Communicator& world = mpi ? static_cast<spot::Communicator&>(*mpi) : spot::local_communicator();
    return spot::cli::run(static_cast<int>(args.size()), args.data(), world);
  } catch (const spot::Error& e) {
    return fail(e.what(), e.where());
  } catch (const std::exception& e) {
    return fail(e.what(), "");
  }
}
