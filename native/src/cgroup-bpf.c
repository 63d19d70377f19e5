/*
 * Berth runtime: the device controller of cgroup2, which is not a file but an eBPF program
 * of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup (kernel
 * Documentation/admin-guide/cgroup-v2.rst, "Device controller").
 *
 * Hand-written rather than through libbpf: the program is a straight list of compares
 * generated from linux.resources.devices (as runc's devicefilter and crun's ebpf.c do),
 * and libbpf would bring an ELF loader and a dependency for a dozen instructions.
 *
 * The program sees struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type);
 * u32 major; u32 minor; }.  The rules are checked last first and the first match decides,
 * which is "the last matching rule wins"; nothing matching allows, as a new v1 cgroup
 * starts from its parent's allow-all, so both controllers agree on a hybrid host.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "utils.h"

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LDX_W(dst, src, off) INSN (BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU32_K(op, dst, imm) INSN (BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV64_REG(dst, src) INSN (BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_K(dst, imm) INSN (BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JNE_K(dst, imm) INSN (BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm) /* off fixed later */
#define EXIT() INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Registers: r1 the context; r2 type; r3 access; r4 major; r5 minor; r6 scratch.  */
static const struct bpf_insn prologue[] = {
  LDX_W (2, 1, 0), ALU32_K (BPF_AND, 2, 0xffff), LDX_W (3, 1, 0), ALU32_K (BPF_RSH, 3, 16),
  LDX_W (4, 1, 4), LDX_W (5, 1, 8),
};

static int
access_mask (const char *access)
{
  int mask = 0;

  for (; *access; access++)
    mask |= *access == 'm' ? BPF_DEVCG_ACC_MKNOD : *access == 'r' ? BPF_DEVCG_ACC_READ : BPF_DEVCG_ACC_WRITE;
  return mask;
}

/* One rule: every compare jumps past the block when it fails.  At most 8 instructions.  */
static size_t
emit_rule (const struct berth_cgroup_device_rule *d, struct bpf_insn *out)
{
  int mask = access_mask (d->access);
  size_t n = 0, i;

  if (d->type != 'a')
    out[n++] = JNE_K (2, d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  if (mask != (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE))
    {
      /* Every access asked for must be in the rule: (access & ~mask) == 0.  */
      out[n++] = MOV64_REG (6, 3);
      out[n++] = ALU32_K (BPF_AND, 6, ~mask);
      out[n++] = JNE_K (6, 0);
    }
  if (d->major >= 0)
    out[n++] = JNE_K (4, (int32_t) d->major);
  if (d->minor >= 0)
    out[n++] = JNE_K (5, (int32_t) d->minor);
  out[n++] = MOV64_K (0, d->allow ? 1 : 0);
  out[n++] = EXIT ();
  for (i = 0; i < n; i++)
    if (out[i].code == (BPF_JMP | BPF_JNE | BPF_K))
      out[i].off = (int16_t) (n - i - 1);
  return n;
}

int
berth_cgroup_bpf_build (const struct berth_cgroup_device_rule *rules, size_t n_rules, void **insns, size_t *n,
                        berth_error_t *err)
{
  size_t max = BERTH_ARRAY_SIZE (prologue) + 8 * n_rules + 2, k = 0, i;
  struct bpf_insn *out;

  if (n_rules > 4096)
    return berth_make_error_op (err, E2BIG, "bpf", "%zu device rules: at most 4096", n_rules);
  out = xmalloc0 (max * sizeof (*out));
  memcpy (out, prologue, sizeof (prologue));
  k = BERTH_ARRAY_SIZE (prologue);
  for (i = n_rules; i > 0; i--)
    {
      const struct berth_cgroup_device_rule *d = &rules[i - 1];

      k += emit_rule (d, out + k);
      /* A rule that matches everything ends the program: the verifier refuses dead code.  */
      if (d->type == 'a' && d->major < 0 && d->minor < 0 && strcmp (d->access, "rwm") == 0)
        {
          *insns = out;
          *n = k;
          return 0;
        }
    }
  out[k++] = MOV64_K (0, 1);
  out[k++] = EXIT ();
  *insns = out;
  *n = k;
  return 0;
}

static int
bpf (int cmd, union bpf_attr *attr)
{
  return (int) syscall (SYS_bpf, cmd, attr, sizeof (*attr));
}

/* BPF_PROG_LOAD; on failure load again with the verifier's log for the message.  */
static int
load (const struct bpf_insn *insns, size_t n, berth_error_t *err)
{
  union bpf_attr attr;
  cleanup_free char *log = NULL;
  int fd, e;

  memset (&attr, 0, sizeof (attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t) (uintptr_t) insns;
  attr.insn_cnt = (uint32_t) n;
  attr.license = (uint64_t) (uintptr_t) "GPL";
  fd = bpf (BPF_PROG_LOAD, &attr);
  if (fd >= 0)
    return fd;
  e = errno;
  log = xmalloc0 (4096);
  attr.log_buf = (uint64_t) (uintptr_t) log;
  attr.log_size = 4096;
  attr.log_level = 1;
  fd = bpf (BPF_PROG_LOAD, &attr);
  if (fd >= 0)
    return fd;
  return berth_make_error_op (err, e, "bpf", "load the device program (%zu instructions)%s%.300s", n,
                              *log ? ": " : "", log);
}

int
berth_cgroup_bpf_attach (const char *dir, const struct berth_cgroup_device_rule *rules, size_t n_rules,
                         berth_error_t *err)
{
  cleanup_free void *insns = NULL;
  cleanup_close int prog = -1;
  cleanup_close int cg = -1;
  union bpf_attr attr;
  size_t n;

  if (berth_cgroup_bpf_build (rules, n_rules, &insns, &n, err) < 0)
    return -1;
  prog = load (insns, n, err);
  if (prog < 0)
    return -1;
  cg = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0)
    return berth_make_error_op (err, errno, "open", "open %s", dir);
  memset (&attr, 0, sizeof (attr));
  attr.target_fd = (uint32_t) cg;
  attr.attach_bpf_fd = (uint32_t) prog;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf (BPF_PROG_ATTACH, &attr) < 0)
    return berth_make_error_op (err, errno, "bpf", "attach the device program to %s", dir);
  return 0;
}
