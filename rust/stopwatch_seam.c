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

/* --- probes -------------------------------------------------------------- */

/* The Rust side of every hit: a probe on it would make every hit a nested,
 * missed one. (What it calls is inlined or NOKPROBE in services.c.) */
NOKPROBE_SYMBOL(stopwatch_probe_hit);
NOKPROBE_SYMBOL(stopwatch_touch_hit);
NOKPROBE_SYMBOL(stopwatch_spin_hit);

struct sw_probe {
	/* .kp is used alone for entry-only probes. */
	struct kretprobe krp;
	u32 index;
	bool paired;
	bool registered;
};

static struct sw_probe sw_probes[SW_MAX_PROBES];

/*
 * The caller of a probed function, from its first instruction, before its
 * prologue ran: the return address is on top of the stack on x86 (mapped,
 * for int3, jump-optimised and ftrace-based probes alike: read directly
 * rather than through a fault-safe copy on every hit), and in the link
 * register on arm64 (not yet signed: paciasp, if the function has it, is
 * the instruction probed or a later one; stripping costs one instruction
 * and keeps that true should a probe ever land after it).
 */
static __always_inline unsigned long sw_entry_caller(struct pt_regs *regs)
{
#if defined(CONFIG_X86)
	return *(unsigned long *)kernel_stack_pointer(regs);
#elif defined(CONFIG_ARM64)
	return ptrauth_strip_kernel_insn_pac(procedure_link_pointer(regs));
#else
#error "stopwatch: sw_entry_caller() does not know this architecture"
#endif
}

static __always_inline void sw_fill(struct sw_hit *hit, struct pt_regs *regs)
{
	/*
	 * The clock is read by Rust when the hit needs it: a watchdog touch
	 * repeated by the same caller within one jiffy does not (jiffies is
	 * one load; the clock is most of a hit's cost).
	 */
	hit->ts_ns = 0;
	hit->jiffies = READ_ONCE(jiffies);
	hit->cpu = raw_smp_processor_id();
	hit->pid = current->pid;
	hit->stack = 0;
	hit->args[0] = regs_get_kernel_argument(regs, 0);
	hit->args[1] = regs_get_kernel_argument(regs, 1);
	hit->args[2] = regs_get_kernel_argument(regs, 2);
	hit->retval = 0;
	hit->instance = 0;
	hit->phase = 0;
	hit->caller = sw_entry_caller(regs);
}

/* The pid of the task a probe handler interrupted. */
notrace u32 stopwatch_current_pid(void)
{
	return current->pid;
}
NOKPROBE_SYMBOL(stopwatch_current_pid);

/* Entry-only probes. */
static notrace int sw_entry_handler(struct kprobe *kp, struct pt_regs *regs)
{
	struct sw_probe *p = container_of(kp, struct sw_probe, krp.kp);
	struct sw_hit hit;

	sw_fill(&hit, regs);
	stopwatch_probe_hit(p->index, &hit);
	return 0;
}
NOKPROBE_SYMBOL(sw_entry_handler);

/*
 * The touch probes' handler (plain, sched and sync watchdog touches; a
 * loop calling touch_softlockup_watchdog() makes it the hottest probe
 * stopwatch has). It fills in no struct sw_hit: the touch functions take
 * no arguments, and Rust (stopwatch_touch_hit) needs only the CPU's live
 * state, jiffies and the caller to tell whether the touch repeats the
 * CPU's latest one (same caller, same jiffy), which it only counts; it
 * makes the hit of any other touch itself. sw_live points to the
 * recorder's state of each CPU from before the probes are registered
 * until after they are unregistered (probes.rs), and to Rust's sink
 * state otherwise: never NULL, so the handler checks nothing.
 */
extern const char stopwatch_sink_live[];
static DEFINE_PER_CPU(const void *, sw_live) = stopwatch_sink_live;

static notrace int sw_touch_handler(struct kprobe *kp, struct pt_regs *regs)
{
	const struct sw_probe *p = container_of(kp, struct sw_probe, krp.kp);

	/* The argument order spares moves: each is computed in its register.
	 * The pre-handler's return value (0) comes from Rust, which keeps the
	 * frame setup off its repeat path. */
	return stopwatch_touch_hit(p->index, sw_entry_caller(regs),
				   READ_ONCE(jiffies), this_cpu_read(sw_live));
}
NOKPROBE_SYMBOL(sw_touch_handler);

