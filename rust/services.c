// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel services every stopwatch module uses, in C because the Rust
 * bindings of the kernels stopwatch supports do not all offer them: 6.12's
 * `kernel` crate has no debugfs, CPU, cpumask, RCU or clock abstractions,
 * 7.3's has some of each, and a macro like preempt_disable() or udelay()
 * has no binding at all. Keeping them here gives every kernel one code
 * path. Each module's own C seam #includes this file (one copy per .ko,
 * nothing exported); services.rs declares it for Rust in one `extern "C"`
 * block and wraps it in safe functions. Keep the two in step.
 *
 * Functions a probe handler may call are notrace and NOKPROBE: a probe
 * hit inside them would be a nested, missed hit.
 */

#include <linux/compiler.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kprobes.h>
#ifdef CONFIG_ARM64
#include <asm/insn.h>
#endif
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched/clock.h>
#include <linux/seq_file.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "services.h"

/* --- debugfs files ------------------------------------------------------- */

/* Longest write any stopwatch file accepts; longer ones are EINVAL. */
#define SW_MAX_WRITE 64


static int sw_file_show(struct seq_file *m, void *unused)
{
	const struct sw_file *f = m->private;
	int ret = stopwatch_file_show(m, f);

	/* Out of room: let seq_read() retry with a bigger buffer. */
	if (ret && seq_has_overflowed(m))
		return 0;
	return ret;
}

static int sw_file_open(struct inode *inode, struct file *file)
{
	return single_open(file, sw_file_show, inode->i_private);
}

static ssize_t sw_file_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	const struct sw_file *f = file_inode(file)->i_private;
	u8 buf[SW_MAX_WRITE];
	int ret;

	if (!f->write)
		return -EPERM;
	if (len == 0 || len > sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	ret = stopwatch_file_write(f, buf, len);
	return ret ? ret : (ssize_t)len;
}

/* Files with a show handler (and maybe a write handler). */
static const struct file_operations sw_file_fops = {
	.owner = THIS_MODULE,
	.open = sw_file_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.write = sw_file_write,
	.release = single_release,
};

/*
 * Readers run in process context on a CPU that a stopper may need; on a
 * kernel without forced preemption they keep it until they yield. They
 * yield often (stream files between items, the analysis behind `stops`
 * whenever they have run for HOLD_NS, services.rs) and note how long they ran between two yields: the
 * longest such stretch since load is in `stats`, so "reading never holds
 * a CPU for long" is a number anyone can check.
 */
static u64 sw_longest_hold_ns;

void stopwatch_note_hold(u64 ns)
{
	u64 old = READ_ONCE(sw_longest_hold_ns);

	while (ns > old && !try_cmpxchg64(&sw_longest_hold_ns, &old, ns))
		;
}

u64 stopwatch_longest_hold_ns(void)
{
	return READ_ONCE(sw_longest_hold_ns);
}

/*
 * Stream files: read item by item through a seq_file iterator, the state
 * (Rust's, opaque here) made at open and kept until release. One read()
 * shows as many items as fit; an item too big for the buffer is shown
 * again, alone, into a bigger one; nothing is computed twice, memory does
 * not grow with the output, and the reader yields the CPU between items.
 */
struct sw_stream {
	/* Rust's state, from stopwatch_stream_open(). */
	void *state;
	/* When the reader's current stretch on the CPU began. */
	u64 since_ns;
};

static void *sw_stream_start(struct seq_file *m, loff_t *pos)
{
	struct sw_stream *s = m->private;

	s->since_ns = ktime_get_mono_fast_ns();
	return stopwatch_stream_seek(s->state, *pos) ? s : NULL;
}

static void *sw_stream_next(struct seq_file *m, void *v, loff_t *pos)
{
	struct sw_stream *s = m->private;

	++*pos;
	stopwatch_note_hold(ktime_get_mono_fast_ns() - s->since_ns);
	cond_resched();
	s->since_ns = ktime_get_mono_fast_ns();
	return stopwatch_stream_advance(s->state) ? s : NULL;
}

