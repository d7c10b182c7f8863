#include "cli/daemon.hpp"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "intake/delivery_committer.hpp"
#include "intake/webhook_handler.hpp"
#include "intake/worker_pool.hpp"
#include "meterbridge/azure/token_provider.hpp"
#include "meterbridge/m3ter/account_source.hpp"
#include "meterbridge/m3ter/api_client.hpp"
#include "meterbridge/net/http_client.hpp"
#include "meterbridge/net/http_server.hpp"
#include "meterbridge/net/router.hpp"
#include "meterbridge/sandbox/sandbox.hpp"
#include "meterbridge/store/store.hpp"
#include "ops/metrics_text.hpp"
#include "ops/ops_api.hpp"
#include "cli/daemon_watchdog.hpp"
#include "cli/reconcile_sources.hpp"
#include "pipeline/scheduler.hpp"
#include "reconcile/reconciler.hpp"
#include "meterbridge/net/clocks.hpp"

namespace meterbridge::app {

// Declared in dependency order: members are destroyed bottom-up, so the
// server goes first and the store last.
struct Daemon::Parts {
    Config config;
    net::SettableClock clock;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<sandbox::Sandbox> sandbox;
    std::unique_ptr<net::HttpClient> http;
    std::unique_ptr<azure::TokenProvider> tokens;
    std::unique_ptr<m3ter::ApiClient> m3ter;
    std::unique_ptr<m3ter::AccountSource> accounts;
    std::unique_ptr<Scheduler> scheduler;
    std::function<SteadyTime()> scheduler_progress;  // when its loop last completed a pass
    std::unique_ptr<ReconcileSources> reconcile_sources;
    std::unique_ptr<Reconciler> reconciler;  // runs on its own thread; uses the sources, the store, the scheduler
    ResponseCounts webhook_responses;
    std::unique_ptr<WebhookContext> webhook;
    std::unique_ptr<DeliveryCommitter> committer;  // calls back into the webhook context and the scheduler
    std::unique_ptr<WorkerPool> fetchers;          // m3ter fetches of the webhook; submit to the committer
    std::unique_ptr<OpsContext> ops;
    net::Router router;
    std::unique_ptr<net::HttpServer> server;
    std::unique_ptr<WatchdogMonitor> watchdog;  // probes the server, the store and the scheduler: goes first
    bool stopped = false;
};

namespace {

std::unique_ptr<store::Store> open_store(const store::StorageConfig& storage) {
    const std::filesystem::path path(storage.sqlite_path);
    if (storage.sqlite_path != ":memory:" && path.has_parent_path()) {
        // Said here, with the system's reason: SQLite would only say it cannot open the file.
        std::error_code error;
        std::filesystem::create_directories(path.parent_path(), error);
        if (error) {
            throw std::runtime_error("cannot create the database directory " + path.parent_path().string() +
                                     " (storage.sqlite_path): " + error.message());
        }
        // SQLite writes its WAL and lock files beside the database: the directory must be writable.
        if (::access(path.parent_path().c_str(), W_OK | X_OK) != 0) {
            throw std::runtime_error("cannot write in the database directory " + path.parent_path().string() +
                                     " (storage.sqlite_path): " + std::strerror(errno));
        }
    }
    return store::open_sqlite_store(storage.sqlite_path);
}

// Where the Azure side lives: the in-process sandbox, or the configured URLs.
void start_azure(Daemon::Parts& parts) {
    const azure::AzureConfig& azure = parts.config.azure;
    azure::TokenProviderOptions token;
    token.client_id = azure.client_id;
    token.client_secret = azure.client_secret ? azure.client_secret->value() : std::string("sandbox-secret");
    token.token_url = azure.token_url;
    azure::MeteringClientOptions metering;
    metering.base_url = azure.metering_base_url;
    metering.api_version = azure.api_version;
    metering.request_timeout = std::chrono::seconds{azure.request_timeout_s};
    // One tick's retries stay short; longer outages are the scheduler's backoff.
    metering.deadline = std::chrono::seconds{std::min<std::int64_t>(2 * azure.request_timeout_s, 60)};
    if (azure.mode == azure::AzureMode::Sandbox) {
        sandbox::SandboxOptions options;
        options.base_clock = &parts.clock;  // PUT /testing/clock moves the sandbox's time too
        options.core.catalog = parts.config.sandbox_catalog;
        auto sandbox = sandbox::Sandbox::start(std::move(options));
        if (!sandbox) throw std::runtime_error("cannot start the Azure sandbox: " + sandbox.error().message);
        parts.sandbox = std::move(*sandbox);
        metering.base_url = parts.sandbox->base_url();
        token.token_url = parts.sandbox->token_url(azure.tenant_id, !azure::is_v1_token_url(azure.token_url));
        spdlog::info("azure: built-in sandbox at {}", metering.base_url);
        if (const auto& catalog = parts.config.sandbox_catalog) {
            spdlog::info("azure: the sandbox knows only azure.sandbox_catalog ({} subscriptions, {} plans)",
                         catalog->subscriptions.size(), catalog->plans.size());
        }
    }
    net::HttpClientOptions http;
    http.read_timeout = std::chrono::seconds{azure.request_timeout_s};
    // A kept-alive connection for every batch the scheduler may have in
    // flight, besides the token, m3ter and reconciliation calls.
    http.max_idle_per_host =
        std::max<std::size_t>(http.max_idle_per_host, static_cast<std::size_t>(parts.config.scheduler.max_batches_in_flight) + 2);
    parts.http = std::make_unique<net::HttpClient>(http);
    parts.tokens = std::make_unique<azure::TokenProvider>(token, *parts.http, parts.clock, parts.store.get());

    if (parts.config.m3ter) {
        parts.m3ter = std::make_unique<m3ter::ApiClient>(m3ter::ApiClientOptions::from_config(*parts.config.m3ter),
                                                         *parts.http, parts.clock, parts.store.get());
        parts.accounts = m3ter::make_api_account_source(*parts.m3ter, parts.clock, parts.config.rules.accounts);
    } else {
        parts.accounts = m3ter::make_static_account_source(parts.config.rules.accounts);
    }
    // Reconciliation reads Azure's side where the metering client sends: the
    // built-in sandbox serves every source in sandbox mode.
    const AzureEndpoints endpoints = parts.sandbox ? sandbox_endpoints(parts.config, metering.base_url, token.token_url)
                                                   : live_endpoints(parts.config);
    parts.reconcile_sources =
        std::make_unique<ReconcileSources>(parts.config, endpoints, *parts.http, *parts.tokens, parts.clock);
    DeliveryCommitter* committer = parts.committer.get();
    parts.scheduler = std::make_unique<Scheduler>(Scheduler::Deps{parts.config.rules, parts.config.scheduler,
                                                                  parts.config.storage.payload_retention_days, *parts.store, parts.clock, *parts.http,
                                                                  *parts.tokens, parts.accounts.get(), metering,
                                                                  [committer] { return committer->busy(); }});
    // For the watchdog and /metrics: its loop never waits on Azure (issue 17).
    parts.scheduler_progress = [scheduler = parts.scheduler.get()] { return scheduler->last_progress(); };
}

void start_reconciler(Daemon::Parts& parts) {
    Scheduler* scheduler = parts.scheduler.get();
    parts.reconciler = std::make_unique<Reconciler>(Reconciler::Deps{
        *parts.store, parts.config.reconciliation, parts.clock, parts.reconcile_sources->readers(),
        slot_policy_of(parts.config.scheduler), [scheduler] { scheduler->wake(); }});
}

void start_http(Daemon::Parts& parts) {
    Scheduler* scheduler = parts.scheduler.get();
    const auto wake = [scheduler] { scheduler->wake(); };
    parts.fetchers = std::make_unique<WorkerPool>();
    parts.webhook = std::make_unique<WebhookContext>(
        WebhookContext{parts.config.webhook, parts.config.server, *parts.committer, parts.clock, parts.m3ter.get(), wake, parts.fetchers.get()});
    const bool sandbox = parts.sandbox != nullptr;
    azure::TokenProvider* tokens = parts.tokens.get();
    parts.ops = std::make_unique<OpsContext>(OpsContext{parts.config.ops, parts.config.testing, parts.config.rules,
                                                        slot_policy_of(parts.config.scheduler), *parts.store, parts.clock, wake,
                                                        [sandbox, tokens]() -> Status {
                                                            if (sandbox) return Ok{};
                                                            auto token = tokens->access_token();
                                                            if (!token) return token.error();
                                                            return Ok{};
                                                        },
                                                        tokens, nullptr, {}, {}, {}, {}});
    parts.ops->sending_figures = [scheduler] { return scheduler->sending_figures(); };
    Reconciler* reconciler = parts.reconciler.get();
    parts.ops->reconciliations = parts.store.get();
    parts.ops->reconciliation_sources = parts.config.reconciliation.sources;
    parts.ops->start_reconciliation = [reconciler](recon::Day from, recon::Day to, std::vector<recon::Source> sources) {
        return reconciler->request(ReconcileRequest{from, to, std::move(sources)}, "api");
    };
    parts.ops->wake_reconciler = [reconciler] { reconciler->wake(); };
    parts.webhook->responses = &parts.webhook_responses;
    parts.ops->process_metrics = [&parts](ProcessMetrics& metrics) {
        metrics.scheduler_pass_age_seconds =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - parts.scheduler_progress())
                .count();
        for (const int hundreds : {2, 4, 5}) {
            metrics.webhook_responses.emplace_back(std::to_string(hundreds) + "xx",
                                                   parts.webhook_responses.of_class(hundreds));
        }
    };
    add_webhook_route(parts.router, *parts.webhook);
    add_ops_routes(parts.router, *parts.ops);