void stopwatch_set_cpu_live(u32 cpu, const void *live)
{
	if (cpu < nr_cpu_ids && cpu_possible(cpu))
		per_cpu(sw_live, cpu) = live;
}

void stopwatch_clear_cpu_live(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		per_cpu(sw_live, cpu) = stopwatch_sink_live;
}

/*
 * Paired probes: one kretprobe whose entry handler sees the call and whose
 * return handler sees it return. The kprobe core runs the return handler
 * exactly for the calls whose entry handler ran (if no instance is free,
 * neither runs and nmissed counts it), so no return comes without its
 * entry, even while the probe is being registered. The converse does not
 * hold while it is being removed: a call already inside the function when
 * its kretprobe is unregistered never gets its return handler. That is
 * harmless only because nothing reads the state such an entry left: the
 * spin probe, which reads it, is unregistered before this one (the order
 * of PROBES in probes.rs, asserted there), and the recorder is freed
 * right after every probe is unregistered (Stopwatch's field order in
 * stopwatch_main.rs). The soak's `held` part unloads stopwatch that way.
 */
static int sw_paired_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct sw_probe *p = container_of(get_kretprobe(ri), struct sw_probe, krp);
	struct sw_hit hit;

	sw_fill(&hit, regs);
	hit.stack = (u64)(unsigned long)task_stack_page(current);
	hit.instance = (u64)(unsigned long)ri->data;
	memset(ri->data, 0, SW_INSTANCE_BYTES);
	stopwatch_probe_hit(p->index, &hit);
	return 0;
}
NOKPROBE_SYMBOL(sw_paired_entry);

static int sw_paired_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct kretprobe *krp = get_kretprobe(ri);
	struct sw_probe *p;
	struct sw_hit hit;

	if (unlikely(!krp))
		return 0;
	p = container_of(krp, struct sw_probe, krp);
	sw_fill(&hit, regs);
	hit.caller = get_kretprobe_retaddr(ri);
	hit.retval = (s64)(long)regs_return_value(regs);
	hit.instance = (u64)(unsigned long)ri->data;
	hit.phase = 1;
	stopwatch_probe_hit(p->index, &hit);
	return 0;
}
NOKPROBE_SYMBOL(sw_paired_return);

/*
 * The spin probe's handler (stop_machine_yield(): once per spin of every
 * CPU in multi_cpu_stop()). Like the touch handler, it fills in no struct
 * sw_hit: Rust (stopwatch_spin_hit) needs the CPU's live state, the
 * cpumask argument and jiffies to tell a spin that sees the state it saw,
 * which it only counts, from one that records or checks a wait, whose hit
 * it makes itself.
 */
static notrace int sw_spin_handler(struct kprobe *kp, struct pt_regs *regs)
{
	const struct sw_probe *p = container_of(kp, struct sw_probe, krp.kp);

	return stopwatch_spin_hit(p->index, regs_get_kernel_argument(regs, 0),
				  READ_ONCE(jiffies), this_cpu_read(sw_live));
}
NOKPROBE_SYMBOL(sw_spin_handler);

/*
 * The spin probe's post handler: it does nothing, but a kprobe that has
 * one is never jump-optimised, so it stays an int3 probe whose handlers
 * run with interrupts off (see spin() in probes.rs).
 */
static void sw_post_handler(struct kprobe *kp, struct pt_regs *regs, unsigned long flags)
{
}
NOKPROBE_SYMBOL(sw_post_handler);

