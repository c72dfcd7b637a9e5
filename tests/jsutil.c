/*
 * jsutil.c: the test scripts' window on NATS and the machine, so that they
 * read what JetStream really stored instead of trusting the gateway.
 *
 *   jsutil port                          a free TCP port on 127.0.0.1
 *   jsutil -s URL wait MS                wait until the server answers
 *   jsutil -s URL count STREAM           messages in STREAM (0 if absent)
 *   jsutil -s URL last STREAM SUBJECT    the last message on SUBJECT:
 *                                        "Nats-Msg-Id: <id>", a blank line,
 *                                        then the data
 *   jsutil -s URL dump STREAM            every message, one per line:
 *                                        <seq> <subject> <msg-id> <data>
 *   jsutil -s URL info STREAM            storage=file dup_s=120 max_age_s=0
 *                                        replicas=1 subjects=orders.>
 *   jsutil -s URL consumer STREAM NAME   ack_pending=3 pending=0
 *                                        redelivered=0
 *   jsutil -s URL mkstream STREAM SUBJ memory|file DUP_S
 *                                        create a stream (to test reuse)
 *   jsutil -s URL pub PREFIX N BYTES     publish N order-like messages of
 *                                        about BYTES bytes on PREFIX.<i>,
 *                                        pipelined, and wait for the acks
 *   jsutil -s URL put SUBJECT MSGID DATA publish one message with
 *                                        Nats-Msg-Id MSGID, wait for the ack
 *   jsutil -s URL purge STREAM KEEP      purge all but the last KEEP
 *   jsutil -s URL req SUBJECT DATA MS    a core NATS request; prints the
 *                                        reply's data (1 on timeout)
 *
 * Exit status: 0 success, 1 failure (with a reason on stderr), 2 usage.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

static int
usage(void)
{
	fprintf(stderr, "usage: jsutil port | jsutil -s URL "
	                "{wait MS | count STREAM | last STREAM SUBJECT | "
	                "dump STREAM | info STREAM | consumer STREAM NAME | "
	                "mkstream STREAM SUBJECT memory|file DUP_S | "
	                "pub PREFIX N BYTES | put SUBJECT MSGID DATA | "
	                "purge STREAM KEEP | "
	                "req SUBJECT DATA MS}\n");
	return 2;
}

static int
cmd_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("jsutil: port");
		return 1;
	}
	printf("%d\n", ntohs(sin.sin_port));
	close(fd);
	return 0;
}

static natsStatus
connect_js(const char *url, natsConnection **nc, jsCtx **js)
{
	jsOptions o;
	natsStatus s;

	/* pub pipelines thousands of messages: let it wait for room. */
	jsOptions_Init(&o);
	o.PublishAsync.StallWait = 10000;
	s = natsConnection_ConnectTo(nc, url);
	if (s == NATS_OK)
		s = natsConnection_JetStream(js, *nc, &o);
	return s;
}

static int
cmd_wait(const char *url, int ms)
{
	struct timespec pause = {0, 50000000};
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsAccountInfo *ai = NULL;
	int waited;

	for (waited = 0; waited <= ms; waited += 50) {
		if (natsConnection_ConnectTo(&nc, url) == NATS_OK) {
			/* Connected is not enough: JetStream must answer. */
			if (natsConnection_JetStream(&js, nc, NULL) ==
			        NATS_OK &&
			    js_GetAccountInfo(&ai, js, NULL, NULL) == NATS_OK) {
				jsAccountInfo_Destroy(ai);
				jsCtx_Destroy(js);
				natsConnection_Destroy(nc);
				return 0;
			}
			jsCtx_Destroy(js);
			js = NULL;
			natsConnection_Destroy(nc);
			nc = NULL;
		}
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "jsutil: %s did not answer within %d ms\n", url, ms);
	return 1;
}

static int
cmd_count(jsCtx *js, const char *stream)
{
	jsStreamInfo *si = NULL;
	natsStatus s;

	s = js_GetStreamInfo(&si, js, stream, NULL, NULL);
	if (s == NATS_NOT_FOUND) {
		printf("0\n");
		return 0;
	}
	if (s != NATS_OK) {
		fprintf(
		    stderr, "jsutil: stream info: %s\n", natsStatus_GetText(s));
		return 1;
	}
	printf("%llu\n", (unsigned long long)si->State.Msgs);
	jsStreamInfo_Destroy(si);
	return 0;
}

static void
print_msg(natsMsg *m, int oneline)
{
	const char *id = NULL;

	natsMsgHeader_Get(m, "Nats-Msg-Id", &id);
	if (oneline)
		printf("%llu %s %s %.*s\n",
		    (unsigned long long)natsMsg_GetSequence(m),
		    natsMsg_GetSubject(m), id != NULL ? id : "-",
		    natsMsg_GetDataLength(m), natsMsg_GetData(m));
	else
		printf("Nats-Msg-Id: %s\n\n%.*s\n", id != NULL ? id : "",
		    natsMsg_GetDataLength(m), natsMsg_GetData(m));
}

