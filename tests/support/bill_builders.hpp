#pragma once
// Bills, line items and external mappings built in a line, for the tests of
// conversion and of the simulation (unit and component). Header-only: inline
// functions, so that a test binary may use any subset of them.
#include <string>
#include <string_view>
#include <vector>

#include "meterbridge/core/bill.hpp"
#include "meterbridge/core/integration.hpp"

namespace meterbridge::bill_builders {

inline Decimal dec(std::string_view text) { return Decimal::parse(text).value(); }

inline LineItem item(std::string type, std::string amount, std::string product = {}, std::string aggregation = {}) {
    LineItem li;
    li.type_name = type;
    li.type = line_item_type_from_name(type);
    li.subtotal = dec(amount);
    li.product_id = std::move(product);
    li.aggregation_id = std::move(aggregation);
    return li;
}

// bill-1 version 1 of acc-1 (account code ACME), APPROVED, in USD.
inline Bill bill(std::vector<LineItem> items) {
    Bill b;
    b.id = "bill-1";
    b.version = 1;
    b.account_id = "acc-1";
    b.account_code = "ACME";
    b.status = BillStatus::Approved;
    b.currency = "USD";
    b.line_items = std::move(items);
    return b;
}

inline ExternalMapping mapping(MappingEntity entity, std::string m3ter_id, ExternalTable table,
                               std::string external_id, std::string integration_id = {}, std::string plan_id = {}) {
    ExternalMapping m;
    m.m3ter_entity = entity;
    m.m3ter_id = std::move(m3ter_id);
    m.external_table = table;
    m.external_id = std::move(external_id);
    m.integration_id = std::move(integration_id);
    m.plan_id = std::move(plan_id);
    return m;
}

}  // namespace meterbridge::bill_builders
