/* passwd.h and tar_read.h: the task's user, looked up in bytes an image's author
 * wrote and the Engine relayed as a tar stream. Hostile input must give a clean
 * "no" and never a read past the end, a wrong id or a truncated one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "passwd.h"
#include "tar_read.h"

static int find(const char *text, const char *name, uint32_t *uid, uint32_t *gid)
{
    return dv_passwd_find(text, strlen(text), name, uid, gid);
}

static void test_user_spec(void **state)
{
    (void)state;
    dv_error err;
    dv_user_spec u;
    assert_int_equal(dv_user_spec_parse("", &u, &err), 0);
    assert_true(u.user_numeric && u.uid == 0 && !u.has_group);
    assert_int_equal(dv_user_spec_parse("1000", &u, &err), 0);
    assert_true(u.user_numeric && u.uid == 1000 && !u.has_group);
    assert_int_equal(dv_user_spec_parse("1000:50", &u, &err), 0);
    assert_true(u.user_numeric && u.has_group && u.group_numeric && u.gid == 50);
    assert_int_equal(dv_user_spec_parse("app:staff", &u, &err), 0);
    assert_true(!u.user_numeric && !u.group_numeric && u.has_group);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.group, "staff");
    assert_int_equal(dv_user_spec_parse("app:0", &u, &err), 0);
    assert_true(!u.user_numeric && u.group_numeric && u.gid == 0);
    /* 2^32-1 is (uid_t)-1, "no change" to chown: a name as far as we are concerned */
    assert_int_equal(dv_user_spec_parse("4294967295", &u, &err), 0);
    assert_false(u.user_numeric);
    assert_int_equal(dv_user_spec_parse("4294967294", &u, &err), 0);
    assert_true(u.user_numeric && u.uid == 4294967294u);
    assert_int_equal(dv_user_spec_parse("99999999999999999999", &u, &err), 0);
    assert_false(u.user_numeric);
    assert_int_equal(dv_user_spec_parse("-1", &u, &err), 0);
    assert_false(u.user_numeric);
    assert_int_equal(dv_user_spec_parse(":50", &u, &err), -EINVAL);
    assert_int_equal(dv_user_spec_parse("app:", &u, &err), -EINVAL);
    char long_name[400];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(dv_user_spec_parse(long_name, &u, &err), -EINVAL);
}

static void test_passwd_lookup(void **state)
{
    (void)state;
    const char *pw = "root:x:0:0:root:/root:/bin/sh\n"
                     "# a comment:x:1:1\n"
                     "\n"
                     "app:x:1000:1001:App:/home/app:/bin/sh\n"
                     "app:x:2000:2001:duplicate:/:/bin/sh\n"
                     "last:x:7:8"; /* no trailing newline, no gecos/home/shell */
    uint32_t uid = 99, gid = 99;
    assert_int_equal(find(pw, "root", &uid, &gid), 0);
    assert_true(uid == 0 && gid == 0);
    assert_int_equal(find(pw, "app", &uid, &gid), 0); /* the first wins */
    assert_true(uid == 1000 && gid == 1001);
    assert_int_equal(find(pw, "last", &uid, &gid), 0);
    assert_true(uid == 7 && gid == 8);
    uid = gid = 99;
    assert_int_equal(find(pw, "nobody", &uid, &gid), -ENOENT);
    assert_int_equal(find(pw, "ap", &uid, &gid), -ENOENT); /* a prefix is not a name */
    assert_int_equal(find(pw, "", &uid, &gid), -ENOENT);
    assert_true(uid == 99 && gid == 99); /* untouched */
    assert_int_equal(dv_passwd_find(NULL, 0, "root", &uid, &gid), -ENOENT);
}

static void test_passwd_hostile(void **state)
{
    (void)state;
    uint32_t uid = 99, gid = 99;
    /* missing fields, empty or junk ids, huge ids: skipped, and a later good line wins */
    const char *pw = "a\n"
                     "a:x\n"
                     "a:x:1\n"
                     "a:x::2:::\n"
                     "a:x:1:\n"
                     "a:x: 1:2\n"
                     "a:x:+1:2\n"
                     "a:x:0x10:2\n"
                     "a:x:4294967295:2\n"
                     "a:x:99999999999999999999999:2\n"
                     "a:x:12:99999999999\n"
                     "a:x:3:4\n";
    assert_int_equal(find(pw, "a", &uid, &gid), 0);
    assert_true(uid == 3 && gid == 4);
    /* NUL bytes: the line holding one never matches, the text goes on past it */
    const char nul[] = "b\0:x:1:1\nb:x:5\0:6\nb:x:5:6\n";
    assert_int_equal(dv_passwd_find(nul, sizeof(nul) - 1, "b", &uid, &gid), 0);
    assert_true(uid == 5 && gid == 6);
    /* the length bounds the text: a match past LEN is not seen */
    const char *cut = "c:x:1:1\n";
    assert_int_equal(dv_passwd_find(cut, 3, "c", &uid, &gid), -ENOENT);
    /* a very long line (and a very long name) around a good one */
    size_t n = 1 << 20;
    char *big = malloc(n + 64);
    assert_non_null(big);
    memset(big, 'x', n);
    big[n / 2] = '\n';
    memcpy(big + n, "\nd:x:9:10\n", 11);
    assert_int_equal(dv_passwd_find(big, strlen(big), "d", &uid, &gid), 0);
    assert_true(uid == 9 && gid == 10);
    assert_int_equal(dv_passwd_find(big, n, "d", &uid, &gid), -ENOENT);
    free(big);
    /* only newlines, only colons */
    assert_int_equal(find("\n\n\n", "a", &uid, &gid), -ENOENT);
    assert_int_equal(find("::::::::", "", &uid, &gid), -ENOENT);
}

