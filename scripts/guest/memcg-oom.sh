# The seed's memcg workload, in the guest (busybox sh): a memory cgroup with many
# child groups and many small allocating processes driving memcg OOM kills,
# for SECONDS. Usage: sh memcg-oom.sh SECONDS [GROUPS] [PROCS]
secs=${1:-40}
groups=${2:-2000}
procs=${3:-200}
cg=/sys/fs/cgroup
echo +memory >$cg/cgroup.subtree_control
mkdir -p $cg/oom
echo 64M >$cg/oom/memory.max
echo +memory >$cg/oom/cgroup.subtree_control
i=0
while [ $i -lt "$groups" ]; do
	mkdir $cg/oom/c$i
	i=$((i + 1))
done
echo "oom: $groups child groups, starting $procs allocating loops for $secs s"
i=0
while [ $i -lt "$procs" ]; do
	g=$cg/oom/c$((i % groups))
	# Each loop joins its group and allocates until the OOM killer kills
	# `tail` (it buffers /dev/zero, which has no newline), then again.
	sh -c "echo \$\$ > $g/cgroup.procs; while :; do tail /dev/zero; done" 2>/dev/null &
	i=$((i + 1))
done
sleep "$secs"
echo 1 >$cg/oom/cgroup.kill
sleep 1
echo "oom: stopped; $(grep -c . $cg/oom/cgroup.procs 2>/dev/null || echo 0) tasks left"
