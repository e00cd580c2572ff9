#!/usr/bin/env bash
# Install the optional reference tools dyno compares against: wrk (load generator), nginx-light (reference
# server), golang-go (Go net/http reference), hyperfine, chromium (headless browser test of the book),
# linux-perf (flamegraphs of each cell), openssh-server and iproute2 (scripts/two-hosts.sh: a client host in a
# network namespace).
# Debian/Ubuntu only; run as root. Everything in dyno works without them: reference rows and the browser
# test are skipped with a note where a tool is absent.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "error: run as root (apt-get install needs it)" >&2
  exit 2
fi
if ! command -v apt-get >/dev/null; then
  echo "error: apt-get not found; install wrk, nginx-light, golang-go, hyperfine and chromium by hand" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends wrk nginx-light golang-go hyperfine chromium linux-perf \
  openssh-server iproute2
for t in wrk nginx go hyperfine chromium perf sshd ip; do
  printf '%-10s %s\n' "$t" "$(PATH="$PATH:/usr/sbin:/sbin" command -v "$t" || echo 'NOT FOUND')"
done
