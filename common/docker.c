/* Client construction (endpoint resolution), API version negotiation, system calls
 * and the small helpers shared by the endpoint wrappers. */
#include "docker_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "xalloc.h"

struct dv_docker {
    char *endpoint; /* as resolved, for messages */
    char *base_url;
    char *unix_path;
    bool tls;
    char *tls_cert;
    char *tls_key;
    char *tls_ca;
    int64_t timeout_ns;

    pthread_mutex_t negotiate_lock; /* guards negotiating; never held across a call */
    pthread_cond_t negotiated_cond; /* CLOCK_MONOTONIC; a negotiation ended */
    bool negotiating;               /* a caller is asking GET /version right now */
    atomic_bool negotiated;         /* release-store after api_version is written */
    char api_version[16];

    dv_docker_metrics *metrics; /* thread-safe on its own (docker_metrics.c) */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_ALL);
}

const char *dv_docker_base_url(const dv_docker *dk)
{
    return dk->base_url;
}
const char *dv_docker_unix_path(const dv_docker *dk)
{
    return dk->unix_path;
}
bool dv_docker_tls(const dv_docker *dk)
{
    return dk->tls;
}
const char *dv_docker_tls_cert(const dv_docker *dk)
{
    return dk->tls_cert;
}
const char *dv_docker_tls_key(const dv_docker *dk)
{
    return dk->tls_key;
}
const char *dv_docker_tls_ca(const dv_docker *dk)
{
    return dk->tls_ca;
}
int64_t dv_docker_timeout(const dv_docker *dk)
{
    return dk->timeout_ns;
}
const char *dv_docker_endpoint(const dv_docker *dk)
{
    return dk->endpoint;
}
dv_docker_metrics *dv_docker_metrics_of(dv_docker *dk)
{
    return dk->metrics;
}

void dv_docker_free(dv_docker *dk)
{
    if (!dk)
        return;
    free(dk->endpoint);
    free(dk->base_url);
    free(dk->unix_path);
    free(dk->tls_cert);
    free(dk->tls_key);
    free(dk->tls_ca);
    pthread_mutex_destroy(&dk->negotiate_lock);
    pthread_cond_destroy(&dk->negotiated_cond);
    dv_docker_metrics_free(dk->metrics);
    free(dk);
}

static void freep_docker(dv_docker **dk)
{
    dv_docker_free(*dk);
}

static int dup_opt(char **dst, const char *src)
{
    if (!src || !*src)
        return 0;
    *dst = dv_xstrdup(src);
    return 0;
}

static int check_file(const char *what, const char *path, dv_error *err)
{
    if (path && access(path, R_OK) < 0)
        return dv_error_errno(err, errno, "docker: %s %s", what, path);
    return 0;
}

/* host[:port] of a tcp/http/https endpoint: no path, no user info. */
static int parse_hostport(const char *ep, const char *rest, int default_port, char **ret,
                          dv_error *err)
{
    size_t n = strlen(rest);
    while (n && rest[n - 1] == '/')
        n--;
    if (n == 0 || memchr(rest, '/', n) || memchr(rest, '@', n))
        return dv_error_set(err, -EINVAL, "docker: endpoint %s: expected host:port", ep);
    const char *host_end = rest;
    if (rest[0] == '[') {
        host_end = memchr(rest, ']', n);
        if (!host_end)
            return dv_error_set(err, -EINVAL, "docker: endpoint %s: unterminated [", ep);
    }
    bool has_port = memchr(host_end, ':', n - (size_t)(host_end - rest)) != NULL;
    *ret = has_port ? dv_xasprintf("%.*s", (int)n, rest)
                    : dv_xasprintf("%.*s:%d", (int)n, rest, default_port);
    return 0;
}

