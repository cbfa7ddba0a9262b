// rightsize-fake-kafka: librdkafka's mock Kafka cluster as a process, for
// tests, demos and trying the agent's lag measurements by hand.
//
//   rightsize-fake-kafka [--brokers N] [--topic NAME:PARTITIONS]...
//       [--produce TOPIC:PARTITION:COUNT:FIRST_TIMESTAMP_MS:STEP_MS]...
//       [--commit GROUP:TOPIC:PARTITION:OFFSET]... [--rtt MS]
//
// Prints "bootstrap <host:port,...>" once ready, then reads commands on
// stdin, one per line, answering "ok" or "error: <why>":
//   topic NAME PARTITIONS | produce TOPIC PARTITION COUNT FIRST_TS_MS STEP_MS
//   commit GROUP TOPIC PARTITION OFFSET | down BROKER | up BROKER
//   rtt BROKER MS | leader TOPIC PARTITION BROKER | quit
// Runs until "quit", SIGINT or SIGTERM (not end of input, so that it can run
// in the background).

#include <CLI/CLI.hpp>
#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "rightsize/core/text.h"
#include "rightsize/testing/fake_kafka_cluster.h"

namespace {

using rightsize::Error;
using rightsize::ErrorKind;
using rightsize::Status;
using rightsize::testing::FakeKafkaCluster;

volatile std::sig_atomic_t stop_requested = 0;

void onSignal(int) { stop_requested = 1; }

std::vector<std::string> fields(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(text);
  while (std::getline(in, field, separator)) out.push_back(field);
  return out;
}

Status number(const std::string& text, std::int64_t& out) {
  const auto value = rightsize::parseInt64(text);
  if (!value) return Error(ErrorKind::kInvalidArgument, "'" + text + "' is not a number");
  out = *value;
  return Status::success();
}

// One command, as words: the same for flags (split on ':') and stdin.
Status run(FakeKafkaCluster& kafka, const std::vector<std::string>& words) {
  if (words.empty()) return Status::success();
  const std::string& verb = words[0];
  std::int64_t a = 0, b = 0, c = 0, d = 0;
  auto need = [&](std::size_t count) -> Status {
    if (words.size() != count + 1) {
      return Error(ErrorKind::kInvalidArgument, verb + " takes " + std::to_string(count) + " arguments");
    }
    return Status::success();
  };
  Status status;
  if (verb == "topic") {
    if (!(status = need(2)) || !(status = number(words[2], a))) return status;
    return kafka.createTopic(words[1], static_cast<int>(a));
  }
  if (verb == "produce") {
    if (!(status = need(5))) return status;
    for (auto [text, out] : {std::pair{&words[2], &a}, {&words[3], &b}, {&words[4], &c}, {&words[5], &d}}) {
      if (!(status = number(*text, *out))) return status;
    }
    return kafka.produce(words[1], static_cast<std::int32_t>(a), static_cast<int>(b), c, d);
  }
  if (verb == "commit") {
    if (!(status = need(4)) || !(status = number(words[3], a)) || !(status = number(words[4], b))) return status;
    return kafka.commit(words[1], words[2], static_cast<std::int32_t>(a), b);
  }
  if (verb == "down" || verb == "up") {
    if (!(status = need(1)) || !(status = number(words[1], a))) return status;
    return verb == "down" ? kafka.setBrokerDown(static_cast<std::int32_t>(a))
                          : kafka.setBrokerUp(static_cast<std::int32_t>(a));
  }
  if (verb == "rtt") {
    if (!(status = need(2)) || !(status = number(words[1], a)) || !(status = number(words[2], b))) return status;
    return kafka.setRtt(static_cast<std::int32_t>(a), static_cast<int>(b));
  }
  if (verb == "leader") {
    if (!(status = need(3)) || !(status = number(words[2], a)) || !(status = number(words[3], b))) return status;
    return kafka.setLeader(words[1], static_cast<std::int32_t>(a), static_cast<std::int32_t>(b));
  }
  return Error(ErrorKind::kInvalidArgument, "unknown command '" + verb + "'");
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app("librdkafka's mock Kafka cluster, for tests and demos of rightsize's lag measurements.",
               "rightsize-fake-kafka");
  int brokers = 3;
  int rtt_ms = 0;
  std::vector<std::string> topics, produces, commits;
  app.add_option("--brokers", brokers, "Number of brokers")->check(CLI::Range(1, 32))->capture_default_str();
  app.add_option("--topic", topics, "NAME:PARTITIONS (repeatable)");
  app.add_option("--produce", produces, "TOPIC:PARTITION:COUNT:FIRST_TIMESTAMP_MS:STEP_MS (repeatable)");
  app.add_option("--commit", commits, "GROUP:TOPIC:PARTITION:OFFSET (repeatable)");
  app.add_option("--rtt", rtt_ms, "Delay added to every broker response, in ms")->check(CLI::Range(0, 60000));
  CLI11_PARSE(app, argc, argv);

  auto created = FakeKafkaCluster::create(brokers);
  if (!created) {
    std::fprintf(stderr, "error: %s\n", created.error().message().c_str());
    return 1;
  }
  FakeKafkaCluster& kafka = **created;
  auto setup = [&](const std::string& verb, const std::vector<std::string>& specs) -> bool {
    for (const auto& spec : specs) {
      std::vector<std::string> words = fields(spec, ':');
      words.insert(words.begin(), verb);
      if (Status status = run(kafka, words); !status) {
        std::fprintf(stderr, "error: --%s %s: %s\n", verb.c_str(), spec.c_str(), status.error().message().c_str());
        return false;
      }
    }
    return true;
  };
  if (!setup("topic", topics) || !setup("produce", produces) || !setup("commit", commits)) return 2;
  if (rtt_ms > 0) (void)kafka.setRtt(-1, rtt_ms);

  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  std::printf("bootstrap %s\n", kafka.bootstrap().c_str());
  std::fflush(stdout);

  std::string pending;
  bool input_open = true;
  while (stop_requested == 0) {
    if (!input_open) {
      ::pause();  // until a signal
      continue;
    }
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    if (::poll(&pfd, 1, 200) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n <= 0) {
      input_open = false;
      continue;
    }
    pending.append(buffer, static_cast<std::size_t>(n));
    for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n')) {
      const std::string line = pending.substr(0, end);
      pending.erase(0, end + 1);
      std::istringstream words_in(line);
      std::vector<std::string> words;
      for (std::string word; words_in >> word;) words.push_back(word);
      if (!words.empty() && words[0] == "quit") {
        std::printf("ok\n");
        std::fflush(stdout);
        return 0;
      }
      const Status status = run(kafka, words);
      if (status) {
        std::printf("ok\n");
      } else {
        std::printf("error: %s\n", status.error().message().c_str());
      }
      std::fflush(stdout);
    }
  }
  return 0;
}
