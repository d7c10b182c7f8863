#pragma once
// The short names the Beast translation units of net use, as in Beast's own
// examples. Private to src/net; include after the Boost headers.

namespace meterbridge::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = beast::error_code;

}  // namespace meterbridge::net
