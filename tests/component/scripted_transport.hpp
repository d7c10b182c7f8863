#pragma once
// An HttpTransport that answers from a script and remembers what was sent.
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "meterbridge/net/http_client.hpp"

namespace meterbridge::testing {

class ScriptedTransport final : public net::HttpTransport {
public:
    using Step = std::function<Result<net::HttpExchangeResult>(const net::HttpRequestSpec&)>;

    void then(Step step) {
        std::lock_guard lock(mutex_);
        steps_.push_back(std::move(step));
    }
    void then_answer(int status, std::string body, net::Headers headers = {}) {
        then([=](const net::HttpRequestSpec&) -> Result<net::HttpExchangeResult> {
            return net::HttpExchangeResult{status, headers, body, false};
        });
    }
    void then_fail(std::string_view code) {
        then([c = std::string(code)](const net::HttpRequestSpec&) -> Result<net::HttpExchangeResult> {
            return make_error(c, "scripted failure");
        });
    }

    Result<net::HttpExchangeResult> send(const net::HttpRequestSpec& request) override {
        Step step;
        {
            std::lock_guard lock(mutex_);
            sent_.push_back(request);
            if (steps_.empty()) return make_error("not_sent", "script exhausted");
            step = std::move(steps_.front());
            steps_.pop_front();
        }
        return step(request);
    }

    std::vector<net::HttpRequestSpec> sent() const {
        std::lock_guard lock(mutex_);
        return sent_;
    }

private:
    mutable std::mutex mutex_;
    std::deque<Step> steps_;
    std::vector<net::HttpRequestSpec> sent_;
};

}  // namespace meterbridge::testing
