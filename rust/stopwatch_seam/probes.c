// SPDX-License-Identifier: GPL-2.0
/*
 * stopwatch's probes: registration, and the handlers that turn a hit
 * into what Rust reads (probes.rs).
 * #included by stopwatch_seam.c (one compilation unit: services.c's
 * static helpers and the module parameters are visible here).
 */

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
		ret = spin ? sw_register_spin_kprobe(&p->krp.kp) : sw_register_kprobe(&p->krp.kp);
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
