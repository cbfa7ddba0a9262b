#include "rightsize/core/http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "test_support.h"

#include "rightsize/core/process.h"

namespace rightsize {
namespace {

using namespace std::chrono_literals;

// A client that writes its request by hand, as slowly as it likes: what
// curl would never do.
class RawClient {
 public:
  explicit RawClient(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  // False once the server has closed the connection.
  bool send(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // Tells the server nothing more will come (a FIN).
  void finishSending() { ::shutdown(fd_, SHUT_WR); }
  // Sends `bytes` one at a time, `gap` apart, until the server answers or
  // closes the connection (true) or all was sent (false).
  bool trickle(std::string_view bytes, std::chrono::milliseconds gap) {
    for (const char byte : bytes) {
      if (!send(std::string_view(&byte, 1)) || waitForAnswer(gap)) return true;
    }
    return false;
  }
  // Waits up to `timeout` for the server to answer or close; reads what it
  // sent. True when it did either.
  bool waitForAnswer(std::chrono::milliseconds timeout) {
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buffer[4096];
    while (true) {
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      answer_.append(buffer, static_cast<std::size_t>(n));
      if (::poll(&ready, 1, 200) <= 0) break;
    }
    return true;
  }
  // "HTTP/1.1 408 ..." up to the end of the status line; empty when the
  // server closed without a word.
  std::string statusLine() const { return answer_.substr(0, answer_.find("\r\n")); }
  const std::string& answer() const { return answer_; }

 private:
  int fd_;
  bool connected_ = false;
  std::string answer_;
};

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.listen = HostPort{"127.0.0.1", 0};
    options.max_request_body_bytes = 1024;
    server_ = std::make_unique<HttpServer>(options);
    server_->route("/hello", [](const HttpRequest& request) {
      HttpResponse response;
      response.body = "hello " + request.query;
      response.headers.emplace_back("X-Seen-Agent", std::string(request.header("user-agent")));
      return response;
    });
    server_->route("/echo",
                   [](const HttpRequest& request) {
                     HttpResponse response;
                     response.status = 201;
                     response.content_type = "application/json";
                     response.body = request.method + ":" + request.body;
                     return response;
                   },
                   {"POST", "PUT"});
    server_->route("/big", [](const HttpRequest&) {
      HttpResponse response;
      response.body = std::string(10000, 'x');
      return response;
    });
    server_->route("/throws", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); });
    server_->routePrefix("/v2/apps/",
                         [](const HttpRequest& request) {
                           HttpResponse response;
                           response.body = request.method + " " + request.path;
                           return response;
                         },
                         {"GET", "PUT"});
    ASSERT_TRUE(server_->start().ok());
    ASSERT_NE(server_->port(), 0);
  }

  std::string url(const std::string& path) const { return server_->baseUrl() + path; }

  std::unique_ptr<HttpServer> server_;
  CurlHttpClient client_;
};

TEST_F(HttpTest, ServesRoutesWithQueryHeadersAndBody) {
  HttpClientRequest request;
  request.url = url("/hello?x=1");
  request.headers.emplace_back("User-Agent", "rightsize-test");
  auto response = client_.send(request);
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello x=1");
  bool seen = false;
  for (const auto& [name, value] : response->headers) seen |= name == "X-Seen-Agent" && value == "rightsize-test";
  EXPECT_TRUE(seen);

  HttpClientRequest put;
  put.method = "PUT";
  put.url = url("/echo");
  put.body = R"({"cpus":0.5})";
  auto echoed = client_.send(put);
  ASSERT_TRUE(echoed.ok());
  EXPECT_EQ(echoed->status, 201);
  EXPECT_EQ(echoed->body, R"(PUT:{"cpus":0.5})");
  EXPECT_EQ(echoed->content_type, "application/json");
}

TEST_F(HttpTest, UnknownPathsAre404AndPrefixesDoNotMatch) {
  EXPECT_EQ(client_.get(url("/nope"), std::chrono::seconds(2))->status, 404);
  EXPECT_EQ(client_.get(url("/hellox"), std::chrono::seconds(2))->status, 404);
}

