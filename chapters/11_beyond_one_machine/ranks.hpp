/// \file
/// \brief Chapter 11: the processes of an MPI program and the few collectives the chapter
/// uses, each counting what this rank sends; and the rule for failures: a rank that meets
/// an error says so, naming itself, and ends every rank (MPI_Abort), so that no rank waits
/// forever for a message that will never come.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace attn {

/// MPI for the program's lifetime: MPI_Init in the constructor, MPI_Finalize in the
/// destructor. Run without mpiexec, the program is one rank of one.
class MpiSession {
public:
    /// Starts MPI.
    /// \param argc the program's argument count
    /// \param argv its arguments (MPI_Init may take out mpiexec's own)
    MpiSession(int& argc, char**& argv);
    /// Ends MPI.
    ~MpiSession();
    MpiSession(const MpiSession&) = delete;             ///< one per program
    MpiSession& operator=(const MpiSession&) = delete;  ///< one per program
};

/// What one rank sent, as the α-β model counts it.
struct Traffic {
    double messages = 0;  ///< latency-bound steps
    double bytes = 0;     ///< bytes this rank sent
};

/// The processes of MPI_COMM_WORLD, seen from one of them.
class Ranks {
public:
    /// This process's rank and the number of processes. MPI must be running (MpiSession).
    Ranks();
    /// This process, 0 .. size() - 1.
    std::size_t rank() const { return rank_; }
    /// The processes, P.
    std::size_t size() const { return size_; }

    /// Sums `n` floats over every rank, in place on every rank (MPI_Allreduce). Counted as
    /// a ring all-reduce: 2(P - 1) messages and ring_allreduce_bytes(4n, P) bytes.
    void sum(float* data, std::size_t n);

    /// Merges every rank's partial attention states, in place on every rank:
    /// MPI_Allreduce with a user-defined operation built on merge_partials(). `packed` holds
    /// states of 2 + d_v floats each, (max, sum, out...). Counted as recursive doubling:
    /// \f$\lceil \log_2 P \rceil\f$ messages of the whole array.
    void merge(std::vector<float>& packed, std::size_t d_v);

    /// Sends `out` to rank + 1 and receives what rank - 1 sends into `in` (the ring, with
    /// MPI_Sendrecv, which cannot deadlock however the ranks' calls interleave). Counted as
    /// one message of out's bytes.
    void pass_right(const std::vector<float>& out, std::vector<float>& in);

    /// pass_right() begun without waiting (MPI_Isend and MPI_Irecv), so that the caller can
    /// compute while the bytes travel; finish_pass() waits for both.
    void start_pass(const std::vector<float>& out, std::vector<float>& in);
    /// Waits for the pass start_pass() began.
    void finish_pass();

    /// Every rank's `value` (a hash of its model and settings) must equal rank 0's, which
    /// rank 0 broadcasts. Throws std::runtime_error on a rank whose value differs, naming the
    /// rank and `what`.
    void check_same(std::uint64_t value, const std::string& what);

    /// Whether `ok` holds on every rank (a logical-and all-reduce): to agree on a verdict.
    bool all(bool ok);

    /// Gathers `n` doubles from every rank to every rank: `[P * n]`, rank r's at r * n.
    std::vector<double> gather(const std::vector<double>& mine);

    /// What this rank sent since the last reset_traffic().
    const Traffic& traffic() const { return traffic_; }
    /// Starts the count again.
    void reset_traffic() { traffic_ = {}; }

private:
    std::size_t rank_ = 0, size_ = 1;
    Traffic traffic_;
    MPI_Request requests_[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};  // start_pass()'s
};

/// Runs `work` on this rank. If it throws, prints "rank r of P: <what>" to stderr and ends
/// every rank with MPI_Abort (exit status 1): the others may be waiting in a collective for
/// this one, and would wait forever. \return 0 when `work` returns
int run_or_abort(const Ranks& ranks, const std::function<void()>& work);

/// FNV-1a over bytes, to compare models and settings across ranks.
std::uint64_t fnv1a(const void* data, std::size_t bytes,
                    std::uint64_t hash = 14695981039346656037ull);

}  // namespace attn
