#include "meterbridge/core/integration.hpp"

#include <gtest/gtest.h>

namespace meterbridge {
namespace {

Json json(std::string_view text) {
    auto parsed = parse_exact_json(text);
    EXPECT_TRUE(parsed.ok()) << text;
    return parsed.ok() ? *parsed : Json();
}

Error mapping_error(std::string_view text, std::string_view path = "") {
    auto mapping = parse_external_mapping(json(text), path);
    EXPECT_FALSE(mapping.ok()) << text;
    return mapping.ok() ? Error{} : mapping.error();
}

TEST(Integration, EnumNames) {
    EXPECT_EQ(to_string(SplitMode::ItemPerBill), "ITEM_PER_BILL");
    EXPECT_EQ(to_string(SplitMode::ItemPerProduct), "ITEM_PER_PRODUCT");
    EXPECT_EQ(to_string(SplitMode::ItemPerAggregation), "ITEM_PER_AGGREGATION");
    EXPECT_EQ(to_string(ResourceIdSource::ExternalMapping), "external_mapping");
    EXPECT_EQ(to_string(ResourceIdSource::AccountCode), "account_code");
    EXPECT_EQ(to_string(ResourceIdSource::AccountId), "account_id");
    EXPECT_EQ(to_string(MappingEntity::Account), "Account");
    EXPECT_EQ(to_string(MappingEntity::Product), "Product");
    EXPECT_EQ(to_string(MappingEntity::Aggregation), "Aggregation");
    EXPECT_EQ(to_string(MappingEntity::CompoundAggregation), "CompoundAggregation");
    EXPECT_EQ(to_string(ExternalTable::Subscription), "Subscription");
    EXPECT_EQ(to_string(ExternalTable::Dimension), "Dimension");
}

TEST(Integration, ParsesAnAccountMapping) {
    auto mapping = parse_external_mapping(json(R"({"m3ter_entity":"Account","m3ter_id":"acc-1",
        "external_system":"AzureMarketplace","external_table":"Subscription","external_id":"sub-1",
        "plan_id":"gold","integration_id":"int-a"})"));
    ASSERT_TRUE(mapping.ok()) << mapping.error().message;
    EXPECT_EQ(mapping->m3ter_entity, MappingEntity::Account);
    EXPECT_EQ(mapping->m3ter_id, "acc-1");
    EXPECT_EQ(mapping->external_system, "AzureMarketplace");
    EXPECT_EQ(mapping->external_table, ExternalTable::Subscription);
    EXPECT_EQ(mapping->external_id, "sub-1");
    EXPECT_EQ(mapping->plan_id, "gold");
    EXPECT_EQ(mapping->integration_id, "int-a");
    EXPECT_EQ(mapping->id, "");
}

TEST(Integration, DefaultsSystemAndTableFromTheEntity) {
    auto account = parse_external_mapping(json(R"({"m3ter_entity":"Account","m3ter_id":"a","external_id":"s"})"));
    ASSERT_TRUE(account.ok());
    EXPECT_EQ(account->external_system, "AzureMarketplace");
    EXPECT_EQ(account->external_table, ExternalTable::Subscription);
    for (const char* entity : {"Product", "Aggregation", "CompoundAggregation"}) {
        auto mapping = parse_external_mapping(
            json(std::string(R"({"m3ter_entity":")") + entity + R"(","m3ter_id":"p","external_id":"dim"})"));
        ASSERT_TRUE(mapping.ok()) << entity;
        EXPECT_EQ(mapping->external_table, ExternalTable::Dimension) << entity;
        EXPECT_EQ(to_string(mapping->m3ter_entity), entity);
    }
}

TEST(Integration, RejectsUnknownKeysWithThePath) {
    const Error error =
        mapping_error(R"({"m3ter_entity":"Account","m3ter_id":"a","external_id":"s","externalId":"x"})",
                      "external_mappings[2]");
    EXPECT_EQ(error.code, "unknown_field");
    EXPECT_EQ(error.field, "external_mappings[2].externalId");
}

TEST(Integration, RequiresNonEmptyIds) {
    EXPECT_EQ(mapping_error(R"({"m3ter_entity":"Account","external_id":"s"})").field, "m3ter_id");
    EXPECT_EQ(mapping_error(R"({"m3ter_entity":"Account","m3ter_id":"","external_id":"s"})").field, "m3ter_id");
    EXPECT_EQ(mapping_error(R"({"m3ter_entity":"Account","m3ter_id":"a"})").field, "external_id");
    EXPECT_EQ(mapping_error(R"({"m3ter_entity":"Account","m3ter_id":"a","external_id":7})").field, "external_id");
    EXPECT_EQ(mapping_error(R"({"m3ter_id":"a","external_id":"s"})").field, "m3ter_entity");
    EXPECT_EQ(mapping_error(R"({"m3ter_entity":"Account","m3ter_id":"a","external_id":"s","id":""})").field, "id");
}

TEST(Integration, RejectsBadEnumValues) {
    EXPECT_EQ(mapping_error(R"({"m3ter_entity":"account","m3ter_id":"a","external_id":"s"})").field, "m3ter_entity");
    EXPECT_EQ(mapping_error(R"({"m3ter_entity":"Meter","m3ter_id":"a","external_id":"s"})").field, "m3ter_entity");
    EXPECT_EQ(mapping_error(R"({"m3ter_entity":"Account","m3ter_id":"a","external_id":"s",
                               "external_system":"AwsMarketplace"})")
                  .field,
              "external_system");
    EXPECT_EQ(mapping_error(R"({"m3ter_entity":"Account","m3ter_id":"a","external_id":"s",
                               "external_table":"Customer"})")
                  .field,
              "external_table");
}

TEST(Integration, CrossChecksEntityAgainstTable) {
    const Error account = mapping_error(
        R"({"m3ter_entity":"Account","m3ter_id":"a","external_id":"s","external_table":"Dimension"})", "m");
    EXPECT_EQ(account.field, "m.external_table");
    EXPECT_NE(account.message.find("maps to an Azure Subscription"), std::string::npos) << account.message;
    EXPECT_EQ(mapping_error(R"({"m3ter_entity":"Product","m3ter_id":"p","external_id":"d",
                               "external_table":"Subscription"})")
                  .field,
              "external_table");
}

