/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C seam of stopwatch.ko: implemented in stopwatch_seam.c, declared
 * for Rust in seam.rs's one `extern "C"` block. Keep the three in step.
 * (The services shared with the samples are declared in services.rs.)
 */
#ifndef STOPWATCH_SEAM_H
#define STOPWATCH_SEAM_H

#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/types.h>

/*
 * What C and Rust share. Every offset, size and value below is stated
 * once more in rust/logic/abi.rs and pinned on the Rust types there
 * (pin_layout!); the host test c_header_states_the_same_layouts reads
 * these lines and compares them with abi.rs. Change both or neither.
 */
#ifndef SW_ABI_FIELD
#define SW_ABI_FIELD(type, field, offset) static_assert(offsetof(type, field) == (offset))
#define SW_ABI_SIZE(type, size) static_assert(sizeof(type) == (size))
#endif
#define SW_ABI_CONST(name, value) static_assert((name) == (value))

/* How a probe is placed (abi::ProbeKind). */
enum sw_probe_kind {
	SW_PROBE_ENTRY = 0,
	SW_PROBE_SPIN = 1,
	SW_PROBE_PAIRED = 2,
	SW_PROBE_TOUCH = 3,
};

/* Probe slots: one counter per slot in every CPU's live state. */
#define SW_MAX_PROBES 16
/* Per-call scratch a kretprobe carries from entry to return. */
#define SW_INSTANCE_BYTES 16
/* TASK_COMM_LEN, which stopwatch_seam.c asserts. */
#define SW_COMM_LEN 16

SW_ABI_CONST(SW_PROBE_ENTRY, 0);
SW_ABI_CONST(SW_PROBE_SPIN, 1);
SW_ABI_CONST(SW_PROBE_PAIRED, 2);
SW_ABI_CONST(SW_PROBE_TOUCH, 3);
SW_ABI_CONST(SW_MAX_PROBES, 16);
SW_ABI_CONST(SW_INSTANCE_BYTES, 16);
SW_ABI_CONST(SW_COMM_LEN, 16);

/* What a probe saw (seam::Hit). */
struct sw_hit {
	u64 ts_ns;
	u64 jiffies;
	u64 args[3];
	u64 caller;
	s64 retval;
	/* Per-call scratch of a kretprobe (SW_INSTANCE_BYTES), or NULL. */
	u64 instance;
	/* Base of the current task's stack (task_stack_page()); paired
	 * probes' entries only, else 0. */
	u64 stack;
	u32 cpu;
	u32 pid;
	/* 0 at function entry, 1 at its return. */
	u32 phase;
	u32 pad;
};

SW_ABI_FIELD(struct sw_hit, ts_ns, 0);
SW_ABI_FIELD(struct sw_hit, jiffies, 8);
SW_ABI_FIELD(struct sw_hit, args, 16);
SW_ABI_FIELD(struct sw_hit, caller, 40);
SW_ABI_FIELD(struct sw_hit, retval, 48);
SW_ABI_FIELD(struct sw_hit, instance, 56);
SW_ABI_FIELD(struct sw_hit, stack, 64);
SW_ABI_FIELD(struct sw_hit, cpu, 72);
SW_ABI_FIELD(struct sw_hit, pid, 76);
SW_ABI_FIELD(struct sw_hit, phase, 80);
SW_ABI_FIELD(struct sw_hit, pad, 84);
SW_ABI_SIZE(struct sw_hit, 88);

/* The module parameters as given at load (seam::Params). */
struct sw_params {
	u64 buffer_size;
	u32 warn_percent;
	u32 test_missing_probe;
	u32 console;
	u32 test_layout_shift;
	u32 test_fill;
};

SW_ABI_FIELD(struct sw_params, buffer_size, 0);
SW_ABI_FIELD(struct sw_params, warn_percent, 8);
SW_ABI_FIELD(struct sw_params, test_missing_probe, 12);
SW_ABI_FIELD(struct sw_params, console, 16);
SW_ABI_FIELD(struct sw_params, test_layout_shift, 20);
SW_ABI_FIELD(struct sw_params, test_fill, 24);
SW_ABI_SIZE(struct sw_params, 32);

/* A copy of a struct multi_stop_data (seam::MultiStop). */
struct sw_multi_stop_view {
	u64 fn;
	u64 data;
	u64 active_cpus;
	u32 num_threads;
	u32 state;
	s32 thread_ack;
	u32 pad;
};

SW_ABI_FIELD(struct sw_multi_stop_view, fn, 0);
SW_ABI_FIELD(struct sw_multi_stop_view, data, 8);
SW_ABI_FIELD(struct sw_multi_stop_view, active_cpus, 16);
SW_ABI_FIELD(struct sw_multi_stop_view, num_threads, 24);
SW_ABI_FIELD(struct sw_multi_stop_view, state, 28);
SW_ABI_FIELD(struct sw_multi_stop_view, thread_ack, 32);
SW_ABI_FIELD(struct sw_multi_stop_view, pad, 36);
SW_ABI_SIZE(struct sw_multi_stop_view, 40);

void stopwatch_params(struct sw_params *out);
int stopwatch_probe_register(u32 index, const char *symbol, u32 kind);
void stopwatch_set_cpu_live(u32 cpu, const void *live);
u32 stopwatch_current_pid(void);
void stopwatch_clear_cpu_live(void);
void stopwatch_probe_unregister(u32 index);
u64 stopwatch_probe_nmissed(u32 index);
void stopwatch_read_multi_stop(const void *msdata, struct sw_multi_stop_view *out);
u32 stopwatch_read_multi_stop_state(const void *msdata);
u64 stopwatch_thread_size(void);
void stopwatch_current_comm(char *comm);
int stopwatch_format_symbol(char *buf, size_t len, u64 addr);
u32 stopwatch_taint_softlockup(void);
void stopwatch_queue_warning(void);
void stopwatch_queue_note(void);
void stopwatch_queue_fallback(void);
int stopwatch_send_backtrace(u32 cpu);
void stopwatch_console_start(void);
void stopwatch_console_stop(void);
int stopwatch_hotplug_start(void);
void stopwatch_hotplug_stop(void);

/*
 * Implemented in Rust, all in rust/entries.rs (the module's only entry
 * points from C). The hits, called from probe context:
 */
void stopwatch_probe_hit(u32 index, struct sw_hit *hit);
int stopwatch_touch_hit(unsigned long index, u64 caller, u64 jiffies, const void *live);
int stopwatch_spin_hit(unsigned long index, u64 mask, u64 jiffies, const void *live);
/* The console: the irq_works, the backtrace IPI and the panic notifier. */
void stopwatch_console_warning(bool fallback);
void stopwatch_console_note(u32 cpu);
/* `comm`: 16 bytes, NUL-terminated. */
bool stopwatch_console_backtrace(u32 cpu, const char *comm, u32 pid);
void stopwatch_console_panic(u32 cpu, bool nmi);
/* Hotplug: CPU `cpu` is coming up. */
void stopwatch_cpu_prepare(u32 cpu);

#endif
