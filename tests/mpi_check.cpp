// mpi_check.cpp — spot_mpi_check, run by test_data_parallel.cpp as `mpirun -np 3 spot_mpi_check`:
// MpiCommunicator's collectives across real processes. The values make float addition's order
// visible (1e30 + 1 - 1e30 is 0 in rank order 0, 1, 2 and 1 in the order 0, 2, 1), so a sum in
// any order but the ranks' fails; every rank checks its own result and prints one line.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/check.h"
#include "base/mpi_communicator.h"

namespace {

int g_rank = -1;

void check(bool ok, const std::string& what) { SPOT_CHECK(ok, "spot_mpi_check: rank " << g_rank << ": " << what); }

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<spot::MpiCommunicator> world;
  try {
    SPOT_CHECK(spot::started_by_mpi_launcher(), "spot_mpi_check: start it with mpirun -np 3");
    world = std::make_unique<spot::MpiCommunicator>(&argc, &argv);
    spot::MpiCommunicator& comm = *world;
    const int r = g_rank = comm.rank();
    check(comm.size() == 3, "expected 3 ranks, got " + std::to_string(comm.size()));
    // Column i: rank r's value is big[(r - i) mod 3].
    const float big[3] = {1e30f, 1.0f, -1e30f};
    std::vector<float> f(3);
    for (int i = 0; i < 3; ++i) f[i] = big[(r + 3 - i) % 3];
    // Column 0: 1e30, 1, -1e30 -> 0; column 1: -1e30, 1e30, 1 -> 1; column 2: 1, -1e30, 1e30 -> 0.
    comm.allreduce_sum(f);
    check(f[0] == 0.0f && f[1] == 1.0f && f[2] == 0.0f,
          "float sums " + std::to_string(f[0]) + " " + std::to_string(f[1]) + " " + std::to_string(f[2]) +
              ", expected 0 1 0 (rank order)");
    std::vector<double> d = {r == 0 ? 1e300 : r == 1 ? 1.0 : -1e300, 0.25 * r};
    comm.allreduce_sum(d);
    check(d[0] == 0.0 && d[1] == 0.75, "double sums " + std::to_string(d[0]) + " " + std::to_string(d[1]) +
                                           ", expected 0 0.75");
    char text[32] = {};
    if (r == 1) std::snprintf(text, sizeof text, "from rank 1");
    comm.broadcast(text, sizeof text, 1);
    check(std::strcmp(text, "from rank 1") == 0, std::string("broadcast from rank 1 gave '") + text + "'");
    comm.barrier();
    check(comm.cpu_threads_per_rank() >= 1, "cpu_threads_per_rank < 1");
    std::printf("spot_mpi_check: rank %d of %d ok\n", r, comm.size());
    return 0;
  } catch (const spot::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    if (world) world->abort(1);
    return 1;
  }
}
