// answers: 11.5
// expect 11.5: failing
// mistake: returns 0 for ranks <= 1 ("one rank or none has nobody to send to"), so ranks = 0 gives 0 bytes instead of throwing std::invalid_argument; every P >= 1 is right.
// part: refusing ranks = 0
#include "exercises.hpp"

namespace attn::ex11 {

double ring_allreduce_bytes(double bytes, std::size_t ranks) {
    if (ranks <= 1) return 0.0;  // nobody to send to
    const double P = static_cast<double>(ranks);
    // 2 (P - 1) steps, each sending one of P pieces.
    return 2.0 * (P - 1.0) * (bytes / P);
}

}  // namespace attn::ex11
