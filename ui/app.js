// Dockhand's dashboard: renders snapshots pushed by the app (event "snapshot") and calls its
// commands. Secrets never pass through here except the .env snippet the user asks to see.
const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const $ = (sel) => document.querySelector(sel);
const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  for (const c of children) e.append(c);
  return e;
};

function toast(text) {
  const t = $("#toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 4000);
}

async function act(button, label, fn) {
  button.disabled = true;
  const before = button.textContent;
  button.textContent = label;
  try {
    await fn();
  } catch (e) {
    toast(e && e.message ? e.message : String(e));
  } finally {
    button.textContent = before;
    button.disabled = false;
  }
}

function show(view) {
  for (const tab of document.querySelectorAll("nav button")) {
    const on = tab.dataset.view === view;
    tab.setAttribute("aria-selected", String(on));
    $(`#view-${tab.dataset.view}`).hidden = !on;
  }
  $("#view-quit").hidden = view !== "quit";
  if (view === "quit") $("#quit-keep").focus();
  if (view === "events") loadEvents();
  if (view === "backups") loadBackups();
  if (view === "settings") loadSettings();
}

function renderServices(snap) {
  const body = $("#services tbody");
  body.replaceChildren();
  $("#engine-error").hidden = !snap.engine_error;
  $("#engine-error").textContent = snap.engine_error || "";
  $("#no-services").hidden = snap.services.length > 0 || !!snap.engine_error;
  for (const s of snap.services) {
    // Which buttons are enabled is the core's rule (actions_for), the same as the tray's.
    const can = s.actions;
    const start = el("button", { textContent: "Start", disabled: !can.start, className: "start" });
    start.onclick = () => act(start, "Starting…", () => invoke("start", { name: s.name }));
    const stop = el("button", { textContent: "Stop", disabled: !can.stop, className: "stop" });
    stop.onclick = () => act(stop, "Stopping…", () => invoke("stop", { name: s.name }));
    const restart = el("button", { textContent: "Restart", disabled: !can.restart });
    restart.onclick = () => act(restart, "Restarting…", () => invoke("restart", { name: s.name }));
    const copy = el("button", { textContent: "Copy admin URL", disabled: !can.copy_admin_url });
    copy.onclick = () => act(copy, "Copying…", async () => { await invoke("copy_admin_url", { name: s.name }); toast("Admin URL copied"); });
    const backup = el("button", { textContent: "Back up", disabled: !can.backup });
    backup.onclick = () => act(backup, "Backing up…", async () => {
      const rows = await invoke("backup_service", { name: s.name });
      toast(`Backed up ${rows.map((b) => b.database).join(", ")} of ${s.name}`);
    });
    const logs = el("button", { textContent: "Logs", disabled: !can.logs });
    logs.onclick = () => openLogs(s.name);
    const users = [...(s.pinned ? ["pinned (up)"] : []), ...s.consumers].join(", ");
    const state = el("td", {}, el("span", { className: `state ${s.state}`, textContent: s.state }));
    if (s.detail) state.append(el("div", { className: "detail", textContent: s.detail.split("\n")[0] }));
    const tr = el("tr", { id: `svc-${s.name}` },
      el("td", { textContent: `${s.name} — ${kindName(s.kind)} ${s.version}` }),
      el("td", {}, el("code", { textContent: `${s.host}:${s.host_port}` })),
      state,
      el("td", { textContent: String(s.projects.length) }),
      el("td", { textContent: users }),
      el("td", {}, start, " ", stop, " ", restart, " ", copy, " ", backup, " ", logs));
    tr.dataset.state = s.state;
    body.append(tr);
  }
}

// Display names come with each snapshot (the core's table of kinds).
let kindNames = {};
const kindName = (k) => kindNames[k] || k;

function renderProjects(snap) {
  const box = $("#projects");
  box.replaceChildren();
  $("#no-projects").hidden = snap.projects.length > 0;
  for (const p of snap.projects) {
    const copies = el("div", { className: "copies" });
    for (const v of p.vars) {
      const b = el("button", { textContent: `Copy ${v}`, className: "copy-var" });
      b.dataset.var = v;
      b.onclick = () => act(b, "Copying…", async () => { await invoke("copy_project_var", { project: p.name, var: v }); toast(`${v} of ${p.name} copied`); });
      copies.append(b);
    }
    const snippet = el("pre", { hidden: true });
    const showEnv = el("button", { textContent: "Show .env" });
    showEnv.onclick = () => act(showEnv, "…", async () => {
      if (!snippet.hidden) { snippet.hidden = true; snippet.textContent = ""; return; }
      snippet.textContent = await invoke("env_snippet", { project: p.name });
      snippet.hidden = false;
    });
    const toggle = el("button", { textContent: p.up ? "Let its services go" : "Keep its services running" });
    toggle.onclick = () => act(toggle, "…", () => invoke(p.up ? "project_down" : "project_up", { project: p.name }));
    const list = el("ul");
    for (const a of p.attachments) {
      list.append(el("li", { textContent: `${a.service} (${kindName(a.kind)}): database ${a.database}, user ${a.user}` }));
    }
    box.append(el("div", { className: "project", id: `project-${p.name}` },
      el("h2", { textContent: p.name + (p.up ? " (up)" : "") }),
      el("div", { className: "detail", textContent: p.path || "" }),
      list, copies, el("div", {}, showEnv, " ", toggle), snippet));
  }
}

function render(snap) {
  kindNames = Object.fromEntries(snap.kinds.map((k) => [k.kind, k.name]));
  const running = snap.running;
  $("#summary").textContent = snap.engine_error
    ? "Docker is unavailable"
    : `${running} of ${snap.services.length} running · ${snap.projects.length} projects`;
  renderServices(snap);
  renderProjects(snap);
  $("#home").textContent = snap.home;
  if (document.activeElement !== $("#grace")) $("#grace").value = snap.grace_period_secs;
}

async function openLogs(name) {
  show("services");
  $("#logs").hidden = false;
  $("#logs-name").textContent = name;
  $("#logs-text").textContent = "…";
  try {
    $("#logs-text").textContent = await invoke("logs", { name, tail: 300 });
  } catch (e) {
    $("#logs-text").textContent = e.message || String(e);
  }
}

async function loadEvents() {
  const body = $("#events tbody");
  try {
    const events = await invoke("events", { limit: 200 });
    body.replaceChildren(...events.map((e) => el("tr", {},
      el("td", { textContent: new Date(e.at_ms).toLocaleString() }),
      el("td", { textContent: e.service || "" }),
      el("td", { textContent: e.kind }),
      el("td", { textContent: e.message.split("\n")[0] }))));
  } catch (e) {
    toast(e.message || String(e));
  }
}

const bytes = (n) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);

