// Dockhand's dashboard: renders snapshots pushed by the app (event "snapshot") and calls its
// commands. Which buttons are enabled is the core's rule (each service's `actions`), never a
// second copy here. Secrets never pass through here except the .env snippet the user asks to
// see: URLs go from the core straight to the clipboard. Destructive steps are confirmed by
// native dialogs the app shows (window.confirm returns false in macOS's WKWebView).
const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const $ = (sel) => document.querySelector(sel);
const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  for (const c of children) e.append(c);
  return e;
};
const message = (e) => (e && e.message ? e.message : String(e));

// A sentence from the core may quote a command or a name in backticks: shown as code, not as
// literal backticks.
function setRich(node, text) {
  const parts = String(text || "").split("`");
  node.replaceChildren(...parts.map((p, i) => (i % 2 ? el("code", { textContent: p }) : p)));
}

function toast(text) {
  const t = $("#toast");
  setRich(t, text);
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 6000);
}

// Runs a command from a button: the button says what is happening and cannot be pressed twice.
async function act(button, label, fn) {
  button.disabled = true;
  button.dataset.busy = "1";
  const before = button.textContent;
  button.textContent = label;
  try {
    return await fn();
  } catch (e) {
    toast(message(e));
  } finally {
    button.textContent = before;
    delete button.dataset.busy;
    button.disabled = button.dataset.off === "1";
  }
}

// A button's enabled state from the core's actions, kept while it is busy.
function enable(button, on) {
  button.dataset.off = on ? "0" : "1";
  if (!button.dataset.busy) button.disabled = !on;
}

// ---- tabs: arrow keys move between them (WAI-ARIA tabs pattern) ----
const tabs = [...document.querySelectorAll("nav [role=tab]")];
function show(view) {
  for (const tab of tabs) {
    const on = tab.dataset.view === view;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`#view-${tab.dataset.view}`).hidden = !on;
  }
  $("#view-quit").hidden = view !== "quit";
  if (view === "quit") $("#quit-keep").focus();
  if (view === "events") { loadTasks(); loadEvents(); }
  if (view === "backups") loadBackups();
  if (view === "settings") loadSettings();
}
for (const tab of tabs) {
  tab.onclick = () => show(tab.dataset.view);
  tab.onkeydown = (ev) => {
    const i = tabs.indexOf(tab);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    const next = tabs[(to + tabs.length) % tabs.length];
    next.focus();
    show(next.dataset.view);
  };
}

// ---- services: rows are kept and updated in place, so focus and clicks survive live updates ----
let snapshot = null;
let kindNames = {};
const kindName = (k) => kindNames[k] || k;

function serviceRow(name) {
  const id = `svc-${name}`;
  let tr = document.getElementById(id);
  if (tr) return tr;
  const button = (text, cls, label) => el("button", { textContent: text, className: cls, ariaLabel: `${label} ${name}` });
  const b = {
    details: el("button", { className: "link name", ariaLabel: `Details of ${name}` }),
    start: button("Start", "start", "Start"),
    stop: button("Stop", "stop", "Stop"),
    restart: button("Restart", "restart", "Restart"),
    copy: button("Copy admin URL", "copy-admin", "Copy the admin URL of"),
    backup: button("Back up", "backup", "Back up"),
    logs: button("Logs", "logs", "Logs of"),
  };
  b.details.onclick = () => openDetails(name);
  b.start.onclick = () => act(b.start, "Starting…", () => invoke("start", { name }));
  b.stop.onclick = () => act(b.stop, "Stopping…", () => invoke("stop", { name }));
  b.restart.onclick = () => act(b.restart, "Restarting…", () => invoke("restart", { name }));
  b.copy.onclick = () => act(b.copy, "Copying…", async () => { await invoke("copy_admin_url", { name }); toast(`Admin URL of ${name} copied`); });
  b.backup.onclick = () => act(b.backup, "Backing up…", async () => {
    const rows = await invoke("backup_service", { name });
    toast(`Backed up ${rows.map((r) => r.database).join(", ")} of ${name}`);
  });
  b.logs.onclick = () => openDetails(name, { logs: true });
  // Start and Stop stay in sight; the rest sit in a small menu, so a row keeps to one line
  // even at the window's smallest size.
  const more = el("details", { className: "more" },
    el("summary", { textContent: "More", ariaLabel: `More actions for ${name}` }),
    el("div", { className: "menu" }, b.restart, b.copy, b.backup, b.logs));
  for (const x of [b.restart, b.copy, b.backup, b.logs]) x.addEventListener("click", () => { more.open = false; });
  tr = el("tr", { id },
    el("td", { className: "name-cell" }, b.details),
    el("td", { className: "addr-cell" }, el("code", { className: "address" })),
    el("td", { className: "state-cell" }, el("span", { className: "state" }), el("div", { className: "detail reason" })),
    el("td", { className: "projects-count" }),
    el("td", { className: "users" }),
    el("td", { className: "actions" }, b.start, b.stop, more));
  tr.buttons = b;
  return tr;
}

document.addEventListener("click", (ev) => {
  for (const d of document.querySelectorAll("details.more[open]")) if (!d.contains(ev.target)) d.open = false;
});
document.addEventListener("keydown", (ev) => {
  if (ev.key !== "Escape") return;
  for (const d of document.querySelectorAll("details.more[open]")) { d.open = false; d.querySelector("summary").focus(); }
});

function renderServices(snap) {
  const body = $("#services tbody");
  // Docker down is said once: by the welcome when it is shown, else above the list.
  $("#engine-error").hidden = !snap.engine_error || !$("#welcome").hidden;
  setRich($("#engine-error"), snap.engine_error ? `Docker is not available: ${snap.engine_error}` : "");
  const newOpen = $("#new-service-open");
  newOpen.disabled = !!snap.engine_error;
  newOpen.title = snap.engine_error ? "Needs Docker, which is not available" : "";
  $("#no-services").hidden = snap.services.length > 0 || !!snap.engine_error || !$("#welcome").hidden;
  $("#services").hidden = snap.services.length === 0;
  const keep = new Set();
  snap.services.forEach((s, i) => {
    const tr = serviceRow(s.name);
    keep.add(tr);
    const b = tr.buttons;
    b.details.textContent = `${s.name} — ${kindName(s.kind)} ${s.version}`;
    tr.querySelector(".address").textContent = `${s.host}:${s.host_port}`;
    const state = tr.querySelector(".state");
    if (!state.dataset.progress || s.state !== "starting") {
      state.textContent = s.state;
      delete state.dataset.progress;
    }
    state.className = `state ${s.state}`;
    const reason = s.detail ? s.detail.split("\n")[0] : "";
    const r = tr.querySelector(".reason");
    r.textContent = reason;
    r.title = s.detail || "";
    tr.querySelector(".projects-count").textContent = s.dedicated_to ? `${s.dedicated_to} (dedicated)` : String(s.projects.length);
    // Why it runs and when it stops (the core's sentence, as the tray shows it).
    tr.querySelector(".users").textContent = s.lifetime || "";
    tr.querySelector(".state-cell").title = s.lifetime || "";
    const can = s.actions;
    enable(b.start, can.start);
    enable(b.stop, can.stop);
    // One of the two in sight: Stop while it can stop, else Start.
    b.stop.hidden = !can.stop;
    b.start.hidden = can.stop;
    enable(b.restart, can.restart);
    enable(b.copy, can.copy_admin_url);
    enable(b.backup, can.backup);
    enable(b.logs, can.logs);
    tr.dataset.state = s.state;
    if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
  });
  for (const tr of [...body.children]) if (!keep.has(tr)) tr.remove();
}

