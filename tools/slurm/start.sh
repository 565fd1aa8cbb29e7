#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine (for tests and for trying `bmae submit`):
# munged, slurmctld and slurmd as root, every CPU of this machine in one partition "debug".
# Needs Debian's slurm-wlm and munge (`tools/slurm/install.sh`). Writes /etc/slurm/slurm.conf (the file
# every Slurm client reads; marked as ours, so stop.sh removes only its own) and keeps state and logs in
# $BMAE_SLURM_DIR (default /tmp/bmae-slurm). Settings that work in a container without systemd or
# cgroups (measured): ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, select/cons_tres with CR_CPU.
set -euo pipefail
dir=${BMAE_SLURM_DIR:-/tmp/bmae-slurm}
conf=/etc/slurm/slurm.conf
marker='# written by bmae tools/slurm/start.sh'
host=$(hostname -s)
cpus=$(nproc)

if [ "$(id -u)" != 0 ]; then echo "tools/slurm/start.sh: must run as root (munged, slurmctld and slurmd run as root here)" >&2; exit 1; fi
for cmd in munged slurmctld slurmd sinfo; do
  command -v "$cmd" >/dev/null || { echo "tools/slurm/start.sh: $cmd not found: install Slurm with tools/slurm/install.sh" >&2; exit 1; }
done
if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
  echo "tools/slurm/start.sh: $conf exists and is not ours: this machine has its own Slurm configuration; not touching it" >&2; exit 1
fi
if sinfo -h >/dev/null 2>&1 && [ -f "$dir/slurmctld.pid" ]; then echo "slurm: already running ($dir)"; sinfo; exit 0; fi

mkdir -p "$dir/state" "$dir/spool" /run/munge /var/log/munge /var/lib/munge
cat > "$conf" <<CONF
$marker
ClusterName=bmae
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
# finished jobs stay visible to squeue for an hour (there is no accounting database for sacct)
MinJobAge=3600
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
chown root:root /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
chmod 0400 /etc/munge/munge.key
# munged: start one unless one is serving its socket. A munged that is still exiting (stop.sh right before)
# has no socket any more and must be gone before a new one can bind it.
socket=/run/munge/munge.socket.2
if ! { pgrep -x munged >/dev/null && [ -S "$socket" ]; }; then
  for _ in $(seq 20); do pgrep -x munged >/dev/null || break; sleep 0.5; done
  munged --force
  for _ in $(seq 20); do [ -S "$socket" ] && break; sleep 0.5; done
  [ -S "$socket" ] || { echo "tools/slurm/start.sh: munged did not create $socket; see /var/log/munge/munged.log" >&2; exit 1; }
fi
slurmctld -i -L "$dir/slurmctld.log"
slurmd -L "$dir/slurmd.log"
for _ in $(seq 60); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qE '^idle'; then echo "slurm: one-node cluster up ($host, $cpus CPUs; state and logs in $dir)"; sinfo; exit 0; fi
  sleep 1
done
echo "tools/slurm/start.sh: the node did not become idle within 60 s; see $dir/slurmctld.log and $dir/slurmd.log" >&2
sinfo >&2 || true
exit 1