static void sw_stream_stop(struct seq_file *m, void *v)
{
	struct sw_stream *s = m->private;

	stopwatch_note_hold(ktime_get_mono_fast_ns() - s->since_ns);
}

static int sw_stream_show(struct seq_file *m, void *v)
{
	int ret = stopwatch_stream_show(m, ((struct sw_stream *)v)->state);

	/* Out of room: seq_read() shows this item again, into a bigger buffer. */
	if (ret && seq_has_overflowed(m))
		return 0;
	return ret;
}

static const struct seq_operations sw_stream_ops = {
	.start = sw_stream_start,
	.next = sw_stream_next,
	.stop = sw_stream_stop,
	.show = sw_stream_show,
};

static int sw_stream_open(struct inode *inode, struct file *file)
{
	struct sw_stream *s;
	void *state;

	state = stopwatch_stream_open(inode->i_private);
	if (!state)
		return -ENOMEM;
	s = __seq_open_private(file, &sw_stream_ops, sizeof(*s));
	if (!s) {
		stopwatch_stream_release(state);
		return -ENOMEM;
	}
	s->state = state;
	return 0;
}

static int sw_stream_release(struct inode *inode, struct file *file)
{
	struct sw_stream *s = ((struct seq_file *)file->private_data)->private;

	stopwatch_stream_release(s->state);
	return seq_release_private(inode, file);
}

static const struct file_operations sw_stream_fops = {
	.owner = THIS_MODULE,
	.open = sw_stream_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = sw_stream_release,
};

/* Write-only files: no read at all, even for root, who ignores the mode. */
static const struct file_operations sw_file_wo_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.write = sw_file_write,
};

/* Creates /sys/kernel/debug/NAME; 0 or a negative errno. */
int stopwatch_debugfs_dir(const char *name, struct dentry **out)
{
	struct dentry *d = debugfs_create_dir(name, NULL);

	if (IS_ERR(d))
		return PTR_ERR(d);
	*out = d;
	return 0;
}

/*
 * Creates file NAME in DIR showing FILE, which must stay valid until
 * stopwatch_debugfs_remove(DIR) returns. The mode follows the handlers:
 * 0400 read-only, 0200 write-only, 0600 both.
 */
int stopwatch_debugfs_file(struct dentry *dir, const char *name, const void *data)
{
	const struct sw_file *file = data;
	umode_t mode = (file->show || file->stream ? 0400 : 0) | (file->write ? 0200 : 0);
	const struct file_operations *fops = file->stream ? &sw_stream_fops :
					     file->show   ? &sw_file_fops :
							    &sw_file_wo_fops;
	struct dentry *d;

	d = debugfs_create_file(name, mode, dir, (void *)file, fops);
	return IS_ERR(d) ? PTR_ERR(d) : 0;
}

/*
 * Removes DIR and its files. On return no handler of theirs runs or will
 * run (debugfs waits for the ones in progress), so their data may go.
 */
void stopwatch_debugfs_remove(struct dentry *dir)
{
	debugfs_remove(dir);
}

/* Lets the scheduler run something else if it wants to (process context). */
void stopwatch_cond_resched(void)
{
	cond_resched();
}

/* Appends to a file being shown; -1 once the buffer is full. */
int stopwatch_seq_write(struct seq_file *m, const u8 *buf, size_t len)
{
	return seq_write(m, buf, len);
}

/* --- kprobes ------------------------------------------------------------- */

#ifdef CONFIG_ARM64
/*
 * arm64's kprobes single-step only a few hints, and YIELD, which
 * cpu_relax() is, is not one of them: a probe on the generic
 * stop_machine_yield() (notrace, so no ftrace NOPs come first: YIELD; RET)
 * is refused with -EINVAL. Such a probe goes on the second instruction:
 * a hint changes no register, so the handler sees the same arguments and
 * link register, on every call. The probe is registered disabled at +4,
 * so that no handler runs until the instruction before it is known to be
 * YIELD (only a registered probe's address is known), then enabled; else
 * it is removed and the error at +0 stands.
 */
