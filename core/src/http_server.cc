// HttpServer: one event thread accepts connections, reads request heads and
// writes answers, all non-blocking; a pool of workers runs handlers (and reads
// request bodies) for requests whose head has arrived whole.
//
// civetweb, which this replaced, gives each connection a worker from accept()
// to close: with 16 workers and request_timeout_ms bounding the header read,
// 16 clients that connect and say nothing held every worker for the whole
// timeout, and 160 of them kept /healthz unanswered for 100 s. Bounding the
// header read more tightly only shortens that; here a connection that has not
// sent its request costs no worker at all.

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "rightsize/core/http.h"

namespace rightsize {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::size_t kMaxHeadBytes = std::size_t{16} << 10;
constexpr std::size_t kMaxHeaders = 100;
constexpr std::size_t kMaxChunkLineBytes = 4096;
constexpr std::size_t kMaxTrailerBytes = std::size_t{16} << 10;
// After an answer that closes the connection, what the client still sends
// is read and dropped for this long (closing with unread bytes would reset
// the connection, and the client could lose the answer).
constexpr Duration kLinger = std::chrono::seconds(1);
constexpr std::size_t kMaxLingerBytes = 4 << 20;
constexpr Duration kAcceptPause = std::chrono::milliseconds(100);

const char* reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string serialize(const HttpResponse& response, bool head, bool close) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + reasonPhrase(response.status) + "\r\n";
  out += "Content-Type: " + response.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\n";
  if (close) out += "Connection: close\r\n";
  for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
  out += "\r\n";
  if (!head) out += response.body;
  return out;
}

HttpResponse textResponse(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.body += '\n';
  return response;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// RFC 9110 token characters (methods, header names).
bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool isToken(std::string_view text) { return !text.empty() && std::all_of(text.begin(), text.end(), isTokenChar); }

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// At most 60 characters of `text`, quoted, with control and non-ASCII bytes
// escaped: for error messages about what a client sent.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < 60; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > 60) out += "...";
  return out + "\"";
}

Error malformed(std::string message) { return Error(ErrorKind::kMalformed, std::move(message)); }

// Percent-decodes a path ('+' stays '+'), then drops "." segments, resolves
// ".." ones (never above the root) and collapses repeated slashes; a
// trailing slash is kept.
Expected<std::string> normalizePath(std::string_view raw) {
  std::string decoded;
  decoded.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      decoded += raw[i];
      continue;
    }
    const int high = i + 2 < raw.size() ? hexValue(raw[i + 1]) : -1;
    const int low = high >= 0 ? hexValue(raw[i + 2]) : -1;
    if (low < 0) return malformed("path " + quoted(raw) + " has a '%' not followed by two hexadecimal digits");
    if (high == 0 && low == 0) return malformed("path " + quoted(raw) + " has a NUL byte (%00)");
    decoded += static_cast<char>(high * 16 + low);
    i += 2;
  }
  std::vector<std::string_view> segments;
  bool trailing_slash = false;
  std::string_view rest(decoded);
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    const bool last = slash == std::string_view::npos;
    if (segment.empty() || segment == ".") {
      trailing_slash = last || trailing_slash;
    } else if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      trailing_slash = true;
    } else {
      segments.push_back(segment);
      trailing_slash = false;
    }
    if (!last && rest.empty()) trailing_slash = true;
  }
  std::string path;
  for (const auto segment : segments) {
    path += '/';
    path += segment;
  }
  if (path.empty() || trailing_slash) path += '/';
  return path;
}

