#include "meterbridge/core/ip_address.hpp"

#include <gtest/gtest.h>

namespace meterbridge {
namespace {

TEST(IpAddress, ParsesAndPrintsCanonically) {
    struct Case {
        std::string_view text;
        std::string_view canonical;
    };
    for (const Case& c : {Case{"192.0.2.1", "192.0.2.1"}, Case{"0.0.0.0", "0.0.0.0"}, Case{"::", "::"},
                          Case{"::1", "::1"}, Case{"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
                          Case{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"}, Case{"fe80::", "fe80::"},
                          Case{"::ffff:192.0.2.1", "::ffff:c000:201"}, Case{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"}}) {
        const auto address = parse_ip_address(c.text);
        ASSERT_TRUE(address.has_value()) << c.text;
        EXPECT_EQ(to_string(*address), c.canonical) << c.text;
    }
}

TEST(IpAddress, RejectsMalformed) {
    for (std::string_view text : {"", "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "1::2::3",
                                  ":1", "1:2:3:4:5:6:7:8:9", "12345::", "g::1", "1:2:3:4:5:6:7::8:9", "::1.2.3",
                                  "1.2.3.4::"}) {
        EXPECT_FALSE(parse_ip_address(text).has_value()) << text;
    }
}

TEST(IpAddress, Loopback) {
    EXPECT_TRUE(parse_ip_address("127.0.0.1")->is_loopback());
    EXPECT_TRUE(parse_ip_address("127.8.9.10")->is_loopback());
    EXPECT_TRUE(parse_ip_address("::1")->is_loopback());
    EXPECT_TRUE(parse_ip_address("::ffff:127.0.0.1")->is_loopback());
    EXPECT_FALSE(parse_ip_address("0.0.0.0")->is_loopback());
    EXPECT_FALSE(parse_ip_address("::")->is_loopback());
    EXPECT_FALSE(parse_ip_address("10.0.0.1")->is_loopback());
}

TEST(IpAddress, CidrContains) {
    const Cidr block = parse_cidr("10.1.0.0/16").value();
    EXPECT_TRUE(block.contains(*parse_ip_address("10.1.255.255")));
    EXPECT_FALSE(block.contains(*parse_ip_address("10.2.0.0")));
    EXPECT_TRUE(block.contains(*parse_ip_address("::ffff:10.1.2.3")));
    EXPECT_FALSE(block.contains(*parse_ip_address("::1")));
    const Cidr odd = parse_cidr("192.168.4.0/22").value();
    EXPECT_TRUE(odd.contains(*parse_ip_address("192.168.7.1")));
    EXPECT_FALSE(odd.contains(*parse_ip_address("192.168.8.1")));
    EXPECT_TRUE(parse_cidr("0.0.0.0/0")->contains(*parse_ip_address("8.8.8.8")));
    EXPECT_TRUE(parse_cidr("fd00::/8")->contains(*parse_ip_address("fd12::1")));
    EXPECT_FALSE(parse_cidr("fd00::/8")->contains(*parse_ip_address("fe12::1")));
    EXPECT_EQ(parse_cidr("10.0.0.7")->to_string(), "10.0.0.7/32");
}

TEST(IpAddress, CidrErrors) {
    EXPECT_EQ(parse_cidr("10.0.0.1/8").error().message, "'10.0.0.1/8' has host bits set (did you mean 10.0.0.0/8?)");
    for (std::string_view text : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/x", "::/129", "host/8", "/8"}) {
        EXPECT_FALSE(parse_cidr(text).ok()) << text;
    }
}

}  // namespace
}  // namespace meterbridge
