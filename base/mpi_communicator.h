// mpi_communicator.h — the Communicator (base/communicator.h) over MPI's world: the processes an MPI
// launcher started (`mpirun -np N spot train ...`, Slurm's `srun`). spot initialises MPI only when
// such a launcher started it, so a plain `spot train` runs exactly as it did before MPI existed.
//
// allreduce_sum gathers every rank's buffer (MPI_Allgather) and each rank adds the blocks in rank
// order itself: MPI_Allreduce's order depends on the library's algorithm and the process layout. The
// buffers are prompt gradients (100 × 576 floats for SmolLM2), so N copies of them cost nothing
// beside a training step.
#pragma once

#include <vector>

#include "base/communicator.h"

namespace spot {

// True when an MPI launcher started this process: Open MPI's mpirun/mpiexec (OMPI_COMM_WORLD_SIZE),
// or a PMI/PMIx launcher such as Slurm's srun (PMIX_RANK, PMI_SIZE).
bool started_by_mpi_launcher();

class MpiCommunicator final : public Communicator {
 public:
  // MPI_Init_thread at level FUNNELED: only the main thread calls MPI, OpenMP threads compute
  // between the calls. At most one per process (MPI cannot be initialised twice).
  MpiCommunicator(int* argc, char*** argv);
  ~MpiCommunicator() override;  // MPI_Finalize
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduce_sum(std::span<float> data) override;
  void allreduce_sum(std::span<double> data) override;
  void broadcast(void* data, size_t bytes, int root) override;
  // Waits without spinning: the ranks wait here while rank 0 evaluates, and a blocking MPI barrier
  // would keep a core busy the whole time, taking it from rank 0 when ranks share cores.
  void barrier() override;

  // The OpenMP threads a rank should use: the cores the launcher bound it to, or, when it bound it
  // to none (all cores visible), this node's cores shared evenly among the ranks on the node.
  int cpu_threads_per_rank() const;
  // Ends every rank of the run (MPI_Abort): a rank that failed must not leave the others waiting in
  // a collective for it.
  [[noreturn]] void abort(int code);

 private:
  int rank_ = 0, size_ = 1, node_ranks_ = 1;
  std::vector<float> gathered_f32_;
  std::vector<double> gathered_f64_;
};

}  // namespace spot