// ---- projects ----
function renderProjects(snap) {
  const box = $("#projects");
  $("#no-projects").hidden = snap.projects.length > 0;
  // Keep the card the user is working in (an open attach form, a shown .env) when nothing in it changed.
  const keep = new Set();
  for (const p of snap.projects) {
    const id = `project-${p.name}`;
    const sig = JSON.stringify(p) + JSON.stringify(snap.services.map((s) => [s.name, s.kind, s.version]));
    let card = document.getElementById(id);
    if (card && card.dataset.sig === sig) { keep.add(card); box.append(card); continue; }
    const fresh = projectCard(p, snap);
    fresh.dataset.sig = sig;
    if (card) {
      const focused = document.activeElement && card.contains(document.activeElement) ? document.activeElement.getAttribute("aria-label") : null;
      card.replaceWith(fresh);
      if (focused) fresh.querySelector(`[aria-label="${CSS.escape(focused)}"]`)?.focus();
    }
    box.append(fresh);
    keep.add(fresh);
  }
  for (const c of [...box.children]) if (!keep.has(c)) c.remove();
}

function projectCard(p, snap) {
  const copies = el("div", { className: "copies" });
  for (const v of p.vars) {
    const b = el("button", { textContent: `Copy ${v}`, className: "copy-var", ariaLabel: `Copy ${v} of ${p.name}` });
    b.dataset.var = v;
    b.onclick = () => act(b, "Copying…", async () => { await invoke("copy_project_var", { project: p.name, var: v }); toast(`${v} of ${p.name} copied`); });
    copies.append(b);
  }
  const snippet = el("pre", { hidden: true, className: "env-snippet" });
  const uses = p.attachments.length + (p.externals || []).length;
  const showEnv = el("button", { textContent: "Show .env", ariaLabel: `Show the .env of ${p.name}`, disabled: uses === 0 });
  showEnv.onclick = () => act(showEnv, "…", async () => {
    if (!snippet.hidden) { snippet.hidden = true; snippet.textContent = ""; return; }
    snippet.textContent = await invoke("env_snippet", { project: p.name });
    snippet.hidden = false;
  });
  const writeEnv = el("button", { textContent: "Write .env…", className: "write-env", ariaLabel: `Write the .env of ${p.name}`, disabled: !p.path || uses === 0 });
  writeEnv.title = p.path ? `Merge the variables into ${p.path}/.env (other lines are kept)` : "This project has no folder";
  const envBox = envPanel(p);
  writeEnv.onclick = () => act(writeEnv, "…", async () => {
    envPanels.set(p.name, { preview: await invoke("preview_env", { project: p.name }) });
    fillEnvPanel(envBox, p);
  });
  const toggle = el("button", { textContent: p.up ? "Let its services go" : "Keep its services running", ariaLabel: `${p.up ? "Let its services go" : "Keep its services running"}: ${p.name}`, disabled: !p.up && p.attachments.length === 0 });
  toggle.onclick = () => act(toggle, "…", () => invoke(p.up ? "project_down" : "project_up", { project: p.name }));

  const list = el("ul", { className: "attachments" });
  for (const a of p.attachments) {
    const detach = el("button", { textContent: "Detach", ariaLabel: `Detach ${p.name} from ${a.service}` });
    detach.title = "Its database and data stay on the server";
    detach.onclick = () => act(detach, "Detaching…", async () => {
      await invoke("detach_project", { project: p.name, service: a.service });
      toast(`${p.name} detached from ${a.service}; its database ${a.database} is kept`);
    });
    const own = a.dedicated ? " — its own server (dedicated)" : "";
    // The kind's own client, as the project's user, in a new terminal window.
    const client = (snap.kinds.find((k) => k.kind === a.kind) || {}).client;
    const open = client ? el("button", { textContent: `Open in ${client}`, className: "open-client", ariaLabel: `Open ${a.database} of ${p.name} in ${client}` }) : "";
    if (open) {
      open.dataset.service = a.service;
      open.title = `A terminal with ${client} connected as ${a.user} (the project's own user, not the admin)`;
      open.onclick = () => act(open, "Opening…", async () => toast(await invoke("open_client", { project: p.name, service: a.service })));
    }
    list.append(el("li", { className: a.dedicated ? "dedicated" : "" }, `${a.service} (${kindName(a.kind)}): database ${a.database}, user ${a.user}${own} `, open, " ", detach));
  }

  // Databases on servers Dockhand does not run: listed, forgotten, added by URL.
  for (const x of p.externals || []) {
    const forget = el("button", { textContent: "Forget", ariaLabel: `Forget the external database ${x.name} of ${p.name}` });
    forget.title = "Its server and data are not touched";
    forget.onclick = () => act(forget, "Forgetting…", async () => {
      await invoke("remove_external", { project: p.name, name: x.name });
      toast(`${p.name}: ${x.name} forgotten; its server was not touched`);
    });
    list.append(el("li", { className: "external" }, `${x.name} (${kindName(x.kind)}, external): database ${x.db_name} at ${x.host}:${x.port}, user ${x.db_user} `, forget));
  }
  const extKind = el("select", { ariaLabel: `Kind of external database for ${p.name}`, className: "external-kind" },
    ...snap.kinds.map((k) => el("option", { value: k.kind, textContent: k.name })));
  const extUrl = el("input", { type: "password", className: "external-url", ariaLabel: `URL of the external database for ${p.name}`, placeholder: "postgresql://user:password@host:5432/db" });
  const addExt = el("button", { textContent: "Add external", className: "add-external", ariaLabel: `Add an external database to ${p.name}` });
  addExt.title = "A database on a server Dockhand does not run (staging, a hosted one): its URL is checked, kept in the keychain and handed out with the project's variables";
  addExt.onclick = () => act(addExt, "Checking…", async () => {
    const row = await invoke("add_external", { project: p.name, kind: extKind.value, url: extUrl.value });
    extUrl.value = "";
    toast(`${p.name}: external ${kindName(row.kind)} database ${row.db_name} at ${row.host}:${row.port} added`);
  });

  // Attach: by default the shared server the project does not use yet (a running one first);
  // a new server only when chosen. A second server of a kind the project has is not offered
  // here, and servers dedicated to the project sit under "More…" with external databases.
  const attached = new Set(p.attachments.map((a) => a.service));
  const hasKind = new Set(p.attachments.map((a) => a.kind));
  const rank = (s) => (hasKind.has(s.kind) ? 2 : 0) + (s.state === "running" ? 0 : 1);
  // A server dedicated to another project is not offered: the core would refuse it.
  const shared = snap.services
    .filter((s) => !attached.has(s.name) && (!s.dedicated_to || s.dedicated_to === p.name))
    .sort((a, b) => rank(a) - rank(b));
  const pick = el("select", { ariaLabel: `Service to attach ${p.name} to`, className: "attach-target" });
  const placeholder = el("option", { value: "", textContent: "Choose a server…", disabled: true });
  pick.append(placeholder);
  if (shared.length) {
    pick.append(el("optgroup", { label: "Your servers (shared)" },
      ...shared.map((s) => el("option", { value: s.name, textContent: `${s.name} (${kindName(s.kind)} ${s.version}, ${s.state})` }))));
  }
  const newKinds = snap.kinds.filter((k) => !hasKind.has(k.kind));
  if (newKinds.length) {
    pick.append(el("optgroup", { label: "A new server" },
      ...newKinds.map((k) => el("option", { value: `${k.kind}:${k.version}`, textContent: `new ${k.name} ${k.version}` }))));
  }
  const best = shared.find((s) => !hasKind.has(s.kind));
  pick.value = best ? best.name : "";
  const attach = el("button", { textContent: "Attach", className: "attach", ariaLabel: `Attach ${p.name}` });
  const attachOn = () => enable(attach, pick.value !== "");
  pick.onchange = attachOn;
  attachOn();
  attach.onclick = () => act(attach, "Attaching…", async () => {
    const rows = await invoke("attach_project", { project: p.name, targets: [pick.value], dedicated: false });
    toast(rows.map((r) => `${p.name}: database ${r.db_name} on ${r.service}`).join("; ") || "Attached");
  });
  const dedicatedKind = el("select", { ariaLabel: `Kind of server dedicated to ${p.name}`, className: "dedicated-target" },
    ...snap.kinds.map((k) => el("option", { value: `${k.kind}:${k.version}`, textContent: `${k.name} ${k.version}` })));
  const attachDedicated = el("button", { textContent: "Create and attach", className: "attach-dedicated", ariaLabel: `Attach ${p.name} to a server of its own` });
  attachDedicated.title = "A server for this project alone, named after it, instead of a shared one";
  attachDedicated.onclick = () => act(attachDedicated, "Attaching…", async () => {
    const rows = await invoke("attach_project", { project: p.name, targets: [dedicatedKind.value], dedicated: true });
    toast(rows.map((r) => `${p.name}: database ${r.db_name} on ${r.service} (its own server)`).join("; ") || "Attached");
  });
  const more = el("details", { className: "more-choices" },
    el("summary", { textContent: "More…", ariaLabel: `More ways to give ${p.name} a database` }),
    el("div", { className: "row" }, el("span", { className: "detail", textContent: "A server of its own: " }), dedicatedKind, " ", attachDedicated),
    el("div", { className: "row" }, el("span", { className: "detail", textContent: "A database Dockhand does not run: " }), extKind, " ", extUrl, " ", addExt));
  const points = pointsBox(p);
  const branch = branchesBox(p);
  const remove = el("button", { textContent: "Remove…", ariaLabel: `Remove project ${p.name}` });
  const dropData = el("input", { type: "checkbox", ariaLabel: `Also drop the databases of ${p.name}` });
  remove.onclick = () => act(remove, "Removing…", async () => {
    const done = await invoke("remove_project", { project: p.name, dropData: dropData.checked });
    toast(done ? `Project ${p.name} removed${dropData.checked ? " (its databases were backed up, then dropped)" : "; its databases are kept"}` : "Nothing removed");
  });
  return el("div", { className: "project", id: `project-${p.name}` },
    el("h2", { textContent: p.name + (p.up ? " (up)" : "") }),
    el("div", { className: "detail", textContent: p.path || "no folder" }),
    list,
    el("div", { className: "row" }, pick, " ", attach),
    more,
    branch,
    copies,
    p.env_error ? el("p", { className: "error env-error", textContent: p.env_error }) : "",
    el("div", { className: "row" }, showEnv, " ", writeEnv, " ", toggle, " ", remove, " ",
      el("label", { className: "detail" }, dropData, " drop its databases (backed up first)")),
    envBox,
    snippet,
    points);
}