static int resolve(dv_docker *dk, const dv_docker_config *c, dv_error *err)
{
    const char *ep = c && c->endpoint && *c->endpoint ? c->endpoint : NULL;
    const char *cert = NULL, *key = NULL, *ca = NULL;
    _cleanup_free_ char *env_cert = NULL, *env_key = NULL, *env_ca = NULL;
    if (ep) {
        cert = c->tls_cert && *c->tls_cert ? c->tls_cert : NULL;
        key = c->tls_key && *c->tls_key ? c->tls_key : NULL;
        ca = c->tls_ca && *c->tls_ca ? c->tls_ca : NULL;
    } else {
        if (c && ((c->tls_cert && *c->tls_cert) || (c->tls_key && *c->tls_key) ||
                  (c->tls_ca && *c->tls_ca)))
            return dv_error_set(err, -EINVAL,
                                "docker: tls cert/key/ca are set but no endpoint is configured");
        const char *host = getenv("DOCKER_HOST");
        ep = host && *host ? host : DV_DOCKER_DEFAULT_ENDPOINT;
        const char *verify = getenv("DOCKER_TLS_VERIFY");
        if (host && *host && verify && *verify) {
            /* As the docker CLI: DOCKER_CERT_PATH, else ~/.docker, holds the three files. */
            const char *dir = getenv("DOCKER_CERT_PATH");
            _cleanup_free_ char *home_dir = NULL;
            if (!dir || !*dir) {
                const char *home = getenv("HOME");
                home_dir = dv_xasprintf("%s/.docker", home && *home ? home : "/root");
                dir = home_dir;
            }
            env_cert = dv_xasprintf("%s/cert.pem", dir);
            env_key = dv_xasprintf("%s/key.pem", dir);
            env_ca = dv_xasprintf("%s/ca.pem", dir);
            cert = env_cert;
            key = env_key;
            ca = env_ca;
        }
    }
    if (!cert != !key)
        return dv_error_set(err, -EINVAL, "docker: TLS needs both a client cert and a key");
    bool tls_files = cert || ca;
    int r;
    if ((r = check_file("tls cert", cert, err)) < 0 || (r = check_file("tls key", key, err)) < 0 ||
        (r = check_file("tls ca", ca, err)) < 0)
        return r;

    if (strncmp(ep, "unix://", 7) == 0) {
        const char *path = ep + 7;
        if (path[0] != '/')
            return dv_error_set(err, -EINVAL, "docker: endpoint %s: expected unix:///absolute/path",
                                ep);
        if (tls_files)
            return dv_error_set(err, -EINVAL, "docker: endpoint %s: TLS needs tcp:// or https://",
                                ep);
        dk->unix_path = dv_xstrdup(path);
        dk->base_url = dv_xstrdup("http://docker");
    } else {
        const char *rest;
        if (strncmp(ep, "tcp://", 6) == 0) {
            rest = ep + 6;
            dk->tls = tls_files;
        } else if (strncmp(ep, "https://", 8) == 0) {
            rest = ep + 8;
            dk->tls = true;
        } else if (strncmp(ep, "http://", 7) == 0) {
            rest = ep + 7;
            if (tls_files)
                return dv_error_set(err, -EINVAL,
                                    "docker: endpoint %s: TLS needs tcp:// or https://", ep);
        } else {
            return dv_error_set(err, -EINVAL,
                                "docker: endpoint %s: unsupported scheme (unix://, tcp://, "
                                "http://, https://)",
                                ep);
        }
        _cleanup_free_ char *hostport = NULL;
        if ((r = parse_hostport(ep, rest, dk->tls ? 2376 : 2375, &hostport, err)) < 0)
            return r;
        dk->base_url = dv_xasprintf("%s://%s", dk->tls ? "https" : "http", hostport);
    }
    dk->endpoint = dv_xstrdup(ep);
    dup_opt(&dk->tls_cert, cert);
    dup_opt(&dk->tls_key, key);
    dup_opt(&dk->tls_ca, ca);
    return 0;
}

int dv_docker_new(const dv_docker_config *config, dv_docker **ret, dv_error *err)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK)
        return dv_error_set(err, -EIO, "docker: curl_global_init: %s",
                            curl_easy_strerror(curl_init_result));
    _cleanup_(freep_docker) dv_docker *dk = dv_xcalloc(1, sizeof(*dk));
    pthread_mutex_init(&dk->negotiate_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&dk->negotiated_cond, &ca);
    pthread_condattr_destroy(&ca);
    dk->metrics = dv_docker_metrics_new();
    int64_t t = config ? config->timeout_ns : 0;
    dk->timeout_ns = t == 0 ? DV_DOCKER_DEFAULT_TIMEOUT_NS : t < 0 ? 0 : t;
    int r = resolve(dk, config, err);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(dk);
    return 0;
}

