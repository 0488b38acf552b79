#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DV_SIGNAL_MAX 64

/* Docker's Linux table (moby signal_linux.go) plus the aliases people type.
 * The first name listed for a number is the canonical one. */
static const struct {
    const char *name;
    int signo;
} names[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},     {"QUIT", SIGQUIT},  {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},   {"IOT", SIGIOT},    {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL},   {"USR1", SIGUSR1},  {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},  {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},   {"CONT", SIGCONT},
    {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},  {"TTOU", SIGTTOU},
    {"URG", SIGURG},       {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},  {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},     {"WINCH", SIGWINCH}, {"IO", SIGIO},      {"POLL", SIGPOLL},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},     {"UNUSED", SIGSYS},
};

static int unknown(dv_error *err, const char *text)
{
    return dv_error_set(err, -EINVAL, "unknown signal \"%s\"", text ? text : "");
}

/* "N" with N in [lo, hi], digits only. */
static bool parse_num(const char *s, int lo, int hi, int *ret)
{
    if (!*s || strlen(s) > 3)
        return false;
    int v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
    }
    if (v < lo || v > hi)
        return false;
    *ret = v;
    return true;
}

int dv_signal_parse(const char *text, int *ret_signo, dv_error *err)
{
    if (!text || !*text)
        return unknown(err, text);
    int n;
    if (parse_num(text, 1, DV_SIGNAL_MAX, &n)) {
        *ret_signo = n;
        return 0;
    }
    const char *s = text;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(s, names[i].name) == 0) {
            *ret_signo = names[i].signo;
            return 0;
        }
    int rtmin = SIGRTMIN, rtmax = SIGRTMAX, span = rtmax - rtmin;
    if (strncasecmp(s, "RTMIN", 5) == 0) {
        if (s[5] == '\0') {
            *ret_signo = rtmin;
            return 0;
        }
        if (s[5] == '+' && parse_num(s + 6, 1, span, &n)) {
            *ret_signo = rtmin + n;
            return 0;
        }
    } else if (strncasecmp(s, "RTMAX", 5) == 0) {
        if (s[5] == '\0') {
            *ret_signo = rtmax;
            return 0;
        }
        if (s[5] == '-' && parse_num(s + 6, 1, span, &n)) {
            *ret_signo = rtmax - n;
            return 0;
        }
    }
    return unknown(err, text);
}

int dv_signal_name(int signo, char *buf, size_t size)
{
    if (signo <= 0 || signo > DV_SIGNAL_MAX)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].signo == signo) {
            snprintf(buf, size, "SIG%s", names[i].name);
            return 0;
        }
    int rtmin = SIGRTMIN, rtmax = SIGRTMAX;
    if (signo == rtmin)
        snprintf(buf, size, "SIGRTMIN");
    else if (signo == rtmax)
        snprintf(buf, size, "SIGRTMAX");
    else if (signo > rtmin && signo - rtmin <= 15) /* Docker names RTMIN+1..15, RTMAX-14..1 */
        snprintf(buf, size, "SIGRTMIN+%d", signo - rtmin);
    else if (signo > rtmin && signo < rtmax)
        snprintf(buf, size, "SIGRTMAX-%d", rtmax - signo);
    else
        snprintf(buf, size, "%d", signo);
    return 0;
}
