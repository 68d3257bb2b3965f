// answers: 10.4
// expect 10.4: failing
// mistake: values are rounded by adding 0.5 and casting to int, which truncates towards zero, so negative numbers round up instead of half away from zero (-2.5 gives -2, -3.7 gives -3, the most negative number -126 instead of -127); positive ones are right.
// part: the rounding of x / scale
#include "exercises.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace attn::ex10 {

QuantizedRow quantize_int8(const Vector& x) {
    constexpr const char* fn = "attn::ex10::quantize_int8";
    check_shape(fn, "x", x, {any("d")});
    const std::size_t d = x.size();
    for (std::size_t i = 0; i < d; ++i) {
        if (!std::isfinite(x(i)))
            invalid_argument(fn, "x[" + std::to_string(i) + "] = " + std::to_string(x(i)));
    }
    float largest = 0.0f;
    for (std::size_t i = 0; i < d; ++i) largest = std::max(largest, std::abs(x(i)));
    QuantizedRow q;
    q.values.assign(d, 0);
    if (largest == 0.0f) return q;
    q.scale = largest / 127.0f;
    for (std::size_t i = 0; i < d; ++i) {
        const int r = static_cast<int>(x(i) / q.scale + 0.5f);
        q.values[i] = static_cast<std::int8_t>(std::clamp(r, -127, 127));
    }
    return q;
}

Vector dequantize_int8(const QuantizedRow& q) {
    if (!std::isfinite(q.scale) || q.scale < 0.0f) {
        invalid_argument("attn::ex10::dequantize_int8",
                         "scale = " + std::to_string(q.scale) + " must be finite and at least 0");
    }
    Vector out = Vector::from_shape({q.values.size()});
    for (std::size_t i = 0; i < q.values.size(); ++i) out(i) = q.values[i] * q.scale;
    return out;
}

}  // namespace attn::ex10
