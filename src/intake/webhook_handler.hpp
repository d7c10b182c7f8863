#pragma once
// The m3ter webhook intake (SPEC §4 "Input", "Signature", "Durability first"):
// content type, signature, parsing, fetch-by-id, and the durable record of
// the delivery and bill version before the answer. The durable write goes
// through the DeliveryCommitter (group commit): the answer is sent from its
// commit thread once the transaction holding the delivery has committed.
// A delivery that carries only a bill id is fetched from m3ter on the worker
// pool, never on an HTTP I/O thread (issue 14): a slow m3ter must not stall
// /healthz or other deliveries.
#include <functional>
#include <string>
#include <vector>

#include "intake/delivery_committer.hpp"
#include "intake/response_counts.hpp"
#include "intake/worker_pool.hpp"
#include "meterbridge/m3ter/api_client.hpp"
#include "meterbridge/m3ter/m3ter_config.hpp"
#include "meterbridge/net/server_config.hpp"
#include "meterbridge/net/router.hpp"

namespace meterbridge::app {

struct WebhookContext {
    const m3ter::WebhookConfig& webhook;
    const net::ServerConfig& server;  // public_base_url (the signed URL) and trusted_proxies
    DeliveryCommitter& committer;
    const Clock& clock;
    m3ter::ApiClient* m3ter = nullptr;  // null: id-only deliveries cannot be fetched
    std::function<void()> wake_scheduler;
    WorkerPool* fetchers = nullptr;  // where m3ter fetches run; required with `m3ter`
    ResponseCounts* responses = nullptr;  // counts every answer by status class; may be null
};

void add_webhook_route(net::Router& router, WebhookContext& context);

// The client address to believe: the peer, or, when the peer is a trusted
// proxy, the last X-Forwarded-For hop that is not itself a trusted proxy.
std::string client_address(const net::HttpRequest& request, const std::vector<Cidr>& trusted_proxies);

}  // namespace meterbridge::app
