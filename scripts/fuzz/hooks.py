"""Schemathesis hooks for scripts/fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

- Safety: every generated `webhookUri` is pointed at 127.0.0.1 on a closed port (the server
  runs with --webhook-allow-private-targets), so the run never calls anything but 127.0.0.1.
- Depth: random ids, provider ids and task types almost never name anything that exists, so
  about two thirds of the generated values are swapped (deterministically, by a hash of the
  generated value) for ids the seed made (FUZZ_SEED_FILE, written by seed.py) or that answers
  returned since; boundary values (small ids, the largest int64) are kept as generated.
- Stateful phase: openapi.yaml has no `links`; links between the v2 operations (schedule ->
  read/cancel/delete/claim reports, next -> progress/result/upload, upload -> download) are
  added to the loaded schema here, not to the file.
- Statuses: the count of each (operation, status) is written to FUZZ_STATUSES at exit, so the
  summary can name the operations that never answered 2xx (the fuzzing did not get deep).
"""

import atexit
import collections
import json
import os
import re
import threading
import zlib

import schemathesis

WEBHOOK_AUTHORITY = os.environ.get("FUZZ_WEBHOOK_AUTHORITY", "127.0.0.1:9")

with open(os.environ["FUZZ_SEED_FILE"]) as seed_file:
    SEED = json.load(seed_file)

_lock = threading.Lock()
_tasks = list(SEED["taskIds"]) + list(SEED["runningTaskIds"])
_files = [tuple(pair) for pair in SEED["files"]]
_MAX_REMEMBERED = 64


def _hash(value):
    return zlib.crc32(repr(value).encode())


def _steer(value):
    """Whether to swap this generated value for a known one (about 2 in 3)."""
    return _hash(value) % 3 != 0


def _pick(items, value):
    return items[_hash(value) % len(items)]


def _remember(task_ids=(), files=()):
    with _lock:
        for task_id in task_ids:
            if isinstance(task_id, int) and task_id not in _tasks:
                _tasks.append(task_id)
        for pair in files:
            if pair not in _files:
                _files.append(pair)
        del _tasks[:-_MAX_REMEMBERED]
        del _files[:-_MAX_REMEMBERED]


def _operation_id(context):
    operation = context.operation
    if operation is None:
        return None
    return operation.definition.raw.get("operationId")


# ---------------------------------------------------------------- links for the stateful phase

TASK = "$response.body#/ocs/data/task/id"
FIRST_OF_LIST = "$response.body#/ocs/data/tasks/0/id"
FIRST_OF_BATCH = "$response.body#/ocs/data/tasks/0/task/id"


def _task_links(expression):
    return {
        "getTask": {"id": expression},
        "deleteTask": {"id": expression},
        "cancelTask": {"taskId": expression},
        "consumerGetTask": {"id": expression},
        "consumerDeleteTask": {"id": expression},
        "consumerCancelTask": {"taskId": expression},
        "reportTaskProgress": {"taskId": expression},
        "reportTaskResult": {"taskId": expression},
        "uploadTaskFile": {"taskId": expression},
    }


LINKS = {
    # source operationId: (status, {target operationId: parameters})
    "scheduleTask": ("200", _task_links(TASK)),
    "consumerScheduleTask": ("200", _task_links(TASK)),
    "scheduleTaskBatch": ("200", _task_links(FIRST_OF_LIST)),
    "listTasks": ("200", _task_links(FIRST_OF_LIST)),
    "getNextTask": ("200", _task_links(TASK)),
    "getNextTaskBatch": ("200", _task_links(FIRST_OF_BATCH)),
    "reportTaskProgress": ("200", {"reportTaskResult": {"taskId": TASK}, "getTask": {"id": TASK}}),
    "reportTaskResult": ("200", {"getTask": {"id": TASK}, "deleteTask": {"id": TASK}}),
    "uploadTaskFile": (
        "201",
        {
            "getProviderTaskFile": {"taskId": "$request.path.taskId", "fileId": "$response.body#/ocs/data/fileId"},
            "getTaskFile": {"taskId": "$request.path.taskId", "fileId": "$response.body#/ocs/data/fileId"},
        },
    ),
    # No registerProvider -> unregisterProvider: with it, the stateful phase spent all its time on that pair.
}


@schemathesis.hook
def before_load_schema(context, raw_schema):
    responses = raw_schema.get("components", {}).get("responses", {})
    for path, item in raw_schema.get("paths", {}).items():
        if not path.startswith("/ocs/v2.php/"):
            continue
        for operation in item.values():
            if not isinstance(operation, dict) or operation.get("operationId") not in LINKS:
                continue
            status, targets = LINKS[operation["operationId"]]
            response = operation["responses"][status]
            if "$ref" in response:
                response = dict(responses[response["$ref"].rsplit("/", 1)[1]])
                operation["responses"][status] = response
            response["links"] = {
                f"to_{target}": {"operationId": target, "parameters": parameters}
                for target, parameters in targets.items()
            }


