/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel services of services.c, shared by every stopwatch module:
 * what C offers Rust (declared again in services.rs's `extern "C"` block),
 * what Rust implements for C, and the one struct both use. Keep the three
 * in step; struct sw_file's offsets are pinned here and in services/debugfs.rs
 * (file_field!), and the host test services_pin_the_same_file_layout
 * (rust/logic/abi.rs) compares the two.
 */
#ifndef STOPWATCH_SERVICES_H
#define STOPWATCH_SERVICES_H

#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/types.h>

#ifndef SW_ABI_FIELD
#define SW_ABI_FIELD(type, field, offset) static_assert(offsetof(type, field) == (offset))
#define SW_ABI_SIZE(type, size) static_assert(sizeof(type) == (size))
#endif

/* What services.c offers (for Rust, declared again in services.rs). */
struct dentry;
struct seq_file;
int stopwatch_debugfs_dir(const char *name, struct dentry **out);
int stopwatch_debugfs_file(struct dentry *dir, const char *name, const void *file);
void stopwatch_debugfs_remove(struct dentry *dir);
int stopwatch_seq_write(struct seq_file *m, const u8 *buf, size_t len);
void stopwatch_cond_resched(void);
void stopwatch_note_hold(u64 ns);
u64 stopwatch_longest_hold_ns(void);
u64 stopwatch_now_ns(void);
u64 stopwatch_printk_clock_ns(void);
unsigned long stopwatch_msecs_to_jiffies(u32 ms);
void stopwatch_udelay(u32 us);
u32 stopwatch_nr_cpu_ids(void);
bool stopwatch_cpu_online(u32 cpu);
bool stopwatch_cpu_active(u32 cpu);
u32 stopwatch_this_cpu(void);
u32 stopwatch_num_online_cpus(void);
const void *stopwatch_cpu_online_mask(void);
const void *stopwatch_cpu_active_mask(void);
u32 stopwatch_cpumask_weight(const void *mask);
const void *stopwatch_cpumask_of(u32 cpu);
void stopwatch_preempt_disable(void);
void stopwatch_preempt_enable(void);
void stopwatch_cpu_relax(void);
void stopwatch_synchronize_rcu(void);

/*
 * One debugfs file, owned by Rust (services/debugfs.rs `SwFile`, same layout): the
 * data it shows and its Rust handlers, opaque here. `show` and `write` are
 * NULL for a file without that side. C never calls through them (a
 * Rust-ABI pointer called from C would also defeat kCFI): it calls the two
 * Rust functions below directly, and they dispatch.
 */
struct sw_file {
	const void *data;
	const void *spec;
	const void *show;
	const void *write;
	const void *stream;
};

SW_ABI_FIELD(struct sw_file, data, 0);
SW_ABI_FIELD(struct sw_file, spec, 8);
SW_ABI_FIELD(struct sw_file, show, 16);
SW_ABI_FIELD(struct sw_file, write, 24);
SW_ABI_FIELD(struct sw_file, stream, 32);
SW_ABI_SIZE(struct sw_file, 40);

/* Implemented in Rust (services/debugfs.rs). */
int stopwatch_file_show(struct seq_file *m, const struct sw_file *file);
int stopwatch_file_write(const struct sw_file *file, const u8 *buf, size_t len);
void *stopwatch_stream_open(const struct sw_file *file);
bool stopwatch_stream_seek(void *stream, loff_t pos);
bool stopwatch_stream_advance(void *stream);
int stopwatch_stream_show(struct seq_file *m, void *stream);
void stopwatch_stream_release(void *stream);

#endif
