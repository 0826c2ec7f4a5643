/* A small XMPP client on libstrophe for the end-to-end interop tests.
 *
 * Usage: strophe_client [--direct-tls] [--timeout SECONDS] [--verbose]
 *                       JID PASSWORD HOST PORT PEER TEXT
 *
 * It logs in as JID and lets libstrophe negotiate STARTTLS (or TLS from the
 * first byte with --direct-tls) and pick the SASL mechanism. Then it
 * requests the roster, sends initial presence, sends TEXT as a chat message
 * to PEER and waits for one chat message with a body. Each step prints one
 * line on stdout, so a test can check it:
 *
 *   bound JID secured=1
 *   roster JID subscription=SUB name=NAME     (one line per item)
 *   roster-end COUNT
 *   sent PEER
 *   received FROM BODY
 *
 * Exit codes: 0 when the roster result and a message arrived, 1 when the
 * connection failed or closed early, 2 on timeout, 64 on a usage error.
 * The server's certificate is not checked (XMPP_CONN_FLAG_TRUST_TLS)
 * because the test server uses a self-signed one.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strophe.h>

enum { EXIT_CLOSED = 1, EXIT_TIMEOUT = 2, EXIT_USAGE = 64 };

struct client_state {
    xmpp_ctx_t *ctx;
    const char *peer;
    const char *text;
    int roster_done;
    int message_done;
    int disconnected;
};

static const char *attribute_or_empty(xmpp_stanza_t *stanza, const char *name)
{
    const char *value = xmpp_stanza_get_attribute(stanza, name);
    return value ? value : "";
}

static void finish_if_done(xmpp_conn_t *conn, struct client_state *state)
{
    if (state->roster_done && state->message_done)
        xmpp_disconnect(conn);
}

static void send_message(xmpp_conn_t *conn, struct client_state *state)
{
    xmpp_stanza_t *message = xmpp_message_new(state->ctx, "chat", state->peer, "strophe-m1");
    xmpp_message_set_body(message, state->text);
    xmpp_send(conn, message);
    xmpp_stanza_release(message);
    printf("sent %s\n", state->peer);
    fflush(stdout);
}

static int on_roster_result(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *userdata)
{
    struct client_state *state = userdata;
    const char *type = xmpp_stanza_get_type(stanza);

    if (!type || strcmp(type, "result") != 0) {
        printf("roster-error type=%s\n", type ? type : "(none)");
        fflush(stdout);
        xmpp_disconnect(conn);
        return 0;
    }

    int count = 0;
    xmpp_stanza_t *query = xmpp_stanza_get_child_by_name_and_ns(stanza, "query",
                                                                XMPP_NS_ROSTER);
    for (xmpp_stanza_t *item = query ? xmpp_stanza_get_children(query) : NULL; item;
         item = xmpp_stanza_get_next(item)) {
        const char *name = xmpp_stanza_get_name(item);
        if (!name || strcmp(name, "item") != 0)
            continue;
        printf("roster %s subscription=%s name=%s\n", attribute_or_empty(item, "jid"),
               attribute_or_empty(item, "subscription"), attribute_or_empty(item, "name"));
        ++count;
    }
    printf("roster-end %d\n", count);
    fflush(stdout);
    state->roster_done = 1;

    /* RFC 6121 4.2: initial presence makes this resource available, so a
     * reply addressed to the bare JID reaches it too. */
    xmpp_stanza_t *presence = xmpp_presence_new(state->ctx);
    xmpp_send(conn, presence);
    xmpp_stanza_release(presence);
    send_message(conn, state);
    finish_if_done(conn, state);
    return 0;
}

static int on_message(xmpp_conn_t *conn, xmpp_stanza_t *stanza, void *userdata)
{
    struct client_state *state = userdata;
    const char *type = xmpp_stanza_get_type(stanza);

    if (type && strcmp(type, "error") == 0) {
        printf("message-error from=%s\n", attribute_or_empty(stanza, "from"));
        fflush(stdout);
        xmpp_disconnect(conn);
        return 0;
    }
    char *body = xmpp_message_get_body(stanza);
    if (!body)
        return 1; /* chat states and receipts carry no body, so keep waiting */
    printf("received %s %s\n", attribute_or_empty(stanza, "from"), body);
    fflush(stdout);
    xmpp_free(state->ctx, body);
    state->message_done = 1;
    finish_if_done(conn, state);
    return 0;
}

