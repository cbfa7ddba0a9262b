#include "rightsize/report/html_report.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <numeric>

#include "rightsize/core/text.h"
#include "rightsize/simulate/simulate.h"

namespace rightsize::report {

Expected<std::regex> plotAppsRegex(const std::string& text) {
  if (text.empty()) return Error(ErrorKind::kInvalidValue, "--plot-apps: an empty regular expression names no app");
  try {
    return std::regex(text, std::regex::ECMAScript);
  } catch (const std::regex_error& error) {
    return Error(ErrorKind::kInvalidValue,
                 "--plot-apps: '" + text + "' is not a regular expression (ECMAScript): " + error.what());
  }
}

std::vector<PlotPick> pickPlotted(const std::vector<AppReport>& apps, const std::optional<std::regex>& named,
                                  std::size_t max_named, std::vector<std::string>& warnings) {
  std::vector<PlotPick> picks;
  const auto add = [&](std::size_t app, const char* why) {
    auto found = std::find_if(picks.begin(), picks.end(), [&](const PlotPick& p) { return p.app == app; });
    if (found == picks.end()) {
      picks.push_back({app, {why}});
    } else {
      found->why.emplace_back(why);
    }
  };
  if (!apps.empty()) {
    std::vector<std::size_t> order(apps.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return std::pair(apps[a].core_hours_saved_per_month, apps[a].gib_hours_saved_per_month) <
             std::pair(apps[b].core_hours_saved_per_month, apps[b].gib_hours_saved_per_month);
    });
    add(order.front(), "worst");
    add(order[order.size() / 2], "median");
    add(order.back(), "best");
  }
  if (named) {
    std::size_t matched = 0;
    for (std::size_t i = 0; i < apps.size(); ++i) {
      if (!std::regex_match(apps[i].app_id, *named)) continue;
      if (matched++ < max_named) add(i, "named");
    }
    if (matched > max_named) {
      warnings.push_back("--plot-apps matches " + std::to_string(matched) + " apps: the first " +
                         std::to_string(max_named) + " are plotted");
    }
  }
  return picks;
}

std::vector<AppPlot> plotReplays(const AppsHistory& history, const FleetReport& report,
                                 const simulate::PolicySpec& spec, const ReportOptions& options,
                                 std::vector<std::string>& warnings) {
  const std::vector<PlotPick> picks = pickPlotted(report.apps, options.plot_apps, kMaxNamedPlots, warnings);
  if (picks.empty()) return {};
  std::map<std::pair<std::string, std::string>, std::size_t> by_key;  // (env, app id) -> trace app
  for (std::size_t i = 0; i < history.trace.apps.size(); ++i) {
    by_key.emplace(std::pair(history.envs[i], history.trace.apps[i].app_id), i);
  }
  std::vector<std::size_t> traced;  // per pick, its trace app
  for (const PlotPick& pick : picks) {
    traced.push_back(by_key.at({report.apps[pick.app].env, report.apps[pick.app].app_id}));
  }
  simulate::ReplayOptions replay = options.replay;
  replay.keep_series = true;
  // Independent apps replay alone as they did among the others: only the
  // picked ones go through again.
  const bool independent = options.replay.host_cores <= 0;
  simulate::PolicyResult result;
  if (independent) {
    simulate::Trace picked;
    for (const std::size_t i : traced) {
      const simulate::AppTrace& app = history.trace.apps[i];
      if (picked.apps.empty() || app.points.front().at < picked.start) picked.start = app.points.front().at;
      if (picked.apps.empty() || app.points.back().at > picked.end) picked.end = app.points.back().at;
      picked.samples += app.points.size();
      picked.apps.push_back(app);
    }
    result = simulate::replay(picked, spec, replay);
  } else {
    result = simulate::replay(history.trace, spec, replay);
  }
  std::vector<AppPlot> plots;
  for (std::size_t k = 0; k < picks.size(); ++k) {
    const simulate::AppTrace& app = history.trace.apps[traced[k]];
    const simulate::AppResult& replayed = result.per_app[independent ? k : traced[k]];
    AppPlot plot;
    plot.app = picks[k].app;
    plot.why = picks[k].why;
    plot.points.reserve(app.points.size());
    std::size_t s = 0;
    for (const simulate::TracePoint& point : app.points) {
      while (s < replayed.series.size() && replayed.series[s].at < point.at) ++s;
      if (s == replayed.series.size() || replayed.series[s].at != point.at) continue;
      const simulate::SeriesPoint& series = replayed.series[s];
      plot.points.push_back({point.at, point.cpu_used_cores, point.cpu_reserved_cores, series.cpu_reserved,
                             point.memory_used_mib, point.memory_reserved_mib, series.mem_reserved_mib});
    }
    plots.push_back(std::move(plot));
  }
  return plots;
}

