// Clients that connect and say nothing, or dribble their request a byte at a
// time, must not keep HttpServer from answering the others: a health check
// that times out gets a daemon restarted.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "loopback_socket.h"

#include "rightsize/core/http.h"

namespace rightsize {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Socket = testing::LoopbackSocket;

constexpr std::size_t kHugeBytes = 6'000'000;

// Clients that each send a request one byte per second, each on its own
// connection, opening a new one whenever the server drops theirs, until
// destroyed.
class SlowClients {
 public:
  SlowClients(std::uint16_t port, int count) : port_(port), count_(count), thread_([this] { run(); }) {}
  ~SlowClients() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  SlowClients(const SlowClients&) = delete;
  SlowClients& operator=(const SlowClients&) = delete;

  // Connections opened so far, the first `count` included.
  int connections() const { return connections_; }

 private:
  void run() {
    const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(60, 'a') + "\r\n\r\n";
    std::vector<std::unique_ptr<Socket>> sockets(static_cast<std::size_t>(count_));
    std::vector<std::size_t> sent(sockets.size(), 0);
    std::unique_lock lock(mutex_);
    while (!stop_) {
      lock.unlock();
      for (std::size_t i = 0; i < sockets.size(); ++i) {
        if (sockets[i] == nullptr || sockets[i]->closedByServer() || sent[i] == request.size()) {
          sockets[i] = std::make_unique<Socket>(port_);
          sent[i] = 0;
          ++connections_;
        }
        if (sockets[i]->connected() && sockets[i]->send(std::string_view(request).substr(sent[i], 1))) ++sent[i];
      }
      lock.lock();
      wake_.wait_for(lock, 1s, [this] { return stop_; });
    }
  }

