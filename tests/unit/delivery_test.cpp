#include "meterbridge/core/delivery.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace meterbridge {
namespace {

IncomingVersion incoming(std::int64_t version, const std::string& hash, bool deleted = false) {
    return IncomingVersion{version, deleted, hash};
}

DeliveryResult classify(const IncomingVersion& in, const std::vector<StoredVersion>& same_number,
                        std::optional<CurrentVersion> current) {
    return classify_delivery(in, same_number, current).result;
}

TEST(ClassifyDelivery, TheFirstVersionOfABillIsNew) {
    EXPECT_EQ(classify(incoming(3, "h"), {}, std::nullopt), DeliveryResult::New);
    EXPECT_EQ(classify(incoming(3, "h", true), {}, std::nullopt), DeliveryResult::New);
}

TEST(ClassifyDelivery, AnIdenticalStoredVersionMakesARepeatAndNamesIt) {
    const std::vector<StoredVersion> stored{{7, false, "other"}, {9, false, "h"}};
    const auto decided = classify_delivery(incoming(2, "h"), stored, CurrentVersion{2, false});
    EXPECT_EQ(decided.result, DeliveryResult::Repeat);
    EXPECT_EQ(decided.repeat_of, 9);
    EXPECT_EQ(classify_delivery(incoming(2, "new"), stored, CurrentVersion{2, false}).repeat_of, 0);
}

TEST(ClassifyDelivery, ARepeatOfAnOlderVersionIsStillARepeat) {
    EXPECT_EQ(classify(incoming(1, "h"), {{4, false, "h"}}, CurrentVersion{5, false}), DeliveryResult::Repeat);
    // Even after the bill was deleted.
    EXPECT_EQ(classify(incoming(1, "h"), {{4, false, "h"}}, CurrentVersion{5, true}), DeliveryResult::Repeat);
}

TEST(ClassifyDelivery, SameContentButADeletionIsNotARepeat) {
    EXPECT_EQ(classify(incoming(2, "h", true), {{4, false, "h"}}, CurrentVersion{2, false}), DeliveryResult::New);
    EXPECT_EQ(classify(incoming(2, "h"), {{4, true, "h"}}, CurrentVersion{2, true}), DeliveryResult::Older);
}

TEST(ClassifyDelivery, ALowerVersionIsOlderAndAHigherOneNew) {
    EXPECT_EQ(classify(incoming(1, "h"), {}, CurrentVersion{2, false}), DeliveryResult::Older);
    EXPECT_EQ(classify(incoming(3, "h"), {}, CurrentVersion{2, false}), DeliveryResult::New);
}

TEST(ClassifyDelivery, TheSameVersionWithOtherContentIsNew) {
    // m3ter changed the version in place.
    EXPECT_EQ(classify(incoming(2, "changed"), {{4, false, "h"}}, CurrentVersion{2, false}), DeliveryResult::New);
}

TEST(ClassifyDelivery, ADeletionOfALiveBillIsNewWhateverItsVersion) {
    EXPECT_EQ(classify(incoming(1, "h", true), {}, CurrentVersion{5, false}), DeliveryResult::New);
}

TEST(ClassifyDelivery, ADeletedBillStaysDeleted) {
    EXPECT_EQ(classify(incoming(9, "h"), {}, CurrentVersion{5, true}), DeliveryResult::Older);
    EXPECT_EQ(classify(incoming(9, "h", true), {}, CurrentVersion{5, true}), DeliveryResult::Older);
}

}  // namespace
}  // namespace meterbridge
