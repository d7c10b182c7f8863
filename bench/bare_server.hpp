#pragma once
// The ceilings the daemon is compared with, each run as a child process of
// the ingest bench (`bench_ingest --serve bare|http-layer`), on 127.0.0.1:0,
// printing "port N" on stdout and serving until SIGTERM:
//  - bare: a plain Beast async server (after Beast's http_server_async
//    example) that reads the request, body included, and answers 202 doing
//    nothing else;
//  - http-layer: meterbridge's own net::HttpServer with a handler that
//    answers 202 at once (the daemon's HTTP layer without the webhook work).
namespace meterbridge::bench {

int serve_bare(unsigned threads);
int serve_http_layer(unsigned threads);

}  // namespace meterbridge::bench
