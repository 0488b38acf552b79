#include "api_client.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <curl/curl.h>

#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "xalloc.h"

struct dv_api_client {
    char *socket;
    int64_t call_timeout_ns; /* dv_api_call: 0 = none */
};

int dv_api_client_new(const char *address, dv_api_client **ret, dv_error *err)
{
    if (!address || !*address)
        address = getenv(DV_API_ADDR_ENV);
    if (!address || !*address)
        address = DV_API_DEFAULT_SOCKET;
    const char *path = address;
    if (strncmp(address, "unix://", 7) == 0)
        path = address + 7;
    else if (strstr(address, "://"))
        return dv_error_set(err, -EINVAL,
                            "agent address \"%s\": only unix:///path or a socket path is supported",
                            address);
    if (!*path)
        return dv_error_set(err, -EINVAL, "agent address \"%s\" has no path", address);
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return dv_error_set(err, -ENAMETOOLONG,
                            "agent address \"%s\": a socket path has at most %zu characters",
                            address, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return dv_error_set(err, -EIO, "cannot initialize libcurl");
    dv_api_client *c = dv_xcalloc(1, sizeof(*c));
    c->socket = dv_xstrdup(path);
    *ret = c;
    return 0;
}

void dv_api_client_free(dv_api_client *c)
{
    if (!c)
        return;
    free(c->socket);
    free(c);
}

void dv_api_client_set_call_timeout(dv_api_client *c, int64_t timeout_ns)
{
    c->call_timeout_ns = timeout_ns > 0 ? timeout_ns : 0;
}

const char *dv_api_client_socket(const dv_api_client *c)
{
    return c->socket;
}

char *dv_api_escape(const char *text)
{
    char *e = curl_easy_escape(NULL, text, 0);
    if (!e) /* libcurl fails it only when it cannot allocate */
        dv_oom("curl_easy_escape");
    char *copy = dv_xstrdup(e);
    curl_free(e);
    return copy;
}

struct xfer {
    dv_buf body;
    CURL *curl;
    long status;
    dv_api_data_fn on_data;
    dv_api_idle_fn on_idle;
    void *userdata;
    int64_t quiet_since; /* monotonic ns of the last data (or the last idle call) */
    int64_t timeout_ns;  /* the whole request; 0 = none */
    bool stopped;
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t len = size * nmemb;
    if (!x->status)
        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
    x->quiet_since = dv_monotonic_ns();
    if (x->on_data && x->status < 400) {
        if (x->on_data(data, len, x->userdata) != 0) {
            x->stopped = true;
            return 0; /* aborts the transfer */
        }
        return len;
    }
    if (dv_buf_append(&x->body, data, len) < 0)
        return 0;
    return len;
}

/* libcurl calls this at least once a second during a transfer. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    struct xfer *x = userdata;
    int64_t now = dv_monotonic_ns();
    if (!x->on_idle || x->status >= 400 || now - x->quiet_since < DV_NSEC_PER_SEC)
        return 0;
    x->quiet_since = now;
    if (x->on_idle(x->userdata) != 0) {
        x->stopped = true;
        return 1; /* aborts the transfer */
    }
    return 0;
}

static void owner_text(const struct stat *st, char *buf, size_t size)
{
    struct passwd *pw = getpwuid(st->st_uid);
    struct group *gr = getgrgid(st->st_gid);
    char u[32], g[32];
    snprintf(u, sizeof(u), "%u", (unsigned)st->st_uid);
    snprintf(g, sizeof(g), "%u", (unsigned)st->st_gid);
    snprintf(buf, size, "owner %s:%s, mode %04o", pw ? pw->pw_name : u, gr ? gr->gr_name : g,
             (unsigned)(st->st_mode & 07777));
}

/* What the failed connect() means for an operator (curl only says "Couldn't connect"). */
static int connect_error(const dv_api_client *c, long os_errno, dv_error *err)
{
    struct stat st;
    bool exists = stat(c->socket, &st) == 0;
    char owner[128];
    switch (os_errno) {
    case ENOENT:
        return dv_error_set(err, -ECONNREFUSED,
                            "no agent socket at %s: is `dockvisor agent` running? (if it listens "
                            "elsewhere: -address or " DV_API_ADDR_ENV ")",
                            c->socket);
    case EACCES:
    case EPERM:
        if (!exists)
            return dv_error_set(err, -EACCES,
                                "permission denied on %s: a directory above it is not accessible "
                                "to this user; run as root",
                                c->socket);
        owner_text(&st, owner, sizeof(owner));
        return dv_error_set(err, -EACCES,
                            "permission denied on %s (%s): run as root or as a member of the "
                            "socket's group",
                            c->socket, owner);
    case ECONNREFUSED:
        if (exists && !S_ISSOCK(st.st_mode))
            return dv_error_set(err, -ECONNREFUSED,
                                "%s is not a socket: -address or " DV_API_ADDR_ENV
                                " must name the agent's socket",
                                c->socket);
        return dv_error_set(err, -ECONNREFUSED,
                            "nothing listens on %s: the agent is not running (the socket was left "
                            "by one that stopped)",
                            c->socket);
    default:
        return dv_error_set(err, os_errno > 0 ? -(int)os_errno : -ECONNREFUSED,
                            "cannot connect to the agent at %s: %s", c->socket,
                            os_errno > 0 ? strerror((int)os_errno) : "connection failed");
    }
}

