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
int stopwatch_probe_register(u32 index, const char *symbol, bool paired);
void stopwatch_probe_unregister(u32 index);
u64 stopwatch_probe_nmissed(u32 index);
void stopwatch_read_multi_stop(const void *msdata, struct sw_multi_stop_view *out);
u32 stopwatch_read_multi_stop_state(const void *msdata);
u64 stopwatch_thread_size(void);
void stopwatch_current_comm(char *comm);
int stopwatch_format_symbol(char *buf, size_t len, u64 addr);

/* Implemented in Rust (probes.rs); called from probe context. */
void stopwatch_probe_hit(u32 index, struct sw_hit *hit);

#endif