  const std::uint16_t port_;
  const int count_;
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

// A server with the daemons' defaults: /healthz, a /metrics the size of a
// busy agent's, a webhook, and a /huge answer.
class HttpSlowClientsTest : public ::testing::Test {
 protected:
  void SetUp() override { start(HttpServerOptions{{"127.0.0.1", 0}}); }
  void start(const HttpServerOptions& options) {
    server_ = std::make_unique<HttpServer>(options);
    server_->route("/healthz", [](const HttpRequest&) {
      HttpResponse response;
      response.body = "ok\n";
      return response;
    });
    server_->route("/metrics", [](const HttpRequest&) {
      HttpResponse response;
      response.body = std::string(300'000, 'm');
      return response;
    });
    // A request that keeps a worker 20 ms: the load of the pipelining test.
    server_->route("/slow", [](const HttpRequest&) {
      std::this_thread::sleep_for(20ms);
      HttpResponse response;
      response.body = "slow\n";
      return response;
    });
    server_->route("/huge", [](const HttpRequest&) {
      HttpResponse response;
      response.body = std::string(kHugeBytes, 'h');
      return response;
    });
    server_->route("/v1/alerts",
                   [](const HttpRequest& request) {
                     HttpResponse response;
                     response.body = std::to_string(request.body.size());
                     return response;
                   },
                   {"POST"});
    ASSERT_TRUE(server_->start().ok());
  }
  // How long /healthz took to answer 200, or nullopt when it did not
  // within 3 s.
  std::optional<Clock::duration> healthCheck() {
    CurlHttpClient fresh;  // a new connection, as Marathon's health checks open
    const auto started = Clock::now();
    auto response = fresh.get(server_->baseUrl() + "/healthz", 3s);
    if (!response.ok() || response->status != 200) return std::nullopt;
    return Clock::now() - started;
  }
  // Opens `count` connections that never send a byte; all must connect.
  std::vector<std::unique_ptr<Socket>> openIdle(int count) {
    std::vector<std::unique_ptr<Socket>> idle;
    for (int i = 0; i < count; ++i) {
      idle.push_back(std::make_unique<Socket>(server_->port()));
      EXPECT_TRUE(idle.back()->connected()) << "connection " << i;
    }
    return idle;
  }

  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpSlowClientsTest, IdleConnectionsDoNotDelayHealthChecks) {
  const auto idle = openIdle(160);
  for (int probe = 0; probe < 3; ++probe) {
    const auto took = healthCheck();
    ASSERT_TRUE(took.has_value()) << "probe " << probe << ": no answer within 3 s";
    EXPECT_LT(*took, 1s) << "probe " << probe;
  }
}

TEST_F(HttpSlowClientsTest, ClientsSendingAByteASecondDoNotDelayHealthChecks) {
  SlowClients slow(server_->port(), 40);
  // Probes for 2.5 s: past the moment the server drops the first slow
  // connections and they come back.
  const auto until = Clock::now() + 2500ms;
  int probes = 0;
  while (Clock::now() < until) {
    const auto took = healthCheck();
    ASSERT_TRUE(took.has_value()) << "probe " << probes << ": no answer within 3 s";
    EXPECT_LT(*took, 1s) << "probe " << probes;
    ++probes;
    std::this_thread::sleep_for(200ms);  // pacing the probes, not waiting for an outcome
  }
  EXPECT_GE(slow.connections(), 40);
}

TEST_F(HttpSlowClientsTest, ScrapesAndWebhooksStillWorkAmongIdleConnections) {
  const auto idle = openIdle(160);
  // Prometheus keeps its connection between scrapes.
  Socket scraper(server_->port());
  ASSERT_TRUE(scraper.connected());
  for (int scrape = 0; scrape < 3; ++scrape) {
    const auto started = Clock::now();
    ASSERT_TRUE(scraper.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::string response = scraper.readResponse(2s);
    ASSERT_EQ(response.substr(0, 15), "HTTP/1.1 200 OK") << "scrape " << scrape;
    EXPECT_EQ(response.size() - response.find("\r\n\r\n") - 4, 300'000u);
    EXPECT_LT(Clock::now() - started, 1s);
  }
  // Alertmanager's webhook: a few KB.
  CurlHttpClient alertmanager;
  HttpClientRequest post;
  post.method = "POST";
  post.url = server_->baseUrl() + "/v1/alerts";
  post.headers = {{"Content-Type", "application/json"}};
  post.body = std::string(4000, 'j');
  post.timeout = 3s;
  const auto started = Clock::now();
  auto response = alertmanager.send(post);
  ASSERT_TRUE(response.ok()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "4000");
  EXPECT_LT(Clock::now() - started, 1s);
}

TEST_F(HttpSlowClientsTest, PastTheConnectionLimitTheLongestWaitingMakeRoom) {
  HttpServerOptions options{{"127.0.0.1", 0}};
  options.max_connections = 32;
  start(options);
  const auto idle = openIdle(100);
  const auto took = healthCheck();
  ASSERT_TRUE(took.has_value()) << "no answer within 3 s";
  EXPECT_LT(*took, 1s);
  // The first were closed to make room, the last 31 (and the health check's) kept.
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(idle[static_cast<std::size_t>(i)]->closedByServer(), i < 69) << "connection " << i;
  }
}

// Clients pipelining requests keep every connection busy (queued for a
// worker, never idle): at the connection limit a new one still gets in,
// making room by dropping the oldest request that no worker has started.
TEST_F(HttpSlowClientsTest, PipeliningClientsAtTheLimitDoNotShutAHealthCheckOut) {
  HttpServerOptions options{{"127.0.0.1", 0}};
  options.threads = 1;
  options.max_connections = 8;
  start(options);
  std::string pipelined;
  for (int i = 0; i < 50; ++i) pipelined += "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<std::unique_ptr<Socket>> busy;
  for (int i = 0; i < 8; ++i) {
    busy.push_back(std::make_unique<Socket>(server_->port()));
    ASSERT_TRUE(busy.back()->connected() && busy.back()->send(pipelined)) << "connection " << i;
  }
  // Every connection is being served or waits for the worker.
  ASSERT_FALSE(busy.front()->readResponse(2s).empty());
  for (int probe = 0; probe < 3; ++probe) {
    const auto took = healthCheck();
    ASSERT_TRUE(took.has_value()) << "probe " << probe << ": shut out";
    EXPECT_LT(*took, 1s) << "probe " << probe;
  }
}

// A client that sends several requests and then closes its side gets every
// answer before the server closes.
TEST_F(HttpSlowClientsTest, AHalfClosedClientGetsTheAnswersToWhatItSent) {
  Socket client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  client.shutdownWrite();
  EXPECT_EQ(client.readResponse(2s).substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_EQ(client.readResponse(2s).substr(0, 15), "HTTP/1.1 200 OK") << "the second answer was dropped";
}

TEST_F(HttpSlowClientsTest, StopsAtOnceWithIdleAndSlowConnectionsOpen) {
  const auto idle = openIdle(160);
  SlowClients slow(server_->port(), 40);
  ASSERT_TRUE(healthCheck().has_value());
  const auto started = Clock::now();
  server_->stop();
  EXPECT_LT(Clock::now() - started, 1s);
  for (const auto& connection : idle) EXPECT_TRUE(connection->closedByServer());
}

TEST_F(HttpSlowClientsTest, ClientsThatDoNotReadTheirAnswersHoldNoWorkerAndLittleMemory) {
  HttpServerOptions options{{"127.0.0.1", 0}};
  options.threads = 2;
  options.max_unsent_answer_bytes = 8 << 20;
  start(options);
  // Each 6 MB answer is more than the kernel takes in for a client that does
  // not read (about 3 MB on loopback): the rest waits in the server.
  std::vector<std::unique_ptr<Socket>> readers;
  for (int i = 0; i < 4; ++i) {
    readers.push_back(std::make_unique<Socket>(server_->port(), 4096));
    ASSERT_TRUE(readers.back()->connected());
    ASSERT_TRUE(readers.back()->send("GET /huge HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  for (int probe = 0; probe < 3; ++probe) {
    const auto took = healthCheck();
    ASSERT_TRUE(took.has_value()) << "probe " << probe << ": no answer within 3 s";
    EXPECT_LT(*took, 1s) << "probe " << probe;
  }
  // More than 8 MiB of answers waited: the oldest were dropped, the others
  // come whole.
  int whole = 0;
  for (auto& reader : readers) whole += reader->readAll(kHugeBytes + 1, 5s) > kHugeBytes ? 1 : 0;
  EXPECT_GE(whole, 1);
  EXPECT_LT(whole, 4);
}

}  // namespace
}  // namespace rightsize
