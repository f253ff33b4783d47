// communicator.cpp — the local communicator, the rank-order sum and the shard ranges (communicator.h).
#include "base/communicator.h"

#include "base/check.h"

namespace spot {

Communicator& local_communicator() {
  static LocalCommunicator local;
  return local;
}

namespace {

template <class T>
void sum_ranks(std::span<const T> gathered, int ranks, std::span<T> out) {
  const size_t n = out.size();
  SPOT_CHECK(ranks >= 1 && gathered.size() == n * static_cast<size_t>(ranks),
             "sum_in_rank_order: " << gathered.size() << " gathered values for " << ranks << " ranks of " << n);
  for (size_t i = 0; i < n; ++i) {
    double s = gathered[i];
    for (int r = 1; r < ranks; ++r) s += gathered[static_cast<size_t>(r) * n + i];
    out[i] = static_cast<T>(s);
  }
}

}  // namespace

void sum_in_rank_order(std::span<const float> gathered, int ranks, std::span<float> out) {
  sum_ranks(gathered, ranks, out);
}

void sum_in_rank_order(std::span<const double> gathered, int ranks, std::span<double> out) {
  sum_ranks(gathered, ranks, out);
}

std::pair<size_t, size_t> shard_range(size_t n, int rank, int size) {
  SPOT_CHECK(size >= 1 && rank >= 0 && rank < size, "shard_range: rank " << rank << " of " << size);
  // In 128 bits: rank·n overflows 64 bits only for absurd n, but the bound costs nothing.
  const auto at = [&](int r) {
    return static_cast<size_t>(static_cast<unsigned __int128>(r) * n / static_cast<unsigned>(size));
  };
  return {at(rank), at(rank + 1)};
}

}  // namespace spot
