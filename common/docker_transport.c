/* The request engine: one curl easy handle (driven by its own multi handle) per call,
 * so calls from many threads never share curl state. The multi loop wakes at least
 * every 100 ms when the call can be cancelled or has an activity timeout, which is
 * what makes dv_cancel_request() prompt (curl's own progress callback can be as rare
 * as once a second on an idle connection). */
#include "docker_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "cleanup.h"
#include "clock.h"
#include "duration.h"
#include "xalloc.h"
#include "version.h"

/* Buffered answers (inspect, list...) larger than this are refused rather than
 * growing without bound on a confused daemon. */
#define MAX_BUFFERED_BODY ((size_t)256 << 20)
#define CONNECT_TIMEOUT_MS 30000L
#define POLL_SHORT_MS 100
#define POLL_LONG_MS 1000

enum abort_reason {
    ABORT_NONE,
    ABORT_STOPPED,   /* the data callback asked to stop: success */
    ABORT_FAILED,    /* the data callback failed: its error */
    ABORT_TOO_BIG,   /* buffered body over MAX_BUFFERED_BODY */
    ABORT_CANCELLED, /* dv_cancel_request */
    ABORT_INACTIVE,  /* activity timeout */
};

typedef struct transfer {
    const dv_docker_request *req;
    dv_docker_response *resp;
    CURL *h;
    enum abort_reason abort;
    dv_error cb_err;
    int64_t own_activity;
    int64_t *activity;
    bool opened; /* on_open was called */
} transfer;

void dv_docker_response_clear(dv_docker_response *r)
{
    dv_buf_free(&r->body);
    r->status = 0;
}

/* The path as shown in messages: without the query string, which may be long
 * (filters) and is not what an operator needs. */
static int path_len(const char *path)
{
    size_t n = strcspn(path, "?");
    return n > 200 ? 200 : (int)n;
}

int dv_docker_fail(const dv_docker_request *req, dv_error *err, int code, const char *fmt, ...)
{
    char detail[DV_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return dv_error_set(err, code, "docker: %s %.*s: %s", req->method, path_len(req->path),
                        req->path, detail);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    transfer *t = userdata;
    size_t len = size * nmemb;
    long status = 0;
    curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
    if (t->req->on_data && status >= 200 && status < 300) {
        if (!t->req->last_activity_ns)
            *t->activity = dv_monotonic_ns();
        int r = t->req->on_data(data, len, t->req->userdata, &t->cb_err);
        if (r == 0)
            return len;
        t->abort = r > 0 ? ABORT_STOPPED : ABORT_FAILED;
        if (r < 0 && t->cb_err.code == 0)
            t->cb_err.code = r;
        return 0; /* anything but LEN makes curl stop the transfer */
    }
    *t->activity = dv_monotonic_ns();
    if (t->resp->body.len + len > MAX_BUFFERED_BODY) {
        t->abort = ABORT_TOO_BIG;
        return 0;
    }
    if (dv_buf_append(&t->resp->body, data, len) < 0) {
        t->abort = ABORT_FAILED;
        dv_error_set(&t->cb_err, -ENOMEM, "out of memory buffering the answer");
        return 0;
    }
    return len;
}

/* Header lines of the answer; the empty line ends them (also after a 1xx). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    transfer *t = userdata;
    size_t len = size * nmemb;
    if (!t->opened && (len == 2 || len == 1) && (data[0] == '\r' || data[0] == '\n')) {
        long status = 0;
        curl_easy_getinfo(t->h, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            t->opened = true;
            t->req->on_open(t->req->userdata);
        }
    }
    return len;
}

static size_t on_read(char *buffer, size_t size, size_t nitems, void *userdata)
{
    transfer *t = userdata;
    ssize_t n;
    do
        n = read(t->req->upload_fd, buffer, size * nitems);
    while (n < 0 && errno == EINTR);
    return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
}

/* curl does not create its sockets close-on-exec; the agent forks docklog helpers,
 * which must not inherit (and keep open) Engine API connections. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    (void)clientp;
    (void)purpose;
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

static const char *reason_phrase(long status)
{
    switch (status) {
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status >= 500 ? "Server Error" : "Error";
    }
}

static int http_error(const dv_docker_request *req, const dv_docker_response *resp, dv_error *err)
{
    long s = resp->status;
    int code = s == 404               ? -ENOENT
               : s == 409             ? -EBUSY
               : s == 304             ? -EALREADY
               : s == 400             ? -EINVAL
               : s == 401 || s == 403 ? -EACCES
               : s >= 500             ? -EIO
                                      : -EPROTO;
    /* Docker answers {"message": "..."}; anything else is shown as text, trimmed. */
    char text[512] = "";
    if (resp->body.len) {
        json_t *j = json_loadb(resp->body.data, resp->body.len, 0, NULL);
        const char *m = json_is_object(j) ? json_string_value(json_object_get(j, "message")) : NULL;
        if (m)
            snprintf(text, sizeof(text), "%s", m);
        else
            snprintf(text, sizeof(text), "%.*s", (int)(resp->body.len < 300 ? resp->body.len : 300),
                     resp->body.data);
        json_decref(j);
        size_t n = strlen(text);
        while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
            text[--n] = '\0';
    }
    if (text[0])
        dv_docker_fail(req, err, code, "%ld %s: %s", s, reason_phrase(s), text);
    else
        dv_docker_fail(req, err, code, "%ld %s", s, reason_phrase(s));
    if (err) {
        err->http_status = (int)s;
        err->recoverable = s >= 500;
    }
    return code;
}

