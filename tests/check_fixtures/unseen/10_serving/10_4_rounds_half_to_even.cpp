// answers: 10.4
// expect 10.4: failing
// mistake: std::nearbyint is used instead of std::round, which in the default rounding mode rounds halves to even (2.5 gives 2, -2.5 gives -2, 0.5 gives 0) instead of away from zero
// part: rounding: halves away from zero
#include "exercises.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace attn::ex10 {

QuantizedRow quantize_int8(const Vector& x) {
    constexpr const char* fn = "attn::ex10::quantize_int8";
    check_shape(fn, "x", x, {any("d")});
    float largest = 0.0f;
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (!std::isfinite(x(i)))
            invalid_argument(fn, "x[" + std::to_string(i) + "] = " + std::to_string(x(i)) +
                                     " is not a finite number");
        largest = std::max(largest, std::abs(x(i)));
    }
    QuantizedRow q{std::vector<std::int8_t>(x.size(), 0), largest / 127.0f};
    if (largest == 0.0f) return q;  // a row of zeros: scale 0, every value 0
    for (std::size_t i = 0; i < x.size(); ++i) {
        // |x_i| / scale is at most 127 up to rounding; the clamp keeps the cast defined.
        const float r = std::clamp(std::nearbyint(x(i) / q.scale), -127.0f, 127.0f);
        q.values[i] = static_cast<std::int8_t>(r);
    }
    return q;
}

Vector dequantize_int8(const QuantizedRow& q) {
    if (!std::isfinite(q.scale) || q.scale < 0.0f) {
        invalid_argument("attn::ex10::dequantize_int8",
                         "scale = " + std::to_string(q.scale) + ": a scale is finite and >= 0");
    }
    Vector out = xt::zeros<float>({q.values.size()});
    for (std::size_t i = 0; i < q.values.size(); ++i) out(i) = q.values[i] * q.scale;
    return out;
}

}  // namespace attn::ex10
