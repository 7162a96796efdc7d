// SPDX-License-Identifier: GPL-2.0
/*
 * The storm sample's C seam: its module parameters (Rust module
 * parameters exist on 7.3 but not on 6.12) and the services every
 * stopwatch module shares.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "../rust/services.c"

MODULE_AUTHOR("stopwatch developers");

static uint period_ms = 1000;
module_param(period_ms, uint, 0444);
MODULE_PARM_DESC(period_ms, "Milliseconds between stop_machine() calls (1..=60000)");

static uint work_us = 10;
module_param(work_us, uint, 0444);
MODULE_PARM_DESC(work_us, "Microseconds the stop function busy-works (0..=100000)");

static int cpu = -1;
module_param(cpu, int, 0444);
MODULE_PARM_DESC(cpu, "CPU that runs the function (-1: any, i.e. cpus=NULL)");

/* Mirrored by storm.rs `Params`. */
struct storm_params {
	u32 period_ms;
	u32 work_us;
	s32 cpu;
};

void stopwatch_storm_params(struct storm_params *out);
void stopwatch_storm_params(struct storm_params *out)
{
	out->period_ms = period_ms;
	out->work_us = work_us;
	out->cpu = cpu;
}
