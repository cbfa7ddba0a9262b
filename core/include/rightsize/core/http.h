#pragma once

// HTTP server and client boundaries.
//
// HttpServer is an HTTP/1.1 server: exact-path and prefix routes, bounded
// request heads and bodies, deadlines, and a worker pool that only ever holds
// requests that have arrived. HttpClient is an interface so that code talking
// to Mesos, Marathon or agents can be tested against fakes; CurlHttpClient
// (libcurl) is the real implementation.

#include <cstddef>
#include <cstdint>
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
  // Workers: they run handlers and read request bodies. A connection gets
  // one only once its request line and headers have all arrived, and gives
  // it back when its answer is ready: connections that say nothing, dribble
  // their headers or sit idle between keep-alive requests, and answers
  // waiting for a slow reader, are watched by one event thread and cost a
  // descriptor and a buffer each, never a worker.
  int threads = 16;
  // Connections open at once. A connection that comes when this many are
  // open makes room by closing the one that has waited longest for its
  // request (when none waits for one, the one whose answer has waited
  // longest to be read); one whose request a worker is serving is never
  // closed so.
  int max_connections = 512;
  // Bytes of answers ready but not yet taken by their clients, in all: past
  // it, the connection whose answer has waited longest is closed (never the
  // one whose answer has just been made ready).
  std::size_t max_unsent_answer_bytes = 32 << 20;
  // A larger body is answered 413 without being read (or as soon as a
  // chunked body goes past it).
  std::size_t max_request_body_bytes = 1 << 20;
  // The request line and headers of a new connection must all arrive within
  // this of its being accepted: after, 408 and closed (closed silently when
  // nothing came). At most 16 KiB of them (431).
  Duration header_timeout = std::chrono::seconds(2);
  // The same for the next request on a kept-alive connection, counted from
  // the previous answer being sent.
  Duration keep_alive_timeout = std::chrono::seconds(2);
  // A request body must arrive within this of its headers (408 and closed;
  // a body cut short never reaches the handler), and an answer must be taken
  // by the client within this of its being ready (closed).
  Duration request_timeout = std::chrono::seconds(10);
};

// The request line and headers of an HTTP/1.x request, as HttpServer reads
// them.
struct HttpRequestHead {
  std::string method;
  std::string path;   // percent-decoded, "." and ".." segments and repeated slashes removed
  std::string query;  // raw, without '?'
  HttpHeaders headers;
  int minor_version = 1;  // HTTP/1.<minor_version>
  std::uint64_t content_length = 0;
  bool chunked = false;          // Transfer-Encoding: chunked (never with a Content-Length)
  bool keep_alive = true;        // HTTP/1.1 without "Connection: close", or HTTP/1.0 asking for it
  bool expect_continue = false;  // HTTP/1.1 "Expect: 100-continue"
};

// Parses a request head: the request line, header lines and the empty line
// ending them, each line ended by CRLF or a bare LF; empty lines before the
// request line are skipped. Request targets may be origin-form ("/p?q") or
// absolute-form ("http://host/p?q"). Errors name what is wrong: kMalformed
// for what is not HTTP/1.x (bad lines, a NUL or bad escape in the path,
// conflicting Content-Length, both Content-Length and Transfer-Encoding),
// kInvalidValue for a transfer coding other than chunked.
Expected<HttpRequestHead> parseHttpRequestHead(std::string_view head);

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
  // server refuses itself before the handler runs: 400 (a malformed chunked
  // body), 405 (method), 408 (body too slow or cut short), 413 (body too
  // large). The request has no body; the response is what the client was
  // sent. Must be called before start().
  using RefusalObserver = std::function<void(const HttpRequest&, const HttpResponse&)>;
  void observeRefusals(RefusalObserver observer);

  // Binds and starts serving. Fails with kUnavailable when the address cannot
  // be bound (in use, no permission), naming the address. Paths without a
  // route are 404.
  [[nodiscard]] Status start();
  // Stops accepting, waits for the handlers running to return (their answers
  // go out as far as the socket takes them at once; a body being read is
  // abandoned), closes every connection. Idempotent.
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
  class Loop;  // the event thread and the workers (http_server.cc)

  HttpServerOptions options_;
  std::vector<std::unique_ptr<Route>> routes_;
  RefusalObserver refusal_observer_;
  std::unique_ptr<Loop> loop_;
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

// libcurl keeps process-wide state; call from main() (and test mains) before
// any other thread starts. Later calls do nothing.
void initHttpLibraries();

}  // namespace rightsize