int stopwatch_probe_register(u32 index, const char *symbol, u32 kind)
{
	bool paired = kind == SW_PROBE_PAIRED;
	bool spin = kind == SW_PROBE_SPIN;
	struct sw_probe *p;
	int ret;

	if (index >= SW_MAX_PROBES || kind > SW_PROBE_TOUCH)
		return -EINVAL;
	p = &sw_probes[index];
	if (p->registered)
		return -EBUSY;
	memset(p, 0, sizeof(*p));
	p->index = index;
	p->paired = paired;
	p->krp.kp.symbol_name = symbol;
	if (paired) {
		p->krp.entry_handler = sw_paired_entry;
		p->krp.handler = sw_paired_return;
		p->krp.data_size = SW_INSTANCE_BYTES;
		/* Enough for every CPU to be inside the function at once. */
		p->krp.maxactive = 2 * num_possible_cpus();
		ret = register_kretprobe(&p->krp);
	} else {
		p->krp.kp.pre_handler = kind == SW_PROBE_TOUCH ? sw_touch_handler :
					spin		       ? sw_spin_handler :
								 sw_entry_handler;
		if (spin)
			p->krp.kp.post_handler = sw_post_handler;
		ret = sw_register_kprobe(&p->krp.kp);
		/*
		 * On an ftrace call site the kprobe is ftrace-based, and its
		 * handlers run with interrupts as the caller had them: the post
		 * handler does not help there. stop_machine_yield() is notrace
		 * in 6.12 and 7.3; refuse rather than run with a false promise.
		 */
		if (!ret && spin && (p->krp.kp.flags & KPROBE_FLAG_FTRACE)) {
			pr_err("%s is an ftrace site: its kprobe would run with interrupts on\n",
			       symbol);
			unregister_kprobe(&p->krp.kp);
			ret = -EOPNOTSUPP;
		}
	}
	if (!ret)
		p->registered = true;
	return ret;
}

void stopwatch_probe_unregister(u32 index)
{
	struct sw_probe *p;

	if (index >= SW_MAX_PROBES)
		return;
	p = &sw_probes[index];
	if (!p->registered)
		return;
	if (p->paired)
		unregister_kretprobe(&p->krp);
	else
		unregister_kprobe(&p->krp.kp);
	p->registered = false;
}

/* Hits the kprobe core dropped (handler already running on that CPU). */
u64 stopwatch_probe_nmissed(u32 index)
{
	struct sw_probe *p;

	if (index >= SW_MAX_PROBES)
		return 0;
	p = &sw_probes[index];
	if (p->paired)
		return READ_ONCE(p->krp.kp.nmissed) + READ_ONCE(p->krp.nmissed);
	return READ_ONCE(p->krp.kp.nmissed);
}

/*
 * A copy of the private struct multi_stop_data of kernel/stop_machine.c
 * (identical in 6.12 and 7.3). Rust checks every copy it reads against
 * what the stop_machine_cpuslocked() probe saw before trusting `state`.
 */
struct sw_multi_stop_data {
	int (*fn)(void *);
	void *data;
	unsigned int num_threads;
	const struct cpumask *active_cpus;
	int state;
	atomic_t thread_ack;
};

/* Where the copy of the layout is laid over `msdata`: `test_layout_shift`
 * bytes off in the layout test, else right on it. (The parameter is
 * 0444: it cannot change while a call is in flight.) */
static __always_inline const struct sw_multi_stop_data *sw_msdata(const void *msdata)
{
	return (const void *)((const char *)msdata + min(test_layout_shift, 64u));
}

/* Fault-safe: a wrong layout or shift reads what lies there, never faults.
 * Unreadable fields read as 0 (which no check accepts). */
notrace void stopwatch_read_multi_stop(const void *msdata, struct sw_multi_stop_view *out)
{
	struct sw_multi_stop_data m;

	memset(out, 0, sizeof(*out));
	if (copy_from_kernel_nofault(&m, sw_msdata(msdata), sizeof(m)))
		return;
	out->fn = (u64)(unsigned long)m.fn;
	out->data = (u64)(unsigned long)m.data;
	out->active_cpus = (u64)(unsigned long)m.active_cpus;
	out->num_threads = m.num_threads;
	out->state = (u32)m.state;
	out->thread_ack = atomic_read(&m.thread_ack);
}
NOKPROBE_SYMBOL(stopwatch_read_multi_stop);

/*
 * The `state` word only: the hot path of the stop_machine_yield probe.
 * Read fault-safe, as a second line of defence behind the pairing of
 * multi_cpu_stop's entry and return: U32_MAX if unreadable. This is
 * copy_from_kernel_nofault() without its call, its size loop and its
 * address check, which cost 75 instructions a spin (make bench): the spin
 * only reads a pointer the entry handler read the whole struct through
 * copy_from_kernel_nofault() (address checks included) and stored only
 * if that worked. What is left: pagefault_disable() and the exception
 * table entry of one load.
 */
