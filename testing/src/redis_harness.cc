#include "rightsize/testing/redis_harness.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>

namespace rightsize::testing {
namespace {

timeval toTimeval(std::chrono::milliseconds d) {
  return timeval{static_cast<time_t>(d.count() / 1000), static_cast<suseconds_t>(d.count() % 1000 * 1000)};
}

}  // namespace

void FreeRedisReply::operator()(redisReply* reply) const { freeReplyObject(reply); }

Expected<std::unique_ptr<RedisConnection>> RedisConnection::open(const std::string& host, std::uint16_t port,
                                                                 std::chrono::milliseconds timeout,
                                                                 const std::string& password) {
  redisContext* context = redisConnectWithTimeout(host.c_str(), port, toTimeval(timeout));
  const std::string where = host + ":" + std::to_string(port);
  if (context == nullptr) return Error(ErrorKind::kInternal, "connecting to " + where + ": out of memory");
  std::unique_ptr<RedisConnection> connection(new RedisConnection(context));
  if (context->err != 0 || redisSetTimeout(context, toTimeval(timeout)) != REDIS_OK) {
    return Error(ErrorKind::kUnavailable, "connecting to " + where + ": " + context->errstr);
  }
  if (!password.empty()) {
    const std::string answer = connection->text({"AUTH", password});
    if (answer != "OK") return Error(ErrorKind::kInvalidArgument, "AUTH on " + where + ": " + answer);
  }
  return connection;
}

RedisConnection::~RedisConnection() { redisFree(context_); }

Status RedisConnection::send(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lengths.push_back(a.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(args.size()), args.data(), lengths.data()) != REDIS_OK) {
    return Error(ErrorKind::kUnavailable, std::string("buffering a command: ") + context_->errstr);
  }
  for (int done = 0; done == 0;) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) {
      return Error(ErrorKind::kUnavailable, std::string("sending a command: ") + context_->errstr);
    }
  }
  return Status::success();
}

Expected<RedisReplyPtr> RedisConnection::receive() {
  void* reply = nullptr;
  if (redisGetReply(context_, &reply) != REDIS_OK || reply == nullptr) {
    return Error(ErrorKind::kUnavailable, std::string("reading a reply: ") + context_->errstr);
  }
  return RedisReplyPtr(static_cast<redisReply*>(reply));
}

Expected<RedisReplyPtr> RedisConnection::run(const std::vector<std::string>& argv) {
  if (auto sent = send(argv); !sent) return sent.error();
  return receive();
}

std::string RedisConnection::text(const std::vector<std::string>& argv) {
  auto reply = run(argv);
  if (!reply) return "(" + reply.error().message() + ")";
  const redisReply& r = **reply;
  switch (r.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(r.str, r.len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r.integer);
    default:
      return {};
  }
}

std::vector<std::string> RedisConnection::strings(const std::vector<std::string>& argv, bool sorted) {
  std::vector<std::string> out;
  auto reply = run(argv);
  if (!reply || (*reply)->type != REDIS_REPLY_ARRAY) return out;
  for (std::size_t i = 0; i < (*reply)->elements; ++i) {
    const redisReply& element = *(*reply)->element[i];
    if (element.type == REDIS_REPLY_STRING) out.emplace_back(element.str, element.len);
  }
  if (sorted) std::sort(out.begin(), out.end());
  return out;
}

}  // namespace rightsize::testing
