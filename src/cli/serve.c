/* serve: postern serve -- run the server in the foreground. */
#include "cli/cli.h"

#include "db/directory.h"
#include "dkim/keyring.h"
#include "dkim/lookup.h"
#include "lib/durable.h"
#include "lib/log.h"
#include "lib/privs.h"
#include "net/listener.h"
#include "net/tls.h"
#include "queue/scheduler.h"
#include "queue/spool.h"
#include "imapd/server.h"
#include "policy/penalty.h"
#include "pop3d/server.h"
#include "smtpd/server.h"

#include <event2/thread.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct server {
	const struct config *cfg;
	struct listen_socket *socks;
	size_t n_socks;
	struct tls_server *tls;
	struct spool *spool;
	struct scheduler *sched;
	struct smtpd *smtpd;
	struct imapd *imapd;
	struct pop3d *pop3d;
	struct penalty *penalty; /* failed logins, SMTP, IMAP, POP3 alike */
	/* the listening sockets by protocol (copies of socks[]) */
	struct listen_socket *smtp_socks, *imap_socks, *pop3_socks;
	size_t n_smtp, n_imap, n_pop3;
};

static void setup_logging(const struct config *cfg)
{
	int fd = 2;
	if (cfg->log_file[0] != '\0') {
		fd = open(cfg->log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			  0640);
		if (fd < 0)
			fatal("cannot open log_file %s", cfg->log_file);
	}
	log_setup((enum log_level)cfg->log_level, fd);
}

/* Each connection is a descriptor: allow as many as the hard limit. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static bool uses_tls(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (cfg->listeners[i].tls != LISTENER_TLS_NONE)
			return true;
	return false;
}

/* As root: bind, load keys, then drop privileges for good. */
static void acquire(struct server *sv)
{
	const struct config *cfg = sv->cfg;
	const char *why;
	struct buf errors;
	buf_init(&errors, 0);
	if (privs_prepare_dir(cfg->data_dir, cfg->user, &why) < 0)
		fatal("%s: %s", cfg->data_dir, why);
	if (listeners_open(cfg, &sv->socks, &sv->n_socks, &errors) < 0)
		fatal("%s", buf_cstr(&errors));
	if (uses_tls(cfg) && (sv->tls = tls_server_new(cfg, &errors)) == NULL)
		fatal("%s", buf_cstr(&errors));
	buf_free(&errors);
	if (privs_drop(cfg->user, &why) < 0)
		fatal("%s", why);
}

static void found(void *arg, const struct envelope *env)
{
	scheduler_submit(arg, env->id, true);
}

/* SMTP workers watch the mx and submission sockets, IMAP workers the
 * imap and imaps ones, POP3 workers the pop3 and pop3s ones. */
static void split_sockets(struct server *sv)
{
	sv->smtp_socks = calloc(sv->n_socks + 1, sizeof(*sv->smtp_socks));
	sv->imap_socks = calloc(sv->n_socks + 1, sizeof(*sv->imap_socks));
	sv->pop3_socks = calloc(sv->n_socks + 1, sizeof(*sv->pop3_socks));
	if (sv->smtp_socks == NULL || sv->imap_socks == NULL ||
	    sv->pop3_socks == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < sv->n_socks; i++) {
		if (config_role_is_imap(sv->socks[i].cfg->role))
			sv->imap_socks[sv->n_imap++] = sv->socks[i];
		else if (config_role_is_pop3(sv->socks[i].cfg->role))
			sv->pop3_socks[sv->n_pop3++] = sv->socks[i];
		else
			sv->smtp_socks[sv->n_smtp++] = sv->socks[i];
	}
}