static int transport_error(const dv_api_client *c, CURLcode code, long os_errno, const char *detail,
                           int64_t timeout_ns, dv_error *err)
{
    if (code == CURLE_OPERATION_TIMEDOUT && timeout_ns > 0) {
        char d[32];
        dv_duration_format(timeout_ns, d, sizeof(d));
        return dv_error_set(err, -ETIMEDOUT,
                            "the agent at %s did not answer within %s (it may be waiting for "
                            "Docker; its log says more)",
                            c->socket, d);
    }
    if (code == CURLE_COULDNT_CONNECT)
        return connect_error(c, os_errno, err);
    if (code == CURLE_PARTIAL_FILE || code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING)
        return dv_error_set(err, -EPIPE,
                            "the agent at %s closed the connection before the end of its answer",
                            c->socket);
    return dv_error_set(err, -EIO, "agent at %s: %s", c->socket,
                        detail && *detail ? detail : curl_easy_strerror(code));
}

static int perform(dv_api_client *c, const char *method, const char *path, const json_t *body,
                   struct xfer *x, dv_error *err)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return dv_error_set(err, -ENOMEM, "out of memory");
    x->curl = curl;
    x->quiet_since = dv_monotonic_ns();
    _cleanup_free_ char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    _cleanup_free_ char *url = dv_xasprintf("http://localhost%s", path);
    struct curl_slist *headers = NULL;
    if (payload)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, c->socket);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (x->timeout_ns > 0)
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(x->timeout_ns / DV_NSEC_PER_MSEC));
    if (x->on_idle) {
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, x);
    }
    if (payload) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode rc = curl_easy_perform(curl);
    long os_errno = 0;
    if (!x->status)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &x->status);
    curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    x->curl = NULL;
    bool stopped_by_us = x->stopped && (rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK);
    if (rc != CURLE_OK && !stopped_by_us)
        return transport_error(c, rc, os_errno, errbuf, x->timeout_ns, err);
    return 0;
}

static json_t *parse_body(const dv_buf *b)
{
    json_t *j = b->len ? json_loadb(b->data, b->len, 0, NULL) : NULL;
    return j ? j : json_null();
}

int dv_api_call(dv_api_client *c, const char *method, const char *path, const json_t *body,
                long *ret_status, json_t **ret_body, dv_error *err)
{
    struct xfer x = {.timeout_ns = c->call_timeout_ns};
    int r = perform(c, method, path, body, &x, err);
    if (r < 0) {
        dv_buf_free(&x.body);
        return r;
    }
    if (ret_status)
        *ret_status = x.status;
    if (ret_body)
        *ret_body = parse_body(&x.body);
    dv_buf_free(&x.body);
    return 0;
}

static int status_error(long status, const json_t *body, const dv_buf *raw, dv_error *err)
{
    const char *msg = json_string_value(json_object_get(body, "error"));
    int code = status == 404   ? -ENOENT
               : status == 409 ? -EBUSY
               : status == 400 ? -EINVAL
               : status == 503 ? -EAGAIN
               : status == 504 ? -ETIMEDOUT
                               : -EIO;
    dv_error_set(err, code, "%s",
                 msg               ? msg
                 : raw && raw->len ? raw->data
                 : status == 503   ? "the agent cannot take this request now"
                                   : "request failed");
    if (err)
        err->http_status = (int)status;
    return code;
}

int dv_api_call_ok(dv_api_client *c, const char *method, const char *path, const json_t *body,
                   json_t **ret_body, dv_error *err)
{
    long status = 0;
    _cleanup_json_ json_t *answer = NULL;
    int r = dv_api_call(c, method, path, body, &status, &answer, err);
    if (r < 0)
        return r;
    if (status >= 400)
        return status_error(status, answer, NULL, err);
    if (ret_body)
        *ret_body = TAKE_PTR(answer);
    return 0;
}

int dv_api_stream_idle(dv_api_client *c, const char *method, const char *path, const json_t *body,
                       dv_api_data_fn on_data, dv_api_idle_fn on_idle, void *userdata,
                       dv_error *err)
{
    struct xfer x = {.on_data = on_data, .on_idle = on_idle, .userdata = userdata};
    int r = perform(c, method, path, body, &x, err);
    if (r == 0 && x.status >= 400) {
        _cleanup_json_ json_t *j = parse_body(&x.body);
        r = status_error(x.status, j, &x.body, err);
    }
    dv_buf_free(&x.body);
    return r;
}

int dv_api_stream(dv_api_client *c, const char *method, const char *path, const json_t *body,
                  dv_api_data_fn on_data, void *userdata, dv_error *err)
{
    return dv_api_stream_idle(c, method, path, body, on_data, NULL, userdata, err);
}