static int __maybe_unused sw_register_after_yield(struct kprobe *kp, int error_at_entry)
{
	int ret;

	kp->addr = NULL;
	kp->offset = AARCH64_INSN_SIZE;
	kp->flags = KPROBE_FLAG_DISABLED;
	if (register_kprobe(kp))
		return error_at_entry;
	if (le32_to_cpu(*(__le32 *)((unsigned long)kp->addr - AARCH64_INSN_SIZE)) !=
	    aarch64_insn_gen_hint(AARCH64_INSN_HINT_YIELD)) {
		unregister_kprobe(kp);
		return error_at_entry;
	}
	ret = enable_kprobe(kp);
	/*
	 * With kprobes disarmed (debugfs kprobes/enabled = 0), enable_kprobe()
	 * succeeds but leaves the probe disabled, and re-arming later would
	 * skip it: refuse, as the other probes would be armed without it.
	 */
	if (!ret && kprobe_disabled(kp)) {
		pr_err("%s: kprobes are disarmed (kprobes/enabled in debugfs)\n", kp->symbol_name);
		ret = -EBUSY;
	}
	if (ret)
		unregister_kprobe(kp);
	return ret;
}
#endif

/*
 * register_kprobe() on a function's entry, where the architecture allows,
 * else just after it (see above): stopwatch's kprobes, and the bench's
 * bare probe where stopwatch has its spin probe, go through it.
 */
static int __maybe_unused sw_register_kprobe(struct kprobe *kp)
{
	int ret = register_kprobe(kp);

#ifdef CONFIG_ARM64
	if (ret == -EINVAL)
		ret = sw_register_after_yield(kp, ret);
#endif
	return ret;
}

#ifdef CONFIG_X86_64
/*
 * The offset from `p` (the address a probe on stop_machine_yield()'s entry
 * gets: after the ENDBR64 on an IBT kernel) of the instruction that leaves
 * the generic stop_machine_yield(), which is cpu_relax(): [push %rbp; mov
 * %rsp,%rbp] pause [pop %rbp] then ret or a jmp (to the return thunk); or
 * -1 for any other code. Nothing before that instruction changes a
 * register the handler reads (the argument, %rdi).
 */
static int __maybe_unused sw_yield_exit_offset(const u8 *p)
{
	static const u8 frame[] = { 0x55, 0x48, 0x89, 0xe5 };
	int at = 0;
	bool framed = !memcmp(p, frame, sizeof(frame));

	if (framed)
		at += sizeof(frame);
	if (p[at] != 0xf3 || p[at + 1] != 0x90)
		return -1;
	at += 2;
	if (framed && p[at++] != 0x5d)
		return -1;
	return p[at] == 0xc3 || p[at] == 0xe9 ? at : -1;
}
#endif

/*
 * The spin probe, on stop_machine_yield(), called once per spin of every
 * CPU in multi_cpu_stop(): stopwatch's, and the bench's bare one where
 * stopwatch has it. A kprobe the core does not jump-optimise traps once
 * for its handler, then, for an instruction it executes out of line, once
 * more after it (on a preemptible kernel x86 never boosts); one it
 * emulates (ret, jmp, call, jcc) costs no second trap, and the post
 * handler runs in the first. So on x86 the probe goes on the instruction
 * that leaves stop_machine_yield() (sw_yield_exit_offset()): one trap a
 * spin instead of two, the handler still with interrupts off. It is
 * placed by address once a probe registered disabled on the entry has
 * said where that is (and the entry's original bytes can be read: a
 * disabled probe is not armed). Any other code, or an error, keeps it on
 * the entry; on arm64 it goes after the YIELD (sw_register_after_yield()),
 * whose RET arm64 simulates.
 */