TEST_F(HttpTest, PrefixRoutesServeEveryPathBelowThem) {
  auto nested = client_.get(url("/v2/apps/team/web?embed=app.tasks"), std::chrono::seconds(2));
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->status, 200);
  EXPECT_EQ(nested->body, "GET /v2/apps/team/web");
  EXPECT_EQ(client_.get(url("/v2/appsX"), std::chrono::seconds(2))->status, 404);
  EXPECT_EQ(client_.get(url("/hello"), std::chrono::seconds(2))->body, "hello ");  // exact routes unaffected
}

TEST_F(HttpTest, WrongMethodIs405) {
  auto response = client_.get(url("/echo"), std::chrono::seconds(2));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 405);
}

TEST_F(HttpTest, OversizedRequestBodyIs413) {
  HttpClientRequest request;
  request.method = "POST";
  request.url = url("/echo");
  request.body = std::string(4096, 'a');
  auto response = client_.send(request);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 413);
}

TEST_F(HttpTest, HandlerExceptionBecomes500AndServerKeepsServing) {
  auto thrown = client_.get(url("/throws"), std::chrono::seconds(2));
  ASSERT_TRUE(thrown.ok());
  EXPECT_EQ(thrown->status, 500);
  EXPECT_EQ(thrown->body.find("boom"), std::string::npos) << "the exception's text reached the client";
  EXPECT_EQ(client_.get(url("/hello"), std::chrono::seconds(2))->status, 200);
}

TEST_F(HttpTest, ClientEnforcesItsResponseSizeLimit) {
  CurlHttpClientOptions options;
  options.max_response_bytes = 1000;
  CurlHttpClient small(options);
  auto response = small.get(url("/big"), std::chrono::seconds(2));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind(), ErrorKind::kUnavailable);
  EXPECT_NE(response.error().message().find("larger than 1000"), std::string::npos);
}

TEST_F(HttpTest, ClientReportsRefusedConnectionsNamingTheUrl) {
  const std::string dead = url("/hello");
  server_->stop();
  auto response = client_.get(dead, std::chrono::seconds(2));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind(), ErrorKind::kUnavailable);
  EXPECT_NE(response.error().message().find(dead), std::string::npos);
}

TEST_F(HttpTest, IdleKeepAliveClientsDoNotStarveOthers) {
  // Each client keeps its connection open after its request, until the
  // keep-alive timeout.
  std::vector<std::unique_ptr<CurlHttpClient>> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(std::make_unique<CurlHttpClient>());
    ASSERT_TRUE(idle.back()->get(url("/hello"), std::chrono::seconds(2)).ok());
  }
  CurlHttpClient fresh;
  const auto started = std::chrono::steady_clock::now();
  auto response = fresh.get(url("/hello"), std::chrono::seconds(1));
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500));
}

TEST(HttpServerTest, ReportsAnAddressInUse) {
  HttpServerOptions options;
  options.listen = HostPort{"127.0.0.1", 0};
  HttpServer first(options);
  ASSERT_TRUE(first.start().ok());
  options.listen.port = first.port();
  HttpServer second(options);
  auto started = second.start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message().find(std::to_string(first.port())), std::string::npos);
}

TEST(HttpClientTest, TimesOutOnASlowPeer) {
  std::atomic<bool> release{false};
  HttpServerOptions options;
  options.listen = HostPort{"127.0.0.1", 0};
  HttpServer server(options);
  server.route("/slow", [&](const HttpRequest&) {
    // Hold the request until the client has given up (bounded).
    for (int i = 0; i < 200 && !release; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return HttpResponse{};
  });
  ASSERT_TRUE(server.start().ok());
  CurlHttpClient client;
  const auto started = std::chrono::steady_clock::now();
  auto response = client.get(server.baseUrl() + "/slow", std::chrono::milliseconds(200));
  const auto took = std::chrono::steady_clock::now() - started;
  release = true;
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().kind(), ErrorKind::kUnavailable);
  EXPECT_LT(took, std::chrono::milliseconds(1500));
}

