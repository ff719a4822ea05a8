#!/usr/bin/env bash
# Runs inside the install test's container as root: installs the .deb as a user would, then runs
# the checks of a desktop user (as-user.sh) under Xvfb in a private D-Bus session.
#   bash in-container.sh /pkg/dockhand_<version>_amd64.deb <expected commit>
# Prints one PASS/FAIL line per check (the caller counts them).
set -uo pipefail
deb=$1 commit=$2
export DEBIAN_FRONTEND=noninteractive
ok() { echo "PASS     $1"; }
ko() { echo "FAIL     $1"; }

apt-get update -q >/tmp/apt.log 2>&1
# Exactly what the README's Install section says, Recommends (docker.io, gnome-keyring) included:
# every declared dependency must resolve from the Debian mirror.
if apt-get install -y -q "$deb" >>/tmp/apt.log 2>&1; then
  ok "apt-get install ./dockhand_….deb resolves its dependencies from Debian 12 and installs"
else
  ko "apt-get install ./dockhand_….deb resolves its dependencies from Debian 12 and installs"
  tail -30 /tmp/apt.log
  exit 1
fi
for want in docker.io gnome-keyring; do
  if dpkg-query -W -f='${Status}' "$want" 2>/dev/null | grep -q 'ok installed'; then
    ok "the package's Recommends brought $want"
  else
    ko "the package's Recommends brought $want"
  fi
done
# The session's own chatter (D-Bus activations, portals, GTK warnings) goes to a log shown only
# when a check failed.
runuser -u tester -- env HOME=/home/tester \
  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- bash "$(dirname "$0")/as-user.sh" "$commit" \
  2>/tmp/session.log | tee /tmp/checks.log
if grep -q '^FAIL ' /tmp/checks.log; then echo "-- the desktop session's log:"; tail -40 /tmp/session.log; fi
