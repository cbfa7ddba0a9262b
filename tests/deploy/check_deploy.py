#!/usr/bin/python3
"""Checks of deploy/ that the configuration tools themselves do not make.

Run by ctest (tests/deploy/CMakeLists.txt), one subcommand per test:

  marathon    deploy/marathon/*.json against Marathon's AppDefinition schema,
              and what the agent and sizer need (ports, volumes, health
              checks, env names matching the flags, secrets kept secret)
  rules       every alert's labels and annotations, runbook anchors, alerts
              about containers carrying app_id, a firing and a quiet unit
              test each; every recording rule named level:metric:operations
              after a metric it reads, with a unit test of its samples
  metrics     every metric named by rules, rule tests and the dashboard is one
              of the original list below (all in docs/api.md; or the
              project's own below, or `up`) and emitted by exporters/src
  dashboard   deploy/grafana/rightsize.json: variables, panels, and every
              query valid PromQL (checked by promtool)
  routes      deploy/alertmanager/alertmanager.yml routes hot spots to the
              sizer's webhook and the rest to the default receiver (amtool)
  systemd     deploy/systemd/*.service: systemd-analyze verify and security
  envfiles    deploy/systemd/*.env.example name only real variables
  docker      deploy/docker/Dockerfile installs what scripts/setup builds with

Uses Debian's python3-yaml and python3-jsonschema (run with /usr/bin/python3).
A missing tool or module is a failure that names the package to install.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# The original contract's metric list (all in docs/api.md, "Metrics"). Kept
# here so that the check runs from the repository alone; --design cross-checks
# it against ../shared/DESIGN.md, where it started, when that file is present.
DESIGN_METRICS = {
    "rightsize_container_cpu_reserved_cores",
    "rightsize_container_cpu_used_cores",
    "rightsize_container_cpu_used_cores_avg",
    "rightsize_container_cpu_lying_factor_cores",
    "rightsize_container_cpu_throttled_ratio",
    "rightsize_container_memory_reserved_bytes",
    "rightsize_container_memory_used_bytes",
    "rightsize_container_memory_lying_factor_bytes",
    "rightsize_host_cpu_used_cores",
    "rightsize_host_cpu_capacity_cores",
    "rightsize_kafka_consumer_lag_messages",
    "rightsize_kafka_consumer_lag_seconds",
    "rightsize_kafka_consumer_committed_offset",
    "rightsize_kafka_partition_high_watermark",
    "rightsize_kafka_consumer_status",
    "rightsize_agent_errors_total",
    "rightsize_agent_cycle_duration_seconds",
    "rightsize_app_cpu_recommended_cores",
    "rightsize_app_memory_recommended_bytes",
    "rightsize_resizes_total",
    "rightsize_marathon_requests_total",
    "rightsize_sizer_is_leader",
    "rightsize_sizer_cycle_duration_seconds",
    "rightsize_sizer_errors_total",
}
# The project's own metrics beyond that list that deploy/ uses (listed in
# deploy/README.md and docs/api.md): each app's lying-factor band as the sizer
# judges it, so that the hot-spot rule and the dashboard use the app's band,
# not the default, and the age of each resize in flight; the containers'
# hard limits apart from their requests (Marathon's resourceLimits), against
# which the memory alert judges "near the limit".
PROJECT_METRICS = {
    "rightsize_container_cpu_limit_cores",
    "rightsize_container_cpu_throttled_cores",
    "rightsize_container_cpu_used_above_request_cores",
    "rightsize_container_memory_limit_bytes",
    "rightsize_container_memory_used_bytes_peak",
    "rightsize_app_cpu_band_low_cores",
    "rightsize_app_cpu_band_high_cores",
    "rightsize_app_memory_band_low_bytes",
    "rightsize_app_memory_band_high_bytes",
    "rightsize_app_deployment_age_seconds",
    "rightsize_app_oom_kills_total",
    "rightsize_app_usage_anomaly",
    "rightsize_app_usage_anomaly_score",
    "rightsize_app_cpu_forecast_peak_cores",
    "rightsize_sizer_apps",
    "rightsize_sizer_apps_waiting_for_slot",
    # Fleet capacity (docs/capacity.md, issue 20).
    "rightsize_cluster_free_cores",
    "rightsize_cluster_headroom_needed_cores",
    "rightsize_cluster_free_bytes",
    "rightsize_cluster_headroom_needed_bytes",
}
HISTOGRAMS = {"rightsize_agent_cycle_duration_seconds", "rightsize_sizer_cycle_duration_seconds"}
# Series Prometheus itself writes for every target.
STANDARD_METRICS = {"up"}

# Secrets: read from the environment (or VAR_FILE), never from a flag.
SECRET_VARIABLES = {
    "sizer": {
        "RIGHTSIZE_MARATHON_TOKEN",
        "RIGHTSIZE_MARATHON_USER",
        "RIGHTSIZE_MARATHON_PASSWORD",
        "RIGHTSIZE_REDIS_PASSWORD",
        "RIGHTSIZE_WEBHOOK_TOKEN",
    },
    "agent": {"RIGHTSIZE_REDIS_PASSWORD"},
}
# Alerts Alertmanager sends to the sizer's webhook.
HOT_SPOT_ALERTS = {
    "RightsizeContainerCpuHotSpot",
    "RightsizeContainerCpuThrottled",
    "RightsizeContainerMemoryNearLimit",
}
SEVERITIES = {"critical", "warning", "info"}


class Failures:
    def __init__(self):
        self.messages = []

    def __call__(self, where, message):
        self.messages.append(f"{where}: {message}")

    def report(self, what):
        for message in self.messages:
            print(f"FAIL {message}", file=sys.stderr)
        if self.messages:
            print(f"{what}: {len(self.messages)} problem(s)", file=sys.stderr)
            return 1
        print(f"{what}: ok")
        return 0


def need_module(name, package):
    try:
        return __import__(name)
    except ImportError:
        sys.exit(f"python module '{name}' missing: apt-get install {package} (and run with /usr/bin/python3)")


def need_tool(path, package):
    if not path or not (os.path.isfile(path) and os.access(path, os.X_OK)) and not shutil.which(path):
        sys.exit(f"'{path}' not found: apt-get install {package}")
    return shutil.which(path) or path


def load_yaml(path):
    yaml = need_module("yaml", "python3-yaml")
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def rel(path, root):
    return os.path.relpath(path, root)


# --- PromQL -----------------------------------------------------------------

PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
    "offset", "inf", "nan", "atan2",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.$])([A-Za-z_:][\w:]*)(\s*\()?")


def promql_metrics(expr):
    """Metric names an expression selects (functions, keywords, label names
    and Grafana variables left out)."""
    names = set()
    label_values = re.fullmatch(r"\s*label_values\((.*)\)\s*", expr, re.S)
    if label_values:
        # label_values(label) or label_values(selector, label)
        arguments = label_values.group(1)
        if "," not in arguments:
            return names
        expr = arguments.rsplit(",", 1)[0]
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = _GROUPING.sub(" ", text)
    for match in _IDENTIFIER.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in PROMQL_KEYWORDS:
            continue
        names.add(name)
    return names


def known_metric(name):
    if name in DESIGN_METRICS or name in PROJECT_METRICS or name in STANDARD_METRICS:
        return True
    for base in HISTOGRAMS:
        if name in (base + "_bucket", base + "_sum", base + "_count"):
            return True
    return False


def exported_base(name):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[: -len(suffix)] in HISTOGRAMS:
            return name[: -len(suffix)]
    return name


# --- marathon ---------------------------------------------------------------

def cli_flags(source_dir, command):
    """Long flags that `rightsize <command>` declares (cli/<command>_command.cc, and the cli/ helpers it
    includes that declare flags of their own, such as policy_flags.cc)."""
    path = os.path.join(source_dir, "cli", f"{command}_command.cc")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    headers = os.path.join(source_dir, "cli", f"{command}_command.h")
    included = set(re.findall(r'#include "([a-z_]+)\.h"', text))
    if os.path.exists(headers):
        with open(headers, encoding="utf-8") as f:
            included |= set(re.findall(r'#include "([a-z_]+)\.h"', f.read()))
    for name in sorted(included):
        helper = os.path.join(source_dir, "cli", f"{name}.cc")
        if name != f"{command}_command" and name != "flags" and os.path.exists(helper):
            with open(helper, encoding="utf-8") as f:
                text += f.read()
    flags = set(re.findall(r'(?:addFlag\(\*?command,|add_option\(|add_flag\(|envNameFor\()\s*"(--[a-z0-9-]+)"', text))
    if not flags:
        sys.exit(f"{path}: no flags found (has the way flags are declared changed?)")
    return flags


def env_name(flag):
    return "RIGHTSIZE_" + flag.lstrip("-").replace("-", "_").upper()


def allowed_variables(source_dir, command):
    names = {env_name(flag) for flag in cli_flags(source_dir, command)}
    for secret in SECRET_VARIABLES[command]:
        names |= {secret, secret + "_FILE"}
    return names


def listen_port(value):
    match = re.fullmatch(r".*:(\d+)", value or "")
    return int(match.group(1)) if match else None


def check_marathon(args):
    jsonschema = need_module("jsonschema", "python3-jsonschema")
    fail = Failures()
    with open(args.schema, encoding="utf-8") as f:
        schema = json.load(f)
    resolver = jsonschema.RefResolver(base_uri="file://" + os.path.abspath(args.schema), referrer=schema)
    validator = jsonschema.Draft4Validator(schema, resolver=resolver)
    expected = {
        "agent": {"id": "/rightsize/agent", "port": 9540},
        "sizer": {"id": "/rightsize/sizer", "port": 9541},
    }
    for command, want in expected.items():
        path = os.path.join(args.deploy_dir, "marathon", f"{command}.json")
        where = rel(path, args.source_dir)
        try:
            with open(path, encoding="utf-8") as f:
                app = json.load(f)
        except (OSError, ValueError) as e:
            fail(where, f"unreadable: {e}")
            continue
        for error in sorted(validator.iter_errors(app), key=lambda e: list(e.absolute_path)):
            location = "/".join(str(p) for p in error.absolute_path) or "(root)"
            fail(where, f"schema: at {location}: {error.message}")

        if app.get("id") != want["id"]:
            fail(where, f"id is {app.get('id')!r}, expected {want['id']!r} (prometheus.yml and --agent-app use it)")
        if ["hostname", "UNIQUE"] not in app.get("constraints", []):
            fail(where, "needs the constraint [\"hostname\", \"UNIQUE\"]")
        if not isinstance(app.get("instances"), int) or app["instances"] < 1:
            fail(where, "instances must be a positive integer")
        if command == "sizer" and app.get("instances") != 2:
            fail(where, "the sizer runs 2 instances (one leader, one standby)")
        networks = app.get("networks", [])
        if [n.get("mode") for n in networks] != ["host"]:
            fail(where, "needs host networking: \"networks\": [{\"mode\": \"host\"}]")
        ports = [p.get("port") for p in app.get("portDefinitions", [])]
        if ports[:1] != [want["port"]] or app.get("requirePorts") is not True:
            fail(where, f"needs portDefinitions[0].port {want['port']} with requirePorts true")
        env = app.get("env", {})
        if listen_port(env.get("RIGHTSIZE_LISTEN")) != want["port"]:
            fail(where, f"RIGHTSIZE_LISTEN must listen on port {want['port']}")

        checks = app.get("healthChecks", [])
        if not any(c.get("path") == "/healthz" and c.get("protocol") in ("MESOS_HTTP", "HTTP")
                   and c.get("portIndex", 0) == 0 and "port" not in c for c in checks):
            fail(where, "needs an HTTP or MESOS_HTTP health check on /healthz, port index 0")

        labels = app.get("labels", {})
        if labels.get("prometheus.scrape") != "true" or labels.get("prometheus.path") != "/metrics":
            fail(where, "needs the labels prometheus.scrape=true and prometheus.path=/metrics")

        allowed = allowed_variables(args.source_dir, command)
        secrets = app.get("secrets", {})
        for name, value in env.items():
            if name.startswith("RIGHTSIZE_") and name not in allowed:
                fail(where, f"env {name} is no flag of `rightsize {command}` nor a secret it reads")
            if name in SECRET_VARIABLES[command]:
                if not isinstance(value, dict):
                    fail(where, f"env {name} is a secret: give it as {{\"secret\": \"...\"}}, not in clear")
                elif value.get("secret") not in secrets:
                    fail(where, f"env {name} names the secret {value.get('secret')!r}, not declared in secrets")
        for name in secrets:
            if not any(isinstance(v, dict) and v.get("secret") == name for v in env.values()):
                fail(where, f"secret {name!r} is declared but no env variable uses it")

        if command == "agent":
            volumes = {v.get("hostPath"): v for v in app.get("container", {}).get("volumes", [])}
            for host_path, variable in (("/sys/fs/cgroup", "RIGHTSIZE_CGROUP_ROOT"), ("/proc", "RIGHTSIZE_PROC_ROOT")):
                volume = volumes.get(host_path)
                if volume is None or volume.get("mode") != "RO":
                    fail(where, f"needs a read-only volume of the host's {host_path}")
                elif env.get(variable) != volume.get("containerPath"):
                    fail(where, f"{variable} must be the containerPath of the {host_path} volume")
        if command == "sizer":
            for group in (("RIGHTSIZE_MARATHON_TOKEN",), ("RIGHTSIZE_MARATHON_USER", "RIGHTSIZE_MARATHON_PASSWORD")):
                present = [name in env for name in group]
                if any(present) and not all(present):
                    fail(where, f"{' and '.join(group)} go together")
            for name in ("RIGHTSIZE_MARATHON_URL", "RIGHTSIZE_REDIS", "RIGHTSIZE_MODE", "RIGHTSIZE_REDIS_PASSWORD",
                         "RIGHTSIZE_WEBHOOK_TOKEN"):
                if name not in env:
                    fail(where, f"needs env {name}")
            if not ("RIGHTSIZE_MARATHON_TOKEN" in env or "RIGHTSIZE_MARATHON_USER" in env):
                fail(where, "needs Marathon credentials (RIGHTSIZE_MARATHON_TOKEN or _USER and _PASSWORD)")
    return fail.report("marathon")


# --- rules ------------------------------------------------------------------

def github_anchor(heading):
    anchor = heading.strip().lower()
    anchor = re.sub(r"[^\w\- ]", "", anchor)
    return anchor.replace(" ", "-")


def load_rules(deploy_dir):
    rules_dir = os.path.join(deploy_dir, "prometheus", "rules")
    alerts = {}
    for name in sorted(os.listdir(rules_dir)):
        if not name.endswith(".yml"):
            continue
        path = os.path.join(rules_dir, name)
        for group in (load_yaml(path) or {}).get("groups", []):
            for rule in group.get("rules", []):
                key = rule.get("alert") or rule.get("record")
                alerts[key] = dict(rule, _file=path)
    return alerts


def load_rule_tests(deploy_dir):
    tests_dir = os.path.join(deploy_dir, "prometheus", "tests")
    out = []
    for name in sorted(os.listdir(tests_dir)):
        if name.endswith(".yml"):
            path = os.path.join(tests_dir, name)
            out.append((path, load_yaml(path) or {}))
    return out


def check_rules(args):
    fail = Failures()
    alerts = load_rules(args.deploy_dir)
    if not alerts:
        fail("deploy/prometheus/rules", "no rules found")
    with open(os.path.join(args.deploy_dir, "runbook.md"), encoding="utf-8") as f:
        anchors = {github_anchor(line[3:]) for line in f if line.startswith("## ")}

    per_app = set()
    for name, rule in alerts.items():
        where = f"{rel(rule['_file'], args.source_dir)}: {name}"
        if "alert" not in rule:
            continue
        labels = rule.get("labels", {})
        annotations = rule.get("annotations", {})
        if labels.get("severity") not in SEVERITIES:
            fail(where, f"severity label must be one of {sorted(SEVERITIES)}")
        for key in ("summary", "description", "runbook"):
            if not annotations.get(key):
                fail(where, f"needs a {key} annotation")
        runbook = annotations.get("runbook", "")
        match = re.fullmatch(r"deploy/runbook\.md#([\w-]+)", runbook)
        if not match or match.group(1) not in anchors:
            fail(where, f"runbook {runbook!r} is no section of deploy/runbook.md")
        # Alerts about containers name the app: the sizer's webhook acts on
        # app_id. (The Kafka lag alert is one per partition, whichever apps
        # read it, and goes to people.)
        if any(m.startswith("rightsize_container_") for m in promql_metrics(rule["expr"])):
            per_app.add(name)

    # Recorded series are read by `rightsize report` and the sizer: named
    # level:metric:operations after a real metric (docs/recording_rules.md).
    records = {name: rule for name, rule in alerts.items() if "record" in rule}
    for name, rule in records.items():
        where = f"{rel(rule['_file'], args.source_dir)}: {name}"
        match = re.fullmatch(r"[a-z_]+:([a-z0-9_]+):[a-z0-9_]+", name)
        # The metric as named, or a counter without its _total.
        metric = match and ({match.group(1), match.group(1) + "_total"} & promql_metrics(rule["expr"]))
        if not match:
            fail(where, "a recorded series is named level:metric:operations")
        elif not metric or not all(known_metric(m) for m in metric):
            fail(where, f"{match.group(1)!r} is no metric its expression reads")

    fired, quiet, recorded = set(), set(), set()
    for path, suite in load_rule_tests(args.deploy_dir):
        for test in suite.get("tests", []):
            for case in test.get("promql_expr_test", []) or []:
                if case.get("exp_samples"):
                    recorded |= promql_metrics(case.get("expr", "")) & set(records)
            for case in test.get("alert_rule_test", []) or []:
                name = case.get("alertname")
                expected = case.get("exp_alerts") or []
                (fired if expected else quiet).add(name)
                if name not in alerts:
                    fail(rel(path, args.source_dir), f"tests the unknown alert {name}")
                for alert in expected:
                    if name in per_app and not alert.get("exp_labels", {}).get("app_id"):
                        fail(rel(path, args.source_dir),
                             f"{name} is per app: its alerts must carry app_id (the sizer's webhook acts on it)")
    for name, rule in alerts.items():
        if "alert" not in rule:
            continue
        if name not in fired:
            fail(name, "no unit test in deploy/prometheus/tests where it fires")
        if name not in quiet:
            fail(name, "no unit test in deploy/prometheus/tests where it stays quiet")
    for name in sorted(set(records) - recorded):
        fail(name, "no promql_expr_test in deploy/prometheus/tests with samples of it")
    missing_hot_spots = HOT_SPOT_ALERTS - set(alerts)
    if missing_hot_spots:
        fail("deploy/prometheus/rules", f"hot-spot alerts missing: {sorted(missing_hot_spots)}")
    return fail.report("rules")


# --- metrics ----------------------------------------------------------------

def design_metrics(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`(rightsize_[a-z0-9_]+)", section))


def dashboard_queries(dashboard):
    """(where, expr) of every query of the dashboard, variables included."""
    out = []

    def walk(panels):
        for panel in panels:
            for target in panel.get("targets", []) or []:
                if target.get("expr"):
                    out.append((f"panel {panel.get('title')!r} target {target.get('refId')}", target["expr"]))
            walk(panel.get("panels", []) or [])

    walk(dashboard.get("panels", []))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable.get("query")
            if isinstance(query, dict):
                query = query.get("query")
            out.append((f"variable ${variable.get('name')}", query or ""))
    return out


def check_metrics(args):
    fail = Failures()
    if args.design:
        if os.path.isfile(args.design):
            listed = design_metrics(args.design)
            if listed != DESIGN_METRICS:
                fail(args.design, "metrics differ from check_deploy.py's DESIGN_METRICS: "
                     f"only in DESIGN.md {sorted(listed - DESIGN_METRICS)}, "
                     f"only here {sorted(DESIGN_METRICS - listed)}")
        else:
            print(f"note: {args.design} not present; using the list kept in check_deploy.py")

    exported = set()
    exporters_src = os.path.join(args.source_dir, "exporters", "src")
    for name in os.listdir(exporters_src):
        with open(os.path.join(exporters_src, name), encoding="utf-8") as f:
            exported |= set(re.findall(r'"(rightsize_[a-z0-9_]+)"', f.read()))

    used = []
    for name, rule in load_rules(args.deploy_dir).items():
        used += [(f"{rel(rule['_file'], args.source_dir)}: {name}", m) for m in promql_metrics(rule["expr"])]
    for path, suite in load_rule_tests(args.deploy_dir):
        for test in suite.get("tests", []):
            for series in test.get("input_series", []) or []:
                used.append((rel(path, args.source_dir), series["series"].split("{", 1)[0].strip()))
    dashboard_path = os.path.join(args.deploy_dir, "grafana", "rightsize.json")
    with open(dashboard_path, encoding="utf-8") as f:
        dashboard = json.load(f)
    for where, expr in dashboard_queries(dashboard):
        used += [(f"{rel(dashboard_path, args.source_dir)}: {where}", m) for m in promql_metrics(expr)]

    if not used:
        fail("deploy", "no metric found in rules, rule tests or the dashboard")
    for where, metric in used:
        if not known_metric(metric):
            fail(where, f"metric {metric!r} is not one of DESIGN.md's (nor PROJECT_METRICS, nor up)")
        elif metric not in STANDARD_METRICS and exported_base(metric) not in exported:
            fail(where, f"metric {metric!r} is not written by exporters/src")
    print(f"metrics: {len(used)} uses of {len({m for _, m in used})} metrics")
    return fail.report("metrics")


# --- dashboard --------------------------------------------------------------

GRAFANA_VARIABLES = {
    "$__rate_interval": "5m", "${__rate_interval}": "5m", "$__interval": "1m", "${__interval}": "1m",
    "$__range": "1h", "${__range}": "1h",
}


def as_promql(expr):
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def check_dashboard(args):
    fail = Failures()
    path = os.path.join(args.deploy_dir, "grafana", "rightsize.json")
    where = rel(path, args.source_dir)
    try:
        with open(path, encoding="utf-8") as f:
            dashboard = json.load(f)
    except (OSError, ValueError) as e:
        fail(where, f"not JSON: {e}")
        return fail.report("dashboard")

    for key in ("title", "uid", "panels", "templating", "schemaVersion"):
        if key not in dashboard:
            fail(where, f"missing {key}")
    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    if variables.get("datasource", {}).get("type") != "datasource" or \
            variables.get("datasource", {}).get("query") != "prometheus":
        fail(where, "needs a $datasource variable of type datasource, query prometheus")
    for name in ("app_id", "env"):
        if variables.get(name, {}).get("type") != "query":
            fail(where, f"needs a query variable ${name}")

    ids = set()
    panels = []

    def walk(items):
        for panel in items:
            panels.append(panel)
            walk(panel.get("panels", []) or [])

    walk(dashboard.get("panels", []))
    for panel in panels:
        title = panel.get("title")
        if panel.get("id") in ids:
            fail(where, f"panel {title!r}: duplicate id {panel.get('id')}")
        ids.add(panel.get("id"))
        grid = panel.get("gridPos", {})
        if not all(isinstance(grid.get(k), int) for k in ("h", "w", "x", "y")) or grid.get("x", 0) + grid.get("w", 0) > 24:
            fail(where, f"panel {title!r}: bad gridPos {grid}")
        if panel.get("type") == "row":
            continue
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            fail(where, f"panel {title!r}: must use the $datasource variable")
        targets = panel.get("targets") or []
        if not targets:
            fail(where, f"panel {title!r}: no query")
        for target in targets:
            if not target.get("expr"):
                fail(where, f"panel {title!r} target {target.get('refId')}: no expr")
            if target.get("datasource", {}).get("uid") not in (None, "${datasource}"):
                fail(where, f"panel {title!r} target {target.get('refId')}: must use the $datasource variable")

    def draws_band(panel, lying_factor, band):
        # The lying factor with each app's band as the sizer reports it, the
        # default band where it reports none (as the hot-spot rule judges).
        exprs = [t.get("expr", "") for t in panel.get("targets") or []]
        return any(lying_factor in e for e in exprs) and all(
            any(f"{band}_{edge}_" in e and re.search(r"\bor\b", e) for e in exprs) for edge in ("low", "high"))

    def in_repeated_row(panel):
        # A panel repeated per app, itself or by the row it is in.
        if panel.get("repeat") == "app_id":
            return True
        row = None
        for item in dashboard.get("panels", []):
            if item is panel:
                return row is not None and row.get("repeat") == "app_id"
            if item.get("type") == "row":
                row = item
        return False

    def requests_limits_use(panel, resource, unit):
        exprs = json.dumps(panel.get("targets"))
        return in_repeated_row(panel) and all(
            f"rightsize_container_{resource}_{figure}_{unit}" in exprs for figure in ("reserved", "limit")
        ) and f"rightsize_container_{resource}_used_" in exprs

    wanted = {
        "CPU lying factor with each app's band":
            lambda p: draws_band(p, "rightsize_container_cpu_lying_factor_cores", "rightsize_app_cpu_band"),
        "memory lying factor with each app's band":
            lambda p: draws_band(p, "rightsize_container_memory_lying_factor_bytes", "rightsize_app_memory_band"),
        "Kafka lag in seconds": lambda p: "rightsize_kafka_consumer_lag_seconds" in json.dumps(p.get("targets")),
        "host CPU heat map": lambda p: p.get("type") == "heatmap" and "rightsize_host_cpu" in json.dumps(p.get("targets")),
        "sizer leader": lambda p: "rightsize_sizer_is_leader" in json.dumps(p.get("targets")),
        "resizes": lambda p: "rightsize_resizes_total" in json.dumps(p.get("targets")),
        "Marathon requests": lambda p: "rightsize_marathon_requests_total" in json.dumps(p.get("targets")),
        "reserved vs used": lambda p: "reserved" in json.dumps(p.get("targets")) and "used" in json.dumps(p.get("targets")),
        "CPU request, limit and use per app": lambda p: requests_limits_use(p, "cpu", "cores"),
        "memory request, limit and use per app": lambda p: requests_limits_use(p, "memory", "bytes"),
        "memory used against the limit, not the request":
            lambda p: "rightsize_container_memory_used_bytes" in json.dumps(p.get("targets"))
            and "rightsize_container_memory_limit_bytes" in json.dumps(p.get("targets"))
            and p.get("fieldConfig", {}).get("defaults", {}).get("unit") == "percentunit",
    }
    for what, test in wanted.items():
        if not any(test(p) for p in panels if p.get("type") != "row"):
            fail(where, f"no panel shows {what}")

    # promtool parses every query: each becomes a recording rule.
    if args.promtool:
        promtool = need_tool(args.promtool, "prometheus")
        rules = []
        for index, (what, expr) in enumerate(dashboard_queries(dashboard)):
            if expr.startswith("label_values("):
                match = re.fullmatch(r"label_values\((?:(.+),\s*)?(\w+)\)", expr)
                if not match:
                    fail(where, f"{what}: cannot read {expr!r}")
                    continue
                expr = match.group(1) or "up"
            rules.append({"record": f"dashboard:query_{index}", "expr": as_promql(expr), "labels": {"what": what}})
        with tempfile.TemporaryDirectory() as tmp:
            rules_path = os.path.join(tmp, "dashboard_queries.yml")
            with open(rules_path, "w", encoding="utf-8") as f:
                json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f, indent=1)
            result = subprocess.run([promtool, "check", "rules", rules_path], capture_output=True, text=True)
            if result.returncode != 0:
                fail(where, "promtool rejects a query:\n" + result.stdout + result.stderr)
        print(f"dashboard: promtool parsed {len(rules)} queries")
    return fail.report("dashboard")


# --- routes -----------------------------------------------------------------

def check_routes(args):
    fail = Failures()
    amtool = need_tool(args.amtool, "prometheus-alertmanager")
    config_path = os.path.join(args.deploy_dir, "alertmanager", "alertmanager.yml")
    where = rel(config_path, args.source_dir)
    config = load_yaml(config_path)
    receivers = {r["name"]: r for r in config.get("receivers", [])}
    sizer = receivers.get("rightsize-sizer", {})
    hooks = sizer.get("webhook_configs", [])
    if len(hooks) != 1 or not str(hooks[0].get("url", "")).endswith("/v1/alerts"):
        fail(where, "receiver rightsize-sizer needs one webhook to the sizer's /v1/alerts")
    else:
        authorization = hooks[0].get("http_config", {}).get("authorization", {})
        if authorization.get("type", "Bearer") != "Bearer" or not authorization.get("credentials_file"):
            fail(where, "the sizer's webhook needs bearer authorization from a credentials_file")
        if "credentials" in authorization:
            fail(where, "the sizer's webhook token belongs in a file, not in the configuration")
    if config.get("route", {}).get("receiver") != "default":
        fail(where, "the default route goes to the receiver 'default'")

    alerts = load_rules(args.deploy_dir)
    cases = []
    for name in sorted(n for n, r in alerts.items() if "alert" in r):
        labels = [f"alertname={name}", "env=prod", "severity=" + alerts[name].get("labels", {}).get("severity", "")]
        # Alerts asking to scale an app (docs/scaling.md) go to the sizer too.
        scale = alerts[name].get("labels", {}).get("rightsize_scale")
        if scale:
            labels.append(f"rightsize_scale={scale}")
        if name in HOT_SPOT_ALERTS or scale:
            cases.append((labels + ["app_id=/web"], "rightsize-sizer"))
            cases.append((labels, "default"))  # without app_id the sizer could do nothing
        else:
            cases.append((labels + ["app_id=/web"], "default"))
    for labels, receiver in cases:
        result = subprocess.run(
            [amtool, "config", "routes", "test", f"--config.file={config_path}",
             f"--verify.receivers={receiver}", *labels],
            capture_output=True, text=True)
        if result.returncode != 0:
            fail(where, f"{' '.join(labels)} should go to {receiver}, got {result.stdout.strip()!r} "
                 f"{result.stderr.strip()!r}")
    print(f"routes: {len(cases)} alerts routed")
    return fail.report("routes")


# --- systemd ----------------------------------------------------------------

def check_systemd(args):
    fail = Failures()
    analyze = need_tool(args.systemd_analyze, "systemd")
    units_dir = os.path.join(args.deploy_dir, "systemd")
    units = sorted(n for n in os.listdir(units_dir) if n.endswith(".service"))
    if sorted(units) != ["rightsize-agent.service", "rightsize-sizer.service"]:
        fail(units_dir, f"expected rightsize-agent.service and rightsize-sizer.service, found {units}")
    with tempfile.TemporaryDirectory() as tmp:
        for unit in units:
            with open(os.path.join(units_dir, unit), encoding="utf-8") as f:
                text = f.read()
            where = f"deploy/systemd/{unit}"
            for option in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes"):
                if option not in text.splitlines():
                    fail(where, f"needs {option}")
            command = "agent" if "agent" in unit else "sizer"
            if f"EnvironmentFile=/etc/rightsize/{command}.env" not in text.splitlines():
                fail(where, f"needs EnvironmentFile=/etc/rightsize/{command}.env")
            if f"ExecStart=/usr/local/bin/rightsize {command}" not in text.splitlines():
                fail(where, f"needs ExecStart=/usr/local/bin/rightsize {command}")
            if command == "agent" and not re.search(r"^ReadOnlyPaths=.*/sys/fs/cgroup", text, re.M):
                fail(where, "needs ReadOnlyPaths=/sys/fs/cgroup ...")
            # The binary is not installed here: verify the unit around a stand-in.
            with open(os.path.join(tmp, unit), "w", encoding="utf-8") as f:
                f.write(text.replace("/usr/local/bin/rightsize", "/bin/true"))
        paths = [os.path.join(tmp, u) for u in units]
        result = subprocess.run([analyze, "verify", *paths], capture_output=True, text=True)
        output = (result.stdout + result.stderr).strip()
        # verify only warns (exit 0) about unknown options or bad values: any output is a failure.
        if result.returncode != 0 or output:
            fail("deploy/systemd", f"systemd-analyze verify:\n{output}")
        for path in paths:
            result = subprocess.run([analyze, "security", "--offline=true", "--threshold=30", path],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                summary = [line for line in result.stdout.splitlines() if "Overall exposure" in line]
                fail(f"deploy/systemd/{os.path.basename(path)}",
                     f"systemd-analyze security: exposure above 3.0 {summary}{result.stderr.strip()}")
    return fail.report("systemd")


def check_envfiles(args):
    fail = Failures()
    for command in ("agent", "sizer"):
        path = os.path.join(args.deploy_dir, "systemd", f"{command}.env.example")
        allowed = allowed_variables(args.source_dir, command)
        seen = set()
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                match = re.fullmatch(r"([A-Z0-9_]+)=(.*)", line)
                if not match:
                    fail(f"{rel(path, args.source_dir)}:{number}", f"not NAME=value: {line!r}")
                    continue
                if match.group(1) not in allowed:
                    fail(f"{rel(path, args.source_dir)}:{number}",
                         f"{match.group(1)} is no flag of `rightsize {command}` nor a secret it reads")
                seen.add(match.group(1))
        flags = {env_name(flag) for flag in cli_flags(args.source_dir, command)}
        for name in sorted(flags - seen):
            fail(rel(path, args.source_dir), f"does not mention {name}")
    return fail.report("envfiles")


# --- docker -----------------------------------------------------------------

def setup_packages(source_dir):
    with open(os.path.join(source_dir, "scripts", "setup"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"packages=\((.*?)\n\)", text, re.S).group(1)
    sections, current = {}, None
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("#"):
            current = line.lstrip("# ").split(":")[0]
            sections.setdefault(current, [])
        elif line and current:
            sections[current] += line.split()
    return sections


def check_docker(args):
    fail = Failures()
    path = os.path.join(args.deploy_dir, "docker", "Dockerfile")
    where = rel(path, args.source_dir)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    if len(stages) != 2 or not all(s.startswith("debian:bookworm") for s in stages):
        fail(where, "expected two stages FROM debian:bookworm(-slim)")
        return fail.report("docker")

    def installed(stage):
        packages = []
        for command in re.findall(r"apt-get install ((?:\\\n|[^\n])*)", stage):
            packages += [w for w in command.replace("\\\n", " ").split() if not w.startswith("-")]
        return {p for p in packages if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", p) and p not in ("apt-get", "rm")}

    build, runtime = installed(stages[0]), installed(stages[1])
    sections = setup_packages(args.source_dir)
    for section in ("toolchain", "libraries"):
        if section not in sections:
            fail("scripts/setup", f"no '# {section}' section in packages")
        for package in sections.get(section, []):
            if package not in build:
                fail(where, f"build stage lacks {package} (scripts/setup, {section})")
    for package in runtime:
        if package.endswith("-dev") or package in ("g++", "cmake", "make", "pkg-config"):
            fail(where, f"runtime stage installs the build-time package {package}")
    for needed in ("ca-certificates", "libcurl4", "librdkafka1", "libhiredis0.14", "libcivetweb1",
                   "libprometheus-cpp-core1.0", "libspdlog1.10"):
        if needed not in runtime:
            fail(where, f"runtime stage lacks {needed}")
    if not re.search(r'^ENTRYPOINT \["rightsize"\]', text, re.M):
        fail(where, 'needs ENTRYPOINT ["rightsize"]')
    users = re.findall(r"^USER (\S+)", stages[1], re.M)
    if not users or users[-1] in ("root", "0"):
        fail(where, "the runtime image must run as a non-root user")
    return fail.report("docker")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=["marathon", "rules", "metrics", "dashboard", "routes", "systemd",
                                          "envfiles", "docker"])
    here = os.path.dirname(os.path.abspath(__file__))
    default_source = os.path.dirname(os.path.dirname(here))
    parser.add_argument("--source-dir", default=default_source)
    parser.add_argument("--deploy-dir", default=None)
    parser.add_argument("--schema", default=os.path.join(here, "marathon-schema", "AppDefinition.json"))
    parser.add_argument("--design", default=None, help="DESIGN.md to cross-check the metric list against")
    parser.add_argument("--promtool", default=None)
    parser.add_argument("--amtool", default="amtool")
    parser.add_argument("--systemd-analyze", default="systemd-analyze")
    args = parser.parse_args()
    args.deploy_dir = args.deploy_dir or os.path.join(args.source_dir, "deploy")
    checks = {
        "marathon": check_marathon, "rules": check_rules, "metrics": check_metrics, "dashboard": check_dashboard,
        "routes": check_routes, "systemd": check_systemd, "envfiles": check_envfiles, "docker": check_docker,
    }
    return checks[args.check](args)


if __name__ == "__main__":
    sys.exit(main())
