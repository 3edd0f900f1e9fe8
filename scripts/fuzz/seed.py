"""Seeds a fresh TaskDispatch server for the fuzz run (scripts/fuzz.sh) and writes what it made
as JSON, for the hooks (scripts/fuzz/hooks.py) to steer generated ids towards.

Usage: seed.py BASE_URL USER_PASSWORD APP_ID APP_SECRET USER_NAME OUT.json PROVIDER=TYPE...

It schedules tasks as the user (text and audio, the audio one with an uploaded input file),
claims some as the ExApp, uploads an output file for a running one, finishes one, and
schedules one as the ExApp acting for no user. Only 127.0.0.1 is contacted.
"""

import base64
import json
import sys
import urllib.error
import urllib.request

base, password, app_id, secret, user_name, out_path = sys.argv[1:7]
providers = dict(arg.split("=", 1) for arg in sys.argv[7:])
assert base.startswith("http://127.0.0.1:"), base
tp = base + "/ocs/v2.php/taskprocessing"

USER = {"OCS-APIRequest": "true", "Authorization": "Bearer " + password}


def app_headers(user=""):
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {
        "OCS-APIRequest": "true",
        "EX-APP-ID": app_id,
        "EX-APP-VERSION": "1.0",
        "AUTHORIZATION-APP-API": token,
    }


APP = app_headers()


def call(method, url, headers, body=None, content_type="application/json", expect=(200, 201)):
    data = None
    headers = dict(headers)
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    if status not in expect:
        sys.exit(f"seed: {method} {url} answered {status}: {raw[:300]!r}")
    return json.loads(raw) if raw else None


def upload(url, headers, name, payload, mime):
    boundary = "fuzzseedboundary"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
        f"Content-Type: {mime}\r\n\r\n"
    ).encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    answer = call("POST", url, headers, body, content_type=f"multipart/form-data; boundary={boundary}")
    return answer["ocs"]["data"]["fileId"]


def schedule(task_type, task_input, headers=USER, **extra):
    body = {"type": task_type, "input": task_input, "appId": "fuzz-seed", **extra}
    return call("POST", tp + "/schedule", headers, body)["ocs"]["data"]["task"]["id"]


task_ids = []
files = []  # [task id, file id]
for number in range(8):
    task_ids.append(schedule("core:text2text", {"input": f"seed prompt {number}"}, customId=f"seed-{number}"))
task_ids.append(schedule("core:text2text:summary", {"input": "a text to summarize"}, priority=5))
audio_file = upload(tp + "/files", USER, "speech.wav", b"RIFF\x00\xff seed", "audio/wav")
audio_task = schedule("core:audio2text", {"input": audio_file})
task_ids.append(audio_task)
files.append([audio_task, audio_file])

# The ExApp claims some tasks: they are STATUS_RUNNING under its claim, ready for progress,
# results and output uploads.
claimed = call(
    "GET",
    tp + "/tasks_provider/next_batch",
    APP,
    {"providerIds": list(providers), "taskTypeIds": sorted(set(providers.values())), "numberOfTasks": 5},
)["ocs"]["data"]["tasks"]
running = [entry["task"]["id"] for entry in claimed]
if running:
    output_file = upload(f"{tp}/tasks_provider/{running[0]}/file", APP, "out.png", b"\x89PNG\x00\xff", "image/png")
    files.append([running[0], output_file])
    call("POST", f"{tp}/tasks_provider/{running[-1]}/result", APP, {"output": {"output": "seeded result"}})

# A task of the ExApp acting for no user (userId null), seen only through tasks_consumer.
app_task = call(
    "POST", tp + "/tasks_consumer/schedule", APP, {"type": "core:text2text", "input": {"input": "app's own"}}
)["ocs"]["data"]["task"]["id"]
task_ids.append(app_task)

seed = {
    "taskIds": task_ids,
    "runningTaskIds": running,
    "files": files,
    "providerIds": list(providers),
    "taskTypeIds": sorted(set(providers.values())),
}
with open(out_path, "w") as out:
    json.dump(seed, out)
print(f"seeded {len(task_ids)} tasks ({len(running)} claimed), {len(files)} files, {len(providers)} providers")
