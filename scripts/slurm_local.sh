#!/usr/bin/env bash
# A single-node Slurm cluster on localhost, for the sweep tests and for trying `deno task sweep --backend slurm`.
#
#   scripts/slurm_local.sh start    # as root: munge key, slurm.conf, munged + slurmctld + slurmd in the background
#   scripts/slurm_local.sh stop     # stops the three daemons (state and logs stay in the state folder)
#   scripts/slurm_local.sh status   # exit 0 when the cluster answers
#   scripts/slurm_local.sh env      # prints `export SLURM_CONF=…` for the clients (sbatch, squeue, sacct, scancel)
#
# Needs Debian's slurm-wlm and munge. Everything lives in $GRPO_SLURM_DIR (default /tmp/grpo-slurm): the key,
# slurm.conf, the controller's and node's state, pid files and logs. One node (this machine's hostname, 2 CPUs,
# RealMemory from /proc/meminfo) in one partition, `local` (the default). No accounting database: `sacct` is
# unavailable, and the sweep reads states from `squeue` and its own task records instead (finished jobs stay
# visible to the controller for MinJobAge = 1 hour).
set -euo pipefail

DIR="${GRPO_SLURM_DIR:-/tmp/grpo-slurm}"
CONF="$DIR/slurm.conf"
HOST="$(hostname -s)"
CPUS="${GRPO_SLURM_CPUS:-2}"
PORT="${GRPO_SLURM_PORT:-6817}"

die() { echo "slurm_local: $*" >&2; exit 1; }

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pid() { # pidfile name
  if alive "$1"; then
    local pid; pid="$(cat "$1")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    echo "slurm_local: stopped $2 (pid $pid)"
  fi
  rm -f "$1"
}

answers() { SLURM_CONF="$CONF" timeout 10 sinfo -h -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'; }

start() {
  [[ "$(id -u)" == 0 ]] || die "must run as root (slurmd launches jobs as their user)"
  for b in munged slurmctld slurmd sinfo; do
    command -v "$b" >/dev/null || die "$b not found (apt-get install slurm-wlm munge)"
  done
  if answers; then echo "slurm_local: already running (SLURM_CONF=$CONF)"; return 0; fi
  stop >/dev/null 2>&1 || true
  mkdir -p "$DIR/munge" "$DIR/ctld" "$DIR/spool" "$DIR/log"
  chmod 0755 "$DIR"
  chmod 0700 "$DIR/munge"
  if [[ ! -s "$DIR/munge/munge.key" ]]; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1 count=1024 status=none
  fi
  chmod 0400 "$DIR/munge/munge.key"
  local mem; mem=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.95 }' /proc/meminfo)
  cat >"$CONF" <<CONF
# Written by scripts/slurm_local.sh: a single-node cluster on localhost.
ClusterName=grpo-local
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=3600
KillWait=30
SlurmdTimeout=60
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
  munged --force --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
    --pid-file="$DIR/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed" ||
    die "munged did not start (see $DIR/log/munged.log)"
  slurmctld -f "$CONF" || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
  slurmd -f "$CONF" || die "slurmd did not start (see $DIR/log/slurmd.log)"
  for _ in $(seq 60); do
    if answers; then
      echo "slurm_local: running; export SLURM_CONF=$CONF"
      return 0
    fi
    SLURM_CONF="$CONF" scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
    sleep 0.5
  done
  tail -5 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
  die "the cluster did not come up within 30 s"
}

stop() {
  stop_pid "$DIR/slurmd.pid" slurmd
  stop_pid "$DIR/slurmctld.pid" slurmctld
  stop_pid "$DIR/munged.pid" munged
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) answers ;;
  env) echo "export SLURM_CONF=$CONF" ;;
  *) die "usage: $0 start|stop|status|env" ;;
esac
