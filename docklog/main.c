/* docklog: the per-container log helper (DESIGN.md, Logs: exactly once).
 * The streaming implementation lands with the docklog issue; until then the
 * binary exists so the layout, static linking and installation are real, and it
 * refuses to run rather than pretend. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("docklog %s\n", DV_VERSION);
        return 0;
    }
    fprintf(stderr, "docklog: log streaming is not built yet\n");
    return 100; /* permanent failure: the agent must not respawn it */
}
