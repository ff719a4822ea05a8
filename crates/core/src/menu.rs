//! The tray menu as a pure model, built from a status snapshot. The Tauri shell only renders it
//! and maps clicks back through [`MenuAction::parse`]; everything about what the menu says and
//! which items are enabled is decided (and tested) here. Linux trays emit no click events and
//! show no tooltips, so every action is a menu item.

use serde::Serialize;

use crate::actions::{actions_for, Actions};
use crate::catalog::Kind;
use crate::manager::ServiceStatus;
use crate::state::ServiceState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Every service that should run answers.
    Healthy,
    Starting,
    /// Something should run and does not.
    Failing,
    EngineUnavailable,
    /// Nothing is running, nothing should.
    Idle,
}

impl Health {
    /// The tray icon for this state (a file in `icons/`).
    pub fn icon(self) -> &'static str {
        match self {
            Health::Healthy => "tray-healthy.png",
            Health::Starting => "tray-starting.png",
            Health::Failing => "tray-failing.png",
            Health::EngineUnavailable => "tray-unavailable.png",
            Health::Idle => "tray-idle.png",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MenuItem {
    pub id: String,
    pub label: String,
    pub enabled: bool,
    pub kind: ItemKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Action,
    Check(bool),
    Separator,
    Submenu(Vec<MenuItem>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MenuModel {
    pub health: Health,
    pub items: Vec<MenuItem>,
}

/// A project as the menu needs it: its name, its kinds and its URL variables (as the project
/// names them: `[env]` may rename or leave them out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProjectEntry {
    pub name: String,
    pub kinds: Vec<Kind>,
    pub vars: Vec<String>,
    /// Its dockhand.toml has a mistake: no variables can be copied until it is fixed.
    pub env_error: bool,
    pub up: bool,
    /// It has a database Dockhand keeps copies of (restore points).
    pub copies: bool,
    /// Its restore points' names, oldest first.
    pub points: Vec<String>,
    /// The git branch checked out when it is not the main one (its URLs name that branch's
    /// database).
    pub branch: Option<String>,
}

/// What a click on a menu item asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuAction {
    Start(String),
    Stop(String),
    Restart(String),
    CopyAdminUrl(String),
    OpenLogs(String),
    BackUp(String),
    BackUpAll,
    CopyProjectVar {
        project: String,
        var: String,
    },
    ProjectUp(String),
    ProjectDown(String),
    /// "Take restore point": one named after the time.
    TakePoint(String),
    /// "Reset to ▸ NAME": asks first (the window's native confirmation), then resets.
    ResetToPoint {
        project: String,
        point: String,
    },
    OpenDashboard,
    /// "New service ▸ PostgreSQL ▸ 17": the window's new-service dialog, prefilled (no version:
    /// "Other…", the user picks).
    NewService {
        kind: String,
        version: Option<String>,
    },
    ToggleAutostart,
    Quit,
}

impl MenuAction {
    pub fn parse(id: &str) -> Option<MenuAction> {
        let parts: Vec<&str> = id.splitn(4, ':').collect();
        Some(match parts.as_slice() {
            ["svc", name, "start"] => MenuAction::Start(name.to_string()),
            ["svc", name, "stop"] => MenuAction::Stop(name.to_string()),
            ["svc", name, "restart"] => MenuAction::Restart(name.to_string()),
            ["svc", name, "copy-admin-url"] => MenuAction::CopyAdminUrl(name.to_string()),
            ["svc", name, "logs"] => MenuAction::OpenLogs(name.to_string()),
            ["svc", name, "backup"] => MenuAction::BackUp(name.to_string()),
            ["backup-all"] => MenuAction::BackUpAll,
            ["proj", name, "copy", var] => MenuAction::CopyProjectVar {
                project: name.to_string(),
                var: var.to_string(),
            },
            ["proj", name, "up"] => MenuAction::ProjectUp(name.to_string()),
            ["proj", name, "point-take"] => MenuAction::TakePoint(name.to_string()),
            ["proj", name, "reset", point] => MenuAction::ResetToPoint {
                project: name.to_string(),
                point: point.to_string(),
            },
            ["proj", name, "down"] => MenuAction::ProjectDown(name.to_string()),
            ["open-dashboard"] => MenuAction::OpenDashboard,
            ["new", kind] => MenuAction::NewService {
                kind: kind.to_string(),
                version: None,
            },
            ["new", kind, version] => MenuAction::NewService {
                kind: kind.to_string(),
                version: Some(version.to_string()),
            },
            ["autostart"] => MenuAction::ToggleAutostart,
            ["quit"] => MenuAction::Quit,
            _ => return None,
        })
    }
}

fn action(id: String, label: String, enabled: bool) -> MenuItem {
    MenuItem {
        id,
        label,
        enabled,
        kind: ItemKind::Action,
    }
}

fn separator(n: usize) -> MenuItem {
    MenuItem {
        id: format!("sep{n}"),
        label: String::new(),
        enabled: false,
        kind: ItemKind::Separator,
    }
}

/// The URL variables a project has, one per attached kind (as `env::variables` names them).
pub fn url_vars(kinds: &[Kind]) -> Vec<&'static str> {
    let mut vars = crate::env::url_variable_names(kinds);
    vars.sort_by_key(|v| (*v != "DATABASE_URL", *v));
    vars.dedup();
    vars
}

fn running(s: &ServiceStatus) -> bool {
    s.state.is_healthy()
}

pub fn health(services: &[ServiceStatus], engine_error: Option<&str>) -> Health {
    if engine_error.is_some() {
        return Health::EngineUnavailable;
    }
    let wanted: Vec<&ServiceStatus> = services
        .iter()
        .filter(|s| s.pinned || !s.consumers.is_empty() || !s.state.is_stopped())
        .collect();
    if wanted.iter().any(|s| s.state.is_failing()) {
        Health::Failing
    } else if wanted.iter().any(|s| s.state.is_starting()) {
        Health::Starting
    } else if wanted.iter().any(|s| running(s)) {
        Health::Healthy
    } else {
        Health::Idle
    }
}

fn bullet(s: &ServiceStatus) -> &'static str {
    match s.state {
        ServiceState::Running => "●",
        ServiceState::Starting => "◐",
        ServiceState::Stopped => "○",
        _ => "✕",
    }
}

