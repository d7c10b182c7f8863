// The canonical text of a bill, written directly: building a DOM and dumping
// it cost a fifth of the daemon's CPU per delivery (issue 6). Members come in
// the order of a DOM's sorted keys, so the text (and the content hash stored
// with each version) is the same as the DOM-based serialiser wrote before.
#include <string>

#include "meterbridge/core/bill.hpp"

namespace meterbridge {
namespace {

class ObjectWriter {
public:
    explicit ObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
    ~ObjectWriter() { out_.push_back('}'); }
    ObjectWriter(const ObjectWriter&) = delete;
    ObjectWriter& operator=(const ObjectWriter&) = delete;

    // Starts a member; the caller writes its value.
    std::string& member(std::string_view name) {
        if (!first_) out_.push_back(',');
        first_ = false;
        append_json_string(out_, name);
        out_.push_back(':');
        return out_;
    }
    void string(std::string_view name, std::string_view value) { append_json_string(member(name), value); }
    // Absent when empty, as the parser reads it.
    void optional(std::string_view name, std::string_view value) {
        if (!value.empty()) string(name, value);
    }

private:
    std::string& out_;
    bool first_ = true;
};

void write_line_item(std::string& out, const LineItem& item) {
    ObjectWriter object(out);
    object.optional("accountingProductId", item.accounting_product_id);
    object.optional("aggregationId", item.aggregation_id);
    object.optional("compoundAggregationId", item.compound_aggregation_id);
    object.optional("description", item.description);
    object.optional("id", item.id);
    object.string("lineItemType", item.type_name);
    object.optional("productId", item.product_id);
    object.member("subtotal") += item.subtotal.to_string();
}

}  // namespace

std::string bill_to_json_text(const Bill& bill) {
    std::string out;
    out.reserve(256 + 160 * bill.line_items.size());
    {
        ObjectWriter object(out);
        object.optional("accountCode", bill.account_code);
        object.string("accountId", bill.account_id);
        object.optional("billDate", bill.bill_date);
        object.string("currency", bill.currency);
        object.string("id", bill.id);
        std::string& items = object.member("lineItems");
        items.push_back('[');
        for (std::size_t i = 0; i < bill.line_items.size(); ++i) {
            if (i > 0) items.push_back(',');
            write_line_item(items, bill.line_items[i]);
        }
        items.push_back(']');
        object.member("locked") += bill.locked ? "true" : "false";
        object.string("status", bill.status == BillStatus::Approved ? "APPROVED" : "PENDING");
        object.member("version") += std::to_string(bill.version);
    }
    return out;
}

}  // namespace meterbridge
