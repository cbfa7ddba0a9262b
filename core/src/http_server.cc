#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include "rightsize/core/http.h"

namespace rightsize {
namespace {

const char* reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

void writeResponse(mg_connection* connection, const HttpResponse& response, bool head) {
  std::string header = "HTTP/1.1 " + std::to_string(response.status) + " " + reasonPhrase(response.status) + "\r\n";
  header += "Content-Type: " + response.content_type + "\r\n";
  header += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  header += "Cache-Control: no-store\r\n";
  for (const auto& [name, value] : response.headers) header += name + ": " + value + "\r\n";
  header += "\r\n";
  mg_write(connection, header.data(), header.size());
  if (!head && !response.body.empty()) mg_write(connection, response.body.data(), response.body.size());
}

HttpResponse textResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.body += '\n';
  return response;
}

// civetweb logs bind failures and protocol errors through this callback;
// the server reports start failures itself, so stay quiet here.
int silentLog(const mg_connection*, const char*) { return 1; }

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), name.size()) == 0) return value;
  }
  return {};
}

HttpServer::HttpServer(HttpServerOptions options) : options_(std::move(options)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::route(std::string path, Handler handler, std::vector<std::string> methods, Admission admit) {
  routes_.push_back(
      std::make_unique<Route>(Route{std::move(path), std::move(handler), std::move(methods), false, std::move(admit)}));
}

void HttpServer::routePrefix(std::string prefix, Handler handler, std::vector<std::string> methods) {
  routes_.push_back(std::make_unique<Route>(Route{std::move(prefix), std::move(handler), std::move(methods), true}));
}

void HttpServer::observeRefusals(RefusalObserver observer) { refusal_observer_ = std::move(observer); }

std::string HttpServer::baseUrl() const {
  std::string host = options_.listen.host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(bound_port_);
}

Status HttpServer::start() {
  initHttpLibraries();
  if (context_ != nullptr) return Error(ErrorKind::kInternal, "HTTP server already started");
  const auto& host = options_.listen.host;
  std::string ports;
  if (host.empty()) {
    ports = std::to_string(options_.listen.port);
  } else if (host.find(':') != std::string::npos) {
    ports = "[" + host + "]:" + std::to_string(options_.listen.port);
  } else {
    ports = host + ":" + std::to_string(options_.listen.port);
  }
  const std::string threads = std::to_string(std::max(1, options_.threads));
  const std::string timeout =
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(options_.request_timeout).count());
  const std::string keep_alive =
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(options_.keep_alive_timeout).count());
  // No document_root: civetweb serves no file and lists no directory.
  const char* config[] = {"listening_ports",
                          ports.c_str(),
                          "num_threads",
                          threads.c_str(),
                          "request_timeout_ms",
                          timeout.c_str(),
                          "enable_keep_alive",
                          "yes",
                          "keep_alive_timeout_ms",
                          keep_alive.c_str(),
                          "enable_directory_listing",
                          "no",
                          nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = silentLog;
  mg_init_data init{};
  init.callbacks = &callbacks;
  init.user_data = this;
  init.configuration_options = config;
  char error_text[256] = {0};
  unsigned error_code = 0;
  mg_error_data error{};
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof error_text;
  context_ = mg_start2(&init, &error);
  if (context_ == nullptr) {
    return Error(ErrorKind::kUnavailable,
                 "cannot listen on " + ports + ": " + (error_text[0] != 0 ? std::string(error_text) : "unknown error"));
  }
  mg_server_port server_ports[4] = {};
  const int count = mg_get_server_ports(context_, 4, server_ports);
  if (count < 1) {
    stop();
    return Error(ErrorKind::kUnavailable, "cannot determine the port bound for " + ports);
  }
  bound_port_ = static_cast<std::uint16_t>(server_ports[0].port);
  // civetweb picks the handler whose pattern matches longest: exact
  // routes ('$'-anchored) are registered as they are, prefix routes as
  // "<prefix>**" ("**" matches any rest of the path, slashes included).
  for (const auto& route : routes_) {
    const std::string pattern = route->prefix ? route->path + "**" : route->path + "$";
    mg_set_request_handler(context_, pattern.c_str(), &HttpServer::dispatch, route.get());
  }
  return Status::success();
}