static int curl_error(dv_docker *dk, const dv_docker_request *req, CURL *h, CURLcode cc,
                      const char *errbuf, dv_error *err)
{
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    long os_errno = 0;
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    int code;
    bool recoverable = false;
    /* No answer at all: the Engine is down or restarting. Callers wait it out
     * instead of failing what they were doing (DESIGN.md "Engine outages"). */
    bool unreachable = false;
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT: {
        char d[64];
        int64_t t =
            req->timeout_ns == DV_DOCKER_TIMEOUT_CLIENT ? dv_docker_timeout(dk) : req->timeout_ns;
        dv_duration_format(t, d, sizeof(d));
        code = dv_docker_fail(req, err, -ETIMEDOUT, "timed out after %s (%s)", d, detail);
        recoverable = true;
        break;
    }
    case CURLE_COULDNT_CONNECT:
        code = -(os_errno > 0 ? (int)os_errno : ECONNREFUSED);
        dv_docker_fail(req, err, code, "cannot connect to %s: %s", dv_docker_endpoint(dk),
                       os_errno > 0 ? strerror((int)os_errno) : detail);
        recoverable = unreachable = true;
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
        code = dv_docker_fail(req, err, -EHOSTUNREACH, "cannot resolve the host of %s: %s",
                              dv_docker_endpoint(dk), detail);
        recoverable = unreachable = true;
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        /* The daemon went away mid-call (EOF, reset): Nomad retries these. */
        code = dv_docker_fail(req, err, -ECONNRESET, "connection to %s lost (EOF): %s",
                              dv_docker_endpoint(dk), detail);
        recoverable = unreachable = true;
        break;
    case CURLE_PEER_FAILED_VERIFICATION:
        if (strstr(detail, "host name")) {
            code = dv_docker_fail(req, err, -EACCES,
                                  "TLS: the certificate of %s is not valid for that host: %s",
                                  dv_docker_endpoint(dk), detail);
            break;
        }
        code = dv_docker_fail(req, err, -EACCES,
                              "TLS: the certificate of %s is not trusted (CA %s): %s",
                              dv_docker_endpoint(dk),
                              dv_docker_tls_ca(dk) ? dv_docker_tls_ca(dk) : "system store", detail);
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
        code = dv_docker_fail(req, err, -EACCES, "TLS with %s failed: %s", dv_docker_endpoint(dk),
                              detail);
        break;
    case CURLE_READ_ERROR:
        code = dv_docker_fail(req, err, -EIO, "reading %s failed: %s",
                              req->upload_name ? req->upload_name : "the request body", detail);
        break;
    default:
        code = dv_docker_fail(req, err, -EIO, "%s", detail);
        break;
    }
    if (err) {
        err->recoverable = recoverable;
        err->unreachable = unreachable;
    }
    return code;
}

/* curl_slist_append fails only for lack of memory. */
static struct curl_slist *add_header(struct curl_slist *list, const char *h)
{
    struct curl_slist *n = curl_slist_append(list, h);
    if (!n)
        dv_oom("curl header");
    return n;
}

