//! Dockhand's end-to-end tests: the real `dockhand` binary against the real Docker engine (or
//! Podman's Docker API) and real servers, one module per area. One test binary, not one per file:
//! `common/` is compiled and linked once.
//!
//! Run one area or one test with cargo's filter, e.g.
//!   bash scripts/with-keyring.sh cargo test -p dockhand-cli --test it -- backups::
//! A test in an `each_version` module depends on the server's version and runs twice in
//! scripts/test-all.sh: on the oldest supported versions, then on the catalog's defaults.

mod common;

mod adversarial;
mod adversarial_redis;
mod backups;
mod branches;
mod client_libraries;
mod clones;
mod engine;
mod extensions;
mod hostile_ground;
mod images;
mod import_export;
mod modes;
mod postgres18;
mod projects;
mod registry;
mod restore_points;
mod side_by_side;
mod sqlserver;
mod supervisor;
mod tasks;
mod upgrade;
mod window_core;