static int
cmd_last(jsCtx *js, const char *stream, const char *subject)
{
	natsMsg *m = NULL;
	natsStatus s;

	if ((s = js_GetLastMsg(&m, js, stream, subject, NULL, NULL)) !=
	    NATS_OK) {
		fprintf(stderr, "jsutil: last %s: %s\n", subject,
		    natsStatus_GetText(s));
		return 1;
	}
	print_msg(m, 0);
	natsMsg_Destroy(m);
	return 0;
}

static int
cmd_dump(jsCtx *js, const char *stream)
{
	jsStreamInfo *si = NULL;
	natsMsg *m = NULL;
	uint64_t seq;
	natsStatus s;

	if ((s = js_GetStreamInfo(&si, js, stream, NULL, NULL)) != NATS_OK) {
		fprintf(
		    stderr, "jsutil: stream info: %s\n", natsStatus_GetText(s));
		return 1;
	}
	for (seq = si->State.FirstSeq; seq != 0 && seq <= si->State.LastSeq;
	     seq++) {
		s = js_GetMsg(&m, js, stream, seq, NULL, NULL);
		if (s == NATS_NOT_FOUND)
			continue; /* deleted */
		if (s != NATS_OK) {
			fprintf(stderr, "jsutil: get %llu: %s\n",
			    (unsigned long long)seq, natsStatus_GetText(s));
			jsStreamInfo_Destroy(si);
			return 1;
		}
		print_msg(m, 1);
		natsMsg_Destroy(m);
	}
	jsStreamInfo_Destroy(si);
	return 0;
}

static int
cmd_info(jsCtx *js, const char *stream)
{
	jsStreamInfo *si = NULL;
	jsStreamConfig *c;
	natsStatus s;
	int i;

	if ((s = js_GetStreamInfo(&si, js, stream, NULL, NULL)) != NATS_OK) {
		fprintf(
		    stderr, "jsutil: stream info: %s\n", natsStatus_GetText(s));
		return 1;
	}
	c = si->Config;
	printf("storage=%s dup_s=%lld max_age_s=%lld replicas=%lld subjects=",
	    c->Storage == js_FileStorage ? "file" : "memory",
	    (long long)(c->Duplicates / 1000000000),
	    (long long)(c->MaxAge / 1000000000), (long long)c->Replicas);
	for (i = 0; i < c->SubjectsLen; i++)
		printf("%s%s", i ? "," : "", c->Subjects[i]);
	printf("\n");
	jsStreamInfo_Destroy(si);
	return 0;
}

static int
cmd_consumer(jsCtx *js, const char *stream, const char *name)
{
	jsConsumerInfo *ci = NULL;
	natsStatus s;

	if ((s = js_GetConsumerInfo(&ci, js, stream, name, NULL, NULL)) !=
	    NATS_OK) {
		fprintf(stderr, "jsutil: consumer info: %s\n",
		    natsStatus_GetText(s));
		return 1;
	}
	printf("ack_pending=%lld pending=%llu redelivered=%lld\n",
	    (long long)ci->NumAckPending, (unsigned long long)ci->NumPending,
	    (long long)ci->NumRedelivered);
	jsConsumerInfo_Destroy(ci);
	return 0;
}

static int
cmd_mkstream(jsCtx *js, char **argv)
{
	const char *subjects[1] = {argv[2]};
	jsStreamInfo *si = NULL;
	jsStreamConfig sc;
	natsStatus s;

	jsStreamConfig_Init(&sc);
	sc.Name = argv[1];
	sc.Subjects = subjects;
	sc.SubjectsLen = 1;
	sc.Storage =
	    strcmp(argv[3], "memory") == 0 ? js_MemoryStorage : js_FileStorage;
	sc.Duplicates = (int64_t)atoi(argv[4]) * 1000000000;
	if ((s = js_AddStream(&si, js, &sc, NULL, NULL)) != NATS_OK) {
		fprintf(
		    stderr, "jsutil: add stream: %s\n", natsStatus_GetText(s));
		return 1;
	}
	jsStreamInfo_Destroy(si);
	return 0;
}

