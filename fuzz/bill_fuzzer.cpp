// libFuzzer target: the webhook body as the intake decodes it, i.e.
// decode_bill_event (a JSON tape, then the bill: envelope or bare Bill), and
// the same through parse_exact_json's DOM and parse_bill_event.
// Invariants: parse_exact_json agrees with the nlohmann SAX parser it
// replaced (tests/unit/exact_json_oracle.hpp), JsonTape with parse_exact_json
// and decode_bill_event with the DOM path (tests/unit/bill_decode_oracle.hpp);
// no exception escapes; the exact
// DOM survives dump/parse; every decoded amount prints and re-parses to the
// same Decimal.
#include <cstddef>
#include <cstdint>
#include <string>

#include "../tests/unit/bill_decode_oracle.hpp"
#include "../tests/unit/exact_json_oracle.hpp"
#include "fuzz_support.hpp"
#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/exact_json.hpp"

using namespace meterbridge;
using fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string mismatch = oracle::exact_json_mismatch(fuzz::as_text(data, size));
    check(mismatch.empty(), "parse_exact_json differs from the SAX oracle:", mismatch);
    const std::string decoding = oracle::decoding_mismatch(fuzz::as_text(data, size));
    check(decoding.empty(), "the tape or decode_bill_event differs from the DOM path:", decoding);

    auto document = parse_exact_json(fuzz::as_text(data, size));
    if (!document) {
        check(!document.error().message.empty(), "parse error without a message");
        return 0;
    }
    // Serialising is a fixed point after one round (key order, duplicate keys
    // and integer spellings such as -0 are normalised by the first).
    const std::string once = dump_exact(*document);
    auto reparsed = parse_exact_json(once);
    check(reparsed.ok(), "dump_exact wrote text parse_exact_json refuses:", once);
    check(dump_exact(*reparsed) == once, "dump_exact is not stable:", once);

    auto event = parse_bill_event(*document);
    if (!event) return 0;
    if (event->kind != BillEventKind::Other) check(!event->bill_id.empty(), "bill event without a bill id");
    if (event->bill) {
        for (const LineItem& item : event->bill->line_items) {
            const std::string text = item.subtotal.to_string();
            auto again = Decimal::parse(text);
            check(again.ok() && *again == item.subtotal, "subtotal does not round-trip:", text);
        }
    }
    return 0;
}