/* "1.41" → 1041; -1 if not MAJOR.MINOR. */
static long api_number(const char *v)
{
    char *end;
    long major = strtol(v, &end, 10);
    if (end == v || *end != '.')
        return -1;
    const char *m = end + 1;
    long minor = strtol(m, &end, 10);
    if (end == m || *end || major < 0 || minor < 0 || minor > 999)
        return -1;
    return major * 1000 + minor;
}

/* GET /version within TIMEOUT_NS: min(server ApiVersion, ours) into RET_VERSION. */
static int ask_version(dv_docker *dk, dv_cancel *cancel, int64_t timeout_ns, char *ret_version,
                       dv_error *err)
{
    dv_docker_request req = {.method = "GET",
                             .path = "/version",
                             .unversioned = true,
                             .timeout_ns = timeout_ns > 1000000 ? timeout_ns : 1000000,
                             .cancel = cancel};
    _cleanup_json_ json_t *v = NULL;
    int r = dv_docker_do_json(dk, &req, &v, err);
    if (r < 0)
        return r;
    const char *server = json_string_value(json_object_get(v, "ApiVersion"));
    const char *min = json_string_value(json_object_get(v, "MinAPIVersion"));
    long s = server ? api_number(server) : -1;
    long ours = api_number(DV_DOCKER_API_MAX);
    if (s < 0)
        return dv_error_set(err, -EPROTO, "docker: GET /version: no valid ApiVersion");
    if (min && api_number(min) > ours)
        return dv_error_set(err, -EPROTONOSUPPORT,
                            "docker: the daemon at %s needs API >= %s, we speak <= %s",
                            dk->endpoint, min, DV_DOCKER_API_MAX);
    snprintf(ret_version, 16, "%s", s < ours ? server : DV_DOCKER_API_MAX);
    return 0;
}

int dv_docker_negotiate_cancellable(dv_docker *dk, dv_cancel *cancel, dv_error *err)
{
    if (atomic_load_explicit(&dk->negotiated, memory_order_acquire))
        return 0;
    int64_t limit = dk->timeout_ns > 0 && dk->timeout_ns < DV_DOCKER_NEGOTIATE_TIMEOUT_NS
                        ? dk->timeout_ns
                        : DV_DOCKER_NEGOTIATE_TIMEOUT_NS;
    int64_t deadline = dv_monotonic_ns() + limit;
    pthread_mutex_lock(&dk->negotiate_lock);
    /* One caller asks while the others wait, but never holding the lock across the
     * call, and each waiter still bounded by its own cancel and the deadline: a
     * daemon that accepts and never answers must not wedge every thread. */
    while (!atomic_load_explicit(&dk->negotiated, memory_order_relaxed) && dk->negotiating) {
        if (cancel && dv_cancel_requested(cancel)) {
            pthread_mutex_unlock(&dk->negotiate_lock);
            return dv_error_set(err, -ECANCELED, "docker: GET /version: cancelled");
        }
        if (dv_monotonic_ns() >= deadline) {
            pthread_mutex_unlock(&dk->negotiate_lock);
            char d[32];
            dv_duration_format(limit, d, sizeof(d));
            int r = dv_error_set(err, -ETIMEDOUT,
                                 "docker: GET /version: the daemon at %s did not answer within %s",
                                 dk->endpoint, d);
            if (err)
                err->recoverable = true;
            return r;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&dk->negotiated_cond, &dk->negotiate_lock, &ts);
    }
    if (atomic_load_explicit(&dk->negotiated, memory_order_relaxed)) {
        pthread_mutex_unlock(&dk->negotiate_lock);
        return 0;
    }
    dk->negotiating = true;
    pthread_mutex_unlock(&dk->negotiate_lock);

    char version[sizeof(dk->api_version)] = "";
    int r = ask_version(dk, cancel, deadline - dv_monotonic_ns(), version, err);

    pthread_mutex_lock(&dk->negotiate_lock);
    dk->negotiating = false;
    if (r == 0) {
        memcpy(dk->api_version, version, sizeof(version));
        atomic_store_explicit(&dk->negotiated, true, memory_order_release);
    }
    pthread_cond_broadcast(&dk->negotiated_cond); /* a failure lets a waiter try itself */
    pthread_mutex_unlock(&dk->negotiate_lock);
    return r;
}

