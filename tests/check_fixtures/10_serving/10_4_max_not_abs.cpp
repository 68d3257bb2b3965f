// answers: 10.4
// expect 10.4: failing: the scale comes from the largest x
// The largest x, not the largest |x|.
#include "exercises.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace attn::ex10 {

QuantizedRow quantize_int8(const Vector& x) {
    check_shape("attn::ex10::quantize_int8", "x", x, {any("d")});
    for (std::size_t i = 0; i < x.size(); ++i)
        if (!std::isfinite(x(i)))
            invalid_argument("attn::ex10::quantize_int8",
                             "x[" + std::to_string(i) + "] = " + std::to_string(x(i)));
    float largest = x(0);
    for (std::size_t i = 0; i < x.size(); ++i) largest = std::max(largest, x(i));
    QuantizedRow q;
    q.scale = largest / 127.0f;
    q.values.assign(x.size(), 0);
    if (largest == 0) return q;
    for (std::size_t i = 0; i < x.size(); ++i)
        q.values[i] =
            static_cast<std::int8_t>(std::clamp(std::round(x(i) / q.scale), -127.0f, 127.0f));
    return q;
}

Vector dequantize_int8(const QuantizedRow& q) {
    if (!std::isfinite(q.scale) || q.scale < 0)
        invalid_argument("attn::ex10::dequantize_int8", "scale = " + std::to_string(q.scale));
    Vector out = xt::zeros<float>({q.values.size()});
    for (std::size_t i = 0; i < q.values.size(); ++i) out(i) = q.values[i] * q.scale;
    return out;
}

}  // namespace attn::ex10
