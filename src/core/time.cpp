#include "meterbridge/core/time.hpp"

#include <cstdio>

namespace meterbridge {
namespace {

bool read_int(std::string_view text, std::size_t pos, std::size_t len, int& out) {
    if (pos + len > text.size()) return false;
    int value = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
        const char c = text[i];
        if (c < '0' || c > '9') return false;
        value = value * 10 + (c - '0');
    }
    out = value;
    return true;
}

bool expect(std::string_view text, std::size_t pos, char c) { return pos < text.size() && text[pos] == c; }

}  // namespace

Result<Instant> parse_iso8601(std::string_view text) {
    const auto bad = [&] {
        return make_error("invalid_time", "'" + std::string(text.substr(0, 40)) + "' is not an ISO-8601 UTC time");
    };
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!read_int(text, 0, 4, year) || !expect(text, 4, '-') || !read_int(text, 5, 2, month) ||
        !expect(text, 7, '-') || !read_int(text, 8, 2, day) || !(expect(text, 10, 'T') || expect(text, 10, 't') || expect(text, 10, ' ')) ||
        !read_int(text, 11, 2, hour) || !expect(text, 13, ':') || !read_int(text, 14, 2, minute) ||
        !expect(text, 16, ':') || !read_int(text, 17, 2, second)) {
        return bad();
    }
    const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                                           std::chrono::day{static_cast<unsigned>(day)}};
    if (!date.ok() || hour > 23 || minute > 59 || second > 59) return bad();

    std::size_t pos = 19;
    int millis = 0;
    if (expect(text, pos, '.')) {
        ++pos;
        int place = 100;
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            millis += (text[pos] - '0') * place;
            place /= 10;
            ++pos;
        }
        if (pos == start) return bad();
    }
    int offset_minutes = 0;
    if (expect(text, pos, 'Z') || expect(text, pos, 'z')) {
        ++pos;
    } else if (expect(text, pos, '+') || expect(text, pos, '-')) {
        const int sign = text[pos] == '-' ? -1 : 1;
        int oh = 0, om = 0;
        if (!read_int(text, pos + 1, 2, oh) || !expect(text, pos + 3, ':') || !read_int(text, pos + 4, 2, om) ||
            oh > 23 || om > 59) {
            return bad();
        }
        offset_minutes = sign * (oh * 60 + om);
        pos += 6;
    }
    if (pos != text.size()) return bad();

    const auto local = std::chrono::sys_days{date} + hours{hour} + minutes{minute} + seconds{second} +
                       std::chrono::milliseconds{millis};
    return Instant{local - minutes{offset_minutes}};
}

std::string format_iso8601(Instant instant, bool with_millis) {
    const auto day = std::chrono::floor<std::chrono::days>(instant);
    const std::chrono::year_month_day date{day};
    const std::chrono::hh_mm_ss time{instant - day};
    char buffer[40];
    if (with_millis) {
        std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
                      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                      static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                      static_cast<int>(time.seconds().count()), static_cast<int>(time.subseconds().count()));
    } else {
        std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                      static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                      static_cast<int>(time.seconds().count()));
    }
    return buffer;
}

Instant floor_hour(Instant instant) { return std::chrono::floor<hours>(instant); }

}  // namespace meterbridge
