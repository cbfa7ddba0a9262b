// deploy/prometheus end to end: a real Prometheus server (Debian's
// `prometheus`) on loopback, configured with the shipped
// deploy/prometheus/prometheus.yml and rules, finds a real `rightsize agent`
// (fed by the Mesos agent double) and a real `rightsize sizer` through
// marathon_sd_configs against the Marathon double serving the shipped
// deploy/marathon/*.json apps, scrapes them, and evaluates the alert rules.
//
// The shipped configuration is changed only where a test must: the Marathon
// URL (the double's), the intervals (1s), the Alertmanager (a closed loopback
// port: no alert fires here, pending alerts are not sent). The apps are the
// shipped definitions with one instance and their fixed port replaced by the
// port the process bound (requirePorts stays true, so Prometheus takes the
// port from portDefinitions, as it does with the real Marathon).

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "test_support.h"

#include "rightsize/core/http.h"
#include "rightsize/core/json.h"
#include "rightsize/testing/fake_marathon.h"
#include "rightsize/testing/fake_mesos_agent.h"

namespace rightsize::deploy {
namespace {

using namespace std::chrono_literals;
using Labels = std::map<std::string, std::string>;

const std::string kSourceDir = RIGHTSIZE_SOURCE_DIR;
const std::string kPrometheus = RIGHTSIZE_PROMETHEUS;  // "" when CMake did not find it
constexpr auto kTestBudget = 60s;                      // every wait below ends by then
constexpr auto kPollPeriod = 200ms;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A loopback port nothing listens on right now (bound, then released).
int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  ::close(fd);
  return port;
}

std::string urlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// "... listening on 127.0.0.1:PORT (...)" -> PORT, 0 when absent. (Plain
// string search: std::regex trips g++ 12's -Wmaybe-uninitialized under ASan.)
int listeningPort(const std::string& line) {
  for (const std::string prefix : {"listening on 127.0.0.1:", "listening on http://127.0.0.1:"}) {
    const auto at = line.find(prefix);
    if (at == std::string::npos) continue;
    int port = 0;
    for (auto i = at + prefix.size(); i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])) != 0; ++i) {
      port = port * 10 + (line[i] - '0');
      if (port > 65535) return 0;
    }
    return port;
  }
  return 0;
}

// "  - KEY: "VALUE" # ..." -> VALUE when the line is a list item whose first
// key is one of `keys`, "" otherwise.
std::string listItemValue(const std::string& line, std::initializer_list<std::string_view> keys) {
  std::string_view rest(line);
  const auto skipBlanks = [&rest] {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  };
  skipBlanks();
  if (!rest.starts_with("- ")) return "";
  rest.remove_prefix(2);
  skipBlanks();
  for (const auto key : keys) {
    if (!rest.starts_with(key) || !rest.substr(key.size()).starts_with(":")) continue;
    rest.remove_prefix(key.size() + 1);
    skipBlanks();
    if (rest.starts_with("\"")) rest.remove_prefix(1);
    const auto end = rest.find_first_of("\" \t#");
    return std::string(rest.substr(0, end));
  }
  return "";
}

// Replaces every `find` in `text` and returns how many. A `find` ending in
// ':' is a YAML setting: the blanks after it are kept and the value (letters
// and digits) is replaced.
int replaceAll(std::string& text, const std::string& find, const std::string& replacement) {
  const bool setting = find.ends_with(':');
  int count = 0;
  for (auto at = text.find(find); at != std::string::npos; at = text.find(find, at)) {
    auto begin = at + find.size();
    auto end = begin;
    if (setting) {
      while (begin < text.size() && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
      end = begin;
      while (end < text.size() && std::isalnum(static_cast<unsigned char>(text[end])) != 0) ++end;
      if (end == begin) {
        at = begin;
        continue;
      }
    } else {
      begin = at;
    }
    text.replace(begin, end - begin, replacement);
    at = begin + replacement.size();
    ++count;
  }
  return count;
}

std::string str(const rapidjson::Value* value) {
  if (value == nullptr) return "<missing>";
  return value->IsString() ? std::string(value->GetString()) : "<" + std::string(json::typeName(*value)) + ">";
}

Labels labelsOf(const rapidjson::Value& object) {
  Labels labels;
  if (!object.IsObject()) return labels;
  for (const auto& member : object.GetObject()) {
    labels[member.name.GetString()] = member.value.IsString() ? member.value.GetString() : "<not a string>";
  }
  return labels;
}

std::string describe(const Labels& labels) {
  std::string out = "{";
  for (const auto& [name, value] : labels) out += (out.size() > 1 ? ", " : "") + name + "=\"" + value + "\"";
  return out + "}";
}

struct Sample {
  Labels labels;
  double value = 0;
};

// A group of deploy/prometheus/rules/*.yml: its file and its rules' names.
struct RuleGroup {
  std::string file;
  std::vector<std::string> rules;
};

// Group names and their rules, read from the rule files' text (one "- name:"
// per group, one "- alert:" or "- record:" per rule, as the files are written).
std::map<std::string, RuleGroup> shippedRuleGroups(const std::string& directory) {
  std::map<std::string, RuleGroup> groups;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.path().extension() != ".yml") continue;
    std::istringstream in(readFile(entry.path().string()));
    std::string line;
    std::string current;
    while (std::getline(in, line)) {
      if (auto group = listItemValue(line, {"name"}); !group.empty()) {
        current = group;
        groups[current].file = entry.path().filename().string();
      } else if (auto rule = listItemValue(line, {"alert", "record"}); !current.empty() && !rule.empty()) {
        groups[current].rules.push_back(rule);
      }
    }
  }
  return groups;
}

class PrometheusEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (kPrometheus.empty() || ::access(kPrometheus.c_str(), X_OK) != 0) {
      FAIL() << "prometheus not found" << (kPrometheus.empty() ? "" : " at " + kPrometheus)
             << ": apt-get install prometheus (or scripts/setup), then re-run cmake";
    }
    deadline_ = std::chrono::steady_clock::now() + kTestBudget;
  }

  void TearDown() override {
    // Prometheus first (it scrapes the others), then the sizer, then the agent.
    for (auto* child : {&prometheus_, &sizer_, &agent_}) {
      if (*child == nullptr) continue;
      if ((*child)->running()) (*child)->stop(SIGTERM, 10s);  // SIGKILL after 10 s
      (*child)->drain(100ms);
    }
    if (HasFailure()) {
      for (const auto& [name, child] :
           {std::pair{"prometheus", &prometheus_}, std::pair{"sizer", &sizer_}, std::pair{"agent", &agent_}}) {
        if (*child != nullptr) std::cerr << "---- " << name << " output:\n" << (*child)->output() << "\n";
      }
    }
  }

  std::chrono::milliseconds remaining() const {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    return std::max(left, std::chrono::milliseconds(0));
  }

  // Reads what the children wrote, so that no pipe fills up while we poll.
  void drainChildren() {
    for (auto* child : {&prometheus_, &sizer_, &agent_}) {
      if (*child != nullptr && (*child)->running()) (*child)->drain(0ms);
    }
  }

  // Polls `check` (it returns "" when satisfied, else what is missing) until it
  // is satisfied or the test's time is up; returns the last complaint.
  std::string eventually(const std::function<std::string()>& check) {
    std::string problem = "not checked: out of time";
    while (remaining() > 0ms) {
      drainChildren();
      problem = check();
      if (problem.empty()) return problem;
      std::this_thread::sleep_for(kPollPeriod);
    }
    return problem;
  }

  // The Mesos agent double: /web (env label "staging") and /batch (no env
  // label, close to its memory limit) on a 1-core host kept busy (1.9 cores).
  void startMesosDouble() {
    auto fake = testing::FakeMesosAgent::create(clock_, testing::readFixture("mesos/agent_state.json"),
                                                testing::readFixture("mesos/monitor_statistics_port_mapping.json"));
    ASSERT_TRUE(fake.ok()) << fake.error().message();
    mesos_ = std::move(*fake);
    mesos_->setAttribute("instance_type", "m5.xlarge");
    mesos_->addExecutor({.executor_id = "web.instance-6a3e0d2c-1d6f-11ee-be56-0242ac120002._app.1",
                         .container_id = "c-web",
                         .app_id = "/web",
                         .cpus_limit = 1.1,
                         .labels = {{"env", "staging"}}},
                        {.used_cores = 0.4, .resident_bytes = 90'000'000, .throttled_ratio = 0.1});
    mesos_->addExecutor({.executor_id = "batch.instance-7b4f1e3d-1d6f-11ee-be56-0242ac120002._app.1",
                         .container_id = "c-batch",
                         .app_id = "/batch",
                         .cpus_limit = 2.1,
                         .mem_limit_bytes = 512ull << 20},
                        {.used_cores = 1.5, .resident_bytes = 500'000'000});
    ASSERT_TRUE(mesos_->start(HostPort{"127.0.0.1", 0}).ok());
  }

  // Starts `argv` and returns the port it logs "listening on", 0 on failure.
  int startListening(std::unique_ptr<ChildProcess>& child, const std::vector<std::string>& argv,
                     const std::vector<std::string>& environment) {
    child = testing::spawn(argv, environment);
    const std::string line = child->waitForLine("listening on", std::min(remaining(), 15'000ms));
    const int port = listeningPort(line);
    if (port == 0) ADD_FAILURE() << argv[1] << " did not log its port; output:\n" << child->output();
    return port;
  }

  // The shipped Marathon app `file` with one instance on its real port.
  std::string shippedApp(const std::string& file, int port) {
    const std::string path = kSourceDir + "/deploy/marathon/" + file;
    auto document = json::parse(readFile(path), path);
    if (!document) {
      ADD_FAILURE() << document.error().message();
      return {};
    }
    auto& app = *document;
    if (!app.IsObject() || !app.HasMember("instances") || !app.HasMember("portDefinitions") ||
        !app["portDefinitions"].IsArray() || app["portDefinitions"].Empty() ||
        !app["portDefinitions"][0].HasMember("port")) {
      ADD_FAILURE() << path << ": expected instances and portDefinitions[0].port";
      return {};
    }
    app["instances"].SetInt(1);
    app["portDefinitions"][0]["port"].SetInt(port);
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    app.Accept(writer);
    return buffer.GetString();
  }

  // deploy/prometheus/prometheus.yml with the test's Marathon, intervals and
  // Alertmanager, next to a copy of rules/ (it loads rules/*.yml relative to itself).
  void writePrometheusConfig(const std::string& marathon_url) {
    const std::string shipped = kSourceDir + "/deploy/prometheus";
    std::string config = readFile(shipped + "/prometheus.yml");
    ASSERT_FALSE(config.empty()) << shipped << "/prometheus.yml";
    // Each: what to find, its replacement, what it is (the shipped file must
    // have it). A find ending in ':' replaces the setting's value after it.
    const std::vector<std::array<std::string, 3>> substitutions = {
        {"http://marathon.example.com:8080", marathon_url, "the placeholder Marathon URL"},
        {"scrape_interval:", "1s", "scrape_interval"},
        {"scrape_timeout:", "1s", "scrape_timeout"},
        {"evaluation_interval:", "1s", "evaluation_interval"},
        {"refresh_interval:", "1s", "marathon_sd refresh_interval"},
        {"alertmanager.example.com:9093", "127.0.0.1:" + std::to_string(freePort()), "the placeholder Alertmanager"},
    };
    for (const auto& [find, replacement, what] : substitutions) {
      EXPECT_GT(replaceAll(config, find, replacement), 0)
          << "deploy/prometheus/prometheus.yml has no " << what << " (" << find << "): update this test";
    }
    dir_.write("prometheus.yml", config);
    std::filesystem::copy(shipped + "/rules", dir_.path() + "/rules", std::filesystem::copy_options::recursive);
    // A group's own `interval:` (apps.yml's 1m) too: Prometheus starts each
    // group at an offset within its interval hashed from its name and file
    // (the test's temporary path), so a group of 1m was first evaluated
    // anywhere up to a minute in, once past the test's budget.
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path() + "/rules")) {
      std::string rules = readFile(entry.path().string());
      std::string rewritten;
      std::istringstream lines(rules);
      for (std::string line; std::getline(lines, line);) {
        const std::size_t key = line.find_first_not_of(' ');
        if (key != std::string::npos && line.compare(key, 9, "interval:") == 0)
          line = line.substr(0, key) + "interval: 1s";
        rewritten += line + "\n";
      }
      std::ofstream(entry.path()) << rewritten;
    }
    dir_.makeDirectories("data");
  }

  // Starts Prometheus on a free loopback port (another try when the port was
  // taken meanwhile) and returns its base URL once /-/ready answers 200.
  std::string startPrometheus() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      const std::string address = "127.0.0.1:" + std::to_string(freePort());
      prometheus_ = testing::spawn({kPrometheus, "--config.file=" + dir_.path() + "/prometheus.yml",
                                    "--storage.tsdb.path=" + dir_.path() + "/data", "--web.listen-address=" + address,
                                    "--log.level=info"});
      // Returns "" at once when Prometheus exits (bad configuration, port taken).
      const std::string ready =
          prometheus_->waitForLine("Server is ready to receive web requests", std::min(remaining(), 30'000ms));
      if (!ready.empty()) {
        const std::string base = "http://" + address;
        const std::string problem = eventually([&]() -> std::string {
          auto response = http_.get(base + "/-/ready", 2s);
          if (!response) return response.error().message();
          return response->status == 200 ? "" : "/-/ready answered " + std::to_string(response->status);
        });
        if (!problem.empty()) ADD_FAILURE() << "Prometheus never became ready: " << problem;
        return problem.empty() ? base : "";
      }
      prometheus_->stop(SIGTERM, 10s);
      prometheus_->drain(100ms);
      if (prometheus_->output().find("address already in use") == std::string::npos) break;
    }
    ADD_FAILURE() << "Prometheus did not start; output:\n" << prometheus_->output();
    return {};
  }

  // GET {prometheus}{path_and_query} as JSON with "status": "success".
  Expected<rapidjson::Document> api(const std::string& path_and_query) {
    auto response = http_.get(prometheus_url_ + path_and_query, 5s);
    if (!response) return response.error();
    auto document = json::parse(response->body, path_and_query);
    if (!document) return document.error();
    if (response->status != 200 || str(json::find(*document, "status")) != "success") {
      return Error(ErrorKind::kUnavailable, path_and_query + " answered " + std::to_string(response->status) + ": " +
                                                response->body.substr(0, 500));
    }
    return document;
  }

  // An instant query's vector result.
  Expected<std::vector<Sample>> query(const std::string& promql) {
    auto document = api("/api/v1/query?query=" + urlEncode(promql));
    if (!document) return document.error();
    const auto& data = (*document)["data"];
    if (str(json::find(data, "resultType")) != "vector") {
      return Error(ErrorKind::kInvalidValue, promql + ": not a vector");
    }
    std::vector<Sample> samples;
    for (const auto& item : data["result"].GetArray()) {
      // "value": [<unix time>, "<value as text>"]
      samples.push_back({labelsOf(item["metric"]), std::stod(item["value"][1].GetString())});
    }
    return samples;
  }

  // Polls `promql` until it returns exactly one sample; "" and that sample, or
  // what was wrong.
  Sample single(const std::string& promql) {
    Sample found;
    const std::string problem = eventually([&]() -> std::string {
      auto samples = query(promql);
      if (!samples) return samples.error().message();
      if (samples->size() != 1) return promql + " returned " + std::to_string(samples->size()) + " series";
      found = samples->front();
      return "";
    });
    if (!problem.empty()) ADD_FAILURE() << problem;
    return found;
  }

  SystemClock clock_;
  testing::TempDir dir_;
  CurlHttpClient http_;
  std::unique_ptr<testing::FakeMesosAgent> mesos_;
  std::unique_ptr<testing::FakeMarathon> marathon_;
  std::unique_ptr<ChildProcess> agent_;
  std::unique_ptr<ChildProcess> sizer_;
  std::unique_ptr<ChildProcess> prometheus_;
  std::string prometheus_url_;
  std::chrono::steady_clock::time_point deadline_;
};

