// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's C seam: bare probes (empty handlers) placed as
 * stopwatch places its own, the baseline stopwatch is compared with;
 * the calls being timed where Rust cannot make them as they must be made
 * (two distinct call sites, an unexported function, stop_machine(), whose
 * header is not in the bindings); the kernel's ring_buffer (its header is
 * not in the Rust bindings, and ring_buffer_alloc() is a macro), the
 * alternative to stopwatch's ring; and the services every stopwatch
 * module shares.
 */
#include <linux/irq_work.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/nmi.h>
#include <linux/ring_buffer.h>
#include <linux/stop_machine.h>

#include "../rust/services.c"

MODULE_AUTHOR("stopwatch developers");

int stopwatch_bench_bare_register(u32 set);
void stopwatch_bench_bare_unregister(void);
void *stopwatch_bench_rb_alloc(unsigned long bytes_per_cpu);
void stopwatch_bench_rb_free(void *rb);
int stopwatch_bench_rb_write(void *rb, const void *data, unsigned long len);
void stopwatch_bench_touch_pair(void);
int stopwatch_bench_sync_lookup(void);
void stopwatch_bench_touch_sync(void);
int stopwatch_bench_stop_machine(void);
int stopwatch_bench_window_start(void);
void stopwatch_bench_window_stop(void);
int stopwatch_bench_stop_window(u64 *window_ns);
int stopwatch_bench_probe_try(unsigned long addr);

static int bare_pre(struct kprobe *kp, struct pt_regs *regs)
{
	return 0;
}
NOKPROBE_SYMBOL(bare_pre);

static void bare_post(struct kprobe *kp, struct pt_regs *regs, unsigned long flags)
{
}
NOKPROBE_SYMBOL(bare_post);

static int bare_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return 0;
}
NOKPROBE_SYMBOL(bare_ret);

/*
 * Bare probes, empty handlers, placed as stopwatch places its own (see
 * PROBES in probes.rs): set 1 on the two touch functions timed (an entry
 * kprobe each); set 2 on the stop_machine() path (kretprobes with an entry
 * handler on stop_machine_cpuslocked() and multi_cpu_stop(), an int3
 * kprobe, kept from jump optimisation by a post handler, on
 * stop_machine_yield() where stopwatch puts its own (on x86 the
 * instruction that leaves it: sw_register_spin_kprobe()), and an entry kprobe on touch_softlockup_watchdog(),
 * which multi_cpu_stop() calls on every spin in DISABLE_IRQ and RUN
 * through touch_nmi_watchdog()). What stopwatch costs beyond these is its
 * own.
 * Sets 3 and 4 are the floor of any per-CPU view of a stop_machine():
 * set 3 a kretprobe on multi_cpu_stop() alone (when each CPU arrives and
 * leaves), set 4 an entry kprobe there alone (when each arrives, the least
 * that names a CPU that has not).
 * Sets 5 and 6 split set 2's cost of the interrupts-off window by the spin
 * probe: set 5 is set 2 without it (a view that sees no spin: no state
 * per CPU, no wait checked while it lasts), set 6 is set 2 with a spin
 * probe the kprobe core may jump-optimise (no post handler: its handler
 * would run with interrupts on, so an interrupt that hits another probe
 * meanwhile is a missed hit; /sys/kernel/debug/kprobes/list says whether
 * the core did optimise it).
 */
static struct kprobe bare_touch[2];
static struct kretprobe bare_stop[2];
static struct kprobe bare_spin;
static struct kprobe bare_spin_touch;
static struct kprobe bare_arrive;
static int bare_set;

static int bare_register_touch(void)
{
	static const char *const symbols[] = {
		"touch_softlockup_watchdog", "touch_softlockup_watchdog_sync",
	};
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(bare_touch); i++) {
		/* A kprobe cannot be registered twice: start from a clean one. */
		bare_touch[i] = (struct kprobe){
			.symbol_name = symbols[i],
			.pre_handler = bare_pre,
		};
		ret = register_kprobe(&bare_touch[i]);
		if (ret) {
			while (--i >= 0)
				unregister_kprobe(&bare_touch[i]);
			return ret;
		}
	}
	return 0;
}

/* Functions of bare_stop[], in order. */
static const char *const bare_stop_symbols[] = {
	"stop_machine_cpuslocked", "multi_cpu_stop",
};

/* Registers bare_stop[i], made afresh (a kretprobe cannot be registered twice). */
static int bare_register_ret(int i)
{
	bare_stop[i] = (struct kretprobe){
		.kp.symbol_name = bare_stop_symbols[i],
		.entry_handler = bare_ret,
		.handler = bare_ret,
		.data_size = 16,
		.maxactive = 2 * num_possible_cpus(),
	};
	return register_kretprobe(&bare_stop[i]);
}

