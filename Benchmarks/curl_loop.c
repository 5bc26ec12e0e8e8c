/* The ceiling for any libcurl sender on this machine: one thread, one multi handle,
 * CONCURRENCY reused easy handles POSTing a ~700-byte JSON body to URL until TOTAL
 * requests have completed. Prints requests/s.
 *
 * With a fourth argument `webhook`, each request is shaped like the daemon's instead:
 * its own webhook-id/-timestamp/-signature headers (a fresh header list each time),
 * TIMEOUT_MS and CONNECTTIMEOUT_MS, a user agent and an 833-byte body copied in — what
 * any webhook sender must do on top of the bare loop (README, Performance).
 *
 * build: cc -O2 -o curl_loop curl_loop.c -lcurl
 * usage: curl_loop URL TOTAL CONCURRENCY [webhook]
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t discard(char *p, size_t s, size_t n, void *u) { (void)p; (void)u; return s * n; }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int webhook = 0;

/* The per-request part of a webhook-shaped POST; the previous header list is freed. */
static void shape(CURL *x, const char *body) {
    static long n = 0;
    struct curl_slist *old = NULL;
    curl_easy_getinfo(x, CURLINFO_PRIVATE, (char **)&old);
    curl_slist_free_all(old);
    char id[80], ts[64], sig[128];
    snprintf(id, sizeof id, "webhook-id: msg_%032ld", n);
    snprintf(ts, sizeof ts, "webhook-timestamp: %ld", 1795846207L + n / 1000);
    snprintf(sig, sizeof sig, "webhook-signature: v1,%043ld=", n);
    struct curl_slist *h = curl_slist_append(NULL, "content-type: application/json");
    h = curl_slist_append(h, id);
    h = curl_slist_append(h, ts);
    h = curl_slist_append(h, sig);
    curl_easy_setopt(x, CURLOPT_PRIVATE, (char *)h);
    curl_easy_setopt(x, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(x, CURLOPT_POSTFIELDSIZE, 833L);
    curl_easy_setopt(x, CURLOPT_COPYPOSTFIELDS, body);
    curl_easy_setopt(x, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(x, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    n++;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s URL TOTAL CONCURRENCY [webhook]\n", argv[0]); return 2; }
    webhook = argc > 4 && strcmp(argv[4], "webhook") == 0;
    char big[834];
    memset(big, 'x', 833);
    big[833] = 0;
    const char *url = argv[1];
    long total = atol(argv[2]);
    int conc = atoi(argv[3]);
    char body[701];
    memset(body, 'x', 700);
    body[0] = '{'; body[1] = '"'; body[2] = 'a'; body[3] = '"'; body[4] = ':'; body[5] = '"';
    body[698] = '"'; body[699] = '}'; body[700] = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "content-type: application/json");
    h = curl_slist_append(h, "Expect:");
    CURL **e = calloc(conc, sizeof(CURL *));
    long started = 0, done = 0, failed = 0;
    for (int i = 0; i < conc && started < total; i++, started++) {
        e[i] = curl_easy_init();
        curl_easy_setopt(e[i], CURLOPT_URL, url);
        curl_easy_setopt(e[i], CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e[i], CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e[i], CURLOPT_POSTFIELDSIZE, 700L);
        curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, discard);
        if (webhook) {
            curl_easy_setopt(e[i], CURLOPT_USERAGENT, "backorderd/0.1.0");
            shape(e[i], big);
        }
        curl_multi_add_handle(m, e[i]);
    }
    double t0 = now();
    while (done < total) {
        int running = 0, left = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            CURL *x = msg->easy_handle;
            long code = 0;
            curl_easy_getinfo(x, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result != CURLE_OK || code / 100 != 2) failed++;
            done++;
            curl_multi_remove_handle(m, x);
            if (started < total) {
                started++;
                if (webhook) shape(x, big);
                curl_multi_add_handle(m, x);
            }
        }
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double dt = now() - t0;
    printf("%.0f\n", done / dt);
    fprintf(stderr, "curl_loop: %ld requests (%ld failed) in %.2f s\n", done, failed, dt);
    return failed ? 1 : 0;
}
