#pragma once
// One request through the ops Router as the HTTP server hands it over, without
// sockets, for the ops API's component tests: the answer, or a test failure
// when no handler answered.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "meterbridge/net/router.hpp"

namespace meterbridge::app {

// `token`: sent as "Authorization: Bearer <token>" when set; `content_type`:
// sent when not empty. The query string of `target` is parsed.
inline net::HttpResponse dispatch_request(net::Router& router, std::string method, std::string target,
                                          std::string body, const std::optional<std::string>& token,
                                          const std::string& content_type) {
    net::HttpRequest request;
    request.method = std::move(method);
    request.target = target;
    const auto question = target.find('?');
    request.path = target.substr(0, question);
    if (question != std::string::npos) request.query = net::parse_query(target.substr(question + 1));
    if (token) request.headers.set("Authorization", "Bearer " + *token);
    if (!content_type.empty()) request.headers.set("Content-Type", content_type);
    request.body = std::move(body);
    std::optional<net::HttpResponse> answer;
    router.dispatch(request, [&](net::HttpResponse response) { answer = std::move(response); });
    EXPECT_TRUE(answer.has_value()) << "no answer to " << target;
    return answer.value_or(net::HttpResponse{});
}

}  // namespace meterbridge::app