TEST_F(HttpTest, ChunkedBodiesAreHeldToTheLimitToo) {
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  std::string request = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) request += "200\r\n" + std::string(512, 'a') + "\r\n";  // 2 KiB in all
  request += "0\r\n\r\n";
  ASSERT_TRUE(client.send(request));
  ASSERT_TRUE(client.waitForAnswer(5s));
  EXPECT_EQ(client.statusLine(), "HTTP/1.1 413 Payload Too Large");
  EXPECT_NE(client.answer().find("request body exceeds the limit of 1024 bytes"), std::string::npos) << client.answer();
}

TEST_F(HttpTest, OnlyTheRouteMethodsAreServed) {
  for (const std::string method : {"PUT", "DELETE", "PATCH", "OPTIONS", "POST", "PROPFIND", "CONNECT"}) {
    HttpClientRequest request;
    request.method = method;
    request.url = url("/hello");
    auto response = client_.send(request);
    ASSERT_TRUE(response.ok()) << method << ": " << response.error().message();
    EXPECT_EQ(response->status, 405) << method;
    bool allow = false;
    for (const auto& [name, value] : response->headers) allow |= name == "Allow" && value == "GET, HEAD";
    EXPECT_TRUE(allow) << method;
  }
  // Methods no route lists, on paths with and without a route: never a 2xx.
  for (const std::string method : {"TRACE", "FOO", "PUT", "DELETE", "OPTIONS"}) {
    for (const std::string path : {"/hello", "/nope", "/"}) {
      HttpClientRequest request;
      request.method = method;
      request.url = url(path);
      auto response = client_.send(request);
      ASSERT_TRUE(response.ok()) << method << " " << path << ": " << response.error().message();
      EXPECT_GE(response->status, 400) << method << " " << path;
    }
  }
}

TEST_F(HttpTest, ServesNoFilesAndListsNoDirectories) {
  // A file in the working directory (what a file server would serve) and
  // one outside it.
  const std::string name = "http_test_not_served.txt";
  { std::ofstream(name) << "not for the network\n"; }
  for (const std::string& path :
       std::vector<std::string>{"/", "/" + name, "/../../../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                                "//etc/passwd", "/v2/apps/../../../../etc/passwd"}) {
    RawClient client(server_->port());
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    ASSERT_TRUE(client.waitForAnswer(5s)) << path;
    EXPECT_EQ(client.answer().find("not for the network"), std::string::npos) << path;
    EXPECT_EQ(client.answer().find("root:"), std::string::npos) << path;
    EXPECT_EQ(client.answer().find("Index of"), std::string::npos) << path;
    EXPECT_TRUE(client.statusLine().find(" 404 ") != std::string::npos ||
                client.statusLine().find(" 400 ") != std::string::npos)
        << path << ": " << client.statusLine();
  }
  std::remove(name.c_str());
}

// A server with short timeouts and two workers, whose handler counts calls
// and whose refusals are observed.
class HttpLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.listen = HostPort{"127.0.0.1", 0};
    options.threads = 2;
    options.header_timeout = 300ms;
    options.request_timeout = 300ms;
    server_ = std::make_unique<HttpServer>(options);
    server_->route("/hook",
                   [this](const HttpRequest& request) {
                     ++handled_;
                     HttpResponse response;
                     response.body = std::to_string(request.body.size());
                     return response;
                   },
                   {"GET", "POST"});
    server_->observeRefusals([this](const HttpRequest& request, const HttpResponse& response) {
      std::lock_guard lock(mutex_);
      refusals_.push_back(request.method + " " + request.path + " " + std::to_string(response.status) + " " +
                          std::to_string(request.body.size()));
    });
    ASSERT_TRUE(server_->start().ok());
  }
  // The server's workers call the observer: stop them before what it touches goes.
  void TearDown() override { server_.reset(); }
  std::vector<std::string> refusals() {
    std::lock_guard lock(mutex_);
    return refusals_;
  }

  std::unique_ptr<HttpServer> server_;
  std::atomic<int> handled_{0};
  std::mutex mutex_;
  std::vector<std::string> refusals_;
};