static int setup(dv_docker *dk, transfer *t, struct curl_slist **headers, char *errbuf,
                 dv_error *err)
{
    const dv_docker_request *req = t->req;
    CURL *h = t->h;
    _cleanup_buf_ dv_buf url = DV_BUF_INIT;
    dv_buf_appends(&url, dv_docker_base_url(dk));
    if (!req->unversioned)
        dv_buf_printf(&url, "/v%s", dv_docker_api_version(dk));
    dv_buf_appends(&url, req->path);

    /* No "Expect: 100-continue" round trip for uploads; no default form content type. */
    *headers = add_header(*headers, "Expect:");
    *headers = add_header(*headers, req->body          ? "Content-Type: application/json"
                                    : req->upload_name ? "Content-Type: application/x-tar"
                                                       : "Content-Type:");
    if (req->registry_auth) {
        _cleanup_free_ char *auth = dv_xasprintf("X-Registry-Auth: %s", req->registry_auth);
        *headers = add_header(*headers, auth);
    }

    curl_easy_setopt(h, CURLOPT_URL, url.data);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    if (req->on_open) {
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
    }
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    /* Streams without a deadline must still notice a peer that vanished (TCP). */
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, (const char *)dv_user_agent);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (dv_docker_unix_path(dk))
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, dv_docker_unix_path(dk));
    if (dv_docker_tls(dk)) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        if (dv_docker_tls_cert(dk))
            curl_easy_setopt(h, CURLOPT_SSLCERT, dv_docker_tls_cert(dk));
        if (dv_docker_tls_key(dk))
            curl_easy_setopt(h, CURLOPT_SSLKEY, dv_docker_tls_key(dk));
        if (dv_docker_tls_ca(dk)) {
            /* The configured CA is the only trust anchor, as with docker's tlsverify. */
            curl_easy_setopt(h, CURLOPT_CAINFO, dv_docker_tls_ca(dk));
            curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
        }
    }
    int64_t timeout =
        req->timeout_ns == DV_DOCKER_TIMEOUT_CLIENT ? dv_docker_timeout(dk) : req->timeout_ns;
    if (timeout > 0) {
        long ms = (long)((timeout + 999999) / 1000000);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
        if (ms < CONNECT_TIMEOUT_MS)
            curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
    }

    if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        if (req->upload_name) {
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(h, CURLOPT_READDATA, t);
        } else {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                             (curl_off_t)(req->body ? strlen(req->body) : 0));
        }
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    if (req->upload_name) {
        struct stat st;
        off_t at;
        if (fstat(req->upload_fd, &st) < 0 || (at = lseek(req->upload_fd, 0, SEEK_CUR)) < 0)
            return dv_docker_fail(req, err, -errno, "%s: %s", req->upload_name, strerror(errno));
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(st.st_size > at ? st.st_size - at : 0));
    }
    return 0;
}

static bool inactive(const transfer *t)
{
    return t->req->activity_timeout_ns > 0 &&
           dv_monotonic_ns() - *t->activity > t->req->activity_timeout_ns;
}

/* Drive the transfer to its end, or until cancelled / inactive. */
static CURLcode run(transfer *t)
{
    /* curl 7.88 creates the wakeup socketpair of every multi handle without
     * close-on-exec, and offers no way to reach it. It is left so: every child the
     * agent starts gets only stdio (docklog and credential helpers are spawned with
     * closefrom(3), docklog units are started by systemd), so an inheritable fd cannot
     * leak into one. The /proc/self/fd scans that used to fix it cost two directory
     * reads per Engine call. */
    CURLM *m = curl_multi_init();
    if (!m)
        return CURLE_OUT_OF_MEMORY;
    CURLcode cc = CURLE_OK;
    if (curl_multi_add_handle(m, t->h) != CURLM_OK) {
        curl_multi_cleanup(m);
        return CURLE_OUT_OF_MEMORY;
    }
    bool watch = t->req->cancel || t->req->activity_timeout_ns > 0;
    for (;;) {
        int running = 0;
        CURLMcode mc = curl_multi_perform(m, &running);
        if (mc != CURLM_OK) {
            cc = CURLE_FAILED_INIT;
            break;
        }
        if (!running) {
            int left;
            CURLMsg *msg;
            while ((msg = curl_multi_info_read(m, &left)))
                if (msg->msg == CURLMSG_DONE)
                    cc = msg->data.result;
            break;
        }
        if (t->req->cancel && dv_cancel_requested(t->req->cancel)) {
            t->abort = ABORT_CANCELLED;
            break;
        }
        if (inactive(t)) {
            t->abort = ABORT_INACTIVE;
            break;
        }
        curl_multi_poll(m, NULL, 0, watch ? POLL_SHORT_MS : POLL_LONG_MS, NULL);
    }
    curl_multi_remove_handle(m, t->h);
    curl_multi_cleanup(m);
    return cc;
}