/* What set 2, 5 or 6 puts on stop_machine_yield(). */
enum bare_spin_kind {
	BARE_SPIN_INT3,
	BARE_SPIN_NONE,
	BARE_SPIN_OPTIMIZABLE,
};

static enum bare_spin_kind bare_spin_kind;

static int bare_register_stop(enum bare_spin_kind spin)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(bare_stop); i++) {
		ret = bare_register_ret(i);
		if (ret)
			goto undo;
	}
	bare_spin_kind = spin;
	if (spin != BARE_SPIN_NONE) {
		bare_spin = (struct kprobe){
			.symbol_name = "stop_machine_yield",
			.pre_handler = bare_pre,
			.post_handler = spin == BARE_SPIN_INT3 ? bare_post : NULL,
		};
		/*
		 * Where stopwatch puts its own (services.c): on x86 the
		 * instruction that leaves the function, on arm64 the one after
		 * the first. The optimisable one stays on the entry, where the
		 * kprobe core can put its jump.
		 */
		ret = spin == BARE_SPIN_INT3 ? sw_register_spin_kprobe(&bare_spin) :
					       sw_register_kprobe(&bare_spin);
		if (ret)
			goto undo;
	}
	bare_spin_touch = (struct kprobe){
		.symbol_name = "touch_softlockup_watchdog",
		.pre_handler = bare_pre,
	};
	ret = register_kprobe(&bare_spin_touch);
	if (!ret)
		return 0;
	if (spin != BARE_SPIN_NONE)
		unregister_kprobe(&bare_spin);
undo:
	while (--i >= 0)
		unregister_kretprobe(&bare_stop[i]);
	return ret;
}

/* Set 4: an entry kprobe on multi_cpu_stop() alone. */
static int bare_register_stop_entry(void)
{
	bare_arrive = (struct kprobe){
		.symbol_name = "multi_cpu_stop",
		.pre_handler = bare_pre,
	};
	return register_kprobe(&bare_arrive);
}

int stopwatch_bench_bare_register(u32 set)
{
	int ret;

	if (bare_set)
		return -EBUSY;
	switch (set) {
	case 1:
		ret = bare_register_touch();
		break;
	case 2:
		ret = bare_register_stop(BARE_SPIN_INT3);
		break;
	case 5:
		ret = bare_register_stop(BARE_SPIN_NONE);
		break;
	case 6:
		ret = bare_register_stop(BARE_SPIN_OPTIMIZABLE);
		break;
	case 3:
		/* The kretprobe on multi_cpu_stop() alone. */
		ret = bare_register_ret(1);
		break;
	case 4:
		ret = bare_register_stop_entry();
		break;
	default:
		return -EINVAL;
	}
	if (!ret)
		bare_set = set;
	return ret;
}