TEST(Integration, PlanIdOnlyForAccounts) {
    EXPECT_EQ(mapping_error(R"({"m3ter_entity":"Product","m3ter_id":"p","external_id":"d","plan_id":"gold"})").field,
              "plan_id");
}

TEST(Integration, RejectsNonObjects) {
    EXPECT_EQ(mapping_error(R"(["Account"])").code, "invalid_field");
}

TEST(Integration, ToJsonRoundTrips) {
    ExternalMapping mapping;
    mapping.id = "map-7";
    mapping.m3ter_entity = MappingEntity::Account;
    mapping.m3ter_id = "acc-1";
    mapping.external_id = "sub-1";
    mapping.plan_id = "gold";
    mapping.integration_id = "int-a";
    const Json out = to_json(mapping);
    EXPECT_EQ(out["m3ter_entity"], "Account");
    EXPECT_EQ(out["external_table"], "Subscription");
    EXPECT_EQ(out["external_system"], "AzureMarketplace");
    auto back = parse_external_mapping(out);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->id, "map-7");
    EXPECT_EQ(back->plan_id, "gold");
    EXPECT_EQ(back->integration_id, "int-a");
    EXPECT_EQ(back->external_id, "sub-1");

    ExternalMapping dimension;
    dimension.m3ter_entity = MappingEntity::CompoundAggregation;
    dimension.external_table = ExternalTable::Dimension;
    dimension.m3ter_id = "ca-1";
    dimension.external_id = "compute";
    const Json dimension_json = to_json(dimension);
    EXPECT_FALSE(dimension_json.contains("plan_id"));
    EXPECT_FALSE(dimension_json.contains("integration_id"));
    EXPECT_FALSE(dimension_json.contains("id"));
    EXPECT_TRUE(parse_external_mapping(dimension_json).ok());
}

}  // namespace
}  // namespace meterbridge
