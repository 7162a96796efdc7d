// SPDX-License-Identifier: GPL-2.0
/*
 * What stopwatch prints, and when: irq_works, the backtrace IPI and
 * the panic notifier (console.rs decides what to say).
 * #included by stopwatch_seam.c (one compilation unit: services.c's
 * static helpers and the module parameters are visible here).
 */

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
