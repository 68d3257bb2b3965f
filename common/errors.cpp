#include "common/errors.hpp"

namespace attn {

not_implemented::not_implemented(std::string_view exercise)
    : std::logic_error("exercise " + std::string(exercise) +
                       " is not implemented yet (the stub still throws attn::not_implemented)"),
      exercise_(exercise) {}

}  // namespace attn
