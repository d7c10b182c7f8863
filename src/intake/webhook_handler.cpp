#include "intake/webhook_handler.hpp"

#include <spdlog/spdlog.h>

#include "meterbridge/m3ter/signature.hpp"
#include "meterbridge/net/api_error.hpp"

namespace meterbridge::app {

using net::error_response;
using net::PathParams;
using net::Router;
namespace {

bool trusted(std::string_view address, const std::vector<Cidr>& proxies) {
    const auto ip = parse_ip_address(address);
    if (!ip) return false;
    for (const Cidr& cidr : proxies) {
        if (cidr.contains(*ip)) return true;
    }
    return false;
}

// Headers kept with the delivery for ops: none of them is a secret.
store::HeaderList kept_headers(const net::HttpRequest& request) {
    store::HeaderList kept;
    for (const char* name : {"Content-Type", "User-Agent", "X-m3ter-timestamp", "X-m3ter-signature", "X-Forwarded-For",
                             "X-Request-Id"}) {
        if (auto value = request.headers.get(name)) kept.emplace_back(name, *value);
    }
    return kept;
}

Json receipt_json(const store::DeliveryReceipt& receipt, const store::Delivery& delivery) {
    Json body = {{"deliveryId", receipt.delivery_id}, {"result", std::string(store::to_string(receipt.result))}};
    if (delivery.bill) {
        body["billId"] = delivery.bill->id;
        body["version"] = delivery.bill->version;
    } else if (!delivery.bill_id.empty()) {
        body["billId"] = delivery.bill_id;  // a deletion by id
    }
    return body;
}

class WebhookHandler : public std::enable_shared_from_this<WebhookHandler> {
public:
    explicit WebhookHandler(WebhookContext& context) : context_(context) {}

    // Runs on an I/O thread up to the hand-over to the committer (or, for a
    // bill to fetch from m3ter, to the worker pool); the answer is sent from
    // the commit thread once the delivery is durable.
    void handle(const net::HttpRequest& request, net::Responder respond) const {
        const m3ter::WebhookConfig& config = context_.webhook;
        if (!net::is_json_content_type(request.headers.get("Content-Type"))) {
            respond(error_response(415, "unsupported_media_type", "webhook bodies must be application/json",
                                   "Content-Type"));
            return;
        }
        const std::string client = client_address(request, context_.server.trusted_proxies);
        if (config.signed_requests()) {
            const std::string url = context_.server.public_base_url + request.target;
            const auto header = [&](std::string_view name) { return request.headers.get(name).value_or(""); };
            const std::string key = header(m3ter::kApiKeyHeader);
            const std::string timestamp = header(m3ter::kTimestampHeader);
            const std::string signature = header(m3ter::kSignatureHeader);
            const auto verified = m3ter::verify(config, {url, key, timestamp, signature, request.body},
                                                context_.clock.now());
            if (!verified) {
                // Not stored: an unauthenticated sender must not be able to fill the disk.
                spdlog::warn("webhook from {} refused: {}", client, verified.error().message);
                respond(error_response(401, verified.error()));
                return;
            }
        }

        store::Delivery delivery;
        delivery.body = request.body;
        delivery.headers = kept_headers(request);
        delivery.remote_addr = client;
        delivery.received_at = context_.clock.now();
        auto event = decode_bill_event(request.body);
        if (event && !event->bill && !event->bill_id.empty() && context_.m3ter != nullptr) {
            fetch_later(std::move(*event), std::move(delivery), std::move(respond));
            return;
        }
        decode(std::move(event), delivery);
        submit(std::move(delivery), std::move(respond));
    }

private:
    void submit(store::Delivery delivery, net::Responder respond) const {
        context_.committer.submit(
            std::move(delivery), [self = shared_from_this(), respond = std::move(respond)](
                                     const store::Delivery& stored, Result<store::DeliveryReceipt> receipt) {
                respond(self->answer(stored, receipt));
            });
    }

    // Fetches the bill an id-only delivery names on the worker pool, then
    // submits the delivery from there. While m3ter fails the delivery is not
    // stored and is answered 503, so that m3ter sends it again (issue 14).
    void fetch_later(BillEvent event, store::Delivery delivery, net::Responder respond) const {
        const std::string bill_id = event.bill_id;
        auto job = [self = shared_from_this(), named = std::move(event), fetched = std::move(delivery),
                    respond]() mutable {
            if (auto failure = self->resolve_reference(named, fetched)) {
                spdlog::warn("delivery for bill {} from {} answered 503: {}", named.bill_id, fetched.remote_addr,
                             failure->message);
                respond(error_response(503, *failure));
                return;
            }
            if (fetched.bill) fetched.bill_json = bill_to_json_text(*fetched.bill);
            self->submit(std::move(fetched), std::move(respond));
        };
        if (context_.fetchers == nullptr || !context_.fetchers->post(std::move(job))) {
            spdlog::warn("delivery for bill {} answered 503: too many bills are being fetched from m3ter", bill_id);
            respond(error_response(503, "m3ter_busy",
                                   "too many deliveries are waiting on m3ter to fetch their bill; retry later", "id"));
        }
    }

