/*
 * Host side only (not part of the plugin ABI): which job's plugin call crashed the process.
 *
 * A plugin runs in the daemon's process, so a crash in it (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
 * SIGABRT, SIGTRAP, SIGSYS) ends the process. Before it does, a signal handler appends one line to the crash
 * file, "job <id> signal <n>\n", for the job whose plugin call was running on the crashing
 * thread; the next start charges the attempt to that job only and gives the others back. Only
 * async-signal-safe calls are made in the handler (write, sigaction); the previous handler (the
 * Swift runtime's backtracer, or the default) then runs as before.
 */
#ifndef INLET_HOST_CRASH_H
#define INLET_HOST_CRASH_H

#include <stdint.h>

/* Installs the handlers once; crash lines go to the open file descriptor `fd` (O_APPEND). */
void inlet_crash_install(int fd);

/* Marks the calling thread as running a plugin call of job `job_id` (> 0), or of none (0). */
void inlet_crash_set_job(int64_t job_id);

/* Marks the calling thread as running the `create` that job `job_id` needs (its crash line
   then reads "create <id> signal <n>": the source's create crashes, whatever job asks). */
void inlet_crash_set_create(int64_t job_id);

/* Maps the calls file (`fd`, opened read-write, `slots` + 1 zeroed 8-byte words): from then on,
   each thread's latest job whose plugin call or create started is kept in a word of its own,
   which a kill -9 leaves in the page cache. The next start charges an attempt to those jobs
   only; jobs leased ahead whose call never started go back uncounted. Word 0 becomes 1 when
   more threads than slots ran calls (the file then tells nothing). Returns 0, or an errno.
   A later call maps a new file in place of the old one. */
int inlet_calls_map(int fd, int64_t slots);
/* Gives the calling thread (a plugin thread) a signal stack of its own, so that a plugin that
   overflows its stack is still attributed. Once per thread; freed when the thread ends. */
void inlet_crash_prepare_thread(void);

/* The job the calling thread is marked with (0: none). */
int64_t inlet_crash_job(void);

/* In a daemon its supervisor started: the kernel kills this process (SIGKILL) when the thread
   that started it ends, as when the supervisor is killed. Returns 0, or -1 when the supervisor
   is already gone (the caller then exits). */
int inlet_die_with_parent(int expected_parent);

/* Starts the supervised daemon: `path` with `argv` and `envp`, SIGTERM, SIGINT, SIGHUP and
   SIGPIPE at their default actions and no signal blocked, `lock_fd` as its descriptor 3 and no
   other descriptor above 2 (a test runner's or a shell's stay with the supervisor), in a process
   group of its own (its pid). Returns 0 and the pid, or an errno. */
int inlet_spawn_daemon(const char *path, char *const argv[], char *const envp[], int lock_fd, int *pid_out);

#endif