// One line of a head, without its CRLF or LF; advances `text` past it.
std::string_view nextLine(std::string_view& text) {
  const std::size_t end = text.find('\n');
  std::string_view line = text.substr(0, end);
  text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Where the head at the start of `in` ends (just past its empty line), or
// npos; `scanned` is how far an earlier call looked, so that a head arriving
// a byte at a time is not scanned over and over.
std::size_t findHeadEnd(std::string_view in, std::size_t& scanned) {
  for (std::size_t i = scanned; i < in.size(); ++i) {
    if (in[i] != '\n') continue;
    if (i + 1 < in.size() && in[i + 1] == '\n') return i + 2;
    if (i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') return i + 3;
  }
  scanned = in.size() < 2 ? 0 : in.size() - 2;
  return std::string_view::npos;
}

// Decodes a chunked body as it arrives.
class ChunkedDecoder {
 public:
  enum class Result { kNeedMore, kDone, kMalformed, kTooLarge };

  // Takes what it can from the front of `in` (the rest belongs to the next
  // request once kDone), appending chunk data to `body`.
  Result feed(std::string_view& in, std::string& body, std::size_t limit) {
    while (!in.empty() && state_ != State::kDone) {
      if (state_ == State::kData) {
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(size_, in.size()));
        body.append(in.data(), take);
        in.remove_prefix(take);
        size_ -= take;
        if (size_ == 0) state_ = State::kDataEnd;
        continue;
      }
      const char c = in.front();
      in.remove_prefix(1);
      if (++line_bytes_ > kMaxChunkLineBytes) return fail("a chunk size or trailer line over 4096 bytes");
      switch (state_) {
        case State::kSize:
          if (const int digit = hexValue(c); digit >= 0) {
            size_ = size_ * 16 + static_cast<unsigned>(digit);
            // 15 digits cannot overflow; `body` never holds more than `limit`.
            if (++digits_ > 15 || size_ > limit - body.size()) return Result::kTooLarge;
          } else if (digits_ > 0 && (c == ';' || c == ' ' || c == '\t')) {
            state_ = State::kExtension;
          } else if (digits_ > 0 && c == '\r') {
            state_ = State::kSizeLf;
          } else if (digits_ > 0 && c == '\n') {
            endSizeLine();
          } else {
            return fail("a chunk size that is not hexadecimal");
          }
          break;
        case State::kExtension:
          if (c == '\n') endSizeLine();
          break;
        case State::kSizeLf:
          if (c != '\n') return fail("a chunk size line not ended by CRLF");
          endSizeLine();
          break;
        case State::kDataEnd:
          if (c == '\r') {
            state_ = State::kDataLf;
          } else if (c == '\n') {
            startSize();
          } else {
            return fail("chunk data longer than its size");
          }
          break;
        case State::kDataLf:
          if (c != '\n') return fail("chunk data longer than its size");
          startSize();
          break;
        case State::kTrailer:
          if (c == '\n') {
            state_ = State::kDone;
          } else if (c == '\r') {
            state_ = State::kLastLf;
          } else {
            state_ = State::kTrailerLine;
          }
          break;
        case State::kTrailerLine:
          if (++trailer_bytes_ > kMaxTrailerBytes) return fail("trailers over 16 KiB");
          if (c == '\n') {
            state_ = State::kTrailer;
            line_bytes_ = 0;
          }
          break;
        case State::kLastLf:
          if (c != '\n') return fail("a last chunk not ended by CRLF");
          state_ = State::kDone;
          break;
        case State::kData:
        case State::kDone:
          break;
      }
    }
    return state_ == State::kDone ? Result::kDone : Result::kNeedMore;
  }
  const std::string& problem() const { return problem_; }

 private:
  enum class State { kSize, kExtension, kSizeLf, kData, kDataEnd, kDataLf, kTrailer, kTrailerLine, kLastLf, kDone };

  Result fail(std::string problem) {
    problem_ = std::move(problem);
    return Result::kMalformed;
  }
  void endSizeLine() {
    line_bytes_ = 0;
    state_ = size_ == 0 ? State::kTrailer : State::kData;
  }
  void startSize() {
    state_ = State::kSize;
    size_ = 0;
    digits_ = 0;
    line_bytes_ = 0;
  }

  State state_ = State::kSize;
  std::uint64_t size_ = 0;
  int digits_ = 0;
  std::size_t line_bytes_ = 0;
  std::size_t trailer_bytes_ = 0;
  std::string problem_;
};

struct Listener {
  int fd = -1;
  std::uint16_t port = 0;
};

Expected<Listener> listenOn(const HostPort& listen, const std::string& name) {
  sockaddr_storage address{};
  socklen_t length = 0;
  if (listen.host.empty()) {
    auto& v4 = reinterpret_cast<sockaddr_in&>(address);
    v4.sin_family = AF_INET;
    v4.sin_addr.s_addr = htonl(INADDR_ANY);
    v4.sin_port = htons(listen.port);
    length = sizeof v4;
  } else {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    if (const int failed = ::getaddrinfo(listen.host.c_str(), nullptr, &hints, &found); failed != 0) {
      return Error(ErrorKind::kUnavailable, "cannot listen on " + name + ": " + ::gai_strerror(failed));
    }
    std::memcpy(&address, found->ai_addr, found->ai_addrlen);
    length = found->ai_addrlen;
    ::freeaddrinfo(found);
    if (address.ss_family == AF_INET6) {
      reinterpret_cast<sockaddr_in6&>(address).sin6_port = htons(listen.port);
    } else {
      reinterpret_cast<sockaddr_in&>(address).sin_port = htons(listen.port);
    }
  }
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error(ErrorKind::kUnavailable, "cannot listen on " + name + ": " + systemErrorText(errno));
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (address.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const int error = errno;
    ::close(fd);
    return Error(ErrorKind::kUnavailable, "cannot listen on " + name + ": " + systemErrorText(error));
  }
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) != 0) {
    ::close(fd);
    return Error(ErrorKind::kUnavailable, "cannot determine the port bound for " + name);
  }
  const std::uint16_t port = bound.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6&>(bound).sin6_port
                                                         : reinterpret_cast<const sockaddr_in&>(bound).sin_port;
  return Listener{fd, ntohs(port)};
}

}  // namespace

