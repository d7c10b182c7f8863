#pragma once
// A webhook delivery of bill "b-N" version 1 (account acc-1, USD), as the
// intake stores it: the one test delivery of the store and committer tests.
#include <string>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/exact_json.hpp"
#include "meterbridge/store/store.hpp"

namespace meterbridge::testing {

inline store::Delivery bill_delivery(int n) {
    store::Delivery d;
    d.body = "{\"n\":" + std::to_string(n) + "}";
    d.remote_addr = "127.0.0.1";
    d.kind = BillEventKind::Updated;
    Bill bill;
    bill.id = "b-" + std::to_string(n);
    bill.version = 1;
    bill.account_id = "acc-1";
    bill.currency = "USD";
    d.bill = bill;
    d.bill_json = "{\"id\":\"" + bill.id + "\"}";
    return d;
}

// The delivery of a bill given as JSON text (valid: the test's own), as the
// intake stores it after parsing.
inline store::Delivery bill_delivery_of(const std::string& text, Instant received_at) {
    store::Delivery d;
    d.body = text;
    d.remote_addr = "127.0.0.1";
    d.received_at = received_at;
    d.kind = BillEventKind::Updated;
    d.bill = parse_bill(parse_exact_json(text).value()).value();
    d.bill_json = text;
    return d;
}

}  // namespace meterbridge::testing
