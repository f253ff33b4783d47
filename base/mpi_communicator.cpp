// mpi_communicator.cpp — MpiCommunicator (mpi_communicator.h) on MPI's C API (Debian's Open MPI).
// Errors come back as return codes (MPI_ERRORS_RETURN on the world) and are thrown as spot::Error
// naming the call, instead of MPI's default of aborting with its own message.
#include "base/mpi_communicator.h"

// The C API only: Open MPI's mpi.h otherwise declares its deprecated C++ bindings, whose library
// (libmpi_cxx) we do not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <thread>

#include "base/check.h"

namespace spot {

namespace {

std::string mpi_error_name(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<size_t>(len));
}

#define MPI_CHECK(expr) SPOT_CHECK_STATUS(expr, MPI_SUCCESS, mpi_error_name)

int mpi_count(size_t n, const char* what) {
  SPOT_CHECK(n <= static_cast<size_t>(INT_MAX), what << ": " << n << " values exceed MPI's count limit (" << INT_MAX << ")");
  return static_cast<int>(n);
}

}  // namespace

bool started_by_mpi_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

MpiCommunicator::MpiCommunicator(int* argc, char*** argv) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  SPOT_CHECK(!initialised, "MpiCommunicator: MPI is already initialised in this process");
  int provided = 0;
  // MPI's default handler aborts before we can say anything; the world returns codes from here on.
  SPOT_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) == MPI_SUCCESS,
             "MPI_Init_thread failed (started by an MPI launcher: OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_SIZE is set)");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    SPOT_FAIL("MPI provides thread level " << provided << ", below MPI_THREAD_FUNNELED (OpenMP threads beside MPI)");
  }
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  // The ranks that share this node's cores (MPI-3's shared-memory split: any launcher, any layout).
  MPI_Comm node;
  MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
  MPI_CHECK(MPI_Comm_size(node, &node_ranks_));
  MPI_CHECK(MPI_Comm_free(&node));
}

MpiCommunicator::~MpiCommunicator() { MPI_Finalize(); }

void MpiCommunicator::allreduce_sum(std::span<float> data) {
  const int n = mpi_count(data.size(), "MpiCommunicator::allreduce_sum");
  gathered_f32_.resize(data.size() * static_cast<size_t>(size_));
  MPI_CHECK(MPI_Allgather(data.data(), n, MPI_FLOAT, gathered_f32_.data(), n, MPI_FLOAT, MPI_COMM_WORLD));
  sum_in_rank_order(gathered_f32_, size_, data);
}

void MpiCommunicator::allreduce_sum(std::span<double> data) {
  const int n = mpi_count(data.size(), "MpiCommunicator::allreduce_sum");
  gathered_f64_.resize(data.size() * static_cast<size_t>(size_));
  MPI_CHECK(MPI_Allgather(data.data(), n, MPI_DOUBLE, gathered_f64_.data(), n, MPI_DOUBLE, MPI_COMM_WORLD));
  sum_in_rank_order(gathered_f64_, size_, data);
}

void MpiCommunicator::broadcast(void* data, size_t bytes, int root) {
  SPOT_CHECK(root >= 0 && root < size_, "MpiCommunicator::broadcast: root " << root << " of " << size_ << " ranks");
  // In pieces below MPI's int count.
  constexpr size_t kPiece = size_t{1} << 30;
  for (size_t at = 0; at < bytes; at += kPiece)
    MPI_CHECK(MPI_Bcast(static_cast<char*>(data) + at, static_cast<int>(std::min(kPiece, bytes - at)), MPI_BYTE, root,
                        MPI_COMM_WORLD));
}

void MpiCommunicator::barrier() {
  MPI_Request req;
  MPI_CHECK(MPI_Ibarrier(MPI_COMM_WORLD, &req));
  for (int done = 0;;) {
    MPI_CHECK(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
    if (done) return;
    // 0.5 ms: nothing next to an evaluation or a checkpoint, and the core is left to the other ranks.
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

int MpiCommunicator::cpu_threads_per_rank() const {
  // The cores this process may run on (its affinity mask: one when mpirun binds ranks to cores, its
  // default for up to two ranks), and no more than its even share of the node.
  const int visible = omp_get_num_procs();
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  const int share = static_cast<int>(std::max(1L, online) / node_ranks_);
  return std::max(1, std::min(visible, share));
}

void MpiCommunicator::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this says so to the compiler
}

}  // namespace spot
