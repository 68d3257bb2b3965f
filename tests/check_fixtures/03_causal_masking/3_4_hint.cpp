// answers: 3.4
// expect 3.4: passing
// The hint followed literally: xt::zeros<bool>, padding on the keys.
#include "exercises.hpp"

#include <string>

namespace attn::ex03 {

BatchMask padded_causal_masks(const std::vector<std::size_t>& lengths, std::size_t T) {
    const char* fn = "attn::ex03::padded_causal_masks";
    if (lengths.empty()) invalid_argument(fn, "lengths is empty: a batch needs a sequence");
    for (std::size_t length : lengths)
        if (length == 0 || length > T)
            invalid_argument(fn, "a length must be in 1..T = " + std::to_string(T) + ", got " +
                                     std::to_string(length));
    BatchMask masks = xt::zeros<bool>({lengths.size(), T, T});
    for (std::size_t b = 0; b < lengths.size(); ++b)
        for (std::size_t i = 0; i < T; ++i)
            for (std::size_t j = 0; j < T; ++j)
                if (j <= i && j < lengths[b]) masks(b, i, j) = true;
    return masks;
}

}  // namespace attn::ex03