static int do_request(dv_docker *dk, const dv_docker_request *req, dv_docker_response *resp,
                      dv_error *err)
{
    if (!req->unversioned) {
        int r = dv_docker_negotiate_cancellable(dk, req->cancel, err);
        if (r < 0)
            return r;
    }
    if (req->cancel && dv_cancel_requested(req->cancel))
        return dv_docker_fail(req, err, -ECANCELED, "cancelled");

    transfer t = {.req = req, .resp = resp};
    t.own_activity = dv_monotonic_ns();
    t.activity = req->last_activity_ns ? req->last_activity_ns : &t.own_activity;
    *t.activity = t.own_activity;
    dv_error_clear(&t.cb_err);
    dv_buf_reset(&resp->body);
    resp->status = 0;

    t.h = curl_easy_init();
    if (!t.h)
        return dv_docker_fail(req, err, -ENOMEM, "cannot create a curl handle");
    struct curl_slist *headers = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    int r = setup(dk, &t, &headers, errbuf, err);
    if (r == 0) {
        CURLcode cc = run(&t);
        curl_easy_getinfo(t.h, CURLINFO_RESPONSE_CODE, &resp->status);
        switch (t.abort) {
        case ABORT_STOPPED:
            r = 0;
            break;
        case ABORT_FAILED:
            r = dv_docker_fail(req, err, t.cb_err.code, "%s", t.cb_err.msg);
            if (err)
                err->recoverable = t.cb_err.recoverable;
            break;
        case ABORT_TOO_BIG:
            r = dv_docker_fail(req, err, -EMSGSIZE, "answer larger than %zu bytes",
                               MAX_BUFFERED_BODY);
            break;
        case ABORT_CANCELLED:
            r = dv_docker_fail(req, err, -ECANCELED, "cancelled");
            break;
        case ABORT_INACTIVE: {
            char d[64];
            dv_duration_format(req->activity_timeout_ns, d, sizeof(d));
            r = dv_docker_fail(
                req, err, -ETIMEDOUT, "no progress for %s%s%s%s", d, req->activity_what ? " (" : "",
                req->activity_what ? req->activity_what : "", req->activity_what ? ")" : "");
            if (err)
                err->recoverable = true;
            break;
        }
        case ABORT_NONE:
            if (cc != CURLE_OK)
                r = curl_error(dk, req, t.h, cc, errbuf, err);
            else if (resp->status < 200 || resp->status >= 300)
                r = http_error(req, resp, err);
            break;
        }
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(t.h);
    return r;
}

int dv_docker_do(dv_docker *dk, const dv_docker_request *req, dv_docker_response *resp,
                 dv_error *err)
{
    /* The caller's ERR may be NULL; the kind of a failure is still counted. */
    dv_error own;
    dv_error *e = err ? err : &own;
    if (!err)
        dv_error_clear(&own);
    int64_t start = dv_monotonic_ns();
    int r = do_request(dk, req, resp, e);
    dv_docker_metrics_observe(dk, req, dv_monotonic_ns() - start, r, e);
    return r;
}

int dv_docker_do_json(dv_docker *dk, const dv_docker_request *req, json_t **ret, dv_error *err)
{
    dv_docker_response resp = {0};
    int r = dv_docker_do(dk, req, &resp, err);
    if (r < 0) {
        dv_docker_response_clear(&resp);
        return r;
    }
    json_t *j;
    if (resp.body.len == 0) {
        j = json_null();
    } else {
        json_error_t jerr;
        j = json_loadb(resp.body.data, resp.body.len, JSON_DECODE_ANY, &jerr);
        if (!j) {
            dv_docker_response_clear(&resp);
            return dv_docker_fail(req, err, -EBADMSG, "invalid JSON in the answer: %s", jerr.text);
        }
    }
    dv_docker_response_clear(&resp);
    if (ret)
        *ret = j;
    else
        json_decref(j);
    return 0;
}
