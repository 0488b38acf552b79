/* Helpers shared by the C test programs (unit and integration). */
#ifndef DV_TEST_SUPPORT_H
#define DV_TEST_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/* mkdtemp under $TMPDIR (or /tmp) with PREFIX; aborts the test on failure.
 * Returns a heap string the caller frees (after dv_test_rm_rf). */
char *dv_test_tmpdir(const char *prefix);

/* Remove a tree; used on test temp dirs only. */
void dv_test_rm_rf(const char *path);

/* Run a shell command, capture stdout (heap, NUL-terminated) and return the
 * exit status (-1 if it did not exit normally). OUT may be NULL. */
int dv_test_sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Environment variable or the default. */
const char *dv_test_env(const char *name, const char *fallback);

/* Remove what integration tests killed before their cleanup left on this machine
 * (tests/integration/sweep_dead_tests.sh, found through DV_SOURCE_DIR, which ctest
 * sets; nothing without it). Integration tests call it before making anything, as
 * agent_lib.sh does for the shell tests, so one timeout does not spill into them. */
void dv_test_sweep_dead_tests(void);

/* JSON written with single quotes (readable in C), loaded with double ones;
 * aborts the test on bad JSON. A new reference. */
struct json_t;
struct json_t *dv_test_json(const char *text);

/* A datagram socket bound at PATH (CLOEXEC, 4 MiB receive buffer), standing in for
 * journald; aborts the test when it cannot be had. */
int dv_test_bind_dgram(const char *path);

/* The system call thread TID of process PID waits in, from /proc/PID/task/TID/syscall
 * (-1: running, gone, or not known); compare with SYS_* from <sys/syscall.h>. */
long dv_test_waiting_in(pid_t pid, pid_t tid);

/* Write TEXT to PATH (non-atomic; test fixtures only). */
void dv_test_write_file(const char *path, const char *text);

/* Append TEXT to PATH, created if missing, in one write(2): a whole line at once, as
 * Docker's log drivers write them (test fixtures only). */
void dv_test_append_file(const char *path, const char *text);

/* Append one line of Docker's json-file log to PATH: MSG and a newline on STREAM
 * ("stdout" or "stderr") stamped TIME (RFC 3339). MSG needs no JSON escape. */
void dv_test_jsonfile_line(const char *path, const char *stream, const char *time, const char *msg);

/* Append one frame of Docker's multiplexed stream to B: the 8-byte header (TYPE:
 * 1 stdout, 2 stderr, 3 system error; big-endian length) and LEN bytes of PAYLOAD. */
void dv_test_frame(dv_buf *b, int type, const void *payload, size_t len);

#endif