static void on_connection(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
                          xmpp_stream_error_t *stream_error, void *userdata)
{
    struct client_state *state = userdata;

    if (event != XMPP_CONN_CONNECT) {
        printf("disconnected error=%d stream-error=%s\n", error,
               stream_error && stream_error->text ? stream_error->text : "");
        fflush(stdout);
        state->disconnected = 1;
        return;
    }

    printf("bound %s secured=%d\n", xmpp_conn_get_bound_jid(conn), xmpp_conn_is_secured(conn));
    fflush(stdout);
    xmpp_handler_add(conn, on_message, NULL, "message", NULL, state);

    xmpp_stanza_t *iq = xmpp_iq_new(state->ctx, "get", "strophe-roster");
    xmpp_stanza_t *query = xmpp_stanza_new(state->ctx);
    xmpp_stanza_set_name(query, "query");
    xmpp_stanza_set_ns(query, XMPP_NS_ROSTER);
    xmpp_stanza_add_child(iq, query);
    xmpp_stanza_release(query);
    xmpp_id_handler_add(conn, on_roster_result, "strophe-roster", state);
    xmpp_send(conn, iq);
    xmpp_stanza_release(iq);
}

static int usage(void)
{
    fprintf(stderr, "usage: strophe_client [--direct-tls] [--timeout SECONDS] [--verbose] "
                    "JID PASSWORD HOST PORT PEER TEXT\n");
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    long flags = XMPP_CONN_FLAG_MANDATORY_TLS | XMPP_CONN_FLAG_TRUST_TLS;
    double timeout_seconds = 20.0;
    int verbose = 0;
    int arg = 1;

    for (; arg < argc && strncmp(argv[arg], "--", 2) == 0; ++arg) {
        if (strcmp(argv[arg], "--direct-tls") == 0) {
            flags = XMPP_CONN_FLAG_LEGACY_SSL | XMPP_CONN_FLAG_TRUST_TLS;
        } else if (strcmp(argv[arg], "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(argv[arg], "--timeout") == 0 && arg + 1 < argc) {
            timeout_seconds = atof(argv[++arg]);
        } else {
            return usage();
        }
    }
    if (argc - arg != 6 || timeout_seconds <= 0)
        return usage();
    const char *jid = argv[arg];
    const char *password = argv[arg + 1];
    const char *host = argv[arg + 2];
    unsigned short port = (unsigned short)atoi(argv[arg + 3]);

    xmpp_initialize();
    xmpp_log_t *log = verbose ? xmpp_get_default_logger(XMPP_LEVEL_DEBUG) : NULL;
    struct client_state state = {
        .ctx = xmpp_ctx_new(NULL, log),
        .peer = argv[arg + 4],
        .text = argv[arg + 5],
    };
    xmpp_conn_t *conn = xmpp_conn_new(state.ctx);
    xmpp_conn_set_flags(conn, flags);
    xmpp_conn_set_jid(conn, jid);
    xmpp_conn_set_pass(conn, password);

    int code = EXIT_CLOSED;
    if (xmpp_connect_client(conn, host, port, on_connection, &state) == XMPP_EOK) {
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        code = EXIT_TIMEOUT;
        while (!state.disconnected) {
            xmpp_run_once(state.ctx, 100);
            clock_gettime(CLOCK_MONOTONIC, &now);
            double elapsed = (double)(now.tv_sec - start.tv_sec) +
                             (double)(now.tv_nsec - start.tv_nsec) / 1e9;
            if (elapsed > timeout_seconds) {
                printf("timeout after %.1f s roster=%d message=%d\n", timeout_seconds,
                       state.roster_done, state.message_done);
                break;
            }
        }
        if (state.disconnected)
            code = state.roster_done && state.message_done ? EXIT_SUCCESS : EXIT_CLOSED;
    } else {
        printf("connect to %s:%u failed\n", host, port);
    }

    xmpp_conn_release(conn);
    xmpp_ctx_free(state.ctx);
    xmpp_shutdown();
    return code;
}
