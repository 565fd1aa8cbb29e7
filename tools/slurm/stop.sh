#!/usr/bin/env bash
# Stops the one-node cluster tools/slurm/start.sh started: cancels its jobs, stops slurmd and
# slurmctld (by the pids they recorded), munged, and removes the slurm.conf start.sh wrote.
set -uo pipefail
dir=${BMAE_SLURM_DIR:-/tmp/bmae-slurm}
conf=/etc/slurm/slurm.conf
marker='# written by bmae tools/slurm/start.sh'
if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then echo "tools/slurm/stop.sh: $conf is not ours; not stopping this machine's Slurm" >&2; exit 1; fi
scancel --full --user=root 2>/dev/null || true
for daemon in slurmd slurmctld; do
  pidfile="$dir/$daemon.pid"
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null && for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    rm -f "$pidfile"
  fi
done
# munged records its pid in its own run folder
if [ -f /run/munge/munged.pid ]; then
  pid=$(cat /run/munge/munged.pid)
  kill "$pid" 2>/dev/null && for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
fi
rm -f "$conf"
echo "slurm: stopped"
