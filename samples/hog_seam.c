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

static uint cpu = 2;
module_param(cpu, uint, 0444);
MODULE_PARM_DESC(cpu, "CPU to hog (must be online)");

static uint seconds = 6;
module_param(seconds, uint, 0444);
MODULE_PARM_DESC(seconds, "Length of the non-preemptible section (1..=60)");

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
	u32 cpu;
	u32 seconds;
	u32 touch_ms;
	bool start;
	bool irqs_off;
};

void stopwatch_hog_params(struct hog_params *out);
void stopwatch_hog_params(struct hog_params *out)
{
	out->cpu = cpu;
	out->seconds = seconds;
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
