#pragma once

// A page opened in a real browser: Debian's chromium, headless, on a
// file:// URL, with a new empty profile and no network of its own (the
// flags that would have it reach Google's services are off). What tests of
// the HTML report check: the DOM after the page's scripts ran, a
// screenshot, the page's console messages.

#include <chrono>
#include <string>
#include <vector>

#include "rightsize/core/clock.h"
#include "rightsize/core/status.h"

namespace rightsize::testing {

struct ChromiumPage {
  std::string dom;         // --dump-dom: the DOM once the page has loaded and its scripts ran
  std::string screenshot;  // the PNG's bytes
  // The page's console messages, uncaught script errors among them, as
  // chromium logs them ("...:CONSOLE:12] \"Uncaught ReferenceError: ...\"").
  std::vector<std::string> console;
  std::string log;  // chromium's own stderr, for failure messages
};

// Opens `url` (file://, a fragment allowed) in headless chromium twice: once
// dumping the DOM, once for a screenshot of a `width` x `height` window.
// Each run is a child stopped by its pid when it has not exited within
// `timeout`. Fails (never skips) when chromium is missing, naming the
// package, or when a run fails.
Expected<ChromiumPage> openInChromium(const std::string& url, int width, int height,
                                      Duration timeout = std::chrono::seconds(60));

// True when `bytes` start with the PNG signature and an IHDR chunk; its
// width and height then in `width` and `height`.
bool pngSize(const std::string& bytes, int& width, int& height);

}  // namespace rightsize::testing
