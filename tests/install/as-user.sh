#!/usr/bin/env bash
# The install test's checks as a desktop user, on the installed package only (nothing from the
# source tree): run by in-container.sh under Xvfb in a private D-Bus session.
#   bash as-user.sh <expected commit>
set -uo pipefail
commit=$1
ok() { echo "PASS     $1"; }
ko() { echo "FAIL     $1${2:+ ($2)}"; }
check() { local what=$1; shift; local out; if out=$("$@" 2>&1); then ok "$what"; else ko "$what" "$(echo "$out" | tail -5 | tr '\n' ' ')"; fi; }
wait_for() { local limit=$1; shift; local end=$((SECONDS + limit)); until "$@"; do [ $SECONDS -lt $end ] || return 1; sleep 0.3; done; }

version_has_commit() { dockhand --version | grep -q "(commit $commit)"; }
check "dockhand is on PATH at /usr/bin" \
  sh -c '[ "$(command -v dockhand)" = /usr/bin/dockhand ]'
check "dockhand --version shows the commit ($commit)" version_has_commit

man_renders() { local page; page=$(MANPAGER=cat MANWIDTH=100 man dockhand) && grep -q '^NAME' <<<"$page" && grep -q 'dockhand-up' <<<"$page"; }
check "man dockhand renders the page with its subcommands" man_renders

# Completes as bash does at a prompt: bash-completion loads /usr/share/bash-completion/completions/
# dockhand on first use, then the function answers for the words typed so far.
complete_words() {
  bash -c 'source /usr/share/bash-completion/bash_completion; __load_completion dockhand || exit 1
           fn=$(complete -p dockhand | sed -E "s/.*-F ([^ ]+).*/\1/")
           COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
           "$fn" dockhand "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
           printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
completes_up() { complete_words dockhand u | grep -qx up && complete_words dockhand up --p | grep -qx -- --port; }
check "bash completion completes 'dockhand u' to up and 'dockhand up --p' to --port" completes_up
# Names are asked of the installed dockhand at each TAB (no Docker here, so no services or
# projects to name: the kinds show the call-back works; crates/cli/tests/it/projects.rs checks
# the names).
completes_names() { complete_words dockhand up pos | grep -qx postgres && complete_words dockhand attach val | grep -qx valkey; }
check "bash completion asks the installed dockhand: 'dockhand up pos' → postgres" completes_names

desktop=$(dpkg -L dockhand 2>/dev/null | grep '^/usr/share/applications/.*\.desktop$' | head -1)
check "the package installs a desktop entry ($desktop) that desktop-file-validate accepts" \
  sh -c "[ -n '$desktop' ] && desktop-file-validate '$desktop'"
exec_cmd=$(sed -n 's/^Exec=//p' "$desktop" 2>/dev/null | head -1 | awk '{print $1}')
app=$(command -v "$exec_cmd" 2>/dev/null || true)
icon=$(sed -n 's/^Icon=//p' "$desktop" 2>/dev/null | head -1)
check "its Exec ($exec_cmd) is the installed app ($app) and its icon ($icon) is in the hicolor theme" \
  sh -c "[ '$app' = /usr/bin/dockhand-app ] && ls /usr/share/icons/hicolor/*/apps/'$icon'.png"
check "the tray process is installed beside it (/usr/bin/dockhand-tray)" test -x /usr/bin/dockhand-tray

# The tray host a desktop panel would be (as tests/e2e uses it), then the app from the installed
# path, exactly as the menu would start it. Docker is not running here: the app must still start
# and show its tray (header: Docker unavailable).
status-notifier-watcher >/dev/null 2>&1 & watcher=$!
app_log=$(mktemp)
"$app" >"$app_log" 2>&1 & app_pid=$!
trap 'kill "$app_pid" "$watcher" 2>/dev/null; wait 2>/dev/null' EXIT

items() {
  gdbus call --session --dest org.kde.StatusNotifierWatcher --object-path /StatusNotifierWatcher \
    --method org.freedesktop.DBus.Properties.Get org.kde.StatusNotifierWatcher RegisteredStatusNotifierItems 2>/dev/null \
    | grep -Eo "'[^']+'" | tr -d "'" | cut -d/ -f1
}
bus=""
item_of_app() {
  for b in $(items); do
    pid=$(gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
      --method org.freedesktop.DBus.GetConnectionUnixProcessID "$b" 2>/dev/null | grep -Eo '[0-9]+' | tail -1)
    [ "$pid" = "$app_pid" ] && { bus=$b; return 0; }
  done
  return 1
}
if wait_for 60 item_of_app; then
  ok "the installed app starts under Xvfb and registers its tray item ($bus)"
else
  ko "the installed app starts under Xvfb and registers its tray item" "$(tail -5 "$app_log" | tr '\n' ' ')"
  exit 1
fi

# Launch at Login, clicked in the tray menu over D-Bus (dbusmenu) as a panel would.
# The menu is where the item's Menu property says, as a panel reads it.
menu=$(gdbus call --session --dest "$bus" --object-path /StatusNotifierItem --method org.freedesktop.DBus.Properties.Get \
  org.kde.StatusNotifierItem Menu 2>/dev/null | grep -Eo "objectpath '[^']+'" | cut -d"'" -f2)
item_id() {
  gdbus call --session --dest "$bus" --object-path "$menu" --method com.canonical.dbusmenu.GetLayout -- 0 -1 "['label']" \
    | grep -Eo "\(([0-9]+), \{[^}]*'label': <'Launch at Login'>" | grep -Eo '^\([0-9]+' | tr -d '('
}
click_launch_at_login() {
  # The menu is rebuilt (new ids) whenever the app's state changes: look the item up each time.
  local id; id=$(item_id) && [ -n "$id" ] &&
    gdbus call --session --dest "$bus" --object-path "$menu" --method com.canonical.dbusmenu.Event -- "$id" clicked "<int32 0>" 0 >/dev/null 2>&1
}
entry=$HOME/.config/autostart/Dockhand.desktop
autostart_written() { [ -f "$entry" ] && grep -Eq "^Exec=\"?$app\"?( |$)" "$entry"; }
if [ -n "$menu" ] && wait_for 30 click_launch_at_login && wait_for 30 autostart_written; then
  ok "Launch at Login in the tray writes the installed path ($app) into $entry"
else
  ko "Launch at Login in the tray writes the installed path into ~/.config/autostart" "$(cat "$entry" 2>/dev/null | tr '\n' ' ')"
fi
