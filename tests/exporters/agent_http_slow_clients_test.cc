// The agent's endpoints, served as `rightsize agent` serves them (an
// HttpServer with the default options, the agent's routes), stay answerable
// while clients hold connections open without sending, or send a byte a
// second: Marathon's health checks and Prometheus's scrapes must not time out.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "loopback_socket.h"

#include "rightsize/exporters/agent_http.h"

namespace rightsize::exporters {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

class OneContainer final : public agent::ContainerSource {
 public:
  explicit OneContainer(const Clock& clock) : clock_(clock) {}
  std::string_view name() const override { return "scripted"; }
  agent::SourceReading read() override {
    agent::ContainerSample sample;
    sample.identity.container_id = "c1";
    sample.identity.app_id = "/web";
    sample.at = clock_.now();
    sample.cpu_seconds = 10;
    sample.reserved_cores = 1.0;
    sample.memory_used_bytes = 100 << 20;
    sample.memory_limit_bytes = 512 << 20;
    agent::SourceReading reading;
    reading.containers.push_back(sample);
    return reading;
  }

 private:
  const Clock& clock_;
};

using Connection = testing::LoopbackSocket;

class AgentHttpSlowClientsTest : public ::testing::Test {
 protected:
  AgentHttpSlowClientsTest() : source_(clock_), agent_(source_, clock_, metrics_, agent::AgentOptions{"host-1", {}}) {}

  void SetUp() override {
    agent_.collectOnce();
    addAgentRoutes(server_, agent_, nullptr, metrics_, clock_, 1min);
    ASSERT_TRUE(server_.start().ok());
  }
  // Checks /healthz and /metrics each answer 200 within 1 s, on new
  // connections as Marathon and a restarted Prometheus open.
  void expectAnswerable(const std::string& when) {
    for (const std::string path : {"/healthz", "/metrics"}) {
      CurlHttpClient client;
      const auto started = Steady::now();
      auto response = client.get(server_.baseUrl() + path, 3s);
      ASSERT_TRUE(response.ok()) << when << ", " << path << ": " << response.error().message();
      EXPECT_EQ(response->status, 200) << when << ", " << path << ": " << response->body;
      EXPECT_LT(Steady::now() - started, 1s) << when << ", " << path;
    }
  }

  ManualClock clock_;
  OneContainer source_;
  AgentMetrics metrics_;
  agent::Agent agent_;
  HttpServer server_{HttpServerOptions{{"127.0.0.1", 0}}};  // as cli/agent_command.cc makes it
};

TEST_F(AgentHttpSlowClientsTest, AnswersAmong160IdleConnections) {
  std::vector<std::unique_ptr<Connection>> idle;
  for (int i = 0; i < 160; ++i) {
    idle.push_back(std::make_unique<Connection>(server_.port()));
    ASSERT_TRUE(idle.back()->connected()) << "connection " << i;
  }
  expectAnswerable("160 idle connections open");
}

TEST_F(AgentHttpSlowClientsTest, AnswersWhile40ClientsSendAByteASecond) {
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;
  std::thread slow([&] {
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: agent\r\nX-Slow: " + std::string(60, 's') + "\r\n\r\n";
    std::vector<std::unique_ptr<Connection>> connections(40);
    std::vector<std::size_t> sent(connections.size(), 0);
    std::unique_lock lock(mutex);
    while (!stop) {
      lock.unlock();
      for (std::size_t i = 0; i < connections.size(); ++i) {
        if (connections[i] == nullptr || sent[i] == request.size() || !connections[i]->sendByte(request[sent[i]])) {
          connections[i] = std::make_unique<Connection>(server_.port());  // dropped: come back
          sent[i] = connections[i]->sendByte(request[0]) ? 1 : 0;
        } else {
          ++sent[i];
        }
      }
      lock.lock();
      wake.wait_for(lock, 1s, [&] { return stop; });  // the pace of the attack
    }
  });
  const auto until = Steady::now() + 2500ms;  // past the header timeout: dropped clients come back
  for (int probe = 0; Steady::now() < until && !HasFatalFailure(); ++probe) {
    expectAnswerable("probe " + std::to_string(probe));
    std::this_thread::sleep_for(200ms);  // pacing the probes, not waiting for an outcome
  }
  {
    std::lock_guard lock(mutex);
    stop = true;
  }
  wake.notify_all();
  slow.join();
}

}  // namespace
}  // namespace rightsize::exporters
