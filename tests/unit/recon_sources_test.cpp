#include "meterbridge/core/recon_sources.hpp"

#include <gtest/gtest.h>

#include <string>

namespace meterbridge::recon {
namespace {

Day day(const char* text) { return *parse_day(text); }

// The documented response of GET /api/usageEvents (metering API, seed 003's
// service): a bare array of daily rows.
const char* const kUsageEvents = R"([
  {
    "usageDate": "2020-11-30T00:00:00",
    "usageResourceId": "11111111-2222-3333-4444-55555555AAAA",
    "dimension": "tokens",
    "planId": "silver",
    "planName": "Silver",
    "offerId": "mycooloffer",
    "offerName": "My Cool Offer",
    "offerType": "SaaS",
    "azureSubscriptionId": "12345678-9012-3456-7890-12345678ABCD",
    "reconStatus": "Accepted",
    "submittedQuantity": 17.0,
    "processedQuantity": 17.0,
    "submittedCount": 17
  },
  {
    "usageDate": "2020-12-01T00:00:00Z",
    "usageResourceId": "11111111-2222-3333-4444-55555555aaaa",
    "dimension": "tokens",
    "planId": "silver",
    "reconStatus": "Submitted",
    "submittedQuantity": 0.29
  }
])";

// Seed 002's example row, the "..." of the documentation removed.
const char* const kEaCharges = R"([
  {
    "id": "id",
    "subscriptionGuid": "00000000-0000-0000-0000-000000000000",
    "subscriptionName": "subName",
    "meterId": "2core",
    "usageStartDate": "2015-09-17T00:00:00Z",
    "usageEndDate": "2015-09-17T23:59:59Z",
    "offerName": "Virtual LoadMaster™ (VLM) for Azure",
    "resourceGroup": "Res group",
    "instanceId": "id",
    "additionalInfo": "{\"ImageType\":null,\"ServiceType\":\"Medium\"}",
    "tags": "",
    "orderNumber": "order",
    "unitOfMeasure": "",
    "costCenter": "100",
    "accountId": 100,
    "accountName": "Account Name",
    "accountOwnerId": "account@live.com",
    "departmentId": 101,
    "departmentName": "Department 1",
    "publisherName": "Publisher 1",
    "planName": "Plan name",
    "consumedQuantity": 1.15,
    "resourceRate": 0.1,
    "extendedCost": 1.11,
    "isRecurringCharge": "False"
  }
])";

// One line of a billed/unbilled usage export blob (the columns of Partner
// Center's daily rated usage file, as the export writes them).
const char* const kPartnerLine =
    R"({"PartnerId":"0e195b37-4574-4539-bc42-0e539b9684c0","CustomerId":"196e2273-9651-43a3-ba7e-7cbcd918fc40",)"
    R"("CustomerName":"Contoso","ProductId":"DZH318Z0BNZ5","SkuId":"006G","SkuName":"Tables",)"
    R"("PublisherName":"Fabrikam","SubscriptionId":"AAAA0000-1111-2222-3333-444455556666",)"
    R"("ChargeStartDate":"2026-03-01T00:00:00","ChargeEndDate":"2026-03-31T00:00:00",)"
    R"("UsageDate":"2026-03-04T00:00:00","MeterId":"api_calls","MeterName":"API calls",)"
    R"("UnitOfMeasure":"1","Quantity":1234.5,"UnitPrice":0.01,"BillingPreTaxTotal":12.345,"BillingCurrency":"USD"})";

TEST(UsageEventsParser, MapsEveryUsedFieldOfTheDocumentedRows) {
    auto page = parse_usage_events(kUsageEvents);
    ASSERT_TRUE(page.ok()) << page.error().message;
    ASSERT_EQ(page->rows.size(), 2u);
    EXPECT_TRUE(page->next_link.empty());
    const AzureRow& first = page->rows[0];
    EXPECT_EQ(first.source, Source::UsageEvents);
    EXPECT_EQ(first.key.resource_id, "11111111-2222-3333-4444-55555555aaaa");  // lower-cased
    EXPECT_EQ(first.key.dimension, "tokens");
    EXPECT_EQ(first.key.day, day("2020-11-30"));
    EXPECT_EQ(first.quantity.to_string(), "17");
    ASSERT_TRUE(first.submitted_quantity);
    EXPECT_EQ(*first.submitted_quantity, Decimal::from_integer(17));
    EXPECT_EQ(first.status, "Accepted");
    EXPECT_EQ(first.plan, "silver");
    EXPECT_EQ(first.offer, "mycooloffer");
    EXPECT_EQ(first.azure_subscription_id, "12345678-9012-3456-7890-12345678abcd");

    // A Submitted row may come without processedQuantity; 0.29 stays exact.
    const AzureRow& second = page->rows[1];
    EXPECT_EQ(second.status, "Submitted");
    EXPECT_TRUE(second.quantity.is_zero());
    EXPECT_EQ(second.submitted_quantity->to_string(), "0.29");
    EXPECT_EQ(second.key.day, day("2020-12-01"));
}

