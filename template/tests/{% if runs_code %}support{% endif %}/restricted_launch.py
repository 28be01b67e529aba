"""Start a command the way a Kubernetes pod with our manifests starts the service: as a
non-root user, with no capabilities, no new privileges, and a seccomp filter that refuses
what a container runtime's default profile refuses to an unprivileged container.

    python3 restricted_launch.py [--uid 10001 --gid 10001] -- COMMAND [ARGS...]

Needs libseccomp's Python bindings (Debian: python3-seccomp), so it is run with the system
interpreter, and it execs COMMAND, which inherits the filter and the user.

What is refused, and where the runtime decides it: Docker's default profile
(moby/moby, profiles/seccomp/default.json; containerd and CRI-O ship the same list as
RuntimeDefault) allows these system calls only to containers with CAP_SYS_ADMIN (or not at
all): unshare, setns, mount, umount2, pivot_root, and clone with any CLONE_NEW* flag (its
"clone" entry allows the call only when flags & 0x7E020000 == 0); clone3 answers ENOSYS so
that libc falls back to clone, where the flags can be checked. Also refused there without
extra capabilities: keyctl, add_key, request_key, bpf, perf_event_open, userfaultfd,
kexec_load, init_module, finit_module, delete_module, acct, swapon, swapoff, reboot,
personality with unusual personas, and the process_vm_* calls without CAP_SYS_PTRACE.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys

import seccomp  # Debian: python3-seccomp

# The CLONE_NEW* flags (linux/sched.h): a new mount, cgroup, UTS, IPC, user, PID or network
# namespace. 0x7E020000 is their union, the mask in the default profile's clone rule.
CLONE_NEW_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)
REFUSED = (
    "unshare", "setns", "mount", "umount2", "pivot_root", "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd", "kexec_load", "init_module", "finit_module",
    "delete_module", "acct", "swapon", "swapoff", "reboot", "process_vm_readv",
    "process_vm_writev", "ptrace",
)  # fmt: skip


def container_filter() -> seccomp.SyscallFilter:
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in REFUSED:
        rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
    for flag in CLONE_NEW_FLAGS:
        rules.add_rule(
            seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag)
        )
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    return rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uid", type=int)
    parser.add_argument("--gid", type=int)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    if args.uid is not None:
        os.setgroups([])
        os.setgid(args.gid if args.gid is not None else args.uid)
        os.setuid(args.uid)
    # libseccomp sets no_new_privs before loading, which is what lets a non-root user load it
    # and what allowPrivilegeEscalation: false gives the pod.
    container_filter().load()
    os.execvpe(command[0], command, os.environ)


if __name__ == "__main__":
    sys.exit(main())
