// Webhook deliveries, bill versions and run-time mappings in the SQLite store.
#include "meterbridge/store/store.hpp"

#include <gtest/gtest.h>

#include "support/store_test_support.hpp"

namespace meterbridge {
namespace {

using store::DeliveryResult;
using testing::at;

std::string bill_json(const std::string& id, int version, const std::string& subtotal = "9.985") {
    return R"({"id":")" + id + R"(","version":)" + std::to_string(version) +
           R"(,"accountId":"acc-1","accountCode":"ACME","status":"APPROVED","currency":"USD",)"
           R"("lineItems":[{"lineItemType":"USAGE","productId":"p-1","subtotal":)" +
           subtotal + "}]}";
}

// A delivery as the intake builds it: the envelope parsed, the bill's exact text kept.
store::Delivery delivery(const std::string& body, const char* when = "2026-01-01T10:00:00Z") {
    store::Delivery d;
    d.body = body;
    d.headers = {{"Content-Type", "application/json"}, {"X-m3ter-timestamp", "1767261600"}};
    d.remote_addr = "127.0.0.1";
    d.received_at = at(when);
    auto json = parse_exact_json(body);
    if (!json) {
        d.error = json.error();
        return d;
    }
    auto event = parse_bill_event(json.value());
    if (!event) {
        d.error = event.error();
        return d;
    }
    d.event_id = event->event_id;
    d.event_name = event->event_name;
    d.kind = event->kind;
    d.bill = event->bill;
    d.bill_id = event->bill_id;
    if (d.bill) {
        const Json& object = json->contains("eventName") ? json->at("m3terEvent").at("eventData") : json.value();
        d.bill_json = dump_exact(object.contains("new") ? object.at("new") : object);
    }
    return d;
}

std::string envelope(const std::string& name, const std::string& bill) {
    return R"({"eventName":")" + name + R"(","id":"evt-1","m3terEvent":{"eventData":{"new":)" + bill + "}}}";
}

class StoreDeliveries : public ::testing::Test {
protected:
    store::DeliveryReceipt record(const store::Delivery& d) {
        auto receipt = store_->record_delivery(d);
        EXPECT_TRUE(receipt.ok()) << (receipt.ok() ? "" : receipt.error().message);
        return receipt.ok() ? receipt.value() : store::DeliveryReceipt{};
    }