async function loadBackups() {
  const body = $("#backups tbody");
  try {
    const rows = await invoke("backups");
    $("#no-backups").hidden = rows.length > 0;
    body.replaceChildren(...rows.map((b) => {
      const verify = el("button", { textContent: "Verify" });
      verify.onclick = () => act(verify, "Verifying…", async () => {
        const v = await invoke("verify_backup", { id: b.id });
        toast(`Backup ${b.id}: ${v.checksum_ok ? "checksum ok" : "CHECKSUM MISMATCH"}, ${v.readable === false ? "NOT readable" : v.readable ? "readable" : "readability not checked"}. ${v.detail}`);
      });
      const restore = el("button", { textContent: "Restore…", disabled: b.kind === "redis" });
      restore.onclick = () => openRestore(b);
      return el("tr", { id: `backup-${b.id}` },
        el("td", { textContent: new Date(b.created_at_ms).toLocaleString() }),
        el("td", { textContent: b.service }),
        el("td", { textContent: b.database }),
        el("td", { textContent: bytes(b.size_bytes) }),
        el("td", { textContent: b.reason }),
        el("td", {}, verify, " ", restore));
    }));
  } catch (e) {
    toast(e.message || String(e));
  }
}

function openRestore(b) {
  $("#restore-form").hidden = false;
  $("#restore-form").dataset.id = b.id;
  $("#restore-form").dataset.database = b.database;
  $("#restore-id").textContent = `${b.id} (${b.database} on ${b.service})`;
  $("#restore-into").value = `${b.database}_restored`;
  $("#restore-overwrite").checked = false;
  $("#restore-into").focus();
}

$("#restore-form").onsubmit = (ev) => {
  ev.preventDefault();
  const f = $("#restore-form");
  const into = $("#restore-into").value.trim();
  const overwrite = $("#restore-overwrite").checked;
  if (overwrite && !confirm(`Replace database “${into || f.dataset.database}”? Its current contents are backed up first.`)) return;
  act($("#restore-go"), "Restoring…", async () => {
    const r = await invoke("restore_backup", { id: Number(f.dataset.id), into, overwrite });
    f.hidden = true;
    toast(`Restored into ${r.database} in ${r.took_ms} ms` + (r.safety_backup ? ` (previous contents: backup ${r.safety_backup.id})` : ""));
  });
};
$("#restore-cancel").onclick = () => ($("#restore-form").hidden = true);
$("#backup-all").onclick = () => act($("#backup-all"), "Backing up…", async () => {
  const rows = await invoke("backup_all");
  toast(`${rows.length} backups taken`);
});
$("#backups-reveal").onclick = () => invoke("reveal_backups").catch((e) => toast(e.message || String(e)));

