// Crash attribution: see inlet_host_crash.h. Written in C because a signal handler may only do
// async-signal-safe things, which Swift code cannot promise.
#define _GNU_SOURCE
#include "inlet_host_crash.h"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static int crash_fd = -1;
static _Thread_local int64_t current_job = 0;
static _Thread_local int in_create = 0;

// SIGTRAP: a Swift trap (fatalError, a nil unwrapped, an overflow) on aarch64; SIGILL on x86_64.
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
#define CRASH_SIGNALS (sizeof crash_signals / sizeof crash_signals[0])
static struct sigaction previous[CRASH_SIGNALS];

/* Decimal digits of a non-negative number into buf (no locale, no allocation); returns the length. */
static size_t digits(char *buf, int64_t value) {
    char reversed[24];
    size_t n = 0;
    do {
        reversed[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0 && n < sizeof reversed);
    for (size_t i = 0; i < n; i++) buf[i] = reversed[n - 1 - i];
    return n;
}

static void crash_handler(int sig, siginfo_t *info, void *context) {
    int64_t job = current_job;
    // Only a fault of this thread (si_code > 0: the kernel's) or an abort/raise from inside this
    // process is the job's: a signal sent from outside (kill -SEGV, a watchdog's SIGABRT) that
    // lands on a plugin's thread is not.
    int own = info != NULL && (info->si_code > 0 || (info->si_code == SI_TKILL && info->si_pid == getpid()));
    if (crash_fd >= 0 && job > 0 && own) {
        char line[80];
        size_t n = 0;
        // "job" for a call of the job, "create" for the create its instance needed.
        if (in_create) {
            memcpy(line, "create ", 7);
            n = 7;
        } else {
            memcpy(line, "job ", 4);
            n = 4;
        }
        n += digits(line + n, job);
        memcpy(line + n, " signal ", 8);
        n += 8;
        n += digits(line + n, sig);
        line[n++] = '\n';
        ssize_t written = write(crash_fd, line, n);
        (void)written;
    }
    // Hand over to whoever handled it before (the Swift runtime's backtracer prints the stack),
    // or to the default action: the process ends as it would have.
    for (size_t i = 0; i < CRASH_SIGNALS; i++) {
        if (crash_signals[i] != sig) continue;
        sigaction(sig, &previous[i], NULL);
        if ((previous[i].sa_flags & SA_SIGINFO) && previous[i].sa_sigaction != NULL) {
            previous[i].sa_sigaction(sig, info, context);
        } else if (previous[i].sa_handler != SIG_DFL && previous[i].sa_handler != SIG_IGN) {
            previous[i].sa_handler(sig);
        }
        break;
    }
    // A fault returns to the faulting instruction, which faults again under the restored
    // handler; a signal that was sent or raised (abort) is raised again.
    if (sig == SIGABRT || info == NULL || info->si_code <= 0) raise(sig);
}

void inlet_crash_install(int fd) {
    if (crash_fd >= 0) return;
    crash_fd = fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = crash_handler;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < CRASH_SIGNALS; i++) sigaction(crash_signals[i], &action, &previous[i]);
}

// The calls file, mapped shared: word 0 the overflow flag, then one word per thread.
static _Atomic(int64_t *) call_words = NULL;
static _Atomic int64_t call_slots = 0;
static atomic_long next_slot = 0;
// This thread's word (1-based; 0: none yet, -1: none left). Reset when a new file is mapped.
static _Thread_local long my_slot = 0;
static _Thread_local int64_t *my_file = NULL;

int inlet_calls_map(int fd, int64_t slots) {
    void *mapped = mmap(NULL, (size_t)(slots + 1) * sizeof(int64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapped == MAP_FAILED) return errno;
    // The old mapping stays: a thread may be writing to it (a few KB, once per test process).
    atomic_store(&call_slots, slots);
    atomic_store(&next_slot, 0);
    atomic_store(&call_words, (int64_t *)mapped);
    return 0;
}

static void record_started(int64_t job_id) {
    int64_t *words = atomic_load(&call_words);
    if (words == NULL || job_id <= 0) return;
    if (my_file != words) {
        my_file = words;
        long slot = atomic_fetch_add(&next_slot, 1) + 1;
        my_slot = slot <= atomic_load(&call_slots) ? slot : -1;
        if (my_slot < 0) __atomic_store_n(&words[0], 1, __ATOMIC_RELEASE);
    }
    if (my_slot > 0) __atomic_store_n(&words[my_slot], job_id, __ATOMIC_RELEASE);
}

void inlet_crash_set_job(int64_t job_id) {
    current_job = job_id;
    in_create = 0;
    // Cleared only by the thread's next call: a job whose call returned but whose outcome had
    // not committed yet still counts as started.
    record_started(job_id);
}

void inlet_crash_set_create(int64_t job_id) {
    current_job = job_id;
    in_create = job_id > 0;
    record_started(job_id);
}

int64_t inlet_crash_job(void) { return current_job; }

int inlet_die_with_parent(int expected_parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return -1;
    // The parent may have died before the call: then no signal will come.
    return getppid() == expected_parent ? 0 : -1;
}

int inlet_spawn_daemon(const char *path, char *const argv[], char *const envp[], int lock_fd, int *pid_out) {
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_t actions;
    sigset_t defaults, mask;
    int result = posix_spawnattr_init(&attributes);
    if (result != 0) return result;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGPIPE);
    sigemptyset(&mask);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setsigmask(&attributes, &mask);
    // A process group of its own, so that whatever it leaves behind when it dies (the Swift
    // runtime's crash backtracer, a git subprocess) can be ended with it.
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, lock_fd, 3);  // dup2 clears close-on-exec
    posix_spawn_file_actions_addclosefrom_np(&actions, 4);
    pid_t pid = 0;
    result = posix_spawn(&pid, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (result == 0) *pid_out = (int)pid;
    return result;
}

/* Each plugin thread's own stack for the handler: a plugin that overflows its stack (deep
   recursion) could not run the handler on that stack, and its crash would go unattributed. */
static pthread_key_t stack_key;
static pthread_once_t stack_once = PTHREAD_ONCE_INIT;

static void free_stack(void *memory) {
    stack_t none;
    memset(&none, 0, sizeof none);
    none.ss_flags = SS_DISABLE;
    sigaltstack(&none, NULL);
    free(memory);
}

static void make_stack_key(void) { pthread_key_create(&stack_key, free_stack); }

void inlet_crash_prepare_thread(void) {
    pthread_once(&stack_once, make_stack_key);
    if (pthread_getspecific(stack_key) != NULL) return;
    size_t size = 64 * 1024;
    void *memory = malloc(size);
    if (memory == NULL) return;
    stack_t stack;
    memset(&stack, 0, sizeof stack);
    stack.ss_sp = memory;
    stack.ss_size = size;
    if (sigaltstack(&stack, NULL) != 0) {
        free(memory);
        return;
    }
    pthread_setspecific(stack_key, memory);
}