    std::unique_ptr<store::Store> store_ = store::open_sqlite_store(":memory:");
};

TEST_F(StoreDeliveries, NewVersionIsStoredWithItsExactTextAndPending) {
    const auto receipt = record(delivery(bill_json("b-1", 1)));
    EXPECT_EQ(receipt.result, DeliveryResult::New);
    ASSERT_GT(receipt.bill_version_id, 0);
    const auto version = store_->bill_version(receipt.bill_version_id);
    ASSERT_TRUE(version.ok());
    EXPECT_EQ(version->bill_id, "b-1");
    EXPECT_EQ(version->version, 1);
    EXPECT_EQ(version->account_id, "acc-1");
    EXPECT_EQ(version->account_code, "ACME");
    EXPECT_EQ(version->status, BillStatus::Approved);
    EXPECT_TRUE(version->current);
    EXPECT_FALSE(version->processed);
    EXPECT_NE(version->bill_json.find("9.985"), std::string::npos) << version->bill_json;  // never via double
    EXPECT_EQ(version->delivery_id, receipt.delivery_id);
    const auto pending = store_->pending_bill_versions();
    ASSERT_EQ(pending->size(), 1u);
    EXPECT_EQ(pending->front().id, receipt.bill_version_id);
    const auto stored = store_->delivery(receipt.delivery_id);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->body, bill_json("b-1", 1));
    EXPECT_EQ(stored->headers.size(), 2u);
    EXPECT_EQ(stored->result, DeliveryResult::New);
    EXPECT_EQ(stored->received_at, at("2026-01-01T10:00:00Z"));
}

TEST_F(StoreDeliveries, SameContentTwiceIsARepeatAndChangesNothing) {
    const auto first = record(delivery(bill_json("b-1", 1)));
    ASSERT_TRUE(store_->mark_processed(first.bill_version_id, at("2026-01-01T10:01:00Z")).ok());
    // The same bill inside an envelope: the bill's text is what counts.
    const auto again = record(delivery(envelope("billing.bill.updated", bill_json("b-1", 1))));
    EXPECT_EQ(again.result, DeliveryResult::Repeat);
    EXPECT_EQ(again.bill_version_id, first.bill_version_id);
    EXPECT_NE(again.delivery_id, first.delivery_id);  // every delivery is on record
    EXPECT_EQ(store_->bill_versions("b-1")->size(), 1u);
    EXPECT_TRUE(store_->pending_bill_versions()->empty());
}

TEST_F(StoreDeliveries, OlderVersionIsKeptButIgnored) {
    const auto v2 = record(delivery(bill_json("b-1", 2)));
    const auto v1 = record(delivery(bill_json("b-1", 1)));
    EXPECT_EQ(v1.result, DeliveryResult::Older);
    const auto versions = store_->bill_versions("b-1");
    ASSERT_EQ(versions->size(), 2u);
    EXPECT_TRUE(versions->at(0).current);  // v2, stored first
    EXPECT_FALSE(versions->at(1).current);
    EXPECT_TRUE(versions->at(1).processed);  // never worked on
    const auto pending = store_->pending_bill_versions();
    ASSERT_EQ(pending->size(), 1u);
    EXPECT_EQ(pending->front().id, v2.bill_version_id);
}

TEST_F(StoreDeliveries, NewerVersionBecomesCurrentAndSupersedesTheUnprocessedOne) {
    record(delivery(bill_json("b-1", 1)));
    const auto v2 = record(delivery(bill_json("b-1", 2, "12.50")));
    EXPECT_EQ(v2.result, DeliveryResult::New);
    const auto pending = store_->pending_bill_versions();
    ASSERT_EQ(pending->size(), 1u);
    EXPECT_EQ(pending->front().version, 2);
}

TEST_F(StoreDeliveries, SameVersionWithOtherContentIsNew) {
    record(delivery(bill_json("b-1", 1)));
    EXPECT_EQ(record(delivery(bill_json("b-1", 1, "1.00"))).result, DeliveryResult::New);
}

TEST_F(StoreDeliveries, DeletionMarksTheBillDeletedAndLaterVersionsAreOlder) {
    const auto v1 = record(delivery(bill_json("b-1", 1)));
    ASSERT_TRUE(store_->mark_processed(v1.bill_version_id, at("2026-01-01T10:01:00Z")).ok());
    const auto deleted = record(delivery(envelope("billing.bill.deleted", bill_json("b-1", 1))));
    EXPECT_EQ(deleted.result, DeliveryResult::New);
    const auto version = store_->bill_version(deleted.bill_version_id);
    EXPECT_TRUE(version->deleted);
    EXPECT_TRUE(version->current);
    EXPECT_EQ(store_->pending_bill_versions()->size(), 1u);
    EXPECT_TRUE(store_->bill_detail("b-1")->deleted);
    EXPECT_EQ(record(delivery(bill_json("b-1", 5))).result, DeliveryResult::Older);
    EXPECT_EQ(record(delivery(envelope("billing.bill.deleted", bill_json("b-1", 1)))).result, DeliveryResult::Repeat);
}

TEST_F(StoreDeliveries, DeletionCarryingOnlyTheIdDeletesTheCurrentVersion) {
    record(delivery(bill_json("b-1", 3)));
    const auto deleted = record(delivery(envelope("billing.bill.deleted", R"({"id":"b-1"})")));
    EXPECT_EQ(deleted.result, DeliveryResult::New);
    const auto version = store_->bill_version(deleted.bill_version_id);
    EXPECT_TRUE(version->deleted);
    EXPECT_EQ(version->version, 3);
    // An id-only deletion of a bill never seen has nothing to delete.
    EXPECT_EQ(record(delivery(envelope("billing.bill.deleted", R"({"id":"b-9"})"))).result, DeliveryResult::Ignored);
}

TEST_F(StoreDeliveries, InvalidAndIgnoredDeliveriesAreOnRecordOnly) {
    const auto invalid = record(delivery("{not json"));
    EXPECT_EQ(invalid.result, DeliveryResult::Invalid);
    EXPECT_EQ(invalid.bill_version_id, 0);
    const auto stored = store_->delivery(invalid.delivery_id);
    ASSERT_TRUE(stored->error.has_value());
    EXPECT_EQ(stored->body, "{not json");
    const auto other = record(delivery(R"({"eventName":"account.created","id":"e","m3terEvent":{"eventData":{"x":1}}})"));
    EXPECT_EQ(other.result, DeliveryResult::Ignored);
    EXPECT_TRUE(store_->pending_bill_versions()->empty());
    const auto metrics = store_->metrics();
    EXPECT_EQ(metrics->deliveries_by_result.at("invalid"), 1);
    EXPECT_EQ(metrics->deliveries_by_result.at("ignored"), 1);
}

TEST_F(StoreDeliveries, ReprocessMarksTheCurrentVersionPendingAgain) {
    const auto v1 = record(delivery(bill_json("b-1", 1)));
    ASSERT_TRUE(store_->mark_processed(v1.bill_version_id, at("2026-01-01T10:01:00Z")).ok());
    EXPECT_TRUE(store_->pending_bill_versions()->empty());
    EXPECT_TRUE(store_->bill_version(v1.bill_version_id)->processed_at.has_value());
    const auto again = store_->reprocess_bill("b-1");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->id, v1.bill_version_id);
    EXPECT_FALSE(again->processed);
    EXPECT_EQ(store_->pending_bill_versions()->size(), 1u);
    EXPECT_EQ(store_->reprocess_bill("nope").error().code, store::kNotFound);
    EXPECT_EQ(store_->mark_processed(999, at("2026-01-01T10:01:00Z")).error().code, store::kNotFound);
}