// A database per git branch: the toggle (dockhand.toml's [branches] wins), the branch checked
// out, and the branches with their own databases, each dropped after a native confirmation.
function branchesBox(p) {
  if (!p.copies || !p.path) return "";
  const toggle = el("input", { type: "checkbox", className: "follow-branches", checked: p.branches_toggle || p.branches_in_file, disabled: p.branches_in_file, ariaLabel: `A database per git branch for ${p.name}` });
  toggle.onchange = async () => {
    try {
      await invoke("set_follow_branches", { project: p.name, on: toggle.checked });
    } catch (e) {
      toggle.checked = !toggle.checked;
      toast(message(e));
    }
  };
  const label = el("label", { className: "detail" }, toggle, p.branches_in_file ? " A database per git branch (dockhand.toml's [branches])" : " A database per git branch");
  const now = p.checkout
    ? el("p", { className: "detail branch-now" }, p.checkout.branch === p.checkout.main
      ? `On ${p.checkout.branch}${p.checkout.detached ? " (HEAD detached)" : ""}: the project's own databases.`
      : `On ${p.checkout.branch}: its own copy of the databases (made from its parent on first use); Copy DATABASE_URL names it.`)
    : p.branch_error ? el("p", { className: "error branch-error", textContent: p.branch_error }) : "";
  const list = el("ul", { className: "branch-list" });
  for (const b of p.branch_databases) {
    const del = el("button", { textContent: "Delete…", className: "delete-branch", ariaLabel: `Delete the databases of branch ${b.branch} of ${p.name}` });
    del.onclick = () => act(del, "Deleting…", async () => {
      toast((await invoke("delete_branch", { project: p.name, branch: b.branch })) ? `The databases of branch ${b.branch} were dropped` : "Nothing was deleted");
    });
    const li = el("li", { className: "branch-db" }, `${b.branch} — ${bytes(b.size_bytes)}, made ${new Date(b.created_at_ms).toLocaleString()} `, del);
    li.dataset.branch = b.branch;
    list.append(li);
  }
  return el("div", { className: "branches" }, el("h3", { textContent: "Git branches" }), label, now, list);
}

// Restore points: taken in seconds by the server, listed with their size and age; reset and
// delete ask first in a native dialog (the app shows it).
function pointsBox(p) {
  if (!p.copies) return "";
  const name = el("input", { type: "text", className: "point-name", maxLength: 64, placeholder: "name (default: the time)", ariaLabel: `Name of a new restore point of ${p.name}` });
  const take = el("button", { textContent: "Take restore point", className: "take-point", ariaLabel: `Take a restore point of ${p.name}` });
  take.title = "A copy of the project's PostgreSQL databases, made by the server itself in seconds: reset to it when your data breaks";
  take.onclick = () => act(take, "Taking…", async () => {
    const t = await invoke("take_point", { project: p.name, label: name.value });
    if (!t) return toast("No restore point taken: the project's sessions were left alone");
    name.value = "";
    const left = t.not_included.map(([what, why]) => `; not included: ${what} (${why})`).join("");
    toast(`Restore point “${t.point.label}” of ${p.name} taken in ${t.took_ms} ms (${bytes(t.point.size_bytes)})${left}`);
  });
  const list = el("ul", { className: "point-list" });
  for (const pt of p.points) {
    const reset = el("button", { textContent: "Reset…", className: "reset-point", ariaLabel: `Reset ${p.name} to the restore point ${pt.label}` });
    reset.dataset.point = pt.label;
    reset.title = "Put the point's data back in place of what the databases hold now (backed up first)";
    reset.onclick = () => act(reset, "Resetting…", async () => {
      const r = await invoke("reset_point", { project: p.name, label: pt.label });
      toast(r ? `${p.name} reset to “${pt.label}” in ${r.took_ms} ms; what it held before is in Backups` : "Nothing was reset");
    });
    const del = el("button", { textContent: "Delete…", className: "delete-point", ariaLabel: `Delete the restore point ${pt.label} of ${p.name}` });
    del.dataset.point = pt.label;
    del.onclick = () => act(del, "Deleting…", async () => {
      toast((await invoke("delete_point", { project: p.name, label: pt.label })) ? `Restore point “${pt.label}” of ${p.name} deleted` : "Nothing was deleted");
    });
    const li = el("li", { className: "point" }, `${pt.label} — ${new Date(pt.created_at_ms).toLocaleString()}, ${bytes(pt.size_bytes)} `, reset, " ", del);
    li.dataset.point = pt.label;
    list.append(li);
  }
  const none = p.points.length ? "" : el("p", { className: "detail", textContent: "No restore point yet: take one before a risky migration, and reset to it in seconds." });
  return el("div", { className: "points" },
    el("h3", { textContent: "Restore points" }),
    el("div", { className: "row" }, name, " ", take),
    none,
    list);
}