TEST(UsageEventsParser, ReadsAPagedObjectAndItsNextLink) {
    auto page = parse_usage_events(
        R"({"value":[{"usageDate":"2026-03-01T00:00:00","usageResourceId":"r","dimension":"d","reconStatus":"Accepted",)"
        R"("processedQuantity":5}],"@nextLink":"https://marketplaceapi.microsoft.com/api/usageEvents?page=2"})");
    ASSERT_TRUE(page.ok()) << page.error().message;
    ASSERT_EQ(page->rows.size(), 1u);
    EXPECT_EQ(page->next_link, "https://marketplaceapi.microsoft.com/api/usageEvents?page=2");
}

struct Broken {
    const char* body;
    const char* field;
};

class UsageEventsBroken : public ::testing::TestWithParam<Broken> {};

TEST_P(UsageEventsBroken, NamesTheField) {
    auto page = parse_usage_events(GetParam().body);
    ASSERT_FALSE(page.ok());
    EXPECT_EQ(page.error().field, GetParam().field) << page.error().message;
    EXPECT_NE(page.error().message.find(GetParam().field), std::string::npos) << page.error().message;
}

#define ROW(extra) \
    "[{\"usageDate\":\"2026-03-01T00:00:00\",\"usageResourceId\":\"r\",\"dimension\":\"d\",\"reconStatus\":\"Accepted\"" extra "}]"

INSTANTIATE_TEST_SUITE_P(
    Rows, UsageEventsBroken,
    ::testing::Values(Broken{ROW(""), "[0].processedQuantity"},                                  // missing
                      Broken{ROW(",\"processedQuantity\":\"17\""), "[0].processedQuantity"},      // wrong type
                      Broken{ROW(",\"processedQuantity\":-1"), "[0].processedQuantity"},          // negative
                      Broken{ROW(",\"processedQuantity\":1e30"), "[0].processedQuantity"},         // huge
                      Broken{ROW(",\"processedQuantity\":99999999999999999999"), "[0].processedQuantity"},
                      Broken{ROW(",\"processedQuantity\":1,\"submittedQuantity\":true"), "[0].submittedQuantity"},
                      Broken{ROW(",\"processedQuantity\":1,\"planId\":7"), "[0].planId"},
                      Broken{"[{\"usageDate\":\"yesterday\",\"usageResourceId\":\"r\",\"dimension\":\"d\","
                             "\"reconStatus\":\"Accepted\",\"processedQuantity\":1}]",
                             "[0].usageDate"},
                      Broken{"[{\"usageDate\":\"2026-02-30T00:00:00\",\"usageResourceId\":\"r\",\"dimension\":\"d\","
                             "\"reconStatus\":\"Accepted\",\"processedQuantity\":1}]",
                             "[0].usageDate"},
                      Broken{"[{\"usageDate\":\"2026-03-01T00:00:00\",\"dimension\":\"d\","
                             "\"reconStatus\":\"Accepted\",\"processedQuantity\":1}]",
                             "[0].usageResourceId"},
                      Broken{"[{\"usageDate\":\"2026-03-01T00:00:00\",\"usageResourceId\":\"r\","
                             "\"reconStatus\":\"Accepted\",\"processedQuantity\":1}]",
                             "[0].dimension"},
                      Broken{"[{\"usageDate\":\"2026-03-01T00:00:00\",\"usageResourceId\":\"r\",\"dimension\":\"d\","
                             "\"processedQuantity\":1}]",
                             "[0].reconStatus"},
                      Broken{"[7]", "[0]"}, Broken{"{\"value\":{}}", "value"}));

#undef ROW

TEST(UsageEventsParser, RefusesTextThatIsNoJsonOrNoList) {
    // Beyond any JSON reader's range the document itself is refused, by byte offset.
    auto huge = parse_usage_events(R"([{"processedQuantity":1e999}])");
    ASSERT_FALSE(huge.ok());
    EXPECT_EQ(huge.error().code, "invalid_json");
    EXPECT_NE(huge.error().message.find("out of range"), std::string::npos) << huge.error().message;
    EXPECT_EQ(parse_usage_events("[{").error().code, "invalid_json");
    EXPECT_EQ(parse_usage_events("").error().code, "invalid_json");
    EXPECT_FALSE(parse_usage_events("\"rows\"").ok());
}

TEST(EaChargesParser, MapsTheSeedExample) {
    auto rows = parse_ea_charges(kEaCharges);
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    ASSERT_EQ(rows->size(), 1u);
    const AzureRow& row = (*rows)[0];
    EXPECT_EQ(row.source, Source::EaCharges);
    EXPECT_TRUE(row.key.resource_id.empty());  // the NameMap gives it
    EXPECT_EQ(row.azure_subscription_id, "00000000-0000-0000-0000-000000000000");
    EXPECT_EQ(row.key.dimension, "2core");  // SPEC §8: meterId = dimension
    EXPECT_EQ(row.key.day, day("2015-09-17"));
    EXPECT_EQ(row.quantity.to_string(), "1.15");
    EXPECT_EQ(row.plan, "Plan name");
    EXPECT_EQ(row.offer, "Virtual LoadMaster™ (VLM) for Azure");
}

TEST(EaChargesParser, LeavesRecurringChargesOut) {
    std::string body = kEaCharges;
    body.replace(body.find("\"False\""), 7, "\"True\"");
    auto rows = parse_ea_charges(body);
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    EXPECT_TRUE(rows->empty());
}

TEST(EaChargesParser, NamesTheBrokenField) {
    const auto error_field = [](std::string from, std::string to) {
        std::string body = kEaCharges;
        const auto at = body.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        body.replace(at, from.size(), to);
        auto rows = parse_ea_charges(body);
        return rows.ok() ? std::string("(accepted)") : rows.error().field;
    };
    EXPECT_EQ(error_field("\"meterId\": \"2core\",", ""), "[0].meterId");
    EXPECT_EQ(error_field("\"subscriptionGuid\"", "\"subscription\""), "[0].subscriptionGuid");
    EXPECT_EQ(error_field("1.15", "\"1.15\""), "[0].consumedQuantity");
    EXPECT_EQ(error_field("1.15", "-1.15"), "[0].consumedQuantity");
    EXPECT_EQ(error_field("1.15", "1e25"), "[0].consumedQuantity");
    EXPECT_EQ(error_field("1.15", "0.0000000000000000001"), "[0].consumedQuantity");  // beyond 18 decimals
    EXPECT_EQ(error_field("1.15", "null"), "[0].consumedQuantity");
    EXPECT_EQ(error_field("2015-09-17T00:00:00Z", "17/09/2015"), "[0].usageStartDate");
    EXPECT_EQ(error_field("\"False\"", "\"maybe\""), "[0].isRecurringCharge");
    EXPECT_EQ(parse_ea_charges("{}").error().field, "");
    EXPECT_EQ(parse_ea_charges("[1]").error().field, "[0]");
}

TEST(PartnerBillingParser, MapsALineOfTheExport) {
    auto row = parse_partner_billing_line(kPartnerLine);
    ASSERT_TRUE(row.ok()) << row.error().message;
    EXPECT_EQ(row->source, Source::PartnerBilling);
    EXPECT_TRUE(row->key.resource_id.empty());
    EXPECT_EQ(row->azure_subscription_id, "aaaa0000-1111-2222-3333-444455556666");
    EXPECT_EQ(row->key.dimension, "api_calls");
    EXPECT_EQ(row->key.day, day("2026-03-04"));  // UsageDate, not ChargeStartDate
    EXPECT_EQ(row->quantity.to_string(), "1234.5");
    EXPECT_EQ(row->plan, "006G");
    EXPECT_EQ(row->offer, "DZH318Z0BNZ5");
}

TEST(PartnerBillingParser, AcceptsCamelCaseAndCorrectionLines) {
    auto row = parse_partner_billing_line(
        R"({"subscriptionId":"S","meterId":"m","usageDate":"2026-03-04","quantity":-3})");
    ASSERT_TRUE(row.ok()) << row.error().message;
    EXPECT_EQ(row->azure_subscription_id, "s");
    EXPECT_EQ(row->quantity, Decimal::from_integer(-3));
}

TEST(PartnerBillingParser, NamesTheBrokenField) {
    const auto field_of = [](const char* line) {
        auto row = parse_partner_billing_line(line);
        return row.ok() ? std::string("(accepted)") : row.error().field;
    };
    EXPECT_EQ(field_of(R"({"MeterId":"m","UsageDate":"2026-03-04","Quantity":1})"), "subscriptionId");
    EXPECT_EQ(field_of(R"({"SubscriptionId":"s","UsageDate":"2026-03-04","Quantity":1})"), "meterId");
    EXPECT_EQ(field_of(R"({"SubscriptionId":"s","MeterId":"m","UsageDate":"04/03/2026","Quantity":1})"), "usageDate");
    EXPECT_EQ(field_of(R"({"SubscriptionId":"s","MeterId":"m","UsageDate":"2026-03-04","Quantity":"1"})"), "quantity");
    // An offset that moves the day out of the years YYYY-MM-DD can name.
    EXPECT_EQ(field_of(R"({"SubscriptionId":"s","MeterId":"m","UsageDate":"0000-01-01T00:00:00+01:00","Quantity":1})"),
              "usageDate");
    EXPECT_EQ(field_of(R"({"SubscriptionId":"s","MeterId":"m","UsageDate":"2026-03-04T23:30:00-01:00","Quantity":1})"),
              "(accepted)");
    EXPECT_EQ(field_of(R"({"SubscriptionId":"s","MeterId":"m","UsageDate":"2026-03-04","Quantity":1e30})"), "quantity");
    EXPECT_EQ(field_of(R"({"SubscriptionId":"s","MeterId":"m","UsageDate":"2026-03-04"})"), "quantity");
    EXPECT_EQ(field_of(R"({"SubscriptionId":["s"],"MeterId":"m","UsageDate":"2026-03-04","Quantity":1})"),
              "subscriptionId");
    EXPECT_EQ(parse_partner_billing_line("{\"SubscriptionId\":").error().code, "invalid_json");
    EXPECT_FALSE(parse_partner_billing_line("[]").ok());
}

TEST(ExportOperationParser, ReadsRunningFailedAndSucceeded) {
    auto running = parse_export_operation(
        R"({"@odata.type":"#microsoft.graph.partners.billing.runningOperation","id":"6fe687d7","status":"running",)"
        R"("createdDateTime":"2023-03-09T08:12:53","lastActionDateTime":"2023-03-09T08:37:48.5046691Z"})");
    ASSERT_TRUE(running.ok()) << running.error().message;
    EXPECT_EQ(running->id, "6fe687d7");
    EXPECT_EQ(running->status, ExportOperation::Status::Running);

    auto failed = parse_export_operation(
        R"({"@odata.type":"#microsoft.graph.partners.billing.failedOperation","id":"6fe687d7","status":"failed",)"
        R"("error":{"message":"No data available","code":"5000"}})");
    ASSERT_TRUE(failed.ok()) << failed.error().message;
    EXPECT_EQ(failed->status, ExportOperation::Status::Failed);
    EXPECT_EQ(failed->error_code, "5000");
    EXPECT_EQ(failed->error_message, "No data available");

    auto linked = parse_export_operation(
        R"({"id":"6fe687d7","status":"succeeded","resourceLocation@odata.navigationLink":)"
        R"("https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/8fe347d7"})");
    ASSERT_TRUE(linked.ok()) << linked.error().message;
    EXPECT_EQ(linked->status, ExportOperation::Status::Succeeded);
    EXPECT_EQ(linked->manifest_link, "https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/8fe347d7");
    EXPECT_FALSE(linked->manifest);

    auto embedded = parse_export_operation(
        R"({"id":"x","status":"succeeded","resourceLocation":{"id":"m1","rootDirectory":"https://a.blob.core.windows.net/r",)"
        R"("sasToken":"sv=1&sig=2","blobCount":1,"blobs":[{"name":"part-1.json.gz","partitionValue":"default"}]}})");
    ASSERT_TRUE(embedded.ok()) << embedded.error().message;
    ASSERT_TRUE(embedded->manifest);
    EXPECT_EQ(embedded->manifest->blobs.size(), 1u);
}

TEST(ExportOperationParser, RefusesUnknownStatusAndASuccessWithoutManifest) {
    EXPECT_EQ(parse_export_operation(R"({"status":"exploded"})").error().field, "status");
    EXPECT_EQ(parse_export_operation(R"({"id":"x"})").error().field, "status");
    EXPECT_EQ(parse_export_operation(R"({"status":"succeeded"})").error().field, "resourceLocation");
    EXPECT_EQ(parse_export_operation(R"({"status":"succeeded","resourceLocation":{"blobs":[]}})").error().field,
              "resourceLocation.rootDirectory");
}

TEST(ExportManifestParser, ReadsBlobsAndBuildsTheirUrls) {
    auto manifest = parse_export_manifest(
        R"({"@odata.type":"#microsoft.graph.partners.billing.manifest","id":"1b9e5a9c","schemaVersion":"2",)"
        R"("dataFormat":"compressedJSONLines","createdDateTime":"2023-03-09T08:37:48Z","eTag":"JvVNTnRDVMs=",)"
        R"("partnerTenantId":"44f5d2b8","rootDirectory":"https://adlsreconbuprodeastus201.blob.core.windows.net/path",)"
        R"("sasToken":"sv=2021-12-02&sig=xyz","partitionType":"default","blobCount":2,)"
        R"("blobs":[{"name":"part-0.json.gz","partitionValue":"default"},{"name":"part-1.json.gz"}]})");
    ASSERT_TRUE(manifest.ok()) << manifest.error().message;
    EXPECT_EQ(manifest->id, "1b9e5a9c");
    EXPECT_EQ(manifest->data_format, "compressedJSONLines");
    EXPECT_EQ(manifest->schema_version, "2");
    EXPECT_EQ(manifest->etag, "JvVNTnRDVMs=");
    EXPECT_EQ(manifest->blob_count, 2);
    ASSERT_EQ(manifest->blobs.size(), 2u);
    EXPECT_EQ(manifest->blobs[0].partition_value, "default");
    EXPECT_EQ(blob_url(*manifest, manifest->blobs[1]),
              "https://adlsreconbuprodeastus201.blob.core.windows.net/path/part-1.json.gz?sv=2021-12-02&sig=xyz");
    ExportManifest bare;
    bare.root_directory = "http://127.0.0.1:9/b/";
    EXPECT_EQ(blob_url(bare, {"x.gz", ""}), "http://127.0.0.1:9/b/x.gz");
}

TEST(ExportManifestParser, NamesTheBrokenField) {
    EXPECT_EQ(parse_export_manifest(R"({"rootDirectory":"https://a"})").error().field, "blobs");
    EXPECT_EQ(parse_export_manifest(R"({"rootDirectory":"https://a","blobs":[{}]})").error().field, "blobs[0].name");
    EXPECT_EQ(parse_export_manifest(R"({"rootDirectory":"https://a","blobs":[],"blobCount":-1})").error().field,
              "blobCount");
    EXPECT_EQ(parse_export_manifest(R"({"blobs":[]})").error().field, "rootDirectory");
}

// Every prefix of every example is refused or parsed, never a crash (the fuzz
// targets do the same with mutations).
TEST(ReconParsers, SurviveEveryTruncation) {
    const std::string usage = kUsageEvents, ea = kEaCharges, line = kPartnerLine;
    std::size_t accepted = 0;
    for (std::size_t n = 0; n < usage.size(); ++n) accepted += parse_usage_events(usage.substr(0, n)).ok();
    for (std::size_t n = 0; n < ea.size(); ++n) accepted += parse_ea_charges(ea.substr(0, n)).ok();
    for (std::size_t n = 0; n < line.size(); ++n) accepted += parse_partner_billing_line(line.substr(0, n)).ok();
    EXPECT_EQ(accepted, 0u);  // a truncated JSON document is never complete
    EXPECT_TRUE(parse_usage_events(usage).ok() && parse_ea_charges(ea).ok() && parse_partner_billing_line(line).ok());
}

}  // namespace
}  // namespace meterbridge::recon
