#!/usr/bin/python3
"""Drives the fake Marathon with a real Marathon client (Debian's
python3-marathon, `from marathon import MarathonClient`) and checks what it
gets back: the double must be usable by clients written against Marathon.

    marathon_client_check.py URL

Expects an app /team/web (cpus 0.5, mem 256, 2 instances, label
rightsize.enabled=true), an app /crashy (mem 128, 3 instances, one health
check, backoffSeconds 3600) of which one task was OOM-killed and one fails its
health check, and deployments that take well under 20 s. Prints "ok" and exits
0 when every check passes; otherwise prints what failed to stderr and exits 1.
"""

import sys
import time

try:
    from marathon import MarathonClient
    from marathon.exceptions import ConflictError, NotFoundError
except ImportError as e:
    sys.stderr.write(f"python3-marathon is missing ({e}): apt-get install python3-marathon\n")
    sys.exit(2)

APP = "/team/web"
CRASHY = "/crashy"


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def check_failures(client):
    """lastTaskFailure, the launch queue and health counts, read through the
    client's models."""
    crashy = client.get_app(CRASHY)  # GET /v2/apps/{id} embeds the last failure
    failure = crashy.last_task_failure
    check(failure is not None, "get_app: no last_task_failure")
    check(failure.app_id == CRASHY and failure.state == "TASK_FAILED" and failure.task_id and failure.slave_id
          and failure.host and failure.version == crashy.version and failure.timestamp is not None,
          f"get_app: last_task_failure {failure.json_repr()}")
    check(failure.message.startswith("Memory limit exceeded: Requested: 160MB Maximum Used: 160MB\n"),
          f"get_app: last_task_failure message {failure.message!r}")
    check(failure.task_id not in {t.id for t in crashy.tasks}, "get_app: the failed task is still listed")

    embedded = {app.id: app for app in client.list_apps(embed_last_task_failure=True)}
    check(embedded[CRASHY].last_task_failure == failure,
          f"list_apps(embed_last_task_failure): {embedded[CRASHY].last_task_failure}")
    check(embedded[APP].last_task_failure is None, "list_apps: a last_task_failure for an app that never failed")
    plain = {app.id: app for app in client.list_apps()}
    check(plain[CRASHY].last_task_failure is None, "list_apps: last_task_failure without embed")
    for app in (plain[CRASHY], embedded[CRASHY], crashy):
        counts = (app.instances, app.tasks_staged, app.tasks_running, app.tasks_healthy, app.tasks_unhealthy)
        check(counts == (3, 0, 2, 1, 1), f"counts (instances, staged, running, healthy, unhealthy): {counts}")
    alive = sorted(result.alive for task in crashy.tasks for result in task.health_check_results)
    check(alive == [False, True], f"get_app: health check results {alive}")
    sick = [result for task in crashy.tasks for result in task.health_check_results if not result.alive]
    check(sick[0].consecutive_failures == 1 and sick[0].last_failure is not None,
          f"get_app: failing health check {sick[0].json_repr()}")

    queue = client.list_queue()
    check([item.app.id for item in queue] == [CRASHY], f"list_queue: {queue}")
    item = queue[0]
    check(item.count == 1 and item.app.version == crashy.version and item.since is not None,
          f"list_queue: {item.json_repr()}")
    check(item.delay.overdue is False and 3500 < item.delay.time_left_seconds <= 3600,
          f"list_queue: delay {item.delay.json_repr()}")