int dv_docker_negotiate(dv_docker *dk, dv_error *err)
{
    return dv_docker_negotiate_cancellable(dk, NULL, err);
}

const char *dv_docker_api_version(dv_docker *dk)
{
    return atomic_load_explicit(&dk->negotiated, memory_order_acquire) ? dk->api_version : NULL;
}

bool dv_docker_is_not_found(const dv_error *err)
{
    return err && err->http_status == 404;
}
bool dv_docker_is_conflict(const dv_error *err)
{
    return err && err->http_status == 409;
}
bool dv_docker_is_not_modified(const dv_error *err)
{
    return err && err->http_status == 304;
}

void dv_cancel_request(dv_cancel *c)
{
    atomic_store(&c->requested, true);
}
bool dv_cancel_requested(const dv_cancel *c)
{
    return atomic_load((atomic_bool *)&c->requested);
}

int dv_docker_ping(dv_docker *dk, dv_error *err)
{
    dv_docker_request req = {.method = "GET",
                             .path = "/_ping",
                             .unversioned = true,
                             .timeout_ns = DV_DOCKER_TIMEOUT_CLIENT};
    dv_docker_response resp = {0};
    int r = dv_docker_do(dk, &req, &resp, err);
    dv_docker_response_clear(&resp);
    return r;
}

int dv_docker_version(dv_docker *dk, json_t **ret, dv_error *err)
{
    dv_docker_request req = {.method = "GET",
                             .path = "/version",
                             .unversioned = true,
                             .timeout_ns = DV_DOCKER_TIMEOUT_CLIENT};
    json_t *j = NULL;
    int r = dv_docker_do_json(dk, &req, &j, err);
    if (r < 0)
        return r;
    if (!json_is_object(j)) {
        json_decref(j);
        return dv_docker_fail(&req, err, -EBADMSG, "expected a JSON object");
    }
    *ret = j;
    return 0;
}

int dv_docker_info(dv_docker *dk, json_t **ret, dv_error *err)
{
    return dv_docker_call(dk, "GET", "/info", NULL, ret, err);
}

char *dv_docker_dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

int dv_docker_call(dv_docker *dk, const char *method, const char *path, const json_t *body,
                   json_t **ret, dv_error *err)
{
    _cleanup_free_ char *text = body ? dv_docker_dump(body) : NULL;
    dv_docker_request req = {
        .method = method, .path = path, .body = text, .timeout_ns = DV_DOCKER_TIMEOUT_CLIENT};
    return dv_docker_do_json(dk, &req, ret, err);
}

void dv_docker_escape(dv_buf *b, const char *s, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~' || (keep && strchr(keep, *p)))
            dv_buf_xappend(b, p, 1);
        else
            dv_buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

int dv_docker_path(dv_buf *b, const char *prefix, const char *id, const char *keep, dv_error *err,
                   const char *suffix_fmt, ...)
{
    if (!id || !*id)
        return dv_error_set(err, -EINVAL, "docker: %s: empty name or id", prefix);
    dv_buf_appends(b, prefix);
    dv_docker_escape(b, id, keep);
    if (suffix_fmt) {
        va_list ap;
        va_start(ap, suffix_fmt);
        int r = dv_buf_vprintf(b, suffix_fmt, ap);
        va_end(ap);
        if (r < 0)
            return dv_error_set(err, r, "docker: %s: cannot format the path", prefix);
    }
    return 0;
}

int dv_docker_simple(dv_docker *dk, const char *method, const char *path, int64_t timeout_ns,
                     dv_error *err)
{
    dv_docker_request req = {.method = method, .path = path, .timeout_ns = timeout_ns};
    dv_docker_response resp = {0};
    int r = dv_docker_do(dk, &req, &resp, err);
    dv_docker_response_clear(&resp);
    return r;
}
