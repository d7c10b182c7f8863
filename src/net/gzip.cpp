#include "meterbridge/net/gzip.hpp"

#include <array>
#include <limits>
#include <stdexcept>

#include <zlib.h>

namespace meterbridge::net {

namespace {

// windowBits 15 + 16: the gzip wrapper (header and CRC-32 trailer), not raw zlib.
constexpr int kGzipWindowBits = 15 + 16;
constexpr std::size_t kBufferBytes = 64 * 1024;

// zlib counts in uInt; feed it pieces that fit.
constexpr std::size_t kMaxPiece = std::numeric_limits<uInt>::max() / 2;

}  // namespace

struct GzipWriter::State {
    z_stream stream{};
    std::string out;
    bool finished = false;

    void pump(std::string_view data, int flush) {
        std::array<unsigned char, kBufferBytes> buffer{};
        do {
            const std::size_t piece = std::min(data.size(), kMaxPiece);
            stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
            stream.avail_in = static_cast<uInt>(piece);
            const int mode = piece == data.size() ? flush : Z_NO_FLUSH;
            int rc = Z_OK;
            do {
                stream.next_out = buffer.data();
                stream.avail_out = static_cast<uInt>(buffer.size());
                rc = deflate(&stream, mode);
                if (rc == Z_STREAM_ERROR) throw std::logic_error("gzip: deflate stream error");
                out.append(reinterpret_cast<const char*>(buffer.data()), buffer.size() - stream.avail_out);
            } while (stream.avail_out == 0 || (mode == Z_FINISH && rc != Z_STREAM_END));
            data.remove_prefix(piece);
        } while (!data.empty());
    }
};

GzipWriter::GzipWriter(int level) : state_(std::make_unique<State>()) {
    if (deflateInit2(&state_->stream, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw std::runtime_error("gzip: deflateInit2 failed");
    }
}

GzipWriter::~GzipWriter() { deflateEnd(&state_->stream); }

void GzipWriter::write(std::string_view data) {
    if (state_->finished) throw std::logic_error("gzip: write after finish");
    if (!data.empty()) state_->pump(data, Z_NO_FLUSH);
}

std::string GzipWriter::finish() {
    if (state_->finished) throw std::logic_error("gzip: finish called twice");
    state_->pump({}, Z_FINISH);
    state_->finished = true;
    return std::move(state_->out);
}

std::string gzip_compress(std::string_view data) {
    GzipWriter writer;
    writer.write(data);
    return writer.finish();
}

struct GzipLineReader::State {
    z_stream stream{};
    std::array<unsigned char, kBufferBytes> buffer{};
};

GzipLineReader::GzipLineReader(std::size_t max_line_bytes)
    : state_(std::make_unique<State>()), max_line_bytes_(max_line_bytes) {
    if (inflateInit2(&state_->stream, kGzipWindowBits) != Z_OK) throw std::runtime_error("gzip: inflateInit2 failed");
}

GzipLineReader::~GzipLineReader() { inflateEnd(&state_->stream); }

Status GzipLineReader::fail(std::string message) {
    error_ = make_error("invalid_gzip", std::move(message));
    partial_.clear();
    partial_.shrink_to_fit();
    return *error_;
}

void GzipLineReader::emit(std::string_view line, const LineSink& on_line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return;
    ++lines_;
    on_line(line);
}

Status GzipLineReader::feed(std::string_view chunk, const LineSink& on_line) {
    if (error_) return *error_;
    if (finished_) return fail("gzip: feed after finish");
    compressed_bytes_ += chunk.size();
    z_stream& stream = state_->stream;
    while (!chunk.empty()) {
        saw_input_ = true;
        if (member_done_) {
            // Another gzip member follows the one that ended (gzip -c a b > c).
            inflateReset(&stream);
            member_done_ = false;
        }
        const std::size_t piece = std::min(chunk.size(), kMaxPiece);
        stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
        stream.avail_in = static_cast<uInt>(piece);
        int rc = Z_OK;
        do {
            stream.next_out = state_->buffer.data();
            stream.avail_out = static_cast<uInt>(state_->buffer.size());
            rc = inflate(&stream, Z_NO_FLUSH);
            if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_MEM_ERROR || rc == Z_STREAM_ERROR) {
                return fail(std::string("gzip: corrupt stream after ") + std::to_string(compressed_bytes_) +
                            " compressed bytes: " + (stream.msg ? stream.msg : "inflate failed"));
            }
            // Split what came out into lines; only the unfinished tail is kept.
            std::string_view out(reinterpret_cast<const char*>(state_->buffer.data()),
                                 state_->buffer.size() - stream.avail_out);
            for (auto newline = out.find('\n'); newline != std::string_view::npos; newline = out.find('\n')) {
                if (partial_.size() + newline > max_line_bytes_) {
                    return fail("gzip: a line is longer than " + std::to_string(max_line_bytes_) + " bytes");
                }
                if (partial_.empty()) {
                    emit(out.substr(0, newline), on_line);
                } else {
                    partial_.append(out.substr(0, newline));
                    emit(partial_, on_line);
                    partial_.clear();
                }
                out.remove_prefix(newline + 1);
            }
            if (partial_.size() + out.size() > max_line_bytes_) {
                return fail("gzip: a line is longer than " + std::to_string(max_line_bytes_) + " bytes");
            }
            partial_.append(out);
            if (rc == Z_STREAM_END) break;
            if (rc == Z_BUF_ERROR && stream.avail_in == 0) break;  // needs more input
        } while (stream.avail_in > 0 || stream.avail_out == 0);
        const std::size_t used = piece - stream.avail_in;
        chunk.remove_prefix(used);
        if (rc == Z_STREAM_END) member_done_ = true;
    }
    return Ok{};
}

Status GzipLineReader::finish(const LineSink& on_line) {
    if (error_) return *error_;
    if (finished_) return Ok{};
    finished_ = true;
    if (!saw_input_) return fail("gzip: no data");
    if (!member_done_) return fail("gzip: the stream ends early (truncated after " + std::to_string(compressed_bytes_) + " bytes)");
    if (!partial_.empty()) {
        emit(partial_, on_line);
        partial_.clear();
    }
    return Ok{};
}

}  // namespace meterbridge::net
