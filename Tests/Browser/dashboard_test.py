"""Drives the dashboard in Debian's Chromium with Playwright, against a real server and database.

Run by DashboardBrowserTests (Swift), which starts the server, seeds tasks and passes what it made
in the environment. The database is stopped and started on request: this script creates the file
`stop-database` (then `start-database`) in OUTPUT_DIR and waits for `database-stopped`
(`database-started`). Any JavaScript error, and any console error other than the HTTP refusals a
step provokes on purpose, fails the run. Screenshots go to OUTPUT_DIR.
"""

import base64
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

from playwright.sync_api import expect, sync_playwright

BASE = os.environ["BASE_URL"]
ADMIN, ADMIN_PASSWORD = os.environ["ADMIN_USER"], os.environ["ADMIN_PASSWORD"]
USER, USER_PASSWORD = os.environ["OTHER_USER"], os.environ["OTHER_PASSWORD"]
FAILED_TASK = int(os.environ["FAILED_TASK_ID"])
HOSTILE_TASK = int(os.environ["HOSTILE_TASK_ID"])
OUTPUT = os.environ["OUTPUT_DIR"]
TEXT = "core:text2text"
STATUS_NAMES = {"scheduled": "STATUS_SCHEDULED", "running": "STATUS_RUNNING", "waiting": "STATUS_WAITING"}
expect.set_options(timeout=15_000)


def step(text):
    print("STEP", text, flush=True)


def api(method, path, body=None, headers=None):
    """An OCS call as the administrator (HTTP Basic): (status, data)."""
    request = urllib.request.Request(BASE + "/ocs/v2.php/taskprocessing/" + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
    token = base64.b64encode(f"{ADMIN}:{ADMIN_PASSWORD}".encode()).decode()
    request.add_header("Authorization", "Basic " + token)
    request.add_header("OCS-APIRequest", "true")
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)["ocs"]["data"]
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)["ocs"]["data"]


def raw(method, path, headers):
    """A call with only the given headers (a browser's cookie, no password): the status."""
    request = urllib.request.Request(BASE + path, method=method)
    for name, value in headers.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def handshake(ask, answer):
    open(os.path.join(OUTPUT, ask), "w").close()
    deadline = time.time() + 60
    while not os.path.exists(os.path.join(OUTPUT, answer)):
        if time.time() > deadline:
            raise AssertionError(f"no {answer} within 60 s")
        time.sleep(0.1)


def sign_in(page, user, password):
    """Fills in the sign-in form and sends it (Enter, as a keyboard user would)."""
    page.fill("#login-user", user)
    page.fill("#login-password", password)
    page.press("#login-password", "Enter")


