/* Artifact downloads on a worker (artifacts.h). */
#include "artifacts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "xalloc.h"

#define ATTEMPTS 3
#define CONNECT_TIMEOUT_MS 30000L
#define MAX_REDIRS 5L
#define DEFAULT_TIMEOUT_NS (10 * 60 * DV_NSEC_PER_SEC)
#define PROGRESS_EVERY_NS (5 * DV_NSEC_PER_SEC)
#define TMP_PREFIX ".dvartifact-"

typedef struct fetch {
    const dv_artifact_fetch *job;
    size_t index;
    int fd;
    EVP_MD_CTX *md; /* NULL without a checksum */
    int write_errno;
    int64_t last_post_ns;
    curl_off_t last_decile;
} fetch;

static void note(const dv_artifact_fetch *f, const char *type, bool transient, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void note(const dv_artifact_fetch *f, const char *type, bool transient, const char *fmt, ...)
{
    if (!f->note)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    f->note(f->userdata, type, transient, msg);
}

static bool cancelled(const dv_artifact_fetch *f)
{
    return f->cancel && dv_cancel_requested(f->cancel);
}

static void md_freep(EVP_MD_CTX **md)
{
    EVP_MD_CTX_free(*md);
}

/* SOURCE without a user:password@ part, for events and errors. */
static char *shown_source(const char *source)
{
    const char *hostpart = strstr(source, "://");
    if (!hostpart)
        return dv_xstrdup(source);
    hostpart += 3;
    size_t host_len = strcspn(hostpart, "/?#");
    const char *at = memchr(hostpart, '@', host_len);
    if (!at)
        return dv_xstrdup(source);
    return dv_xasprintf("%.*s%s", (int)(hostpart - source), source, at + 1);
}

static void hex_digest(EVP_MD_CTX *md, char *out, size_t size)
{
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(md, sum, &n);
    for (unsigned int i = 0; i < n && 2 * i + 2 < size; i++)
        snprintf(out + 2 * i, 3, "%02x", sum[i]);
}

static EVP_MD_CTX *md_new(const dv_artifact *a)
{
    if (!a->checksum_type)
        return NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const EVP_MD *type = EVP_get_digestbyname(a->checksum_type);
    if (!md || !type || !EVP_DigestInit_ex(md, type, NULL))
        dv_oom("checksum context"); /* the parser allows only digests OpenSSL always has */
    return md;
}

/* Directory REL (components without "..", spec.h) beneath ROOT, created when
 * missing, opened one component at a time without following symlinks: what
 * the task put in local/ cannot redirect the write. */
static int open_dir_chain(int root, const char *rel, dv_error *err)
{
    _cleanup_close_ int fd = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return dv_error_errno(err, errno, "open the task directory");
    _cleanup_free_ char *copy = dv_xstrdup(rel);
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST)
            return dv_error_errno(err, errno, "create directory %s", rel);
        int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            if (errno == ELOOP || errno == ENOTDIR)
                return dv_error_set(err, -EPERM, "%s: %s is not a directory (a symlink?)", rel, c);
            return dv_error_errno(err, errno, "open directory %s", rel);
        }
        close(fd);
        fd = next;
    }
    return TAKE_FD(fd);
}

/* Is NAME in DIR a regular file (not a symlink) whose checksum matches A's
 * (any file, without a checksum)? */
static bool in_place(int dir, const char *name, const dv_artifact *a)
{
    _cleanup_close_ int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return false;
    __attribute__((cleanup(md_freep))) EVP_MD_CTX *md = md_new(a);
    if (!md)
        return true;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        EVP_DigestUpdate(md, buf, (size_t)n);
    if (n < 0)
        return false;
    char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
    hex_digest(md, hex, sizeof(hex));
    return strcmp(hex, a->checksum_hex) == 0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    fetch *f = userdata;
    size_t n = size * nmemb;
    for (size_t off = 0; off < n;) {
        ssize_t w = write(f->fd, data + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            f->write_errno = errno;
            return 0;
        }
        off += (size_t)w;
    }
    if (f->md)
        EVP_DigestUpdate(f->md, data, n);
    return n;
}

