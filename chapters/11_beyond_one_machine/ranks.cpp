#include "chapters/11_beyond_one_machine/ranks.hpp"

#include "chapters/11_beyond_one_machine/partition.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <stdexcept>

namespace attn {

MpiSession::MpiSession(int& argc, char**& argv) {
    MPI_Init(&argc, &argv);
}

MpiSession::~MpiSession() {
    MPI_Finalize();
}

Ranks::Ranks() {
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    rank_ = static_cast<std::size_t>(rank);
    size_ = static_cast<std::size_t>(size);
}

void Ranks::sum(float* data, std::size_t n) {
    MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    traffic_.messages += 2.0 * static_cast<double>(size_ - 1);
    traffic_.bytes += ring_allreduce_bytes(4.0 * static_cast<double>(n), size_);
}

namespace {

// MPI's reduction callback: `len` states of the datatype's size, (max, sum, out...) each,
// merged from `in` into `inout` with merge_partials().
void merge_op(void* in, void* inout, int* len, MPI_Datatype* type) {
    int bytes = 0;
    MPI_Type_size(*type, &bytes);
    const std::size_t floats = static_cast<std::size_t>(bytes) / sizeof(float), d_v = floats - 2;
    const auto* a = static_cast<const float*>(in);
    auto* b = static_cast<float*>(inout);
    for (int i = 0; i < *len; ++i, a += floats, b += floats) {
        PartialAttention into{b[0], b[1], std::vector<float>(b + 2, b + 2 + d_v)};
        merge_partials(into, PartialAttention{a[0], a[1], std::vector<float>(a + 2, a + 2 + d_v)});
        b[0] = into.max;
        b[1] = into.sum;
        std::copy(into.out.begin(), into.out.end(), b + 2);
    }
}

}  // namespace

void Ranks::merge(std::vector<float>& packed, std::size_t d_v) {
    const std::size_t floats = 2 + d_v, states = packed.size() / floats;
    if (size_ == 1 || states == 0) return;
    MPI_Datatype state;
    MPI_Type_contiguous(static_cast<int>(floats), MPI_FLOAT, &state);
    MPI_Type_commit(&state);
    MPI_Op op;
    // Declared not commutative, though it is up to rounding: MPI then merges in rank order,
    // and every rank gets the same numbers to the bit.
    MPI_Op_create(&merge_op, 0, &op);
    MPI_Allreduce(MPI_IN_PLACE, packed.data(), static_cast<int>(states), state, op, MPI_COMM_WORLD);
    MPI_Op_free(&op);
    MPI_Type_free(&state);
    const double steps = std::ceil(std::log2(static_cast<double>(size_)));
    traffic_.messages += steps;
    traffic_.bytes += steps * 4.0 * static_cast<double>(packed.size());
}

void Ranks::pass_right(const std::vector<float>& out, std::vector<float>& in) {
    const int next = static_cast<int>((rank_ + 1) % size_),
              previous = static_cast<int>((rank_ + size_ - 1) % size_);
    MPI_Sendrecv(out.data(), static_cast<int>(out.size()), MPI_FLOAT, next, 0, in.data(),
                 static_cast<int>(in.size()), MPI_FLOAT, previous, 0, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    traffic_.messages += 1;
    traffic_.bytes += 4.0 * static_cast<double>(out.size());
}

void Ranks::start_pass(const std::vector<float>& out, std::vector<float>& in) {
    const int next = static_cast<int>((rank_ + 1) % size_),
              previous = static_cast<int>((rank_ + size_ - 1) % size_);
    MPI_Irecv(in.data(), static_cast<int>(in.size()), MPI_FLOAT, previous, 1, MPI_COMM_WORLD,
              &requests_[0]);
    MPI_Isend(out.data(), static_cast<int>(out.size()), MPI_FLOAT, next, 1, MPI_COMM_WORLD,
              &requests_[1]);
    traffic_.messages += 1;
    traffic_.bytes += 4.0 * static_cast<double>(out.size());
}

void Ranks::finish_pass() {
    MPI_Waitall(2, requests_, MPI_STATUSES_IGNORE);
}

void Ranks::check_same(std::uint64_t value, const std::string& what) {
    std::uint64_t first = value;
    MPI_Bcast(&first, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (first != value) {
        throw std::runtime_error(what +
                                 " differs from rank 0's: every rank must run the same "
                                 "model with the same settings");
    }
}

bool Ranks::all(bool ok) {
    int mine = ok ? 1 : 0, every = 0;
    MPI_Allreduce(&mine, &every, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    return every != 0;
}

std::vector<double> Ranks::gather(const std::vector<double>& mine) {
    std::vector<double> all(mine.size() * size_);
    MPI_Allgather(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, all.data(),
                  static_cast<int>(mine.size()), MPI_DOUBLE, MPI_COMM_WORLD);
    return all;
}

int run_or_abort(const Ranks& ranks, const std::function<void()>& work) {
    try {
        work();
        return 0;
    } catch (const std::exception& e) {
        // C's stderr, which the program never silences (ranks other than 0 silence std::cerr).
        std::fprintf(stderr, "rank %zu of %zu: %s\n", ranks.rank(), ranks.size(), e.what());
        std::fflush(stderr);
    }
    // The other ranks may be waiting for this one in a collective: end them all.
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
}

std::uint64_t fnv1a(const void* data, std::size_t bytes, std::uint64_t hash) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) {
        hash ^= p[i];
        hash *= 1099511628211ull;
    }
    return hash;
}

}  // namespace attn
