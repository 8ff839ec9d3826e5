/* An AVX2-only x86-64 CPU for one process (benchmarks/avx2/run.py builds and preloads this).
 *
 * The CPUID and XGETBV instructions of the patched libraries (run.py turns them into UD2 and
 * lists where) trap here; the handler executes the real instruction, clears every AVX-512,
 * AVX-VNNI, AVX512-BF16 and AMX bit (and the AVX-512/AMX state bits of XCR0), and resumes after
 * it. /proc/cpuinfo opened through libc reads as a copy without those flags. The code that then
 * runs is the AVX2 code every one of these libraries ships for CPUs without AVX-512. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <cpuid.h>

#include "sites.h" /* static const struct site SITES[]; N_SITES: library basename, address, kind */

static void mask_cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d) {
    (void)d;
    if (leaf == 7 && sub == 0) {
        *b &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31));
        *c &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
        *d &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25));
    } else if (leaf == 7 && sub == 1) {
        *a &= ~((1u << 4) | (1u << 5) | (1u << 21) | (1u << 23));
        *d &= ~((1u << 4) | (1u << 5) | (1u << 10));
    } else if (leaf == 0xd && sub == 0) {
        *a &= ~((1u << 5) | (1u << 6) | (1u << 7) | (1u << 17) | (1u << 18));
    } else if (leaf == 0x19 || leaf == 0x1d || leaf == 0x1e) {
        *a = *b = *c = *d = 0; /* AMX tile / TMUL leaves */
    }
}

static int find_site(void *pc) {
    Dl_info info;
    if (!dladdr(pc, &info) || !info.dli_fname) return -1;
    const char *base = strrchr(info.dli_fname, '/');
    base = base ? base + 1 : info.dli_fname;
    uintptr_t off = (uintptr_t)pc - (uintptr_t)info.dli_fbase;
    for (int i = 0; i < N_SITES; i++)
        if (SITES[i].addr == off && strcmp(SITES[i].lib, base) == 0) return i;
    return -1;
}

/* SIGILL stays ours: a handler the process installs later (Python's faulthandler, which pytest
 * enables, is one) is kept aside and called for an illegal instruction that is not a patched site. */
static struct sigaction theirs; /* what the process believes is installed */
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

static void on_sigill(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = (ucontext_t *)ctx;
    greg_t *r = uc->uc_mcontext.gregs;
    int i = find_site((void *)r[REG_RIP]);
    if (i < 0) { /* a real illegal instruction: the process's own handler, else die of it */
        if ((theirs.sa_flags & SA_SIGINFO) && theirs.sa_sigaction) {
            theirs.sa_sigaction(sig, si, ctx);
        } else if (!(theirs.sa_flags & SA_SIGINFO) && theirs.sa_handler != SIG_DFL && theirs.sa_handler != SIG_IGN) {
            theirs.sa_handler(sig);
        } else {
            struct sigaction dfl;
            memset(&dfl, 0, sizeof dfl);
            dfl.sa_handler = SIG_DFL;
            real_sigaction(sig, &dfl, NULL); /* returning re-executes the instruction */
        }
        return;
    }
    if (SITES[i].kind == 'c') {
        uint32_t leaf = (uint32_t)r[REG_RAX], sub = (uint32_t)r[REG_RCX], a, b, c, d;
        __cpuid_count(leaf, sub, a, b, c, d);
        mask_cpuid(leaf, sub, &a, &b, &c, &d);
        r[REG_RAX] = a; r[REG_RBX] = b; r[REG_RCX] = c; r[REG_RDX] = d;
        r[REG_RIP] += 2;
    } else {
        uint32_t lo, hi, which = (uint32_t)r[REG_RCX];
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(which));
        if (which == 0) lo &= ~((1u << 5) | (1u << 6) | (1u << 7) | (1u << 17) | (1u << 18));
        r[REG_RAX] = lo; r[REG_RDX] = hi;
        r[REG_RIP] += 3;
    }
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    if (!real_sigaction) real_sigaction = dlsym(RTLD_NEXT, "sigaction");
    if (sig != SIGILL) return real_sigaction(sig, act, old);
    if (old) *old = theirs;
    if (act) theirs = *act;
    return 0;
}

sighandler_t signal(int sig, sighandler_t handler) {
    static sighandler_t (*real_signal)(int, sighandler_t);
    if (!real_signal) real_signal = dlsym(RTLD_NEXT, "signal");
    if (sig != SIGILL) return real_signal(sig, handler);
    sighandler_t before = (theirs.sa_flags & SA_SIGINFO) ? (sighandler_t)theirs.sa_sigaction : theirs.sa_handler;
    memset(&theirs, 0, sizeof theirs);
    theirs.sa_handler = handler;
    return before;
}

__attribute__((constructor)) static void install(void) {
    struct sigaction sa;
    real_sigaction = dlsym(RTLD_NEXT, "sigaction");
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigill;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    real_sigaction(SIGILL, &sa, &theirs);
}

/* /proc/cpuinfo, as the processes' own Python code reads it */
static const char *redirect(const char *path) {
    const char *alt = getenv("AVX2_CPUINFO");
    return (alt && path && strcmp(path, "/proc/cpuinfo") == 0) ? alt : path;
}

#define OPEN_LIKE(name)                                                              \
    int name(const char *path, int flags, ...) {                                     \
        static int (*real)(const char *, int, ...);                                  \
        if (!real) real = dlsym(RTLD_NEXT, #name);                                   \
        mode_t mode = 0;                                                             \
        if (flags & (O_CREAT | O_TMPFILE)) {                                         \
            va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap);  \
        }                                                                            \
        return real(redirect(path), flags, mode);                                    \
    }
OPEN_LIKE(open)
OPEN_LIKE(open64)

#define OPENAT_LIKE(name)                                                            \
    int name(int dirfd, const char *path, int flags, ...) {                          \
        static int (*real)(int, const char *, int, ...);                             \
        if (!real) real = dlsym(RTLD_NEXT, #name);                                   \
        mode_t mode = 0;                                                             \
        if (flags & (O_CREAT | O_TMPFILE)) {                                         \
            va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap);  \
        }                                                                            \
        return real(dirfd, redirect(path), flags, mode);                             \
    }
OPENAT_LIKE(openat)
OPENAT_LIKE(openat64)

FILE *fopen(const char *path, const char *mode) {
    static FILE *(*real)(const char *, const char *);
    if (!real) real = dlsym(RTLD_NEXT, "fopen");
    return real(redirect(path), mode);
}
FILE *fopen64(const char *path, const char *mode) {
    static FILE *(*real)(const char *, const char *);
    if (!real) real = dlsym(RTLD_NEXT, "fopen64");
    return real(redirect(path), mode);
}
