#include "common/svg.hpp"

#include <cstring>
#include <ostream>
#include <stdexcept>
#include <system_error>

namespace attn {

std::string xml_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::ofstream open_svg(const char* function, const std::filesystem::path& path) {
    if (path.has_parent_path()) {
        std::error_code error;
        std::filesystem::create_directories(path.parent_path(), error);
        if (error) {
            throw std::runtime_error(std::string(function) + ": cannot create the directory " +
                                     path.parent_path().string() + ": " + error.message());
        }
    }
    std::ofstream svg(path);
    if (!svg) throw std::runtime_error(std::string(function) + ": cannot write " + path.string());
    return svg;
}

std::ofstream begin_svg(const char* function, const std::filesystem::path& path, int width,
                        int height) {
    std::ofstream svg = open_svg(function, path);
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" viewBox=\"0 0 " << width << ' ' << height
        << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n"
        << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    return svg;
}

void end_svg(std::ofstream& svg, const char* function, const std::filesystem::path& path) {
    svg << "</svg>\n";
    svg.flush();
    if (!svg)
        throw std::runtime_error(std::string(function) + ": failed while writing " + path.string());
}

void svg_text(std::ostream& svg, double x, double y, const std::string& text,
              const std::string& attributes) {
    svg << "<text x=\"" << x << "\" y=\"" << y << '"' << (attributes.empty() ? "" : " ")
        << attributes << '>' << xml_escape(text) << "</text>\n";
}

double text_width(const std::string& text, double font_size, bool bold) {
    // DejaVu Sans's advance widths in em, by kind of character, rounded up.
    double em = 0;
    for (unsigned char c : text) {
        if ((c & 0xC0) == 0x80) continue;  // a UTF-8 continuation byte: counted with its lead
        if (c >= 0x80)
            em += 0.7;
        else if (c == ' ')
            em += 0.32;
        else if (std::strchr("il.,:;'|!()[]{}", c) != nullptr)
            em += 0.34;
        else if (std::strchr("mwMW@%", c) != nullptr)
            em += 0.98;
        else if (c >= 'A' && c <= 'Z')
            em += 0.74;
        else if (std::strchr("fjrt", c) != nullptr)
            em += 0.42;
        else
            em += 0.64;  // other lower-case letters, digits, signs
    }
    return em * font_size * (bold ? 1.1 : 1.0);
}

}  // namespace attn