// Issue 14: a version whose account m3ter failed to resolve waits with its
// next attempt stored; only versions due are handed to the scheduler.
TEST_F(StoreDeliveries, ADeferredVersionIsLeftOutUntilItsRetryIsDue) {
    const auto waiting = record(delivery(bill_json("b-1", 1)));
    const auto other = record(delivery(bill_json("b-2", 1)));
    const Instant retry_at = at("2026-01-01T10:05:00Z");
    ASSERT_TRUE(store_->defer_bill_version(waiting.bill_version_id, retry_at, "unavailable: HTTP 503").ok());
    ASSERT_TRUE(store_->defer_bill_version(waiting.bill_version_id, retry_at, "unavailable: HTTP 502").ok());

    const auto stored = store_->bill_version(waiting.bill_version_id);
    EXPECT_FALSE(stored->processed);
    EXPECT_EQ(stored->retry_attempts, 2);
    EXPECT_EQ(stored->retry_at, retry_at);
    EXPECT_EQ(stored->retry_reason, "unavailable: HTTP 502");
    EXPECT_EQ(store_->metrics()->versions_waiting_on_m3ter, 1);
    EXPECT_EQ(store_->metrics()->unprocessed_bill_versions, 2);

    const auto before = store_->pending_bill_versions(0, 10, at("2026-01-01T10:04:59Z"));
    ASSERT_EQ(before->size(), 1u);
    EXPECT_EQ(before->front().id, other.bill_version_id);
    EXPECT_EQ(store_->pending_bill_versions(0, 10, retry_at)->size(), 2u);
    EXPECT_EQ(store_->pending_bill_versions()->size(), 2u) << "without a time, every unprocessed version";

    ASSERT_TRUE(store_->mark_processed(waiting.bill_version_id, retry_at).ok());
    const auto done = store_->bill_version(waiting.bill_version_id);
    EXPECT_EQ(done->retry_attempts, 0);
    EXPECT_FALSE(done->retry_at.has_value());
    EXPECT_EQ(done->retry_reason, "");
    EXPECT_EQ(store_->metrics()->versions_waiting_on_m3ter, 0);
    EXPECT_EQ(store_->defer_bill_version(waiting.bill_version_id, retry_at, "late").error().code,
              store::kInvalidState);
    EXPECT_EQ(store_->defer_bill_version(999, retry_at, "none").error().code, store::kNotFound);
}

TEST_F(StoreDeliveries, AReprocessOfAWaitingVersionIsDueAtOnce) {
    const auto waiting = record(delivery(bill_json("b-1", 1)));
    ASSERT_TRUE(store_->defer_bill_version(waiting.bill_version_id, at("2026-01-01T11:00:00Z"), "unavailable").ok());
    EXPECT_TRUE(store_->pending_bill_versions(0, 10, at("2026-01-01T10:00:00Z"))->empty());
    ASSERT_TRUE(store_->reprocess_bill("b-1").ok());
    EXPECT_EQ(store_->pending_bill_versions(0, 10, at("2026-01-01T10:00:00Z"))->size(), 1u);
}

TEST(StoreMappings, AddListDeleteAndDuplicates) {
    auto store = store::open_sqlite_store(":memory:");
    ExternalMapping m;
    m.m3ter_entity = MappingEntity::Product;
    m.m3ter_id = "p-1";
    m.external_table = ExternalTable::Dimension;
    m.external_id = "compute";
    const auto id = store->add_mapping(m);
    ASSERT_TRUE(id.ok());
    // The same key linked to an integration is another mapping.
    ExternalMapping linked = m;
    linked.integration_id = "int-1";
    linked.external_id = "compute-eu";
    ASSERT_TRUE(store->add_mapping(linked).ok());
    const auto duplicate = store->add_mapping(m);
    ASSERT_FALSE(duplicate.ok());
    EXPECT_EQ(duplicate.error().code, store::kDuplicateMapping);
    EXPECT_NE(duplicate.error().message.find(id.value()), std::string::npos);

    auto list = store->list_mappings();
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ(list->at(0).id, id.value());
    EXPECT_EQ(list->at(0).m3ter_entity, MappingEntity::Product);
    EXPECT_EQ(list->at(0).external_table, ExternalTable::Dimension);
    EXPECT_EQ(list->at(0).external_system, "AzureMarketplace");
    EXPECT_EQ(list->at(1).integration_id, "int-1");

    EXPECT_TRUE(store->delete_mapping(id.value()).ok());
    EXPECT_EQ(store->delete_mapping(id.value()).error().code, store::kNotFound);
    EXPECT_EQ(store->delete_mapping("cfg-0").error().code, store::kNotFound);
    EXPECT_EQ(store->list_mappings()->size(), 1u);
    EXPECT_TRUE(store->add_mapping(m).ok());  // free again
}

}  // namespace
}  // namespace meterbridge
