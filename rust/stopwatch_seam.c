// SPDX-License-Identifier: GPL-2.0
/*
 * stopwatch's C seam: what only stopwatch.ko needs and no kernel's Rust
 * bindings offer, plus (services.c, included below) the kernel services
 * every stopwatch module shares.
 *
 * kprobes.h and stop_machine.h are not in the bindings, struct kprobe is
 * embedded by value and its handlers take struct pt_regs, struct
 * multi_stop_data is private to kernel/stop_machine.c, and module
 * parameters in Rust exist on 7.3 but not on 6.12. Everything that touches
 * those lives here, behind the functions declared in the one `extern "C"`
 * block of seam.rs; the Rust above that block is safe.
 *
 * Nothing here allocates, locks, sleeps or prints in a probe handler.
 *
 * One compilation unit, in parts: this file (includes, the module
 * parameters, CPU hotplug), stopwatch_seam/probes.c (registration and
 * the handlers), stopwatch_seam/msdata.c (what the probes read of the
 * kernel) and stopwatch_seam/console.c (irq_works, backtrace IPI, panic
 * notifier). The structs and constants shared with Rust are in
 * stopwatch_seam.h.
 */

#include <linux/compiler.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/irq_work.h>
#include <linux/notifier.h>
#include <linux/panic.h>
#include <linux/panic_notifier.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/jiffies.h>
#include <linux/kprobes.h>
#include <asm/irq_regs.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/uaccess.h>
#include <linux/smp.h>
#include <linux/sprintf.h>
#include <linux/string.h>
#include <linux/sched/clock.h>
#include <linux/timekeeping.h>

#include <linux/module.h>
#include <linux/moduleparam.h>

#include "stopwatch_seam.h"
/* The vmcore descriptor's C view: the descriptor itself is Rust's
 * (recorder/vmcore.rs); included here for its static_assert()s. */
#include "stopwatch_vmcore.h"
#include "services.c"

MODULE_AUTHOR("stopwatch developers");

/* --- module parameters (mirrored by seam::Params) ------------------------ */

static ulong buffer_size = 4096;
module_param(buffer_size, ulong, 0444);
MODULE_PARM_DESC(buffer_size, "Records per CPU ring (power of two, 16..=1048576)");

static uint warn_percent = 50;
module_param(warn_percent, uint, 0444);
MODULE_PARM_DESC(warn_percent,
		 "Early warning after this % of the soft-lockup threshold in PREPARE (1..=100)");

static bool sw_console = true;
module_param_named(console, sw_console, bool, 0444);
MODULE_PARM_DESC(console,
		 "Print the early warning, backtraces, lockup-report notes and the panic dump (default on)");

static uint test_layout_shift;
module_param(test_layout_shift, uint, 0444);
MODULE_PARM_DESC(test_layout_shift,
		 "Testing: read struct multi_stop_data this many bytes off (0..=64), as a kernel with another layout would");

static uint test_missing_probe;
module_param(test_missing_probe, uint, 0444);
MODULE_PARM_DESC(test_missing_probe,
		 "Testing: put probe N (1-based, see stats) on a symbol that does not exist");

static uint test_fill;
module_param(test_fill, uint, 0444);
MODULE_PARM_DESC(test_fill,
		 "Testing: fill each CPU's ring with this many synthetic records at load, before the probes (0..=buffer_size)");

/* The parameters as given at load (checked by Rust). */
void stopwatch_params(struct sw_params *out)
{
	out->buffer_size = buffer_size;
	out->warn_percent = warn_percent;
	out->test_missing_probe = test_missing_probe;
	out->console = sw_console;
	out->test_layout_shift = test_layout_shift;
	out->test_fill = test_fill;
}

/* The seam's parts, in the order they depend on each other. */
#include "stopwatch_seam/probes.c"
#include "stopwatch_seam/msdata.c"
#include "stopwatch_seam/console.c"

/*
 * CPU hotplug: a CPU coming up gets its ring (recorder/rings.rs) at
 * CPUHP_BP_PREPARE_DYN, on the CPU bringing it up, before it runs; the
 * callback may sleep. Never refused: a CPU whose ring cannot be allocated
 * comes up and records nothing.
 */
static int sw_hotplug_state;

static int sw_cpu_prepare(unsigned int cpu)
{
	stopwatch_cpu_prepare(cpu);
	return 0;
}

int stopwatch_hotplug_start(void)
{
	int ret = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "stopwatch:prepare",
					    sw_cpu_prepare, NULL);

	if (ret < 0)
		return ret;
	/* The dynamic state's number; 0 without CPU hotplug (nothing set up). */
	sw_hotplug_state = ret;
	return 0;
}

/* On return no callback runs or will (cpuhp takes the hotplug lock). */
void stopwatch_hotplug_stop(void)
{
	if (sw_hotplug_state > 0)
		cpuhp_remove_state_nocalls(sw_hotplug_state);
	sw_hotplug_state = 0;
}