TEST_F(HttpLimitsTest, HeadersSentByteByByteAreCutOffAtTheHeaderTimeout) {
  RawClient slow(server_->port());
  ASSERT_TRUE(slow.connected());
  const auto started = std::chrono::steady_clock::now();
  // 1,000 bytes, 20 ms apart: 20 s unless the server cuts it off.
  ASSERT_TRUE(slow.trickle("GET /hook HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(1000, 'a') + "\r\n\r\n", 20ms));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_EQ(slow.statusLine(), "HTTP/1.1 408 Request Timeout");
  EXPECT_NE(slow.answer().find("request line and headers not received within 300ms"), std::string::npos)
      << slow.answer();
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpLimitsTest, ABodySentByteByByteIsCutOffWith408) {
  RawClient slow(server_->port());
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.send("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"));
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(slow.trickle(std::string(1000, 'a'), 20ms));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);  // at most twice the timeout, and a margin
  EXPECT_EQ(slow.statusLine(), "HTTP/1.1 408 Request Timeout");
  EXPECT_NE(slow.answer().find("request body not received within 300ms"), std::string::npos) << slow.answer();
  EXPECT_EQ(handled_, 0);
  EXPECT_EQ(refusals(), std::vector<std::string>{"POST /hook 408 0"});
}

TEST_F(HttpLimitsTest, ATruncatedBodyNeverReachesTheHandler) {
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"));
  ASSERT_TRUE(client.waitForAnswer(5s));
  EXPECT_EQ(client.statusLine(), "HTTP/1.1 408 Request Timeout");
  EXPECT_NE(client.answer().find("(10 of 100 bytes)"), std::string::npos) << client.answer();
  EXPECT_EQ(handled_, 0);
}

TEST_F(HttpLimitsTest, ClientsThatNeverFinishTheirHeadersHoldNoWorker) {
  // Two workers, three connections that never finish their headers: a
  // fourth client is served while they still wait (a worker is only taken
  // by a whole request), and they are cut off at the header timeout.
  std::vector<std::unique_ptr<RawClient>> silent;
  for (int i = 0; i < 3; ++i) {
    silent.push_back(std::make_unique<RawClient>(server_->port()));
    ASSERT_TRUE(silent.back()->connected());
    ASSERT_TRUE(silent.back()->send("GET /hook HTTP/1.1\r\n"));
  }
  CurlHttpClient client;
  auto response = client.get(server_->baseUrl() + "/hook", 5s);
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  for (auto& connection : silent) {
    // Answered or closed already: the client waited for the timeout to free a worker.
    EXPECT_FALSE(connection->waitForAnswer(0ms)) << connection->statusLine();
  }
  for (auto& connection : silent) {
    ASSERT_TRUE(connection->waitForAnswer(3s));
    EXPECT_EQ(connection->statusLine(), "HTTP/1.1 408 Request Timeout");
  }
  EXPECT_EQ(handled_, 1);
}

TEST_F(HttpLimitsTest, GetBodiesAreNotRead) {
  // A GET announcing a body it never sends is answered at once (reading
  // the body would end in a 408 after 300 ms).
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send("GET /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"));
  ASSERT_TRUE(client.waitForAnswer(2s));
  EXPECT_EQ(client.statusLine(), "HTTP/1.1 200 OK");
  EXPECT_EQ(handled_, 1);
}