# ---------------------------------------------------------------- steering generated values


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    if not isinstance(path_parameters, dict):
        return path_parameters
    task_key = "id" if "id" in path_parameters else "taskId" if "taskId" in path_parameters else None
    if task_key is None:
        return path_parameters
    value = path_parameters[task_key]
    if not isinstance(value, int) or isinstance(value, bool) or not (1000 < value < 2**62) or not _steer(value):
        return path_parameters
    mapped = dict(path_parameters)
    with _lock:
        if "fileId" in mapped and _files:
            mapped[task_key], mapped["fileId"] = _pick(_files, value)
        elif _tasks:
            mapped[task_key] = _pick(_tasks, value)
    return mapped


def _steer_filter(container, providers_key, types_key):
    """Swaps generated provider and task type ids for registered ones, keeping the shape."""
    for key, known in ((providers_key, SEED["providerIds"]), (types_key, SEED["taskTypeIds"])):
        value = container.get(key)
        if isinstance(value, list) and all(isinstance(item, str) for item in value) and _steer(value):
            container[key] = [_pick(known, value)] + value[:1]
        elif isinstance(value, str) and _steer(value):
            container[key] = _pick(known, value)


FILTER_OPERATIONS = {"getNextTask", "getNextTaskBatch", "getQueueStats"}
SCHEDULE_OPERATIONS = {"scheduleTask", "consumerScheduleTask", "scheduleTaskBatch"}


@schemathesis.hook
def map_query(context, query):
    if isinstance(query, dict) and _operation_id(context) in FILTER_OPERATIONS:
        query = dict(query)
        _steer_filter(query, "providerIds[]", "taskTypeIds[]")
    return query


WEBHOOK_URI = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)([^/?#]*)(.*)$", re.DOTALL)


def _safe_webhook(uri):
    match = WEBHOOK_URI.match(uri)
    if match:
        return match.group(1) + WEBHOOK_AUTHORITY + match.group(3)
    # Anything the server might still read as a URL with a host goes to the closed port too.
    return f"http://{WEBHOOK_AUTHORITY}/"


def _steer_schedule(item):
    if not isinstance(item, dict):
        return item
    item = dict(item)
    if isinstance(item.get("webhookUri"), str):
        item["webhookUri"] = _safe_webhook(item["webhookUri"])
    task_type = item.get("type")
    if isinstance(task_type, str) and _steer(task_type):
        item["type"] = _pick(["core:text2text", "core:text2text:summary"], task_type)
        task_input = item.get("input")
        if isinstance(task_input, dict) and "input" not in task_input:
            item["input"] = {**task_input, "input": task_type}
    return item


@schemathesis.hook
def map_body(context, body):
    operation_id = _operation_id(context)
    if operation_id in SCHEDULE_OPERATIONS:
        if isinstance(body, dict) and isinstance(body.get("tasks"), list):
            return {**body, "tasks": [_steer_schedule(item) for item in body["tasks"]]}
        return _steer_schedule(body)
    if operation_id in FILTER_OPERATIONS and isinstance(body, dict):
        body = dict(body)
        _steer_filter(body, "providerIds", "taskTypeIds")
        return body
    if operation_id == "registerProvider" and isinstance(body, dict) and isinstance(body.get("provider"), dict):
        provider = dict(body["provider"])
        task_type = provider.get("task_type")
        if isinstance(task_type, str) and _steer(task_type) and not body.get("customTaskType"):
            provider["task_type"] = _pick(SEED["taskTypeIds"], task_type)
        return {**body, "provider": provider}
    return body


@schemathesis.hook
def before_call(context, case, kwargs):
    # Last line of defence for the "only 127.0.0.1" rule, whatever generated the body.
    body = case.body
    items = body.get("tasks") if isinstance(body, dict) else None
    for item in items if isinstance(items, list) else [body]:
        if not isinstance(item, dict):
            continue
        uri = item.get("webhookUri")
        if isinstance(uri, str):
            item["webhookUri"] = _safe_webhook(uri)
        elif isinstance(uri, list):  # a form may repeat the field
            item["webhookUri"] = [_safe_webhook(value) if isinstance(value, str) else value for value in uri]


# ---------------------------------------------------------------- remembering what answers name


_statuses = collections.Counter()


def _write_statuses():
    path = os.environ.get("FUZZ_STATUSES")
    if path:
        with open(path, "w") as out:
            json.dump([[label, status, count] for (label, status), count in sorted(_statuses.items())], out)


atexit.register(_write_statuses)


@schemathesis.hook
def after_call(context, case, response):
    with _lock:
        _statuses[(case.operation.label, response.status_code)] += 1
    if response.status_code not in (200, 201) or not response.content:
        return
    try:
        data = json.loads(response.content)["ocs"]["data"]
    except (ValueError, KeyError, TypeError):
        return
    if not isinstance(data, dict):
        return
    task_ids = []
    if isinstance(data.get("task"), dict):
        task_ids.append(data["task"].get("id"))
    for entry in data.get("tasks") or []:
        if isinstance(entry, dict):
            task_ids.append(entry.get("id") if "id" in entry else (entry.get("task") or {}).get("id"))
    files = []
    if isinstance(data.get("fileId"), int):
        task_id = (case.path_parameters or {}).get("taskId")
        if isinstance(task_id, int):
            files.append((task_id, data["fileId"]))
    _remember(task_ids, files)
