# The real incident, in the guest (busybox sh): PROCS sleeping processes,
# then one `tail /dev/zero` that allocates until the machine runs out of
# memory (a global OOM: no memory cgroup). The OOM killer's report, whose
# task dump lists every process under rcu_read_lock(), goes to the serial
# console as on the seed's servers. Usage: sh global-oom.sh [PROCS]
procs=${1:-6000}
i=0
while [ $i -lt "$procs" ]; do
	sleep 1000000 &
	i=$((i + 1))
done
echo "oom: $procs sleeping processes, $(ls -d /proc/[0-9]* | wc -l) in all"
# Console loglevel 7: the report's KERN_INFO lines (the task dump) print
# on the serial console, in the context of the task that hit the OOM.
dmesg -n 7
# `tail` buffers /dev/zero, which has no newline, until it is killed.
tail /dev/zero
dmesg -n 1
echo "oom: tail is gone ($(dmesg | grep -c 'Out of memory: Killed process') OOM kills)"
