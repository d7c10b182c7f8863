#pragma once
// Oracles of the webhook's decoding path: JsonTape must agree with
// parse_exact_json (same errors, same values), and decode_bill_event with
// parse_bill_event on the DOM (same event or same error). Used by
// exact_json_differential_test.cpp and fuzz/bill_fuzzer.cpp.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/core/json_tape.hpp"

namespace meterbridge::oracle {

// The DOM a tape node stands for, built through TapeNode's interface.
inline Json tape_to_json(const TapeNode& node) {
    if (node.is_object()) {
        Json out = Json::object();
        for (const auto& [key, value] : node.members()) out[std::string(key)] = tape_to_json(value);  // last wins
        return out;
    }
    if (node.is_array()) {
        Json out = Json::array();
        for (const TapeNode& element : node.elements()) out.push_back(tape_to_json(element));
        return out;
    }
    if (node.is_string()) return std::string(node.string());
    if (node.is_boolean()) return node.boolean();
    if (node.is_number_unsigned()) return node.number_unsigned();
    if (node.is_number_integer()) return std::stoll(node.exact_number_text().value());
    if (node.is_number_text()) {
        const std::string text = node.exact_number_text().value();
        return Json::binary(std::vector<std::uint8_t>(text.begin(), text.end()), kNumberTextSubtype);
    }
    return nullptr;
}

inline std::string error_text(const Error& error) { return error.code + " / " + error.message + " / " + error.field; }

inline std::string event_text(const Result<BillEvent>& event) {
    if (!event) return "error " + error_text(event.error());
    std::string out = event->event_id + " / " + event->event_name + " / " +
                      std::to_string(static_cast<int>(event->kind)) + " / " + event->bill_id + " / ";
    if (event->event_time) out += format_iso8601(*event->event_time, true);
    if (event->bill) out += " / " + bill_to_json_text(*event->bill);
    return out;
}

// "" when JsonTape agrees with parse_exact_json on `text` (the same error, or
// the same values) and decode_bill_event with parse_bill_event on the DOM (the
// same event, or the same error). The DOM is parsed once for both: under the
// sanitizers the parses are most of the differential test's time.
inline std::string decoding_mismatch(std::string_view text) {
    const auto dom = parse_exact_json(text);
    {
        const auto tape = JsonTape::parse(text);
        if (!dom || !tape) {
            const std::string want = dom ? "accepted" : error_text(dom.error());
            const std::string got = tape ? "accepted" : error_text(tape.error());
            if (want != got) return "tape: " + got + ", DOM: " + want;
        } else if (tape_to_json(tape->root()) != *dom) {
            return "tape and DOM values differ";
        }
    }
    const std::string want = event_text(dom ? parse_bill_event(*dom) : Result<BillEvent>(dom.error()));
    const std::string got = event_text(decode_bill_event(text));
    return want == got ? "" : "decode_bill_event: " + got + "\n    via DOM: " + want;
}

}  // namespace meterbridge::oracle
