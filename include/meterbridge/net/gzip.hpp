#pragma once
// gzip (RFC 1952) through zlib: the format of the partner billing export's
// blobs (seed 004). The compressor serves the sandbox; the line reader lets a
// client parse a download of any size while holding only the current partial
// line and zlib's 32 KiB window.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "meterbridge/core/result.hpp"

namespace meterbridge::net {

// The whole of `data` as one gzip member.
std::string gzip_compress(std::string_view data);

// Streaming compressor: write() any number of pieces, finish() once. The
// compressed bytes accumulate in the writer (what it returns), never the input.
class GzipWriter {
public:
    explicit GzipWriter(int level = 6);  // zlib's 0..9; 1 is fastest
    ~GzipWriter();
    GzipWriter(const GzipWriter&) = delete;
    GzipWriter& operator=(const GzipWriter&) = delete;

    void write(std::string_view data);
    std::string finish();  // the complete gzip stream; the writer is spent afterwards

private:
    struct State;
    std::unique_ptr<State> state_;
};

// Streaming decompressor yielding complete lines ('\n'-terminated; a trailing
// '\r' is dropped; empty lines are skipped). Concatenated gzip members are
// read as one stream, as gzip(1) does. A corrupt stream, a line longer than
// `max_line_bytes` or a stream that ends early is an Error, and every later
// call returns that Error again.
class GzipLineReader {
public:
    using LineSink = std::function<void(std::string_view line)>;

    explicit GzipLineReader(std::size_t max_line_bytes = std::size_t{16} << 20);
    ~GzipLineReader();
    GzipLineReader(const GzipLineReader&) = delete;
    GzipLineReader& operator=(const GzipLineReader&) = delete;

    // Decompresses `chunk` (any size, any split) and calls `on_line` for each line completed.
    Status feed(std::string_view chunk, const LineSink& on_line);
    // The end of the input: yields a last line without '\n'; an Error when the
    // gzip stream was not complete (truncated download) or no data came at all.
    Status finish(const LineSink& on_line);

    std::uint64_t lines() const noexcept { return lines_; }
    std::uint64_t compressed_bytes() const noexcept { return compressed_bytes_; }

private:
    struct State;
    Status fail(std::string message);
    void emit(std::string_view line, const LineSink& on_line);

    std::unique_ptr<State> state_;
    std::size_t max_line_bytes_;
    std::string partial_;
    std::uint64_t lines_ = 0;
    std::uint64_t compressed_bytes_ = 0;
    bool member_done_ = false;  // the last member ended and nothing followed yet
    bool saw_input_ = false;
    bool finished_ = false;
    std::optional<Error> error_;
};

}  // namespace meterbridge::net
