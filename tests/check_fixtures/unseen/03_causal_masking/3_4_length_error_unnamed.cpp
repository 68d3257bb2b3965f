// answers: 3.4
// expect 3.4: failing
// mistake: a bad length is reported with a hand-thrown std::invalid_argument whose message names neither padded_causal_masks nor the bad length
// part: argument check message
#include "exercises.hpp"

#include <stdexcept>
#include <string>

namespace attn::ex03 {

BatchMask padded_causal_masks(const std::vector<std::size_t>& lengths, std::size_t T) {
    constexpr const char* fn = "attn::ex03::padded_causal_masks";
    if (T == 0) invalid_argument(fn, "argument 'T' must be at least 1, got 0");
    if (lengths.empty()) invalid_argument(fn, "argument 'lengths' must hold at least one sequence");
    for (std::size_t length : lengths) {
        if (length == 0 || length > T) throw std::invalid_argument("every length must be in 1..T");
    }
    BatchMask m = BatchMask::from_shape({lengths.size(), T, T});
    for (std::size_t b = 0; b < lengths.size(); ++b)
        for (std::size_t i = 0; i < T; ++i)
            for (std::size_t j = 0; j < T; ++j) m(b, i, j) = j <= i && j < lengths[b];
    return m;
}

}  // namespace attn::ex03