// "Write .env": what it will add and change is shown first and written on confirmation; the
// warning that git would commit the passwords stays on the card, with the fix, until it is
// fixed. Kept per project so a live re-render of the card does not lose it.
const envPanels = new Map();
function envPanel(p) {
  const box = el("div", { className: "env-panel panel", role: "region", ariaLabel: `.env of ${p.name}` });
  fillEnvPanel(box, p, false);
  return box;
}
function fillEnvPanel(box, p, live = true) {
  // The card on screen now: a live update may have replaced the one whose button was pressed
  // (not when building a new card, which is not on screen yet).
  const card = live && document.getElementById(`project-${p.name}`);
  box = (card && card.querySelector(".env-panel")) || box;
  const st = envPanels.get(p.name);
  box.hidden = !st;
  if (!st) return box.replaceChildren();
  const w = st.written || st.preview;
  const list = (xs) => xs.join(", ");
  const what = st.written
    ? `Written to ${w.path}: ${[...w.added, ...w.updated].length ? `${list([...w.added, ...w.updated])}` : "it was already up to date"}.`
    : `${w.path}: ${w.added.length ? `adds ${list(w.added)}` : ""}${w.added.length && w.updated.length ? "; " : ""}${w.updated.length ? `changes ${list(w.updated)}` : ""}${!w.added.length && !w.updated.length ? "already up to date" : ""}. Its other lines are kept; only you can read it.`;
  const children = [el("p", { className: "env-what", textContent: what })];
  if (w.git_warning) {
    const ignore = el("button", { textContent: "Add .env to .gitignore", className: "env-gitignore", ariaLabel: `Add the .env of ${p.name} to .gitignore` });
    ignore.onclick = () => act(ignore, "Adding…", async () => {
      const file = await invoke("ignore_env_in_git", { project: p.name });
      const preview = await invoke("preview_env", { project: p.name });
      if (st.written) st.written.git_warning = preview.git_warning; else st.preview = preview;
      fillEnvPanel(box, p);
      toast(`.env added to ${file}`);
    });
    children.push(el("p", { className: "warning env-git-warning", textContent: "It holds passwords and git would commit it. " }, ignore));
  }
  const close = el("button", { textContent: st.written ? "Close" : "Cancel", className: "env-close" });
  close.onclick = () => { envPanels.delete(p.name); fillEnvPanel(box, p); };
  const row = el("p", { className: "row" });
  if (!st.written) {
    const go = el("button", { textContent: "Write", className: "primary env-write-go", ariaLabel: `Write the .env of ${p.name} now` });
    go.onclick = () => act(go, "Writing…", async () => {
      st.written = await invoke("write_env", { project: p.name });
      fillEnvPanel(box, p);
    });
    row.append(go, " ");
  }
  row.append(close);
  children.push(row);
  box.replaceChildren(...children);
  return box;
}

// ---- first run ----
let shell = null;
function renderWelcome(snap) {
  const empty = snap.services.length === 0 && snap.projects.length === 0;
  const w = $("#welcome");
  w.hidden = !empty || localStorage.getItem("welcome-dismissed") === "1";
  if (w.hidden) return;
  const ok = !snap.engine_error;
  setRich($("#docker-state"), ok ? "✓ Docker is running." : `✗ Docker is not available: ${snap.engine_error.split("\n")[0]}`);
  $("#docker-state").className = ok ? "ok" : "error";
  $("#docker-hint").hidden = ok;
  setRich($("#docker-hint"), shell ? shell.start_docker : "");
  $("#docker-recheck").hidden = ok;
  // Nothing can be created without Docker: the choices come back when it answers.
  $("#welcome-create").hidden = !ok;
  const box = $("#welcome-kinds");
  if (box.children.length !== snap.kinds.length) {
    box.replaceChildren(...snap.kinds.map((k) => {
      const b = el("button", { textContent: k.name, className: "kind-choice" });
      b.dataset.kind = k.kind;
      b.onclick = () => openNewService(k.kind);
      return b;
    }));
  }
  for (const b of box.children) b.disabled = !ok;
}
$("#docker-recheck").onclick = () => act($("#docker-recheck"), "Checking…", async () => render(await invoke("status")));
$("#welcome-dismiss").onclick = () => { localStorage.setItem("welcome-dismissed", "1"); $("#welcome").hidden = true; };
$("#welcome-project").onclick = () => { show("projects"); pickProject(); };

function render(snap) {
  snapshot = snap;
  kindNames = Object.fromEntries(snap.kinds.map((k) => [k.kind, k.name]));
  $("#summary").textContent = snap.engine_error
    ? "Docker is unavailable"
    : `${snap.running} of ${snap.services.length} running · ${snap.projects.length} ${snap.projects.length === 1 ? "project" : "projects"}`;
  renderWelcome(snap);
  renderServices(snap);
  renderProjects(snap);
  if (!$("#details").hidden) refreshDetails();
  $("#home").textContent = snap.home;
  if (document.activeElement !== $("#grace")) $("#grace").value = snap.grace_period_secs;
}

// ---- the new-service dialog ----
const dlg = $("#new-service");
let form = null;
let portTimer = null;

async function openNewService(kind, version) {
  $("#new-result").hidden = true;
  $("#new-progress").hidden = true;
  $("#new-error").hidden = true;
  $("#new-create").hidden = false;
  $("#new-create").disabled = false;
  memoryTouched = false;
  portTouched = false;
  // Every new service starts from the default mode (durable), whatever the last one was.
  $("#new-mode").replaceChildren();
  const kinds = snapshot ? snapshot.kinds : [];
  $("#new-kind").replaceChildren(...kinds.map((k) => el("option", { value: k.kind, textContent: k.name })));
  $("#new-kind").value = kind || (kinds[0] && kinds[0].kind) || "";
  showExisting($("#new-kind").value);
  if (!dlg.open) dlg.showModal();
  await fillForm($("#new-kind").value, version);
}

// A second server of a kind is rarely what a user wants: projects share one. Say which one
// exists, and offer to attach a project to it instead.
function sharedOfKind(kind) {
  return (snapshot ? snapshot.services : []).filter((s) => s.kind === kind && !s.dedicated_to);
}
function showExisting(kind) {
  const same = sharedOfKind(kind);
  $("#new-existing").hidden = same.length === 0;
  if (!same.length) return;
  const s = same.find((x) => x.state === "running") || same[0];
  const others = same.length > 1 ? ` (and ${same.length - 1} more)` : "";
  $("#new-existing-text").textContent = `You already have ${s.name}${others}: ${kindName(s.kind)} ${s.version}, ${s.state}, on ${s.host}:${s.host_port}. ` +
    "Projects share it: each one you attach gets its own database and user on it.";
  $("#new-existing").dataset.service = s.name;
}
$("#new-existing-attach").onclick = () => {
  const service = $("#new-existing").dataset.service;
  dlg.close();
  show("projects");
  const card = snapshot && snapshot.projects.length ? document.getElementById(`project-${snapshot.projects[0].name}`) : null;
  const pick = card && card.querySelector("select.attach-target");
  if (pick && [...pick.options].some((o) => o.value === service)) {
    pick.value = service;
    pick.dispatchEvent(new Event("change"));
    pick.focus();
  } else if (!card) {
    pickProject();
  }
};

// Only the answer to the latest request fills the form: a slower, older answer (the kind's
// default version, asked for when the dialog opened) must not overwrite the version just chosen.
let fillSeq = 0;
async function fillForm(kind, version) {
  const seq = ++fillSeq;
  $("#new-form").dataset.loading = "1";
  let answer;
  try {
    answer = await invoke("new_service_form", { kind, version: version === "" ? null : version ?? null });
  } catch (e) {
    if (seq !== fillSeq) return;
    delete $("#new-form").dataset.loading;
    $("#new-error").textContent = message(e);
    $("#new-error").hidden = false;
    return;
  }
  if (seq !== fillSeq) return;
  delete $("#new-form").dataset.loading;
  form = answer;
  $("#new-error").hidden = true;
  const sel = $("#new-version");
  sel.replaceChildren(
    ...form.versions.slice().reverse().map((v) => el("option", { value: v.version, textContent: `${v.version}${v.present ? " — downloaded" : ""}` })),
    el("option", { value: "", textContent: "Other…" }));
  const custom = version === "" || (version && !form.versions.some((v) => v.version === form.version));
  sel.value = custom ? "" : form.version;
  $("#new-tag").hidden = !custom;
  if (custom && version) $("#new-tag").value = version;
  $("#new-name").value = form.name;
  nameTouched = false;
  // A port the user typed survives a change of version or kind; an untouched one follows.
  if (!portTouched) $("#new-port").value = form.port;
  fillExtensions();
  fillModes();
  checkPort();
}

