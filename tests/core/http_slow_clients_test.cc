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

#include "rightsize/core/http.h"

namespace rightsize {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kHugeBytes = 6'000'000;

// A loopback TCP connection driven by hand, closed on destruction.
class Socket {
 public:
  // `receive_buffer_bytes`, when given, keeps what the kernel takes in for a
  // client that does not read small.
  explicit Socket(std::uint16_t port, int receive_buffer_bytes = 0)
      : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) return;
    if (receive_buffer_bytes > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
    }
    // A full accept queue makes connect() wait: bound it.
    timeval limit{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  bool connected() const { return connected_; }
  // Closes the sending side: the server reads an end after what was sent.
  void shutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  bool send(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // True when the server has closed the connection (or reset it), without
  // waiting; what it sent before is discarded.
  bool closedByServer() {
    char buffer[4096];
    while (true) {
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n == 0) return true;
      if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    }
  }
  // Reads until the server closes the connection, `limit` bytes have come
  // or `timeout` has passed; how many bytes came.
  std::size_t readAll(std::size_t limit, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::size_t total = pending_.size();
    char buffer[65536];
    while (total < limit) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd ready{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) <= 0) break;
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      total += static_cast<std::size_t>(n);
    }
    return total;
  }
  // Reads one response (status line, headers, Content-Length body) within
  // `timeout`; empty when none came whole.
  std::string readResponse(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      const std::size_t head_end = pending_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        const std::size_t at = pending_.find("Content-Length: ");
        if (at != std::string::npos && at < head_end) length = std::stoul(pending_.substr(at + 16));
        if (pending_.size() >= head_end + 4 + length) {
          std::string response = pending_.substr(0, head_end + 4 + length);
          pending_.erase(0, response.size());
          return response;
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd ready{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) <= 0) return {};
      char buffer[16384];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return {};
      pending_.append(buffer, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
  bool connected_ = false;
  std::string pending_;
};

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
