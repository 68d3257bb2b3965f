/// \file
/// \brief The exception an exercise stub throws until the learner replaces it.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace attn {

/// Thrown by every shipped exercise stub, so that `make check` can report the exercise as
/// "not started" instead of as a wrong answer.
///
/// It derives from std::logic_error but not from std::invalid_argument, so a test that
/// expects a shape error does not pass on a stub.
class not_implemented : public std::logic_error {
public:
    /// \param exercise the exercise's number, e.g. "1.2".
    explicit not_implemented(std::string_view exercise);

    /// The exercise's number, e.g. "1.2".
    const std::string& exercise() const noexcept { return exercise_; }

private:
    std::string exercise_;
};

}  // namespace attn