/// What a service offers: its state's actions, or none that need Docker while Docker is away.
fn service_actions(s: &ServiceStatus, engine_ok: bool) -> Actions {
    actions_for(if engine_ok {
        s.state
    } else {
        ServiceState::EngineUnavailable
    })
}

pub fn build(
    services: &[ServiceStatus],
    projects: &[ProjectEntry],
    autostart: bool,
    engine_error: Option<&str>,
) -> MenuModel {
    let health = health(services, engine_error);
    let mut items = Vec::new();
    let header = match engine_error {
        Some(_) => "Dockhand — Docker unavailable".to_string(),
        None if services.is_empty() => "Dockhand — no services yet".to_string(),
        None => format!(
            "Dockhand — {} of {} running",
            services.iter().filter(|s| running(s)).count(),
            services.len()
        ),
    };
    items.push(action("header".into(), header, false));
    if let Some(e) = engine_error {
        items.push(action("engine-error".into(), first_clause(e), false));
    }
    items.push(separator(0));
    let engine_ok = engine_error.is_none();
    for s in services {
        let spec = s.kind.spec();
        let mut label = format!(
            "{} {} {} — {}:{}",
            bullet(s),
            spec.display_name,
            s.version,
            s.host,
            s.host_port
        );
        if s.name != format!("{}-{}", s.kind, s.version.replace('.', "-")) {
            label.push_str(&format!(" ({})", s.name));
        }
        match s.projects.len() {
            0 => {}
            1 => label.push_str(" — 1 project"),
            n => label.push_str(&format!(" — {n} projects")),
        }
        if !running(s) && !s.state.is_stopped() {
            label.push_str(&format!(" — {}", s.state));
        }
        let id = |a: &str| format!("svc:{}:{a}", s.name);
        let can = service_actions(s, engine_ok);
        let mut sub = Vec::new();
        if let Some(why) = s.lifetime.as_ref().filter(|_| engine_ok) {
            // Why it runs and when it stops: read-only, above the actions.
            sub.push(action(id("lifetime"), why.clone(), false));
        }
        sub.extend([
            action(id("start"), "Start".into(), can.start),
            action(id("stop"), "Stop".into(), can.stop),
            action(id("restart"), "Restart".into(), can.restart),
            separator(1),
            action(
                id("copy-admin-url"),
                "Copy admin URL".into(),
                can.copy_admin_url,
            ),
            action(id("backup"), "Back up now".into(), can.backup),
            action(id("logs"), "Open logs…".into(), can.logs),
        ]);
        items.push(MenuItem {
            id: format!("svc:{}", s.name),
            label,
            enabled: true,
            kind: ItemKind::Submenu(sub),
        });
    }
    items.push(new_service_menu());
    if !projects.is_empty() {
        items.push(separator(2));
        let mut proj_items = Vec::new();
        for p in projects {
            let mut sub: Vec<MenuItem> = Vec::new();
            if let Some(branch) = &p.branch {
                sub.push(action(
                    format!("proj:{}:branch", p.name),
                    format!("On git branch {branch}: its own database"),
                    false,
                ));
            }
            sub.extend(p.vars.iter().map(|v| {
                action(
                    format!("proj:{}:copy:{v}", p.name),
                    format!("Copy {v}"),
                    true,
                )
            }));
            if p.env_error {
                sub.push(action(
                    format!("proj:{}:env-error", p.name),
                    "dockhand.toml has a mistake: see Open Dashboard…".into(),
                    false,
                ));
            }
            if p.copies {
                sub.push(separator(5));
                sub.push(action(
                    format!("proj:{}:point-take", p.name),
                    "Take restore point".into(),
                    engine_ok,
                ));
                if !p.points.is_empty() {
                    sub.push(MenuItem {
                        id: format!("proj:{}:reset", p.name),
                        label: "Reset to".into(),
                        enabled: engine_ok,
                        kind: ItemKind::Submenu(
                            p.points
                                .iter()
                                .rev()
                                .map(|pt| {
                                    action(
                                        format!("proj:{}:reset:{pt}", p.name),
                                        format!("{pt}…"),
                                        engine_ok,
                                    )
                                })
                                .collect(),
                        ),
                    });
                }
            }
            sub.push(separator(3));
            if p.up {
                sub.push(action(
                    format!("proj:{}:down", p.name),
                    "Let its services go".into(),
                    engine_ok,
                ));
            } else {
                sub.push(action(
                    format!("proj:{}:up", p.name),
                    "Keep its services running".into(),
                    engine_ok && !p.kinds.is_empty(),
                ));
            }
            let label = if p.up {
                format!("{} (up)", p.name)
            } else {
                p.name.clone()
            };
            proj_items.push(MenuItem {
                id: format!("proj:{}", p.name),
                label,
                enabled: true,
                kind: ItemKind::Submenu(sub),
            });
        }
        items.push(MenuItem {
            id: "projects".into(),
            label: "Projects".into(),
            enabled: true,
            kind: ItemKind::Submenu(proj_items),
        });
    }
    items.push(separator(4));
    items.push(action(
        "backup-all".into(),
        "Back up all now".into(),
        engine_ok && services.iter().any(running),
    ));
    items.push(action(
        "open-dashboard".into(),
        "Open Dashboard…".into(),
        true,
    ));
    items.push(MenuItem {
        id: "autostart".into(),
        label: "Launch at Login".into(),
        enabled: true,
        kind: ItemKind::Check(autostart),
    });
    items.push(action("quit".into(), "Quit Dockhand".into(), true));
    MenuModel { health, items }
}