// Durable, fast, ephemeral (and both): each with what it means, its data-loss warning and the
// memory limit it gets by default. An untouched limit follows the mode.
function fillModes() {
  const sel = $("#new-mode");
  const was = sel.value;
  sel.replaceChildren(...form.modes.map((m) => el("option", { value: m.mode, textContent: m.mode })));
  sel.value = form.modes.some((m) => m.mode === was) ? was : form.modes[0].mode;
  modeChanged();
}
function modeChanged() {
  const m = form.modes.find((x) => x.mode === $("#new-mode").value) || form.modes[0];
  $("#new-mode-text").textContent = m.description;
  $("#new-mode-warning").textContent = m.warning ? `Warning: ${m.warning}.` : "";
  $("#new-mode-warning").hidden = !m.warning;
  if (!memoryTouched) $("#new-memory").value = m.memory_mb % 1024 === 0 ? `${m.memory_mb / 1024}g` : `${m.memory_mb}m`;
}
let memoryTouched = false;
$("#new-mode").onchange = modeChanged;
$("#new-memory").oninput = () => { memoryTouched = true; };

// PostgreSQL's extensions as checkboxes; each picks the image that carries it (as `up --with`),
// shown as the image's placeholder. An untouched name follows the choice, as the CLI's does.
function fillExtensions() {
  const box = $("#new-extensions");
  box.replaceChildren(el("legend", { textContent: "Extensions" }),
    ...form.extensions.map((x) => {
      const input = el("input", { type: "checkbox", value: x.name });
      input.onchange = extensionsChanged;
      return el("label", {}, input, ` ${x.display_name} (${x.name})`);
    }));
  box.hidden = form.extensions.length === 0;
  extensionsChanged();
}
function checkedExtensions() {
  return [...document.querySelectorAll("#new-extensions input:checked")].map((i) => i.value);
}
function extensionsChanged() {
  const chosen = checkedExtensions();
  const images = form.extensions.filter((x) => chosen.includes(x.name)).map((x) => x.image);
  $("#new-image").placeholder = images.length > 1
    ? "no official image has all of them: enter one that does"
    : `default: ${images[0] || form.image}`;
  const name = $("#new-name");
  if (!nameTouched) name.value = chosen.length ? `${form.name}-${chosen.join("-")}` : form.name;
}
let nameTouched = false;
$("#new-name").oninput = () => { nameTouched = true; };

$("#new-kind").onchange = () => { showExisting($("#new-kind").value); fillForm($("#new-kind").value, null); };
$("#new-version").onchange = () => {
  const v = $("#new-version").value;
  $("#new-tag").hidden = v !== "";
  if (v === "") { $("#new-tag").focus(); return; }
  fillForm($("#new-kind").value, v);
};
// A port the user typed is kept whatever happens; an untouched one is left to the core, which
// gives a re-created service the port its data last used (so projects' URLs keep working).
let portTouched = false;
$("#new-port").oninput = () => { portTouched = true; clearTimeout(portTimer); portTimer = setTimeout(checkPort, 250); };

async function checkPort() {
  const port = Number($("#new-port").value);
  const status = $("#new-port-status");
  if (!port || port < 1 || port > 65535) { status.textContent = "a port is a number from 1 to 65535"; status.className = "detail error"; return; }
  try {
    const c = await invoke("check_port", { port });
    if (Number($("#new-port").value) !== port) return; // the user typed on
    status.textContent = c.free ? "free" : c.message || `port ${port} is taken`;
    status.className = c.free ? "detail ok" : "detail error";
    status.dataset.free = String(c.free);
  } catch (e) {
    status.textContent = message(e);
    status.className = "detail error";
  }
}

$("#new-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const kind = $("#new-kind").value;
  const version = $("#new-version").value || $("#new-tag").value.trim();
  const name = $("#new-name").value.trim();
  const port = portTouched ? Number($("#new-port").value) || null : null;
  const image = $("#new-image").value.trim() || null;
  const mode = $("#new-mode").value || null;
  const memory = $("#new-memory").value.trim() || null;
  if (!version) { $("#new-error").textContent = "Choose a version, or type a tag under Other…"; $("#new-error").hidden = false; return; }
  $("#new-error").hidden = true;
  $("#new-progress").hidden = false;
  $("#new-progress-bar").removeAttribute("value");
  $("#new-progress-text").textContent = "creating…";
  creating = name;
  const go = $("#new-create");
  await act(go, "Creating…", async () => {
    try {
      const extensions = checkedExtensions();
      const c = await invoke("create_service", { kind, version, name, port, image, extensions, mode, memory });
      $("#new-progress").hidden = true;
      $("#new-result").hidden = false;
      $("#new-result").dataset.name = c.name;
      $("#new-result").dataset.address = `${c.host}:${c.host_port}`;
      $("#new-result-text").textContent = `${c.display_name} ${c.version} (${c.name}) answers on ${c.host}:${c.host_port}` +
        (c.ready_ms ? ` — ready in ${(c.ready_ms / 1000).toFixed(1)} s` : "") + `. Admin user: ${c.admin_user}. Attach a project to give it its own database and user.` +
        (c.mode_warning ? ` Mode ${c.mode}: ${c.mode_warning}.` : "");
      go.hidden = true;
      $("#new-copy-url").focus();
    } catch (e) {
      $("#new-progress").hidden = true;
      $("#new-error").textContent = message(e);
      $("#new-error").hidden = false;
    } finally {
      creating = null;
    }
  });
};
let creating = null;
$("#new-cancel").onclick = () => dlg.close();
$("#new-copy-url").onclick = () => act($("#new-copy-url"), "Copying…", async () => { await invoke("copy_admin_url", { name: $("#new-result").dataset.name }); toast("Admin URL copied"); });
$("#new-copy-address").onclick = () => act($("#new-copy-address"), "Copying…", async () => { await invoke("copy_text", { text: $("#new-result").dataset.address }); toast("Address copied"); });
$("#new-show").onclick = () => { dlg.close(); show("services"); openDetails($("#new-result").dataset.name); };
$("#new-service-open").onclick = () => openNewService();
$("#no-services-new").onclick = () => openNewService();

// ---- service details: facts, databases, live logs, removal ----
let detailsOf = null;
let detailsTimer = null;
let logsAt = 0;

async function openDetails(name, opts = {}) {
  show("services");
  const same = detailsOf === name;
  detailsOf = name;
  $("#details").hidden = false;
  $("#details-title").textContent = name;
  if (!same) {
    $("#details-facts").replaceChildren();
    $("#databases tbody").replaceChildren();
    $("#logs-text").textContent = "";
    logsAt = 0;
    startLogs(name);
  }
  await refreshDetails();
  clearInterval(detailsTimer);
  detailsTimer = setInterval(refreshDetails, 5000);
  if (opts.logs) { $("#logs-text").scrollIntoView({ block: "nearest" }); $("#logs-text").focus(); }
  else $("#details-close").focus();
}

function closeDetails() {
  detailsOf = null;
  clearInterval(detailsTimer);
  $("#details").hidden = true;
  invoke("stop_logs").catch(() => {});
}
$("#details-close").onclick = closeDetails;

