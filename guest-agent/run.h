/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * run.h — RUN: one shell command at a time in the guest, its stdout and
 * stderr streamed back as OUTPUT frames, then RESULT with its exit status.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "chan.h"

struct run {
        pid_t pid;        /* 0 when nothing runs */
        uint32_t id;      /* the RUN request, for OUTPUT and RESULT */
        int fd[2];        /* [0] stdout, [1] stderr pipes; -1 when closed */
        uint64_t start_usec;
};

void run_init(struct run *r);
bool run_busy(const struct run *r);
/* Forks /bin/sh -c cmd. 0, -EBUSY, -errno. */
int run_start(struct run *r, uint32_t id, const char *cmd);
/* Pipe i (0 stdout, 1 stderr) is readable: one OUTPUT frame's worth. */
void run_pump(struct run *r, int i, struct chan *c);
/* A child was reaped. If it was the RUN's: sends the rest of its output
 * and the RESULT, returns true. */
bool run_exited(struct run *r, pid_t pid, int status, struct chan *c);