/// "New service ▸ <kind> ▸ <version> / Other…": the catalog's versions, newest first, each
/// opening the window's dialog prefilled.
fn new_service_menu() -> MenuItem {
    let kinds = Kind::ALL
        .iter()
        .map(|k| {
            let spec = k.spec();
            let mut sub: Vec<MenuItem> = spec
                .versions
                .iter()
                .rev()
                .map(|v| action(format!("new:{k}:{v}"), v.to_string(), true))
                .collect();
            sub.push(action(format!("new:{k}"), "Other…".into(), true));
            MenuItem {
                id: format!("new-kind:{k}"),
                label: spec.display_name.to_string(),
                enabled: true,
                kind: ItemKind::Submenu(sub),
            }
        })
        .collect();
    MenuItem {
        id: "new-service".into(),
        label: "New service".into(),
        enabled: true,
        kind: ItemKind::Submenu(kinds),
    }
}

/// The gist of an error for one menu line: up to its first parenthesis or dash, at most 80
/// characters.
fn first_clause(s: &str) -> String {
    let cut = s.find(" (").or_else(|| s.find(" — ")).unwrap_or(s.len());
    let gist = &s[..cut];
    if gist.chars().count() > 80 {
        gist.chars().take(79).collect::<String>() + "…"
    } else {
        gist.to_string()
    }
}

