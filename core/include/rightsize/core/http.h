#pragma once

// HTTP server and client boundaries.
//
// HttpServer wraps civetweb: exact-path routes, a bounded request body, a
// thread pool, and request timeouts. HttpClient is an interface so that code
// talking to Mesos, Marathon or agents can be tested against fakes;
// CurlHttpClient is the real implementation.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"
#include "rightsize/core/text.h"

struct mg_context;
struct mg_connection;

namespace rightsize {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;
  std::string path;   // URL-decoded path without the query
  std::string query;  // raw query string, without '?'
  HttpHeaders headers;
  std::string body;

  // Case-insensitive header lookup; empty when absent.
  std::string_view header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  HttpHeaders headers;
};

struct HttpServerOptions {
  HostPort listen;
  // civetweb holds a worker per open connection, idle keep-alive included:
  // enough workers that scrapers keeping connections open cannot starve a
  // health check, and a short keep-alive.
  int threads = 16;
  // A larger body is answered 413 without being read (or as soon as a
  // chunked body goes past it).
  std::size_t max_request_body_bytes = 1 << 20;
  // The request line and headers must arrive within this (civetweb answers
  // 400 and closes), and so must the body (408 and closed; a body trickling
  // in is cut off after at most twice this).
  Duration request_timeout = std::chrono::seconds(10);
  Duration keep_alive_timeout = std::chrono::seconds(2);
};

// Thread-safety: handlers run on the server's worker threads, concurrently;
// they must synchronise access to shared state themselves. route() must be
// called before start().
class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // Runs before the body is read, on a request without its body: a response
  // refuses the request (its body is never read), nullopt admits it. For
  // checks on headers alone, such as a bearer token.
  using Admission = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves `handler` for exactly `path` (no prefix matching). `methods` lists
  // the accepted methods; others get 405. GET and HEAD bodies are not read
  // (the handler sees an empty body).
  void route(std::string path, Handler handler, std::vector<std::string> methods = {"GET", "HEAD"},
             Admission admit = {});
  // Serves `handler` for every path below `prefix` (e.g. "/v2/apps/" serves
  // "/v2/apps/team/web"); HttpRequest::path is the whole path. Exact routes
  // win over prefix routes.
  void routePrefix(std::string prefix, Handler handler, std::vector<std::string> methods = {"GET", "HEAD"});
  // Called, on the worker thread, for each request to a route that the
  // server refuses itself before the handler runs: 405 (method), 408 (body
  // too slow or cut short), 413 (body too large). The request has no body;
  // the response is what the client was sent. Must be called before start().
  using RefusalObserver = std::function<void(const HttpRequest&, const HttpResponse&)>;
  void observeRefusals(RefusalObserver observer);

  // Binds and starts serving. Fails with kUnavailable when the address cannot
  // be bound (in use, no permission), naming the address.
  [[nodiscard]] Status start();
  // Stops accepting, waits for in-flight requests. Idempotent.
  void stop();

  // The bound port (useful when listening on port 0); 0 before start().
  std::uint16_t port() const { return bound_port_; }
  std::string baseUrl() const;

 private:
  struct Route {
    std::string path;
    Handler handler;
    std::vector<std::string> methods;
    bool prefix = false;
    Admission admit;
  };
  static int dispatch(mg_connection* connection, void* route_data);
  int serve(mg_connection* connection, const Route& route);
  // Reads the body into `request`; the refusal to send instead (408, 413).
  std::optional<HttpResponse> readBody(mg_connection* connection, HttpRequest& request) const;
  int refuse(mg_connection* connection, const HttpRequest& request, const HttpResponse& response);

  HttpServerOptions options_;
  std::vector<std::unique_ptr<Route>> routes_;
  RefusalObserver refusal_observer_;
  mg_context* context_ = nullptr;
  std::uint16_t bound_port_ = 0;
};

struct HttpClientRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  std::string body;
  Duration timeout = std::chrono::seconds(5);
};

// Thread-safety: implementations must allow concurrent send() calls.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Transport failures (refused, DNS, timeout, oversized body) are errors of
  // kind kUnavailable naming the URL. Any HTTP status is a successful
  // exchange: callers decide what a 404 or 503 means to them.
  virtual Expected<HttpResponse> send(const HttpClientRequest& request) = 0;

  Expected<HttpResponse> get(std::string url, Duration timeout);
};

struct CurlHttpClientOptions {
  std::size_t max_response_bytes = 64 << 20;
  Duration connect_timeout = std::chrono::seconds(2);
  bool verify_tls = true;
};

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(CurlHttpClientOptions options = {});
  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  Expected<HttpResponse> send(const HttpClientRequest& request) override;

 private:
  void* takeHandle();
  void returnHandle(void* handle);

  CurlHttpClientOptions options_;
  std::mutex mutex_;
  std::vector<void*> idle_handles_;  // CURL*, kept for connection reuse
};

// Both libraries keep process-wide state; call from main() (and test mains)
// before any other thread starts. Later calls do nothing.
void initHttpLibraries();

}  // namespace rightsize