Expected<HttpRequestHead> parseHttpRequestHead(std::string_view text) {
  std::string_view line;
  do {
    if (text.empty()) return malformed("no request line");
    line = nextLine(text);
  } while (line.empty());

  HttpRequestHead head;
  const std::size_t first_space = line.find(' ');
  const std::size_t second_space =
      first_space == std::string_view::npos ? first_space : line.find(' ', first_space + 1);
  const std::string_view version = second_space == std::string_view::npos ? "" : line.substr(second_space + 1);
  if (second_space == std::string_view::npos || version.size() != 8 || version.substr(0, 7) != "HTTP/1." ||
      version[7] < '0' || version[7] > '9') {
    return malformed("request line " + quoted(line) + " is not METHOD TARGET HTTP/1.x");
  }
  head.minor_version = version[7] - '0';
  head.method = std::string(line.substr(0, first_space));
  if (!isToken(head.method)) return malformed("method " + quoted(head.method) + " is not a token");
  std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  if (target.empty() || std::any_of(target.begin(), target.end(),
                                    [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; })) {
    return malformed("request target " + quoted(target) + " is empty or has spaces or control characters");
  }
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && equalsIgnoringCase(target.substr(0, scheme.size()), scheme)) {
      const std::size_t path = target.find_first_of("/?", scheme.size());
      target = path == std::string_view::npos ? "/" : target.substr(path);
      if (target.front() == '?') return malformed("request target has a query but no path");
      break;
    }
  }
  if (target.front() != '/') return malformed("request target " + quoted(target) + " is not a path");
  const std::size_t question = target.find('?');
  if (question != std::string_view::npos) head.query = std::string(target.substr(question + 1));
  auto path = normalizePath(target.substr(0, question));
  if (!path) return path.error();
  head.path = std::move(*path);

  std::optional<std::uint64_t> content_length;
  std::string transfer_encoding;
  bool close = false;
  bool keep_alive = false;
  while (!text.empty()) {
    line = nextLine(text);
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') {
      return malformed("header line " + quoted(line) + " continues the previous one (obsolete line folding)");
    }
    if (head.headers.size() == kMaxHeaders) return malformed("more than 100 header lines");
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !isToken(line.substr(0, colon))) {
      return malformed("header line " + quoted(line) + " is not NAME: VALUE");
    }
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (std::any_of(value.begin(), value.end(),
                    [](char c) { return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f; })) {
      return malformed("header " + quoted(name) + " has control characters in its value");
    }
    if (equalsIgnoringCase(name, "Content-Length")) {
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return malformed("Content-Length " + quoted(value) + " is not a number of bytes");
      }
      const std::uint64_t bytes = std::stoull(std::string(value));
      if (content_length && *content_length != bytes) return malformed("Content-Length given twice, differently");
      content_length = bytes;
    } else if (equalsIgnoringCase(name, "Transfer-Encoding")) {
      transfer_encoding += (transfer_encoding.empty() ? "" : ", ") + std::string(value);
    } else if (equalsIgnoringCase(name, "Connection")) {
      std::string_view tokens = value;
      while (!tokens.empty()) {
        const std::size_t comma = tokens.find(',');
        const std::string_view token = trim(tokens.substr(0, comma));
        close |= equalsIgnoringCase(token, "close");
        keep_alive |= equalsIgnoringCase(token, "keep-alive");
        tokens = comma == std::string_view::npos ? std::string_view() : tokens.substr(comma + 1);
      }
    } else if (equalsIgnoringCase(name, "Expect")) {
      head.expect_continue = head.minor_version >= 1 && equalsIgnoringCase(value, "100-continue");
    }
    head.headers.emplace_back(std::string(name), std::string(value));
  }
  if (!transfer_encoding.empty()) {
    if (content_length) return malformed("both Content-Length and Transfer-Encoding");
    if (head.minor_version == 0) return malformed("Transfer-Encoding in an HTTP/1.0 request");
    if (!equalsIgnoringCase(transfer_encoding, "chunked")) {
      return Error(ErrorKind::kInvalidValue, "transfer coding " + quoted(transfer_encoding) + " is not supported");
    }
    head.chunked = true;
  }
  head.content_length = content_length.value_or(0);
  head.keep_alive = !close && (head.minor_version >= 1 || keep_alive);
  return head;
}