static int
cmd_pub(jsCtx *js, const char *prefix, int n, int bytes)
{
	char subject[256], *data;
	jsPubOptions po;
	natsStatus s = NATS_OK;
	int i, len;

	if (n < 1 || bytes < 64 || (data = malloc((size_t)bytes + 1)) == NULL)
		return usage();
	for (i = 0; s == NATS_OK && i < n; i++) {
		snprintf(subject, sizeof subject, "%s.%d", prefix, i);
		len = snprintf(data, (size_t)bytes + 1,
		    "{\"order_id\":\"bulk-%d\",\"username\":\"bulk\","
		    "\"pad\":\"",
		    i);
		memset(data + len, 'x', (size_t)(bytes - len - 2));
		memcpy(data + bytes - 2, "\"}", 2);
		s = js_PublishAsync(js, subject, data, bytes, NULL);
	}
	free(data);
	jsPubOptions_Init(&po);
	po.MaxWait = 30000;
	if (s == NATS_OK)
		s = js_PublishAsyncComplete(js, &po);
	if (s != NATS_OK) {
		fprintf(stderr, "jsutil: pub: %s\n", natsStatus_GetText(s));
		return 1;
	}
	return 0;
}

static int
cmd_put(jsCtx *js, const char *subject, const char *msg_id, const char *data)
{
	jsPubAck *pa = NULL;
	jsPubOptions po;
	natsStatus s;

	jsPubOptions_Init(&po);
	po.MsgId = msg_id;
	s = js_Publish(&pa, js, subject, data, (int)strlen(data), &po, NULL);
	if (s != NATS_OK) {
		fprintf(stderr, "jsutil: put: %s\n", natsStatus_GetText(s));
		return 1;
	}
	jsPubAck_Destroy(pa);
	return 0;
}

static int
cmd_purge(jsCtx *js, const char *stream, int keep)
{
	jsOptions o;
	natsStatus s;

	jsOptions_Init(&o);
	o.Stream.Purge.Keep = (uint64_t)keep;
	if ((s = js_PurgeStream(js, stream, &o, NULL)) != NATS_OK) {
		fprintf(stderr, "jsutil: purge: %s\n", natsStatus_GetText(s));
		return 1;
	}
	return 0;
}

static int
cmd_req(natsConnection *nc, const char *subject, const char *data, int ms)
{
	natsMsg *reply = NULL;
	natsStatus s;

	s = natsConnection_RequestString(&reply, nc, subject, data, ms);
	if (s != NATS_OK) {
		fprintf(stderr, "jsutil: req %s: %s\n", subject,
		    natsStatus_GetText(s));
		return 1;
	}
	printf("%.*s\n", natsMsg_GetDataLength(reply), natsMsg_GetData(reply));
	natsMsg_Destroy(reply);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *url = NULL;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	natsStatus s;
	int rc;

	if (argc == 2 && strcmp(argv[1], "port") == 0)
		return cmd_port();
	if (argc < 4 || strcmp(argv[1], "-s") != 0)
		return usage();
	url = argv[2];
	argv += 3;
	argc -= 3;
	if (strcmp(argv[0], "wait") == 0 && argc == 2) {
		rc = cmd_wait(url, atoi(argv[1]));
		nats_CloseAndWait(10000);
		return rc;
	}
	if ((s = connect_js(url, &nc, &js)) != NATS_OK) {
		fprintf(stderr, "jsutil: %s: %s\n", url, natsStatus_GetText(s));
		return 1;
	}
	if (strcmp(argv[0], "count") == 0 && argc == 2)
		rc = cmd_count(js, argv[1]);
	else if (strcmp(argv[0], "last") == 0 && argc == 3)
		rc = cmd_last(js, argv[1], argv[2]);
	else if (strcmp(argv[0], "dump") == 0 && argc == 2)
		rc = cmd_dump(js, argv[1]);
	else if (strcmp(argv[0], "info") == 0 && argc == 2)
		rc = cmd_info(js, argv[1]);
	else if (strcmp(argv[0], "consumer") == 0 && argc == 3)
		rc = cmd_consumer(js, argv[1], argv[2]);
	else if (strcmp(argv[0], "mkstream") == 0 && argc == 5)
		rc = cmd_mkstream(js, argv);
	else if (strcmp(argv[0], "pub") == 0 && argc == 4)
		rc = cmd_pub(js, argv[1], atoi(argv[2]), atoi(argv[3]));
	else if (strcmp(argv[0], "put") == 0 && argc == 4)
		rc = cmd_put(js, argv[1], argv[2], argv[3]);
	else if (strcmp(argv[0], "purge") == 0 && argc == 3)
		rc = cmd_purge(js, argv[1], atoi(argv[2]));
	else if (strcmp(argv[0], "req") == 0 && argc == 4)
		rc = cmd_req(nc, argv[1], argv[2], atoi(argv[3]));
	else
		rc = usage();
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	/*
	 * Wait for nats.c's threads, as src/bus.c does: with nats_Close(),
	 * which does not, LeakSanitizer once found a message of pub's
	 * js_PublishAsync() unfreed at exit.
	 */
	nats_CloseAndWait(10000);
	return rc;
}
