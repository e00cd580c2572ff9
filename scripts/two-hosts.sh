#!/usr/bin/env bash
# Two hosts inside this machine: a network namespace (the client host) joined to this one by a veth pair,
# with an sshd of its own, so `dyno run --client-host` runs the load generators "elsewhere" over real
# TCP and SSH. Both namespaces still share this machine's cores and clock: pin them apart (`run` does).
#
#   scripts/two-hosts.sh up           create the namespace, the veth pair, keys and sshd
#   scripts/two-hosts.sh down         stop sshd, delete the namespace and the state directory
#   scripts/two-hosts.sh status       say whether it is up and how to reach it
#   scripts/two-hosts.sh run [ARGS]   up, the http quick matrix across the two hosts, down;
#                                     ARGS go to `dyno run` (e.g. -r tokio --duration 1)
#
# Needs root, iproute2 and OpenSSH's server (scripts/install-references.sh installs them).
# Settings (environment): DYNO_NETNS (namespace, default dyno-b, at most 12 characters),
# DYNO_NET (first three octets of the /24 joining the two, default 10.77.0),
# DYNO_TWO_HOSTS_DIR (keys, configs, sshd log; default /tmp/dyno-two-hosts-$DYNO_NETNS).
# For two real machines, see the README: only the ssh destination and --ssh-config change.
set -euo pipefail
cd "$(dirname "$0")/.."

ns="${DYNO_NETNS:-dyno-b}"
net="${DYNO_NET:-10.77.0}"
dir="${DYNO_TWO_HOSTS_DIR:-/tmp/dyno-two-hosts-$ns}"
here_if="a-$ns"
there_if="b-$ns"
here_ip="$net.1"
there_ip="$net.2"
sshd_bin="$(PATH="$PATH:/usr/sbin:/sbin" command -v sshd || true)"

die() { echo "error: $*" >&2; exit "${2:-1}"; }

need() {
  [ "$(id -u)" -eq 0 ] || die "two-hosts.sh needs root (network namespaces and an sshd)"
  command -v ip >/dev/null || die "ip (iproute2) is not installed; scripts/install-references.sh installs it"
  [ -n "$sshd_bin" ] || die "sshd (openssh-server) is not installed; scripts/install-references.sh installs it"
  command -v ssh >/dev/null || die "ssh (openssh-client) is not installed"
  [ "${#ns}" -le 12 ] || die "DYNO_NETNS=$ns is longer than 12 characters (interface names are at most 15)" 2
  [[ "$net" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "DYNO_NET=$net is not three octets, e.g. 10.77.0" 2
}

is_up() { ip netns list 2>/dev/null | grep -qw "$ns" && [ -f "$dir/ssh_config" ]; }

up() {
  need
  if is_up; then echo "two hosts already up ($ns)"; return; fi
  # A half-made set-up from an earlier failure goes first.
  down >/dev/null 2>&1 || true
  mkdir -p "$dir" /run/sshd
  chmod 700 "$dir"
  ip netns add "$ns"
  ip link add "$here_if" type veth peer name "$there_if"
  ip link set "$there_if" netns "$ns"
  ip addr add "$here_ip/24" dev "$here_if"
  ip link set "$here_if" up
  ip netns exec "$ns" ip addr add "$there_ip/24" dev "$there_if"
  ip netns exec "$ns" ip link set "$there_if" up
  ip netns exec "$ns" ip link set lo up
  ssh-keygen -q -t ed25519 -N '' -C "dyno two-hosts client" -f "$dir/id_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C "dyno two-hosts host" -f "$dir/host_ed25519"
  cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
  cat >"$dir/sshd_config" <<EOF
ListenAddress $there_ip
Port 22
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100:30:200
MaxSessions 100
Subsystem sftp internal-sftp
EOF
  local user; user="$(id -un)"
  cat >"$dir/ssh_config" <<EOF
Host $ns
  HostName $there_ip
  User $user
  IdentityFile $dir/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $dir/known_hosts
  StrictHostKeyChecking accept-new
  LogLevel ERROR
EOF
  # A UTS namespace of its own too, so the client host has its own name (`hostname` says $ns).
  ip netns exec "$ns" unshare --uts sh -c 'hostname "$1" && exec "$2" -f "$3/sshd_config" -E "$3/sshd.log"' \
    sh "$ns" "$sshd_bin" "$dir"
  for _ in $(seq 50); do
    if ssh -F "$dir/ssh_config" -o BatchMode=yes -n "$ns" true 2>/dev/null; then
      echo "two hosts up: this host $here_ip, client host $ns at $there_ip (sshd log $dir/sshd.log)"
      echo "use: dyno run --client-host $ns --ssh-config $dir/ssh_config ..."
      return
    fi
    sleep 0.1
  done
  die "sshd in namespace $ns does not answer on $there_ip:22; its log: $(tail -3 "$dir/sshd.log" 2>/dev/null)"
}

down() {
  if [ -f "$dir/sshd.pid" ]; then kill "$(cat "$dir/sshd.pid")" 2>/dev/null || true; fi
  # Sessions sshd forked live on in the namespace: end them with it.
  if ip netns list 2>/dev/null | grep -qw "$ns"; then
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns"
  fi
  ip link del "$here_if" 2>/dev/null || true
  rm -rf "$dir"
  echo "two hosts down ($ns)"
}

status() {
  if is_up; then
    echo "up: client host $ns at $there_ip; dyno run --client-host $ns --ssh-config $dir/ssh_config"
  else
    echo "down ($ns)"
    return 1
  fi
}

run() {
  need
  local target; target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  cargo build --release --workspace --bins
  trap down EXIT
  up
  # The two "hosts" share this machine's cores: the servers take the first half, the clients the rest.
  local cores; cores=($(python3 -c 'import os; print(" ".join(map(str, sorted(os.sched_getaffinity(0)))))'))
  local n=${#cores[@]}
  [ "$n" -ge 2 ] || die "two hosts on one machine need at least 2 cores to pin apart; this process may use $n"
  local half=$(( (n + 1) / 2 ))
  local server client
  server="$(IFS=,; echo "${cores[*]:0:$half}")"
  client="$(IFS=,; echo "${cores[*]:$half}")"
  # dyno adds the ssh round trips a remote generator's start takes to the warm-up itself.
  "$target/release/dyno" run --workload http --profile quick --cores "$server" \
    --client-host "$ns" --client-cores "$client" --ssh-config "$dir/ssh_config" "$@"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  run) shift; run "$@" ;;
  *) die "usage: $0 up|down|status|run [dyno run arguments]" 2 ;;
esac
