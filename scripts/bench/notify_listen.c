/* notify_listen SOCKET: stand in for systemd's notification socket. Binds a Unix
 * datagram socket at SOCKET and writes every sd_notify() message it receives to
 * stdout as "<CLOCK_REALTIME ns> <message>" (one line per assignment, flushed), until
 * killed. Used by scripts/bench/recovery.sh (time to READY=1) and the recovery tests
 * (READY=1, STATUS=, WATCHDOG=1) without python or socat. Built on the fly:
 *   cc -O2 -o notify_listen notify_listen.c */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: notify_listen SOCKET\n");
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "notify_listen: socket path too long\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    unlink(argv[1]);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("notify_listen");
        return 1;
    }
    /* sd_notify() sends credentials; accept them without caring. */
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        buf[n] = '\0';
        for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save))
            printf("%lld %s\n", now, line);
        fflush(stdout);
    }
}