notrace u32 stopwatch_read_multi_stop_state(const void *msdata)
{
	const int *src = &sw_msdata(msdata)->state;
	int state;

	pagefault_disable();
	__get_kernel_nofault(&state, src, int, fault);
	pagefault_enable();
	return (u32)state;
fault:
	pagefault_enable();
	return U32_MAX;
}
NOKPROBE_SYMBOL(stopwatch_read_multi_stop_state);

/* `%pS` of `addr` into `buf`; returns the length written. */
int stopwatch_format_symbol(char *buf, size_t len, u64 addr)
{
	return scnprintf(buf, len, "%pS", (void *)(unsigned long)addr);
}

/* Name of the current task, NUL-terminated, into `comm`
 * (TASK_COMM_LEN bytes). Only when a record or check needs it. */
notrace void stopwatch_current_comm(char *comm)
{
	static_assert(TASK_COMM_LEN == SW_COMM_LEN);
	memcpy(comm, current->comm, TASK_COMM_LEN);
	comm[TASK_COMM_LEN - 1] = '\0';
}
NOKPROBE_SYMBOL(stopwatch_current_comm);

/* Bytes of a task's stack: a stop_machine() call's struct multi_stop_data
 * lies in [stack, stack + THREAD_SIZE) of its caller. */
u64 stopwatch_thread_size(void)
{
	return THREAD_SIZE;
}


/* TAINT_SOFTLOCKUP: the flag watchdog_timer_fn() passes to add_taint()
 * right after each soft-lockup report. */
u32 stopwatch_taint_softlockup(void)
{
	return TAINT_SOFTLOCKUP;
}

/* --- console ------------------------------------------------------------- */

/*
 * What stopwatch prints happens here, never in a probe handler: a handler
 * only queues an irq_work (the deferral printk itself uses from NMI), and
 * the work runs in hard interrupt context on the same CPU, right after
 * the handler's context ends. The warning's work hands the printing to a
 * CPU that has not arrived by IPI (smp_call_function_single_async(): a
 * module cannot reach the kernel's NMI backtrace, see
 * Documentation/stopwatch.rst), which also dumps its stack; the fallback
 * work prints on a waiting CPU when that CPU does not answer. The panic
 * dump is a panic notifier. The Rust side (console.rs) decides what to say.
 */

static void sw_warning_fn(struct irq_work *work)
{
	stopwatch_console_warning(false);
}

static void sw_fallback_fn(struct irq_work *work)
{
	stopwatch_console_warning(true);
}

static void sw_note_fn(struct irq_work *work)
{
	stopwatch_console_note(raw_smp_processor_id());
}

/* One early warning at a time (once per stop_machine() instance). */
static struct irq_work sw_warning_work = IRQ_WORK_INIT_HARD(sw_warning_fn);
static struct irq_work sw_fallback_work = IRQ_WORK_INIT_HARD(sw_fallback_fn);
/* One note per CPU: each CPU's soft-lockup report is annotated there.
 * Set up by stopwatch_console_start(): on 6.12 a static initializer of a
 * module's per-CPU irq_work left `func` NULL (an Oops in irq_work_single()
 * at the first note). */
static DEFINE_PER_CPU(struct irq_work, sw_note_work);
/* One backtrace request per target CPU; smp_call_function_single_async()
 * refuses (-EBUSY) a csd whose previous request is still pending. */
static DEFINE_PER_CPU(call_single_data_t, sw_backtrace_csd);

/* Called from a probe handler: queueing is all it does (lockless, NMI-safe). */
notrace void stopwatch_queue_warning(void)
{
	irq_work_queue(&sw_warning_work);
}
NOKPROBE_SYMBOL(stopwatch_queue_warning);

notrace void stopwatch_queue_fallback(void)
{
	irq_work_queue(&sw_fallback_work);
}
NOKPROBE_SYMBOL(stopwatch_queue_fallback);

notrace void stopwatch_queue_note(void)
{
	irq_work_queue(this_cpu_ptr(&sw_note_work));
}
NOKPROBE_SYMBOL(stopwatch_queue_note);