void HttpServer::stop() {
  if (context_ == nullptr) return;
  // civetweb's accept loop polls its listening sockets with a 2 s timeout and
  // checks the stop flag only between polls, so mg_stop() alone can block for
  // up to 2 s. Connecting to ourselves while it runs wakes the poll at once.
  std::atomic<bool> stopped{false};
  std::thread stopper([this, &stopped] {
    mg_stop(context_);
    stopped = true;
  });
  const std::string& host = options_.listen.host;
  const bool v6 = host.find(':') != std::string::npos;
  const std::string target = host.empty() || host == "0.0.0.0" ? "127.0.0.1" : (host == "::" ? "::1" : host);
  for (int attempt = 0; attempt < 300 && !stopped; ++attempt) {
    const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      if (v6) {
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        address.sin6_port = htons(bound_port_);
        ::inet_pton(AF_INET6, target.c_str(), &address.sin6_addr);
        (void)::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
      } else {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(bound_port_);
        ::inet_pton(AF_INET, target.c_str(), &address.sin_addr);
        (void)::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
      }
      ::close(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stopper.join();
  context_ = nullptr;
}

int HttpServer::dispatch(mg_connection* connection, void* route_data) {
  const auto* info = mg_get_request_info(connection);
  auto* server = static_cast<HttpServer*>(info->user_data);
  return server->serve(connection, *static_cast<const Route*>(route_data));
}

int HttpServer::serve(mg_connection* connection, const Route& route) {
  const auto* info = mg_get_request_info(connection);
  HttpRequest request;
  request.method = info->request_method != nullptr ? info->request_method : "";
  request.path = info->local_uri != nullptr ? info->local_uri : "";
  request.query = info->query_string != nullptr ? info->query_string : "";
  for (int i = 0; i < info->num_headers; ++i) {
    request.headers.emplace_back(info->http_headers[i].name, info->http_headers[i].value);
  }
  const bool head = request.method == "HEAD";
  if (std::find(route.methods.begin(), route.methods.end(), request.method) == route.methods.end()) {
    auto response = textResponse(405, "method " + request.method + " not allowed on " + route.path);
    std::string allow;
    for (const auto& method : route.methods) allow += (allow.empty() ? "" : ", ") + method;
    response.headers.emplace_back("Allow", allow);
    return refuse(connection, request, response);
  }
  if (route.admit) {
    if (auto refusal = route.admit(request)) {
      writeResponse(connection, *refusal, head);
      return refusal->status;
    }
  }
  if (request.method != "GET" && !head) {
    if (auto refusal = readBody(connection, request)) return refuse(connection, request, *refusal);
  }
  HttpResponse response;
  try {
    response = route.handler(request);
  } catch (const std::exception& e) {
    // Handlers return errors as responses; an escaping exception is a bug, but
    // one request must not take the daemon down.
    response = textResponse(500, std::string("internal error: ") + e.what());
  }
  writeResponse(connection, response, head);
  return response.status;
}

std::optional<HttpResponse> HttpServer::readBody(mg_connection* connection, HttpRequest& request) const {
  const auto* info = mg_get_request_info(connection);
  const std::string limit = std::to_string(options_.max_request_body_bytes) + " bytes";
  if (info->content_length > 0 &&
      static_cast<unsigned long long>(info->content_length) > options_.max_request_body_bytes) {
    return textResponse(
        413, "request body of " + std::to_string(info->content_length) + " bytes exceeds the limit of " + limit);
  }
  // mg_read() returns once it has all it was asked for, waiting up to
  // request_timeout for each piece: asked for more than one byte, a client
  // sending a byte now and then would hold this worker for as long as its
  // Content-Length lasts. One byte at a time, checked against a deadline, it
  // is cut off within twice request_timeout. (Bytes that came with the
  // headers are copied from civetweb's buffer, without a system call.)
  const auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
  std::string& body = request.body;
  char byte = 0;
  while (mg_read(connection, &byte, 1) == 1) {
    body += byte;
    if (body.size() > options_.max_request_body_bytes) {
      body.clear();
      return textResponse(413, "request body exceeds the limit of " + limit);
    }
    if (std::chrono::steady_clock::now() > deadline) break;
  }
  // mg_read() ends early (0 or -1) on a timeout or a closed connection: a
  // truncated body never reaches the handler.
  const bool complete = info->content_length >= 0 ? body.size() == static_cast<std::size_t>(info->content_length)
                                                  : std::chrono::steady_clock::now() <= deadline;
  if (!complete) {
    std::string received = std::to_string(body.size());
    if (info->content_length >= 0) received += " of " + std::to_string(info->content_length);
    body.clear();
    return textResponse(408, "request body not received within " + formatDuration(options_.request_timeout) + " (" +
                                 received + " bytes)");
  }
  return std::nullopt;
}

int HttpServer::refuse(mg_connection* connection, const HttpRequest& request, const HttpResponse& response) {
  writeResponse(connection, response, request.method == "HEAD");
  if (refusal_observer_) refusal_observer_(request, response);
  return response.status;
}

}  // namespace rightsize