    // The answer for a delivery the committer has recorded (or failed to). Runs on the commit thread.
    net::HttpResponse answer(const store::Delivery& delivery, const Result<store::DeliveryReceipt>& receipt) const {
        const std::string& client = delivery.remote_addr;
        if (!receipt) {
            spdlog::error("webhook delivery not stored: {}", receipt.error().message);
            // 503 so that m3ter retries: nothing is acknowledged without a durable write.
            return error_response(503, "storage_unavailable", "the delivery could not be stored; retry later");
        }
        const Json body = receipt_json(*receipt, delivery);
        switch (receipt->result) {
            case store::DeliveryResult::New:
                if (delivery.bill) {
                    spdlog::info("bill {} v{} received from {} (delivery {})", delivery.bill->id,
                                 delivery.bill->version, client, receipt->delivery_id);
                } else {
                    spdlog::info("bill {} deleted by {} (delivery {})", delivery.bill_id, client, receipt->delivery_id);
                }
                if (context_.wake_scheduler) context_.wake_scheduler();
                return net::HttpResponse::json(202, body.dump());
            case store::DeliveryResult::Repeat:
            case store::DeliveryResult::Older:
            case store::DeliveryResult::Ignored:
                spdlog::info("delivery {} from {}: {}", receipt->delivery_id, client, store::to_string(receipt->result));
                return net::HttpResponse::json(200, body.dump());
            case store::DeliveryResult::Invalid: break;
        }
        const Error error = delivery.error.value_or(make_error("invalid_delivery", "invalid delivery"));
        spdlog::warn("delivery {} from {} invalid: {} ({})", receipt->delivery_id, client, error.message, error.field);
        return error_response(400, error);
    }

    // Fills the decoded parts of `delivery`, or its error. Never asks m3ter.
    void decode(Result<BillEvent> event, store::Delivery& delivery) const {
        if (!event) {
            delivery.error = event.error();
            return;
        }
        delivery.event_id = event->event_id;
        delivery.event_name = event->event_name;
        delivery.kind = event->kind;
        if (event->bill) {
            delivery.bill = std::move(event->bill);
        } else if (!event->bill_id.empty()) {
            (void)resolve_reference(*event, delivery);  // no m3ter here: nothing to fail
        }
        if (delivery.bill) delivery.bill_json = bill_to_json_text(*delivery.bill);
    }

    // A delivery that names a bill without carrying it: the delivery's bill,
    // its deletion by id, or its error (stored, answered 400). Returns the
    // error to answer 503 with, without storing anything, when m3ter could not
    // answer: unreachable, timed out, 429/5xx, token refused. A 404 or another
    // refusal is m3ter's answer and a bill that fails validation is the bill's
    // fault: those are errors of the delivery. Blocks on m3ter: never call it
    // on an I/O thread.
    std::optional<Error> resolve_reference(const BillEvent& event, store::Delivery& delivery) const {
        if (context_.m3ter != nullptr) {
            auto fetched = context_.m3ter->fetch_bill(event.bill_id);
            if (fetched) {
                delivery.bill = std::move(*fetched);
                return std::nullopt;
            }
            if (event.kind != BillEventKind::Deleted) {
                Error error = make_error("bill_unavailable",
                                         "bill " + event.bill_id + " could not be fetched from m3ter: " +
                                             fetched.error().message,
                                         "id");
                const std::string& code = fetched.error().code;
                if (code == m3ter::kUnavailable || code == m3ter::kUnauthorized) return error;
                delivery.error = std::move(error);
                return std::nullopt;
            }
        }
        if (event.kind == BillEventKind::Deleted) {
            // A deletion needs no content: every target of the bill goes to zero.
            // Only the id is passed on: the store records the deletion against the
            // bill's current version and account (a synthetic empty Bill here was
            // stored as version 0 with an empty account, which blanked the bill's
            // accountId; found by the crash campaign, issue 5).
            delivery.bill_id = event.bill_id;
            return std::nullopt;
        }
        delivery.error = make_error("bill_missing",
                                    "the delivery carries only bill id " + event.bill_id +
                                        " and no m3ter API is configured to fetch it",
                                    "m3terEvent");
        return std::nullopt;
    }

    WebhookContext& context_;
};

}  // namespace

std::string client_address(const net::HttpRequest& request, const std::vector<Cidr>& trusted_proxies) {
    std::string address = request.remote_address;
    if (!trusted(address, trusted_proxies)) return address;
    const auto forwarded = request.headers.get("X-Forwarded-For");
    if (!forwarded) return address;
    // Walk from the nearest hop outwards; the first untrusted hop is the client.
    std::string_view rest = *forwarded;
    while (!rest.empty()) {
        const auto comma = rest.rfind(',');
        const std::string hop(net::trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1)));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
        if (!parse_ip_address(hop)) break;
        address = hop;
        if (!trusted(hop, trusted_proxies)) break;
    }
    return address;
}

void add_webhook_route(Router& router, WebhookContext& context) {
    auto handler = std::make_shared<WebhookHandler>(context);
    ResponseCounts* counts = context.responses;
    router.add("POST", context.webhook.path,
               [handler, counts](const net::HttpRequest& request, const PathParams&, net::Responder respond) {
                   if (counts == nullptr) return handler->handle(request, std::move(respond));
                   handler->handle(request, [counts, respond = std::move(respond)](net::HttpResponse response) {
                       counts->count(response.status);
                       respond(std::move(response));
                   });
               });
}

}  // namespace meterbridge::app
