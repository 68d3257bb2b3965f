#include "common/shape.hpp"

#include <stdexcept>

namespace attn {

std::string shape_string(std::span<const std::size_t> shape) {
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) out += ", ";
        out += std::to_string(shape[i]);
    }
    return out + "]";
}

namespace {

// "[T, d_k] = [T, 4]" when a size is fixed, "[T, d_k]" when none is.
std::string expected_string(std::initializer_list<Dim> expected) {
    std::string names = "[";
    std::string sizes = "[";
    bool any_fixed = false;
    bool first = true;
    for (const Dim& d : expected) {
        if (!first) {
            names += ", ";
            sizes += ", ";
        }
        first = false;
        names += d.name;
        if (d.size) {
            sizes += std::to_string(*d.size);
            any_fixed = true;
        } else {
            sizes += d.name;
        }
    }
    names += "]";
    sizes += "]";
    return any_fixed ? names + " = " + sizes : names;
}

}  // namespace

void check_index(std::string_view function, std::string_view name, std::size_t index,
                 std::size_t count, std::string_view counted) {
    if (index < count) return;
    const std::string said = std::string(name) + " = " + std::to_string(index);
    if (count == 0) invalid_argument(function, said + ": there are no " + std::string(counted));
    invalid_argument(function, said + " is outside 0.." + std::to_string(count - 1) + " (" +
                                   std::to_string(count) + " " + std::string(counted) + ")");
}

void check_positive(std::string_view function, std::string_view name, std::size_t value,
                    std::string_view why) {
    if (value > 0) return;
    std::string message = std::string(name) + " = 0 must be at least 1";
    if (!why.empty()) message += ": " + std::string(why);
    invalid_argument(function, message);
}

void check_fits(std::string_view function, std::string_view what, std::size_t count,
                std::string_view room, std::size_t capacity) {
    if (count <= capacity) return;
    invalid_argument(function, std::to_string(count) + " " + std::string(what) + " do not fit in " +
                                   std::string(room) + " = " + std::to_string(capacity));
}

void invalid_argument(std::string_view function, std::string_view message) {
    throw std::invalid_argument(std::string(function) + ": " + std::string(message));
}

void check_shape(std::string_view function, std::string_view argument,
                 std::span<const std::size_t> shape, std::initializer_list<Dim> expected) {
    bool ok = shape.size() == expected.size();
    std::string problem;
    if (ok) {
        std::size_t i = 0;
        for (const Dim& d : expected) {
            if (d.size ? shape[i] != *d.size : shape[i] == 0) {
                ok = false;
                if (!d.size) problem = " (" + std::string(d.name) + " must be at least 1)";
                break;
            }
            ++i;
        }
    }
    if (!ok) {
        invalid_argument(function, "argument '" + std::string(argument) + "' must have shape " +
                                       expected_string(expected) + ", but has shape " +
                                       shape_string(shape) + problem);
    }
}

}  // namespace attn