def main(url):
    client = MarathonClient([url], timeout=10)
    check_failures(client)

    apps = client.list_apps(embed_tasks=True)
    by_id = {app.id: app for app in apps}
    check(APP in by_id, f"list_apps: {APP} missing from {sorted(by_id)}")
    web = by_id[APP]
    check(web.cpus == 0.5 and web.mem == 256, f"list_apps: cpus/mem {web.cpus}/{web.mem}")
    check(web.instances == 2 and web.tasks_running == 2, f"list_apps: {web.instances} instances, {web.tasks_running} running")
    check(len(web.tasks) == 2, f"list_apps(embed_tasks): {len(web.tasks)} tasks")
    for task in web.tasks:
        check(task.app_id == APP and task.host and task.ports and task.slave_id,
              f"list_apps: task fields {task.json_repr()}")
        check(task.started_at is not None and task.staged_at is not None, f"list_apps: task times {task.id}")
        check(task.state == "TASK_RUNNING", f"list_apps: task state {task.state}")
    check(web.labels.get("rightsize.enabled") == "true", f"list_apps: labels {web.labels}")
    old_task_ids = {task.id for task in web.tasks}
    old_version = web.version

    app = client.get_app(APP)
    check(app.id == APP and app.version == old_version, f"get_app: {app.id} {app.version}")
    check(app.version_info is not None and app.version_info.last_config_change_at is not None,
          "get_app: versionInfo missing")
    check(app.deployments == [], f"get_app: deployments {app.deployments}")

    # The client sends the whole app back (minus nulls and empty values).
    app.cpus = 0.25
    app.mem = 512
    result = client.update_app(APP, app)
    check(set(result) == {"deploymentId", "version"}, f"update_app: {result}")
    deployment_id = result["deploymentId"]

    changed = client.get_app(APP)
    check(changed.cpus == 0.25 and changed.mem == 512, f"get_app after update: {changed.cpus}/{changed.mem}")
    check(changed.version == result["version"], f"get_app after update: version {changed.version}")
    check([d.id for d in changed.deployments] == [deployment_id], f"get_app: deployments {changed.deployments}")
    check(changed.instances == 2 and changed.labels == web.labels and changed.cmd == web.cmd,
          "update_app: fields not sent were not kept")

    deployments = client.list_deployments()
    check([d.id for d in deployments] == [deployment_id], f"list_deployments: {deployments}")
    deployment = deployments[0]
    check(deployment.affected_apps == [APP], f"list_deployments: affectedApps {deployment.affected_apps}")
    check(deployment.current_actions and deployment.current_actions[0].action == "RestartApplication",
          f"list_deployments: currentActions {deployment.current_actions}")
    check(deployment.total_steps == 1 and deployment.current_step == 1, "list_deployments: steps")

    try:
        client.update_app(APP, changed)
        check(False, "update_app of a locked app did not fail")
    except ConflictError as e:
        check(e.status_code == 409 and e.error_message.startswith("App is locked by one or more deployments."),
              f"update_app of a locked app: {e!r}")

    try:
        client.get_app("/no/such/app")
        check(False, "get_app of a missing app did not fail")
    except NotFoundError as e:
        check(e.error_message == "App '/no/such/app' does not exist", f"get_app of a missing app: {e!r}")

    deadline = time.monotonic() + 20
    while client.list_deployments():
        check(time.monotonic() < deadline, "the deployment did not end within 20 s")
        time.sleep(0.05)

    tasks = client.list_tasks(APP)
    check(len(tasks) == 2, f"list_tasks: {len(tasks)} tasks")
    check(not ({t.id for t in tasks} & old_task_ids), "list_tasks: tasks were not replaced")
    check(all(t.version == result["version"] for t in tasks), "list_tasks: tasks run an old version")
    all_tasks = client.list_tasks()
    check({t.id for t in tasks} <= {t.id for t in all_tasks}, "list_tasks(): the app's tasks are missing")
    check(client.get_app(APP).deployments == [], "get_app: still deploying")
    print("ok")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: marathon_client_check.py URL\n")
        sys.exit(2)
    try:
        main(sys.argv[1])
    except AssertionError as e:
        sys.stderr.write(f"marathon_client_check: {e}\n")
        sys.exit(1)
    except Exception as e:  # a client that cannot parse what the double serves
        sys.stderr.write(f"marathon_client_check: {type(e).__name__}: {e}\n")
        sys.exit(1)
