// SPDX-License-Identifier: GPL-2.0
/*
 * What the probes read of the kernel: struct multi_stop_data through a
 * fault-safe copy, symbols, task names, THREAD_SIZE, TAINT_SOFTLOCKUP.
 * #included by stopwatch_seam.c (one compilation unit: services.c's
 * static helpers and the module parameters are visible here).
 */

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
