#pragma once
// A webhook delivery of bill "b-N" version 1 (account acc-1, USD), as the
// intake stores it: the one test delivery of the store and committer tests.
#include <string>

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

}  // namespace meterbridge::testing
