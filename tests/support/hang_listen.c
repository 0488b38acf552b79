/* hang_listen SOCKET: a Docker Engine that is wedged. Listens on a Unix stream
 * socket at SOCKET, accepts every connection and never answers (nor closes), until
 * killed. For the agent's tests of a daemon that accepts and then says nothing
 * (review B2, B9, R2), without python or socat. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: hang_listen SOCKET\n");
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "hang_listen: socket path too long\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(argv[1]);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
        perror("hang_listen");
        return 1;
    }
    printf("listening on %s\n", argv[1]);
    fflush(stdout);
    /* Connections are kept open (their fds are never closed) and never read. */
    for (;;) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            poll(NULL, 0, 10);
    }
}
