/* For unit tests of servers that need a quote provider: the sim platform serves quotes for a fixed
 * identity on one end of a socketpair and $INITRA_SIM_FD names the other, as `initra run` arranges. */
#ifndef INITRA_TEST_SIM_SERVE_H
#define INITRA_TEST_SIM_SERVE_H
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "initra/attest.h"
#include "initra/sim.h"

typedef struct {
    initra_sim *sim;
    initra_sgx_report_body id; /* the served enclave's identity */
    int sp[2];
    pthread_t thread;
} sim_served;

static void *sim_served_loop(void *arg)
{
    sim_served *s = arg;
    initra_err e;
    initra_sim_serve_fd(s->sim, s->sp[0], &s->id, &e);
    return NULL;
}

/* Starts serving and sets $INITRA_SIM_FD. 0 or -1. */
static int sim_serve_start(sim_served *s)
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->sp)) return -1;
    if (pthread_create(&s->thread, NULL, sim_served_loop, s)) return -1;
    char num[16];
    snprintf(num, sizeof num, "%d", s->sp[1]);
    return setenv(INITRA_SIM_FD_ENV, num, 1);
}

/* Unsets $INITRA_SIM_FD, closes the launcher's end and waits for the server loop. */
static void sim_serve_stop(sim_served *s)
{
    unsetenv(INITRA_SIM_FD_ENV);
    close(s->sp[1]);
    pthread_join(s->thread, NULL);
    close(s->sp[0]);
}
#endif
