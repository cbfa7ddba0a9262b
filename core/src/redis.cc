#include "rightsize/core/redis.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <memory>
#include <utility>

#include "rightsize/core/text.h"

namespace rightsize {
namespace {

timeval toTimeval(Duration d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return timeval{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
}

struct FreeReply {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};

RedisReply copyReply(const redisReply& reply) {
  RedisReply out;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.type = reply.type == REDIS_REPLY_STRING   ? RedisReply::Type::kString
                 : reply.type == REDIS_REPLY_STATUS ? RedisReply::Type::kStatus
                                                    : RedisReply::Type::kError;
      out.text.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) out.elements.push_back(copyReply(*reply.element[i]));
      break;
    default:  // REDIS_REPLY_NIL; RESP3 types are never asked for
      break;
  }
  return out;
}

}  // namespace

Expected<RedisConnectionOptions> parseRedisUrl(std::string_view url) {
  // Checked first, and the URL is not repeated: it holds a secret.
  if (url.find('@') != std::string_view::npos) {
    return Error(ErrorKind::kInvalidArgument,
                 "the Redis URL holds credentials (user or password before '@'), which are refused: pass the "
                 "password in the environment variable RIGHTSIZE_REDIS_PASSWORD");
  }
  const auto bad = [url](std::string_view why) {
    return Error(ErrorKind::kInvalidArgument, "Redis URL \"" + sanitizeUtf8(url) + "\": " + std::string(why));
  };
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) {
    return bad("expected redis://host:port/db (rediss:// and unix sockets are not supported)");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) return bad("query parameters are not supported");
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);

  RedisConnectionOptions options;
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated '[' in the host");
    options.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return bad("unexpected text after ']'");
    if (!after.empty()) port_text = after.substr(1);
    if (!after.empty() && port_text.empty()) return bad("empty port");
  } else {
    const auto colon = authority.find(':');
    options.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.find(':') != std::string_view::npos) return bad("an IPv6 host must be written in brackets");
      if (port_text.empty()) return bad("empty port");
    }
  }
  if (options.host.empty()) return bad("no host");
  if (!port_text.empty()) {
    const auto port = parseUint64(port_text);
    if (!port || port_text != trim(port_text) || *port < 1 || *port > 65535) {
      return bad("port must be a number from 1 to 65535");
    }
    options.port = static_cast<std::uint16_t>(*port);
  }
  if (!path.empty()) {
    const auto database = parseUint64(path);
    if (!database || path != trim(path) || *database > INT_MAX) return bad("database must be a number (0, 1, ...)");
    options.database = static_cast<int>(*database);
  }
  return options;
}

RedisClient::RedisClient(RedisConnectionOptions options) : options_(std::move(options)) {
  // A zero timeout would mean "block forever" to hiredis.
  options_.timeout = std::max<Duration>(options_.timeout, std::chrono::milliseconds(1));
  const bool ipv6 = options_.host.find(':') != std::string::npos;
  where_ = "redis " + (ipv6 ? "[" + options_.host + "]" : options_.host) + ":" + std::to_string(options_.port);
}

RedisClient::~RedisClient() { disconnect(); }

void RedisClient::setConnectCommands(std::vector<Command> commands, ConnectCheck check) {
  connect_commands_ = std::move(commands);
  connect_check_ = std::move(check);
}

