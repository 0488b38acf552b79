/* Unit tests for the aborting allocators (common/xalloc.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cleanup.h"
#include "xalloc.h"

static void test_values(void **state)
{
    (void)state;
    _cleanup_free_ char *a = dv_xasprintf("%s-%d", "web", 42);
    assert_string_equal(a, "web-42");
    _cleanup_free_ char *d = dv_xstrdup("abc");
    assert_string_equal(d, "abc");
    _cleanup_free_ char *n = dv_xstrndup("abcdef", 3);
    assert_string_equal(n, "abc");
    /* Zero sizes still give a pointer the caller can free: NULL only ever meant exhaustion. */
    _cleanup_free_ void *z = dv_xmalloc(0);
    assert_non_null(z);
    _cleanup_free_ int *c = dv_xcalloc(4, sizeof(int));
    assert_int_equal(c[0] | c[1] | c[2] | c[3], 0);
    c = dv_xreallocarray(c, 8, sizeof(int));
    c[7] = 7;
    assert_int_equal(c[7], 7);
}

/* Run FN in a child: it must not come back (abort, or the sanitizer's own report). */
static void assert_dies(void (*fn)(void))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, STDERR_FILENO);
        fn();
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void huge_malloc(void)
{
    volatile size_t n = SIZE_MAX - 4096; /* volatile: gcc refuses the constant at compile time */
    void *volatile p = dv_xmalloc(n);
    (void)p;
}

static void overflowing_array(void)
{
    volatile size_t n = SIZE_MAX / 2;
    void *volatile p = dv_xreallocarray(NULL, n, 4);
    (void)p;
}

static void test_exhaustion_aborts(void **state)
{
    (void)state;
    assert_dies(huge_malloc);
    assert_dies(overflowing_array);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_exhaustion_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