TEST(HttpServerAdmissionTest, RefusesBeforeTheBodyIsRead) {
  HttpServerOptions options;
  options.listen = HostPort{"127.0.0.1", 0};
  HttpServer server(options);
  std::atomic<int> handled{0};
  server.route(
      "/v1/alerts",
      [&](const HttpRequest& request) {
        ++handled;
        HttpResponse response;
        response.body = request.body;
        return response;
      },
      {"POST"},
      [](const HttpRequest& request) -> std::optional<HttpResponse> {
        if (request.header("X-Key") == "k") return std::nullopt;
        HttpResponse refusal;
        refusal.status = 401;
        return refusal;
      });
  ASSERT_TRUE(server.start().ok());
  // Announces a body it never sends: refused at once, without waiting for it.
  RawClient stranger(server.port());
  ASSERT_TRUE(stranger.connected());
  ASSERT_TRUE(stranger.send("POST /v1/alerts HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"));
  ASSERT_TRUE(stranger.waitForAnswer(2s));
  EXPECT_EQ(stranger.statusLine(), "HTTP/1.1 401 Unauthorized");
  CurlHttpClient client;
  HttpClientRequest request;
  request.method = "POST";
  request.url = server.baseUrl() + "/v1/alerts";
  request.headers = {{"X-Key", "k"}};
  request.body = "{}";
  auto admitted = client.send(request);
  ASSERT_TRUE(admitted.ok()) << admitted.error().message();
  EXPECT_EQ(admitted->status, 200);
  EXPECT_EQ(admitted->body, "{}");
  EXPECT_EQ(handled, 1);
}

TEST(HttpServerLimitTest, BodiesOverTheDefaultMebibyteAre413AndObserved) {
  HttpServerOptions options;
  options.listen = HostPort{"127.0.0.1", 0};
  HttpServer server(options);
  std::atomic<int> handled{0};
  server.route("/v1/alerts",
               [&](const HttpRequest& request) {
                 ++handled;
                 HttpResponse response;
                 response.body = std::to_string(request.body.size());
                 return response;
               },
               {"POST"});
  std::vector<int> refused;
  std::mutex mutex;
  server.observeRefusals([&](const HttpRequest&, const HttpResponse& response) {
    std::lock_guard lock(mutex);
    refused.push_back(response.status);
  });
  ASSERT_TRUE(server.start().ok());
  CurlHttpClient client;
  HttpClientRequest request;
  request.method = "POST";
  request.url = server.baseUrl() + "/v1/alerts";
  request.body = std::string(1 << 20, 'a');
  auto fits = client.send(request);
  ASSERT_TRUE(fits.ok()) << fits.error().message();
  EXPECT_EQ(fits->status, 200);
  EXPECT_EQ(fits->body, "1048576");
  request.body += 'a';
  auto over = client.send(request);
  ASSERT_TRUE(over.ok()) << over.error().message();
  EXPECT_EQ(over->status, 413);
  EXPECT_EQ(over->body, "request body of 1048577 bytes exceeds the limit of 1048576 bytes\n");
  EXPECT_EQ(handled, 1);
  std::lock_guard lock(mutex);
  EXPECT_EQ(refused, std::vector<int>{413});
}