    net::HttpServerOptions options;
    options.address = parts.config.server.listen.address;
    options.port = parts.config.server.listen.port;
    options.max_body_bytes = static_cast<std::size_t>(parts.config.webhook.max_body_bytes);
    const net::Router* router = &parts.router;
    auto server = net::HttpServer::start(options, [router](net::HttpRequest request, net::Responder respond) {
        router->dispatch(request, respond);
    });
    if (!server) {
        throw std::runtime_error("cannot listen on " + options.address + ":" + std::to_string(options.port) + ": " +
                                 server.error().message);
    }
    parts.server = std::move(*server);
}

}  // namespace

std::unique_ptr<Daemon> Daemon::start(Config config) {
    auto parts = std::make_unique<Parts>();
    parts->config = std::move(config);
    parts->store = open_store(parts->config.storage);
    parts->committer = std::make_unique<DeliveryCommitter>(*parts->store);  // before the scheduler, which asks it
    start_azure(*parts);
    start_reconciler(*parts);
    start_http(*parts);
    parts->scheduler->start();
    parts->reconciler->start();
    parts->watchdog = start_watchdog(
        WatchdogParts{*parts->server, *parts->store, parts->scheduler_progress,
                      std::chrono::seconds{std::max<std::int64_t>(1, parts->config.scheduler.tick_s)}});
    spdlog::info("meterbridge {} listening on {}:{} ({} integrations, scheduler {}, db {})", METERBRIDGE_VERSION,
                 parts->server->address(), parts->server->port(), parts->config.rules.integrations.size(),
                 to_string(parts->config.scheduler.policy), parts->config.storage.sqlite_path);
    return std::unique_ptr<Daemon>(new Daemon(std::move(parts)));
}

Daemon::Daemon(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Daemon::~Daemon() { stop(std::chrono::seconds(10)); }

void Daemon::stop(Duration deadline) {
    if (parts_->stopped) return;
    parts_->stopped = true;
    if (parts_->watchdog) parts_->watchdog->stop();  // systemd stops watching once STOPPING=1 is sent
    parts_->server->stop(deadline);  // no new deliveries; those in flight finish
    parts_->fetchers->stop();        // a fetch in progress submits its delivery; the queued ones had no one waiting
    parts_->committer->stop();       // what is queued is committed and answered
    parts_->scheduler->stop();       // the tick in progress finishes
    parts_->reconciler->stop();      // the run in progress finishes (its sources' deadlines bound it)
    if (parts_->sandbox) parts_->sandbox->stop();
    parts_->store.reset();  // closes the database and releases its lock
}

std::uint16_t Daemon::port() const { return parts_->server->port(); }

}  // namespace meterbridge::app