// Connections, the event thread and the workers.
//
// A connection belongs to exactly one thread at a time: to the event thread
// (in `connections_`) while its request head is awaited, its answer written or
// its close lingers; to a worker (through `work_`, back through `served_`,
// both under `mutex_`) from a whole head to a ready answer.
class HttpServer::Loop {
 public:
  // Takes `listener` over; serving unless failure() is not 0.
  Loop(HttpServer& server, int listener) : server_(server), options_(server.options_), listener_(listener) {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    stop_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (const int fd : {listener_, wake_, stop_}) {
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.fd = fd;
      if (fd < 0 || epoll_ < 0 || ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &event) != 0) {
        failure_ = errno;
        return;
      }
    }
    try {
      for (int i = 0; i < std::max(1, options_.threads); ++i) workers_.emplace_back([this] { work(); });
      events_ = std::thread([this] { run(); });
    } catch (const std::system_error& e) {
      // No thread to be had (a pids limit): stop those started, report it.
      failure_ = e.code().value() != 0 ? e.code().value() : EAGAIN;
      stop();
    }
  }
  ~Loop() {
    stop();
    for (const int fd : {listener_, epoll_, wake_, stop_}) {
      if (fd >= 0) ::close(fd);
    }
  }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // 0, or the errno that kept the event thread from starting.
  int failure() const { return failure_; }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    // Never read: stays readable for every poll that includes it.
    const std::uint64_t one = 1;
    (void)!::write(stop_, &one, sizeof one);
    work_ready_.notify_all();
    for (auto& worker : workers_) worker.join();
    if (events_.joinable()) events_.join();
    connections_.clear();
    work_.clear();
    served_.clear();
  }

 private:
  enum class State { kReadingHead, kServing, kWriting, kLingering };

  struct Connection {
    explicit Connection(int socket) : fd(socket) {}
    ~Connection() { ::close(fd); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    const int fd;
    State state = State::kReadingHead;
    std::string in;  // received, not yet consumed
    std::size_t scanned = 0;
    std::string out;  // the answer
    std::size_t sent = 0;
    SteadyClock::time_point since;  // the wait began (which connection makes room first)
    SteadyClock::time_point deadline;
    Duration head_timeout{};
    bool head_started = false;  // bytes of the awaited request have come
    bool peer_closed = false;
    bool close_after = false;
    std::size_t lingered = 0;
    HttpRequestHead head;
  };

  enum class Wait { kReady, kTimedOut, kStopping };

  // --- event thread ---

  void run() {
    epoll_event events[64];
    while (true) {
      const int count = ::epoll_wait(epoll_, events, 64, timeoutMs());
      if (count < 0 && errno != EINTR) return;
      for (int i = 0; i < count; ++i) {
        const int fd = events[i].data.fd;
        if (fd == stop_) return;
        if (fd == listener_) {
          acceptAll();
        } else if (fd == wake_) {
          takeServed();
        } else if (const auto found = connections_.find(fd); found != connections_.end()) {
          onReady(*found->second);
        }
      }
      const auto now = SteadyClock::now();
      if (accept_paused_ && now >= accept_resumes_) {
        accept_paused_ = false;
        watch(listener_, EPOLLIN, EPOLL_CTL_MOD);
      }
      if (now >= next_deadline_) expire(now);
    }
  }

  int timeoutMs() const {
    auto until = next_deadline_;
    if (accept_paused_) until = std::min(until, accept_resumes_);
    if (until == SteadyClock::time_point::max()) return -1;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - SteadyClock::now()).count();
    return static_cast<int>(std::clamp<std::int64_t>(left, 0, 60'000));
  }

  void watch(int fd, std::uint32_t events, int operation) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    ::epoll_ctl(epoll_, operation, fd, &event);
  }

  void setDeadline(Connection& connection, SteadyClock::time_point deadline) {
    connection.deadline = deadline;
    next_deadline_ = std::min(next_deadline_, deadline);
  }

  void close(Connection& connection) {
    if (connection.state == State::kWriting) unsent_ -= connection.out.size() - connection.sent;
    connections_.erase(connection.fd);  // closes the socket, which leaves the epoll set
  }

  void acceptAll() {
    bool made_room = false;
    for (int i = 0; i < 256; ++i) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // One connection closed frees one descriptor; when that was not
          // enough, closing more would not help either.
          if (!made_room && makeRoom()) {
            made_room = true;
            continue;
          }
          // Nothing to close: leave the rest in the kernel's queue a while.
          accept_paused_ = true;
          accept_resumes_ = SteadyClock::now() + kAcceptPause;
          watch(listener_, 0, EPOLL_CTL_MOD);
          return;
        }
        continue;  // ECONNABORTED, EINTR, a peer's network error: the next one
      }
      made_room = false;
      if (connections_.size() + serving_ >= static_cast<std::size_t>(std::max(1, options_.max_connections)) &&
          !makeRoom()) {
        ::close(fd);
        continue;
      }
      const int on = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      auto connection = std::make_unique<Connection>(fd);
      Connection& accepted = *connection;
      connections_.emplace(fd, std::move(connection));
      awaitHead(accepted, options_.header_timeout);
      watch(fd, EPOLLIN, EPOLL_CTL_ADD);
      readHead(accepted);  // the request often came with the connection
    }
  }

  // Closes a connection: of those lingering after their answer, else of
  // those awaiting a request, else of those whose request waits for a
  // worker (not started: none is closed while served), else of those whose
  // answer is being sent, the one that has waited longest. False when there
  // is none. Without the queued ones, clients pipelining requests could keep
  // every place busy and shut a health check out.
  bool makeRoom() {
    return makeRoom(State::kLingering) || makeRoom(State::kReadingHead) || dropQueued() || makeRoom(State::kWriting);
  }
  bool dropQueued() {
    std::unique_ptr<Connection> dropped;
    {
      std::lock_guard lock(mutex_);
      if (work_.empty()) return false;
      dropped = std::move(work_.front());
      work_.pop_front();
    }
    --serving_;
    return true;  // `dropped` closes its socket
  }
  // The same among connections in `state`, `keep` excepted.
  bool makeRoom(State state, const Connection* keep = nullptr) {
    Connection* oldest = nullptr;
    for (auto& [fd, connection] : connections_) {
      if (connection.get() == keep || connection->state != state) continue;
      if (oldest == nullptr || connection->since < oldest->since) oldest = connection.get();
    }
    if (oldest == nullptr) return false;
    close(*oldest);
    return true;
  }

  void awaitHead(Connection& connection, Duration timeout) {
    const auto now = SteadyClock::now();
    connection.state = State::kReadingHead;
    connection.since = now;
    connection.head_timeout = timeout;
    connection.head_started = false;
    connection.scanned = 0;
    setDeadline(connection, now + timeout);
  }

  void onReady(Connection& connection) {
    switch (connection.state) {
      case State::kReadingHead:
        return readHead(connection);
      case State::kWriting:
        return write(connection);
      case State::kLingering:
        return linger(connection);
      case State::kServing:
        return;
    }
  }

  void readHead(Connection& connection) {
    char buffer[16384];
    while (connection.in.size() <= kMaxHeadBytes) {
      const ssize_t n = ::recv(connection.fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        connection.in.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) {
        connection.peer_closed = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return close(connection);
    }
    advance(connection);
  }

  // Dispatches the request at the front of `in` when its head is whole.
  void advance(Connection& connection) {
    std::string& in = connection.in;
    const std::size_t blank = in.find_first_not_of("\r\n");
    if (blank == std::string::npos) {
      in.clear();
    } else if (blank > 0) {
      in.erase(0, blank);
      connection.scanned = 0;
    }
    connection.head_started |= !in.empty();
    const std::size_t end = findHeadEnd(in, connection.scanned);
    if (end == std::string::npos || end > kMaxHeadBytes) {
      if (in.size() > kMaxHeadBytes) {
        return answer(connection, textResponse(431, "request line and headers exceed 16384 bytes"));
      }
      if (connection.peer_closed) close(connection);
      return;
    }
    auto head = parseHttpRequestHead(std::string_view(in).substr(0, end));
    if (!head) {
      const int status = head.error().kind() == ErrorKind::kInvalidValue ? 501 : 400;
      return answer(connection, textResponse(status, head.error().message()));
    }
    connection.head = std::move(*head);
    in.erase(0, end);
    connection.scanned = 0;
    connection.state = State::kServing;
    watch(connection.fd, 0, EPOLL_CTL_DEL);
    auto owned = std::move(connections_.at(connection.fd));
    connections_.erase(connection.fd);
    ++serving_;
    {
      std::lock_guard lock(mutex_);
      work_.push_back(std::move(owned));
    }
    work_ready_.notify_one();
  }

  // An answer from the event thread itself, closing the connection after.
  void answer(Connection& connection, const HttpResponse& response) {
    connection.out = serialize(response, false, true);
    connection.sent = 0;
    connection.close_after = true;
    connection.state = State::kWriting;
    connection.since = SteadyClock::now();
    unsent_ += connection.out.size();
    setDeadline(connection, connection.since + options_.request_timeout);
    watch(connection.fd, EPOLLOUT, EPOLL_CTL_MOD);
    write(connection);
  }

  void takeServed() {
    std::uint64_t ignored = 0;
    (void)!::read(wake_, &ignored, sizeof ignored);
    std::vector<std::unique_ptr<Connection>> served;
    {
      std::lock_guard lock(mutex_);
      served.swap(served_);
    }
    for (auto& owned : served) {
      --serving_;
      Connection& connection = *owned;
      connections_.emplace(connection.fd, std::move(owned));
      connection.state = State::kWriting;
      connection.since = SteadyClock::now();
      unsent_ += connection.out.size() - connection.sent;
      setDeadline(connection, connection.since + options_.request_timeout);
      watch(connection.fd, EPOLLOUT, EPOLL_CTL_ADD);
      const int fd = connection.fd;
      write(connection);
      // Answers nobody takes are held to a budget: the oldest go first.
      const auto kept = connections_.find(fd);
      const Connection* current = kept == connections_.end() ? nullptr : kept->second.get();
      while (unsent_ > options_.max_unsent_answer_bytes && makeRoom(State::kWriting, current)) {
      }
    }
  }

  void write(Connection& connection) {
    while (connection.sent < connection.out.size()) {
      const ssize_t n = ::send(connection.fd, connection.out.data() + connection.sent,
                               connection.out.size() - connection.sent, MSG_NOSIGNAL);
      if (n > 0) {
        connection.sent += static_cast<std::size_t>(n);
        unsent_ -= static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return close(connection);
    }
    std::string().swap(connection.out);
    connection.sent = 0;
    // A peer that closed its side after sending still gets the answers to
    // the requests it sent (advance() closes once none is left).
    if (connection.close_after) {
      ::shutdown(connection.fd, SHUT_WR);
      connection.state = State::kLingering;
      connection.since = SteadyClock::now();
      connection.lingered = 0;
      setDeadline(connection, connection.since + kLinger);
      watch(connection.fd, EPOLLIN, EPOLL_CTL_MOD);
      return linger(connection);
    }
    awaitHead(connection, options_.keep_alive_timeout);
    watch(connection.fd, EPOLLIN, EPOLL_CTL_MOD);
    advance(connection);  // a request sent right behind the last one
  }

  void linger(Connection& connection) {
    char buffer[16384];
    while (true) {
      const ssize_t n = ::recv(connection.fd, buffer, sizeof buffer, 0);
      if (n > 0 && (connection.lingered += static_cast<std::size_t>(n)) <= kMaxLingerBytes) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return close(connection);
    }
  }

  void expire(SteadyClock::time_point now) {
    next_deadline_ = SteadyClock::time_point::max();
    std::vector<int> expired;
    for (const auto& [fd, connection] : connections_) {
      if (connection->deadline <= now) {
        expired.push_back(fd);
      } else {
        next_deadline_ = std::min(next_deadline_, connection->deadline);
      }
    }
    for (const int fd : expired) {
      const auto found = connections_.find(fd);
      if (found == connections_.end()) continue;
      Connection& connection = *found->second;
      if (connection.state == State::kReadingHead && connection.head_started) {
        answer(connection, textResponse(408, "request line and headers not received within " +
                                                 formatDuration(connection.head_timeout)));
      } else {
        close(connection);
      }
    }
  }

  // --- workers ---

  void work() {
    while (true) {
      std::unique_ptr<Connection> connection;
      {
        std::unique_lock lock(mutex_);
        work_ready_.wait(lock, [this] { return stopping_ || !work_.empty(); });
        if (stopping_) return;
        connection = std::move(work_.front());
        work_.pop_front();
      }
      try {
        serve(*connection);
      } catch (...) {
        // Handlers return errors as responses; anything escaping (an
        // admission check, an observer, memory) is a bug, but one request
        // must not take the daemon down, nor tell the client what it was.
        connection->close_after = true;
        connection->out = serialize(textResponse(500, "internal error"), false, true);
        connection->sent = 0;
      }
      // Most answers fit in the socket's buffer: send them from here, and
      // leave the rest to the event thread.
      while (connection->sent < connection->out.size()) {
        const ssize_t n = ::send(connection->fd, connection->out.data() + connection->sent,
                                 connection->out.size() - connection->sent, MSG_NOSIGNAL);
        if (n > 0) {
          connection->sent += static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
          continue;
        } else {
          break;
        }
      }
      {
        std::lock_guard lock(mutex_);
        if (stopping_) continue;  // closed here; the event thread is going
        served_.push_back(std::move(connection));
      }
      const std::uint64_t one = 1;
      (void)!::write(wake_, &one, sizeof one);
    }
  }

  const Route* findRoute(const std::string& path) const {
    const Route* best = nullptr;
    for (const auto& route : server_.routes_) {
      if (!route->prefix && route->path == path) return route.get();
      if (route->prefix && path.starts_with(route->path) &&
          (best == nullptr || route->path.size() > best->path.size())) {
        best = route.get();
      }
    }
    return best;
  }

  void serve(Connection& connection) {
    HttpRequestHead& head = connection.head;
    HttpRequest request;
    request.method = std::move(head.method);
    request.path = std::move(head.path);
    request.query = std::move(head.query);
    request.headers = std::move(head.headers);
    const bool is_head = request.method == "HEAD";
    bool body_unread = head.chunked || head.content_length > 0;
    bool refused = false;
    HttpResponse response;
    const Route* route = findRoute(request.path);
    if (route == nullptr) {
      response = textResponse(404, "no route for " + request.path);
    } else if (std::find(route->methods.begin(), route->methods.end(), request.method) == route->methods.end()) {
      response = textResponse(405, "method " + request.method + " not allowed on " + route->path);
      std::string allow;
      for (const auto& method : route->methods) allow += (allow.empty() ? "" : ", ") + method;
      response.headers.emplace_back("Allow", allow);
      refused = true;
    } else if (auto refusal = route->admit ? route->admit(request) : std::nullopt) {
      response = std::move(*refusal);
    } else if (auto body_refusal =
                   request.method != "GET" && !is_head && body_unread ? readBody(connection, request) : std::nullopt) {
      response = std::move(*body_refusal);
      refused = response.status != 503;
    } else {
      body_unread = body_unread && (request.method == "GET" || is_head);
      try {
        response = route->handler(request);
      } catch (const std::exception& e) {
        // Handlers return errors as responses; an escaping exception is a
        // bug, but one request must not take the daemon down. Logged, not
        // told to the client.
        spdlog::error("HTTP {} {}: the handler threw: {}", request.method, request.path, e.what());
        response = textResponse(500, "internal error");
      }
    }
    if (refused && server_.refusal_observer_) server_.refusal_observer_(request, response);
    // A body left unread leaves no way to find the next request.
    connection.close_after = !head.keep_alive || body_unread || stopping();
    connection.out = serialize(response, is_head, connection.close_after);
    connection.sent = 0;
  }

  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  Wait waitReadable(int fd, SteadyClock::time_point deadline) const {
    pollfd ready[2] = {{fd, POLLIN, 0}, {stop_, POLLIN, 0}};
    while (true) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
      if (left <= 0) return Wait::kTimedOut;
      const int count = ::poll(ready, 2, static_cast<int>(std::min<std::int64_t>(left, 60'000)));
      if (count < 0 && errno == EINTR) continue;
      if (ready[1].revents != 0) return Wait::kStopping;
      if (count != 0) return Wait::kReady;
    }
  }

  // Reads the body into `request` within request_timeout; the refusal to
  // send instead (400, 408, 413; 503 when the server is stopping).
  std::optional<HttpResponse> readBody(Connection& connection, HttpRequest& request) const {
    const HttpRequestHead& head = connection.head;
    const std::size_t limit = options_.max_request_body_bytes;
    const std::string limit_text = std::to_string(limit) + " bytes";
    if (!head.chunked && head.content_length > limit) {
      return textResponse(
          413, "request body of " + std::to_string(head.content_length) + " bytes exceeds the limit of " + limit_text);
    }
    const auto deadline = SteadyClock::now() + options_.request_timeout;
    std::string& body = request.body;
    std::string& in = connection.in;
    ChunkedDecoder decoder;
    auto result = ChunkedDecoder::Result::kNeedMore;
    // Takes what `in` holds; true when the body is whole (or refused).
    auto consume = [&] {
      if (head.chunked) {
        std::string_view rest(in);
        result = decoder.feed(rest, body, limit);
        in.erase(0, in.size() - rest.size());
        return result != ChunkedDecoder::Result::kNeedMore;
      }
      const std::size_t take = std::min<std::size_t>(in.size(), head.content_length - body.size());
      body.append(in, 0, take);
      in.erase(0, take);
      return body.size() == head.content_length;
    };
    bool whole = consume();
    if (!whole && head.expect_continue) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      (void)::send(connection.fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL);
    }
    bool stopped = false;
    char buffer[65536];
    while (!whole) {
      const std::size_t want =
          head.chunked ? sizeof buffer : std::min<std::size_t>(sizeof buffer, head.content_length - body.size());
      const ssize_t n = ::recv(connection.fd, buffer, want, 0);
      if (n > 0) {
        in.append(buffer, static_cast<std::size_t>(n));
        whole = consume();
        if (!whole && SteadyClock::now() > deadline) break;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        connection.peer_closed = true;
        break;
      }
      const Wait wait = waitReadable(connection.fd, deadline);
      if (wait == Wait::kTimedOut) break;
      if (wait == Wait::kStopping) {
        stopped = true;
        break;
      }
    }
    if (head.chunked && result == ChunkedDecoder::Result::kTooLarge) {
      body.clear();
      return textResponse(413, "request body exceeds the limit of " + limit_text);
    }
    if (head.chunked && result == ChunkedDecoder::Result::kMalformed) {
      body.clear();
      return textResponse(400, "malformed chunked body: " + decoder.problem());
    }
    if (whole) return std::nullopt;
    std::string received = std::to_string(body.size());
    if (!head.chunked) received += " of " + std::to_string(head.content_length);
    body.clear();
    if (stopped) return textResponse(503, "server stopping");
    return textResponse(408, "request body not received within " + formatDuration(options_.request_timeout) + " (" +
                                 received + " bytes)");
  }

  HttpServer& server_;
  const HttpServerOptions& options_;
  const int listener_;
  int failure_ = 0;
  int epoll_ = -1;
  int wake_ = -1;  // a worker has handed answers back
  int stop_ = -1;  // readable once stop() has begun

  // Event thread only.
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
  std::size_t serving_ = 0;  // connections with the workers
  std::size_t unsent_ = 0;   // bytes of answers not yet sent, of connections in kWriting
  SteadyClock::time_point next_deadline_ = SteadyClock::time_point::max();
  bool accept_paused_ = false;
  SteadyClock::time_point accept_resumes_{};

  std::mutex mutex_;
  std::condition_variable work_ready_;
  bool stopping_ = false;                            // guarded by mutex_
  std::deque<std::unique_ptr<Connection>> work_;     // guarded by mutex_
  std::vector<std::unique_ptr<Connection>> served_;  // guarded by mutex_
  std::vector<std::thread> workers_;
  std::thread events_;
};

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equalsIgnoringCase(key, name)) return value;
  }
  return {};
}

