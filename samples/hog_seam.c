// SPDX-License-Identifier: GPL-2.0
/*
 * The CPU hog's C seam: preempt_disable()/preempt_enable() are macros over
 * the per-CPU preempt count, so Rust cannot call them; these two wrappers
 * are the whole file.
 */
#include <linux/preempt.h>

void stopwatch_hog_preempt_disable(void);
void stopwatch_hog_preempt_enable(void);

void stopwatch_hog_preempt_disable(void)
{
	preempt_disable();
}

void stopwatch_hog_preempt_enable(void)
{
	preempt_enable();
}
