#!/usr/bin/env python3
"""End-to-end test of the Dockhand tray app: the built binary under Xvfb, driven through its
window by tauri-driver + WebKitWebDriver, through its tray over D-Bus (StatusNotifierWatcher +
dbusmenu), against the real Docker engine, a real PostgreSQL, the real keychain (gnome-keyring)
and a real notification daemon (dunst). Run by tests/e2e/run.sh inside
`xvfb-run dbus-run-session`. Prints `N passed, N failed`."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.common.exceptions import WebDriverException

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The binaries are where cargo put them (CARGO_TARGET_DIR, as .ci/run sets it, else target/).
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
APP = os.path.join(TARGET, "debug", "dockhand-app")
CLI = os.path.join(TARGET, "debug", "dockhand")
SHOT = os.environ.get("DOCKHAND_SCREENSHOT", os.path.join(ROOT, "target", "e2e-dashboard.png"))
SUFFIX = f"{os.getpid() % 100000}"
SERVICE = f"e2e-pg-{SUFFIX}"
PROJECT = f"e2eshop{SUFFIX}"
NOTIFY_LOG = os.path.join(tempfile.gettempdir(), f"dockhand-e2e-notify-{SUFFIX}.log")

results = []


def check(name, fn):
    try:
        fn()
        results.append((name, None))
        print(f"ok   {name}", flush=True)
    except Exception as e:  # report and go on: later checks say more
        results.append((name, e))
        print(f"FAIL {name}: {e}", flush=True)
        traceback.print_exc()


def cli(*args, cwd=None, ok=True):
    r = subprocess.run([CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=240)
    if ok and r.returncode != 0:
        raise AssertionError(f"dockhand {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def status_of(name):
    for s in json.loads(cli("status", "--json")):
        if s["name"] == name:
            return s
    raise AssertionError(f"{name} not in status")


def wait_for(what, fn, limit=120):
    end = time.time() + limit
    last = None
    while time.time() < end:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # keep trying until the deadline
            last = e
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last error: {last})")


class Tray:
    """The app's StatusNotifierItem, read and clicked over D-Bus like a panel would."""

    def __init__(self):
        out = wait_for("a registered tray item", lambda: self._items(), 60)
        self.bus = out[0]
        intro = subprocess.run(["gdbus", "introspect", "--session", "--dest", self.bus, "--object-path", "/", "--recurse"],
                               capture_output=True, text=True, timeout=30).stdout
        self.menu = re.search(r"node (/org/ayatana/NotificationItem/[^ ]+/Menu)", intro).group(1)

    @staticmethod
    def _items():
        out = subprocess.run(["gdbus", "call", "--session", "--dest", "org.kde.StatusNotifierWatcher",
                              "--object-path", "/StatusNotifierWatcher", "--method",
                              "org.freedesktop.DBus.Properties.Get", "org.kde.StatusNotifierWatcher",
                              "RegisteredStatusNotifierItems"], capture_output=True, text=True, timeout=30).stdout
        return re.findall(r"'(:[0-9.]+)", out)

    def layout(self):
        """[(id, label, enabled, depth)] of the whole menu."""
        out = subprocess.run(["gdbus", "call", "--session", "--dest", self.bus, "--object-path", self.menu, "--method",
                              "com.canonical.dbusmenu.GetLayout", "--", "0", "-1", "['label', 'enabled']"],
                             capture_output=True, text=True, timeout=30).stdout
        items = []
        for m in re.finditer(r"\((\d+), \{([^}]*)\}", out):
            props = m.group(2)
            label = re.search(r"'label': <'((?:[^'\\]|\\.)*)'>", props)
            enabled = "'enabled': <false>" not in props
            items.append((int(m.group(1)), (label.group(1) if label else "").replace("__", "_"), enabled))
        return items

    def find(self, label, after=None):
        items = self.layout()
        start = 0
        if after:
            start = next(i for i, it in enumerate(items) if after in it[1])
        for it in items[start:]:
            if it[1] == label:
                return it
        raise AssertionError(f"no tray item {label!r} (after {after!r}) in {[i[1] for i in items]}")

    def click(self, label, after=None):
        # Item ids change whenever the app rebuilds its menu (on every change of state): look the
        # item up again if the menu moved on between finding and clicking.
        for _ in range(20):
            item_id = self.find(label, after)[0]
            r = subprocess.run(["gdbus", "call", "--session", "--dest", self.bus, "--object-path", self.menu,
                                "--method", "com.canonical.dbusmenu.Event", "--", str(item_id), "clicked",
                                "<int32 0>", "0"], capture_output=True, text=True, timeout=30)
            if r.returncode == 0:
                return
            time.sleep(0.3)
        raise AssertionError(f"could not click {label!r}: {r.stderr}")


