#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for running deploy/slurm-sweep.sh for real
# (deploy/slurm-test.sh uses it). Debian's slurm-wlm 22.05 with munge, as root, no systemd:
# the daemons are started directly, in the background, and their PIDs recorded.
#
#   deploy/slurm-local.sh up      install when missing, write the config, start, wait for the node
#   deploy/slurm-local.sh down    stop the daemons this script started (and only those)
#   deploy/slurm-local.sh status  say whether the cluster answers
#
# Then point the client commands at it: export SLURM_CONF=/var/tmp/zabsim-slurm/slurm.conf
# (`up` prints the line). `up` reuses the cluster it started before if it still answers with
# the node up.
#
# Environment: ZABSIM_SLURM_DIR (state, logs, config; default /var/tmp/zabsim-slurm),
# ZABSIM_SLURM_PORT (slurmctld's port, slurmd takes the next; default 6817),
# ZABSIM_SLURM_WAIT_S (how long `up` waits for the node to be idle; default 60).
set -euo pipefail

state=${ZABSIM_SLURM_DIR:-/var/tmp/zabsim-slurm}
port=${ZABSIM_SLURM_PORT:-6817}
wait_s=${ZABSIM_SLURM_WAIT_S:-60}
conf="$state/slurm.conf"
started="$state/started" # one file per daemon this script started: its PID
export SLURM_CONF="$conf"

die() {
  echo "slurm-local: $*" >&2
  exit 1
}

# Prints the tail of every log this script's daemons write, for a failure's report.
logs() {
  local f
  for f in "$state"/slurmctld.log "$state"/slurmd.log "$state"/munged.log "$state"/*.out; do
    [ -s "$f" ] || continue
    echo "--- $f (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
}

# The node answers and can take jobs (idle, or busy with some: mixed, allocated).
node_up() {
  local s
  s=$(timeout 10 sinfo -h -o %t 2>/dev/null | head -n 1) || return 1
  case "$s" in idle | mix | alloc | comp) return 0 ;; *) return 1 ;; esac
}

# The daemon named $1 that this script started still runs (a recorded PID that now belongs
# to another program does not count).
alive() {
  local pid
  pid=$(cat "$started/$1" 2>/dev/null) || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]
}

install_missing() {
  local cmd missing=0
  for cmd in slurmctld slurmd sbatch sinfo munged munge; do
    command -v "$cmd" >/dev/null 2>&1 || missing=1
  done
  [ "$missing" -eq 0 ] && return 0
  echo "slurm-local: installing slurmctld slurmd slurm-client munge (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
}

# munged runs as the munge user, which must own its directories (here they can come out
# owned by root, and then munged refuses to start). The package creates the key.
start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    return 0
  fi
  [ -f /etc/munge/munge.key ] || setpriv --reuid munge --regid munge --init-groups mungekey --create
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge /etc/munge/munge.key
  chmod 0755 /run/munge
  chmod 0700 /var/log/munge /etc/munge
  # --force: a socket left by a munged that died would otherwise stop this one.
  setsid setpriv --reuid munge --regid munge --init-groups \
    munged --foreground --force >"$state/munged.out" 2>&1 </dev/null &
  echo $! >"$started/munged"
  for _ in $(seq 1 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
    alive munged || break
    sleep 0.2
  done
  logs
  tail -n 20 /var/log/munge/munged.log >&2 2>/dev/null || true
  down
  die "munged did not come up"
}

# The node as slurmd sees it (CPUs, sockets, cores, threads, memory), so that slurmctld
# does not drain it for a mismatch; one partition holding it.
write_conf() {
  local node line
  node=$(hostname -s)
  line=$(slurmd -C | head -n 1)
  case "$line" in NodeName=*) ;; *) die "slurmd -C printed no node line: $line" ;; esac
  mkdir -p "$state/ctld" "$state/d"
  cat >"$conf" <<EOF
# Written by deploy/slurm-local.sh: a one-node cluster on this machine.
ClusterName=zabsim
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
# No cgroups here: track a job's processes through /proc, bind no tasks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
MailProg=/bin/true
# Finished jobs stay visible to scontrol for 10 minutes (there is no accounting database).
MinJobAge=600
$line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
}

start_daemon() {
  local name=$1
  shift
  setsid "$@" >"$state/$name.out" 2>&1 </dev/null &
  echo $! >"$started/$name"
}

up() {
  [ "$(id -u)" -eq 0 ] || die "needs root (it installs packages and starts the daemons as root)"
  mkdir -p "$state" "$started"
  if alive slurmctld && alive slurmd && node_up; then
    echo "slurm-local: reusing the cluster that answers ($(sinfo -h -o '%P %D node %t'))"
    echo "export SLURM_CONF=$conf"
    return 0
  fi
  install_missing
  start_munge
  alive slurmctld && die "slurmctld (PID $(cat "$started/slurmctld")) runs but the node is not up; run '$0 down' first"
  alive slurmd && die "slurmd (PID $(cat "$started/slurmd")) runs but the node is not up; run '$0 down' first"
  write_conf
  start_daemon slurmctld slurmctld -D -f "$conf"
  start_daemon slurmd slurmd -D -f "$conf" -N "$(hostname -s)"
  local deadline=$((SECONDS + wait_s))
  until node_up; do
    if [ "$SECONDS" -ge "$deadline" ] || ! alive slurmctld || ! alive slurmd; then
      sinfo >&2 2>/dev/null || true
      logs
      down
      die "the node is not idle after ${wait_s}s (or a daemon exited); logs above"
    fi
    sleep 1
  done
  echo "slurm-local: up ($(sinfo -h -o '%P %D node %t, %c CPUs, %m MB'))"
  echo "export SLURM_CONF=$conf"
}

# Stops what `up` started, by recorded PID, after checking the PID is still that program.
down() {
  local name pid
  for name in slurmd slurmctld munged; do
    if alive "$name"; then
      pid=$(cat "$started/$name")
      kill "$pid"
      for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
      done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      echo "slurm-local: stopped $name (PID $pid)"
    fi
    rm -f "$started/$name"
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status)
    if alive slurmctld && alive slurmd && node_up; then
      sinfo
    else
      echo "slurm-local: no cluster answers with $conf"
      exit 1
    fi
    ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
