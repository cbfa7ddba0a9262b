#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <mutex>

#include "rightsize/core/http.h"

namespace rightsize {
namespace {

struct Transfer {
  std::string body;
  HttpHeaders headers;
  std::size_t limit = 0;
  bool overflow = false;
};

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (transfer->body.size() + n > transfer->limit) {
    transfer->overflow = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  transfer->body.append(data, n);
  return n;
}

std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    transfer->headers.clear();  // a new response (after a redirect or 100-continue)
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    transfer->headers.emplace_back(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return n;
}

}  // namespace

void initHttpLibraries() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Expected<HttpResponse> HttpClient::get(std::string url, Duration timeout) {
  HttpClientRequest request;
  request.url = std::move(url);
  request.timeout = timeout;
  return send(request);
}

CurlHttpClient::CurlHttpClient(CurlHttpClientOptions options) : options_(options) { initHttpLibraries(); }

CurlHttpClient::~CurlHttpClient() {
  for (void* handle : idle_handles_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* CurlHttpClient::takeHandle() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_handles_.empty()) {
      void* handle = idle_handles_.back();
      idle_handles_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void CurlHttpClient::returnHandle(void* handle) {
  std::lock_guard lock(mutex_);
  idle_handles_.push_back(handle);
}

Expected<HttpResponse> CurlHttpClient::send(const HttpClientRequest& request) {
  CURL* curl = static_cast<CURL*>(takeHandle());
  if (curl == nullptr) return Error(ErrorKind::kInternal, "curl_easy_init failed");
  curl_easy_reset(curl);
  Transfer transfer;
  transfer.limit = options_.max_response_bytes;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  // 0 would mean "no timeout" to curl.
  const auto timeout_ms =
      std::max<long long>(1, std::chrono::duration_cast<std::chrono::milliseconds>(request.timeout).count());
  const auto connect_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options_.connect_timeout).count();
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max<long long>(1, std::min<long long>(connect_ms, timeout_ms))));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  returnHandle(curl);
  if (transfer.overflow) {
    return Error(ErrorKind::kUnavailable, request.method + " " + redactUrl(request.url) + ": response larger than " +
                                              std::to_string(options_.max_response_bytes) + " bytes");
  }
  if (code != CURLE_OK) {
    std::string reason = error_buffer[0] != 0 ? error_buffer : curl_easy_strerror(code);
    return Error(ErrorKind::kUnavailable, request.method + " " + redactUrl(request.url) + ": " + reason);
  }
  HttpResponse response;
  response.status = static_cast<int>(status);
  response.body = std::move(transfer.body);
  response.headers = std::move(transfer.headers);
  for (const auto& [name, value] : response.headers) {
    if (name.size() == 12 && strncasecmp(name.c_str(), "content-type", 12) == 0) response.content_type = value;
  }
  return response;
}

}  // namespace rightsize