/*
 * Where the IPI interrupted the CPU. x86's stack dump from an interrupt
 * prints the interrupted registers itself. arm64's unwinder (6.12 and
 * 7.3) follows the frame records only, so a function that has not saved
 * its return address in one (a leaf, or any function in its first
 * instructions) hides its caller: the hog spinning in
 * ktime_get_mono_fast_ns() shows as that function and then kthread().
 * The interrupted PC and link register name both, as arm64's show_regs()
 * prints them.
 */
static void sw_show_interrupted(void)
{
#ifdef CONFIG_ARM64
	struct pt_regs *regs = get_irq_regs();

	if (regs && !user_mode(regs)) {
		printk(KERN_WARNING "pc : %pS\n", (void *)instruction_pointer(regs));
		printk(KERN_WARNING "lr : %pS\n",
		       (void *)ptrauth_strip_kernel_insn_pac(procedure_link_pointer(regs)));
	}
#endif
}

/* Runs on the target CPU in hard interrupt context: `current` is the task
 * the IPI interrupted, and the stack dump shows its frames below the
 * interrupt's. The printk CPU lock keeps what one CPU prints here in one
 * piece, as the kernel's own NMI backtraces do. */
static void sw_backtrace_fn(void *unused)
{
	unsigned long flags;
	char comm[16];

	strscpy(comm, current->comm, sizeof(comm));
	printk_cpu_sync_get_irqsave(flags);
	if (stopwatch_console_backtrace(raw_smp_processor_id(), comm, task_pid_nr(current))) {
		sw_show_interrupted();
		dump_stack_lvl(KERN_WARNING);
	}
	printk_cpu_sync_put_irqrestore(flags);
}

/* Asks `cpu` for its backtrace; 0, -EBUSY (the previous request is still
 * pending: its interrupts have been off since), or -ENXIO (offline). */
int stopwatch_send_backtrace(u32 cpu)
{
	if (cpu >= nr_cpu_ids)
		return -EINVAL;
	return smp_call_function_single_async(cpu, per_cpu_ptr(&sw_backtrace_csd, cpu));
}

static int sw_panic_fn(struct notifier_block *nb, unsigned long action, void *msg)
{
	stopwatch_console_panic(raw_smp_processor_id(), in_nmi());
	return NOTIFY_DONE;
}

/* Ahead of notifiers of the default priority 0, some of which may not
 * return (hypervisor crash reporting). */
static struct notifier_block sw_panic_nb = {
	.notifier_call = sw_panic_fn,
	.priority = 100,
};

void stopwatch_console_start(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		*per_cpu_ptr(&sw_note_work, cpu) = (struct irq_work)IRQ_WORK_INIT_HARD(sw_note_fn);
		INIT_CSD(per_cpu_ptr(&sw_backtrace_csd, cpu), sw_backtrace_fn, NULL);
	}
	atomic_notifier_chain_register(&panic_notifier_list, &sw_panic_nb);
}

/*
 * Undoes stopwatch_console_start() once nothing can queue any more (the
 * probes are unregistered): on return no callback runs or is pending, so
 * the module's text and the recorder may go. An IPI to a CPU whose
 * interrupts stay off keeps this waiting: say so every 10 s.
 */
void stopwatch_console_stop(void)
{
	unsigned long start, next;
	unsigned int cpu;

	atomic_notifier_chain_unregister(&panic_notifier_list, &sw_panic_nb);
	/* The warning's work may send IPIs, the fallback's may not. */
	irq_work_sync(&sw_warning_work);
	irq_work_sync(&sw_fallback_work);
	for_each_possible_cpu(cpu) {
		call_single_data_t *csd = per_cpu_ptr(&sw_backtrace_csd, cpu);

		irq_work_sync(per_cpu_ptr(&sw_note_work, cpu));
		start = jiffies;
		next = start + 10 * HZ;
		while (smp_load_acquire(&csd->node.u_flags) & CSD_FLAG_LOCK) {
			if (time_after(jiffies, next)) {
				pr_warn("unloading: waiting for CPU %u to take its IPI (%u s so far)\n",
					cpu, jiffies_to_msecs(jiffies - start) / 1000);
				next += 10 * HZ;
			}
			msleep(1);
		}
	}
	/*
	 * An async csd is unlocked before its function runs (kernel/smp.c):
	 * the function may still be running. It runs in hard interrupt
	 * context, an RCU read-side section: a grace period waits for it.
	 */
	synchronize_rcu();
}

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
