// answers: 10.4
// expect 10.4: failing
// mistake: the values are rounded with std::nearbyint, which in the default rounding mode sends halves to the even neighbour (2.5 to 2, -2.5 to -2) instead of away from zero as std::round does; right for every value that is not exactly a half
// part: the rounding rule
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace attn::ex10 {

QuantizedRow quantize_int8(const Vector& x) {
    constexpr const char* fn = "attn::ex10::quantize_int8";
    check_shape(fn, "x", x, {any("d")});
    const std::size_t d = x.size();
    float max_abs = 0.0f;
    for (std::size_t i = 0; i < d; ++i) {
        if (!std::isfinite(x(i))) {
            attn::invalid_argument(
                fn, "x[" + std::to_string(i) + "] = " + std::to_string(x(i)) + " is not finite");
        }
        max_abs = std::max(max_abs, std::abs(x(i)));
    }
    QuantizedRow q;
    q.values.assign(d, 0);
    if (max_abs == 0.0f) return q;  // a row of zeros: scale 0, values 0
    q.scale = max_abs / 127.0f;
    for (std::size_t i = 0; i < d; ++i) {
        const float r = std::clamp(std::nearbyint(x(i) / q.scale), -127.0f, 127.0f);
        q.values[i] = static_cast<std::int8_t>(r);
    }
    return q;
}

Vector dequantize_int8(const QuantizedRow& q) {
    if (!std::isfinite(q.scale) || q.scale < 0.0f) {
        attn::invalid_argument("attn::ex10::dequantize_int8", "scale = " + std::to_string(q.scale) +
                                                                  " must be finite and at least 0");
    }
    Vector out = xt::zeros<float>({q.values.size()});
    for (std::size_t i = 0; i < q.values.size(); ++i)
        out(i) = static_cast<float>(q.values[i]) * q.scale;
    return out;
}

}  // namespace attn::ex10
