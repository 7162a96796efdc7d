/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C seam of stopwatch.ko: implemented in stopwatch_seam.c, declared
 * for Rust in seam.rs's one `extern "C"` block. Keep the three in step.
 */
#ifndef STOPWATCH_SEAM_H
#define STOPWATCH_SEAM_H

#include <linux/types.h>

struct sw_hit;
struct sw_multi_stop_view;

int stopwatch_probe_register(u32 index, const char *symbol, bool paired);
void stopwatch_probe_unregister(u32 index);
u64 stopwatch_probe_nmissed(u32 index);
void stopwatch_read_multi_stop(const void *msdata, struct sw_multi_stop_view *out);
u32 stopwatch_read_multi_stop_state(const void *msdata);
u32 stopwatch_cpumask_weight(const void *mask);
bool stopwatch_cpu_online(u32 cpu);
u32 stopwatch_num_online_cpus(void);
u64 stopwatch_cpu_online_mask(void);
u64 stopwatch_now_ns(void);
u64 stopwatch_thread_size(void);
void stopwatch_current_comm(char *comm);
u64 stopwatch_printk_clock_ns(void);
int stopwatch_format_symbol(char *buf, size_t len, u64 addr);

/* Implemented in Rust (probes.rs); called from probe context. */
void stopwatch_probe_hit(u32 index, struct sw_hit *hit);

#endif