static int __maybe_unused sw_register_spin_kprobe(struct kprobe *kp)
{
#ifdef CONFIG_X86_64
	const char *symbol = kp->symbol_name;
	unsigned int offset = kp->offset;
	u32 flags = kp->flags;
	int exit = -1;
	u8 *entry;

	kp->flags = flags | KPROBE_FLAG_DISABLED;
	if (!register_kprobe(kp)) {
		entry = (u8 *)kp->addr;
		exit = sw_yield_exit_offset(entry);
		unregister_kprobe(kp);
		if (exit > 0) {
			kp->addr = (kprobe_opcode_t *)(entry + exit);
			kp->symbol_name = NULL;
			kp->offset = 0;
			kp->flags = flags;
			if (!register_kprobe(kp))
				return 0;
		}
	}
	/* On the entry, as the caller asked. */
	kp->addr = NULL;
	kp->symbol_name = symbol;
	kp->offset = offset;
	kp->flags = flags;
#endif
	return sw_register_kprobe(kp);
}

/* --- time ---------------------------------------------------------------- */

/* ktime_get_mono_fast_ns(): the NMI-safe clock of every record. */
notrace u64 stopwatch_now_ns(void)
{
	return ktime_get_mono_fast_ns();
}
NOKPROBE_SYMBOL(stopwatch_now_ns);

/* local_clock(): the clock of printk's timestamps, to map records onto
 * dmesg lines. */
u64 stopwatch_printk_clock_ns(void)
{
	return local_clock();
}

unsigned long stopwatch_msecs_to_jiffies(u32 ms)
{
	return msecs_to_jiffies(ms);
}

/* Busy-waits `us` microseconds. */
void stopwatch_udelay(u32 us)
{
	udelay(us);
}

/* --- CPUs ---------------------------------------------------------------- */

u32 stopwatch_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

notrace bool stopwatch_cpu_online(u32 cpu)
{
	return cpu < nr_cpu_ids && cpu_online(cpu);
}
NOKPROBE_SYMBOL(stopwatch_cpu_online);

/* Address of cpu_active_mask (for the vmcore descriptor). */
const void *stopwatch_cpu_active_mask(void)
{
	return cpu_active_mask;
}

/* Whether `cpu` is active (schedulable). Stopping the other CPUs in a
 * panic takes them offline but leaves them active. */
bool stopwatch_cpu_active(u32 cpu)
{
	return cpu < nr_cpu_ids && cpu_active(cpu);
}

/* The CPU the caller runs on (it must not migrate: interrupt context or
 * preemption off). */
notrace u32 stopwatch_this_cpu(void)
{
	return raw_smp_processor_id();
}
NOKPROBE_SYMBOL(stopwatch_this_cpu);

notrace u32 stopwatch_num_online_cpus(void)
{
	return num_online_cpus();
}
NOKPROBE_SYMBOL(stopwatch_num_online_cpus);

/* Address of cpu_online_mask: what stop_machine_yield() gets when
 * stop_machine() was called with cpus == NULL. */
notrace const void *stopwatch_cpu_online_mask(void)
{
	return cpu_online_mask;
}
NOKPROBE_SYMBOL(stopwatch_cpu_online_mask);

notrace u32 stopwatch_cpumask_weight(const void *mask)
{
	return mask ? cpumask_weight((const struct cpumask *)mask) : 0;
}
NOKPROBE_SYMBOL(stopwatch_cpumask_weight);

/* The static mask of CPU `cpu` alone (NULL if there is no such CPU). */
const void *stopwatch_cpumask_of(u32 cpu)
{
	return cpu < nr_cpu_ids ? cpumask_of(cpu) : NULL;
}

/* --- scheduling ---------------------------------------------------------- */

void stopwatch_preempt_disable(void)
{
	preempt_disable();
}

void stopwatch_preempt_enable(void)
{
	preempt_enable();
}

void stopwatch_cpu_relax(void)
{
	cpu_relax();
}

/* Waits until every CPU has left any preempt-disabled section (probe
 * handlers run in one) that began before the call. */
void stopwatch_synchronize_rcu(void)
{
	synchronize_rcu();
}
