/* docklog's HTTP/1.1 response parser (docklog/http1.h) over what a daemon (or
 * anything listening on DOCKER_HOST) may answer: status line, headers, then a
 * Content-Length, chunked or close-delimited body, fed in pieces of any size, then
 * the end of the connection. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "http1.h"

static int on_head(int status, void *userdata)
{
    (void)userdata;
    if (status < 0 || status > 999)
        abort();
    return 0;
}

static int on_body(const char *data, size_t len, void *userdata)
{
    /* Touch every byte: the parser passes body spans in place. */
    uint8_t *sum = userdata;
    for (size_t i = 0; i < len; i++)
        *sum ^= (uint8_t)data[i];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static dl_http_parser p; /* 8 KiB line buffer: not on the stack of every run */
    uint8_t sum = 0;
    dl_http_parser_init(&p, on_head, on_body, &sum);
    fuzz_splitter s;
    fuzz_splitter_init(&s, data, len);
    dv_error err;
    int r = DL_HTTP_MORE;
    const char *piece;
    size_t n;
    while (r == DL_HTTP_MORE && (piece = fuzz_splitter_next(&s, &n)))
        r = dl_http_parser_feed(&p, piece, n, &err);
    if (r == DL_HTTP_MORE)
        (void)dl_http_parser_eof(&p, &err);
    return 0;
}