impl MenuModel {
    /// The menu as indented text: what snapshot tests compare and what a reader of a bug report
    /// can see without a tray.
    pub fn render_text(&self) -> String {
        fn walk(items: &[MenuItem], depth: usize, out: &mut String) {
            for i in items {
                let pad = "  ".repeat(depth);
                match &i.kind {
                    ItemKind::Separator => out.push_str(&format!("{pad}---\n")),
                    ItemKind::Check(on) => out.push_str(&format!(
                        "{pad}[{}] {}\n",
                        if *on { "x" } else { " " },
                        i.label
                    )),
                    ItemKind::Action => out.push_str(&format!(
                        "{pad}{}{}\n",
                        i.label,
                        if i.enabled { "" } else { " (disabled)" }
                    )),
                    ItemKind::Submenu(sub) => {
                        out.push_str(&format!("{pad}{} >\n", i.label));
                        walk(sub, depth + 1, out);
                    }
                }
            }
        }
        let mut out = format!("icon: {}\n", self.health.icon());
        walk(&self.items, 0, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Desired;

    fn svc(
        name: &str,
        kind: Kind,
        version: &str,
        port: u16,
        state: ServiceState,
        projects: usize,
    ) -> ServiceStatus {
        ServiceStatus {
            name: name.into(),
            kind,
            version: version.into(),
            image: String::new(),
            host: "127.0.0.1".into(),
            host_port: port,
            desired: Desired::Running,
            state,
            detail: None,
            container_id: None,
            started_at: None,
            pinned: true,
            lifetime: None,
            consumers: vec![],
            projects: (0..projects).map(|i| format!("p{i}")).collect(),
            restart_on_failure: false,
            dedicated_to: None,
            origin: crate::store::Origin::Managed,
            mode: Default::default(),
            memory_limit_mb: None,
        }
    }

    #[test]
    fn renders_services_projects_and_controls() {
        let services = vec![
            svc(
                "postgres-16",
                Kind::Postgres,
                "16",
                5432,
                ServiceState::Running,
                3,
            ),
            svc("redis-7", Kind::Redis, "7", 6379, ServiceState::Stopped, 1),
            svc(
                "maria",
                Kind::Mariadb,
                "10.11",
                3306,
                ServiceState::Exited,
                0,
            ),
        ];
        let projects = vec![
            ProjectEntry {
                name: "shop".into(),
                kinds: vec![Kind::Redis, Kind::Postgres],
                vars: entry_vars(&[Kind::Redis, Kind::Postgres]),
                env_error: false,
                up: true,
                copies: true,
                points: vec!["seeded".into(), "before-migration".into()],
                branch: Some("feature/x".into()),
            },
            ProjectEntry {
                name: "blog".into(),
                kinds: vec![Kind::Mariadb],
                vars: entry_vars(&[Kind::Mariadb]),
                env_error: false,
                up: false,
                ..Default::default()
            },
        ];
        let m = build(&services, &projects, true, None);
        assert_eq!(
            m.render_text(),
            "icon: tray-failing.png
Dockhand — 1 of 3 running (disabled)
---
● PostgreSQL 16 — 127.0.0.1:5432 — 3 projects >
  Start (disabled)
  Stop
  Restart
  ---
  Copy admin URL
  Back up now
  Open logs…
○ Redis 7 — 127.0.0.1:6379 — 1 project >
  Start
  Stop (disabled)
  Restart (disabled)
  ---
  Copy admin URL
  Back up now (disabled)
  Open logs…
✕ MariaDB 10.11 — 127.0.0.1:3306 (maria) — exited >
  Start
  Stop
  Restart (disabled)
  ---
  Copy admin URL
  Back up now (disabled)
  Open logs…
New service >
  PostgreSQL >
    18
    17
    16
    15
    14
    13
    Other…
  Redis >
    8
    7.4
    7.2
    7.0
    7
    Other…
  MariaDB >
    11.8
    11.4
    11
    10.11
    10.6
    Other…
  MySQL >
    9
    8.4
    8.0
    Other…
  MongoDB >
    8
    7
    6
    Other…
  Valkey >
    9.1
    9.0
    9
    8.1
    8.0
    8
    7.2
    Other…
  SQL Server >
    2025
    2022
    2019
    Other…
---
Projects >
  shop (up) >
    On git branch feature/x: its own database (disabled)
    Copy DATABASE_URL
    Copy REDIS_URL
    ---
    Take restore point
    Reset to >
      before-migration…
      seeded…
    ---
    Let its services go
  blog >
    Copy DATABASE_URL
    ---
    Keep its services running
---
Back up all now
Open Dashboard…
[x] Launch at Login
Quit Dockhand
"
        );
    }

    #[test]
    fn engine_unavailable_disables_lifecycle_and_says_why() {
        let services = vec![svc(
            "postgres-16",
            Kind::Postgres,
            "16",
            5432,
            ServiceState::Running,
            0,
        )];
        let m = build(&services, &[], false, Some("Docker is not running or not reachable at unix:///var/run/docker.sock (connection refused) — start Docker"));
        assert_eq!(m.health, Health::EngineUnavailable);
        assert_eq!(m.items[0].label, "Dockhand — Docker unavailable");
        assert_eq!(
            m.items[1].label,
            "Docker is not running or not reachable at unix:///var/run/docker.sock"
        );
        assert!(!m.items[1].enabled);
        let ItemKind::Submenu(sub) = &m.items[3].kind else {
            panic!()
        };
        assert!(sub
            .iter()
            .filter(|i| matches!(i.label.as_str(), "Start" | "Stop" | "Restart"))
            .all(|i| !i.enabled));
        assert!(sub.iter().any(|i| i.label == "Copy admin URL" && i.enabled));
    }

    #[test]
    fn a_service_menu_says_why_it_runs_and_when_it_stops() {
        let mut a = svc("pg", Kind::Postgres, "18", 5432, ServiceState::Running, 1);
        a.lifetime = Some("stops in 2m00s: nothing uses it (Start keeps it running)".into());
        let m = build(std::slice::from_ref(&a), &[], false, None);
        let ItemKind::Submenu(sub) = &m.items[2].kind else {
            panic!("{:?}", m.items[2])
        };
        assert_eq!(sub[0].label, a.lifetime.clone().unwrap());
        assert!(!sub[0].enabled, "a notice, not an action");
        // Docker away: nothing is known about when it stops.
        let m = build(
            std::slice::from_ref(&a),
            &[],
            false,
            Some("Docker is not running"),
        );
        let ItemKind::Submenu(sub) = &m.items[3].kind else {
            panic!()
        };
        assert_eq!(sub[0].label, "Start");
    }

    #[test]
    fn health_follows_what_should_run() {
        let mut a = svc("a", Kind::Redis, "7", 1, ServiceState::Running, 0);
        assert_eq!(health(std::slice::from_ref(&a), None), Health::Healthy);
        a.state = ServiceState::Starting;
        assert_eq!(health(std::slice::from_ref(&a), None), Health::Starting);
        a.state = ServiceState::Stopped;
        a.pinned = false;
        assert_eq!(health(std::slice::from_ref(&a), None), Health::Idle);
        assert_eq!(health(&[], None), Health::Idle);
    }

    #[test]
    fn every_item_id_parses_back_to_its_action() {
        let services = vec![svc(
            "pg",
            Kind::Postgres,
            "16",
            5432,
            ServiceState::Running,
            1,
        )];
        let projects = vec![ProjectEntry {
            name: "shop".into(),
            kinds: vec![Kind::Postgres, Kind::Mongo],
            vars: entry_vars(&[Kind::Postgres, Kind::Mongo]),
            env_error: false,
            up: false,
            ..Default::default()
        }];
        let m = build(&services, &projects, false, None);
        fn ids(items: &[MenuItem], out: &mut Vec<String>) {
            for i in items {
                match &i.kind {
                    ItemKind::Submenu(s) => ids(s, out),
                    ItemKind::Separator => {}
                    // Notices, never clicked.
                    _ if i.id == "header"
                        || i.id == "engine-error"
                        || i.id.ends_with(":env-error")
                        || i.id.ends_with(":branch")
                        || i.id.ends_with(":lifetime") => {}
                    _ => out.push(i.id.clone()),
                }
            }
        }
        let mut all = Vec::new();
        ids(&m.items, &mut all);
        for id in &all {
            assert!(MenuAction::parse(id).is_some(), "{id} does not parse");
        }
        assert_eq!(
            MenuAction::parse("proj:shop:copy:MONGODB_URI"),
            Some(MenuAction::CopyProjectVar {
                project: "shop".into(),
                var: "MONGODB_URI".into(),
            })
        );
        // A point's name may hold a colon: the rest of the id is the name.
        assert_eq!(
            MenuAction::parse("proj:shop:reset:before: v2"),
            Some(MenuAction::ResetToPoint {
                project: "shop".into(),
                point: "before: v2".into(),
            })
        );
        assert_eq!(
            MenuAction::parse("proj:shop:point-take"),
            Some(MenuAction::TakePoint("shop".into()))
        );
        assert_eq!(
            MenuAction::parse("proj:shop:copy:MONGODB_URI"),
            Some(MenuAction::CopyProjectVar {
                project: "shop".into(),
                var: "MONGODB_URI".into()
            })
        );
        assert_eq!(MenuAction::parse("svc:pg:explode"), None);
        assert_eq!(
            MenuAction::parse("new:postgres:17"),
            Some(MenuAction::NewService {
                kind: "postgres".into(),
                version: Some("17".into())
            })
        );
        assert!(
            all.contains(&"new:mariadb".to_string()),
            "Other… for each kind"
        );
    }

    fn entry_vars(kinds: &[Kind]) -> Vec<String> {
        url_vars(kinds).into_iter().map(String::from).collect()
    }

    /// A project that renamed DATABASE_URL gets its copy item under the new name (the click
    /// asks for that name, which is what its variables hold); a broken dockhand.toml says so.
    #[test]
    fn a_project_copies_its_variables_under_its_own_names() {
        let projects = vec![
            ProjectEntry {
                name: "shop".into(),
                kinds: vec![Kind::Postgres, Kind::Redis],
                vars: vec!["PRIMARY_DATABASE_URL".into()],
                env_error: false,
                up: false,
                ..Default::default()
            },
            ProjectEntry {
                name: "blog".into(),
                kinds: vec![Kind::Postgres],
                vars: vec![],
                env_error: true,
                up: false,
                ..Default::default()
            },
        ];
        let text = build(&[], &projects, false, None).render_text();
        assert!(text.contains("Copy PRIMARY_DATABASE_URL"), "{text}");
        assert!(!text.contains("Copy DATABASE_URL") && !text.contains("REDIS_URL"));
        assert!(text.contains("dockhand.toml has a mistake: see Open Dashboard… (disabled)"));
        assert_eq!(
            MenuAction::parse("proj:shop:copy:PRIMARY_DATABASE_URL"),
            Some(MenuAction::CopyProjectVar {
                project: "shop".into(),
                var: "PRIMARY_DATABASE_URL".into()
            })
        );
    }
}
