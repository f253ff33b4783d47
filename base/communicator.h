// communicator.h — the ranks of a data-parallel run and the few collectives prompt tuning needs
// (issue 10: `mpirun -np N spot train`): each rank computes the prompt gradient of its shard of the
// global batch, the gradients are summed, and every rank takes the same optimiser step.
//
// The interface is what the trainer sees; LocalCommunicator (one rank) is a plain process, the
// MPI one (base/mpi_communicator.h) spans the processes an MPI launcher started, and a NCCL one can
// sit beside it for GPUs. Every implementation sums in the fixed rank order 0, 1, ..., N-1 (DESIGN.md
// practice 9: same inputs, same bits), which MPI_Allreduce and ncclAllReduce do not promise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace spot {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;  // 0 .. size()-1; rank 0 writes files and logs
  virtual int size() const = 0;

  // Every rank's `data` (the same length on every rank) becomes the element-wise sum over the ranks,
  // added in rank order 0, 1, ..., N-1 in double (floats are rounded once, at the end): the same bits
  // on every rank and in every run with the same inputs.
  virtual void allreduce_sum(std::span<float> data) = 0;
  virtual void allreduce_sum(std::span<double> data) = 0;
  // Rank `root`'s `bytes` bytes at `data` to every rank.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
};

// One process alone: rank 0 of 1; the collectives leave the data as it is.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allreduce_sum(std::span<float>) override {}
  void allreduce_sum(std::span<double>) override {}
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
};

// A process-wide LocalCommunicator: the default of the code that can run data-parallel.
Communicator& local_communicator();

// The rank-order sum behind every allreduce_sum: `gathered` holds `ranks` blocks of out.size()
// values, rank 0's first; out[i] = (((g0[i] + g1[i]) + g2[i]) + ...) in double, then rounded to T.
void sum_in_rank_order(std::span<const float> gathered, int ranks, std::span<float> out);
void sum_in_rank_order(std::span<const double> gathered, int ranks, std::span<double> out);

// The contiguous shard of n items that rank `rank` of `size` takes: [rank·n/size, (rank+1)·n/size).
// The shards cover 0..n-1 in rank order, and their sizes differ by at most one (a rank may get none
// when n < size).
std::pair<size_t, size_t> shard_range(size_t n, int rank, int size);

}  // namespace spot
