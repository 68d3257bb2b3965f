#include "chapters/01_single_head_attention/running_example.hpp"

namespace attn {

const RunningExample& running_example() {
    static const RunningExample example{
        {"the", "dog", "that", "chased", "the", "cat", "was", "tired"},
        {"det", "noun", "animal", "main", "relative", "verb", "adj", "past"},
        Matrix{
            // det noun anim main rel verb adj past
            {1, 0, 0, 1, 0, 0, 0, 0},  // the     (main clause)
            {0, 1, 1, 1, 0, 0, 0, 0},  // dog     subject of the main clause
            {0, 0, 0, 0, 1, 0, 0, 0},  // that    opens the relative clause
            {0, 0, 0, 0, 1, 1, 0, 1},  // chased  verb of the relative clause
            {1, 0, 0, 0, 1, 0, 0, 0},  // the     (relative clause)
            {0, 1, 1, 0, 1, 0, 0, 0},  // cat     object in the relative clause
            {0, 0, 0, 1, 0, 1, 0, 1},  // was     verb of the main clause
            {0, 0, 0, 1, 0, 0, 1, 0},  // tired   adjective of the main clause
        }};
    return example;
}

}  // namespace attn