TEST_F(PrometheusEndToEndTest, FindsTheAgentAndSizerThroughMarathonScrapesThemAndEvaluatesTheRules) {
  const auto started = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(startMesosDouble());

  // The agent reports host "e2e-host" (Marathon's $HOST in production) so that
  // the series' own host label can be told from the one relabelling derives
  // from the target's address (127.0.0.1).
  const int agent_port = startListening(agent_,
                                        {testing::rightsizeBinary(), "agent", "--listen", "127.0.0.1:0", "--interval",
                                         "500ms", "--window", "5s", "--host", "e2e-host"},
                                        {"RIGHTSIZE_MESOS_URL=" + mesos_->url()});
  ASSERT_NE(agent_port, 0);

  marathon_ = std::make_unique<testing::FakeMarathon>(clock_);
  ASSERT_TRUE(marathon_->start({"127.0.0.1", 0}).ok());
  const int sizer_port = startListening(sizer_,
                                        {testing::rightsizeBinary(), "sizer", "--listen", "127.0.0.1:0", "--interval",
                                         "1s", "--agents", "127.0.0.1:" + std::to_string(agent_port)},
                                        {"RIGHTSIZE_MARATHON_URL=" + marathon_->url(), "RIGHTSIZE_MODE=recommend"});
  ASSERT_NE(sizer_port, 0);

  // The shipped app definitions, each with one task on 127.0.0.1.
  for (const auto& [file, port] : {std::pair{"agent.json", agent_port}, std::pair{"sizer.json", sizer_port}}) {
    const std::string app = shippedApp(file, port);
    ASSERT_FALSE(app.empty());
    auto added = marathon_->addAppsFromJson(app, file);
    ASSERT_TRUE(added.ok()) << added.error().message();
  }

  ASSERT_NO_FATAL_FAILURE(writePrometheusConfig(marathon_->url()));
  ASSERT_FALSE(HasFailure());
  prometheus_url_ = startPrometheus();
  ASSERT_FALSE(prometheus_url_.empty());

  const std::string agent_instance = "127.0.0.1:" + std::to_string(agent_port);
  const std::string sizer_instance = "127.0.0.1:" + std::to_string(sizer_port);

  // Targets: one per app, from Marathon, at the app's port and prometheus.path.
  std::string problem = eventually([&]() -> std::string {
    auto targets = api("/api/v1/targets?state=active");
    if (!targets) return targets.error().message();
    const auto& active = (*targets)["data"]["activeTargets"];
    if (active.Size() != 2) return "active targets: " + std::to_string(active.Size()) + ", expected 2";
    for (const auto& target : active.GetArray()) {
      const std::string job = str(json::find(target["labels"], "job"));
      const std::string url = str(json::find(target, "scrapeUrl"));
      const std::string expected =
          "http://" + (job == "rightsize-agent" ? agent_instance : sizer_instance) + "/metrics";
      if (url != expected) return job + " scrapes " + url + ", expected " + expected;
      const std::string app = str(json::find(target["discoveredLabels"], "__meta_marathon_app"));
      if (app != (job == "rightsize-agent" ? "/rightsize/agent" : "/rightsize/sizer")) {
        return job + " discovered from Marathon app " + app;
      }
      if (str(json::find(target, "health")) != "up") {
        return job + " target is " + str(json::find(target, "health")) + ": " + str(json::find(target, "lastError"));
      }
    }
    return "";
  });
  ASSERT_EQ(problem, "");

  // up: target labels from the shipped relabelling.
  const Sample agent_up = single(R"(up{job="rightsize-agent"})");
  EXPECT_EQ(agent_up.value, 1);
  EXPECT_EQ(agent_up.labels, (Labels{{"__name__", "up"},
                                     {"job", "rightsize-agent"},
                                     {"instance", agent_instance},
                                     {"host", "127.0.0.1"},
                                     {"env", "prod"},
                                     {"marathon_app", "/rightsize/agent"}}));
  const Sample sizer_up = single(R"(up{job="rightsize-sizer"})");
  EXPECT_EQ(sizer_up.value, 1);
  EXPECT_EQ(sizer_up.labels, (Labels{{"__name__", "up"},
                                     {"job", "rightsize-sizer"},
                                     {"instance", sizer_instance},
                                     {"host", "127.0.0.1"},
                                     {"env", "prod"},
                                     {"marathon_app", "/rightsize/sizer"}}));

  // A container's series keep their own labels (honor_labels): host from the
  // agent, env from the task's label; the target adds job, instance and
  // marathon_app.
  const Sample web = single(R"(rightsize_container_cpu_reserved_cores{app_id="/web"})");
  EXPECT_DOUBLE_EQ(web.value, 1.1);
  EXPECT_EQ(web.labels, (Labels{{"__name__", "rightsize_container_cpu_reserved_cores"},
                                {"app_id", "/web"},
                                {"task_id", "web.instance-6a3e0d2c-1d6f-11ee-be56-0242ac120002._app.1"},
                                {"container_id", "c-web"},
                                {"host", "e2e-host"},
                                {"env", "staging"},
                                {"instance_type", "m5.xlarge"},
                                {"job", "rightsize-agent"},
                                {"instance", agent_instance},
                                {"marathon_app", "/rightsize/agent"}}))
      << describe(web.labels);
  // A series without env gets the scraped app's env label.
  const Sample batch = single(R"(rightsize_container_cpu_reserved_cores{app_id="/batch"})");
  EXPECT_DOUBLE_EQ(batch.value, 2.1);
  EXPECT_EQ(batch.labels.count("env") ? batch.labels.at("env") : "", "prod") << describe(batch.labels);
  EXPECT_EQ(batch.labels.count("host") ? batch.labels.at("host") : "", "e2e-host") << describe(batch.labels);

  const Sample leader = single("rightsize_sizer_is_leader");
  EXPECT_EQ(leader.value, 1);  // recommend mode without Redis: the only sizer leads
  EXPECT_EQ(leader.labels, (Labels{{"__name__", "rightsize_sizer_is_leader"},
                                   {"job", "rightsize-sizer"},
                                   {"instance", sizer_instance},
                                   {"host", "127.0.0.1"},
                                   {"env", "prod"},
                                   {"marathon_app", "/rightsize/sizer"}}));

  // Each app's band as the sizer validated it (the defaults here: the
  // shipped apps have no band labels), which the hot-spot rule and the
  // dashboard compare the lying factor with.
  EXPECT_DOUBLE_EQ(single(R"(rightsize_app_cpu_band_low_cores{app_id="/rightsize/agent"})").value, -0.1);
  EXPECT_DOUBLE_EQ(single(R"(rightsize_app_memory_band_high_bytes{app_id="/rightsize/agent"})").value,
                   512.0 * 1024 * 1024);

  // Rules: every shipped group loaded from the copied rules/, every rule
  // evaluated without error, and on these data exactly the alerts the data call
  // for are pending (they all have a "for"): the busy host and /batch's
  // memory, labelled with the measured host and app, not the scraped ones.
  const auto shipped = shippedRuleGroups(kSourceDir + "/deploy/prometheus/rules");
  ASSERT_GE(shipped.size(), 3u);
  const std::map<std::string, std::vector<Labels>> pending = {
      {"RightsizeHostCpuHotSpot", {{{"host", "e2e-host"}, {"env", "prod"}}}},
      {"RightsizeContainerMemoryNearLimit", {{{"app_id", "/batch"}, {"host", "e2e-host"}, {"env", "prod"}}}},
  };
  problem = eventually([&]() -> std::string {
    auto rules = api("/api/v1/rules");
    if (!rules) return rules.error().message();
    std::map<std::string, const rapidjson::Value*> served;
    for (const auto& group : (*rules)["data"]["groups"].GetArray()) served[str(json::find(group, "name"))] = &group;
    if (served.size() != shipped.size()) {
      return "Prometheus has " + std::to_string(served.size()) + " rule groups, deploy/ " +
             std::to_string(shipped.size());
    }
    for (const auto& [name, expected] : shipped) {
      if (!served.contains(name)) return "rule group " + name + " not loaded";
      const auto& group = *served[name];
      const std::string file = str(json::find(group, "file"));
      if (!file.ends_with("/rules/" + expected.file)) return name + " loaded from " + file;
      const auto& rules_served = group["rules"];
      if (rules_served.Size() != expected.rules.size()) return name + ": rule count differs";
      for (rapidjson::SizeType i = 0; i < rules_served.Size(); ++i) {
        const auto& rule = rules_served[i];
        const std::string rule_name = str(json::find(rule, "name"));
        if (rule_name != expected.rules[i]) return name + ": rule " + rule_name + ", expected " + expected.rules[i];
        if (str(json::find(rule, "health")) != "ok") {
          return rule_name + " health " + str(json::find(rule, "health")) + " " + str(json::find(rule, "lastError"));
        }
        if (str(json::find(rule, "type")) != "alerting") continue;
        const std::string state = str(json::find(rule, "state"));
        const auto want = pending.find(rule_name);
        if (want == pending.end()) {
          if (state != "inactive") return rule_name + " is " + state + ", expected inactive";
          continue;
        }
        if (state != "pending") return rule_name + " is " + state + ", expected pending";
        const auto& alerts = rule["alerts"];
        if (alerts.Size() != want->second.size()) {
          return rule_name + ": " + std::to_string(alerts.Size()) + " alerts, expected " +
                 std::to_string(want->second.size());
        }
        for (rapidjson::SizeType a = 0; a < alerts.Size(); ++a) {
          const Labels labels = labelsOf(alerts[a]["labels"]);
          for (const auto& [label, value] : want->second[a]) {
            if (!labels.contains(label) || labels.at(label) != value) {
              return rule_name + " alert " + describe(labels) + " lacks " + label + "=\"" + value + "\"";
            }
          }
          for (const auto& scraped : {"marathon_app", "job", "instance"}) {
            if (labels.contains(scraped)) return rule_name + " alert keeps " + scraped + ": " + describe(labels);
          }
        }
      }
      if (str(json::find(group, "lastEvaluation")).starts_with("0001-")) return name + " never evaluated";
    }
    return "";
  });
  EXPECT_EQ(problem, "");

  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  std::cout << "end to end in " << took.count() << " ms\n";
}

}  // namespace
}  // namespace rightsize::deploy