static int on_progress(void *userdata, curl_off_t total, curl_off_t now, curl_off_t up_total,
                       curl_off_t up_now)
{
    (void)up_total;
    (void)up_now;
    fetch *f = userdata;
    if (cancelled(f->job))
        return 1;
    int64_t t = dv_monotonic_ns();
    curl_off_t decile = total > 0 ? now * 10 / total : 0;
    if (now > 0 && (t - f->last_post_ns >= PROGRESS_EVERY_NS || decile > f->last_decile)) {
        if (total > 0)
            note(f->job, "progress", true, "artifact[%zu]: %.1f/%.1f MB (%d%%)", f->index,
                 now / 1e6, total / 1e6, (int)(now * 100 / total));
        else
            note(f->job, "progress", true, "artifact[%zu]: %.1f MB", f->index, now / 1e6);
        f->last_post_ns = t;
        f->last_decile = decile;
    }
    return 0;
}

static int64_t total_timeout_ns(const dv_artifact_fetch *f)
{
    return f->timeout_ns > 0 ? f->timeout_ns : DEFAULT_TIMEOUT_NS;
}

/* One GET of A into a temp file of DIR, then checked and renamed to NAME.
 * *RET_FINAL: trying again cannot help. */
static int attempt(fetch *f, const dv_artifact *a, int dir, const char *name, bool *ret_final,
                   dv_error *err)
{
    const dv_artifact_fetch *job = f->job;
    *ret_final = true;
    char tmp[96];
    snprintf(tmp, sizeof(tmp), TMP_PREFIX "%d-%" PRIx64 ".tmp", (int)getpid(),
             (uint64_t)dv_monotonic_ns());
    _cleanup_close_ int fd =
        openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return dv_error_errno(err, errno, "create a temp file for %s", a->target);
    __attribute__((cleanup(md_freep))) EVP_MD_CTX *md = md_new(a);
    f->fd = fd;
    f->md = md;
    f->write_errno = 0;
    f->last_post_ns = dv_monotonic_ns();
    f->last_decile = 0;

    CURL *c = curl_easy_init();
    if (!c)
        dv_oom("curl handle");
    struct curl_slist *headers = NULL;
    for (size_t i = 0; i < a->headers.n; i++) {
        /* "K;" is libcurl's way of sending a header with an empty value. */
        _cleanup_free_ char *line =
            a->headers.v[i].value[0]
                ? dv_xasprintf("%s: %s", a->headers.v[i].key, a->headers.v[i].value)
                : dv_xasprintf("%s;", a->headers.v[i].key);
        struct curl_slist *next = curl_slist_append(headers, line);
        if (!next)
            dv_oom("curl header list");
        headers = next;
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, a->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, a->local ? "file" : "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, MAX_REDIRS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(total_timeout_ns(job) / DV_NSEC_PER_MSEC));
    if (job->activity_timeout_ns > 0) {
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(
            c, CURLOPT_LOW_SPEED_TIME,
            (long)((job->activity_timeout_ns + DV_NSEC_PER_SEC - 1) / DV_NSEC_PER_SEC));
    }
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* a worker thread: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_USERAGENT, "dockvisor");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);

    int r = 0;
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        r = dv_error_set(err, -ECANCELED, "download cancelled");
    } else if (rc == CURLE_WRITE_ERROR && f->write_errno) {
        r = dv_error_set(err, -f->write_errno, "write %s: %s", a->target, strerror(f->write_errno));
    } else if (rc == CURLE_HTTP_RETURNED_ERROR) {
        r = dv_error_set(err, -EIO, "HTTP %ld", status);
        err->http_status = (int)status;
        *ret_final = status < 500;
    } else if (rc != CURLE_OK) {
        r = dv_error_set(err, -EIO, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        /* What the network may fix; a bad URL, scheme or local file it will not. */
        *ret_final = a->local || rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT ||
                     rc == CURLE_TOO_MANY_REDIRECTS;
    }
    if (r == 0 && md) {
        char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
        hex_digest(md, hex, sizeof(hex));
        if (strcmp(hex, a->checksum_hex) != 0)
            r = dv_error_set(err, -EBADMSG, "checksum mismatch: expected %s:%s, got %s:%s",
                             a->checksum_type, a->checksum_hex, a->checksum_type, hex);
    }
    if (r == 0 && fsync(fd) < 0)
        r = dv_error_errno(err, errno, "fsync %s", a->target);
    if (r == 0 && renameat(dir, tmp, dir, name) < 0)
        r = dv_error_errno(err, errno, "rename into %s", a->target);
    if (r < 0) {
        unlinkat(dir, tmp, 0);
        return r;
    }
    fsync(dir); /* the rename itself must survive a crash for "fetched once" to hold */
    *ret_final = false;
    return 0;
}

