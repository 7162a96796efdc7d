// SPDX-License-Identifier: GPL-2.0
/*
 * The CPU hog's C seam: its module parameters (Rust module parameters
 * exist on 7.3 but not on 6.12) and the services every stopwatch module
 * shares (preempt_disable() and friends among them).
 */
#include <linux/delay.h>
#include <linux/kprobes.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/stop_machine.h>

#include "../rust/services.c"

MODULE_AUTHOR("stopwatch developers");

/* Must match hog.rs MAX_HOGS. */
#define HOG_MAX 8

static uint cpu[HOG_MAX] = { 2 };
static int nr_cpu = 1;
module_param_array(cpu, uint, &nr_cpu, 0444);
MODULE_PARM_DESC(cpu, "CPUs to hog, a list (online, distinct; at most 8)");

static uint seconds[HOG_MAX] = { 6 };
static int nr_seconds = 1;
module_param_array(seconds, uint, &nr_seconds, 0444);
MODULE_PARM_DESC(seconds,
		 "Length of each non-preemptible section (1..=60): one for every CPU, or one per CPU");

static uint touch_ms = 100;
module_param(touch_ms, uint, 0444);
MODULE_PARM_DESC(touch_ms,
		 "Call touch_softlockup_watchdog() every touch_ms (0: never; ..=10000)");

static bool irqs_off;
module_param(irqs_off, bool, 0444);
MODULE_PARM_DESC(irqs_off, "Run with interrupts off too (an IPI cannot reach it)");

static bool start = true;
module_param(start, bool, 0444);
MODULE_PARM_DESC(start, "Run once at load");

static uint delay_ms;
module_param(delay_ms, uint, 0444);
MODULE_PARM_DESC(delay_ms,
		 "Wait delay_ms after load before the run of start=1 (..=60000): a run that needs no debugfs write, as under lockdown");

static int pair_cpu = -1;
module_param(pair_cpu, int, 0444);
MODULE_PARM_DESC(pair_cpu,
		 "Also call stop_two_cpus(pair_cpu, first hogged CPU) 200 ms after load (the hog runs by then), as migrate_swap() does: pair_cpu's stopper then waits in that multi_cpu_stop() for the hogged CPU, a nested stop for any stop_machine() meanwhile (-1: no)");

/*
 * The nested stop. stop_two_cpus() is not exported (its one caller is the
 * scheduler's migrate_swap(), under NUMA balancing); a test sample finds it
 * the way out-of-tree tools find unexported symbols, through a kprobe's
 * symbol lookup, and calls it from a thread of its own. No kCFI on the
 * test kernels; the type is the kernel's.
 */
typedef int (*stop_two_cpus_fn)(unsigned int cpu1, unsigned int cpu2,
				cpu_stop_fn_t fn, void *arg);

static int stopwatch_hog_pair_fn(void *arg)
{
	return 0;
}

static struct task_struct *pair_thread;

static int pair_thread_fn(void *arg)
{
	stop_two_cpus_fn stop_two_cpus = arg;
	int ret;

	msleep(200);
	ret = stop_two_cpus(pair_cpu, cpu[0], stopwatch_hog_pair_fn, NULL);
	pr_info("stopwatch_hog: stop_two_cpus(%d, %u) returned %d\n", pair_cpu,
		cpu[0], ret);
	/* kthread_stop() needs the task until it asks. */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

/* Starts the pair thread if `pair_cpu` asks for one; 0 or -errno. */
int stopwatch_hog_pair_start(void);
int stopwatch_hog_pair_start(void)
{
	struct kprobe kp = { .symbol_name = "stop_two_cpus" };
	void *addr;
	int ret;

	if (pair_cpu < 0)
		return 0;
	if (pair_cpu >= nr_cpu_ids || !cpu_online(pair_cpu) ||
	    pair_cpu == cpu[0]) {
		pr_err("stopwatch_hog: pair_cpu=%d must be an online CPU other than %u\n",
		       pair_cpu, cpu[0]);
		return -EINVAL;
	}
	ret = register_kprobe(&kp);
	if (ret) {
		pr_err("stopwatch_hog: cannot find stop_two_cpus: %d\n", ret);
		return ret;
	}
	addr = kp.addr;
	unregister_kprobe(&kp);
	pair_thread = kthread_run(pair_thread_fn, addr, "stopwatch_pair");
	if (IS_ERR(pair_thread)) {
		ret = PTR_ERR(pair_thread);
		pair_thread = NULL;
		return ret;
	}
	return 0;
}

/* Waits for the pair thread's call to return (after the hog's run). */
void stopwatch_hog_pair_stop(void);
void stopwatch_hog_pair_stop(void)
{
	if (pair_thread)
		kthread_stop(pair_thread);
	pair_thread = NULL;
}

/* Mirrored by hog.rs `Params`. */
struct hog_params {
	u32 cpu[HOG_MAX];
	u32 nr_cpu;
	u32 seconds[HOG_MAX];
	u32 nr_seconds;
	u32 touch_ms;
	bool start;
	bool irqs_off;
	u32 delay_ms;
};

void stopwatch_hog_params(struct hog_params *out);
void stopwatch_hog_params(struct hog_params *out)
{
	int i;

	for (i = 0; i < HOG_MAX; i++) {
		out->cpu[i] = cpu[i];
		out->seconds[i] = seconds[i];
	}
	out->nr_cpu = nr_cpu;
	out->nr_seconds = nr_seconds;
	out->touch_ms = touch_ms;
	out->start = start;
	out->irqs_off = irqs_off;
	out->delay_ms = delay_ms;
}

unsigned long stopwatch_hog_irq_save(void);
unsigned long stopwatch_hog_irq_save(void)
{
	unsigned long flags;

	local_irq_save(flags);
	return flags;
}

void stopwatch_hog_irq_restore(unsigned long flags);
void stopwatch_hog_irq_restore(unsigned long flags)
{
	local_irq_restore(flags);
}
