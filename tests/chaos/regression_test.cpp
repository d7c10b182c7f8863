// Regression tests for defects the campaigns found (issue 5).
#include "chaos_support.hpp"

#include <gtest/gtest.h>

namespace meterbridge::chaos {
namespace {

using testing::bill_json;

// A deletion that carries only the bill id was stored as "version 0, account
// ''": the bill lost its accountId (GET /bills, /reportedusage?accountId=) and
// the deletion did not name the version it deleted.
TEST(Regression, ADeletionByIdKeepsTheBillsVersionAndAccount) {
    ChaosRig rig;
    ASSERT_NO_FATAL_FAILURE(rig.start());
    DaemonProcess& daemon = rig.daemon;

    ASSERT_EQ(daemon.post_bill(bill_json("b-del", 1, "acc-b1", {{"USAGE", "1.00", "", ""}})).status, 202);
    ASSERT_EQ(daemon.post_bill(bill_json("b-del", 2, "acc-b1", {{"USAGE", "2.00", "", ""}})).status, 202);
    ASSERT_TRUE(DaemonProcess::eventually([&] {
        return daemon.get("/reportedusage?accountId=acc-b1").body.find("b-del") != std::string::npos;
    })) << daemon.log();
    const std::string deletion = R"({"id":"evt-del","eventName":"billing.bill.deleted","m3terEvent":{"eventData":{"id":"b-del"}}})";
    const HttpAnswer deleted = daemon.post_bill(deletion);
    ASSERT_EQ(deleted.status, 202) << deleted.body;
    EXPECT_EQ(deleted.json()["billId"], "b-del");
    EXPECT_EQ(daemon.post_bill(deletion).status, 200);  // m3ter's retry: a repeat

    const Json detail = daemon.get("/bills/b-del").json();
    EXPECT_TRUE(detail["deleted"].get<bool>());
    EXPECT_EQ(detail["accountId"], "acc-b1");
    const Json& last = detail["versions"].back();
    EXPECT_TRUE(last["deleted"].get<bool>());
    EXPECT_EQ(last["version"], 2);
    EXPECT_EQ(last["accountId"], "acc-b1");
    // What Azure accepted for the deleted bill is still reported under its account.
    EXPECT_NE(daemon.get("/reportedusage?accountId=acc-b1").body.find("b-del"), std::string::npos);

    // A deletion of a bill never seen deletes nothing: acknowledged, ignored.
    const HttpAnswer unknown = daemon.post_bill(
        R"({"id":"evt-del-2","eventName":"billing.bill.deleted","m3terEvent":{"eventData":{"id":"b-never"}}})");
    EXPECT_EQ(unknown.status, 200) << unknown.body;
    EXPECT_EQ(daemon.get("/bills/b-never").status, 404);
}

}  // namespace
}  // namespace meterbridge::chaos