const bytes = (n) => (n == null ? "—" : n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : n < 1073741824 ? `${(n / 1048576).toFixed(1)} MiB` : `${(n / 1073741824).toFixed(2)} GiB`);
const duration = (s) => (s == null ? "—" : s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : s < 86400 ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min` : `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`);

async function refreshDetails() {
  const name = detailsOf;
  if (!name) return;
  let d;
  try {
    d = await invoke("service_details", { name });
  } catch (e) {
    if (detailsOf === name) $("#details-facts").replaceChildren(el("dt", { textContent: "Error" }), el("dd", { textContent: message(e) }));
    return;
  }
  if (detailsOf !== name) return;
  const facts = [
    ["State", d.state + (d.detail ? ` — ${d.detail.split("\n")[0]}` : "")],
    ["Version", `${kindName(d.kind)} ${d.version}`],
    ["Made by", d.origin === "adopted" ? "you — a container Dockhand adopted (never re-created or removed by it)" : "Dockhand"],
    ["Serves", d.dedicated_to ? `project ${d.dedicated_to} only (a dedicated server)` : "every project that attaches (shared)"],
    ["Image", d.image + (d.image_digest ? ` (${d.image_digest.split("@")[1].slice(0, 19)}…)` : " (built locally)")],
    ["Mode", d.mode_text],
    ["From your computer", `${d.host}:${d.host_port}`],
    ["From containers", `${d.container_host}:${d.container_port} (network ${d.network})`],
    ["Data volume", `${d.volume} — ${bytes(d.volume_bytes)}`],
    ["Memory", `${d.memory_bytes == null ? "— (not running)" : `${bytes(d.memory_bytes)} in use`}; limit ${d.memory_limit_text}`],
    ["CPU", d.cpu_percent == null ? "—" : `${d.cpu_percent.toFixed(1)} %`],
    ["Up for", duration(d.uptime_secs)],
    // The core's sentence, as the list and the tray say it.
    ["Why it runs", ((snapshot && snapshot.services.find((s) => s.name === name)) || {}).lifetime || "it is not running"],
    ["Last health change", d.last_health ? `${new Date(d.last_health.at_ms).toLocaleString()} — ${d.last_health.kind}: ${d.last_health.message}` : "—"],
  ];
  const dl = $("#details-facts");
  // Update the values in place (a screen reader reading them is not interrupted).
  if (dl.children.length !== facts.length * 2) {
    dl.replaceChildren(...facts.flatMap(([k]) => [el("dt", { textContent: k }), el("dd")]));
  }
  facts.forEach(([, v], i) => { const dd = dl.children[i * 2 + 1]; if (dd.textContent !== v) dd.textContent = v; });
  dl.dataset.state = d.state;
  renderDatabases(name, d.databases, d.actions);
  renderUpgrade(name);
  $("#destroy-keep").disabled = !d.actions.destroy;
  $("#destroy-purge").disabled = !d.actions.destroy;
}

// ---- major upgrades: offered versions, or the upgrade on record (roll back / delete kept data) ----
let upgrading = false;
async function renderUpgrade(service) {
  if (upgrading) return;
  let c;
  try { c = await invoke("upgrade_choices", { service }); } catch (e) { $("#upgrade-state").textContent = message(e); return; }
  if (detailsOf !== service || upgrading) return;
  const u = c.on_record;
  const state = u
    ? u.step === "rolled-back"
      ? `Rolled back from ${u.to_version} to ${u.from_version}; the ${u.to_version} data is kept in ${u.to_volume}.`
      : `Upgraded from ${u.from_version} to ${u.to_version}; the ${u.from_version} data is kept in ${u.from_volume} for a rollback.`
    : c.why_none || `${kindName(c.kind)} ${c.version}.`;
  if ($("#upgrade-state").textContent !== state) $("#upgrade-state").textContent = state;
  $("#upgrade-kept").hidden = !u;
  $("#upgrade-rollback").hidden = !u || u.step === "rolled-back";
  $("#upgrade-offer").hidden = !!u || c.targets.length === 0;
  const sel = $("#upgrade-to");
  const sig = JSON.stringify(c.targets);
  if (sel.dataset.sig !== sig) {
    sel.dataset.sig = sig;
    sel.replaceChildren(...c.targets.map((t) => el("option", { value: t.to, textContent: t.label })));
  }
}
async function upgradeStep(button, busy, fn) {
  upgrading = true;
  $("#upgrade-progress").textContent = "";
  try { await act(button, busy, fn); } finally { upgrading = false; refreshDetails(); }
}
$("#upgrade-go").onclick = () => upgradeStep($("#upgrade-go"), "Upgrading…", async () => {
  const service = detailsOf;
  const opt = $("#upgrade-to").selectedOptions[0];
  if (!opt) return;
  const r = await invoke("upgrade_service", { service, to: opt.value, label: opt.textContent });
  if (!r) { $("#upgrade-progress").textContent = "Nothing changed."; return; }
  const text = `Upgraded ${r.service} from ${r.from_version} to ${r.to_version}: ${r.databases} databases, ${r.tables} tables, ${r.rows} rows verified; projects waited ${(r.blocked_ms / 1000).toFixed(1)} s.`;
  $("#upgrade-progress").textContent = text;
  toast(text);
});
$("#upgrade-rollback").onclick = () => upgradeStep($("#upgrade-rollback"), "Rolling back…", async () => {
  const r = await invoke("rollback_upgrade", { service: detailsOf });
  if (!r) { $("#upgrade-progress").textContent = "Nothing changed."; return; }
  const text = `Rolled ${r.service} back to ${r.version} (${r.backups} backups of the ${r.from_version} databases first).`;
  $("#upgrade-progress").textContent = text;
  toast(text);
});
$("#upgrade-finish").onclick = () => upgradeStep($("#upgrade-finish"), "Deleting…", async () => {
  const r = await invoke("finish_upgrade", { service: detailsOf });
  if (!r) { $("#upgrade-progress").textContent = "Nothing deleted."; return; }
  $("#upgrade-progress").textContent = `Deleted ${r.removed_volume}.`;
  toast(`Deleted the kept data (${r.removed_volume})`);
});

function renderDatabases(service, dbs, can) {
  const body = $("#databases tbody");
  const sig = JSON.stringify(dbs);
  $("#no-databases").hidden = dbs.some((d) => !d.server_own);
  $("#db-create-go").disabled = !can.backup; // creating needs the server up, as backing up does
  if (body.dataset.sig === sig && body.dataset.service === service) return;
  body.dataset.sig = sig;
  body.dataset.service = service;
  body.replaceChildren(...dbs.map((d) => {
    const drop = el("button", { textContent: "Drop…", className: "danger", ariaLabel: `Drop database ${d.name}`, disabled: d.server_own });
    if (d.server_own) drop.title = "The server's own database cannot be dropped";
    drop.onclick = () => act(drop, "Dropping…", async () => {
      const b = await invoke("drop_database", { service, name: d.name });
      toast(b ? `Dropped ${d.name}; backup ${b.id} holds its contents` : "Nothing dropped");
      refreshDetails();
    });
    const tr = el("tr", { id: `db-${service}-${d.name}` },
      el("td", { textContent: d.name + (d.server_own ? " (the server's own)" : "") }),
      el("td", { textContent: d.project || "—" }),
      el("td", { textContent: d.user || "—" }),
      el("td", {}, drop));
    return tr;
  }));
}

$("#db-create").onsubmit = (ev) => {
  ev.preventDefault();
  const service = detailsOf;
  const name = $("#db-name").value.trim();
  if (!name) { toast("Type the new database's name"); return; }
  act($("#db-create-go"), "Creating…", async () => {
    const a = await invoke("create_database", { service, name });
    $("#db-name").value = "";
    toast(`Database ${a.db_name} created with its own user ${a.db_user}; copy its URL in Projects (${a.project})`);
    refreshDetails();
  });
};

async function startLogs(name) {
  $("#logs-state").textContent = "following";
  try {
    await invoke("follow_logs", { name, tail: 300 });
  } catch (e) {
    $("#logs-state").textContent = message(e);
  }
}
const LOG_LIMIT = 200000; // characters kept in the page: a chatty server must not grow the window's memory
listen("log-chunk", (e) => {
  if (e.payload.service !== detailsOf) return;
  const pre = $("#logs-text");
  // Follow the end unless the user scrolled up to read.
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  let text = pre.textContent + e.payload.text;
  if (text.length > LOG_LIMIT) text = text.slice(text.length - LOG_LIMIT);
  pre.textContent = text;
  if (atEnd) pre.scrollTop = pre.scrollHeight;
  pre.dataset.lines = String(++logsAt);
});
listen("log-end", (e) => {
  if (e.payload.service === detailsOf) $("#logs-state").textContent = e.payload.reason;
});

$("#destroy-keep").onclick = () => act($("#destroy-keep"), "Removing…", async () => {
  const name = detailsOf;
  await invoke("destroy_service", { name, purge: false, backupFirst: false });
  toast(`Removed the container of ${name}; its data volume and password are kept — create ${name} again to get them back`);
  closeDetails();
});
$("#destroy-purge").onclick = () => act($("#destroy-purge"), "Deleting…", async () => {
  const name = detailsOf;
  const done = await invoke("destroy_service", { name, purge: true, backupFirst: $("#destroy-backup").checked });
  if (done) { toast(`Deleted ${name} and its data`); closeDetails(); } else toast("Nothing deleted");
});

// ---- adding a project ----
let folder = null;
async function pickProject() {
  await act($("#project-pick"), "Choosing…", async () => {
    const f = await invoke("pick_project_folder");
    if (f) showFolder(f);
  });
}
function showFolder(f) {
  folder = f;
  $("#add-project").hidden = false;
  $("#add-project-path").textContent = f.path;
  $("#add-project-name").value = f.name;
  const needs = $("#add-project-needs");
  if (f.config_error) {
    needs.replaceChildren(el("p", { className: "error", textContent: `dockhand.toml: ${f.config_error}` }));
  } else if (f.needs.length) {
    needs.replaceChildren(el("p", { textContent: "Its dockhand.toml asks for:" }),
      el("ul", {}, ...f.needs.map((n) => el("li", { textContent: `${n.display_name} ${n.version || "(any version)"}${n.service ? ` on ${n.service}` : ""}` }))),
      el("p", { className: "detail", textContent: "Adding it attaches them: each gets its own database and user (a server is created when none fits)." }));
  } else {
    needs.replaceChildren(el("p", { className: "detail", textContent: "No dockhand.toml: attach services to it after adding it." }));
  }
  $("#add-project-name").focus();
}
$("#project-pick").onclick = pickProject;
$("#project-inspect").onclick = () => act($("#project-inspect"), "Looking…", async () => showFolder(await invoke("inspect_project_folder", { path: $("#project-path").value })));
$("#add-project-cancel").onclick = () => { $("#add-project").hidden = true; folder = null; };
$("#add-project-go").onclick = () => act($("#add-project-go"), "Adding…", async () => {
  const name = await invoke("add_project", { path: folder.path, name: $("#add-project-name").value });
  if (folder.needs.length) await invoke("attach_project", { project: name, targets: [] });
  $("#add-project").hidden = true;
  toast(`Project ${name} added` + (folder.needs.length ? " and attached" : ""));
  folder = null;
});

// ---- events ----
async function loadEvents() {
  const body = $("#events tbody");
  try {
    const events = await invoke("events", { limit: 200 });
    $("#no-events").hidden = events.length > 0;
    $("#events").hidden = events.length === 0;
    body.replaceChildren(...events.map((e) => el("tr", {},
      el("td", { textContent: new Date(e.at_ms).toLocaleString() }),
      el("td", { textContent: e.service || "" }),
      el("td", { textContent: e.kind }),
      el("td", { textContent: e.message.split("\n")[0] }))));
  } catch (e) {
    toast(message(e));
  }
}

// ---- tasks: long operations of any Dockhand process (this window, the tray, the CLI) ----
function taskProgress(t) {
  const p = t.progress;
  if (p.done == null) return "";
  const n = (v) => (p.unit === "bytes" ? bytes(v) : `${v}${p.unit ? " " + p.unit : ""}`);
  return p.total ? `${n(p.done)} / ${n(p.total)}` : n(p.done);
}
function taskBar(t) {
  const bar = el("progress", { max: 1, ariaLabel: `${t.kind} ${t.target}` });
  if (t.progress.total && t.progress.done != null) bar.value = t.progress.done / t.progress.total;
  else bar.removeAttribute("value");
  return bar;
}
// The footer: what runs now, polled every 2 s (cheap: one read of the state database).
async function loadRunningTasks() {
  try {
    const running = await invoke("tasks", { history: 0 });
    const bar = $("#tasks-bar");
    bar.hidden = running.length === 0;
    bar.replaceChildren(...running.map((t) => el("span", { className: "task", id: `running-task-${t.id}` },
      `${t.kind} ${t.target} `, taskBar(t), ` ${[taskProgress(t), t.progress.message].filter(Boolean).join(" · ")}`)));
    if (!$("#view-events").hidden && running.length !== loadRunningTasks.last) loadTasks();
    loadRunningTasks.last = running.length;
  } catch {
    // Docker not there yet: the banner says so; the footer stays as it was.
  }
}
async function loadTasks() {
  try {
    const tasks = await invoke("tasks", { history: 20 });
    $("#no-tasks").hidden = tasks.length > 0;
    $("#tasks").hidden = tasks.length === 0;
    $("#tasks tbody").replaceChildren(...tasks.map((t) => el("tr", { id: `task-${t.id}` },
      el("td", { textContent: new Date(t.started_at_ms).toLocaleString() }),
      el("td", { textContent: t.kind }),
      el("td", { textContent: t.target }),
      el("td", {}, el("span", { className: `state ${t.state}`, textContent: t.state })),
      el("td", { textContent: taskProgress(t) }),
      el("td", { textContent: (t.state === "running" ? t.progress.message : t.result || t.error || "").split("\n")[0] }))));
  } catch (e) {
    toast(message(e));
  }
}
setInterval(loadRunningTasks, 2000);

// ---- backups ----
// Whether Dockhand restores backups of this kind (the kinds table says: the drivers decide).
const canRestore = (kind) => !!(snapshot && snapshot.kinds.some((k) => k.kind === kind && k.restores));
async function loadBackups() {
  const body = $("#backups tbody");
  invoke("backups_folder").then((d) => ($("#backups-dir").textContent = d)).catch(() => {});
  try {
    const rows = await invoke("backups");
    $("#no-backups").hidden = rows.length > 0;
    body.replaceChildren(...rows.map((b) => {
      const verify = el("button", { textContent: "Verify", ariaLabel: `Verify backup ${b.id}` });
      verify.onclick = () => act(verify, "Verifying…", async () => {
        const v = await invoke("verify_backup", { id: b.id });
        toast(`Backup ${b.id}: ${v.checksum_ok ? "checksum ok" : "CHECKSUM MISMATCH"}, ${v.readable === false ? "NOT readable" : v.readable ? "readable" : "readability not checked"}. ${v.detail}`);
      });
      const restore = el("button", { textContent: "Restore…", ariaLabel: `Restore backup ${b.id}`, disabled: !canRestore(b.kind) });
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
    toast(message(e));
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
  act($("#restore-go"), "Restoring…", async () => {
    // With overwrite the app asks natively before anything is replaced.
    const r = await invoke("restore_backup", { id: Number(f.dataset.id), into, overwrite });
    if (!r) { toast("Nothing restored"); return; }
    f.hidden = true;
    toast(`Restored into ${r.database} in ${r.took_ms} ms` + (r.safety_backup ? ` (previous contents: backup ${r.safety_backup.id})` : ""));
  });
};
$("#restore-cancel").onclick = () => ($("#restore-form").hidden = true);
$("#backup-all").onclick = () => act($("#backup-all"), "Backing up…", async () => {
  const rows = await invoke("backup_all");
  toast(rows.length ? `${rows.length} backups taken` : "Nothing to back up: no service is running");
});
$("#backups-copy-dir").onclick = () => act($("#backups-copy-dir"), "Copying…", async () => { await invoke("copy_text", { text: $("#backups-dir").textContent }); toast("Path copied"); });
$("#backups-reveal").onclick = () => act($("#backups-reveal"), "Opening…", () => invoke("reveal_backups"));

// ---- settings ----
async function loadSettings() {
  try {
    const s = await invoke("settings");
    $("#quit-behaviour").value = s.quit;
    if (document.activeElement !== $("#connection-limit")) $("#connection-limit").value = s.connection_limit;
    $("#backup-schedule").value = s.backup.schedule;
    $("#backup-keep").value = s.backup.keep;
    $("#backup-age").value = s.backup.max_age_days || 0;
    $("#backup-dir").value = s.backup.dir;
    $("#default-versions").replaceChildren(...s.default_versions.map((d) => {
      const sel = el("select", { id: `default-${d.kind}` }, ...d.versions.map((v) => el("option", { value: v, textContent: v })));
      sel.value = d.version;
      sel.onchange = () => invoke("set_default_version", { kind: d.kind, version: sel.value }).catch((e) => toast(message(e)));
      return el("label", { className: "row" }, `${d.name} `, sel);
    }));
    $("#notify-kinds").replaceChildren(...s.notifications.map(([kind, on]) => {
      const box = el("input", { type: "checkbox", checked: on, id: `notify-${kind}` });
      box.onchange = () => invoke("set_notify", { kind, on: box.checked }).catch((e) => toast(message(e)));
      return el("label", { className: "row" }, box, ` ${NOTIFY_LABELS[kind] || kind}`);
    }));
    $("#restart-policies").replaceChildren(...s.restart_on_failure.map(([name, on]) => {
      const box = el("input", { type: "checkbox", checked: on, id: `restart-${name}` });
      box.onchange = () => invoke("set_restart_on_failure", { name, on: box.checked }).catch((e) => toast(message(e)));
      return el("label", { className: "row" }, box, ` ${name}`);
    }));
  } catch (e) {
    toast(message(e));
  }
  invoke("about").then((a) => ($("#about").textContent = `Dockhand ${a.version} (${a.commit})`)).catch(() => {});
  loadImages();
  loadDetected();
}

async function loadImages() {
  let list;
  try { list = await invoke("images"); } catch (e) { $("#images-state").textContent = message(e); return; }
  $("#images tbody").replaceChildren(...list.map((i) => el("tr", { id: `image-${i.reference}` },
    el("td", { textContent: i.reference }),
    el("td", { textContent: bytes(i.size_bytes) }),
    el("td", { textContent: i.used_by.join(", ") || "—" }))));
  const unused = list.filter((i) => i.used_by.length === 0).length;
  $("#images-state").textContent = list.length ? `${list.length} images, ${unused} unused` : "No images of Dockhand's kinds yet.";
  $("#images-prune").disabled = unused === 0;
}
$("#images-refresh").onclick = () => act($("#images-refresh"), "Refreshing…", loadImages);

async function loadDetected() {
  let list;
  try { list = await invoke("detect_containers"); } catch (e) { $("#detect-state").textContent = message(e); return; }
  $("#detected tbody").replaceChildren(...list.map((d) => {
    const cell = el("td");
    if (d.adopted_as) {
      cell.textContent = `adopted as ${d.adopted_as}`;
    } else if (d.blocked) {
      cell.textContent = `cannot be adopted: ${d.blocked}`;
    } else {
      // A password field only when the container's configuration does not hold it.
      const asked = !d.credentials || d.credentials.startsWith("asked");
      const pw = el("input", { type: "password", ariaLabel: `Superuser password of ${d.container}`, placeholder: "superuser password", hidden: !asked });
      const adopt = el("button", { textContent: "Adopt", className: "adopt", ariaLabel: `Adopt ${d.container}` });
      adopt.onclick = () => act(adopt, "Adopting…", async () => {
        const row = await invoke("adopt_container", { container: d.container, password: asked ? pw.value : null });
        toast(`${d.container} adopted as ${row.name}`);
        await loadDetected();
      });
      cell.append(...(asked ? [pw, " "] : []), adopt, el("span", { className: "detail", textContent: asked ? "" : ` password ${d.credentials}` }));
    }
    return el("tr", { id: `detected-${d.container}` },
      el("td", { textContent: d.container }),
      el("td", { textContent: `${kindName(d.kind)} ${d.version || "?"}${d.running ? "" : " (stopped)"}` }),
      el("td", { textContent: d.host_port ? String(d.host_port) : "not published" }),
      cell);
  }));
  $("#detect-state").textContent = list.length ? `${list.length} found` : "No database containers outside Dockhand.";
}
$("#detect-refresh").onclick = () => act($("#detect-refresh"), "Looking…", loadDetected);
$("#images-prune").onclick = () => act($("#images-prune"), "Removing…", async () => {
  const r = await invoke("prune_images");
  if (!r) { toast("Nothing removed"); return; }
  toast(`Removed ${r.removed.map((i) => i.reference).join(", ")}` + (r.refused.length ? `; Docker kept ${r.refused.map(([i]) => i.reference).join(", ")} (in use)` : ""));
  await loadImages();
});
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
$("#quit-behaviour").onchange = (ev) => invoke("set_quit_behaviour", { behaviour: ev.target.value }).catch((e) => toast(message(e)));

$("#autostart").onchange = async (ev) => {
  try { await invoke("set_autostart", { enabled: ev.target.checked }); } catch (e) { toast(message(e)); }
};
$("#grace-save").onclick = () => act($("#grace-save"), "Saving…", () => invoke("set_grace_period", { secs: Number($("#grace").value) || 0 }));
$("#connection-limit-save").onclick = () => act($("#connection-limit-save"), "Saving…", async () => {
  await invoke("set_setting", { name: "connection-limit", value: String(Number($("#connection-limit").value) || 0) });
  toast("Connection limit saved");
});

// ---- what the app pushes ----
await listen("snapshot", (e) => render(e.payload));
// Every long operation reports one "progress" event (the core's Progress: op, service, text,
// line, done, total), shown where that operation is shown.
const showProgress = {
  up(p) {
    const cell = document.querySelector(`#svc-${CSS.escape(p.service)} .state`);
    if (cell) { cell.textContent = p.line; cell.dataset.progress = "1"; }
    $("#summary").textContent = `${p.service}: ${p.line}`;
    if (dlg.open && (creating === p.service || !creating)) {
      $("#new-progress-text").textContent = p.line;
      if (p.total) $("#new-progress-bar").value = p.done / p.total; else $("#new-progress-bar").removeAttribute("value");
    }
  },
  upgrade(p) {
    if (p.service === detailsOf) $("#upgrade-progress").textContent = p.line;
  },
  other(p) {
    $("#backup-progress").textContent = `${p.service}: ${p.line}`;
  },
};
showProgress.rollback = showProgress.upgrade;
await listen("progress", (e) => (showProgress[e.payload.op] || showProgress.other)(e.payload));
await listen("backups-changed", () => {
  $("#backup-progress").textContent = "";
  loadRunningTasks();
  if (!$("#view-events").hidden) loadTasks();
  if (!$("#view-backups").hidden) loadBackups();
});
await listen("supervisor-event", () => {
  if (!$("#view-events").hidden) loadEvents();
});