TEST(HttpClientTest, HttpsToAPlainHttpPeerFails) {
  HttpServerOptions options;
  options.listen = HostPort{"127.0.0.1", 0};
  HttpServer server(options);
  server.route("/hello", [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_TRUE(server.start().ok());
  CurlHttpClient client;
  auto response = client.get("https://127.0.0.1:" + std::to_string(server.port()) + "/hello", 2s);
  ASSERT_FALSE(response.ok()) << "HTTP " << response->status;
  EXPECT_EQ(response.error().kind(), ErrorKind::kUnavailable);
}

// A TLS peer with a self-signed certificate (openssl s_server): refused by
// default, accepted only when verification is turned off explicitly.
TEST(HttpClientTest, VerifiesTlsCertificatesByDefault) {
  testing::TempDir dir;
  const std::string script =
      "command -v openssl >/dev/null || { echo 'openssl: missing'; exit 127; }; cd '" + dir.path() +
      "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem -days 2 2>&1 && "
      "exec openssl s_server -accept 127.0.0.1:0 -cert cert.pem -key key.pem -www";
  auto peer = ChildProcess::start({"/bin/sh", "-c", script});
  ASSERT_TRUE(peer.ok()) << peer.error().message();
  const std::string line = (*peer)->waitForLine("ACCEPT", 20s);
  if (line.empty() && (*peer)->output().find("openssl: missing") != std::string::npos) {
    GTEST_SKIP() << "openssl (the command) is not installed: apt-get install openssl";
  }
  const auto colon = line.rfind(':');
  ASSERT_NE(colon, std::string::npos) << (*peer)->output();
  const std::string url = "https://127.0.0.1:" + std::string(trim(line.substr(colon + 1))) + "/";

  CurlHttpClient verifying;
  auto refused = verifying.get(url, 5s);
  ASSERT_FALSE(refused.ok()) << "HTTP " << refused->status;
  EXPECT_EQ(refused.error().kind(), ErrorKind::kUnavailable);
  EXPECT_NE(refused.error().message().find("certificate"), std::string::npos) << refused.error().message();

  CurlHttpClientOptions insecure;
  insecure.verify_tls = false;
  CurlHttpClient trusting(insecure);
  auto accepted = trusting.get(url, 5s);
  ASSERT_TRUE(accepted.ok()) << accepted.error().message();
  EXPECT_EQ(accepted->status, 200);
}

TEST(HttpRequestHeadTest, ParsesTheRequestLineHeadersAndFraming) {
  auto head = parseHttpRequestHead(
      "POST /v1/alerts?x=1&y HTTP/1.1\r\nHost: a:9541\r\nContent-Length:  12 \r\nExpect: 100-continue\r\n"
      "X-Empty:\r\n\r\n");
  ASSERT_TRUE(head.ok()) << head.error().message();
  EXPECT_EQ(head->method, "POST");
  EXPECT_EQ(head->path, "/v1/alerts");
  EXPECT_EQ(head->query, "x=1&y");
  EXPECT_EQ(head->headers,
            (HttpHeaders{{"Host", "a:9541"}, {"Content-Length", "12"}, {"Expect", "100-continue"}, {"X-Empty", ""}}));
  EXPECT_EQ(head->minor_version, 1);
  EXPECT_EQ(head->content_length, 12u);
  EXPECT_FALSE(head->chunked);
  EXPECT_TRUE(head->keep_alive);
  EXPECT_TRUE(head->expect_continue);

  auto chunked = parseHttpRequestHead("PUT /v2/apps/web HTTP/1.1\nTransfer-Encoding: Chunked\n\n");
  ASSERT_TRUE(chunked.ok()) << chunked.error().message();
  EXPECT_TRUE(chunked->chunked);
  EXPECT_EQ(chunked->content_length, 0u);
  EXPECT_FALSE(chunked->expect_continue);
}

TEST(HttpRequestHeadTest, PathsAreDecodedAndCleanedAsRoutesSeeThem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/", "/"},
      {"/healthz", "/healthz"},
      {"/v2/apps/", "/v2/apps/"},
      {"//v2//apps///team", "/v2/apps/team"},
      {"/a/./b/../c", "/a/c"},
      {"/a/b/..", "/a/"},
      {"/../../../etc/passwd", "/etc/passwd"},
      {"/%2e%2e/%2E%2E/etc/passwd", "/etc/passwd"},
      {"/v2/apps/../../../../etc/passwd", "/etc/passwd"},
      {"/team%2Fweb", "/team/web"},
      {"/a%20b+c", "/a b+c"},
      {"/web.v2/x.", "/web.v2/x."},
      {"http://marathon:8080/v2/apps?embed=app.tasks", "/v2/apps"},
      {"HTTPS://marathon", "/"},
  };
  for (const auto& [target, path] : cases) {
    auto head = parseHttpRequestHead("GET " + target + " HTTP/1.1\r\n\r\n");
    ASSERT_TRUE(head.ok()) << target << ": " << head.error().message();
    EXPECT_EQ(head->path, path) << target;
  }
  EXPECT_EQ(parseHttpRequestHead("GET http://m/v2/apps?embed=app.tasks HTTP/1.1\r\n\r\n")->query, "embed=app.tasks");
}

TEST(HttpRequestHeadTest, KeepAliveFollowsTheVersionAndConnectionHeader) {
  EXPECT_TRUE(parseHttpRequestHead("GET / HTTP/1.1\r\n\r\n")->keep_alive);
  EXPECT_FALSE(parseHttpRequestHead("GET / HTTP/1.1\r\nConnection: Keep-Alive, close\r\n\r\n")->keep_alive);
  EXPECT_FALSE(parseHttpRequestHead("GET / HTTP/1.0\r\n\r\n")->keep_alive);
  EXPECT_TRUE(parseHttpRequestHead("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n")->keep_alive);
  EXPECT_FALSE(parseHttpRequestHead("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n")->expect_continue);
  // Empty lines left behind by a previous request are skipped.
  EXPECT_EQ(parseHttpRequestHead("\r\n\nGET /x HTTP/1.1\r\n\r\n")->path, "/x");
  // The same Content-Length twice is one.
  EXPECT_EQ(parseHttpRequestHead("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n")->content_length,
            3u);
}

TEST(HttpRequestHeadTest, RefusesWhatIsNotHttp1NamingIt) {
  std::string many_headers = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i) many_headers += "X-" + std::to_string(i) + ": v\r\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "no request line"},
      {"GET /\r\n\r\n", "is not METHOD TARGET HTTP/1.x"},
      {"GET / HTTP/2.0\r\n\r\n", "is not METHOD TARGET HTTP/1.x"},
      {"GET / HTTP/1.1 extra\r\n\r\n", "is not METHOD TARGET HTTP/1.x"},
      {"GET  / HTTP/1.1\r\n\r\n", "is not METHOD TARGET HTTP/1.x"},
      {"G{T / HTTP/1.1\r\n\r\n", "method \"G{T\" is not a token"},
      {"GET * HTTP/1.1\r\n\r\n", "is not a path"},
      {"GET http://host?x HTTP/1.1\r\n\r\n", "has a query but no path"},
      {"GET /a\x01 HTTP/1.1\r\n\r\n", "has spaces or control characters"},
      {"GET /a%zz HTTP/1.1\r\n\r\n", "'%' not followed by two hexadecimal digits"},
      {"GET /a%2 HTTP/1.1\r\n\r\n", "'%' not followed by two hexadecimal digits"},
      {"GET /a%00b HTTP/1.1\r\n\r\n", "NUL byte"},
      {"GET / HTTP/1.1\r\nNo colon\r\n\r\n", "is not NAME: VALUE"},
      {"GET / HTTP/1.1\r\nName : v\r\n\r\n", "is not NAME: VALUE"},
      {"GET / HTTP/1.1\r\n: v\r\n\r\n", "is not NAME: VALUE"},
      {"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "obsolete line folding"},
      {"GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", "control characters in its value"},
      {"POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", "is not a number of bytes"},
      {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "is not a number of bytes"},
      {"POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n", "is not a number of bytes"},
      {"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "given twice, differently"},
      {"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "both Content-Length"},
      {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "in an HTTP/1.0 request"},
      {many_headers + "\r\n", "more than 100 header lines"},
  };
  for (const auto& [text, problem] : cases) {
    auto head = parseHttpRequestHead(text);
    ASSERT_FALSE(head.ok()) << text;
    EXPECT_EQ(head.error().kind(), ErrorKind::kMalformed) << text;
    EXPECT_NE(head.error().message().find(problem), std::string::npos) << text << ": " << head.error().message();
  }
  auto gzip = parseHttpRequestHead("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  ASSERT_FALSE(gzip.ok());
  EXPECT_EQ(gzip.error().kind(), ErrorKind::kInvalidValue);
  EXPECT_EQ(gzip.error().message(), "transfer coding \"gzip, chunked\" is not supported");
}

TEST_F(HttpTest, KeepAliveAndPipelinedRequestsShareAConnection) {
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send(
      "GET /hello?1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"));
  ASSERT_TRUE(client.waitForAnswer(5s));
  ASSERT_TRUE(client.send("HEAD /hello?3 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(client.waitForAnswer(5s));
  const std::string& answer = client.answer();
  const std::size_t first = answer.find("HTTP/1.1 200 OK");
  const std::size_t second = answer.find("HTTP/1.1 201 Created", first);
  const std::size_t third = answer.find("HTTP/1.1 200 OK", second);
  ASSERT_NE(third, std::string::npos) << answer;
  EXPECT_NE(answer.find("hello 1"), std::string::npos) << answer;
  EXPECT_NE(answer.find("POST:abc"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Content-Length: 7\r\n", third), std::string::npos) << answer;  // "hello 3"
  EXPECT_EQ(answer.find("hello 3"), std::string::npos) << "a HEAD answer has no body";
  EXPECT_EQ(answer.find("Connection: close"), std::string::npos) << answer;
}

TEST_F(HttpTest, Http10ClientsAreAnsweredAndClosed) {
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send("GET /hello HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(client.waitForAnswer(5s));
  EXPECT_EQ(client.statusLine(), "HTTP/1.1 200 OK");
  EXPECT_NE(client.answer().find("Connection: close\r\n"), std::string::npos) << client.answer();
  const std::string answer = client.answer();
  EXPECT_TRUE(client.waitForAnswer(2s)) << "the connection was left open";
  EXPECT_EQ(client.answer(), answer);
}

TEST_F(HttpTest, ExpectContinueIsAnsweredBeforeTheBodyIsSent) {
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  ASSERT_TRUE(client.waitForAnswer(5s));
  EXPECT_EQ(client.answer(), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(client.send("hello"));
  ASSERT_TRUE(client.waitForAnswer(5s));
  EXPECT_NE(client.answer().find("HTTP/1.1 201 Created"), std::string::npos) << client.answer();
  EXPECT_NE(client.answer().find("POST:hello"), std::string::npos) << client.answer();
}

TEST_F(HttpTest, BadRequestsAreRefusedBeforeAnyRoute) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GET /hello HTTP/1.1\r\nX-Big: " + std::string(17000, 'a') + "\r\n\r\n",
       "HTTP/1.1 431 Request Header Fields Too Large"},
      {"GET /hello HTTP/1.1\r\nbroken\r\n\r\n", "HTTP/1.1 400 Bad Request"},
      {"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 501 Not Implemented"},
  };
  for (const auto& [request, status] : cases) {
    RawClient client(server_->port());
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send(request));
    ASSERT_TRUE(client.waitForAnswer(5s));
    EXPECT_EQ(client.statusLine(), status);
    EXPECT_NE(client.answer().find("Connection: close\r\n"), std::string::npos) << client.answer();
  }
}

TEST_F(HttpLimitsTest, AChunkedBodyCutShortNeverReachesTheHandler) {
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send("POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"));
  client.finishSending();  // no last chunk
  ASSERT_TRUE(client.waitForAnswer(5s));
  EXPECT_EQ(client.statusLine(), "HTTP/1.1 408 Request Timeout");
  EXPECT_NE(client.answer().find("(5 bytes)"), std::string::npos) << client.answer();
  EXPECT_EQ(handled_, 0);
  EXPECT_EQ(refusals(), std::vector<std::string>{"POST /hook 408 0"});
}

TEST_F(HttpLimitsTest, AMalformedChunkedBodyIs400AndObserved) {
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(
      client.send("POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n"));
  ASSERT_TRUE(client.waitForAnswer(5s));
  EXPECT_EQ(client.statusLine(), "HTTP/1.1 400 Bad Request");
  EXPECT_NE(client.answer().find("malformed chunked body: chunk data longer than its size"), std::string::npos)
      << client.answer();
  EXPECT_EQ(handled_, 0);
  EXPECT_EQ(refusals(), std::vector<std::string>{"POST /hook 400 0"});
}

TEST_F(HttpLimitsTest, ChunkedBodiesWithExtensionsAndTrailersAreRead) {
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(
      client.send("POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5;name=value\r\nhello\r\na\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"));
  ASSERT_TRUE(client.waitForAnswer(5s));
  EXPECT_EQ(client.statusLine(), "HTTP/1.1 200 OK");
  EXPECT_TRUE(client.answer().ends_with("\r\n\r\n15")) << client.answer();  // 5 + 10 bytes
  EXPECT_EQ(handled_, 1);
}

}  // namespace
}  // namespace rightsize
