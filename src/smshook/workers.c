/*
 * workers.c: "smshook -w N", N FastCGI worker processes on the one
 * socket smshook was given (systemd socket activation). A worker answers
 * one request at a time and, with fsync on, waits for the disk in each:
 * N of them let requests, and their syncs, overlap. The parent answers
 * nothing: it starts the workers, starts a new one in place of one that
 * died, and on SIGTERM, SIGINT or SIGUSR1 passes the signal on and waits
 * for all of them, each finishing the request in hand.
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "transport.h"

#define DEATHS_MAX	10	/* unplanned worker exits a minute: give up */

static void
on_child(int sig)
{
	(void)sig;		/* only so that SIGCHLD is not discarded */
}

/* Fork one worker with the signal mask orig; its pid, or -1. */
static pid_t
spawn(struct server *s, const sigset_t *orig)
{
	pid_t pid, parent = getpid();

	if ((pid = fork()) == -1) {
		logmsg(LL_ERROR, "cannot start a worker: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* a parent killed outright must not leave workers behind */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
		    getppid() != parent)
			exit(1);
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, orig, NULL);
		exit(fcgi_run(s));
	}
	return pid;
}

/* Send sig to every running worker. */
static void
signal_all(const pid_t *pids, int n, int sig)
{
	int i;

	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], sig);
}

/*
 * Reap the workers that ended; start new ones unless stopping. Returns
 * the number still running, or -1 when workers die too often.
 */
static int
reap(struct server *s, pid_t *pids, int n, int stopping,
    const sigset_t *orig, time_t *since, int *deaths)
{
	pid_t pid;
	int i, status, alive = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < n; i++) {
			if (pids[i] != pid)
				continue;
			pids[i] = 0;
			if (stopping)
				break;
			logmsg(LL_ERROR, "worker %ld ended (%s %d): starting "
			    "another", (long)pid, WIFSIGNALED(status) ?
			    "signal" : "exit status", WIFSIGNALED(status) ?
			    WTERMSIG(status) : WEXITSTATUS(status));
			if (time(NULL) - *since >= 60) {
				*since = time(NULL);
				*deaths = 0;
			}
			if (++*deaths > DEATHS_MAX)
				return -1;
			pids[i] = spawn(s, orig);
			break;
		}
	for (i = 0; i < n; i++)
		alive += pids[i] > 0;
	return alive;
}

int
workers_run(struct server *s, int n)
{
	struct sigaction sa;
	sigset_t set, orig;
	siginfo_t si;
	pid_t *pids;
	time_t since = time(NULL);
	int i, alive = 0, stopping = 0, deaths = 0, rc = 0;

	if ((pids = calloc((size_t)n, sizeof(*pids))) == NULL) {
		logmsg(LL_ERROR, "out of memory");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &orig);
	for (i = 0; i < n; i++)
		if ((pids[i] = spawn(s, &orig)) > 0)
			alive++;
	if (alive < n) {
		stopping = 1;
		rc = 1;
		signal_all(pids, n, SIGTERM);
	} else
		logmsg(LL_INFO, "%d FastCGI workers started", n);
	while (alive > 0) {
		if (sigwaitinfo(&set, &si) == -1)
			continue;		/* EINTR */
		if (si.si_signo != SIGCHLD) {
			if (!stopping)
				signal_all(pids, n, si.si_signo);
			stopping = 1;
			continue;
		}
		if ((alive = reap(s, pids, n, stopping, &orig, &since,
		    &deaths)) == -1) {
			logmsg(LL_ERROR, "workers end too often: stopping");
			stopping = 1;
			rc = 1;
			signal_all(pids, n, SIGTERM);
			alive = 1;	/* reap the rest */
		}
	}
	free(pids);
	return rc;
}
