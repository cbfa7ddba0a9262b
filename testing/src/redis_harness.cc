#include "rightsize/testing/redis_harness.h"

#include <algorithm>
#include <utility>

namespace rightsize::testing {
namespace {

// How long send() lets Redis take to answer a PING before it takes Redis to
// be running the command sent (a loopback PING takes well under a
// millisecond).
constexpr auto kProbeTimeout = std::chrono::milliseconds(50);

std::string doing(const std::vector<std::string>& argv) { return "running " + argv.front(); }

Error noCommand() { return Error(ErrorKind::kInvalidArgument, "no command: an empty argv"); }

}  // namespace

RedisConnection::RedisConnection(RedisConnectionOptions options) : options_(options), client_(std::move(options)) {}

Expected<std::unique_ptr<RedisConnection>> RedisConnection::open(const std::string& host, std::uint16_t port,
                                                                 std::chrono::milliseconds timeout,
                                                                 const std::string& password) {
  RedisConnectionOptions options;
  options.host = host;
  options.port = port;
  options.password = password;
  options.timeout = timeout;
  std::unique_ptr<RedisConnection> connection(new RedisConnection(std::move(options)));
  if (Status connected = connection->client_.connect(); !connected) return connected.error();
  return connection;
}

RedisConnection::~RedisConnection() {
  if (pending_.valid()) pending_.wait();
}

Expected<RedisReply> RedisConnection::run(const std::vector<std::string>& argv) {
  if (argv.empty()) return noCommand();
  return client_.command(argv, doing(argv));
}

Status RedisConnection::send(const std::vector<std::string>& argv) {
  if (argv.empty()) return noCommand();
  if (pending_.valid()) return Error(ErrorKind::kInternal, "send(): the reply of the last command was not received");
  // Both connected before the command goes: while Redis runs it, it answers
  // no handshake either.
  auto sender = std::make_unique<RedisClient>(options_);
  if (Status connected = sender->connect(); !connected) return connected;
  RedisConnectionOptions probe_options = options_;
  probe_options.timeout = kProbeTimeout;
  RedisClient probe(probe_options);
  const bool probing = probe.connect().ok();
  pending_ =
      std::async(std::launch::async, [sender = std::move(sender), argv] { return sender->command(argv, doing(argv)); });
  // Returns once Redis has answered the command, or has stopped answering
  // (it is running the command: DEBUG SLEEP), so that what the caller does
  // next reaches Redis after the command.
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  while (probing && std::chrono::steady_clock::now() < deadline) {
    if (pending_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) break;
    if (!probe.command({"PING"}, "probing").ok()) break;
  }
  return Status::success();
}

Expected<RedisReply> RedisConnection::receive() {
  if (!pending_.valid()) return Error(ErrorKind::kInternal, "receive(): no command was sent");
  return pending_.get();
}

std::string RedisConnection::text(const std::vector<std::string>& argv) {
  auto reply = run(argv);
  if (!reply) return "(" + reply.error().message() + ")";
  switch (reply->type) {
    case RedisReply::Type::kString:
    case RedisReply::Type::kStatus:
    case RedisReply::Type::kError:
      return reply->text;
    case RedisReply::Type::kInteger:
      return std::to_string(reply->integer);
    default:
      return {};
  }
}

std::vector<std::string> RedisConnection::strings(const std::vector<std::string>& argv, bool sorted) {
  std::vector<std::string> out;
  auto reply = run(argv);
  if (!reply || !reply->isArray()) return out;
  for (const RedisReply& element : reply->elements) {
    if (element.isString()) out.push_back(element.text);
  }
  if (sorted) std::sort(out.begin(), out.end());
  return out;
}

}  // namespace rightsize::testing
