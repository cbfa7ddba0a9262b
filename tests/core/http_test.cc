#include "rightsize/core/http.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace rightsize {
namespace {

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
  EXPECT_EQ(client_.get(url("/throws"), std::chrono::seconds(2))->status, 500);
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
  // Each client keeps its connection open after its request, holding a
  // civetweb worker until the keep-alive timeout.
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

}  // namespace
}  // namespace rightsize
