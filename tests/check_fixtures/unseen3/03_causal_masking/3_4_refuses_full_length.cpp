// answers: 3.4
// expect 3.4: failing
// mistake: the length check uses >= T instead of > T, so a sequence that fills the padded length (length = T, no padding) is refused with std::invalid_argument although it is valid.
// part: argument checks (upper bound of a length)
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <string>

namespace attn::ex03 {

BatchMask padded_causal_masks(const std::vector<std::size_t>& lengths, std::size_t T) {
    constexpr const char* fn = "attn::ex03::padded_causal_masks";
    if (lengths.empty()) invalid_argument(fn, "lengths is empty: the batch needs a sequence");
    if (T == 0) invalid_argument(fn, "T = 0: the padded length must be at least 1");
    for (std::size_t b = 0; b < lengths.size(); ++b) {
        if (lengths[b] == 0 || lengths[b] >= T) {
            invalid_argument(fn, "lengths[" + std::to_string(b) +
                                     "] = " + std::to_string(lengths[b]) +
                                     " is not in 1..T = " + std::to_string(T));
        }
    }
    BatchMask masks = xt::zeros<bool>({lengths.size(), T, T});
    for (std::size_t b = 0; b < lengths.size(); ++b)
        for (std::size_t i = 0; i < T; ++i)
            for (std::size_t j = 0; j <= i; ++j)
                if (j < lengths[b]) masks(b, i, j) = true;
    return masks;
}

}  // namespace attn::ex03
