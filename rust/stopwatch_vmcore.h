/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stopwatch's vmcore descriptor, the C view: where a post-mortem reader
 * (drgn, a crash extension) finds stopwatch's rings in a dead machine's
 * memory without Rust types. The module keeps one, the symbol
 * `stopwatch_vmcore`; the definition and its narrative are in
 * rust/logic/vmcore.rs, the reader's side in
 * Documentation/record-format.rst ("After a crash").
 *
 * Addresses are kernel virtual addresses (0: none). Offsets and strides
 * of the structures they point to are in the descriptor itself, written
 * at build time: read fields where it says, assume no layout.
 *
 * Both sides pin the layout: the SW_VMCORE_FIELD lines below are
 * static_assert()s where C compiles this header (stopwatch_seam.c), and
 * logic/vmcore.rs's host test reads the same lines and compares them
 * with its own offsets. Any change bumps `version`.
 */
#ifndef STOPWATCH_VMCORE_H
#define STOPWATCH_VMCORE_H

#include <linux/types.h>

#define STOPWATCH_VMCORE_MAGIC "stopwatch-vmcore" /* 16 bytes, no NUL */
#define STOPWATCH_VMCORE_VERSION 1

struct stopwatch_vmcore_ring {
	__u64 ring;	/* the CPU's ring: its head and base; 0: no ring */
	__u64 slots;	/* its slot 0 */
};

struct stopwatch_vmcore {
	char magic[16];
	__u64 self_addr;	/* this struct's address; 0: not published */
	__u32 version;		/* STOPWATCH_VMCORE_VERSION */
	__u32 record_format;	/* the records' format version */
	__u32 nr_cpus;		/* entries of ring_table */
	__u32 ring_records;	/* slots per ring */
	__u64 ring_table;	/* struct stopwatch_vmcore_ring[nr_cpus] */
	__u32 ring_head_off;	/* u64: write number of the next record */
	__u32 ring_base_off;	/* u64: head at the last clear */
	__u32 slot_bytes;
	__u32 slot_seq_off;	/* u64: 2n+1 while write n fills it, 2n+2 after */
	__u32 slot_words_off;	/* the record's four u64 words */
	__u32 comm_slot_bytes;
	__u64 comm_slots;	/* pid -> name cache, direct-mapped by pid */
	__u32 comm_count;
	__u32 comm_seq_off;	/* u32: odd while written */
	__u32 comm_pid_off;	/* u32 */
	__u32 comm_name_off;	/* char[16] */
	__u64 live;		/* CPU 0's live state; CPU n's n*live_stride on */
	__u32 live_stride;
	__u32 live_interval_off;	/* u64 ns: watchdog check interval */
	__u64 open;		/* open-instance table */
	__u32 open_count;
	__u32 open_stride;
	__u32 open_id_off;	/* u32: 0 free, 0xffffffff being filled */
	__u32 pad;
	__u64 last_stop;	/* address of a u32: the last instance id */
	__u64 warn_percent;	/* address of a u32 */
	__u64 online_mask;	/* cpu_online_mask's bits */
	__u64 load_mono_ns;	/* ktime_get_mono_fast_ns() at load */
	__u64 load_printk_ns;	/* local_clock() right after */
	__u64 panic_mono_ns;	/* the same two at the panic notifier */
	__u64 panic_printk_ns;
	__u32 panic_cpu;
	__u32 panicked;		/* 1 once the panic notifier ran */
	__u64 generation;	/* ring sets made before this one */
	__u64 active_mask;	/* cpu_active_mask's bits (a panic takes the
				 * stopped CPUs out of online_mask only) */
};

#define SW_VMCORE_FIELD(type, field, offset) \
	static_assert(offsetof(struct stopwatch_vmcore, field) == (offset))

SW_VMCORE_FIELD(char, magic, 0);
SW_VMCORE_FIELD(__u64, self_addr, 16);
SW_VMCORE_FIELD(__u32, version, 24);
SW_VMCORE_FIELD(__u32, record_format, 28);
SW_VMCORE_FIELD(__u32, nr_cpus, 32);
SW_VMCORE_FIELD(__u32, ring_records, 36);
SW_VMCORE_FIELD(__u64, ring_table, 40);
SW_VMCORE_FIELD(__u32, ring_head_off, 48);
SW_VMCORE_FIELD(__u32, ring_base_off, 52);
SW_VMCORE_FIELD(__u32, slot_bytes, 56);
SW_VMCORE_FIELD(__u32, slot_seq_off, 60);
SW_VMCORE_FIELD(__u32, slot_words_off, 64);
SW_VMCORE_FIELD(__u32, comm_slot_bytes, 68);
SW_VMCORE_FIELD(__u64, comm_slots, 72);
SW_VMCORE_FIELD(__u32, comm_count, 80);
SW_VMCORE_FIELD(__u32, comm_seq_off, 84);
SW_VMCORE_FIELD(__u32, comm_pid_off, 88);
SW_VMCORE_FIELD(__u32, comm_name_off, 92);
SW_VMCORE_FIELD(__u64, live, 96);
SW_VMCORE_FIELD(__u32, live_stride, 104);
SW_VMCORE_FIELD(__u32, live_interval_off, 108);
SW_VMCORE_FIELD(__u64, open, 112);
SW_VMCORE_FIELD(__u32, open_count, 120);
SW_VMCORE_FIELD(__u32, open_stride, 124);
SW_VMCORE_FIELD(__u32, open_id_off, 128);
SW_VMCORE_FIELD(__u32, pad, 132);
SW_VMCORE_FIELD(__u64, last_stop, 136);
SW_VMCORE_FIELD(__u64, warn_percent, 144);
SW_VMCORE_FIELD(__u64, online_mask, 152);
SW_VMCORE_FIELD(__u64, load_mono_ns, 160);
SW_VMCORE_FIELD(__u64, load_printk_ns, 168);
SW_VMCORE_FIELD(__u64, panic_mono_ns, 176);
SW_VMCORE_FIELD(__u64, panic_printk_ns, 184);
SW_VMCORE_FIELD(__u32, panic_cpu, 192);
SW_VMCORE_FIELD(__u32, panicked, 196);
SW_VMCORE_FIELD(__u64, generation, 200);
SW_VMCORE_FIELD(__u64, active_mask, 208);
static_assert(sizeof(struct stopwatch_vmcore) == 216);
static_assert(sizeof(struct stopwatch_vmcore_ring) == 16);

#endif
