"""A Nextcloud ExApp written the way nc_py_api's documentation shows: FastAPI under uvicorn,
AppAPI's authentication middleware, and a trigger handler. It never polls: when the server calls
POST /trigger, it answers at once (AppAPI waits 3 s at most) and drains the queue of its task
type in the background, claiming with next_task and reporting each result.

Environment: NEXTCLOUD_URL, APP_ID, APP_VERSION, APP_SECRET, APP_PORT (read by nc_py_api), and
TRIGGER_EVENTS, a file this app appends one JSON line to per trigger and per result.
DRAIN_DELAY: seconds to wait before draining, as a model would take to load.
"""

import asyncio
import json
import os
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI
from nc_py_api import AsyncNextcloudApp
from nc_py_api.ex_app import AppAPIAuthMiddleware, run_app, set_handlers
from nc_py_api.ex_app.providers.task_processing import ShapeDescriptor, ShapeType, TaskProcessingProvider, TaskType

PROVIDER = "trigger-echo"
TASK_TYPE = "trigger:echo"
DRAIN_DELAY = float(os.environ.get("DRAIN_DELAY", "0"))
EVENTS = open(os.environ["TRIGGER_EVENTS"], "a", buffering=1, encoding="utf-8")
BACKGROUND = set()


def event(kind, **fields):
    EVENTS.write(json.dumps({"event": kind, "at": time.time(), **fields}) + "\n")


@asynccontextmanager
async def lifespan(_app):
    # Nextcloud would register the provider from the enabled handler; started by hand, the app does it here.
    await AsyncNextcloudApp().providers.task_processing.register(
        TaskProcessingProvider(id=PROVIDER, name="Trigger echo", task_type=TASK_TYPE, expected_runtime=1),
        TaskType(
            id=TASK_TYPE, name="Echo", description="Upper-cases its input",
            input_shape=[ShapeDescriptor(name="input", description="Text", shape_type=ShapeType.TEXT)],
            output_shape=[ShapeDescriptor(name="output", description="Upper-case text", shape_type=ShapeType.TEXT)]))
    event("registered")
    yield


APP = FastAPI(lifespan=lifespan)
APP.add_middleware(AppAPIAuthMiddleware)


async def drain():
    await asyncio.sleep(DRAIN_DELAY)
    provider = AsyncNextcloudApp().providers.task_processing
    while True:
        claimed = await provider.next_task([PROVIDER], [TASK_TYPE])
        if not claimed:
            return
        task = claimed["task"]
        await provider.report_result(task["id"], {"output": task["input"]["input"].upper()})
        event("result", id=task["id"])


async def on_trigger(provider_id: str):
    event("trigger", providerId=provider_id)
    work = asyncio.create_task(drain())
    BACKGROUND.add(work)
    work.add_done_callback(BACKGROUND.discard)


async def enabled_handler(_enabled, _nc):
    return ""


set_handlers(APP, enabled_handler, trigger_handler=on_trigger)

if __name__ == "__main__":
    run_app(APP, log_level="warning")
