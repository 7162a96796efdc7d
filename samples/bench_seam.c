// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's C seam: a bare kprobe (empty pre-handler) on
 * touch_softlockup_watchdog(), the baseline stopwatch is compared with;
 * the kernel's ring_buffer (its header is not in the Rust bindings, and
 * ring_buffer_alloc() is a macro), the alternative to stopwatch's ring;
 * and the services every stopwatch module shares.
 */
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/ring_buffer.h>

#include "../rust/services.c"

MODULE_AUTHOR("stopwatch developers");

int stopwatch_bench_bare_register(void);
void stopwatch_bench_bare_unregister(void);
void *stopwatch_bench_rb_alloc(unsigned long bytes_per_cpu);
void stopwatch_bench_rb_free(void *rb);
int stopwatch_bench_rb_write(void *rb, const void *data, unsigned long len);

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

/* An overwriting ring_buffer, like a flight recorder would use. */
void *stopwatch_bench_rb_alloc(unsigned long bytes_per_cpu)
{
	return ring_buffer_alloc(bytes_per_cpu, RB_FL_OVERWRITE);
}

void stopwatch_bench_rb_free(void *rb)
{
	ring_buffer_free(rb);
}

/* One event of `len` bytes; the ring_buffer stamps it with its own clock. */
int stopwatch_bench_rb_write(void *rb, const void *data, unsigned long len)
{
	return ring_buffer_write(rb, len, (void *)data);
}
