// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's C seam: a bare kprobe (empty pre-handler) on
 * touch_softlockup_watchdog(), the baseline stopwatch is compared with, and
 * preempt_disable()/preempt_enable(), which are macros.
 */
#include <linux/kprobes.h>
#include <linux/preempt.h>

int stopwatch_bench_bare_register(void);
void stopwatch_bench_bare_unregister(void);
void stopwatch_bench_preempt_disable(void);
void stopwatch_bench_preempt_enable(void);

static int bare_pre(struct kprobe *kp, struct pt_regs *regs)
{
	return 0;
}
NOKPROBE_SYMBOL(bare_pre);

static struct kprobe bare = {
	.symbol_name = "touch_softlockup_watchdog",
	.pre_handler = bare_pre,
};
static bool bare_registered;

int stopwatch_bench_bare_register(void)
{
	int ret;

	if (bare_registered)
		return -EBUSY;
	/* A kprobe cannot be registered twice: start from a clean struct. */
	bare = (struct kprobe){
		.symbol_name = "touch_softlockup_watchdog",
		.pre_handler = bare_pre,
	};
	ret = register_kprobe(&bare);
	if (!ret)
		bare_registered = true;
	return ret;
}

void stopwatch_bench_bare_unregister(void)
{
	if (bare_registered)
		unregister_kprobe(&bare);
	bare_registered = false;
}

void stopwatch_bench_preempt_disable(void)
{
	preempt_disable();
}

void stopwatch_bench_preempt_enable(void)
{
	preempt_enable();
}