/* Remove the temp files an interrupted download (the agent killed mid-way) left
 * in DIR: they would hold the task's disk space for good. Only one job of a
 * task runs at a time, so none of them is being written. */
static void remove_stale_temps(int dir)
{
    int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 && n > 4 &&
            strcmp(e->d_name + n - 4, ".tmp") == 0)
            unlinkat(dir, e->d_name, 0);
    }
    closedir(d);
}

/* Sleep NS unless the job is cancelled first (false then). */
static bool backoff(const dv_artifact_fetch *job, int64_t ns)
{
    const struct timespec step = {.tv_nsec = 100 * DV_NSEC_PER_MSEC};
    for (int64_t slept = 0; slept < ns; slept += step.tv_nsec) {
        if (cancelled(job))
            return false;
        nanosleep(&step, NULL);
    }
    return !cancelled(job);
}

static int fetch_one(const dv_artifact_fetch *job, int root, size_t i, dv_error *err)
{
    const dv_artifact *a = &job->spec->artifacts[i];
    if (a->local && !job->allow_local)
        return dv_error_set(err, -EPERM,
                            "source: a local file source reads the host: not allowed on this "
                            "agent (docker.volumes.enabled is false)");
    const char *slash = strrchr(a->target, '/');
    _cleanup_free_ char *dir_rel =
        slash ? dv_xstrndup(a->target, (size_t)(slash - a->target)) : dv_xstrdup("");
    const char *name = slash ? slash + 1 : a->target;
    _cleanup_close_ int dir = open_dir_chain(root, dir_rel, err);
    if (dir < 0)
        return dir;
    _cleanup_free_ char *shown = shown_source(a->source);
    if (in_place(dir, name, a)) {
        note(job, "Downloading Artifacts", false, "%s is in place already (artifact[%zu])",
             a->target, i);
        return 0;
    }
    remove_stale_temps(dir);
    note(job, "Downloading Artifacts", false, "downloading %s (%zu of %zu)", shown, i + 1,
         job->spec->n_artifacts);
    fetch f = {.job = job, .index = i, .fd = -1};
    int64_t delay = DV_NSEC_PER_SEC;
    for (int n = 1;; n++) {
        bool final;
        int r = attempt(&f, a, dir, name, &final, err);
        if (r == 0)
            return 0;
        dv_error_wrap(err, "%s", shown);
        err->recoverable = !final;
        if (final || n == ATTEMPTS || r == -ECANCELED)
            return r;
        note(job, "Downloading Artifacts", false, "artifact[%zu]: %s; trying again (%d of %d)", i,
             err->msg, n + 1, ATTEMPTS);
        if (!backoff(job, delay))
            return dv_error_set(err, -ECANCELED, "download cancelled");
        delay *= 2;
    }
}

int dv_artifacts_fetch(const dv_artifact_fetch *f, dv_error *err)
{
    const dv_task_spec *spec = f->spec;
    if (!spec->n_artifacts)
        return 0;
    _cleanup_close_ int root = open(f->task_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return dv_error_errno(err, errno, "open %s", f->task_dir);
    for (size_t i = 0; i < spec->n_artifacts; i++) {
        int r = fetch_one(f, root, i, err);
        if (r < 0) {
            bool recoverable = err->recoverable;
            dv_error_wrap(err, "artifact[%zu]", i);
            err->recoverable = recoverable;
            err->unreachable = false;
            note(f, "Failed Artifact Download", false, "%s", err->msg);
            return r;
        }
    }
    return 0;
}
