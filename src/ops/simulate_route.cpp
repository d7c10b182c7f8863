#include "ops/simulate_route.hpp"

#include "meterbridge/core/simulation.hpp"
#include "meterbridge/net/api_error.hpp"
#include "ops/simulation_json.hpp"

namespace meterbridge::app {

net::HttpResponse simulate_bill_response(OpsContext& context, const net::HttpRequest& request) {
    using net::error_response;
    if (!net::is_json_content_type(request.headers.get("Content-Type"))) {
        return error_response(415, "unsupported_media_type", "the bill must be sent as application/json",
                              "Content-Type");
    }
    // The webhook's own decoding: the same 400s, naming the same fields.
    auto event = decode_bill_event(request.body);
    if (!event) return error_response(400, event.error());
    Instant now = context.clock.now();
    if (const auto at = request.query_param("at"); at && !at->empty()) {
        auto parsed = parse_iso8601(*at);
        if (!parsed) {
            return error_response(400, "invalid_field", "at: expected an ISO-8601 instant such as 2026-01-01T09:00:00Z",
                                  "at");
        }
        now = *parsed;
    }
    // The only store call: a failure here is the storage's (store::kStorageError).
    auto stored = context.store.list_mappings();
    if (!stored) return error_response(503, stored.error());

    const std::string account_id = event->bill ? event->bill->account_id : std::string();
    const Json* account = find_static_account(context.rules.accounts, account_id);
    const SimulationSetting setting{context.rules, *stored, account,
                                    account != nullptr ? AccountOrigin::Config : AccountOrigin::None, now,
                                    context.slot_policy};
    auto simulation = simulate_event(*event, setting);
    if (!simulation) return error_response(400, simulation.error());
    return net::HttpResponse::json(200, dump_exact(simulation_json(*simulation)));
}

}  // namespace meterbridge::app