static void start(struct server *sv)
{
	const struct config *cfg = sv->cfg;
	directory_set_path(cfg->data_dir);
	if (directory_thread() == NULL)
		fatal("cannot open the directory database in %s", cfg->data_dir);
	const char *why;
	if (dkim_keyring_reload(directory_thread(), &why) < 0)
		log_error("dkim event=keys-unreadable error=\"%s\"", why);
	sv->spool = spool_open(cfg->data_dir,
			       cfg->smtp_max_message_size * 2 + QFILE_HEADER_MAX);
	if (sv->spool == NULL)
		fatal("cannot open the queue in %s/spool", cfg->data_dir);
	sv->sched = scheduler_start(cfg, sv->spool);
	if (sv->sched == NULL)
		fatal("cannot start the scheduler");
	long n = spool_recover(sv->spool, found, sv->sched);
	log_info("queue event=recovered messages=%ld", n);
	split_sockets(sv);
	sv->penalty = penalty_new(cfg->auth_failure_delay_ms,
				  cfg->auth_failure_delay_max_ms,
				  cfg->auth_failure_memory_ms);
	if (sv->penalty == NULL)
		fatal("out of memory");
	struct smtpd_deps deps = {cfg,	     sv->smtp_socks, sv->n_smtp,
				  sv->tls,   sv->spool,	     sv->sched,
				  sv->penalty};
	sv->smtpd = smtpd_start(&deps);
	/* after smtpd_start, which makes data_dir/secret */
	struct imapd_deps ideps = {cfg, sv->imap_socks, sv->n_imap, sv->tls,
				   sv->penalty};
	sv->imapd = imapd_start(&ideps);
	struct pop3d_deps pdeps = {cfg, sv->pop3_socks, sv->n_pop3, sv->tls,
				   sv->penalty};
	sv->pop3d = pop3d_start(&pdeps);
	for (size_t i = 0; i < sv->n_socks; i++)
		log_info("listener=%s event=listening address=%s role=%s tls=%s",
			 sv->socks[i].cfg->name, sv->socks[i].address,
			 config_role_name(sv->socks[i].cfg->role),
			 config_listener_tls_name(sv->socks[i].cfg->tls));
}

static void stop(struct server *sv)
{
	pop3d_stop(&sv->pop3d);
	imapd_stop(&sv->imapd);
	smtpd_stop(&sv->smtpd);
	penalty_free(&sv->penalty);
	free(sv->smtp_socks);
	free(sv->imap_socks);
	free(sv->pop3_socks);
	scheduler_stop(&sv->sched);
	spool_close(&sv->spool);
	tls_server_free(&sv->tls);
	listeners_close(sv->socks, sv->n_socks);
	dkim_keyring_clear();
	dkim_key_cache_clear();
	directory_thread_close();
	dirsync_cache_clear();
}

int cli_serve(struct cli *cli)
{
	if (cli->argc != 0) {
		fputs("usage: postern [-c FILE] serve\n", stderr);
		return 2;
	}
	if (cli_load_config(cli) < 0)
		return 1;
	struct server sv = {.cfg = &cli->cfg};
	setup_logging(sv.cfg);
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	/* the signals we act on are taken by sigwait() on this thread only:
	 * block them before any thread starts, so that all inherit the mask */
	sigset_t wanted;
	sigemptyset(&wanted);
	sigaddset(&wanted, SIGTERM);
	sigaddset(&wanted, SIGINT);
	sigaddset(&wanted, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &wanted, NULL);
	/* next-hop passwords may be root's alone: read them while we are */
	struct buf errors;
	buf_init(&errors, 0);
	if (config_load_secrets(&cli->cfg, &errors) < 0)
		fatal("%s", buf_cstr(&errors));
	buf_free(&errors);
	acquire(&sv);
	start(&sv);
	log_info("postern event=started hostname=%s pid=%d", sv.cfg->hostname,
		 (int)getpid());
	int sig = 0;
	while (sigwait(&wanted, &sig) == 0 && sig == SIGHUP)
		log_info("postern event=sighup note=\"reload is not supported "
			 "yet; restart to apply changes\"");
	log_info("postern event=stopping signal=%d", sig);
	stop(&sv);
	log_info("postern event=stopped");
	return 0;
}
