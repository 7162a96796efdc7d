// SPDX-License-Identifier: GPL-2.0
/*
 * The CPU hog's C seam: its module parameters (Rust module parameters
 * exist on 7.3 but not on 6.12) and the services every stopwatch module
 * shares (preempt_disable() and friends among them).
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

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

/* Mirrored by hog.rs `Params`. */
struct hog_params {
	u32 cpu[HOG_MAX];
	u32 nr_cpu;
	u32 seconds[HOG_MAX];
	u32 nr_seconds;
	u32 touch_ms;
	bool start;
	bool irqs_off;
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
