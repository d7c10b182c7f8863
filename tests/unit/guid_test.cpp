#include "meterbridge/core/guid.hpp"

#include <gtest/gtest.h>

namespace meterbridge {
namespace {

TEST(Guid, AcceptsAzureResourceIdsInEitherCase) {
    EXPECT_TRUE(is_guid("6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"));
    EXPECT_TRUE(is_guid("AAAAAAAA-BBBB-4CCC-9DDD-EEEEEEEEEEEE"));
    EXPECT_TRUE(is_guid("00000000-0000-0000-0000-000000000000"));
}

TEST(Guid, RefusesEverythingElse) {
    EXPECT_FALSE(is_guid(""));
    EXPECT_FALSE(is_guid("sub-1"));
    EXPECT_FALSE(is_guid("acct-1"));
    EXPECT_FALSE(is_guid("{6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}"));      // braces
    EXPECT_FALSE(is_guid("6f1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d"));            // no hyphens
    EXPECT_FALSE(is_guid("6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4"));         // one digit short
    EXPECT_FALSE(is_guid("6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d0"));       // one digit long
    EXPECT_FALSE(is_guid("6f1b2c3d-4e5f-4a6b-8c7d9-e0f1a2b3c4d"));        // hyphen misplaced
    EXPECT_FALSE(is_guid("6f1b2c3g-4e5f-4a6b-8c7d-9e0f1a2b3c4d"));        // not hex
    EXPECT_FALSE(is_guid(" 6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"));      // padding
    EXPECT_FALSE(is_guid(std::string_view("6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4\0", 36)));
}

}  // namespace
}  // namespace meterbridge