static void test_group_lookup(void **state)
{
    (void)state;
    uint32_t gid = 99;
    const char *gr = "root:x:0:\n"
                     "staff\n"
                     "staff:x:notanumber:\n"
                     "staff:x:50:app,other\n"
                     "staff:x:60:\n"
                     "wheel:x:10";
    assert_int_equal(dv_group_find(gr, strlen(gr), "staff", &gid), 0);
    assert_int_equal(gid, 50);
    assert_int_equal(dv_group_find(gr, strlen(gr), "wheel", &gid), 0);
    assert_int_equal(gid, 10);
    assert_int_equal(dv_group_find(gr, strlen(gr), "app", &gid), -ENOENT);
    assert_int_equal(gid, 10);
}

/* ---- tar ---- */

/* One ustar header block for NAME of TYPE with SIZE (octal) and LINK. */
static void header(unsigned char *h, const char *name, char type, size_t size, const char *link)
{
    memset(h, 0, 512);
    snprintf((char *)h, 100, "%s", name);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    snprintf((char *)h + 124, 12, "%011zo", size);
    memcpy(h + 136, "00000000000", 12);
    h[156] = (unsigned char)type;
    if (link)
        snprintf((char *)h + 157, 100, "%s", link);
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
}

static void test_tar_file(void **state)
{
    (void)state;
    unsigned char a[512 * 5] = {0};
    header(a, "passwd", '0', 5, NULL);
    memcpy(a + 512, "hello", 5);
    dv_tar_entry e;
    dv_error err;
    assert_int_equal(dv_tar_first_entry(a, sizeof(a), &e, &err), 0);
    assert_int_equal(e.kind, DV_TAR_FILE);
    assert_int_equal(e.len, 5);
    assert_memory_equal(e.data, "hello", 5);
    /* a PAX header before it is skipped */
    unsigned char p[512 * 6] = {0};
    header(p, "PaxHeaders/passwd", 'x', 20, NULL);
    memcpy(p + 512, "20 mtime=1.5\n", 13);
    header(p + 1024, "passwd", '0', 3, NULL);
    memcpy(p + 1536, "abc", 3);
    assert_int_equal(dv_tar_first_entry(p, sizeof(p), &e, &err), 0);
    assert_true(e.kind == DV_TAR_FILE && e.len == 3 && memcmp(e.data, "abc", 3) == 0);
    /* a symlink */
    unsigned char l[512 * 3] = {0};
    header(l, "passwd", '2', 0, "../usr/lib/passwd");
    assert_int_equal(dv_tar_first_entry(l, sizeof(l), &e, &err), 0);
    assert_int_equal(e.kind, DV_TAR_SYMLINK);
    assert_string_equal(e.link, "../usr/lib/passwd");
}

static void test_tar_hostile(void **state)
{
    (void)state;
    dv_tar_entry e;
    dv_error err;
    unsigned char a[512 * 4] = {0};
    /* empty, short, all zero */
    assert_int_equal(dv_tar_first_entry(a, 0, &e, &err), -ENOENT);
    assert_int_equal(dv_tar_first_entry(a, 100, &e, &err), -EBADMSG);
    assert_int_equal(dv_tar_first_entry(a, sizeof(a), &e, &err), -ENOENT);
    /* a bad checksum */
    header(a, "passwd", '0', 5, NULL);
    a[0] ^= 1;
    assert_int_equal(dv_tar_first_entry(a, sizeof(a), &e, &err), -EBADMSG);
    /* a size past the end, and a huge one */
    header(a, "passwd", '0', 5000, NULL);
    assert_int_equal(dv_tar_first_entry(a, sizeof(a), &e, &err), -EBADMSG);
    header(a, "passwd", '0', 0, NULL);
    memcpy(a + 124, "77777777777", 11);
    memset(a + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += a[i];
    snprintf((char *)a + 148, 8, "%06o", sum);
    assert_int_equal(dv_tar_first_entry(a, sizeof(a), &e, &err), -EBADMSG);
    /* base-256 size (high bit set): refused */
    header(a, "passwd", '0', 0, NULL);
    a[124] = 0x80;
    memset(a + 148, ' ', 8);
    sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += a[i];
    snprintf((char *)a + 148, 8, "%06o", sum);
    assert_int_equal(dv_tar_first_entry(a, sizeof(a), &e, &err), -EBADMSG);
    /* a directory, a hard link, a device: not files */
    header(a, "etc", '5', 0, NULL);
    assert_int_equal(dv_tar_first_entry(a, sizeof(a), &e, &err), -ENOTSUP);
    header(a, "passwd", '1', 0, "shadow");
    assert_int_equal(dv_tar_first_entry(a, sizeof(a), &e, &err), -ENOTSUP);
    header(a, "passwd", '3', 0, NULL);
    assert_int_equal(dv_tar_first_entry(a, sizeof(a), &e, &err), -ENOTSUP);
    /* a symlink without target */
    header(a, "passwd", '2', 0, NULL);
    assert_int_equal(dv_tar_first_entry(a, sizeof(a), &e, &err), -ENOTSUP);
    /* an extended header whose data runs past the end */
    header(a, "PaxHeaders/x", 'x', 1500, NULL);
    assert_int_equal(dv_tar_first_entry(a, 1024, &e, &err), -EBADMSG);
    /* extended headers only, then the end */
    header(a, "PaxHeaders/x", 'x', 10, NULL);
    memset(a + 512, 0, 1536);
    assert_int_equal(dv_tar_first_entry(a, sizeof(a), &e, &err), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_spec),      cmocka_unit_test(test_passwd_lookup),
        cmocka_unit_test(test_passwd_hostile), cmocka_unit_test(test_group_lookup),
        cmocka_unit_test(test_tar_file),       cmocka_unit_test(test_tar_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