async function loadSettings() {
  try {
    const s = await invoke("settings");
    $("#quit-behaviour").value = s.quit;
    $("#backup-schedule").value = s.backup.schedule;
    $("#backup-keep").value = s.backup.keep;
    $("#backup-age").value = s.backup.max_age_days || 0;
    $("#backup-dir").value = s.backup.dir;
    $("#default-versions").replaceChildren(...s.default_versions.map((d) => {
      const sel = el("select", { id: `default-${d.kind}` }, ...d.versions.map((v) => el("option", { value: v, textContent: v })));
      sel.value = d.version;
      sel.onchange = () => invoke("set_default_version", { kind: d.kind, version: sel.value }).catch((e) => toast(e.message || String(e)));
      return el("label", { className: "row" }, `${d.name} `, sel);
    }));
    $("#notify-kinds").replaceChildren(...s.notifications.map(([kind, on]) => {
      const box = el("input", { type: "checkbox", checked: on, id: `notify-${kind}` });
      box.onchange = () => invoke("set_notify", { kind, on: box.checked }).catch((e) => toast(e.message || String(e)));
      return el("label", { className: "row" }, box, ` ${NOTIFY_LABELS[kind] || kind}`);
    }));
    $("#restart-policies").replaceChildren(...s.restart_on_failure.map(([name, on]) => {
      const box = el("input", { type: "checkbox", checked: on, id: `restart-${name}` });
      box.onchange = () => invoke("set_restart_on_failure", { name, on: box.checked }).catch((e) => toast(e.message || String(e)));
      return el("label", { className: "row" }, box, ` ${name}`);
    }));
  } catch (e) {
    toast(e.message || String(e));
  }
}
const NOTIFY_LABELS = { started: "a service started", failed: "a service failed", recovered: "a service recovered", backup: "backups finished or failed", engine: "Docker became unavailable" };

$("#backup-save").onclick = () => act($("#backup-save"), "Saving…", async () => {
  await invoke("set_backup_setting", { key: "schedule", value: $("#backup-schedule").value });
  await invoke("set_backup_setting", { key: "keep", value: String(Number($("#backup-keep").value) || 0) });
  await invoke("set_backup_setting", { key: "max-age-days", value: String(Number($("#backup-age").value) || 0) });
  await invoke("set_backup_setting", { key: "dir", value: $("#backup-dir").value.trim() });
  toast("Backup settings saved");
});

$("#quit-keep").onclick = () => act($("#quit-keep"), "Quitting…", () => invoke("quit_app", { stopServices: false }));
$("#quit-stop").onclick = () => act($("#quit-stop"), "Stopping services…", () => invoke("quit_app", { stopServices: true }));
$("#quit-cancel").onclick = () => show("services");
$("#quit-behaviour").onchange = (ev) => invoke("set_quit_behaviour", { behaviour: ev.target.value }).catch((e) => toast(e.message || String(e)));

for (const tab of document.querySelectorAll("nav button")) tab.onclick = () => show(tab.dataset.view);
$("#logs-close").onclick = () => ($("#logs").hidden = true);
$("#autostart").onchange = async (ev) => {
  try { await invoke("set_autostart", { enabled: ev.target.checked }); } catch (e) { toast(e.message || String(e)); }
};
$("#grace-save").onclick = () => act($("#grace-save"), "Saving…", () => invoke("set_grace_period", { secs: Number($("#grace").value) || 0 }));

await listen("snapshot", (e) => render(e.payload));
await listen("up-progress", (e) => {
  const cell = document.querySelector(`#svc-${CSS.escape(e.payload.service)} .state`);
  if (cell) cell.textContent = e.payload.text;
  $("#summary").textContent = `${e.payload.service}: ${e.payload.text}`;
});
await listen("backup-progress", (e) => {
  const p = e.payload;
  $("#backup-progress").textContent = `${p.service}/${p.database}: ${bytes(p.bytes)} written`;
});
await listen("backups-changed", () => {
  $("#backup-progress").textContent = "";
  if (!$("#view-backups").hidden) loadBackups();
});
await listen("supervisor-event", () => {
  if (!$("#view-events").hidden) loadEvents();
});
await listen("navigate", (e) => {
  if (String(e.payload) === "quit") return show("quit");
  const v = String(e.payload);
  if (v.startsWith("logs:")) openLogs(v.slice(5)); else show(v);
});
// Opened for a view ("Open logs…" in the tray, the Quit question): it is in the URL.
const start = decodeURIComponent(location.hash.slice(1));
if (start.startsWith("logs:")) openLogs(start.slice(5)); else if (start) show(start);
invoke("get_autostart").then((on) => ($("#autostart").checked = on)).catch(() => {});
invoke("status").then(render).catch((e) => toast(e.message || String(e)));