HttpServer::HttpServer(HttpServerOptions options) : options_(std::move(options)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::route(std::string path, Handler handler, std::vector<std::string> methods, Admission admit) {
  routes_.push_back(
      std::make_unique<Route>(Route{std::move(path), std::move(handler), std::move(methods), false, std::move(admit)}));
}

void HttpServer::routePrefix(std::string prefix, Handler handler, std::vector<std::string> methods) {
  routes_.push_back(std::make_unique<Route>(Route{std::move(prefix), std::move(handler), std::move(methods), true}));
}

void HttpServer::observeRefusals(RefusalObserver observer) { refusal_observer_ = std::move(observer); }

std::string HttpServer::baseUrl() const {
  std::string host = options_.listen.host;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(bound_port_);
}

Status HttpServer::start() {
  if (loop_ != nullptr) return Error(ErrorKind::kInternal, "HTTP server already started");
  const auto& host = options_.listen.host;
  std::string name = std::to_string(options_.listen.port);
  if (host.find(':') != std::string::npos) {
    name = "[" + host + "]:" + name;
  } else if (!host.empty()) {
    name = host + ":" + name;
  }
  auto listener = listenOn(options_.listen, name);
  if (!listener) return listener.error();
  bound_port_ = listener->port;
  loop_ = std::make_unique<Loop>(*this, listener->fd);
  if (const int failure = loop_->failure(); failure != 0) {
    loop_.reset();
    bound_port_ = 0;
    return Error(ErrorKind::kUnavailable, "cannot serve on " + name + ": " + systemErrorText(failure));
  }
  return Status::success();
}

void HttpServer::stop() {
  if (loop_ == nullptr) return;
  loop_->stop();
  loop_.reset();
}

}  // namespace rightsize
