/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C seam of stopwatch.ko: implemented in stopwatch_seam.c, declared
 * for Rust in seam.rs's one `extern "C"` block. Keep the three in step.
 * (The services shared with the samples are declared in services.rs.)
 */
#ifndef STOPWATCH_SEAM_H
#define STOPWATCH_SEAM_H

#include <linux/types.h>

struct sw_hit;
struct sw_multi_stop_view;
struct sw_params;

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

/* Implemented in Rust (probes.rs); called from probe context. */
void stopwatch_probe_hit(u32 index, struct sw_hit *hit);
int stopwatch_touch_hit(unsigned long index, u64 caller, u64 jiffies, const void *live);
int stopwatch_spin_hit(unsigned long index, u64 mask, u64 jiffies, const void *live);
/* Implemented in Rust (console.rs): the irq_works, the backtrace IPI and
 * the panic notifier. */
void stopwatch_console_warning(bool fallback);
void stopwatch_console_note(u32 cpu);
/* `comm`: 16 bytes, NUL-terminated. */
bool stopwatch_console_backtrace(u32 cpu, const char *comm, u32 pid);
void stopwatch_console_panic(u32 cpu, bool nmi);
/* Implemented in Rust (hotplug.rs): CPU `cpu` is coming up. */
void stopwatch_cpu_prepare(u32 cpu);

#endif