def browser_session(context):
    """The signed-in browser's cookie and CSRF token, as headers for a call from outside it."""
    token = context.request.get(BASE + "/dashboard/api/session").json()["ocs"]["data"]["csrfToken"]
    cookie = next(c for c in context.cookies() if c["name"] == "taskdispatch_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
    return {"Cookie": f"{cookie['name']}={cookie['value']}", "requesttoken": token, "OCS-APIRequest": "true"}


def main():
    console_errors, allowed = [], set()

    def on_console(message):
        if message.type == "error":
            print("console error:", message.text, flush=True)
            console_errors.append(message.text)

    def on_page_error(error):
        print("uncaught:", error, flush=True)
        console_errors.append(f"uncaught: {error}")

    with sync_playwright() as playwright:
        arguments = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=arguments)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.add_init_script("window.__hostile = 0;")

        step("the sign-in form; a wrong password and a user who is not an administrator are refused")
        page.goto(BASE + "/dashboard")
        expect(page.locator("#login")).to_be_visible()
        expect(page.locator("#nav")).to_be_hidden()
        allowed.update({401, 403})
        sign_in(page, ADMIN, "wrong")
        expect(page.locator("#login-error")).to_have_text("Wrong user name or app password.")
        page.fill("#login-user", USER)
        page.fill("#login-password", USER_PASSWORD)
        page.click("#login-form button[type=submit]")
        expect(page.locator("#login-error")).to_contain_text("only administrators")

        step("signing in shows the overview; its numbers equal the admin API's")
        sign_in(page, ADMIN, ADMIN_PASSWORD)
        expect(page.locator("#view h1")).to_have_text("Overview")
        expect(page.locator("#who")).to_have_text(ADMIN)
        cell = lambda type_id, field: page.locator(f'td[data-type="{type_id}"][data-field="{field}"]')
        expect(cell(TEXT, "scheduled")).to_be_visible()
        _, types = api("GET", "admin/types")
        _, stats = api("GET", "admin/stats?windowSeconds=3600")
        _, status = api("GET", "admin/status")
        window = {entry["type"]: entry for entry in stats["types"]}
        assert len(types["types"]) >= 2, types
        for entry in types["types"]:
            for field, name in STATUS_NAMES.items():
                expect(cell(entry["type"], field)).to_have_text(str(entry["counts"][name]))
            expect(cell(entry["type"], "failed-hour")).to_have_text(str(window.get(entry["type"], {}).get("failed", 0)))
            expect(cell(entry["type"], "finished-hour")).to_have_text(str(window.get(entry["type"], {}).get("finished", 0)))
        by_status = status["tasks"]["byStatus"]
        expect(page.locator('[data-field="total-scheduled"]')).to_have_text(str(by_status.get("STATUS_SCHEDULED", 0)))
        expect(page.locator('[data-field="total-running"]')).to_have_text(str(by_status.get("STATUS_RUNNING", 0)))
        expect(page.locator('[data-field="total-failed-hour"]')).to_have_text(str(sum(e["failed"] for e in stats["types"])))
        codes = [warning["code"] for warning in status["warnings"]]
        assert codes, "the seeded server has warnings to show"
        for code in codes:
            expect(page.locator(f'.warnings li[data-code="{code}"]')).to_be_visible()
        # The history seeded for the last day: one line per type, bars of finished tasks.
        expect(page.locator("svg.chart polyline")).to_have_count(3)
        assert page.locator("svg.chart rect").count() > 30, page.locator("svg.chart rect").count()
        page.click("button:text-is('Last day')")
        expect(page.locator('button[aria-pressed="true"]')).to_have_text("Last day")
        expect(page.locator("svg.chart polyline")).to_have_count(3)
        page.screenshot(path=os.path.join(OUTPUT, "overview-day.png"), full_page=True)
        page.click("button:text-is('Last hour')")
        expect(page.locator('button[aria-pressed="true"]')).to_have_text("Last hour")
        page.wait_for_timeout(300)
        page.screenshot(path=os.path.join(OUTPUT, "overview.png"), full_page=True)

        step("the task list filters by status, with keyset paging")
        page.click('nav a[data-section="tasks"]')
        expect(page.locator("#view h1")).to_have_text("Tasks")
        page.select_option("#filter-status", "STATUS_FAILED")
        page.click("button:text-is('Search')")
        expect(page).to_have_url(re.compile(r"#/tasks\?status=STATUS_FAILED$"))
        _, failed = api("GET", "admin/tasks?status=STATUS_FAILED&limit=500")
        rows = page.locator("tbody tr[data-task]")
        expect(rows).to_have_count(len(failed["tasks"]))
        for index in range(rows.count()):
            expect(rows.nth(index).locator(".status")).to_have_text("FAILED")
        page.fill("#filter-customId", "page-me")
        page.select_option("#filter-status", "")
        page.click("button:text-is('Search')")
        _, paged = api("GET", "admin/tasks?customId=page-me&limit=500")
        expect(rows).to_have_count(50)
        page.click("button:text-is('Next page')")
        expect(rows).to_have_count(len(paged["tasks"]) - 50)
        expect(page.locator("text=Page 2")).to_be_visible()

        step("hostile text in a task's input, custom id and error shows as text and runs nothing")
        page.goto(BASE + "/dashboard#/tasks?status=STATUS_FAILED")
        expect(page.locator(f'tr[data-task="{HOSTILE_TASK}"]')).to_contain_text("<svg onload=window.__hostile=3>")
        page.click(f'tr[data-task="{HOSTILE_TASK}"] a')
        expect(page.locator("#view h1")).to_have_text(f"Task {HOSTILE_TASK}")
        expect(page.locator('[data-field="customId"]')).to_contain_text("<script>window.__hostile = 2</script>")
        expect(page.locator("pre.json").first).to_contain_text("<img src=x onerror=\\\"window.__hostile = 1\\\">")
        expect(page.locator('[data-field="error"]')).to_contain_text("<svg onload=")
        assert page.evaluate("window.__hostile") == 0, "hostile text ran"
        assert page.locator("#view img, #view script, #view svg:not(.chart)").count() == 0, "hostile markup became elements"

        step("a failed task opened and retried becomes scheduled")
        page.goto(BASE + f"/dashboard#/task/{FAILED_TASK}")
        expect(page.locator('[data-field="status"]')).to_have_text("FAILED")
        expect(page.locator('[data-field="error"]')).to_have_text("model crashed")
        expect(page.locator("text=talk.ogg")).to_be_visible()
        with page.expect_download() as download_info:
            page.click('button[aria-label^="Download file"]')
        download = download_info.value
        assert download.suggested_filename == "talk.ogg", download.suggested_filename
        page.click("button:text-is('Retry')")
        expect(page.locator('[data-field="status"]')).to_have_text("SCHEDULED")
        expect(page.locator("p.notice")).to_contain_text("scheduled again")
        assert api("GET", f"admin/tasks/{FAILED_TASK}")[1]["task"]["status"] == "STATUS_SCHEDULED"

        step("bulk retry of everything failed, behind a confirmation that shows the count")
        _, before = api("GET", "admin/tasks?status=STATUS_FAILED&limit=500")
        page.goto(BASE + "/dashboard#/tasks?status=STATUS_FAILED")
        expect(page.locator("tbody tr[data-task]")).to_have_count(len(before["tasks"]))
        page.click("text=Retry all matching…")
        expect(page.locator("#confirm-text")).to_have_text(f"Retry {len(before['tasks'])} tasks matching this filter?")
        page.click("#confirm-ok")
        expect(page.locator("p.notice")).to_have_text(f"Retried {len(before['tasks'])} tasks.")
        expect(page.locator("tr.empty")).to_be_visible()
        assert api("GET", "admin/tasks?status=STATUS_FAILED")[1]["tasks"] == []

        step("pausing a type shows it paused; a limit is saved")
        page.click('nav a[data-section="types"]')
        expect(page.locator("#view h1")).to_have_text("Types")
        page.click(f'button[aria-label="Pause {TEXT}"]')
        expect(page.locator(f'td[data-type="{TEXT}"][data-field="state"]')).to_have_text("paused")
        expect(page.locator(f'button[aria-label="Resume {TEXT}"]')).to_be_visible()
        page.fill(f'input[id="limit-{TEXT}"]', "3")
        page.click(f'tr[data-type="{TEXT}"] button:text-is("Save")')
        expect(page.locator("p.notice")).to_contain_text("at most 3 running")
        setting = next(t for t in api("GET", "admin/types")[1]["types"] if t["type"] == TEXT)
        assert setting["paused"] is True and setting["maxRunning"] == 3, setting

        step("workers, webhooks and an unknown section")
        page.click('nav a[data-section="workers"]')
        expect(page.locator('tr[data-app="worker"]')).to_be_visible()
        page.click('nav a[data-section="webhooks"]')
        expect(page.locator("#view h1")).to_have_text("Webhooks")
        page.select_option("#webhook-state", "failed")
        given_up = page.locator("tbody tr").first
        expect(given_up).to_contain_text("http://127.0.0.1:9/hook")
        expect(given_up.locator(".status")).to_have_text("failed")
        assert given_up.locator("td").last.inner_text().strip(), "the last error is shown"
        page.goto(BASE + "/dashboard#/nothing-here")
        expect(page.locator("#view h1")).to_have_text("Not found")
        page.goto(BASE + "/dashboard/nothing-here")
        expect(page.locator("main h1")).to_have_text("Not found")
        allowed.add(404)

        step("phone width and keyboard")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(BASE + "/dashboard#/overview")
        expect(cell(TEXT, "scheduled")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 391, "the page scrolls sideways on a phone"
        page.screenshot(path=os.path.join(OUTPUT, "overview-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.focus(".brand")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.dataset.section") == "tasks", "Tab reaches the sections"
        page.keyboard.press("Enter")
        expect(page.locator("#view h1")).to_have_text("Tasks")

        step("a CSRF token that is wrong changes nothing")
        first = browser_session(context)
        assert raw("POST", f"/ocs/v2.php/taskprocessing/admin/types/{TEXT}/resume", {**first, "requesttoken": "0" * 64}) == 403
        assert next(t for t in api("GET", "admin/types")[1]["types"] if t["type"] == TEXT)["paused"] is True
        assert raw("GET", "/ocs/v2.php/taskprocessing/admin/status", first) == 200

        step("with the database down a banner says so and the data stays; it goes when the database is back")
        page.goto(BASE + "/dashboard#/overview")
        expect(cell(TEXT, "scheduled")).to_be_visible()
        allowed.add(503)
        handshake("stop-database", "database-stopped")
        expect(page.locator("#banner")).to_be_visible(timeout=20_000)
        expect(page.locator("#banner")).to_contain_text("database")
        expect(cell(TEXT, "scheduled")).to_be_visible()
        page.screenshot(path=os.path.join(OUTPUT, "database-down.png"))
        handshake("start-database", "database-started")
        expect(page.locator("#banner")).to_be_hidden(timeout=30_000)

        step("a session ended elsewhere sends the page back to the sign-in form")
        ended = raw("POST", "/dashboard/api/logout", first)
        assert ended == 200, ended
        expect(page.locator("#login")).to_be_visible(timeout=20_000)
        expect(page.locator("#login-error")).to_have_text("Your session has ended. Sign in again.")

        step("signing out; the old cookie is refused afterwards")
        expect(page.locator("#view")).to_be_empty()
        sign_in(page, ADMIN, ADMIN_PASSWORD)
        expect(page.locator("#view h1")).to_have_text("Overview")
        expect(page.locator("#who")).to_have_text(ADMIN)
        old = browser_session(context)
        assert raw("GET", "/ocs/v2.php/taskprocessing/admin/status", old) == 200
        page.click("#logout")
        expect(page.locator("#login")).to_be_visible()
        expect(page.locator("#login-error")).to_have_text("You signed out.")
        assert raw("GET", "/ocs/v2.php/taskprocessing/admin/status", old) == 401
        page.reload()
        expect(page.locator("#login")).to_be_visible()

        browser.close()

    refusal = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")
    unexpected = [text for text in console_errors
                  if not (refusal.match(text) and int(refusal.match(text).group(1)) in allowed)]
    print("CONSOLE", len(console_errors), "errors,", len(unexpected), "unexpected", flush=True)
    assert not unexpected, "console errors: " + "; ".join(unexpected)
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