void RedisClient::disconnect() {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

Error RedisClient::unavailable(std::string_view doing, std::string_view cause) const {
  return Error(ErrorKind::kUnavailable, where_ + ": " + std::string(doing) + ": " + std::string(cause));
}

Error RedisClient::malformed(std::string_view doing, std::string_view what) const {
  return Error(ErrorKind::kMalformed, where_ + ": " + std::string(doing) + ": " + std::string(what));
}

Error RedisClient::replyError(const RedisReply& reply, std::string_view doing) const {
  const std::string message = sanitizeUtf8(reply.text);
  ErrorKind kind = ErrorKind::kUnavailable;
  if (message.find("WRONGTYPE") != std::string::npos || message.find("not an integer") != std::string::npos) {
    kind = ErrorKind::kMalformed;  // a key holds something the caller did not write
  } else if (reply.isError("NOAUTH") || reply.isError("WRONGPASS") || reply.isError("NOPERM")) {
    kind = ErrorKind::kInvalidArgument;  // fixed by configuration, not by retrying
  }
  return Error(kind, where_ + ": " + std::string(doing) + ": Redis answered " + message);
}

Status RedisClient::connect() {
  if (context_ != nullptr) return Status::success();
  const timeval timeout = toTimeval(options_.timeout);
  redisContext* context = redisConnectWithTimeout(options_.host.c_str(), options_.port, timeout);
  if (context == nullptr) return unavailable("connecting", "cannot allocate a hiredis context");
  if (context->err != 0) {
    const std::string cause = context->errstr;
    redisFree(context);
    return unavailable("connecting", cause);
  }
  if (redisSetTimeout(context, timeout) != REDIS_OK) {
    const std::string cause = context->errstr;
    redisFree(context);
    return unavailable("setting the socket timeout", cause);
  }
  context_ = context;

  // One round trip for the whole handshake.
  std::vector<Command> setup;
  if (!options_.password.empty()) setup.push_back({"AUTH", options_.password});
  if (options_.database != 0) setup.push_back({"SELECT", std::to_string(options_.database)});
  const std::size_t first_caller_command = setup.size();
  setup.insert(setup.end(), connect_commands_.begin(), connect_commands_.end());
  if (setup.empty()) return Status::success();
  auto replies = exchange(setup, "connecting");
  if (!replies) return replies.error();
  for (std::size_t i = 0; i < first_caller_command; ++i) {
    const RedisReply& reply = (*replies)[i];
    if (reply.isError()) {
      // Never the command itself: AUTH's argument is the password.
      const bool auth = setup[i][0] == "AUTH";
      Error error(ErrorKind::kInvalidArgument,
                  where_ + ": " + (auth ? "AUTH" : "SELECT " + setup[i][1]) + " refused: " + sanitizeUtf8(reply.text));
      disconnect();
      return error;
    }
  }
  if (connect_check_) {
    const Replies own(std::make_move_iterator(replies->begin() + static_cast<std::ptrdiff_t>(first_caller_command)),
                      std::make_move_iterator(replies->end()));
    if (Status accepted = connect_check_(own); !accepted) {
      disconnect();
      return accepted;
    }
  }
  return Status::success();
}

Expected<RedisClient::Replies> RedisClient::exchange(const std::vector<Command>& commands, std::string_view doing) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& command : commands) {
    argv.clear();
    lengths.clear();
    for (const auto& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()) != REDIS_OK) {
      const std::string cause = context_->errstr;
      disconnect();
      return unavailable(doing, cause);
    }
  }
  Replies replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    // The first call writes every buffered command, then each reads one reply.
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      const int saved = errno;
      // With SO_RCVTIMEO/SO_SNDTIMEO a blocking socket reports a timeout as
      // EAGAIN, which hiredis prints as "Resource temporarily unavailable".
      const bool timed_out = context_->err == REDIS_ERR_IO && (saved == EAGAIN || saved == EWOULDBLOCK);
      const std::string cause =
          timed_out ? "no answer within " + formatDuration(options_.timeout) : std::string(context_->errstr);
      disconnect();
      return unavailable(doing, cause);
    }
    const std::unique_ptr<redisReply, FreeReply> reply(static_cast<redisReply*>(raw));
    replies.push_back(copyReply(*reply));
  }
  return replies;
}

Expected<RedisClient::Replies> RedisClient::pipeline(const std::vector<Command>& commands, std::string_view doing) {
  if (auto connected = connect(); !connected) return connected.error().withContext(doing);
  return exchange(commands, doing);
}

Expected<RedisReply> RedisClient::command(const Command& command, std::string_view doing) {
  auto replies = pipeline({command}, doing);
  if (!replies) return replies.error();
  return std::move(replies->front());
}

}  // namespace rightsize