std::vector<std::pair<double, double>> downsample(const std::vector<std::pair<double, double>>& line,
                                                  std::size_t max_points) {
  max_points = std::max<std::size_t>(max_points, 2);
  if (line.size() <= max_points) return line;
  const std::size_t buckets = max_points / 2;
  const double x0 = line.front().first;
  const double width = (line.back().first - x0) / static_cast<double>(buckets);
  std::vector<std::pair<double, double>> out;
  out.reserve(max_points);
  std::size_t low = 0, high = 0, bucket = 0;
  const auto flush = [&] {
    out.push_back(line[std::min(low, high)]);
    if (low != high) out.push_back(line[std::max(low, high)]);
  };
  for (std::size_t i = 0; i < line.size(); ++i) {
    const double at = width > 0 ? (line[i].first - x0) / width : 0;
    const std::size_t b = std::min(buckets - 1, static_cast<std::size_t>(std::max(at, 0.0)));
    if (i == 0 || b != bucket) {
      if (i > 0) flush();
      bucket = b;
      low = high = i;
      continue;
    }
    if (line[i].second < line[low].second) low = i;
    if (line[i].second > line[high].second) high = i;
  }
  flush();
  return out;
}

std::string htmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

// Text from outside (app ids, envs, Prometheus' warnings): valid UTF-8,
// escaped.
std::string text(std::string_view raw) { return htmlEscape(sanitizeUtf8(raw)); }

// "2026-12-05 14:00" (UTC), "12-05 14:00", or "12-05".
enum class UtcForm { kFull, kShort, kDay };
std::string utc(double unix_seconds, UtcForm form) {
  const auto seconds = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer,
                form == UtcForm::kFull    ? "%Y-%m-%d %H:%M"
                : form == UtcForm::kShort ? "%m-%d %H:%M"
                                          : "%m-%d",
                &tm);
  return buffer;
}

std::string appName(const AppReport& app) { return app.env.empty() ? app.app_id : app.env + ":" + app.app_id; }

// 1, 2 or 5 times a power of ten, at least `raw`.
double niceStep(double raw) {
  if (!(raw > 0)) return 1;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

// How many decimals show a tick step.
int decimalsFor(double step) { return step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9)); }

using Line = std::vector<std::pair<double, double>>;

constexpr int kWidth = 960;
constexpr int kLeft = 64;
constexpr int kRight = 16;
constexpr int kTop = 12;
constexpr int kPanel = 170;
constexpr int kBottom = 26;

struct PlotLine {
  Line points;
  const char* css;  // the class: used, reserved, replayed
  bool steps;       // a reservation: holds until the next point
};

