/* Docker's json-file log as docklog follows it from disk (docklog/jsonfile.h): the
 * input is written as a container's log file in a private temporary directory and
 * read through dl_jsonfile_read in small steps (lines split across reads, torn lines,
 * lines over the limit), every line through dl_jsonfile_parse_line, and the input as one
 * line through both decoders: what dl_jsonfile_parse_fast takes, it must read exactly as
 * Jansson does. The file is
 * opened once (dl_jsonfile_open) and rewound for each input: closing an inotify
 * instance takes milliseconds, which would make this harness 100 times slower. */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "jsonfile.h"

static char log_path[PATH_MAX];
static int wfd = -1;
static dl_jsonfile f;

static void remove_dir(void)
{
    unlink(log_path);
    char *slash = strrchr(log_path, '/');
    if (slash) {
        *slash = '\0';
        rmdir(log_path);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/dv-fuzz-jsonfile.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        abort();
    snprintf(log_path, sizeof(log_path), "%s/c-json.log", dir);
    atexit(remove_dir);
    wfd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    dv_error err;
    if (wfd < 0 || dl_jsonfile_open(&f, log_path, &err) < 0 || f.n != 1)
        abort();
    return 0;
}

static int on_entry(const dl_entry *e, void *userdata, dv_error *err)
{
    (void)err;
    uint8_t *sum = userdata;
    if (e->stream != DL_STDOUT && e->stream != DL_STDERR)
        abort();
    for (size_t i = 0; i < e->len; i++)
        *sum ^= (uint8_t)e->msg[i];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    json_t *j = NULL;
    dl_entry e;
    int slow = dl_jsonfile_parse_line((const char *)data, len, &j, &e, NULL);
    /* The fast decoder reads every line it takes as Jansson does. */
    static char msg[DL_JSONFILE_LINE_MAX];
    dl_entry fast;
    if (len <= sizeof(msg) && dl_jsonfile_parse_fast((const char *)data, len, msg, &fast)) {
        if (slow != 0 || fast.stream != e.stream || fast.ts != e.ts || fast.len != e.len ||
            memcmp(fast.msg, e.msg, e.len) != 0)
            abort();
    }
    if (slow == 0)
        json_decref(j);

    if (ftruncate(wfd, 0) < 0 || (len > 0 && pwrite(wfd, data, len, 0) != (ssize_t)len) ||
        lseek(f.files[0].fd, 0, SEEK_SET) != 0)
        abort();
    f.cur = 0;
    f.line_len = 0;
    f.files[0].done = false;
    dv_error err;
    uint8_t sum = 0;
    size_t skipped = 0;
    int r;
    while ((r = dl_jsonfile_read(&f, 1, on_entry, &sum, &skipped, &err)) == 1)
        ;
    if (r < 0 || f.n != 1)
        abort();
    return 0;
}