// "new:postgres:17" (the tray's New service), "logs:NAME", "reset:PROJECT:POINT" (the tray's
// Reset to ▸), "quit", or a view's name.
function navigate(v) {
  if (!v) return;
  if (v === "quit") return show("quit");
  if (v.startsWith("logs:")) return openDetails(v.slice(5), { logs: true });
  if (v.startsWith("reset:")) {
    // Project names have no colon; a point's name may.
    const rest = v.slice(6);
    const cut = rest.indexOf(":");
    const [project, label] = [rest.slice(0, cut), rest.slice(cut + 1)];
    show("projects");
    document.getElementById(`project-${project}`)?.scrollIntoView();
    // The app asks first, in a native dialog; the answer is said here.
    return invoke("reset_point", { project, label })
      .then((r) => toast(r ? `${project} reset to “${label}” in ${r.took_ms} ms; what it held before is in Backups` : "Nothing was reset"))
      .catch((e) => toast(message(e)));
  }
  if (v.startsWith("new:")) {
    const [, kind, version] = v.split(":");
    return openNewService(kind, version === undefined ? "" : version);
  }
  show(v);
}
await listen("navigate", (e) => navigate(String(e.payload)));

invoke("get_autostart").then((on) => ($("#autostart").checked = on)).catch(() => {});
invoke("shell_info").then((s) => {
  shell = s;
  $("#tray-banner").hidden = s.tray.present;
  $("#tray-banner").textContent = s.tray.hint || "";
  if (snapshot) renderWelcome(snapshot);
}).catch(() => {});
try {
  render(await invoke("status"));
} catch (e) {
  toast(message(e));
}
// Opened for a view ("Open logs…", "New service ▸ …", the Quit question): it is in the URL.
navigate(decodeURIComponent(location.hash.slice(1)));