// One panel: a y axis of `unit`, the lines over [t0, t1].
std::string panel(const std::string& label, const std::string& unit, const std::vector<PlotLine>& lines, double t0,
                  double t1) {
  double top = 0;
  for (const auto& line : lines) {
    for (const auto& [x, y] : line.points) top = std::max(top, y);
  }
  const double step = niceStep(top > 0 ? top / 4 : 0.25);
  const double y_max = step * std::max(1.0, std::ceil(top * 1.05 / step));
  const int plot_width = kWidth - kLeft - kRight;
  const auto x_of = [&](double t) { return kLeft + (t - t0) / std::max(t1 - t0, 1.0) * plot_width; };
  const auto y_of = [&](double v) { return kTop + kPanel - v / y_max * kPanel; };
  const int height = kTop + kPanel + kBottom;
  std::string svg = "<svg class=\"panel\" viewBox=\"0 0 " + std::to_string(kWidth) + " " + std::to_string(height) +
                    "\" role=\"img\" aria-label=\"" + htmlEscape(label) + "\">";
  // The y grid and its labels.
  const int decimals = decimalsFor(step);
  for (double v = 0; v <= y_max + step / 2; v += step) {
    const std::string y = formatFixed(y_of(v), 1);
    svg += "<line class=\"grid\" x1=\"" + std::to_string(kLeft) + "\" x2=\"" + std::to_string(kWidth - kRight) +
           "\" y1=\"" + y + "\" y2=\"" + y + "\"/><text class=\"tick\" x=\"" + std::to_string(kLeft - 6) + "\" y=\"" +
           y + "\" dy=\"4\" text-anchor=\"end\">" + formatFixed(v, decimals) + "</text>";
  }
  svg += "<text class=\"unit\" x=\"" + std::to_string(kLeft) + "\" y=\"" + std::to_string(kTop - 2) + "\">" +
         htmlEscape(unit) + "</text>";
  // The x ticks: whole hours or days (UTC), at most 8.
  const double span = std::max(t1 - t0, 1.0);
  double tick = 3600;
  for (const double hours : {1.0, 2.0, 3.0, 6.0, 12.0, 24.0, 48.0, 72.0, 168.0, 336.0, 720.0}) {
    tick = hours * 3600;
    if (span / tick <= 8) break;
  }
  for (double t = std::ceil(t0 / tick) * tick; t <= t1; t += tick) {
    const std::string x = formatFixed(x_of(t), 1);
    svg += "<line class=\"grid\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + std::to_string(kTop) + "\" y2=\"" +
           std::to_string(kTop + kPanel) + "\"/><text class=\"tick\" x=\"" + x + "\" y=\"" +
           std::to_string(kTop + kPanel + 16) + "\" text-anchor=\"middle\">" +
           utc(t, tick < 86400 ? UtcForm::kShort : UtcForm::kDay) + "</text>";
  }
  svg += "<rect class=\"frame\" x=\"" + std::to_string(kLeft) + "\" y=\"" + std::to_string(kTop) + "\" width=\"" +
         std::to_string(plot_width) + "\" height=\"" + std::to_string(kPanel) + "\"/>";
  for (const PlotLine& line : lines) {
    if (line.points.empty()) continue;
    std::string points;
    std::optional<std::string> previous_y;
    for (const auto& [t, v] : line.points) {
      const std::string x = formatFixed(x_of(t), 1);
      const std::string y = formatFixed(y_of(v), 1);
      if (line.steps && previous_y && *previous_y != y) points += x + "," + *previous_y + " ";
      points += x + "," + y + " ";
      previous_y = y;
    }
    points.pop_back();
    svg += std::string("<polyline class=\"") + line.css + "\" points=\"" + points + "\"/>";
  }
  return svg + "</svg>";
}

// The legend of every plot.
std::string legend() {
  return "<div class=\"legend\"><span><svg viewBox=\"0 0 24 8\"><line class=\"used\" x1=\"0\" y1=\"4\" "
         "x2=\"24\" y2=\"4\"/></svg>used (the busiest task)</span><span><svg viewBox=\"0 0 24 8\"><line "
         "class=\"reserved\" x1=\"0\" y1=\"4\" x2=\"24\" y2=\"4\"/></svg>reserved per task, as it was</span>"
         "<span><svg viewBox=\"0 0 24 8\"><line class=\"replayed\" x1=\"0\" y1=\"4\" x2=\"24\" y2=\"4\"/></svg>"
         "reserved per task by the policy's replay</span></div>";
}

std::string joinReasons(const std::vector<std::string>& why) {
  std::string out;
  for (std::size_t i = 0; i < why.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == why.size() ? " and " : ", ") + why[i];
  }
  return out;
}

std::string optionalFixed(std::optional<double> value, int decimals) {
  return value ? formatFixed(*value, decimals) : std::string();
}

