// net/gzip: the compressor and the streaming line reader, in memory.
#include "meterbridge/net/gzip.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace meterbridge::net {
namespace {

std::string numbered_lines(int count) {
    std::string text;
    for (int i = 0; i < count; ++i) text += R"({"line":)" + std::to_string(i) + R"(,"Quantity":1.5})" + "\n";
    return text;
}

// Feeds `compressed` in chunks of `chunk` bytes; returns the lines and the final status.
struct ReadOutcome {
    std::vector<std::string> lines;
    Status status = Ok{};
};
ReadOutcome read_all(std::string_view compressed, std::size_t chunk, std::size_t max_line = std::size_t{16} << 20) {
    ReadOutcome outcome;
    GzipLineReader reader(max_line);
    const auto sink = [&](std::string_view line) { outcome.lines.emplace_back(line); };
    for (std::size_t at = 0; at < compressed.size(); at += chunk) {
        auto fed = reader.feed(compressed.substr(at, chunk), sink);
        if (!fed) {
            outcome.status = fed;
            return outcome;
        }
    }
    outcome.status = reader.finish(sink);
    return outcome;
}

TEST(Gzip, RoundTripGivesEveryLineBack) {
    const std::string text = numbered_lines(5000);
    const std::string compressed = gzip_compress(text);
    EXPECT_LT(compressed.size(), text.size() / 4);
    ASSERT_EQ(compressed.substr(0, 2), std::string("\x1f\x8b"));  // the gzip magic, not a bare zlib stream
    const auto outcome = read_all(compressed, 4096);
    ASSERT_TRUE(outcome.status.ok()) << outcome.status.error().message;
    ASSERT_EQ(outcome.lines.size(), 5000U);
    EXPECT_EQ(outcome.lines.front(), R"({"line":0,"Quantity":1.5})");
    EXPECT_EQ(outcome.lines[4321], R"({"line":4321,"Quantity":1.5})");
}

TEST(Gzip, TheStreamingWriterEqualsTheOneShotContent) {
    GzipWriter writer;
    const std::string text = numbered_lines(300);
    for (std::size_t at = 0; at < text.size(); at += 7) writer.write(std::string_view(text).substr(at, 7));
    const auto outcome = read_all(writer.finish(), 100);
    ASSERT_TRUE(outcome.status.ok());
    std::string joined;
    for (const auto& line : outcome.lines) joined += line + "\n";
    EXPECT_EQ(joined, text);
}

TEST(Gzip, OneByteChunksAndALineSplitAcrossChunks) {
    const std::string text = std::string(200000, 'x') + "\nshort\r\n\nlast-without-newline";
    const std::string compressed = gzip_compress(text);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{3}, compressed.size() / 2, compressed.size()}) {
        const auto outcome = read_all(compressed, chunk);
        ASSERT_TRUE(outcome.status.ok()) << chunk;
        ASSERT_EQ(outcome.lines.size(), 3U) << chunk;  // the empty line is skipped, \r dropped
        EXPECT_EQ(outcome.lines[0].size(), 200000U);
        EXPECT_EQ(outcome.lines[1], "short");
        EXPECT_EQ(outcome.lines[2], "last-without-newline");
    }
}

TEST(Gzip, ConcatenatedMembersReadAsOneStream) {
    const auto outcome = read_all(gzip_compress("a\nb") + gzip_compress("\nc\n"), 5);
    ASSERT_TRUE(outcome.status.ok()) << outcome.status.error().message;
    EXPECT_EQ(outcome.lines, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Gzip, CorruptDataIsAnErrorNotACrash) {
    std::string compressed = gzip_compress(numbered_lines(2000));
    compressed[compressed.size() / 2] = static_cast<char>(compressed[compressed.size() / 2] ^ 0x55);
    compressed[compressed.size() / 2 + 1] = static_cast<char>(compressed[compressed.size() / 2 + 1] ^ 0xff);
    const auto outcome = read_all(compressed, 512);
    ASSERT_FALSE(outcome.status.ok());
    EXPECT_EQ(outcome.status.error().code, "invalid_gzip");

    const auto not_gzip = read_all("{\"plain\":\"json\"}\n", 4);
    ASSERT_FALSE(not_gzip.status.ok());
    EXPECT_NE(not_gzip.status.error().message.find("corrupt"), std::string::npos);
    EXPECT_TRUE(not_gzip.lines.empty());

    // Every later call repeats the error.
    GzipLineReader reader;
    const auto sink = [](std::string_view) {};
    ASSERT_FALSE(reader.feed("garbage!", sink).ok());
    EXPECT_FALSE(reader.feed(gzip_compress("ok\n"), sink).ok());
    EXPECT_FALSE(reader.finish(sink).ok());
}

TEST(Gzip, ATruncatedStreamIsAnErrorAtFinish) {
    const std::string compressed = gzip_compress(numbered_lines(1000));
    const auto outcome = read_all(compressed.substr(0, compressed.size() - 6), 64);  // CRC trailer cut
    ASSERT_FALSE(outcome.status.ok());
    EXPECT_NE(outcome.status.error().message.find("truncated"), std::string::npos);
    EXPECT_FALSE(read_all("", 1).status.ok());  // nothing at all
}

TEST(Gzip, ALineLongerThanTheLimitIsRefused) {
    const auto outcome = read_all(gzip_compress(std::string(5000, 'y') + "\n"), 100, 1000);
    ASSERT_FALSE(outcome.status.ok());
    EXPECT_NE(outcome.status.error().message.find("longer than 1000"), std::string::npos);
    EXPECT_TRUE(read_all(gzip_compress(std::string(999, 'y') + "\n"), 100, 1000).status.ok());
}

}  // namespace
}  // namespace meterbridge::net
