#pragma once

// A blocking Redis connection through hiredis, shared by every program that
// talks to Redis (the sizer's state store, the agent's checkpoint), so that
// URL parsing, secrets, timeouts, the handshake, reconnection and the mapping
// of failures to ErrorKind are written once. What is stored, and under which
// keys, is the caller's business; hiredis stays behind this header.
//
// Connection: a command on a closed connection connects first (TCP, then
// AUTH, SELECT and the caller's connect commands in one round trip). A
// refused or broken connection, a timeout or a reply that cannot be read
// drops the connection and is returned as kUnavailable; the next call
// reconnects. A command that failed that way is not retried: the caller
// cannot know whether it ran.
//
// Errors name where ("redis host:port") and what was being done
// ("loading app records"): kUnavailable for a Redis that is down, refusing,
// too slow or refusing to serve (LOADING, BUSY, READONLY...); kMalformed for
// a key holding something the caller did not write (WRONGTYPE, "not an
// integer"); kInvalidArgument for a refused AUTH or SELECT (NOAUTH,
// WRONGPASS, NOPERM), which configuration fixes, not retrying. The password
// never appears in an error.
//
// hiredis writes with write(2): the process must ignore SIGPIPE (the
// programs' mains and the test main do) or a Redis that goes away kills it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"

struct redisContext;

namespace rightsize {

struct RedisConnectionOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  int database = 0;
  std::string password;  // from RIGHTSIZE_REDIS_PASSWORD, never from a flag or the URL
  // Connect and each reply (not a whole pipeline: a pipeline of n commands
  // may take up to n timeouts if Redis trickles its replies). At least 1 ms.
  Duration timeout = std::chrono::seconds(2);
};

// "redis://host:port/db" (port 6379 and db 0 by default; IPv6 hosts in
// brackets). A URL holding a password is refused without repeating it:
// passwords come from the environment.
Expected<RedisConnectionOptions> parseRedisUrl(std::string_view url);

// A reply copied out of hiredis: a plain value the caller may keep. Only
// RESP2 is spoken (no HELLO 3 is ever sent).
struct RedisReply {
  enum class Type { kNil, kString, kStatus, kError, kInteger, kArray };
  Type type = Type::kNil;
  std::string text;                  // kString, kStatus, kError
  long long integer = 0;             // kInteger
  std::vector<RedisReply> elements;  // kArray

  bool isString() const { return type == Type::kString; }
  bool isArray() const { return type == Type::kArray; }
  bool isInteger() const { return type == Type::kInteger; }
  bool isError() const { return type == Type::kError; }
  // An error reply whose text starts with `code` ("NOSCRIPT", "WRONGTYPE").
  bool isError(std::string_view code) const { return isError() && text.starts_with(code); }
};

// Thread-safety: one caller at a time.
class RedisClient {
 public:
  using Command = std::vector<std::string>;
  using Replies = std::vector<RedisReply>;
  // Sees the replies of the connect commands, in order; an error fails the
  // connection, which is then dropped.
  using ConnectCheck = std::function<Status(const Replies&)>;

  explicit RedisClient(RedisConnectionOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Commands sent on every new connection, after AUTH and SELECT and in the
  // same round trip: what a restarted Redis has forgotten (SCRIPT LOAD).
  void setConnectCommands(std::vector<Command> commands, ConnectCheck check);

  // Connects unless connected. Errors are the connection's (doing
  // "connecting"); the calls below prefix them with what they were doing.
  Status connect();
  void disconnect();
  bool connected() const { return context_ != nullptr; }

  // Connects if needed, sends every command, then reads every reply: one
  // round trip. Error replies are returned as replies; only I/O failures
  // (and a failed connect) are errors.
  Expected<Replies> pipeline(const std::vector<Command>& commands, std::string_view doing);
  Expected<RedisReply> command(const Command& command, std::string_view doing);

  // Errors in this client's words, for what callers find in replies.
  Error unavailable(std::string_view doing, std::string_view cause) const;
  Error malformed(std::string_view doing, std::string_view what) const;
  // The error of an error reply, with its kind as described above.
  Error replyError(const RedisReply& reply, std::string_view doing) const;

  // "redis host:port" ("redis [::1]:6379"), the start of every error message.
  const std::string& where() const { return where_; }
  const RedisConnectionOptions& options() const { return options_; }

 private:
  // pipeline() on the open connection (connect() itself uses it).
  Expected<Replies> exchange(const std::vector<Command>& commands, std::string_view doing);

  RedisConnectionOptions options_;
  std::string where_;
  redisContext* context_ = nullptr;
  std::vector<Command> connect_commands_;
  ConnectCheck connect_check_;
};

}  // namespace rightsize
