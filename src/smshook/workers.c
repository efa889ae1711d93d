/*
 * workers.c: "smshook -w N", N FastCGI worker processes on the one
 * socket smshook was given (systemd socket activation). A worker answers
 * one request at a time and, with fsync on, waits for the disk in each:
 * N of them let requests, and their syncs, overlap. The parent answers
 * nothing: it starts the workers, starts a new one in place of one that
 * ended or could not be started, gives up (exit status 1) when that
 * happens too often (a fork that fails while others serve is tried again
 * later, each wait twice the last up to a minute, and not counted), and
 * on a stop signal (SIGTERM, SIGINT, SIGUSR1,
 * SIGHUP, SIGQUIT: fcgi_stop_signals) passes the signal on and waits for
 * all of them, each finishing the request in hand.
 *
 * A worker killed by a signal once it had a connection in hand (its slot's
 * busy mark, in memory shared with it) is replaced but not counted a loss:
 * what a client sent may crash one (libfcgi 2.4.2 overflows a stack buffer
 * on some management records, see smshook(8) CAVEATS), and clients must
 * not be able to make the parent give up. Workers that exit, or die
 * before their first connection, count.
 */
#include <sys/mman.h>
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

#define FAILS_MAX	10	/* workers lost in a minute before giving up */

struct pool {
	struct server	*s;
	pid_t		*pids;		/* 0: a slot to fill */
	volatile sig_atomic_t *busy;	/* shared: had a connection */
	int		 n;
	int		 stopping;
	/* mono_ms of the last losses, oldest first (a clock step moves
	 * them not); nlost of them */
	long long	 lost_at[FAILS_MAX + 1];
	int		 nlost;
	long long	 next_fill;	/* mono_ms: no fork before it */
	long long	 backoff;	/* ms between tries, some running */
};

static void
on_child(int sig)
{
	(void)sig;		/* only so that SIGCHLD is not discarded */
}

/* Workers running. */
static int
running(const struct pool *p)
{
	int i, k = 0;

	for (i = 0; i < p->n; i++)
		k += p->pids[i] > 0;
	return k;
}

/*
 * One more worker lost (ended, or not started): 0, or -1 when that makes
 * more than FAILS_MAX within the last minute.
 */
static int
lost(struct pool *p)
{
	long long now = mono_ms();

	memmove(p->lost_at, p->lost_at + 1, FAILS_MAX * sizeof(*p->lost_at));
	p->lost_at[FAILS_MAX] = now;
	if (p->nlost <= FAILS_MAX)
		p->nlost++;
	return p->nlost > FAILS_MAX && now - p->lost_at[0] < 60000 ? -1 : 0;
}

/*
 * A fork failed (errno) at now: logged; with no worker running one loss
 * (0, or -1 if too many), else none, and the next try waits twice as
 * long as the last, up to a minute.
 */
static int
not_started(struct pool *p, long long now)
{
	if (running(p) == 0) {
		logmsg(LL_ERROR, "cannot start a worker: %s", strerror(errno));
		return lost(p);
	}
	p->backoff = p->backoff == 0 ? 1000 : p->backoff * 2;
	if (p->backoff > 60000)
		p->backoff = 60000;
	p->next_fill = now + p->backoff;
	logmsg(LL_ERROR, "cannot start a worker: %s: %d of %d running, trying "
	    "again in %lld s", strerror(errno), running(p), p->n,
	    p->backoff / 1000);
	return 0;
}

/*
 * Fork a worker into every empty slot, up to the first fork that fails.
 * With none running that is one loss (the next pass, a second later,
 * tries again); with some, the pool serves on with fewer and tries again
 * after twice the last wait, up to a minute. -1 if losses are too many.
 */
static int
fill(struct pool *p)
{
	pid_t pid, parent = getpid();
	long long now = mono_ms();
	int i;

	if (now < p->next_fill && running(p) > 0)
		return 0;
	for (i = 0; i < p->n; i++) {
		if (p->pids[i] != 0)
			continue;
		p->busy[i] = 0;
		if ((pid = fork()) == 0) {
			/* a parent killed outright must not leave us behind */
			if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
			    getppid() != parent)
				_exit(1);
			signal(SIGCHLD, SIG_DFL);
			fcgi_mark_busy(&p->busy[i]);
			/* stop signals stay blocked till fcgi_run's handlers */
			exit(fcgi_run(p->s));
		}
		if (pid > 0) {
			p->pids[i] = pid;
			continue;
		}
		return not_started(p, now);
	}
	p->backoff = 0;
	return 0;
}

/* Send sig to every running worker. */
static void
signal_all(const struct pool *p, int sig)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (p->pids[i] > 0)
			kill(p->pids[i], sig);
}

/*
 * Reap every worker that ended, one killed by a signal with a connection
 * in hand not counted a loss; -1 if losses are too many.
 */
static int
reap(struct pool *p)
{
	pid_t pid;
	int i, status, rc = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < p->n; i++) {
			if (p->pids[i] != pid)
				continue;
			p->pids[i] = 0;
			if (p->stopping)
				break;
			p->next_fill = 0;	/* room again: fill it now */
			logmsg(LL_ERROR, "worker %ld ended (%s %d): starting "
			    "another", (long)pid, WIFSIGNALED(status) ?
			    "signal" : "exit status", WIFSIGNALED(status) ?
			    WTERMSIG(status) : WEXITSTATUS(status));
			if ((!WIFSIGNALED(status) || !p->busy[i]) &&
			    lost(p) == -1)
				rc = -1;
			break;
		}
	return rc;
}

/* Stop: pass sig on to the workers, start no more. */
static void
stop(struct pool *p, int sig)
{
	if (!p->stopping)
		signal_all(p, sig);
	p->stopping = 1;
}

int
workers_run(struct server *s, int n)
{
	struct pool p = { .s = s, .busy = MAP_FAILED, .n = n };
	struct timespec retry = { 1, 0 };	/* for a worker not started */
	struct sigaction sa;
	sigset_t set;
	siginfo_t si;
	int sig, rc = 0;

	if ((p.pids = calloc((size_t)n, sizeof(*p.pids))) == NULL ||
	    (p.busy = mmap(NULL, (size_t)n * sizeof(*p.busy), PROT_READ |
	    PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED) {
		logmsg(LL_ERROR, "out of memory");
		rc = 1;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child;
	sigemptyset(&sa.sa_mask);
	fcgi_stop_signals(&set);
	sigaddset(&set, SIGCHLD);
	if (sigaction(SIGCHLD, &sa, NULL) == -1 ||
	    sigprocmask(SIG_BLOCK, &set, NULL) == -1) {
		logmsg(LL_ERROR, "signals: %s", strerror(errno));
		rc = 1;
		goto out;
	}
	logmsg(LL_INFO, "starting %d FastCGI workers", n);
	for (;;) {
		if (!p.stopping && fill(&p) == -1) {
			logmsg(LL_ERROR, "workers lost too often: stopping");
			stop(&p, SIGTERM);
			rc = 1;
		}
		if (p.stopping && running(&p) == 0)
			break;
		if ((sig = sigtimedwait(&set, &si, &retry)) == -1)
			continue;	/* EAGAIN: time to fill; EINTR */
		if (sig != SIGCHLD)
			stop(&p, sig);
		else if (reap(&p) == -1 && !p.stopping) {
			logmsg(LL_ERROR, "workers lost too often: stopping");
			stop(&p, SIGTERM);
			rc = 1;
		}
	}
 out:
	if (p.busy != MAP_FAILED)
		munmap((void *)p.busy, (size_t)n * sizeof(*p.busy));
	free(p.pids);
	return rc;
}