def main():
    home = tempfile.mkdtemp(prefix="dockhand-e2e-")
    os.environ["DOCKHAND_HOME"] = os.path.join(home, "state")
    project_dir = os.path.join(home, PROJECT)
    os.makedirs(project_dir)
    with open(os.path.join(project_dir, "dockhand.toml"), "w") as f:
        f.write(f'name = "{PROJECT}"\n[services]\npostgres = {{ version = "15", service = "{SERVICE}" }}\n')
    cli("config", "set", "grace-period", "0")
    cli("attach", cwd=project_dir)  # creates the service, provisions, lets it stop (grace 0)

    procs = []
    driver = None
    try:
        procs.append(subprocess.Popen(["status-notifier-watcher"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # Every notification sent on the bus, and the notification daemon's replies to them.
        monitor_log = open(NOTIFY_LOG, "w")
        procs.append(subprocess.Popen(["dbus-monitor", "--session", "interface='org.freedesktop.Notifications'"],
                                      stdout=monitor_log, stderr=subprocess.DEVNULL))
        port, native_port = free_port(), free_port()
        driver_log = open(os.path.join(home, "tauri-driver.log"), "w")
        procs.append(subprocess.Popen(["tauri-driver", "--port", str(port), "--native-port", str(native_port),
                                       "--native-driver", shutil.which("WebKitWebDriver")],
                                      stdout=driver_log, stderr=subprocess.STDOUT))
        wait_for("tauri-driver", lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True, 30)
        opts = ArgOptions()
        opts.set_capability("browserName", "wry")
        opts.set_capability("tauri:options", {"application": APP, "args": ["--show"]})
        driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=opts)
        run_checks(driver)
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception:
                pass
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run([CLI, "project", "remove", PROJECT, "--drop-data", "--yes"], capture_output=True, timeout=240)
        subprocess.run([CLI, "destroy", SERVICE, "--purge", "--yes"], capture_output=True, timeout=240)
        shutil.rmtree(home, ignore_errors=True)

    failed = [r for r in results if r[1] is not None]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def check_dashboard_screenshot(path, view):
    """Fails unless the PNG shows the rendered dashboard: the window's size, more than a blank
    frame's colours, a service row with text on it and its state drawn in the 'running' green."""
    from PIL import Image

    img = Image.open(path).convert("RGB")
    dpr = view["dpr"] or 1
    want = (round(view["w"] * dpr), round(view["h"] * dpr))
    assert img.size == want, f"screenshot is {img.size}, the window shows {want} (view {view})"

    colours = img.getcolors(maxcolors=1 << 24)
    top = max(n for n, _ in colours) / (img.width * img.height)
    assert len(colours) >= 16, f"only {len(colours)} colours: a blank frame, not the dashboard"
    assert top < 0.98, f"one colour covers {top:.1%} of the screenshot: nothing drawn on it"

    def area(box):
        left, top_, right, bottom = (round(v * dpr) for v in box)
        assert right - left > 4 and bottom - top_ > 4, f"the element is not on screen: {box}"
        return img.crop((left, top_, right, bottom))

    def luminance(p):
        return (299 * p[0] + 587 * p[1] + 114 * p[2]) // 1000

    cells = area(view["row"]).getcolors(maxcolors=1 << 24)
    lum = [luminance(c) for _, c in cells]
    assert len(cells) >= 8, f"the service row is nearly uniform ({len(cells)} colours)"
    assert max(lum) - min(lum) >= 100, f"the service row has no text on it (luminance {min(lum)}..{max(lum)})"
    # The state reads "running" in --ok green (#2ea043): proof the stylesheet applied, not just text.
    green = sum(n for n, (r, g, b) in area(view["state"]).getcolors(maxcolors=1 << 24)
                if g > r + 40 and g > b + 40)
    assert green >= 10, f"the state is not drawn in green ({green} green pixels)"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_checks(driver):
    if True:
        row = f"svc-{SERVICE}"

        def window_shows_the_stopped_service():
            el = wait_for("service row", lambda: driver.find_element(By.ID, row), 60)
            assert wait_for("stopped", lambda: el.get_attribute("data-state") == "stopped" or None, 30)

        def start_from_the_window_becomes_healthy():
            driver.find_element(By.CSS_SELECTOR, f"#{row} button.start").click()
            wait_for("running in the window", lambda: driver.find_element(By.ID, row).get_attribute("data-state") == "running", 120)
            assert status_of(SERVICE)["state"] == "running"
            assert status_of(SERVICE)["pinned"] is True

        def copy_database_url_gives_a_url_psql_can_use():
            driver.find_element(By.ID, "tab-projects").click()
            button = wait_for("copy button", lambda: driver.find_element(
                By.CSS_SELECTOR, f"#project-{PROJECT} button.copy-var[data-var='DATABASE_URL']"), 30)
            button.click()
            url = wait_for("clipboard", lambda: subprocess.run(["xclip", "-o", "-selection", "clipboard"],
                                                                capture_output=True, text=True, timeout=10).stdout.strip()
                           .startswith("postgres://") and subprocess.run(["xclip", "-o", "-selection", "clipboard"],
                                                                         capture_output=True, text=True, timeout=10).stdout.strip(), 30)
            who = subprocess.run(["psql", url, "-tAc", "SELECT current_user || '@' || current_database()"],
                                 capture_output=True, text=True, timeout=60)
            assert who.returncode == 0, who.stderr
            assert who.stdout.strip() == f"{PROJECT}@{PROJECT}", who.stdout

        def screenshot():
            driver.find_element(By.ID, "tab-services").click()
            wait_for("services tab", lambda: driver.find_element(By.ID, row).is_displayed(), 30)
            time.sleep(1)
            driver.save_screenshot(SHOT)
            # Where the page says the row and its state are, in CSS pixels, and the view's size.
            view = driver.execute_script(
                "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
                "const s = document.querySelector('#' + CSS.escape(arguments[0]) + ' .state').getBoundingClientRect();"
                "return {w: window.innerWidth, h: window.innerHeight, dpr: window.devicePixelRatio,"
                " row: [r.left, r.top, r.right, r.bottom], state: [s.left, s.top, s.right, s.bottom]};", row)
            check_dashboard_screenshot(SHOT, view)

        check("the window lists the stopped service", window_shows_the_stopped_service)
        check("Start in the window brings PostgreSQL up and healthy", start_from_the_window_becomes_healthy)
        check("Copy DATABASE_URL puts a URL psql connects with on the clipboard", copy_database_url_gives_a_url_psql_can_use)
        check("screenshot of the dashboard", screenshot)

        tray = None

        def tray_menu_lists_services_and_projects():
            nonlocal tray
            tray = Tray()
            labels = [i[1] for i in wait_for("menu with the service", lambda: (lambda l: l if any(SERVICE in x[1] for x in l) else None)(tray.layout()), 30)]
            assert any(l.startswith("Dockhand — 1 of 1 running") for l in labels), labels
            assert any(l.startswith("● PostgreSQL 15") and SERVICE in l for l in labels), labels
            assert "Copy DATABASE_URL" in labels and "Launch at Login" in labels and "Quit Dockhand" in labels, labels

        def tray_stop_and_start():
            tray.click("Stop", after=SERVICE)
            wait_for("stopped after tray Stop", lambda: status_of(SERVICE)["state"] == "stopped", 60)
            wait_for("window follows", lambda: driver.find_element(By.ID, row).get_attribute("data-state") == "stopped", 30)
            wait_for("menu follows", lambda: not tray.find("Stop", after=SERVICE)[2], 30)
            tray.click("Start", after=SERVICE)
            wait_for("running after tray Start", lambda: status_of(SERVICE)["state"] == "running", 120)

        def tray_launch_at_login_toggles_the_autostart_entry():
            entry = os.path.expanduser("~/.config/autostart/Dockhand.desktop")
            before = os.path.exists(entry)
            tray.click("Launch at Login")
            wait_for("autostart entry toggled", lambda: os.path.exists(entry) != before, 30)
            with open(entry) if os.path.exists(entry) else open(os.devnull) as f:
                text = f.read()
            assert before or "dockhand-app" in text, text
            tray.click("Launch at Login")
            wait_for("autostart entry toggled back", lambda: os.path.exists(entry) == before, 30)

        def notifications_were_delivered():
            want = f'string "PostgreSQL 15 ({SERVICE}) started"'
            log = wait_for("a Notify call", lambda: (lambda t: t if want in t else None)(open(NOTIFY_LOG).read()), 30)
            assert 'string "ready in' in log, log[-3000:]
            # dunst answered (a real daemon took it), and it counts the notification.
            shown = subprocess.run(["dunstctl", "count"], capture_output=True, text=True, timeout=30)
            assert shown.returncode == 0, shown.stderr
            total = sum(int(n) for n in re.findall(r":\s*(\d+)", shown.stdout))
            assert total >= 1, shown.stdout

        def notified(summary, limit=60):
            """The body of the first Notify call with this summary that reached the bus."""
            want = f'string "{summary}"'
            log = wait_for(f"a Notify call {summary!r}", lambda: (lambda t: t if want in t else None)(open(NOTIFY_LOG).read()), limit)
            after = log[log.index(want) + len(want):]
            return re.search(r'string "([^"]*)"', after).group(1)

        def tray_back_up_now_backs_up_and_notifies():
            tray.click("Back up now", after=SERVICE)
            body = notified(f"Backup of {PROJECT} on {SERVICE} finished", 120)
            assert re.fullmatch(r"[0-9.]+ (KiB|MiB) in [0-9.]+ (ms|s)", body), body
            listed = json.loads(subprocess.run([CLI, "backups", "--json"], capture_output=True, text=True, timeout=60).stdout)
            assert any(b["database"] == PROJECT and b["service"] == SERVICE for b in listed), listed

        def backups_view_lists_and_verifies():
            driver.find_element(By.ID, "tab-backups").click()
            listed = json.loads(subprocess.run([CLI, "backups", "--json"], capture_output=True, text=True, timeout=60).stdout)
            row = wait_for("backup row", lambda: driver.find_element(By.ID, f"backup-{listed[0]['id']}"), 30)
            row.find_element(By.XPATH, ".//button[text()='Verify']").click()
            toast = wait_for("verification", lambda: (lambda t: t if "checksum ok" in t else None)(driver.find_element(By.ID, "toast").text), 60)
            assert "readable" in toast, toast
            driver.find_element(By.ID, "tab-services").click()

        def a_dead_server_is_reported_failed_with_why():
            subprocess.run(["docker", "kill", f"dockhand-{SERVICE}"], capture_output=True, timeout=60)
            body = notified(f"PostgreSQL 15 ({SERVICE}) failed")
            assert "exited with code 137" in body, body
            wait_for("window shows the failure", lambda: driver.find_element(By.ID, row).get_attribute("data-state") == "exited", 30)
            wait_for("menu shows the failure", lambda: any(SERVICE in l[1] and "exited" in l[1] for l in tray.layout()), 30)
            tray.click("Start", after=SERVICE)
            wait_for("running again", lambda: status_of(SERVICE)["state"] == "running", 120)

        check("the tray menu shows the header, the service and the project's URL", tray_menu_lists_services_and_projects)
        if tray:
            check("Stop and Start from the tray", tray_stop_and_start)
            check("Launch at Login in the tray adds and removes the autostart entry", tray_launch_at_login_toggles_the_autostart_entry)
            check("Back up now in the tray takes a backup and a notification says its size and time", tray_back_up_now_backs_up_and_notifies)
            check("the Backups view lists the backup and verifies it", backups_view_lists_and_verifies)
            check("a killed server is reported failed (notification, window, tray) and restarts from the tray", a_dead_server_is_reported_failed_with_why)
        check("a 'started' desktop notification reached the notification daemon", notifications_were_delivered)

        def quit_asks_once_and_keeps_the_services():
            tray.click("Quit Dockhand")
            wait_for("the quit question", lambda: driver.find_element(By.ID, "view-quit").is_displayed(), 30)
            try:
                driver.find_element(By.ID, "quit-keep").click()
            except WebDriverException:
                pass  # the app may end before WebDriver hears back about the click
            wait_for("the app to exit", lambda: subprocess.run(["pgrep", "-f", APP], capture_output=True).returncode != 0, 60)
            assert status_of(SERVICE)["state"] == "running", "services keep running"

        if tray:
            check("Quit asks whether services stop, keeps them running, and the app exits", quit_asks_once_and_keeps_the_services)


if __name__ == "__main__":
    sys.exit(main())