std::string figure(const FleetReport& report, const AppPlot& plot, std::size_t index) {
  const AppReport& app = report.apps[plot.app];
  std::string out = "<figure class=\"plot\" id=\"plot-" + std::to_string(index) + "\" data-app=\"" + text(app.app_id) +
                    "\"><figcaption><b>" + joinReasons(plot.why) + "</b> · " + text(appName(app)) + ": " +
                    formatRounded(app.cpus, 3) + " → " + formatRounded(app.recommended_cpus, 3) + " cpus";
  if (app.mem_mib) {
    out += ", " + formatFixed(*app.mem_mib, 0) + " → " + optionalFixed(app.recommended_mem_mib, 0) + " MiB";
  }
  if (app.recommended_cpus_limit || app.recommended_mem_limit_mib) {
    out += " (limits";
    if (app.recommended_cpus_limit) out += " " + limitText(app.recommended_cpus_limit, -1) + " cpus";
    if (app.recommended_mem_limit_mib) out += " " + limitText(app.recommended_mem_limit_mib, 0) + " MiB";
    out += ")";
  }
  // A saving, or what more it needs, a month.
  const auto saving = [](double value, const char* unit) {
    return value < 0 ? "needs " + formatFixed(-value, 0) + " " + unit + " more a month"
                     : "saves " + formatFixed(value, 0) + " " + unit + " a month";
  };
  out += " per task × " + std::to_string(app.tasks) + "; " + saving(app.core_hours_saved_per_month, "core-hours") +
         ", " + saving(app.gib_hours_saved_per_month, "GiB-hours") + "; " + std::to_string(app.redeploys) +
         (app.redeploys == 1 ? " redeploy, " : " redeploys, ") + std::to_string(app.oom_kills) +
         (app.oom_kills == 1 ? " OOM kill" : " OOM kills") + "</figcaption>";
  if (plot.points.empty()) return out + "<p>No samples.</p></figure>";
  const double t0 = toUnixSeconds(plot.points.front().at);
  const double t1 = toUnixSeconds(plot.points.back().at);
  Line cpu_used, cpu_reserved, cpu_replayed, mem_used, mem_reserved, mem_replayed;
  for (const PlotPoint& p : plot.points) {
    const double t = toUnixSeconds(p.at);
    cpu_used.emplace_back(t, p.cpu_used);
    cpu_reserved.emplace_back(t, p.cpu_reserved);
    cpu_replayed.emplace_back(t, p.cpu_replayed);
    if (p.mem_used_mib) mem_used.emplace_back(t, *p.mem_used_mib);
    if (p.mem_reserved_mib) mem_reserved.emplace_back(t, *p.mem_reserved_mib);
    if (p.mem_replayed_mib) mem_replayed.emplace_back(t, *p.mem_replayed_mib);
  }
  out += legend();
  out += panel("CPU of " + appName(app), "cores",
               {{downsample(cpu_used, kMaxPlotPoints), "used", false},
                {downsample(cpu_reserved, kMaxPlotPoints), "reserved", true},
                {downsample(cpu_replayed, kMaxPlotPoints), "replayed", true}},
               t0, t1);
  if (!mem_used.empty()) {
    out += panel("memory of " + appName(app), "MiB",
                 {{downsample(mem_used, kMaxPlotPoints), "used", false},
                  {downsample(mem_reserved, kMaxPlotPoints), "reserved", true},
                  {downsample(mem_replayed, kMaxPlotPoints), "replayed", true}},
                 t0, t1);
  }
  return out + "</figure>";
}

constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px}
.meta{color:#555;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:150px}
.card .v{font-size:20px;font-weight:600}.card .k{color:#555;font-size:12px}
.warnings{color:#8a4b00}
table.apps{border-collapse:collapse;font-size:13px}
table.apps th,table.apps td{border-bottom:1px solid #e3e3e3;padding:3px 8px;text-align:right;white-space:nowrap}
table.apps th{position:sticky;top:0;background:#f4f4f4;cursor:pointer;user-select:none;white-space:normal;vertical-align:bottom}
table.apps th[aria-sort=ascending]::after{content:" \25B2"}table.apps th[aria-sort=descending]::after{content:" \25BC"}
table.apps td.id,table.apps th.id{text-align:left}
table.apps tbody tr:hover{background:#f7fbff}
.neg{color:#b00020}
.state{font-size:11px;color:#8a4b00;border:1px solid #e0c090;border-radius:3px;padding:0 3px}
figure.plot{margin:16px 0 28px;max-width:960px}
figcaption{margin-bottom:4px}
svg.panel{width:100%;height:auto;display:block}
.legend{display:flex;gap:18px;font-size:12px;color:#444}
.legend svg{width:24px;height:8px;display:inline-block;margin-right:4px;vertical-align:middle}
.grid{stroke:#eee}.frame{fill:none;stroke:#bbb}
.tick,.unit{font-size:11px;fill:#555}
.used{fill:none;stroke:#e6550d;stroke-width:1}
.reserved{fill:none;stroke:#636363;stroke-width:2;stroke-dasharray:6 3}
.replayed{fill:none;stroke:#3182bd;stroke-width:2}
)";

// Sorts the table by a column when its header is clicked (numbers by their
// data-v, else the text), or as the URL's #sort= says.
constexpr const char* kScript = R"(
(function () {
  var table = document.getElementById('apps');
  if (!table) return;
  var heads = table.tHead.rows[0].cells;
  function key(row, col) { return row.cells[col].getAttribute('data-v'); }
  function sortBy(col) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var descending = heads[col].getAttribute('aria-sort') === 'ascending';
    rows.sort(function (a, b) {
      var x = key(a, col), y = key(b, col), d;
      if (x !== null && y !== null) d = parseFloat(x) - parseFloat(y);
      else if (x !== null || y !== null) d = x === null ? -1 : 1;
      else d = a.cells[col].textContent.localeCompare(b.cells[col].textContent);
      return descending ? -d : d;
    });
    for (var i = 0; i < heads.length; i++) heads[i].removeAttribute('aria-sort');
    heads[col].setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    rows.forEach(function (row) { body.appendChild(row); });
  }
  for (var i = 0; i < heads.length; i++) heads[i].addEventListener('click', sortBy.bind(null, i));
  // report.html#sort=core_hours_saved_per_month (a column's JSON key; -key:
  // descending) opens it sorted.
  var wanted = /^#sort=(-?)(\w+)$/.exec(window.location.hash);
  for (var j = 0; wanted && j < heads.length; j++) {
    if (heads[j].title !== wanted[2]) continue;
    sortBy(j);
    if (wanted[1] === '-') sortBy(j);
  }
  table.setAttribute('data-sortable', 'true');
})();
)";

std::string card(const std::string& value, const std::string& key) {
  return "<div class=\"card\"><div class=\"v\">" + value + "</div><div class=\"k\">" + key + "</div></div>";
}

// A numeric cell: the shown text, sorted by the value.
std::string cell(const std::string& shown, std::optional<double> value, bool signed_value = false) {
  if (!value) return "<td></td>";
  return std::string("<td") + (signed_value && *value < 0 ? " class=\"neg\"" : "") + " data-v=\"" +
         formatRounded(*value, 6) + "\">" + shown + "</td>";
}

// A burstable app's limit: sorted above every number when unlimited
// (JavaScript's parseFloat reads "Infinity").
std::string limitCell(std::optional<double> limit, int decimals) {
  if (limit && std::isinf(*limit)) return "<td data-v=\"Infinity\">unlimited</td>";
  return cell(limitText(limit, decimals), limit);
}

}  // namespace

std::string reportHtml(const FleetReport& report) {
  const ReportTotals& t = report.totals;
  const double days = toSeconds(report.end - report.start) / 86400;
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width,initial-scale=1\"><title>rightsize report</title><style>";
  out += kStyle;
  out += "</style></head><body>\n<h1>rightsize report</h1>\n<p class=\"meta\">" + std::to_string(t.apps) + " apps" +
         (report.source.empty() ? "" : " from " + text(report.source)) + ", " + formatFixed(days, 1) + " days at " +
         formatDuration(std::chrono::duration_cast<std::chrono::seconds>(report.step)) + " steps, " +
         utc(toUnixSeconds(report.start), UtcForm::kFull) + " to " + utc(toUnixSeconds(report.end), UtcForm::kFull) +
         " UTC";
  if (report.queries > 0) out += ", " + std::to_string(report.queries) + " queries";
  out += "</p>\n<section id=\"totals\" class=\"cards\">";
  out += card(formatFixed(t.reserved_cores, 1) + " → " + formatFixed(t.recommended_cores, 1),
              "cores reserved → recommended");
  out += card(formatFixed(t.reserved_gib, 1) + " → " + formatFixed(t.recommended_gib, 1), "GiB reserved → recommended");
  out += card(formatFixed(t.core_hours_saved_per_month, 0), "core-hours saved a month");
  out += card(formatFixed(t.gib_hours_saved_per_month, 0), "GiB-hours saved a month");
  if (t.money_saved_per_month) out += card(formatFixed(*t.money_saved_per_month, 2), "saved a month");
  out += card(std::to_string(t.redeploys), "redeploys over the history");
  out += "</section>\n";
  if (!report.warnings.empty()) {
    out += "<ul class=\"warnings\">";
    for (const auto& warning : report.warnings) out += "<li>" + text(warning) + "</li>";
    out += "</ul>\n";
  }
  std::map<std::size_t, std::size_t> plotted;  // app -> plot
  for (std::size_t i = 0; i < report.plots.size(); ++i) plotted.emplace(report.plots[i].app, i);
  // Burstable apps' limits, in two columns when any app has them.
  const bool limits = std::any_of(report.apps.begin(), report.apps.end(), [](const AppReport& app) {
    return app.recommended_cpus_limit || app.recommended_mem_limit_mib;
  });
  out +=
      "<h2>Apps</h2>\n<table class=\"apps\" id=\"apps\"><thead><tr><th class=\"id\" title=\"env\">env</th>"
      "<th class=\"id\" title=\"app_id\">app</th><th title=\"tasks\">tasks</th><th title=\"cpus\">cpus</th>"
      "<th title=\"mem\">mem MiB</th><th title=\"recommended_cpus\">→ cpus</th>"
      "<th title=\"recommended_mem\">→ mem MiB</th>";
  if (limits) {
    out +=
        "<th title=\"recommended_cpus_limit\">→ cpus limit</th>"
        "<th title=\"recommended_mem_limit\">→ mem limit MiB</th>";
  }
  out +=
      "<th title=\"cpu_p95\">cpu p95</th>"
      "<th title=\"mem_peak\">mem peak MiB</th><th title=\"history_seconds\">history days</th>"
      "<th title=\"coverage\">coverage</th><th title=\"confidence\">confidence</th>"
      "<th title=\"redeploys\">redeploys</th><th title=\"oom_kills\">OOM kills</th>"
      "<th title=\"core_hours_saved_per_month\">core-h saved/month</th>"
      "<th title=\"gib_hours_saved_per_month\">GiB-h saved/month</th>"
      "<th title=\"money_saved_per_month\">saved/month</th></tr></thead><tbody>\n";
  for (std::size_t i = 0; i < report.apps.size(); ++i) {
    const AppReport& app = report.apps[i];
    out += "<tr data-app=\"" + text(app.app_id) + "\"><td class=\"id\">" + text(app.env) + "</td><td class=\"id\">";
    if (const auto p = plotted.find(i); p != plotted.end()) {
      out += "<a href=\"#plot-" + std::to_string(p->second) + "\">" + text(app.app_id) + "</a>";
    } else {
      out += text(app.app_id);
    }
    // With --marathon-url: an app Marathon no longer has, or one the sizer
    // leaves alone, says so (live apps are the rule).
    if (!app.marathon.empty() && app.marathon != "live") {
      out += " <span class=\"state\">" + text(app.marathon) + "</span>";
    }
    out += "</td>" + cell(std::to_string(app.tasks), app.tasks) + cell(formatRounded(app.cpus, 3), app.cpus) +
           cell(optionalFixed(app.mem_mib, 0), app.mem_mib) +
           cell(formatRounded(app.recommended_cpus, 3), app.recommended_cpus) +
           cell(optionalFixed(app.recommended_mem_mib, 0), app.recommended_mem_mib);
    if (limits) out += limitCell(app.recommended_cpus_limit, -1) + limitCell(app.recommended_mem_limit_mib, 0);
    out += cell(formatFixed(app.cpu_p95, 3), app.cpu_p95) + cell(optionalFixed(app.mem_peak_mib, 0), app.mem_peak_mib) +
           cell(formatFixed(app.history_seconds / 86400, 1), app.history_seconds) +
           cell(formatFixed(app.coverage, 3), app.coverage) +
           cell(formatFixed(app.confidence, 2) + " " + text(app.confidence_label), app.confidence) +
           cell(std::to_string(app.redeploys), static_cast<double>(app.redeploys)) +
           cell(std::to_string(app.oom_kills), static_cast<double>(app.oom_kills)) +
           cell(formatFixed(app.core_hours_saved_per_month, 1), app.core_hours_saved_per_month, true) +
           cell(formatFixed(app.gib_hours_saved_per_month, 1), app.gib_hours_saved_per_month, true) +
           cell(optionalFixed(app.money_saved_per_month, 2), app.money_saved_per_month, true) + "</tr>\n";
  }
  out += "</tbody></table>\n";
  if (report.apps.empty()) out += "<p>No apps.</p>\n";
  if (!report.plots.empty()) {
    out +=
        "<h2>Over time</h2>\n<p class=\"meta\">The apps with the worst, median and best saving (core-hours a month), "
        "and those --plot-apps names: per step the CPU (and memory) the busiest task used, the reservation per task "
        "it had, and the one the policy's replay gave it. Each line at most " +
        std::to_string(kMaxPlotPoints) + " points: the lowest and highest of each stretch of time.</p>\n";
    for (std::size_t i = 0; i < report.plots.size(); ++i) out += figure(report, report.plots[i], i) + "\n";
  }
  out += "<script>";
  out += kScript;
  out += "</script>\n</body></html>\n";
  return out;
}

}  // namespace rightsize::report
