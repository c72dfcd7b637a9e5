/*
 * thp-off: run a command with transparent huge pages disabled for it and
 * everything it starts (prctl PR_SET_THP_DISABLE, which execve keeps).
 *
 *   thp-off COMMAND [ARG...]
 *
 * ./boxbox starts nats-server with it. Go 1.19, which nats-server 2.9.10
 * is built with, asks for huge pages on its heap (madvise), and on a
 * virtual machine whose host takes back the memory the guest frees, the
 * first touch of each 2 MiB page costs milliseconds, all at once: when a
 * Go map with an entry per stored subject doubles, nats-server stalled
 * for 100-400 ms (README "Performance"). With 4 KiB pages the same cost
 * is spread over the writes that follow. When the kernel refuses, the
 * command runs anyway, with a warning: it only costs latency.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: thp-off COMMAND [ARG...]\n");
		return 2;
	}
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == -1)
		fprintf(stderr, "thp-off: prctl: %s; running %s as it is\n",
		    strerror(errno), argv[1]);
	execvp(argv[1], argv + 1);
	fprintf(stderr, "thp-off: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