void stopwatch_bench_bare_unregister(void)
{
	int i;

	if (bare_set == 1) {
		for (i = 0; i < ARRAY_SIZE(bare_touch); i++)
			unregister_kprobe(&bare_touch[i]);
	} else if (bare_set == 2 || bare_set == 5 || bare_set == 6) {
		unregister_kprobe(&bare_spin_touch);
		if (bare_spin_kind != BARE_SPIN_NONE)
			unregister_kprobe(&bare_spin);
		for (i = 0; i < ARRAY_SIZE(bare_stop); i++)
			unregister_kretprobe(&bare_stop[i]);
	} else if (bare_set == 3) {
		unregister_kretprobe(&bare_stop[1]);
	} else if (bare_set == 4) {
		unregister_kprobe(&bare_arrive);
	}
	bare_set = 0;
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

/*
 * Two call sites of touch_softlockup_watchdog(). Called one after the
 * other, every touch comes from another caller than the one before: a
 * touch stopwatch cannot coalesce, the path it records. barrier() keeps
 * each call from becoming a tail call, which would give both touches the
 * same return address. Each counts its calls in a variable of its own, so
 * that the two are not the same code: GCC (Debian's kernels) folds
 * identical functions into one (-fipa-icf), which gave both touches one
 * caller and made them coalesce.
 */
static unsigned long bench_touches_a, bench_touches_b;

static noinline void bench_touch_a(void)
{
	touch_softlockup_watchdog();
	WRITE_ONCE(bench_touches_a, bench_touches_a + 1);
}

static noinline void bench_touch_b(void)
{
	touch_softlockup_watchdog();
	WRITE_ONCE(bench_touches_b, bench_touches_b + 1);
}

void stopwatch_bench_touch_pair(void)
{
	bench_touch_a();
	bench_touch_b();
}

/*
 * touch_softlockup_watchdog_sync() is not exported, but it is traceable
 * (no notrace), so ftrace's kprobe_events can probe it too: the function
 * to compare stopwatch with ftrace on. Found through a kprobe's symbol
 * lookup, as out-of-tree tools find unexported symbols; no kCFI on the
 * test kernels, and the type is the kernel's.
 */
static void (*touch_sync)(void);

int stopwatch_bench_sync_lookup(void)
{
	struct kprobe kp = { .symbol_name = "touch_softlockup_watchdog_sync" };
	int ret;

	ret = register_kprobe(&kp);
	if (ret) {
		pr_err("stopwatch_bench: cannot find touch_softlockup_watchdog_sync: %d\n", ret);
		return ret;
	}
	touch_sync = (void (*)(void))kp.addr;
	unregister_kprobe(&kp);
	return 0;
}

void stopwatch_bench_touch_sync(void)
{
	touch_sync();
}

static int bench_stop_fn(void *arg)
{
	return 0;
}

/* One stop_machine() round trip of an empty function on every online CPU. */
int stopwatch_bench_stop_machine(void)
{
	return stop_machine(bench_stop_fn, NULL, NULL);
}

/*
 * The interrupts-off window of a stop_machine(): from the first CPU
 * disabling interrupts (in DISABLE_IRQ) to the last enabling them again
 * (after it saw EXIT), measured without a probe at any site stopwatch
 * probes, so that it reads the same with stopwatch loaded and without:
 *
 * - the start: DISABLE_IRQ is set by the last CPU to ack PREPARE, on its
 *   first spin, so the window opens one spin after the last arrival;
 *   arrivals are stamped by an entry kprobe on multi_cpu_stop() (the
 *   instrument, there on both sides, before any CPU has interrupts off);
 * - the end: every CPU is active and its function, in RUN with
 *   interrupts off, queues an irq_work on its CPU; the work's interrupt is
 *   taken as soon as multi_cpu_stop() restores interrupts, and stamps that
 *   CPU's leaving.
 *
 * window = last leaving - last arrival (the spin between the last arrival
 * and DISABLE_IRQ counts in, stopwatch's spin handler with it).
 */
static DEFINE_PER_CPU(u64, window_arrive_ns);
static DEFINE_PER_CPU(u64, window_leave_ns);
static DEFINE_PER_CPU(struct irq_work, window_work);
static struct kprobe window_arrive;

static int window_arrive_pre(struct kprobe *kp, struct pt_regs *regs)
{
	this_cpu_write(window_arrive_ns, ktime_get_mono_fast_ns());
	return 0;
}
NOKPROBE_SYMBOL(window_arrive_pre);

static void window_leave(struct irq_work *work)
{
	this_cpu_write(window_leave_ns, ktime_get_mono_fast_ns());
}

static int window_stop_fn(void *arg)
{
	irq_work_queue(this_cpu_ptr(&window_work));
	return 0;
}

/* Registers the arrival probe; stopwatch_bench_window_stop() removes it. */
int stopwatch_bench_window_start(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		per_cpu(window_work, cpu) = IRQ_WORK_INIT_HARD(window_leave);
	window_arrive = (struct kprobe){
		.symbol_name = "multi_cpu_stop",
		.pre_handler = window_arrive_pre,
	};
	return register_kprobe(&window_arrive);
}

void stopwatch_bench_window_stop(void)
{
	unregister_kprobe(&window_arrive);
}

/* One stop_machine() with every online CPU active; its window in ns. */
int stopwatch_bench_stop_window(u64 *window_ns)
{
	u64 arrive = 0, leave = 0;
	int cpu, ret;

	/* No CPU comes or goes during the bench. */
	for_each_online_cpu(cpu) {
		per_cpu(window_arrive_ns, cpu) = 0;
		per_cpu(window_leave_ns, cpu) = 0;
	}
	ret = stop_machine(window_stop_fn, NULL, cpu_online_mask);
	for_each_online_cpu(cpu) {
		irq_work_sync(per_cpu_ptr(&window_work, cpu));
		arrive = max(arrive, per_cpu(window_arrive_ns, cpu));
		leave = max(leave, per_cpu(window_leave_ns, cpu));
		if (!per_cpu(window_arrive_ns, cpu) || !per_cpu(window_leave_ns, cpu))
			ret = ret ?: -EIO;
	}
	*window_ns = leave > arrive ? leave - arrive : 0;
	return ret;
}

/*
 * For the tests, not the benchmark: tries a kprobe at ADDR (registers it,
 * with an empty handler, and unregisters it again); 0 or the -errno of
 * register_kprobe(). The e2e test `probes` tries every function of
 * stopwatch.ko, all of which kprobes must refuse.
 */
int stopwatch_bench_probe_try(unsigned long addr)
{
	struct kprobe kp = {
		.addr = (kprobe_opcode_t *)addr,
		.pre_handler = bare_pre,
	};
	int ret = register_kprobe(&kp);

	if (!ret)
		unregister_kprobe(&kp);
	return ret;
}
