// answers: 3.4
// expect 3.4: failing
// mistake: the padded queries (rows i >= length) are masked out entirely, but padding is a property of the keys: those rows must still see the real tokens
// part: padding applied to queries
#include "exercises.hpp"

#include <string>

namespace attn::ex03 {

BatchMask padded_causal_masks(const std::vector<std::size_t>& lengths, std::size_t T) {
    constexpr const char* fn = "attn::ex03::padded_causal_masks";
    if (T == 0) invalid_argument(fn, "argument 'T' must be at least 1, got 0");
    if (lengths.empty()) invalid_argument(fn, "argument 'lengths' must hold at least one sequence");
    for (std::size_t b = 0; b < lengths.size(); ++b) {
        if (lengths[b] == 0 || lengths[b] > T) {
            invalid_argument(fn, "lengths[" + std::to_string(b) + "] must be in 1..T = 1.." +
                                     std::to_string(T) + ", got " + std::to_string(lengths[b]));
        }
    }
    BatchMask m = BatchMask::from_shape({lengths.size(), T, T});
    for (std::size_t b = 0; b < lengths.size(); ++b)
        for (std::size_t i = 0; i < T; ++i)
            for (std::size_t j = 0; j < T; ++j)
                m(b, i, j) = j <= i && i < lengths[b] && j < lengths[b];
    return m;
}

}  // namespace attn::ex03
